"""Campaigns end to end on SQLite: the CLI, audience expansion, the senders against a real fake push API
(429 / 403 / 500), unsubscribe and quiet hours at send time, quiz pushes with reveal and leaderboard,
the scheduler syncing jobs, and `python -m bot run` picking up a campaign added from the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot import messages
from bot.areas import load_areas
from bot.campaigns import outbox, scheduler
from bot.campaigns.models import Campaign, CampaignRun, OutboxMessage
from bot.campaigns.quiz import leaderboard
from bot.campaigns.senders import quiet_until, run_senders
from bot.cli import app
from bot.config import Settings, get_settings
from bot.channels import web_messages
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage
from bot.knowledge.models import QuizQuestion
from bot.storage.models import QuizAnswer, Subscription, User
from tests.campaign_data import seed
from tests.conftest import KNOWLEDGE, ROOT
from tests.fake_push import FakePush

QUIZ = [QuizQuestion("quiz-c-01", "vneid", "easy", "Mức 2 kích hoạt ở đâu?", ("Ở chợ", "Ở công an", "Ở trường"), 1,
                     "Mức 2 làm tại công an.", "NĐ 69/2024", "2026-11-23")]
UTC = dt.timezone.utc
_ids = itertools.count(1)


@pytest.fixture
def fake():
    server = FakePush()
    yield server
    server.close()


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"))


def settings_for(db, fake, **kw) -> Settings:
    base = dict(database_url=db.url, telegram_bot_token=fake.token, telegram_api_base_url=fake.base_url,
                zalo_bot_token=fake.token, zalo_api_base_url=fake.base_url, quiet_hours="", telegram_rate_per_sec=50,
                zalo_rate_per_sec=50, outbox_retry_seconds=0.2, knowledge_dir=KNOWLEDGE)
    return Settings(**{**base, **kw})


def campaign(db, text="Tin thử", area="all", channel="all", **kw) -> int:
    with db.session() as s:
        c = Campaign(text=text, area=area, channel=channel, run_at=dt.datetime(2026, 10, 10, 1, tzinfo=UTC), **kw)
        s.add(c)
        s.flush()
        return c.id


def send_all(db, settings, channels=("telegram",), timeout=30.0) -> None:
    asyncio.run(asyncio.wait_for(run_senders(db, settings, list(channels), asyncio.Event(), until_empty=True), timeout))


def statuses(db) -> dict[int, str]:
    with db.session() as s:
        return dict(s.execute(select(OutboxMessage.user_id, OutboxMessage.status)).all())


def msg(channel, user, kind="text", text="", **kw):
    return IncomingMessage(channel=channel, user_id=user, chat_id=user, kind=kind, text=text,
                           message_id=str(next(_ids)), **kw)


# -- CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def cli(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(KNOWLEDGE))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["campaign", *args])
    get_settings.cache_clear()


def test_cli_add_list_status_pause_resume_cancel(cli, db, service, fake):
    added = cli("add", "--text", "Ngày Chuyển đổi số 10/10 🎉", "--at", "now", "--area", "Điện Biên", "--channel", "telegram")
    assert added.exit_code == 0, added.output
    cid = int(added.stdout.strip())  # just the id
    with db.session() as s:
        c = s.get(Campaign, cid)
        assert (c.area, c.channel, c.status, c.cron) == ("dien-bien", "telegram", "active", "")
    weekly = cli("add", "--text", "Mẹo tuần này", "--cron", "0 8 * * 1")
    assert weekly.exit_code == 0 and int(weekly.stdout) == cid + 1
    for bad in (["--text", ""], ["--text", "x", "--cron", "not a cron"], ["--text", "x", "--area", "Sao Hỏa"],
                ["--text", "x", "--channel", "fax"], ["--text", "x", "--at", "hôm qua"], ["--text", "x" * 2001],
                ["--text", "x", "--at", "now", "--cron", "0 8 * * *"]):
        result = cli("add", *bad)
        assert result.exit_code == 2 and "error:" in result.stderr, bad
    seed(db, 3, area="dien-bien")
    scheduler.fire(service, settings_for(db, fake), cid, dt.datetime.now(UTC))
    listing = cli("list")
    line = next(x for x in listing.stdout.splitlines() if x.split()[0] == str(cid))
    assert line.split()[8:11] == ["0", "3", "0"]  # id status at DATE TIME UTC area channel | sent pending failed
    assert cli("pause", str(cid)).exit_code == 0
    send_all(db, settings_for(db, fake))  # paused: nothing goes out
    assert fake.delivered == []
    assert cli("resume", str(cid)).exit_code == 0
    send_all(db, settings_for(db, fake))
    assert len(fake.delivered) == 3 and "Ngày Chuyển đổi số" in fake.delivered[0][2]["text"]
    status = cli("status", str(cid)).stdout
    assert "sent     3" in status and "run 1: message" in status
    assert cli("cancel", str(cid + 1)).exit_code == 0
    assert cli("resume", str(cid + 1)).exit_code == 2  # cancelled for good
    assert cli("status", "999").exit_code == 2


# -- audience ----------------------------------------------------------------------------------------


def test_expansion_targets_area_and_channel_once_per_user(db, service, fake):
    province = seed(db, 2, area="dien-bien", first=100)
    seed(db, 2, area="dien-bien/xa-muong-phang", first=200)  # a commune of the province
    seed(db, 2, area="lai-chau", first=300)
    seed(db, 2, area="all", first=400)
    seed(db, 2, channel="zalo", area="dien-bien", first=500)
    seed(db, 1, channel="web", area="dien-bien", first=600)
    with db.session() as s:  # a second subscription of the same user does not double the message
        first = s.scalar(select(Subscription).join(User).where(User.external_id == province[0]))
        s.add(Subscription(user_id=first.user_id, chat_id=first.chat_id, area="dien-bien/xa-muong-phang"))
    cid = campaign(db, area="dien-bien")
    run = scheduler.fire(service, settings_for(db, fake), cid, dt.datetime.now(UTC))
    assert scheduler.fire(service, settings_for(db, fake), cid, dt.datetime.now(UTC)) is None  # same slot: no-op
    assert outbox.expand(db, run, 2) == 0  # a repeated expansion adds nothing
    with db.session() as s:
        rows = s.execute(select(User.external_id, OutboxMessage.channel, OutboxMessage.status).join(User)).all()
    assert sorted(r[0] for r in rows) == ["100", "101", "200", "201", "500", "501", "600"]
    assert {r[0]: r[2] for r in rows}["600"] == "pending"  # the web chat too: into the visitor's chat
    send_all(db, settings_for(db, fake), channels=("web",))
    with db.session() as s:
        (shown,) = web_messages.history(s, "600")
        assert shown["from"] == "bot" and shown["text"].startswith("Tin thử") and messages.CAMPAIGN_FOOTER.strip() in shown["text"]
        assert s.scalar(select(OutboxMessage.status).join(User).where(User.external_id == "600")) == "sent"
    send_all(db, settings_for(db, fake), channels=("web",))  # nothing is shown twice
    with db.session() as s:
        assert len(web_messages.history(s, "600")) == 1
    telegram_only = campaign(db, area="dien-bien/xa-muong-phang", channel="telegram")
    scheduler.fire(service, settings_for(db, fake), telegram_only, dt.datetime.now(UTC))
    with db.session() as s:
        got = s.scalars(select(User.external_id).join(OutboxMessage).where(OutboxMessage.campaign_id == telegram_only))
        assert sorted(got) == ["100", "101", "200", "201"]  # the province's subscribers and the commune's


# -- senders -----------------------------------------------------------------------------------------


def test_sender_honours_429_marks_403_blocked_and_retries_500(db, service, fake):
    chats = seed(db, 6)
    fake.fail(chats[0], 429, retry_after=1)
    fake.fail(chats[1], 403)
    fake.fail(chats[2], 500, times=2)
    fake.fail(chats[3], 400)
    scheduler.fire(service, settings_for(db, fake), campaign(db), dt.datetime.now(UTC))
    send_all(db, settings_for(db, fake, sender_concurrency=1))
    got = fake.per_chat()
    assert got == {chats[0]: 1, chats[2]: 1, chats[4]: 1, chats[5]: 1}
    assert fake.attempts[chats[2]] == 3 and fake.attempts[chats[0]] == 2
    with db.session() as s:
        rows = {r.chat_id: r for r in s.scalars(select(OutboxMessage))}
        by_chat = {c: rows[i + 1] for i, c in enumerate(chats)}
        assert [by_chat[c].status for c in chats] == ["sent", "blocked", "sent", "failed", "sent", "sent"]
        assert by_chat[chats[2]].attempts == 3 and "500" in by_chat[chats[2]].last_error
        assert by_chat[chats[0]].sent_at is not None
        blocked = s.scalar(select(User).where(User.external_id == chats[1]))
        assert blocked.blocked_bot
        assert s.scalar(select(Subscription).where(Subscription.user_id == blocked.id)) is None
    # 429 paused the whole channel for retry_after (1 s): nothing went out during the second after it
    (at_429,) = [t for chat, status, t in fake.failed if status == 429]
    assert not [t for t in fake.times if at_429 < t < at_429 + 0.95]
    assert max(fake.times) > at_429 + 0.95


def test_rate_limit_and_per_chat_gap(db, service, fake):
    seed(db, 30)
    scheduler.fire(service, settings_for(db, fake), campaign(db), dt.datetime.now(UTC))
    start = time.monotonic()
    send_all(db, settings_for(db, fake, telegram_rate_per_sec=20))
    assert len(fake.delivered) == 30
    assert fake.times[-1] - start >= 29 / 20 - 0.15  # 20 a second, not faster
    one = seed(db, 1, first=9000)
    scheduler.fire(service, settings_for(db, fake), campaign(db, text="một"), dt.datetime.now(UTC))
    scheduler.fire(service, settings_for(db, fake), campaign(db, text="hai"), dt.datetime.now(UTC))
    fake.delivered.clear(), fake.times.clear()
    send_all(db, settings_for(db, fake))
    assert [c for _, c, _ in fake.delivered].count(one[0]) == 2
    assert fake.times[-1] - fake.times[0] >= 0.95  # one message a second per chat


def test_unsubscribe_takes_effect_for_messages_not_yet_sent(db, service, fake):
    seed(db, 2, first=10)
    service.handle(msg("telegram", "77", "command", command="dangky", text="all"))
    scheduler.fire(service, settings_for(db, fake), campaign(db), dt.datetime.now(UTC))
    (reply,) = service.handle(msg("telegram", "77", "command", command="huydangky"))
    assert "dừng" in reply.text
    send_all(db, settings_for(db, fake))
    assert sorted(fake.per_chat()) == ["10", "11"]
    with db.session() as s:
        row = s.scalar(select(OutboxMessage).join(User).where(User.external_id == "77"))
        assert (row.status, row.last_error) == ("skipped", "unsubscribed")


def test_long_zalo_campaign_text_is_cut_at_a_break_by_the_channel_rule(db, service, fake):
    service.handle(msg("zalo", "z-long", "command", command="dangky", text="all"))  # the chat wrote just now
    text = ""
    for n in itertools.count():  # paragraphs of sentences, up to just under 2,000 characters
        sentence = f"{chr(10) * 2 if n % 5 == 0 else ' '}Câu {n}: bà con nên dùng dịch vụ công trực tuyến an toàn."
        if len((text + sentence).strip()) > 1995:
            break
        text = (text + sentence).strip()
    assert len(text) < 2000 < len(text + messages.CAMPAIGN_FOOTER)  # the footer takes it over Zalo's limit
    scheduler.fire(service, settings_for(db, fake), campaign(db, text=text, channel="zalo"), dt.datetime.now(UTC))
    send_all(db, settings_for(db, fake), ("zalo",))
    pieces = [p["text"] for _, chat, p in fake.delivered if chat == "z-long"]
    assert len(pieces) == 2 and all(len(piece) <= 2000 for piece in pieces)
    assert pieces[0] == text  # cut at the paragraph break before the footer, not at character 2000
    assert " ".join(pieces).split() == (text + messages.CAMPAIGN_FOOTER).split()  # nothing lost
    assert statuses(db) == {s: "sent" for s in statuses(db)}


def test_quiet_hours_hold_messages_until_morning(db, service, fake):
    at = lambda h, m=0: dt.datetime(2026, 10, 10, h, m, tzinfo=dt.timezone(dt.timedelta(hours=7)))  # noqa: E731
    assert quiet_until(at(22), "21-7") == at(7).replace(day=11)
    assert quiet_until(at(3), "21-7") == at(7)
    assert quiet_until(at(12), "21-7") is None and quiet_until(at(22), "") is None
    assert quiet_until(at(12, 30), "12-13") == at(13)
    with pytest.raises(ValueError):
        Settings(quiet_hours="evening")
    seed(db, 2)
    scheduler.fire(service, settings_for(db, fake), campaign(db), dt.datetime.now(UTC))
    hour = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).hour
    quiet = settings_for(db, fake, quiet_hours=f"{hour}-{(hour + 2) % 24}")
    stop = asyncio.Event()

    async def briefly() -> None:
        task = asyncio.create_task(run_senders(db, quiet, ["telegram"], stop))
        await asyncio.sleep(1.0)
        stop.set()
        await task

    asyncio.run(briefly())
    assert fake.delivered == [] and set(statuses(db).values()) == {"pending"}


# -- quiz pushes ------------------------------------------------------------------------------------------


def test_quiz_push_answers_reveal_and_leaderboard(db, service, fake):
    service.handle(msg("telegram", "501", "command", command="dangky", text="Điện Biên"))
    service.handle(msg("zalo", "z-1", "command", command="dangky", text="all"))
    service.handle(msg("telegram", "502", "command", command="dangky", text="all"))
    service.handle(msg("web", "w-1", "command", command="dangky", text="all"))
    with db.session() as s:  # 502 wants news but no quiz
        s.scalar(select(Subscription).join(User).where(User.external_id == "502")).quiz = False
    cid = campaign(db, text="", kind="quiz", cron="0 19 * * *", reveal_minutes=60)
    run = scheduler.fire(service, settings_for(db, fake), cid, dt.datetime.now(UTC))
    send_all(db, settings_for(db, fake), ("telegram", "zalo", "web"))
    polls = [p for m, c, p in fake.delivered if m == "sendPoll"]
    assert len(polls) == 1 and polls[0]["chat_id"] == "501" and polls[0]["is_anonymous"] is False
    zalo_text = next(p["text"] for m, c, p in fake.delivered if c == "z-1")
    assert "A. Ở chợ" in zalo_text and "B. Ở công an" in zalo_text
    assert "502" not in fake.per_chat()
    # answers come back through the conversation service and are scored
    poll_id = f"poll-{[i for i, (m, _, _) in enumerate(fake.delivered) if m == 'sendPoll'][0] + 1}"
    assert service.handle(msg("telegram", "501", "poll_answer", poll_id=poll_id, option=1)) == []
    (zalo_reply,) = service.handle(msg("zalo", "z-1", text="A", buttons=False))
    assert "Chưa đúng" in zalo_reply.text
    with db.session() as s:  # on the web: the question with its answer buttons, in the visitor's chat
        (pushed,) = web_messages.history(s, "w-1")
    assert pushed["quiz"] == {"question": QUIZ[0].question, "options": list(QUIZ[0].options)}
    pick = [b["data"] for row in pushed["buttons"] for b in row][1]
    (web_reply,) = service.handle(msg("web", "w-1", "button", data=pick))
    assert web_reply.text.startswith("✅")
    with db.session() as s:
        assert sorted(s.scalars(select(QuizAnswer.correct))) == [False, True, True]
    # the reveal, after the set time, to everyone the question went to
    fake.delivered.clear()
    scheduler.reveal(service, settings_for(db, fake), run)
    send_all(db, settings_for(db, fake), ("telegram", "zalo", "web"))
    assert sorted(fake.per_chat()) == ["501", "z-1"]
    with db.session() as s:
        assert "Đáp án đúng: B. Ở công an" in web_messages.history(s, "w-1")[-1]["text"]
    assert all("Đáp án đúng: B. Ở công an" in p["text"] for _, _, p in fake.delivered)
    board = leaderboard(db)
    assert [(b.right, b.answered) for b in board] == [(1, 1), (1, 1), (0, 1)]
    assert [b.area for b in leaderboard(db, area="dien-bien")] == ["dien-bien"]
    assert leaderboard(db, area="lai-chau") == []


# -- the scheduler ---------------------------------------------------------------------------------------


def test_scheduler_syncs_jobs_and_calendar(db, service, fake, tmp_path):
    kb = tmp_path / "kb"
    (kb / "campaigns").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "campaigns" / "calendar.yaml", kb / "campaigns")
    shutil.copy(KNOWLEDGE / "areas.yaml", kb)
    settings = settings_for(db, fake, knowledge_dir=kb, campaign_sync_seconds=0.2, telegram_bot_token="")
    weekly = campaign(db, cron="0 8 * * 1")
    seed(db, 2)
    now_campaign = campaign(db, text="Ngay bây giờ")
    with db.session() as s:
        s.get(Campaign, now_campaign).run_at = dt.datetime.now(UTC)
    stop = asyncio.Event()

    async def scenario() -> list[str]:
        task = asyncio.create_task(scheduler.Campaigns(service, settings).run(stop))
        sched = await _until(lambda: scheduler._context.get("scheduler"))
        await _until(lambda: sched.get_job(f"campaign-{weekly}"))
        await _until(lambda: _runs(db, now_campaign))  # the one-off ran at once
        with db.session() as s:
            s.get(Campaign, weekly).status = "paused"
        await _until(lambda: sched.get_job(f"campaign-{weekly}") is None)
        ids = [j.id for j in sched.get_jobs()]
        stop.set()
        await task
        return ids

    jobs = asyncio.run(asyncio.wait_for(scenario(), 30))
    with db.session() as s:
        calendar = s.scalars(select(Campaign).where(Campaign.key.is_not(None))).all()
        assert "kb:ngay-cds-10-10" in {c.key for c in calendar} and all(c.cron for c in calendar)
        assert len(s.scalars(select(OutboxMessage)).all()) == 2
    assert {f"campaign-{c.id}" for c in calendar} <= set(jobs)
    assert f"campaign-{now_campaign}" not in jobs  # a one-off that ran is not scheduled again
    assert scheduler.cron_slot("0 8 * * 1", dt.datetime(2026, 10, 12, 1, 30, tzinfo=UTC)) == dt.datetime(
        2026, 10, 12, 1, 0, tzinfo=UTC)  # Monday 08:00 Vietnam time


def _runs(db, cid):
    with db.session() as s:
        return s.scalars(select(CampaignRun).where(CampaignRun.campaign_id == cid, CampaignRun.status == "queued")).all()


async def _until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await asyncio.to_thread(predicate):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def test_campaign_added_from_cli_while_running_starts_within_10_seconds(db, fake, small_kb, small_index, tmp_path):
    chats = seed(db, 3)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=db.url, KNOWLEDGE_DIR=str(small_kb), INDEX_DIR=str(small_index), WEB_PORT=str(port),
               TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url, QUIET_HOURS="", ZALO_BOT_TOKEN="")
    bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        fake.wait_for(lambda: _table_exists(db), 60, "the bot to start")
        time.sleep(1.0)
        added = subprocess.run([sys.executable, "-m", "bot", "campaign", "add", "--text", "Chào bà con", "--at", "now"],
                               cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        assert added.stdout.strip().isdigit()
        start = time.monotonic()
        fake.wait_for(lambda: len(fake.delivered) == 3, 10, "the campaign's messages")
        assert time.monotonic() - start < 10
        assert sorted(fake.per_chat()) == sorted(chats)
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(20)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()
    assert bot.returncode == 0, bot.stderr.read().decode()[-2000:]


def _table_exists(db) -> bool:
    from sqlalchemy import inspect

    return "apscheduler_jobs" in inspect(db.engine).get_table_names()
