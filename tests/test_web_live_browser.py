"""The live web chat in a real headless Chromium, at 360 px and 1366 px (issue 18): a web visitor's question,
with its area asked for, reaches a team member on Telegram (tests/fake_telegram.py); the member's answer and
a campaign message appear on the open page without a reload, and stay in the history after one; the
shortcuts fit a small phone, with «Chữ to» too; the same works inside the portal widget's iframe.
Screenshots go to test-artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import yaml

import pytest
from playwright.sync_api import expect

from bot import messages
from bot.campaigns import scheduler
from bot.campaigns.models import Campaign
from bot.config import Settings
from bot.channels import web_messages
from bot.chat.types import OutgoingMessage
from bot.relay import roles
from bot.storage.models import Chat
from bot.retrieval.engine import Engine
from bot.retrieval.store import build_index, load_index
from tests.conftest import KNOWLEDGE, ROOT, make_small_kb
from tests.fake_telegram import FakeTelegram
from tests.test_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.test_browser import portal
from tests.web_server import database_url, free_port, make_service, serve_live

SHOTS = ROOT / "test-artifacts" / "screenshots"
MEMBER = 770001
QUESTION = "Tôi mất căn cước, làm lại ở đâu?"
SCAM_ENTRIES = 14
SHORTCUTS = ("📚 Chủ đề", "❓ Câu đố", "🔔 Nhận tin", "🙋 Hỏi cán bộ")


@pytest.fixture
def service(small_engine, tmp_path):
    return make_service(small_engine, database_url(tmp_path), flood_limit=100)


@pytest.fixture
def fake():
    server = FakeTelegram().start()
    yield server
    server.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def shortcuts_on_screen(page, width: int) -> None:
    for name in SHORTCUTS:
        button = page.get_by_role("button", name=name)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (name, box)


def test_team_answer_and_campaign_arrive_live_and_stay_after_a_reload(service, fake, browser):  # noqa: F811
    with service.db.session() as s:
        roles.grant(s, roles.find_user(s, "telegram", str(MEMBER), create=True), "team", "dien-bien", "cli")
    with serve_live(service, telegram=fake, web_client_max_requests=1000) as base:
        page = browser.new_page(viewport={"width": 360, "height": 740})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        log = page.get_by_role("log")
        welcome = log.locator(".bot").first
        expect(welcome).to_contain_text("Xin chào")
        topics = welcome.locator(".choices button").count()
        assert f"một trong {topics} chủ đề" in welcome.inner_text()  # the welcome says what its buttons show
        shortcuts_on_screen(page, 360)

        # «Hỏi cán bộ» with an empty box asks for the question in plain words.
        page.get_by_role("button", name="🙋 Hỏi cán bộ").click()
        expect(log.locator(".bot").last).to_have_text("Trợ lý trả lời: " + messages.HUMAN_ASK)
        assert "/canbo" not in log.locator(".bot").last.inner_text()
        box = page.get_by_label("Câu hỏi của bác")
        expect(box).to_be_focused()
        box.fill(QUESTION)
        page.keyboard.press("Enter")
        expect(log.locator(".bot").last).to_contain_text("Bác ở xã, phường hay tỉnh nào?")  # the area is asked for
        log.locator(".bot").last.get_by_role("button", name="tỉnh Điện Biên").click()
        ack = log.locator(".bot").last
        expect(ack).to_contain_text("Đã gửi câu hỏi #")
        esc_id = int(re.search(r"#(\d+)", ack.inner_text())[1])

        # The team member on Telegram is told, with the question and its number, and answers there.
        (notice,) = fake.wait_calls("sendMessage", 1, MEMBER)
        assert f"#{esc_id}" in notice.params["text"] and QUESTION in notice.params["text"]
        assert "Điện Biên" in notice.params["text"]
        fake.inject(fake.message(MEMBER, f"/traloi {esc_id} Bác mang giấy tờ đến công an xã để làm lại."))
        team = log.locator(".team")
        expect(team).to_have_count(1)  # live: no reload
        expect(team).to_contain_text("Bác mang giấy tờ đến công an xã để làm lại.")
        expect(team).to_contain_text(f"#{esc_id}")
        confirm = fake.wait_calls("sendMessage", 2, MEMBER)[1]
        assert confirm.params["text"] == messages.RELAY_REPLY_SENT.format(id=esc_id)

        # A campaign for the area, on the web channel, reaches the subscribed visitor live.
        page.get_by_role("button", name="🔔 Nhận tin").click()
        log.locator(".bot").last.get_by_role("button", name="tỉnh Điện Biên").click()
        expect(log.locator(".bot").last).to_contain_text("Bác đã đăng ký nhận tin của tỉnh Điện Biên")
        with service.db.session() as s:
            campaign = Campaign(text="Thứ Bảy này xã mở lớp dạy dùng VNeID.", area="dien-bien", channel="web",
                                run_at=dt.datetime.now(dt.timezone.utc))
            s.add(campaign)
            s.flush()
            campaign_id = campaign.id
        scheduler.fire(service, Settings(_env_file=None, quiet_hours=""), campaign_id, dt.datetime.now(dt.timezone.utc))
        expect(log.locator(".bot").last).to_contain_text("Thứ Bảy này xã mở lớp dạy dùng VNeID.")
        shot(page, "live-360")

        # After a reload: the history, team answer and campaign message included, without a second welcome.
        page.reload()
        expect(log.locator(".team")).to_have_count(1)
        expect(log.locator(".user").first).to_contain_text("🙋 Hỏi cán bộ")
        expect(log).to_contain_text("Thứ Bảy này xã mở lớp dạy dùng VNeID.")
        expect(log).to_contain_text(QUESTION)
        assert "Xin chào" not in log.inner_text()
        page.get_by_role("button", name="Chữ to").click()
        expect(page.locator("html")).to_have_class("large")
        shortcuts_on_screen(page, 360)  # all four with large text too
        shot(page, "history-360-large")
        page.get_by_role("button", name="Chữ to").click()

        page.set_viewport_size({"width": 1366, "height": 768})  # the same visitor on a wide screen
        page.reload()
        expect(log.locator(".team")).to_have_count(1)
        shortcuts_on_screen(page, 1366)
        shot(page, "history-1366")
        assert errors == []


@pytest.fixture(scope="module")
def scam_engine(tmp_path_factory, embedder) -> Engine:
    """The small base plus the first SCAM_ENTRIES scam entries of the real one: a topic longer than a screen."""
    kb = make_small_kb(tmp_path_factory.mktemp("scam-kb"))
    for path in (KNOWLEDGE / "allowlist").glob("*.yaml"):
        shutil.copy(path, kb / "allowlist" / path.name)
    entries = yaml.safe_load((KNOWLEDGE / "faq" / "luadao.yaml").read_text(encoding="utf-8"))[:SCAM_ENTRIES]
    (kb / "faq" / "luadao.yaml").write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = tmp_path_factory.mktemp("scam-index")
    build_index(kb, out, embedder)
    return Engine(load_index(out), embedder)


def test_topic_menus_show_every_question_screen_by_screen(scam_engine, tmp_path, browser):  # noqa: F811
    service = make_service(scam_engine, database_url(tmp_path), flood_limit=100)
    scams = [c for c in service.engine.chunks if c.kind == "faq" and c.topic == "luadao"]
    with serve_live(service, web_client_max_requests=1000) as base:
        page = browser.new_page(viewport={"width": 360, "height": 740})
        page.goto(base + "/")
        log = page.get_by_role("log")
        log.locator(".bot").first.get_by_role("button", name=messages.TOPIC_NAMES["luadao"]).click()
        shown = 0
        for _ in range(20):
            menu = log.locator(".bot").last
            expect(menu).to_contain_text("Các câu hỏi thường gặp")
            questions = menu.locator(".choices button").filter(has_not_text="▶️")
            shown += questions.count()
            more = menu.get_by_role("button", name=re.compile("Các câu hỏi tiếp theo"))
            if not more.count():
                break
            menus = log.locator(".bot").count()
            more.click()
            expect(log.locator(".bot")).to_have_count(menus + 1)
        assert shown == len(scams) > SCAM_ENTRIES  # none cut off (the small base has one scam entry of its own)
        shot(page, "topic-menu-360")


def test_live_messages_reach_the_chat_inside_the_portal_widget(service, browser):  # noqa: F811
    allowed = free_port()
    with serve_live(service, web_allowed_origins=f"http://127.0.0.1:{allowed}", web_client_max_requests=1000) as base:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        with portal(base, allowed) as url:
            page.goto(url)
            page.get_by_role("button", name="💬 Hỏi đáp Bình dân học vụ số").click()
            chat = page.frame_locator("iframe[title='Trợ lý Bình dân học vụ số']")
            expect(chat.locator(".bot").first).to_contain_text("Xin chào")
            chat.get_by_role("button", name="🔔 Nhận tin").click()
            chat.locator(".bot").last.get_by_role("button", name="Toàn quốc").click()
            expect(chat.locator(".bot").last).to_contain_text("Bác đã đăng ký nhận tin")
            visitor = next(c["value"] for c in page.context.cookies() if c["name"] == "bdhvs_visitor")
            with service.db.session() as s:
                chat_pk = s.query(Chat.id).filter(Chat.channel == "web", Chat.external_id == visitor).scalar()
                web_messages.deliver(s, chat_pk, OutgoingMessage("💬 Tổ công nghệ số cộng đồng: tin trong khung."), "team")
            expect(chat.locator(".team")).to_contain_text("tin trong khung")
            shot(page, "widget-1366")
