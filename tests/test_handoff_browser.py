"""The web inbox and the 👎 queue in a real headless Chromium (Debian's /usr/bin/chromium, Playwright): a team
member takes a question, sees the callback number and what the bot answered, replies, and the closed question
has no controls left; an admin adds a 👎 question as another phrasing of its entry in one step, and the history
shows it in Vietnamese with a confirmation before rollback. No CSP violation or script error is allowed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from bot.faq.store import FaqStore
from bot.chat.types import IncomingMessage
from bot.webadmin import auth, texts
from tests.test_browser import ARGS, CHROMIUM
from tests.web_server import database_url, make_service, serve

PASSWORD = "mat-khau-dai-123"


def test_inbox_and_disliked_queue_in_chromium(tmp_path, small_kb, small_engine):
    kb = Path(shutil.copytree(small_kb, tmp_path / "kb"))
    service = make_service(small_engine, database_url(tmp_path), flood_limit=100, knowledge_dir=kb)
    n = iter(range(1, 1000))

    def say(user, kind="text", **kw):
        return service.handle(IncomingMessage(channel="telegram", user_id=user, chat_id=user, kind=kind,
                                              message_id=str(next(n)), **kw))

    say("citizen-1", "command", command="dangky", text="dien bien")
    ack = say("citizen-1", "command", command="canbo", text="Nhờ cán bộ đến nhà hướng dẫn VNeID, số tôi 0912 345 678")
    esc_id = re.search(r"#(\d+)", ack[0].text)[1]
    answered = say("citizen-2", text="lam sao tra tien bang ma qr")
    log_id = next(b.data for m in answered for row in m.buttons for b in row if b.data.startswith("fb:")).split(":")[1]
    say("citizen-2", "button", data=f"fb:{log_id}:-1")  # 👎 on the bot's answer
    with service.db.session() as s:
        auth.create_account(s, "minh", PASSWORD, "team", ["dien-bien"], "cli:test")
        auth.create_account(s, "alice", PASSWORD, "admin", [], "cli:test")
    assert CHROMIUM.exists(), "Chromium is missing: apt-get install -y chromium (scripts/test.sh does it)"
    with serve(service, knowledge_dir=kb) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        def login(name):
            page.goto(base + "/admin/login")
            page.get_by_label("Tên đăng nhập").fill(name)
            page.get_by_label("Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()

        login("minh")
        expect(page.get_by_role("heading", name=texts.INBOX_TITLE)).to_be_visible()
        page.get_by_role("link", name=f"#{esc_id}").click()
        expect(page.get_by_text(texts.BOT_NOT_ASKED)).to_be_visible()
        expect(page.get_by_text("0912 345 678")).to_have_count(0)  # masked until the member takes it
        page.get_by_role("button", name=texts.CLAIM).click()
        expect(page.get_by_role("status")).to_have_text(texts.CLAIM_DONE)
        expect(page.locator(".contact")).to_contain_text("0912 345 678")
        expect(page.get_by_role("button", name=texts.CLAIM)).to_have_count(0)
        page.get_by_label(texts.REPLY_LABEL).fill("Chiều mai cán bộ đến nhà bác nhé.")
        page.get_by_role("button", name=texts.REPLY).click()
        expect(page.get_by_role("status")).to_have_text(texts.REPLY_KEPT)
        expect(page.get_by_text(texts.CLOSED_NOTE)).to_be_visible()
        expect(page.get_by_label(texts.REPLY_LABEL)).to_have_count(0)
        assert not re.search(r"/(traloi|nhan|luufaq)\b", page.content())
        page.get_by_role("button", name="Đăng xuất").click()

        login("alice")
        page.get_by_role("link", name=texts.NAV["disliked"]).click()
        row = page.locator("tbody tr").first
        expect(row).to_contain_text("lam sao tra tien bang ma qr")
        expect(row).to_contain_text("thanhtoan-ma-qr")
        row.get_by_role("button", name=texts.DISLIKED_ADD_PHRASING).click()
        expect(page.get_by_role("status")).to_contain_text("thanhtoan-ma-qr")
        entry = next(e for e in FaqStore(kb, service.db).entries() if e["id"] == "thanhtoan-ma-qr")
        assert "lam sao tra tien bang ma qr" in entry["alternatives"]

        page.get_by_role("link", name=texts.NAV["history"]).click()
        first = page.locator("tbody tr").first
        expect(first).to_contain_text("thêm cách hỏi khác")
        expect(first.locator("ins")).to_contain_text("lam sao tra tien bang ma qr")
        first.get_by_role("link", name=texts.HISTORY_ROLLBACK).click()
        expect(page.get_by_role("button", name=texts.ROLLBACK_CONFIRM)).to_be_visible()  # asked first
        page.get_by_role("link", name=texts.ROLLBACK_CANCEL).click()
        expect(page.get_by_role("heading", name=texts.HISTORY_TITLE)).to_be_visible()
        assert errors == []  # no CSP violation, no script error
        browser.close()
