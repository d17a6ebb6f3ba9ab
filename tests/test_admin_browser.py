"""The web admin in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): log in,
edit an FAQ entry and see /api/ask answer with it (the live refresh poller running, as in `python -m bot
run`), read a report and download its workbook, log out. No CSP violation or script error is allowed."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from bot.webadmin import texts
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright

from bot.faq.live import LiveFaq
from bot.admin.reports import build_report, parse_period
from bot.retrieval.engine import Engine
from bot.retrieval.store import load_index
from bot.webadmin import auth
from tests.test_browser import ARGS, CHROMIUM
from tests.test_reports import fill
from tests.web_server import database_url, make_service, serve

PASSWORD = "mat-khau-dai-123"
QUESTION = "Thanh toán bằng mã QR như thế nào?"
NEW_ANSWER = "Mở ứng dụng ngân hàng, chọn Quét QR, kiểm tra kỹ tên người nhận rồi mới xác nhận."


@pytest.fixture
def live_site(tmp_path, small_kb, small_index, embedder):
    """A web server around its own engine (a copy of the small index) with the FAQ poller running."""
    kb = Path(shutil.copytree(small_kb, tmp_path / "kb"))
    index = Path(shutil.copytree(small_index, tmp_path / "index"))
    service = make_service(Engine(load_index(index), embedder), database_url(tmp_path), flood_limit=100)
    live = LiveFaq(service.engine, service.db, kb, index, interval=0.2)
    loop, stop = asyncio.new_event_loop(), asyncio.Event()
    poller = threading.Thread(target=lambda: loop.run_until_complete(live.run(stop)), daemon=True)
    poller.start()
    try:
        with serve(service, knowledge_dir=kb) as base:
            yield base, service
    finally:
        loop.call_soon_threadsafe(stop.set)
        poller.join(15)
        loop.close()


def test_login_edit_an_entry_and_read_a_report_in_chromium(live_site):
    base, service = live_site
    fill(service.db)  # a synthetic October 2026 (tests/test_reports.py)
    with service.db.session() as s:
        auth.create_account(s, "alice", PASSWORD, "admin", [], "cli:test")
    assert CHROMIUM.exists(), "Chromium is missing: apt-get install -y chromium (scripts/test.sh does it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None)

        page.goto(base + "/admin/faq")  # not logged in: the login page, then back here
        expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
        page.get_by_label("Tên đăng nhập").fill("alice")
        page.get_by_label("Mật khẩu").fill("sai-mat-khau-000")
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_text(texts.LOGIN_FAILED)).to_be_visible()  # one text: wrong name, password or a locked account
        assert len(errors) == 1 and "401" in errors[0] and "/admin/login" in errors[0]  # the refused login, nothing else
        errors.clear()
        page.get_by_label("Tên đăng nhập").fill("alice")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Câu hỏi thường gặp")).to_be_visible()
        assert page.url.endswith("/admin/faq")
        expect(page.get_by_text("Đang đăng nhập: alice (quản trị viên)")).to_be_visible()

        # Search, open the entry, change its answer, save.
        page.get_by_label("Tìm trong câu hỏi").fill("ma qr")
        page.get_by_role("button", name="Tìm").click()
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(QUESTION)
        rows.first.get_by_role("link", name="Sửa").click()
        expect(page.get_by_role("heading", name="Sửa câu hỏi «thanhtoan-ma-qr»")).to_be_visible()
        answer = page.get_by_label("Câu trả lời (tối đa 700 ký tự)")
        expect(answer).to_have_value("1. Mở ứng dụng ngân hàng, chọn quét mã QR.\n2. Đưa camera vào mã QR của người bán.\n"
                                     "3. Kiểm tra tên người nhận và số tiền rồi xác nhận.")
        answer.fill(NEW_ANSWER)
        started = time.monotonic()
        page.get_by_role("button", name="💾 Lưu").click()
        expect(page.get_by_role("status")).to_contain_text("Đã lưu (phiên bản 1)")
        expect(answer).to_have_value(NEW_ANSWER)

        # The running bot answers with the new text within seconds.
        while True:
            got = httpx.post(base + "/api/ask", json={"question": "thanh toan qr the nao"}, timeout=30).json()
            if got["answer"] == NEW_ANSWER:
                break
            assert time.monotonic() - started < 30, got["answer"]
            time.sleep(0.2)
        print(f"\nweb edit answered by /api/ask after {time.monotonic() - started:.2f}s")

        # History shows who changed it.
        page.get_by_role("link", name="Lịch sử thay đổi").first.click()
        expect(page.locator("tbody tr").first).to_contain_text("webadmin:alice")

        # The October report: the same figures as `python -m bot report`, the chart and the workbook.
        page.get_by_role("link", name="Báo cáo").click()
        page.get_by_label("Kỳ báo cáo").fill("2026-10")
        page.get_by_role("button", name="Xem báo cáo").click()
        summary = build_report(service.db, parse_period("2026-10")).summary
        table = page.get_by_role("table", name="Tổng quan")
        first_row = table.locator("tbody tr").first
        expect(first_row.locator("td").nth(1)).to_have_text(str(summary["asked"]))
        chart = page.get_by_role("img", name="Biểu đồ câu hỏi theo thời gian và chủ đề")
        expect(chart).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 300", arg=chart.element_handle())
        with page.expect_download() as download:
            page.get_by_role("link", name="⬇ Tải bảng tính (XLSX)").click()
        with open(download.value.path(), "rb") as f:  # Playwright stores it without the extension openpyxl wants
            book = load_workbook(f)
        assert download.value.suggested_filename == "report-2026-10.xlsx"
        assert next(book[book.sheetnames[0]].iter_rows(min_row=2, max_row=2, values_only=True))[1] == summary["asked"]

        page.get_by_role("button", name="Đăng xuất").click()
        expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
        page.goto(base + "/admin/report")
        expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
        assert errors == []  # no CSP violation, no script error
        browser.close()
