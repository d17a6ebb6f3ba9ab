"""Web Push on the chat page in a real headless Chromium (issue 18). Headless Chromium has no push service
(subscribing needs Google's, which the test machine cannot reach), so this checks what can be checked
there: with push on, the page loads without errors, «🔔 Nhận thông báo» appears and fits a 360 px screen,
the service worker (/push-sw.js) registers with the chat page as its scope, and a click that cannot
subscribe ends quietly in one line of text; with push off, and inside a portal's frame, no bell. The
notifications themselves are tested against a fake push service in tests/test_web_push.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.test_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.test_browser import portal
from tests.test_web_live_browser import shot
from tests.test_web_push import PUSH
from tests.web_server import PORTAL, database_url, free_port, make_service, serve

FAILED = "Trình duyệt này chưa nhận được thông báo. Bác vẫn trò chuyện bình thường nhé."


@pytest.fixture
def service(small_engine, tmp_path):
    return make_service(small_engine, database_url(tmp_path), flood_limit=100)


def watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_the_bell_and_the_service_worker_with_push_on(service, browser):  # noqa: F811
    with serve(service, **PUSH) as base:
        context = browser.new_context(viewport={"width": 360, "height": 740})
        context.grant_permissions(["notifications"], origin=base)
        page = context.new_page()
        errors = watch(page)
        page.goto(base + "/")
        expect(page.get_by_role("log").locator(".bot").first).to_contain_text("Xin chào")
        bell = page.get_by_role("button", name="🔔 Nhận thông báo")
        expect(bell).to_be_visible()
        for button in (bell, page.get_by_role("button", name="Chữ to")):
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360.5, box
        worker = page.evaluate("navigator.serviceWorker.ready.then(r => [r.scope, r.active && r.active.scriptURL])")
        assert worker == [base + "/", base + "/push-sw.js"]
        shot(page, "push-bell-360")
        bell.click()  # headless Chromium has no push service: a quiet line, the bell stays
        expect(page.locator("#status")).to_have_text(FAILED)
        expect(bell).to_be_visible()
        page.get_by_label("Câu hỏi của bác").fill("kich hoat vneid muc 2 o dau")  # the chat works as before
        page.keyboard.press("Enter")
        expect(page.get_by_role("log").locator(".bot").nth(1)).to_contain_text("Nghị định 69/2024/NĐ-CP")
        # Chromium itself logs that its private (incognito) contexts have no Push API; nothing else may be logged
        assert [e for e in errors if "does not support the Push API" not in e] == [], errors
        context.close()


def test_no_bell_without_push_and_none_inside_a_portals_frame(service, browser):  # noqa: F811
    with serve(service) as base:
        page = browser.new_page(viewport={"width": 360, "height": 740})
        errors = watch(page)
        page.goto(base + "/")
        expect(page.get_by_role("log").locator(".bot").first).to_contain_text("Xin chào")
        expect(page.locator("#push")).to_be_hidden()
        assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
        assert errors == []  # no request for the key, so no 404 in the console
        page.close()
    port = free_port()
    with serve(service, **{**PUSH, "web_allowed_origins": f"{PORTAL},http://127.0.0.1:{port}"}) as base:
        with portal(base, port) as portal_url:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(portal_url)
            page.get_by_role("button", name="💬 Hỏi đáp Bình dân học vụ số").click()
            frame = page.frame_locator("iframe")
            expect(frame.get_by_role("log").locator(".bot").first).to_contain_text("Xin chào")
            expect(frame.locator("#push")).to_be_hidden()  # browsers refuse to ask for notifications in a frame
            page.close()
