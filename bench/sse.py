"""The web chat's live streams (/api/events): memory per idle connection held by one process, and the delay
from a team member's answer to the visitor's stream.

Usage: .venv/bin/python bench/sse.py [--connections 1000] [--answers 50]

Not a test. Starts `python -m bot run --channel web --channel telegram` as a real child process (the
project's index, a temporary SQLite file, the campaign scheduler on as in production) with Telegram
pointed at the fake Bot API of tests/fake_telegram.py. Then:

1. memory: the child's resident size (/proc/<pid>/status VmRSS) after warming up, and again once
   `--connections` streams, each of its own visitor, are open and idle (every one got its first bytes);
   the difference divided by the connections is the memory per connection;
2. delay, with those streams still held: `--answers` web visitors each escalate a question; a team member
   on Telegram answers each with /traloi through the fake Bot API; the delay is from the moment the
   answer is handed to the fake API's getUpdates to the moment the answer's event is read from the
   visitor's stream (one at a time, p50/p95). The same for a message committed by another process (this
   one, as a second worker or the CLI would): it travels by polling (POLL_SECONDS in
   bot/channels/web_live.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory_run import status_mb, wait_ready  # noqa: E402
from bench.web_load import percentile  # noqa: E402
from bot.channels import web_messages  # noqa: E402
from bot.chat.types import OutgoingMessage  # noqa: E402
from bot.relay import roles  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import Chat  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.web_server import free_port  # noqa: E402

MEMBER = 880001
MEMBERS = 10  # team members answering in turn: each stays under the flood limit (8 messages in 30 s)


async def hold(client: httpx.AsyncClient, visitor: str, opened: asyncio.Event, events: asyncio.Queue,
               counter: list[int]) -> None:
    """One idle page: the stream is opened and read until the benchmark ends."""
    async with client.stream("GET", "/api/events", headers={"Cookie": f"bdhvs_visitor={visitor}"}) as response:
        assert response.status_code == 200, response.status_code
        first = True
        async for line in response.aiter_lines():
            if first:
                counter[0] += 1
                first = False
                if counter[0] >= counter[1]:
                    opened.set()
            if line.startswith("data:"):
                await events.put((time.monotonic(), json.loads(line[5:])))


async def measure(url: str, connections: int, answers: int, fake: FakeTelegram, db: Database, pid: int) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=30) as warm:  # code paths and pools warmed first
        for _ in range(20):
            async with warm.stream("GET", "/api/events") as response:
                async for _chunk in response.aiter_bytes():
                    break  # the first bytes came: the stream is open; closing it ends it
        await warm.get("/api/history")
    await asyncio.sleep(2)
    before = status_mb(pid)["VmRSS"]

    pages = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, read=None),
                              limits=httpx.Limits(max_connections=None, max_keepalive_connections=0))
    opened, counter = asyncio.Event(), [0, connections]
    idle = [asyncio.create_task(hold(pages, secrets.token_hex(16), opened, asyncio.Queue(), counter)) for _ in range(connections)]
    started = time.monotonic()
    await asyncio.wait_for(opened.wait(), 300)
    open_seconds = time.monotonic() - started
    await asyncio.sleep(3)
    held = status_mb(pid)["VmRSS"]

    # visitors who escalate, each with a stream open
    visitors, queues, escalations = [], [], []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for i in range(answers):
            visitor = secrets.token_hex(16)
            cookies = {"bdhvs_visitor": visitor}
            address = {"X-Forwarded-For": f"10.1.{i // 250}.{i % 250 + 1}"}  # one person each: the per-address limit
            await client.post("/api/chat", json={"text": "/dangky Điện Biên"}, cookies=cookies, headers=address)
            reply = (await client.post("/api/chat", json={"text": f"/canbo câu hỏi số {i} về VNeID"}, cookies=cookies,
                                       headers=address)).json()
            escalations.append(int(re.search(r"#(\d+)", reply["messages"][0]["text"])[1]))
            visitors.append(visitor)
    opened2, counter2 = asyncio.Event(), [0, answers]
    for visitor in visitors:
        queues.append(asyncio.Queue())
        idle.append(asyncio.create_task(hold(pages, visitor, opened2, queues[-1], counter2)))
    await asyncio.wait_for(opened2.wait(), 60)

    team, polled = [], []
    for n, (esc_id, events) in enumerate(zip(escalations, queues)):
        member = MEMBER + n % MEMBERS
        await asyncio.sleep(random.uniform(0, 0.5))  # not in step with the feed's polling
        sent = time.monotonic()
        fake.inject(fake.message(member, f"/traloi {esc_id} Bác đến công an xã nhé."))
        while True:
            try:
                at, message = await asyncio.wait_for(events.get(), 30)
            except asyncio.TimeoutError:
                raise SystemExit(f"no answer for #{esc_id}; the bot said to the member: "
                                 f"{[c.params.get('text', '')[:80] for c in fake.calls_of('sendMessage', member)][-3:]}")
            if message["from"] == "team":
                team.append((at - sent) * 1000)
                break
    with db.session() as s:
        chats = dict(s.query(Chat.external_id, Chat.id).filter(Chat.external_id.in_(visitors)).all())
    for visitor, events in zip(visitors, queues):
        await asyncio.sleep(random.uniform(0, 0.5))
        sent = time.monotonic()
        await asyncio.to_thread(_deliver, db, chats[visitor])
        at, message = await asyncio.wait_for(events.get(), 30)
        polled.append((at - sent) * 1000)

    for task in idle:
        task.cancel()
    await asyncio.gather(*idle, return_exceptions=True)
    await pages.aclose()
    return {
        "connections": connections, "opened_in_s": round(open_seconds, 1),
        "rss_before_mb": round(before, 1), "rss_held_mb": round(held, 1),
        "kb_per_connection": round((held - before) * 1024 / connections, 1),
        "team_answer_ms": {"p50": round(percentile(team, 50), 1), "p95": round(percentile(team, 95), 1), "n": len(team)},
        "other_process_ms": {"p50": round(percentile(polled, 50), 1), "p95": round(percentile(polled, 95), 1),
                             "n": len(polled)},
    }


def _deliver(db: Database, chat_pk: int) -> None:
    with db.session() as s:
        web_messages.deliver(s, chat_pk, OutgoingMessage("Tin từ tiến trình khác"), "bot")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--answers", type=int, default=50)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.connections + 512)), hard))
    port = free_port()
    fake = FakeTelegram().start()
    with tempfile.TemporaryDirectory() as tmp:
        url_db = f"sqlite:///{tmp}/bot.db"
        db = Database(url_db)  # migrated here first, so the team member can be granted before the bot starts
        with db.session() as s:
            for member in range(MEMBER, MEMBER + MEMBERS):
                roles.grant(s, roles.find_user(s, "telegram", str(member), create=True), "team", "dien-bien", "bench")
        env = {**os.environ, "WEB_PORT": str(port), "WEB_HOST": "127.0.0.1", "DATABASE_URL": url_db,
               "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.url, "TELEGRAM_WEBHOOK_URL": "",
               "ZALO_BOT_TOKEN": "", "WEB_CLIENT_MAX_REQUESTS": "1000000", "LOG_LEVEL": "WARNING",
               "TRUSTED_PROXIES": "127.0.0.1"}
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web", "--channel", "telegram"], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, bot)
            result = asyncio.run(measure(url, args.connections, args.answers, fake, db, bot.pid))
        finally:
            bot.terminate()
            try:
                bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
            fake.close()
            db.engine.dispose()
    print(json.dumps({"load": round(os.getloadavg()[0], 1), **result}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
