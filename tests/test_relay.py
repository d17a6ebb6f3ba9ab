"""The relay inbox, roles and tools through the real ConversationService, on SQLite and PostgreSQL.

PostgreSQL tests use their own schema (search_path), so other test files sharing the database
never drop these tables, nor these tests theirs.
"""

import asyncio
import datetime as dt
import hashlib
import re
import threading
import time

import pytest
from sqlalchemy import select

from bot import messages
from bot.channels import web_messages
from bot.conversation.service import ConversationService
from bot.relay.cards import answer_card
from bot.relay.models import AuditEntry, FaqDraft, RoleInvite
from bot.storage.models import Escalation, User
from tests.chat_helpers import AREAS, buttons, escalate, give, send
from tests.pg import database_fixture

BOT_URL = "https://t.me/binhdan_test_bot"


db = database_fixture("relay_test")


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, [], AREAS, flood_limit=1000, public_bot_url=BOT_URL)


class Pushed(list):
    """What the running channels of a process (bot/relay/delivery.py) pushed: (channel, chat, text)."""

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # nothing more
        return list(self)


@pytest.fixture
def pushed(service):
    """Pushers for every other channel, on an event loop of their own, as `python -m bot run` registers them."""
    got = Pushed()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    for channel in ("telegram", "zalo", "zalo_oa"):
        async def push(chat_id, out, channel=channel):
            got.append((channel, chat_id, out.text))
            return True
        service.delivery.add(channel, push, buttons=channel == "telegram")
    service.delivery.bind(loop)
    yield got
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_escalation_is_acknowledged_and_notifies_on_duty_members_of_its_area(service, db, pushed):
    give(db, "team-db", "team", "dien-bien")
    give(db, "team-qn", "team", "quang-ngai")
    give(db, "team-off", "team", "dien-bien")
    give(db, "admin-1", "admin")
    give(db, "team-zalo", "team", "all", channel="zalo")
    (off,) = send(service, "team-off", "truc", "tat")
    assert "nghỉ trực" in off.text
    esc_id, out = escalate(service, "citizen-1", "tôi không đăng nhập được VNeID", area="dien bien")
    ack, *notices = out
    assert ack.chat_id == "" and "Tổ công nghệ số cộng đồng" in ack.text and f"#{esc_id}" in ack.text
    assert sorted(n.chat_id for n in notices) == ["admin-1", "team-db"]  # not another area nor off duty
    assert pushed.wait_for(1) == [("zalo", "team-zalo", notices[0].text)]  # a member on another channel: there
    assert all(f"/nhan {esc_id}" in n.text and "Điện Biên" in n.text for n in notices)
    (on,) = send(service, "team-off", "truc", "bat")
    assert "đang trực" in on.text
    _, out = escalate(service, "citizen-2", "làm sao để quét mã QR", area="dak bla")
    assert sorted(n.chat_id for n in out[1:]) == ["admin-1", "team-qn"]  # a commune inside the member's province
    assert [p[1] for p in pushed.wait_for(2)] == ["team-zalo", "team-zalo"]


def test_team_members_see_only_their_areas_and_no_personal_data(service, db):
    give(db, "team-db", "team", "dien-bien")
    give(db, "team-qn", "team", "quang-ngai")
    give(db, "team-all", "team", "all")
    secret = "số tôi là 0912 345 678, CCCD 001234567890, email bimat@example.com, tôi không vào được VNeID"
    id1, _ = escalate(service, "citizen-555123", secret, area="dien bien", display_name="Nguyễn Văn Bí Mật")
    id2, _ = escalate(service, "citizen-2", "hỏi về thanh toán QR ở chợ", area="dak bla")
    id3, _ = escalate(service, "citizen-3", "câu hỏi không rõ khu vực")
    (box,) = send(service, "team-db", "hopthu")
    assert f"#{id1}" in box.text and "Điện Biên" in box.text and "chờ vừa xong" in box.text and "chưa ai nhận" in box.text
    assert "không vào được VNeID" in box.text
    assert f"#{id2}" not in box.text and "thanh toán QR" not in box.text and f"#{id3}" not in box.text
    for personal in ("0912", "345 678", "001234567890", "bimat", "example.com", "Bí Mật", "555123"):
        assert personal not in box.text
    (box,) = send(service, "team-qn", "inbox")
    assert f"#{id2}" in box.text and "Đắk Bla" in box.text and f"#{id1}" not in box.text
    (box,) = send(service, "team-all", "inbox")
    assert all(f"#{i}" in box.text for i in (id1, id2, id3)) and "chưa rõ khu vực" in box.text
    (box,) = send(service, "team-qn", "nhan", str(id1))
    assert "Không tìm thấy câu hỏi" in box.text  # another area's question cannot be claimed either
    (mine,) = send(service, "citizen-2", "inbox")
    assert "chỉ dành cho thành viên" in mine.text and "thanh toán" not in mine.text


