"""Two sender processes share one outbox on PostgreSQL (FOR UPDATE SKIP LOCKED): no duplicates, none lost.
Fails, never skips, when PostgreSQL is unreachable (.ci/run starts it)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from bot.campaigns.models import OutboxMessage
from bot.storage.db import Database
from tests.conftest import ROOT
from tests.fake_push import FakePush
from tests.pg import fresh_database
from tests.test_outbox_crash import queue_campaign, sender_env

RECIPIENTS = 400


@pytest.fixture
def pg():
    with fresh_database("campaigns_test") as url:  # a database of this run's own
        db = Database(url)
        yield db
        db.engine.dispose()


def test_two_sender_processes_share_one_outbox(pg):
    queue_campaign(pg, RECIPIENTS)
    fake = FakePush()
    env = sender_env(pg, fake, TELEGRAM_RATE_PER_SEC="150", SENDER_CONCURRENCY="4", OUTBOX_BATCH="20")
    command = [sys.executable, "-m", "bot", "campaign", "send", "--channel", "telegram", "--until-empty"]
    try:
        senders = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in senders]
    finally:
        fake.close()
    for p, (out, err) in zip(senders, outputs):
        assert p.returncode == 0, err.decode()[-2000:]
    shares = [int(out.decode().split()[1]) for out, _ in outputs]  # "telegram: N sent"
    assert sum(shares) == RECIPIENTS and min(shares) > 0  # both took part
    per_chat = fake.per_chat()
    assert len(per_chat) == RECIPIENTS and set(per_chat.values()) == {1}
    with pg.session() as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {"sent"}
