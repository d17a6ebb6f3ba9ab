"""The chat page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from bot import messages
from bot.storage.models import Conversation
from tests.web_server import database_url, free_port, make_service, serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = "<img src=x onerror=alert(1)> thanh toan qr"


@pytest.fixture(scope="module")
def service(small_engine, tmp_path_factory):
    return make_service(small_engine, database_url(tmp_path_factory.mktemp("browser")), flood_limit=100)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Chromium is missing: apt-get install -y chromium (scripts/test.sh does it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def test_chat_page_in_chromium(service, browser):
    with serve(service) as base:
        page = browser.new_page(viewport={"width": 360, "height": 640})  # a small Android phone
        dialogs, errors = [], []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/")

        log = page.get_by_role("log")
        expect(log.locator(".bot").first).to_contain_text("Xin chào")
        expect(page.get_by_role("button", name="Phong trào Bình dân học vụ số")).to_be_visible()  # topic buttons

        # An unaccented question, typed and sent with Enter: the cited answer with its buttons.
        page.get_by_label("Câu hỏi của bác").fill("kich hoat vneid muc 2 o dau")
        page.keyboard.press("Enter")
        answer = log.locator(".bot").nth(1)
        expect(answer.locator(".source")).to_contain_text("Nguồn: Nghị định 69/2024/NĐ-CP")
        expect(answer).to_contain_text("công an")
        like = answer.get_by_role("button", name="👍 Hữu ích")
        like.click()
        expect(log.locator(".bot").nth(2)).to_have_text("Trợ lý trả lời: " + messages.FEEDBACK_THANKS)
        expect(like).to_be_disabled()
        with service.db.session() as s:
            assert s.scalars(select(Conversation)).first().feedback == 1

        # A related question opens its own answer.
        related = answer.locator(".choices .pair").nth(1).get_by_role("button")
        related_text = related.inner_text()
        related.click()
        expect(log.locator(".user").last).to_have_text("Bác hỏi: " + related_text)
        expect(log.locator(".bot")).to_have_count(4)

        # Markup typed by a person is shown as text, never run.
        page.get_by_label("Câu hỏi của bác").fill(XSS)
        page.get_by_role("button", name="Gửi").click()
        expect(log.locator(".user").last).to_have_text("Bác hỏi: " + XSS)
        expect(log.locator(".bot")).to_have_count(5)
        assert log.locator("img").count() == 0 and dialogs == []

        # Large text is toggled and remembered.
        big = page.get_by_role("button", name="Chữ to")
        size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        big.click()
        expect(page.locator("html")).to_have_class("large")
        assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > size
        page.reload()
        expect(page.locator("html")).to_have_class("large")
        expect(page.get_by_role("button", name="Chữ to")).to_have_attribute("aria-pressed", "true")
        assert errors == []  # no CSP violation, no script error


@contextlib.contextmanager
def portal(bot_url: str, port: int):
    """A provincial portal page on another origin that embeds the widget with one script tag."""
    html = f'<!doctype html><html lang="vi"><title>Cổng thông tin</title><h1>Cổng tỉnh</h1>' \
           f'<script src="{bot_url}/widget.js" defer></script></html>'.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_widget_embeds_the_chat_only_on_allowed_portals(service, browser):
    allowed, other = free_port(), free_port()
    with serve(service, web_allowed_origins=f"http://127.0.0.1:{allowed}") as base:
        page = browser.new_page()
        with portal(base, allowed) as url:
            page.goto(url)
            opener = page.get_by_role("button", name="💬 Hỏi đáp Bình dân học vụ số")
            opener.click()
            expect(page.get_by_role("button", name="✕ Đóng trợ lý")).to_have_attribute("aria-expanded", "true")
            chat = page.frame_locator("iframe[title='Trợ lý Bình dân học vụ số']")
            expect(chat.locator(".bot").first).to_contain_text("Xin chào")
            chat.get_by_label("Câu hỏi của bác").fill("binh dan hoc vu so la gi")
            chat.get_by_role("button", name="Gửi").click()
            expect(chat.locator(".source")).to_contain_text("Kế hoạch 01-KH/BCĐTW")
            page.get_by_role("button", name="✕ Đóng trợ lý").click()
            expect(page.locator("iframe")).to_be_hidden()
            expect(opener).to_have_attribute("aria-expanded", "false")
        with portal(base, other) as url:  # not in WEB_ALLOWED_ORIGINS: the browser refuses the frame
            page.goto(url)
            page.get_by_role("button", name="💬 Hỏi đáp Bình dân học vụ số").click()
            expect(page.locator("iframe")).to_be_visible()
            frame = page.locator("iframe").element_handle().content_frame()
            for _ in range(100):  # poll up to 10 s for the browser's verdict
                if frame.url.startswith("chrome-error://"):
                    break
                page.wait_for_timeout(100)
            assert frame.url.startswith("chrome-error://"), frame.url
