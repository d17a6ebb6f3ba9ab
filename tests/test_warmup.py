"""While the index is built for the first time, the web port already answers: a Vietnamese "getting
ready" page with progress, /healthz `building` (503), the API a 503 with a message; then the real chat."""

import re
import signal
import subprocess
import sys
import threading
import queue
import asyncio

import httpx

from bot.channels.web_warmup import Progress, WarmupServer
from tests.test_run import bot_env
from tests.web_server import free_port


def test_warmup_server_tells_people_and_operators_how_far_it_is():
    progress, port = Progress(), free_port()
    loop = asyncio.new_event_loop()
    server = WarmupServer("127.0.0.1", port, progress)
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_until_complete, args=(server.task,), daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        progress.update(480, 1200)
        page = httpx.get(base + "/")
        assert page.status_code == 503 and "Đã chuẩn bị 40%" in page.text and "chờ một chút" in page.text
        assert 'http-equiv="refresh"' in page.text and page.headers["retry-after"] == "3"
        health = httpx.get(base + "/healthz")
        assert health.status_code == 503 and health.json() == {"status": "building", "embedded": 480, "to_embed": 1200, "percent": 40}
        api = httpx.post(base + "/api/chat", json={"text": "alo"})
        assert api.status_code == 503 and api.json()["error"] == "starting" and "thử lại" in api.json()["message"]
        progress.update(1200, 1200)
        assert httpx.get(base + "/healthz").json()["percent"] == 99  # 100 only when the real chat serves
    finally:
        server.server.should_exit = True
        thread.join(10)


def test_bot_run_serves_the_warmup_page_during_a_first_build_then_the_chat(tmp_path, small_kb):
    port = free_port()
    env = bot_env(tmp_path, WEB_PORT=str(port), KNOWLEDGE_DIR=str(small_kb), INDEX_DIR=str(tmp_path / "fresh-index"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    seen: list[str] = []
    try:
        while not re.match(r"web chat \(getting ready\): http://127\.0\.0\.1:\d+$", (line := lines.get(timeout=120)).strip()):
            seen.append(line)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["status"] == "building"  # the small base takes seconds to embed
        while not re.match(r"web chat: http://127\.0\.0\.1:\d+$", (line := lines.get(timeout=120)).strip()):
            seen.append(line)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        answer = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": "binh dan hoc vu so la gi"}, timeout=30).json()
        assert answer["chunk_id"] == "faq:phongtrao-binh-dan-hoc-vu-so"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert not any("Traceback" in line for line in seen + list(lines.queue)), seen
