"""Campaigns to Zalo OA users through the real outbox sender against the fake OA server: the 48-hour rule
(a setting), -230 skipped and never retried, -213 unsubscribes, -32 backs off and retries, a quiz as
numbered text, and skipped rows counted."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time

import pytest
from sqlalchemy import select, update

from bot.areas import load_areas
from bot.campaigns import scheduler
from bot.campaigns.models import Campaign, OutboxMessage
from bot.campaigns.senders import run_senders
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage
from bot.knowledge.models import QuizQuestion
from bot.storage.models import ProcessedMessage, Subscription, User, utcnow
from tests.conftest import KNOWLEDGE
from tests.fake_zalo_oa import FakeOa

UTC = dt.timezone.utc
QUIZ = [QuizQuestion("quiz-oa-c1", "vneid", "easy", "Mức 2 kích hoạt ở đâu?", ("Ở chợ", "Ở công an", "Ở trường"), 1,
                     "Mức 2 làm tại công an.", "NĐ 69/2024", "2026-11-23")]
_ids = itertools.count(1)


@pytest.fixture
def fake():
    server = FakeOa()
    yield server
    server.close()


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=100)


def settings_for(db, fake, **kw) -> Settings:
    return Settings(_env_file=None, **fake.settings(database_url=db.url, quiet_hours="", zalo_oa_rate_per_sec=50,
                                                    outbox_retry_seconds=0.2, knowledge_dir=KNOWLEDGE, **kw))


def subscribe(service, fake, user: str, days_ago: float = 0.0) -> None:
    """`user` wrote "/dangky all" to the OA `days_ago` days ago (the OA saw it then too)."""
    service.handle(IncomingMessage(channel="zalo_oa", user_id=user, chat_id=user, kind="command", command="dangky",
                                   text="all", message_id=f"m{next(_ids)}", max_buttons=5))
    fake.followers.add(user)
    fake.interacted[user] = time.time() - days_ago * 86400
    if days_ago:
        with service.db.session() as s:
            s.execute(update(ProcessedMessage).where(ProcessedMessage.key.startswith(f"zalo_oa:{user}:"))
                      .values(created_at=utcnow() - dt.timedelta(days=days_ago)))


def fire(service, settings, text="Ngày Chuyển đổi số 10/10", channel="zalo_oa", kind="message") -> int:
    with service.db.session() as s:
        c = Campaign(kind=kind, text=text, area="all", channel=channel, run_at=dt.datetime(2026, 10, 10, 1, tzinfo=UTC))
        s.add(c)
        s.flush()
        cid = c.id
    scheduler.fire(service, settings, cid, dt.datetime.now(UTC))
    return cid


def send_all(db, settings, timeout=30.0):
    return asyncio.run(asyncio.wait_for(run_senders(db, settings, ["zalo_oa"], asyncio.Event(), until_empty=True),
                                        timeout))[0]


def rows(db) -> dict[str, tuple[str, str, int]]:
    with db.session() as s:
        return {u: (st, err, n) for u, st, err, n in s.execute(
            select(User.external_id, OutboxMessage.status, OutboxMessage.last_error, OutboxMessage.attempts)
            .join(User, User.id == OutboxMessage.user_id))}


def test_a_campaign_reaches_recent_writers_and_skips_and_counts_the_rest(db, service, fake):
    subscribe(service, fake, "recent")
    subscribe(service, fake, "three-days", days_ago=3)  # outside the default 48 hours
    subscribe(service, fake, "week-old", days_ago=6)
    subscribe(service, fake, "gone")
    fake.followers.discard("gone")  # unfollowed without the webhook telling us: -213
    settings = settings_for(db, fake)
    fire(service, settings)
    sender = send_all(db, settings)
    got = rows(db)
    assert got["recent"][0] == "sent" and fake.texts("recent")[0].startswith("Ngày Chuyển đổi số 10/10\n")
    assert fake.sends("recent")[0].body["recipient"] == {"user_id": "recent"}  # no message_id: a campaign message
    assert got["three-days"][:2] == ("skipped", "zalo_oa: no message from the user within 48 h")
    assert got["week-old"][0] == "skipped" and not fake.sends("three-days", ok=False)  # never sent to the OA
    assert got["gone"][:2] == ("blocked", "zalo_oa: error -213 User has not followed OA")
    assert len(fake.sends("gone", ok=False)) == 1  # not retried
    with db.session() as s:
        assert s.scalar(select(User.blocked_bot).where(User.external_id == "gone")) is True
        assert not s.scalars(select(Subscription).join(User).where(User.external_id == "gone")).all()
    assert sender.outcomes["sent"] == 1 and sender.outcomes["skipped"] == 2 and sender.outcomes["blocked"] == 1


def test_a_wider_window_is_a_setting_and_230_is_skipped_never_retried(db, service, fake):
    subscribe(service, fake, "six-days", days_ago=6)
    subscribe(service, fake, "eight-days-at-the-oa", days_ago=1)
    fake.interacted["eight-days-at-the-oa"] = time.time() - 8 * 86400  # the OA's clock says otherwise: -230
    settings = settings_for(db, fake, zalo_oa_campaign_window_hours=168)
    fire(service, settings)
    sender = send_all(db, settings)
    got = rows(db)
    assert got["six-days"][0] == "sent"
    assert got["eight-days-at-the-oa"][:2] == (
        "skipped", "zalo_oa: error -230 User has not interacted with the OA in the past 7 days")
    assert len(fake.sends("eight-days-at-the-oa", ok=False)) == 1 and got["eight-days-at-the-oa"][2] == 1
    assert sender.outcomes["skipped"] == 1
    with pytest.raises(ValueError, match="at most 168"):
        settings_for(db, fake, zalo_oa_campaign_window_hours=200)


def test_232_is_never_retried_and_a_rate_limit_backs_off_and_retries(db, service, fake):
    subscribe(service, fake, "a")
    subscribe(service, fake, "b")
    settings = settings_for(db, fake)
    fake.fail(-32, -32)
    fire(service, settings)
    started = time.monotonic()
    send_all(db, settings)
    got = rows(db)
    assert {got["a"][0], got["b"][0]} == {"sent"}
    codes = [(c.answer["error"], c.at) for c in fake.calls if c.path.endswith("/cs")]
    assert [code for code, _ in codes].count(-32) == 2 and len(codes) == 4
    first_ok = next(at for code, at in codes if code == 0)
    assert first_ok - codes[0][1] >= 0.6 * 0.9  # paused 3 x OUTBOX_RETRY_SECONDS after the -32
    assert time.monotonic() - started < 20
    fake.fail(-232)
    fire(service, settings, text="Tin thứ hai")
    send_all(db, settings)
    second = [c for c in fake.calls if c.path.endswith("/cs")][4:]
    assert len(second) == 2 and sorted(c.answer["error"] for c in second) == [-232, 0]  # one refused, not retried


def test_a_quiz_goes_as_numbered_text_and_the_letter_is_scored(db, service, fake):
    subscribe(service, fake, "q1")
    settings = settings_for(db, fake)
    fire(service, settings, text="", kind="quiz")
    send_all(db, settings)
    (text,) = fake.texts("q1")
    assert "A. Ở chợ" in text and "B. Ở công an" in text
    (reply,) = service.handle(IncomingMessage(channel="zalo_oa", user_id="q1", chat_id="q1", kind="text", text="B",
                                              message_id="m-quiz", max_buttons=5))
    assert reply.text.startswith("✅")


def test_at_most_eight_campaign_messages_until_the_user_writes_again(db, service, fake):
    subscribe(service, fake, "busy")
    settings = settings_for(db, fake)
    for i in range(9):
        fire(service, settings, text=f"Tin số {i + 1}")
        send_all(db, settings)
    assert len(fake.texts("busy")) == 8
    with db.session() as s:
        last = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert (last.status, last.last_error) == ("skipped", "zalo_oa: 8 campaign messages since the user's last message")
    subscribe(service, fake, "busy")  # wrote again
    fire(service, settings, text="Tin số 10")
    send_all(db, settings)
    assert fake.texts("busy")[-1].startswith("Tin số 10")


def test_campaign_add_takes_the_zalo_oa_channel(db, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.config import get_settings

    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(KNOWLEDGE))
    get_settings.cache_clear()
    try:
        added = CliRunner().invoke(app, ["campaign", "add", "--text", "Tin OA", "--channel", "zalo_oa"])
        assert added.exit_code == 0, added.output
        with db.session() as s:
            assert s.get(Campaign, int(added.stdout)).channel == "zalo_oa"
        refused = CliRunner().invoke(app, ["campaign", "send", "--channel", "fax"])
        assert refused.exit_code == 2 and "no sender" in refused.stderr
    finally:
        get_settings.cache_clear()
