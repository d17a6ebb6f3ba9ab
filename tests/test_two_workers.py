"""Two webhook workers behind a (simulated) load balancer, one PostgreSQL database, the fake Telegram API.

Two real `python -m bot run --channel web --channel telegram` processes start at the same moment on
an empty database of their own (only the first runs the campaign scheduler). Updates are posted to
their webhooks: some to one worker only (the balancer's normal case), some to both at once (Telegram
redelivering after a timeout, the retry landing on the other worker). Every update must get exactly
one reply: no duplicates, nothing lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bot import messages
from tests.conftest import ROOT
from tests.pg import fresh_database
from tests.web_server import free_port

SECRET = "two-workers-secret"
WEBHOOK = "https://bot.example.vn/telegram/webhook"
QUESTION = "kich hoat vneid muc 2 o dau"


@pytest.fixture
def database_url():
    with fresh_database("workers_test") as url:
        yield url


@pytest.fixture
def workers(small_kb, small_index, database_url, fake_telegram, tmp_path):
    """Two worker processes started together; yields their base URLs once both are ready."""
    fake = fake_telegram
    ports = [free_port(), free_port()]
    procs = []
    for n, port in enumerate(ports):
        env = {**os.environ, "KNOWLEDGE_DIR": str(small_kb), "INDEX_DIR": str(small_index), "DATABASE_URL": database_url,
               "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port), "TELEGRAM_BOT_TOKEN": fake.token,
               "TELEGRAM_API_BASE_URL": fake.url, "TELEGRAM_WEBHOOK_URL": WEBHOOK, "TELEGRAM_SECRET_TOKEN": SECRET,
               "ZALO_BOT_TOKEN": "", "SCHEDULER_ENABLED": "true" if n == 0 else "false",
               "OMP_NUM_THREADS": "1"}  # two workers on one host: one embedding thread each (docs/scaling.md)
        log = (tmp_path / f"worker{n}.log").open("w")
        procs.append(subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web", "--channel", "telegram"],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + 300
        for url, proc in zip(urls, procs):
            while True:
                assert proc.poll() is None, (tmp_path / f"worker{procs.index(proc)}.log").read_text()[-3000:]
                try:
                    if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "worker did not start"
                time.sleep(0.2)
        fake.wait_calls("setWebhook", 2, timeout=120)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for n, proc in enumerate(procs):
            assert proc.wait(60) == 0, (tmp_path / f"worker{n}.log").read_text()[-3000:]
            log = (tmp_path / f"worker{n}.log").read_text()
            assert "Traceback" not in log and "ERROR" not in log, log[-3000:]


def post(url: str, update: dict) -> int:
    response = httpx.post(f"{url}/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                          timeout=60)
    return response.status_code


def test_two_workers_answer_every_update_exactly_once(workers, fake_telegram):
    fake = fake_telegram
    updates = [{"update_id": fake.new_update_id(), **fake.message(5000 + i, QUESTION)} for i in range(30)]
    deliveries = [(workers[i % 2], u) for i, u in enumerate(updates[:10])]  # balanced: one worker each
    deliveries += [(url, u) for u in updates[10:] for url in workers]  # redelivered: both workers at once
    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(lambda d: post(*d), deliveries)) == {200}

    fake.wait_calls("sendMessage", len(updates), timeout=180)
    time.sleep(3)  # a duplicate can only be ruled out by waiting: 3 s is many times one answer's time
    replies = fake.calls_of("sendMessage")
    per_chat = Counter(int(c.params["chat_id"]) for c in replies)
    assert per_chat == Counter({5000 + i: 1 for i in range(30)})  # no duplicate, none lost
    assert all("công an" in c.params["text"].lower() and c.params["text"] != messages.RETRY_LATER for c in replies)
