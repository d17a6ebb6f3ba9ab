"""A channel configured but not running in this process (a web-only worker) still gets a team answer and a
new-question notice at once, through its outbox transport: checked at a fake Telegram server."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.relay.models import RelayMessage
from bot.runner import connect_transports
from tests.chat_helpers import AREAS, escalate, give, send
from tests.fake_telegram import FakeTelegram


@pytest.fixture
def setup(small_engine, db):
    fake = FakeTelegram().start()
    service = ConversationService(small_engine, db, [], AREAS, flood_limit=1000)
    settings = Settings(_env_file=None, telegram_bot_token=fake.token, telegram_api_base_url=fake.url, web_port=0)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    service.delivery.bind(loop)
    connect_transports(service, settings, instances={}, gates={})  # telegram is configured, not running here
    yield service, db, fake
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    fake.close()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def test_a_team_answer_from_another_channel_reaches_a_telegram_citizen_now(setup):
    service, db, fake = setup
    give(db, "team-z", "team", "all", channel="zalo")
    esc_id, _ = escalate(service, "4242", "Cháu không đăng nhập được VNeID", area="dien bien", channel="telegram")
    ack, = send(service, "team-z", "traloi", f"{esc_id} Bác thử đặt lại mật khẩu trong ứng dụng VNeID.", channel="zalo")
    assert f"#{esc_id}" in ack.text
    sent = wait_for(lambda: [c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == "4242"])
    assert "đặt lại mật khẩu" in sent[0].params["text"]
    assert "1." in sent[0].params["text"]  # the rating choices come numbered: no buttons this way
    wait_for(lambda: _delivered(db))
    time.sleep(0.3)
    assert len([c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == "4242"]) == 1  # once


def test_a_new_question_notice_reaches_a_team_member_on_telegram_now(setup):
    service, db, fake = setup
    give(db, "5151", "team", "all", channel="telegram")
    esc_id, _ = escalate(service, "visitor-1", "Làm sao đổi số điện thoại trên VNeID?", area="dien bien", channel="zalo")
    notice = wait_for(lambda: [c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == "5151"])
    assert f"#{esc_id}" in notice[0].params["text"]


def _delivered(db) -> bool:
    with db.session() as s:
        rows = s.scalars(select(RelayMessage).where(RelayMessage.author == "team")).all()
        return bool(rows) and all(r.delivered for r in rows)
