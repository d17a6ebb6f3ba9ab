"""`python -m bot run` as a real process: zero config apart from paths, web chat up, clean SIGTERM."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading

import httpx

from tests.conftest import ROOT
from tests.web_server import free_port


def bot_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "WEB_", "DATABASE_"))}
    return {**env, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", **extra}


@contextlib.contextmanager
def bot_process(tmp_path, env: dict):
    """`python -m bot run --channel web` in a subprocess; yields its web address once it serves. The body
    must stop it with SIGTERM (exit code 0 is checked); no traceback may have been printed."""
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    try:
        while not (found := re.match(r"web chat: (http://127\.0\.0\.1:\d+)$", lines.get(timeout=120).strip())):
            pass
        yield found[1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert not any("Traceback" in line for line in list(lines.queue))


def test_run_serves_the_web_chat_and_stops_cleanly_on_sigterm(tmp_path, small_kb, small_index):
    env = bot_env(tmp_path, WEB_PORT=str(free_port()), KNOWLEDGE_DIR=str(small_kb), INDEX_DIR=str(small_index))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    seen = []
    try:
        while True:
            line = lines.get(timeout=120)
            seen.append(line)
            if found := re.match(r"web chat: (http://127\.0\.0\.1:\d+)$", line.strip()):
                break
        answer = httpx.post(f"{found[1]}/api/ask", json={"question": "binh dan hoc vu so la gi"}, timeout=30).json()
        assert answer["answered"] and answer["chunk_id"] == "faq:phongtrao-binh-dan-hoc-vu-so"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert (tmp_path / "bot.db").exists()
    assert not any("Traceback" in line for line in seen + list(lines.queue)), seen


def test_web_port_zero_without_tokens_means_nothing_to_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=bot_env(tmp_path, WEB_PORT="0"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no channel configured" in result.stderr