def test_claim_reply_reopen_and_save_as_draft_faq(service, db):
    give(db, "team-db", "team", "dien-bien")
    give(db, "team-db2", "team", "dien-bien")
    esc_id, _ = escalate(service, "citizen-1", "gọi số 0987654321 hỏi VNeID có mất phí không?", area="dien bien")
    (claimed,) = send(service, "team-db", "nhan", f"#{esc_id}")
    assert f"Bạn đã nhận câu hỏi #{esc_id}" in claimed.text and "0987654321" not in claimed.text
    (other,) = send(service, "team-db2", "claim", str(esc_id))
    assert "cán bộ khác" in other.text
    (box,) = send(service, "team-db", "hopthu")
    assert "bạn đã nhận" in box.text
    (early,) = send(service, "team-db", "luufaq", str(esc_id))
    assert "chưa có câu trả lời" in early.text

    ack, answer = send(service, "team-db", "traloi", f"{esc_id} Tài khoản VNeID miễn phí, bác không phải trả tiền.")
    assert f"#{esc_id}" in ack.text and ack.chat_id == ""
    assert answer.chat_id == "citizen-1" and "miễn phí" in answer.text and f"#{esc_id}" in answer.text
    assert buttons(answer) == [f"ra:{esc_id}:1", f"ra:{esc_id}:-1", f"ro:{esc_id}"]
    (again,) = send(service, "team-db", "traloi", f"{esc_id} lần nữa")
    assert "đã được trả lời" in again.text
    (box,) = send(service, "team-db", "hopthu")
    assert f"#{esc_id}" not in box.text
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        assert esc.status == "answered" and esc.answered_at is not None

    (stranger,) = send(service, "citizen-2", "canbo", f"#{esc_id} cho tôi xem với")  # not their question
    assert "Không tìm thấy câu hỏi" in stranger.text
    (ask,) = send(service, "citizen-1", kind="button", data=f"ro:{esc_id}")
    assert f"#{esc_id}" in ask.text
    ack, notice = send(service, "citizen-1", text="vậy còn tài khoản mức 2 thì sao?")
    assert f"#{esc_id}" in ack.text and notice.chat_id == "team-db" and "mức 2" in notice.text
    (box,) = send(service, "team-db", "hopthu")
    assert f"#{esc_id}" in box.text and "Hỏi thêm: vậy còn tài khoản mức 2" in box.text
    ack, answer = send(service, "team-db", "reply", f"{esc_id} Mức 2 cũng miễn phí, làm tại công an xã.")
    assert answer.chat_id == "citizen-1"
    ack, notice = send(service, "citizen-1", "canbo", f"#{esc_id} cảm ơn, thế còn ứng dụng ngân hàng?")
    assert notice.chat_id == "team-db"
    with db.session() as s:
        assert s.get(Escalation, esc_id).reopened == 2 and s.get(Escalation, esc_id).status == "open"

    send(service, "team-db", "traloi", f"{esc_id} Ngân hàng thì bác hỏi quầy giao dịch.")
    (which,) = send(service, "team-db", "luufaq", str(esc_id))  # three turns: the member chooses which one
    assert "Lượt 1" in which.text and "Lượt 3" in which.text and f"/luufaq {esc_id} 3" in which.text
    (saved,) = send(service, "team-db", "luufaq", f"{esc_id} 1")
    assert "bản nháp" in saved.text
    (twice,) = send(service, "team-db", "savefaq", f"{esc_id} 1")
    (last,) = send(service, "team-db", "luufaq", f"{esc_id} 3")
    with db.session() as s:
        first, third = s.scalars(select(FaqDraft).order_by(FaqDraft.id)).all()
        # each question with the answer that followed it, never the first question with the last answer
        assert first.status == "draft" and first.answer == "Tài khoản VNeID miễn phí, bác không phải trả tiền."
        assert "0987654321" not in first.question and "VNeID có mất phí" in first.question
        assert first.area == "dien-bien" and f"số {first.id}" in twice.text
        assert third.question == "cảm ơn, thế còn ứng dụng ngân hàng?" and third.answer == "Ngân hàng thì bác hỏi quầy giao dịch."


