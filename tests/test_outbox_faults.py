"""Exactly once per chat, whatever the database does: a group with many subscribed members gets one copy,
rows waiting for their rate slot keep their lease, a database stall longer than the lease sends nothing
twice, a sender outlives a refused database (PostgreSQL through tests/db_proxy.py), and supervised
background tasks restart and show in /healthz. Counted at the fake Telegram Bot API."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import Counter
from functools import partial

import httpx
import pytest
from sqlalchemy import func, select, update

from bot import supervise
from bot.areas import load_areas
from bot.campaigns import outbox
from bot.campaigns.models import OutboxMessage
from bot.campaigns.scheduler import Campaigns
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage
from bot.storage.db import Database
from tests import delivery_scenarios as scenarios
from tests.campaign_data import seed
from tests.conftest import KNOWLEDGE
from tests.db_proxy import proxied
from tests.pg import fresh_database
from tests.web_server import QUIZ, serve


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
        yield db
        db.engine.dispose()
        return
    with fresh_database("outbox_faults") as url:
        db = Database(url)
        yield db
        db.engine.dispose()


@pytest.fixture
def pg_proxied():
    """(direct Database, proxy, URL through the proxy) on a fresh PostgreSQL database."""
    with fresh_database("outbox_proxy") as url, proxied(url) as (proxy, through):
        db = Database(url)
        yield db, proxy, through
        db.engine.dispose()


def test_a_group_gets_one_copy_however_many_members_subscribed(any_db, fake_telegram, small_engine):
    service = ConversationService(small_engine, any_db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"))
    for n in range(12):  # twelve members type /dangky all in the group, as in the probe
        member = str(400000 + n)
        service.handle(IncomingMessage("telegram", member, scenarios.GROUP, "command", command="dangky", text="all",
                                       message_id=f"g{n}", chat_type="group"))
    service.handle(IncomingMessage("telegram", "400000", "400000", "command", command="dangky", text="Điện Biên",
                                   message_id="p0"))  # one member also subscribed in a private chat
    text = "GROUP-ONE-COPY"
    scenarios.queue(any_db, text)
    settings = scenarios.sender_settings(any_db.url, fake_telegram, outbox_lease_seconds=4)
    asyncio.run(scenarios._send_until(settings, lambda: outbox.remaining(any_db, "telegram") == 0, 60))
    got = Counter(str(c.params["chat_id"]) for c in fake_telegram.calls_of("sendMessage") if c.params["text"] == text)
    assert got == {scenarios.GROUP: 1, "400000": 1}  # one per chat: the group once, the private chat once


def test_rows_waiting_for_their_rate_slot_keep_their_lease(any_db, fake_telegram):
    """A claimed batch waits in memory for its rate slots longer than the lease: without renewal the rows
    are re-queued and sent again."""
    chats = seed(any_db, 12)
    text = "RATE-WAIT"
    scenarios.queue(any_db, text)
    settings = scenarios.sender_settings(any_db.url, fake_telegram, telegram_rate_per_sec=2, outbox_lease_seconds=1)
    started = time.monotonic()
    asyncio.run(scenarios._send_until(settings, lambda: outbox.remaining(any_db, "telegram") == 0, 60))
    figures = scenarios.count(fake_telegram, text, chats, started, any_db)
    assert (figures.duplicates, figures.lost, figures.attempts) == (0, 0, 12), figures
    assert figures.seconds > 5  # 12 at 2 a second: each row waited several leases


def test_a_database_stall_longer_than_the_lease_sends_nothing_twice(pg_proxied, fake_telegram):
    db, proxy, through = pg_proxied
    figures = scenarios.stalled_campaign(db, proxy, through, fake_telegram, recipients=120, stall_after=30, stall=8,
                                         lease=3, rate=40, timeout=90)
    assert (figures.duplicates, figures.lost) == (0, 0), figures
    with db.session() as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {"sent"}


def test_the_sender_outlives_a_refused_database_and_sends_what_is_queued_after(pg_proxied, fake_telegram):
    db, proxy, through = pg_proxied
    figures, failure = scenarios.refused_then_campaign(db, proxy, through, fake_telegram, recipients=100, refuse=5,
                                                       wait=30)
    assert failure == "" and proxy.refused > 0
    assert (figures.deliveries, figures.duplicates, figures.lost) == (100, 0, 0), figures


# -- supervision and /healthz ---------------------------------------------------------------------------


def test_a_failing_background_task_is_logged_restarted_with_backoff_and_reported(caplog):
    runs, seen = [], []

    async def flaky(stop: asyncio.Event) -> None:
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise ConnectionError(f"database away #{len(runs)}")
        seen.append(supervise.problems())
        await stop.wait()

    async def scenario() -> dict:
        stop = asyncio.Event()
        task = asyncio.create_task(supervise.supervise("flaky", flaky, stop, first=0.2, cap=1.0))
        await asyncio.sleep(0.05)
        during = supervise.problems()  # failed once, waiting to restart
        while not seen:
            await asyncio.sleep(0.02)
        stop.set()
        await task
        return during

    with caplog.at_level(logging.ERROR, logger="bot.supervise"):
        during = asyncio.run(scenario())
    assert during == {"flaky": "restarting after: ConnectionError: database away #1"}
    assert seen == [{}] and "flaky" not in supervise.problems()  # running again: nothing to report
    assert len(runs) == 3 and 0.1 <= runs[1] - runs[0] and 0.2 <= runs[2] - runs[1]  # backoff between restarts
    failures = [r for r in caplog.records if "background task flaky failed" in r.getMessage()]
    assert len(failures) == 2 and all(r.exc_info for r in failures)  # logged with its traceback


def test_healthz_reports_a_lagging_sender_as_degraded(db, small_engine, fake_telegram):
    service = ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"))
    seed(db, 3)
    scenarios.queue(db, "LAG")
    settings = scenarios.sender_settings(db.url, fake_telegram, outbox_lag_seconds=60)
    supervise.add_check("outbox", partial(Campaigns(service, settings).lag, ["telegram"]))
    try:
        with serve(service) as base:
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200  # due just now: not lagging
            with db.session() as s:  # nothing sent for two minutes: the sender is dead or far behind
                s.execute(update(OutboxMessage).values(not_before=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)))
            health = httpx.get(f"{base}/healthz", timeout=10)
            assert health.status_code == 503, health.text
            body = health.json()
            assert body["status"] == "degraded" and body["database"] == "ok"
            assert body["background"]["outbox"].startswith("oldest due message waiting 12")
            with db.session() as s:
                s.execute(update(OutboxMessage).values(status="sent"))
            assert httpx.get(f"{base}/healthz", timeout=10).json()["status"] == "ok"
    finally:
        supervise._checks.pop("outbox", None)
    with db.session() as s:
        assert s.scalar(select(func.count(OutboxMessage.id))) == 3
