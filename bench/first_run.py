"""A fresh clone to the first answer, as a newcomer runs it: `git clone`, `bash scripts/run.sh`, ask.

Usage: python3 bench/first_run.py [--cold] [--repo .]

Clones the repository's HEAD into a temporary folder and runs the README's one command there
(`bash scripts/run.sh`: set up .venv, build the index, serve the web chat), then asks the web
chat a question the way the page does (POST /api/chat) until it answers. Prints the time of each
phase from the start of the clone.

--cold   a new, empty environment folder (BINHDAN_VENVS in a temporary folder): the install is
         measured too, as on a machine that never ran the bot (pip's download cache and the
         machine's local package mirror still count as installed packages).
default  the machine's environment cache (~/.cache/binhdan-bot): a second clone on a machine whose
         packages are already installed.
The index is built from the shipped embeddings (knowledge/embeddings/) in both cases. The cost grows
with the install (torch dominates) when cold, and with the number of retrieval units otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

QUESTION = "làm sao kích hoạt VNeID mức 2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(port: int) -> dict | None:
    body = json.dumps({"text": QUESTION}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/chat", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except OSError:  # refused while starting, or 503 while getting ready
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="first-run-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "WEB_", "DATABASE_", "KNOWLEDGE_", "INDEX_"))}
    if args.cold:
        env["BINHDAN_VENVS"] = str(work / "venvs")
    port = free_port()
    env["WEB_PORT"] = str(port)
    marks: dict[str, float] = {}
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", args.repo, str(work / "clone")], check=True)
    marks["cloned"] = time.perf_counter() - started
    proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=work / "clone", env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    log: list[str] = []
    try:
        while "answered" not in marks:
            try:
                line = lines.get(timeout=0.05).strip()
                log.append(line)
                now = time.perf_counter() - started
                if line.startswith("index is") and "setup done" not in marks:
                    marks["setup done"] = now
                if re.match(r"web chat \(getting ready\)", line):
                    marks["getting-ready page served"] = now
                if re.match(r"index built", line):
                    marks["index built"] = now
                if re.match(r"web chat: http", line):
                    marks["chat served"] = now
            except queue.Empty:
                pass
            if proc.poll() is not None:
                raise SystemExit("the bot stopped:\n" + "\n".join(log[-20:]))
            if "chat served" in marks and (reply := ask(port)):
                marks["answered"] = time.perf_counter() - started
                first = reply["messages"][0]["text"] if reply.get("messages") else ""
            if time.perf_counter() - started > 900:
                raise SystemExit("no answer in 15 minutes:\n" + "\n".join(log[-20:]))
    finally:
        proc.terminate()
        proc.wait(30)
    mode = "cold (new environment)" if args.cold else "warm (environment cache of this machine)"
    print(f"first run, {mode}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    for name, seconds in marks.items():
        print(f"  {name:28} {seconds:7.1f} s")
    print(f"  first reply: {first[:80]!r}")
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