def test_citizens_cannot_use_team_or_admin_commands(service, db):
    give(db, "team-db", "team", "dien-bien")
    esc_id, _ = escalate(service, "citizen-1", "câu hỏi", area="dien bien")
    for command, arg in [("hopthu", ""), ("nhan", str(esc_id)), ("traloi", f"{esc_id} trả lời giả"), ("luufaq", str(esc_id)),
                         ("timkiem", "vneid"), ("thetraloi", "vneid"), ("truc", "bat")]:
        (out,) = send(service, "citizen-2", command, arg)
        assert out.text == "Lệnh này chỉ dành cho thành viên Tổ công nghệ số cộng đồng.", command
    for command, arg in [("moi", "admin"), ("invite", "team all"), ("thuhoi", "telegram:team-db"), ("vaitro", "")]:
        for who in ("citizen-2", "team-db"):
            (out,) = send(service, who, command, arg)
            assert out.text == "Lệnh này chỉ dành cho quản trị viên.", (who, command)
    for data in (f"cl:{esc_id}", "cd:faq:vneid-kich-hoat-muc-2"):
        (out,) = send(service, "citizen-2", kind="button", data=data)
        assert "chỉ dành cho thành viên" in out.text
    (grouped,) = send(service, "team-db", "hopthu", chat="group-1", chat_type="group")
    assert "tin nhắn riêng" in grouped.text
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        assert esc.status == "open" and esc.claimed_by is None
        assert s.scalar(select(User).where(User.external_id == "citizen-2")).role == "citizen"
        assert s.scalars(select(RoleInvite)).all() == [] and s.scalars(select(FaqDraft)).all() == []


