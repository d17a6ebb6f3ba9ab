"""Campaign delivery under faults, counted at the fake Telegram Bot API (tests/fake_telegram.py): a group
where many members subscribed, a database that refuses connections for a while, a database that stalls
mid-campaign (tests/db_proxy.py). Each scenario runs the real senders (`run_senders`) in this process
and returns what the platform received. Used by tests/test_outbox_faults.py (asserting) and
bench/delivery_faults.py (printing the figures, before and after a change).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, insert, select

from bot.campaigns import outbox
from bot.campaigns.models import Campaign, OutboxMessage
from bot.campaigns.senders import run_senders
from bot.config import Settings
from bot.storage.db import Database
from bot.storage.models import Chat, Subscription, User
from tests.campaign_data import seed
from tests.db_proxy import DbProxy
from tests.fake_telegram import FakeTelegram

GROUP = "-100777"


@dataclass
class Figures:
    recipients: int  # chats that should get the message once
    deliveries: int  # sendMessage calls the platform received
    duplicates: int  # deliveries beyond one per chat
    lost: int  # chats that got nothing
    seconds: float
    attempts: int = 0  # sum of outbox attempts

    def __str__(self) -> str:
        return (f"recipients {self.recipients}, deliveries {self.deliveries}, duplicates {self.duplicates}, "
                f"lost {self.lost}, outbox attempts {self.attempts}, {self.seconds:.1f} s")


def sender_settings(db_url: str, fake: FakeTelegram, **kw) -> Settings:
    return Settings(_env_file=None, database_url=db_url, telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
                    zalo_bot_token="", quiet_hours="", outbox_retry_seconds=0.5, **kw)


def group_members(db: Database, n: int, chat: str = GROUP, first: int = 400000) -> None:
    """`n` Telegram users who each sent `/dangky all` in one group: what the conversation service records
    (a subscription per member, all pointing at the group's chat)."""
    with db.session() as s:
        s.execute(insert(Chat), [{"channel": "telegram", "external_id": chat, "kind": "group"}])
        chat_id = s.scalar(select(Chat.id).where(Chat.channel == "telegram", Chat.external_id == chat))
        s.execute(insert(User), [{"channel": "telegram", "external_id": str(first + i), "display_name": f"Thành viên {i}",
                                  "role": "citizen", "area": "", "blocked_bot": False} for i in range(n)])
        users = s.scalars(select(User.id).where(User.external_id.in_([str(first + i) for i in range(n)])))
        s.execute(insert(Subscription), [{"user_id": u, "chat_id": chat_id, "area": "all", "quiz": True} for u in users])


def queue(db: Database, text: str) -> int:
    """A one-off campaign to every Telegram subscriber, expanded into the outbox now; returns its id."""
    with db.session() as s:
        c = Campaign(text=text, channel="telegram", run_at=dt.datetime.now(dt.timezone.utc))
        s.add(c)
        s.flush()
        cid = c.id
    run = outbox.start_run(db, cid, "message", dt.datetime.now(dt.timezone.utc), text)
    outbox.expand(db, run, 500)
    return cid


def count(fake: FakeTelegram, text: str, chats: list[str], started: float, db: Database) -> Figures:
    got = Counter(str(c.params["chat_id"]) for c in fake.calls_of("sendMessage") if c.params.get("text") == text)
    with db.session() as s:
        attempts = s.scalar(select(func.coalesce(func.sum(OutboxMessage.attempts), 0))) or 0
    return Figures(len(chats), sum(got.values()), sum(max(0, got[c] - 1) for c in chats),
                   sum(1 for c in chats if not got[c]), time.monotonic() - started, int(attempts))


async def _send_until(settings: Settings, done, timeout: float) -> str:
    """Run one Telegram sender (as `python -m bot run` does) until `done()` or `timeout`; "" or its failure."""
    stop = asyncio.Event()
    db = Database(settings.database_url, run_migrations=False)
    task = asyncio.create_task(run_senders(db, settings, ["telegram"], stop))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done() and not task.done():
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a duplicate shows only to who waits a little
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 30)
            failure = ""
        except Exception as exc:  # noqa: BLE001 - the figure to report
            failure = f"sender task ended: {type(exc).__name__}"
        db.engine.dispose()
    return failure


def group_campaign(db: Database, fake: FakeTelegram, members: int = 30, lease: float = 60.0,
                   timeout: float = 200.0) -> Figures:
    """D2: `members` subscribed in one group; one campaign; how many copies does the group get?"""
    group_members(db, members)
    text = f"GROUP-CAMPAIGN {time.time()}"
    queue(db, text)
    settings = sender_settings(db.url, fake, outbox_lease_seconds=lease)
    started = time.monotonic()

    def done() -> bool:
        return outbox.remaining(db, "telegram") == 0

    asyncio.run(_send_until(settings, done, timeout))
    return count(fake, text, [GROUP], started, db)


def refused_then_campaign(db: Database, proxy: DbProxy, through: str, fake: FakeTelegram, recipients: int = 400,
                          refuse: float = 8.0, wait: float = 60.0) -> tuple[Figures, str]:
    """D1: the sender runs on a database that refuses connections for `refuse` s; then a campaign is
    queued (by another process, the CLI: here a direct connection) and the sender gets `wait` s."""
    chats = seed(db, recipients, first=2_000_000)
    settings = sender_settings(through, fake, telegram_rate_per_sec=50, database_connect_timeout=2)
    text = f"AFTER-OUTAGE {time.time()}"
    started = time.monotonic()
    state = {"queued": False}

    def done() -> bool:
        elapsed = time.monotonic() - started
        if 1.0 < elapsed and proxy.mode == "pass" and not state["queued"] and elapsed < 1.0 + refuse:
            proxy.refuse()
        elif proxy.mode == "refuse" and elapsed >= 1.0 + refuse:
            proxy.resume()
            queue(db, text)
            state["queued"] = True
        return state["queued"] and len(fake.calls_of("sendMessage")) >= recipients

    async def scenario() -> str:
        return await _send_until(settings, done, 1.0 + refuse + wait)

    failure = asyncio.run(scenario())
    return count(fake, text, chats, started, db), failure


def stalled_campaign(db: Database, proxy: DbProxy, through: str, fake: FakeTelegram, recipients: int = 400,
                     stall_after: int = 100, stall: float = 90.0, lease: float = 60.0, rate: float = 25.0,
                     timeout: float = 400.0) -> Figures:
    """D3: a campaign through the proxy; after `stall_after` deliveries the database stalls for `stall` s."""
    chats = seed(db, recipients, first=3_000_000)
    text = f"STALL-CAMPAIGN {time.time()}"
    queue(db, text)
    settings = sender_settings(through, fake, telegram_rate_per_sec=rate, outbox_lease_seconds=lease)
    started, state = time.monotonic(), {"stalled_at": 0.0}

    def done() -> bool:
        sent = len(fake.calls_of("sendMessage"))
        if not state["stalled_at"] and sent >= stall_after:
            proxy.stall()
            state["stalled_at"] = time.monotonic()
        elif proxy.mode == "stall" and time.monotonic() - state["stalled_at"] >= stall:
            proxy.resume()
        return proxy.mode == "pass" and state["stalled_at"] and outbox.remaining(db, "telegram") == 0

    asyncio.run(_send_until(settings, done, timeout))
    return count(fake, text, chats, started, db)