def test_invite_code_join_revoke_and_audit_log(service, db):
    give(db, "admin-1", "admin")
    (invite,) = send(service, "admin-1", "moi", "team dien bien")
    code = re.search(r"/thamgia ([A-Z0-9]{10})", invite.text)[1]
    assert "72 giờ" in invite.text and "Điện Biên" in invite.text
    with db.session() as s:
        (row,) = s.scalars(select(RoleInvite)).all()
        assert row.code_hash == hashlib.sha256(code.encode()).hexdigest() and code not in row.code_hash
    (joined,) = send(service, "new-member", "thamgia", code.lower())
    assert "Chào mừng" in joined.text and "Điện Biên" in joined.text
    (on_web,) = send(service, "web-visitor", "thamgia", code, channel="web")
    assert "Telegram hoặc Zalo" in on_web.text
    (reused,) = send(service, "someone-else", "join", code)
    assert "đã được dùng hoặc đã hết hạn" in reused.text
    (box,) = send(service, "new-member", "hopthu")
    assert "Hộp thư trống" in box.text
    (helped,) = send(service, "new-member", "help")
    assert "/hopthu" in helped.text and "/moi" not in helped.text

    (expiring,) = send(service, "admin-1", "invite", "admin")
    late = re.search(r"/thamgia ([A-Z0-9]{10})", expiring.text)[1]
    with db.session() as s:
        for inv in s.scalars(select(RoleInvite).where(RoleInvite.role == "admin")):
            inv.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    (expired,) = send(service, "someone-else", "thamgia", late)
    assert "hết hạn" in expired.text
    (wrong,) = send(service, "someone-else", "thamgia", "AAAAAAAAAA")
    assert "không đúng" in wrong.text
    (listed,) = send(service, "admin-1", "vaitro")
    assert "telegram:new-member" in listed.text and "thành viên Tổ công nghệ số cộng đồng, tỉnh Điện Biên" in listed.text

    (self_revoke,) = send(service, "admin-1", "thuhoi", "telegram:admin-1")
    assert "không thể tự thu hồi" in self_revoke.text
    (done,) = send(service, "admin-1", "thuhoi", "telegram:new-member team dien-bien")
    assert "Đã thu hồi 1 quyền" in done.text
    (none,) = send(service, "admin-1", "thuhoi", "telegram:new-member")
    assert "không có quyền" in none.text
    (box,) = send(service, "new-member", "hopthu")
    assert "chỉ dành cho thành viên" in box.text
    with db.session() as s:
        log = [(e.actor, e.action, e.detail.get("role"), e.detail.get("user")) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert all(e.created_at is not None for e in s.scalars(select(AuditEntry)))
    assert log == [
        ("cli", "grant", "admin", "telegram:admin-1"),
        ("telegram:admin-1", "invite", "team", None),
        ("invite:telegram:admin-1", "grant", "team", "telegram:new-member"),
        ("telegram:admin-1", "invite", "admin", None),
        ("telegram:admin-1", "revoke", "team", "telegram:new-member"),
    ]


def test_search_and_answer_cards(service, db, small_engine):
    give(db, "team-db", "team", "dien-bien")
    (found,) = send(service, "team-db", "timkiem", "kích hoạt vneid mức 2")
    assert "1. Kích hoạt tài khoản định danh điện tử mức 2 ở đâu?" in found.text
    assert buttons(found)[0] == "cd:faq:vneid-kich-hoat-muc-2" and all(len(d.encode()) <= 64 for d in buttons(found))
    (card,) = send(service, "team-db", kind="button", data=buttons(found)[0])
    lines = card.text.splitlines()
    assert lines[0] == "📌 Kích hoạt tài khoản định danh điện tử mức 2 ở đâu?"
    assert "Công an" in card.text and "Nguồn: Nghị định 69/2024/NĐ-CP" in card.text and lines[-1].endswith(BOT_URL)
    (card,) = send(service, "team-db", "thetraloi", "quét mã qr trả tiền", chat="group-1", chat_type="group")  # cards are for groups
    assert card.text.startswith("📌 Thanh toán bằng mã QR") and "Ngân hàng Nhà nước" in card.text
    chunk = next(c for c in small_engine.chunks if c.id == "faq:thanhtoan-ma-qr")
    assert "🤖" not in answer_card(chunk, "") and answer_card(chunk, "").endswith("Nguồn: Ngân hàng Nhà nước Việt Nam")
    # Zalo shows no buttons: the results are numbered and a number picks the card.
    give(db, "zalo-team", "team", "all", channel="zalo")
    (found,) = send(service, "zalo-team", "timkiem", "mật khẩu mạnh", channel="zalo", buttons=False)
    assert "\n1. " in found.text and not found.buttons
    (card,) = send(service, "zalo-team", text="1", channel="zalo", buttons=False)
    assert card.text.startswith("📌 ") and "Nguồn:" in card.text


def test_an_answer_across_channels_waits_for_the_citizens_next_message(service, db):
    give(db, "admin-1", "admin")
    esc_id, out = escalate(service, "zalo-citizen", "hỏi từ Zalo", channel="zalo")
    assert out[1:] == []  # the admin is told on their own channel (pushed), not in the citizen's reply
    (queued,) = send(service, "admin-1", "traloi", f"{esc_id} Đây là câu trả lời.")
    assert "kênh khác" in queued.text and queued.chat_id == ""
    first, answer = send(service, "zalo-citizen", text="xin chào", channel="zalo")
    assert "Đây là câu trả lời." in first.text and f"#{esc_id}" in first.text and first.chat_id == ""
    assert len(send(service, "zalo-citizen", "help", channel="zalo")) == 1  # handed over once


def test_an_answer_to_a_web_visitor_is_stored_in_their_chat_at_once(service, db, pushed):
    give(db, "admin-1", "admin")
    esc_id, out = escalate(service, "web-visitor", "hỏi từ trang web", channel="web")
    assert out[1:] == [] and [p[:2] for p in pushed.wait_for(1)] == [("telegram", "admin-1")]
    assert f"#{esc_id}" in pushed[0][2] and "hỏi từ trang web" in pushed[0][2]
    (sent,) = send(service, "admin-1", "traloi", f"{esc_id} Đây là câu trả lời.")
    assert sent.text == messages.RELAY_REPLY_SENT.format(id=esc_id)  # no waiting for the visitor's next message
    with db.session() as s:
        (answer,) = web_messages.history(s, "web-visitor")
    assert answer["from"] == "team" and "Đây là câu trả lời." in answer["text"] and f"#{esc_id}" in answer["text"]
    assert f"ro:{esc_id}" in [b["data"] for row in answer["buttons"] for b in row]  # «Hỏi thêm» (and the rating)
    assert len(send(service, "web-visitor", "help", channel="web")) == 1  # not handed over a second time


@pytest.mark.parametrize("command,arg", [
    ("traloi", ""), ("traloi", "abc"), ("traloi", "99999999999999999 text"), ("traloi", "1"), ("nhan", "#-1"),
    ("nhan", "🙂"), ("nhan", "²"), ("luufaq", "<b>1</b>"), ("timkiem", "🙂🙂"), ("thetraloi", ""), ("moi", "team nowhere-land"),
    ("moi", "boss all"), ("thamgia", "<script>alert(1)</script>"), ("thuhoi", "garbage"), ("thuhoi", "telegram:x boss"),
    ("truc", "\x00\x07"), ("traloi", "1 " + "dài " * 2500),
])
def test_bad_input_to_relay_commands_gets_a_message(service, db, command, arg):
    give(db, "admin-1", "admin")
    escalate(service, "citizen-1", "câu hỏi")
    out = send(service, "admin-1", command, arg)
    assert out and all(m.text.strip() for m in out)
