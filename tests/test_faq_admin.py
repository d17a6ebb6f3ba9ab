"""FAQ management: import/export with all-or-nothing validation, versions and rollback, live refresh."""

from __future__ import annotations

import asyncio
import csv
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from openpyxl import Workbook, load_workbook

from bot.faq.store import COLUMNS, FaqStore, ImportRejected
from bot.faq.live import LiveFaq
from bot.faq.models import FaqChange, FaqVersion
from bot.areas import load_areas
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage
from bot.knowledge.loaders import load_knowledge
from bot.retrieval.engine import Engine
from bot.retrieval.store import load_index, units_of
from tests.conftest import KNOWLEDGE
from tests.test_run import bot_env, bot_process
from tests.web_server import free_port

QR = "thanhtoan-ma-qr"
QR_QUESTION = "Thanh toán bằng mã QR như thế nào?"
NEW_ANSWER = "1. Mở ứng dụng ngân hàng, chọn Quét QR.\n2. Kiểm tra kỹ tên người nhận trước khi xác nhận chuyển tiền."


@pytest.fixture
def store(kb, db) -> FaqStore:
    return FaqStore(kb, db)


def entry(entry_id: str = "dichvucong-bhyt-vssid", **over) -> dict:
    data = {
        "id": entry_id,
        "topic": "dichvucong",
        "question": "Cài ứng dụng VssID để dùng thẻ bảo hiểm y tế điện tử thế nào?",
        "alternatives": ["cai vssid the bhyt dien tu", "thẻ bảo hiểm y tế trên điện thoại dùng app nào"],
        "answer": "Tải ứng dụng VssID của Bảo hiểm xã hội Việt Nam từ CH Play hoặc App Store.\nĐăng nhập bằng tài khoản VNeID.",
        "source": {"title": "Bảo hiểm xã hội Việt Nam, hướng dẫn ứng dụng VssID", "url": "https://baohiemxahoi.gov.vn"},
        "updated": "2026-11-23",
    }
    return {**data, **over}


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "alternatives": "\n".join(r.get("alternatives", [])),
                             "source": r.get("source", {}).get("title", "") if isinstance(r.get("source"), dict) else r.get("source", ""),
                             "source_url": r.get("source", {}).get("url", "") if isinstance(r.get("source"), dict) else ""})
    return path


def snapshot(kb: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((kb / "faq").iterdir())}


# -- import / export -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".csv", ".xlsx"])
def test_export_then_import_round_trips_without_a_change(store, tmp_path, suffix):
    path = tmp_path / f"faq{suffix}"
    assert store.export(path) == 4
    assert store.validate(path) == {e["id"]: e for e in store.entries()}
    assert store.import_file(path, "cli:test").version is None  # nothing changed: no version
    if suffix == ".xlsx":
        sheet = load_workbook(path)["faq"]
        assert [c.value for c in sheet[1]] == list(COLUMNS)
        assert sheet.cell(2, 1).value == "vneid-kich-hoat-muc-2"


@pytest.mark.parametrize("suffix", [".yaml", ".csv", ".xlsx"])
def test_import_adds_and_edits_and_records_who_when_what(store, kb, db, tmp_path, suffix):
    edited = {**[e for e in store.entries() if e["id"] == QR][0], "answer": NEW_ANSWER}
    added = entry()
    path = tmp_path / f"in{suffix}"
    if suffix == ".yaml":
        path.write_text(yaml.safe_dump([edited, added], allow_unicode=True), encoding="utf-8")
    elif suffix == ".csv":
        write_csv(path, [edited, added])
    else:
        write_csv(tmp_path / "tmp.csv", [edited, added])
        book = Workbook()
        with (tmp_path / "tmp.csv").open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                book.active.append(row)
        book.save(path)
    applied = store.import_file(path, "cli:alice")
    assert applied.actions == {QR: "edit", added["id"]: "add"}
    faq = {c.id: c for c in load_knowledge(kb).of_kind("faq")}  # the real loader accepts the files
    assert faq[f"faq:{QR}"].text == NEW_ANSWER
    assert faq[f"faq:{added['id']}"].source.url == "https://baohiemxahoi.gov.vn"
    assert (kb / "faq" / "dichvucong.yaml").exists()  # a new entry goes to <topic>.yaml
    with db.session() as s:
        version = s.get(FaqVersion, applied.version)
        assert version.actor == "cli:alice" and version.summary == f"import {path.name}" and version.created_at
        changes = {c.entry_id: c for c in s.query(FaqChange).filter_by(version_id=version.id)}
    assert changes[QR].before["answer"].startswith("1. Mở ứng dụng ngân hàng, chọn quét mã QR.")
    assert changes[QR].after["answer"] == NEW_ANSWER
    assert changes[added["id"]].before is None and changes[added["id"]].action == "add"


def test_a_file_with_bad_rows_reports_each_and_changes_nothing(store, kb, db, tmp_path):
    good = entry()
    rows = [
        good,  # row 2: fine, but must not be applied either
        entry("Bad ID!"),  # row 3
        entry("a-topic", topic="khonghieu"),  # row 4
        entry("one-alt", alternatives=["chỉ một cách hỏi"]),  # row 5
        entry("long-answer", answer="a" * 701),  # row 6
        entry("no-source", source={"title": ""}),  # row 7
        entry("bad-date", updated="23/11/2026"),  # row 8
        entry(good["id"]),  # row 9: the same id again
        entry("no-question", question="<b></b>"),  # row 10: markup only
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    before = snapshot(kb)
    with pytest.raises(ImportRejected) as caught:
        store.import_file(path, "cli:test")
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {(3, "id"), (4, "topic"), (5, "alternatives"), (6, "answer"), (7, "source"), (8, "updated"), (9, "id"),
                     (10, "question")}
    assert "701 characters (max 700" in str([e for e in caught.value.errors if e.field == "answer"][0])
    assert snapshot(kb) == before
    with db.session() as s:
        assert s.query(FaqVersion).count() == 0


@pytest.mark.parametrize("name,content", [
    ("empty.csv", b""),
    ("latin1.csv", "id,topic\nxin-chào,vneid\n".encode("cp1258")),
    ("broken.xlsx", b"PK\x03\x04 not really a workbook"),
    ("list.yaml", b"id: not-a-list\n"),
    ("notes.txt", b"id,topic\n"),
    ("header.csv", "id,câu hỏi\nabc,x\n".encode()),
    ("emoji.csv", "id,topic,question,alternatives,answer,source,updated\n🙂,🙂,🙂,🙂,🙂,🙂,🙂\n".encode()),
])
def test_bad_files_are_refused_with_a_message(store, kb, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(kb)
    if name == "empty.csv":
        assert store.import_file(path, "cli:test").version is None
    else:
        with pytest.raises(ImportRejected) as caught:
            store.import_file(path, "cli:test")
        assert caught.value.errors and all(str(e) for e in caught.value.errors)
    assert snapshot(kb) == before


def test_edits_keep_the_file_readable_and_untouched_entries_byte_for_byte(store, kb):
    original = (kb / "faq" / "small.yaml").read_text(encoding="utf-8")
    qr = [e for e in store.entries() if e["id"] == QR][0]
    store.apply({QR: {**qr, "answer": NEW_ANSWER}}, "cli:test", "edit")
    text = (kb / "faq" / "small.yaml").read_text(encoding="utf-8")
    assert "  answer: |\n    1. Mở ứng dụng ngân hàng, chọn Quét QR.\n" in text
    untouched = original.split("- id: phongtrao-binh-dan-hoc-vu-so")[1]
    assert text.endswith(untouched)
    assert text.startswith(original.split(f"- id: {QR}")[0])


# -- versions and rollback -------------------------------------------------------------------


def test_retire_then_rollback_restores_the_state_before_a_version(store, kb):
    original = {e["id"]: e for e in store.entries()}
    qr = original[QR]
    v1 = store.apply({QR: {**qr, "answer": NEW_ANSWER}, "dichvucong-bhyt-vssid": entry()}, "cli:a", "edit").version
    v2 = store.retire(["luadao-gia-danh-cong-an"], "cli:b").version
    assert "faq:luadao-gia-danh-cong-an" not in {c.id for c in load_knowledge(kb).chunks}  # retired: not answered
    with pytest.raises(ImportRejected):
        store.retire(["khong-co"], "cli:b")
    rolled = store.rollback(v1, "cli:c")
    assert rolled.actions == {QR: "edit", "dichvucong-bhyt-vssid": "retire", "luadao-gia-danh-cong-an": "add"}
    assert {e["id"]: e for e in store.entries()} == original
    history = store.history()
    assert [v.id for v, _ in history] == [rolled.version, v2, v1]
    assert history[0][0].summary == f"rollback to before version {v1}" and history[0][0].actor == "cli:c"
    assert [v.id for v, _ in store.history(entry_id="luadao-gia-danh-cong-an")] == [rolled.version, v2]
    with pytest.raises(LookupError):
        store.rollback(99, "cli:c")


# -- live refresh ----------------------------------------------------------------------------


def test_two_engines_answer_a_change_within_seconds_embedding_only_its_units(store, kb, db, index, embedder):
    engines = [Engine(load_index(index), embedder) for _ in range(2)]
    lives = [LiveFaq(e, db, kb, index, interval=0.2) for e in engines]
    assert all(live.poll() is None for live in lives)  # in step with the files at start
    running: dict = {}
    ready = threading.Event()

    async def serve() -> None:  # both pollers in one event loop of their own, as in `python -m bot run`
        running["loop"], running["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await asyncio.gather(*(live.run(running["stop"]) for live in lives))

    runner = threading.Thread(target=asyncio.run, args=(serve(),))
    runner.start()
    assert ready.wait(30)
    try:
        qr = [e for e in store.entries() if e["id"] == QR][0]
        new_alternative = "chuyển khoản bằng QR cần kiểm tra gì"
        started = time.monotonic()
        store.apply({QR: {**qr, "answer": NEW_ANSWER, "alternatives": qr["alternatives"] + [new_alternative]}}, "cli:a", "edit")
        while not all(e.ask(QR_QUESTION).answer == NEW_ANSWER for e in engines):
            assert time.monotonic() - started < 30, [e.ask(QR_QUESTION).answer for e in engines]
            time.sleep(0.05)
        print(f"\nchange answered by both engines in {time.monotonic() - started:.2f}s")
    finally:
        running["loop"].call_soon_threadsafe(running["stop"].set)
        runner.join(timeout=30)
    reports = [live.last for live in lives]
    assert all(r.changed == [f"faq:{QR}"] for r in reports)
    # two new texts (the passage with the new answer and the new phrasing); every other unit was reused
    assert max(r.embedded for r in reports) == 2 and all(r.embedded <= 2 for r in reports)
    assert all(r.units == len(units_of(e.chunks)) == len(load_index(index).units) + 1 for r, e in zip(reports, engines))
    assert engines[0].ask(new_alternative).chunk_id == f"faq:{QR}"


def test_added_and_retired_entries_are_served_after_a_poll(store, kb, db, index, embedder):
    engine = Engine(load_index(index), embedder)
    live = LiveFaq(engine, db, kb, index)
    question = entry()["question"]
    assert engine.ask(question).chunk_id != "faq:dichvucong-bhyt-vssid"
    store.apply({"dichvucong-bhyt-vssid": entry()}, "cli:a", "add")
    report = live.poll()
    assert report.changed == ["faq:dichvucong-bhyt-vssid"] and report.embedded == 4  # question, 2 phrasings, passage
    answer = engine.ask(question)
    assert answer.answered and answer.chunk_id == "faq:dichvucong-bhyt-vssid"
    assert live.poll() is None  # counter unchanged: no work
    store.retire(["dichvucong-bhyt-vssid"], "cli:a")
    assert live.poll().changed == ["faq:dichvucong-bhyt-vssid"]
    assert engine.ask(question).chunk_id != "faq:dichvucong-bhyt-vssid"
    store.rollback(2, "cli:a")  # brings the entry back; its vectors are in the cache now
    assert live.poll().embedded == 0
    assert engine.ask(question).chunk_id == "faq:dichvucong-bhyt-vssid"


def test_topic_menus_and_answer_cards_follow_a_live_edit(store, kb, db, index, embedder):
    engine = Engine(load_index(index), embedder)
    live = LiveFaq(engine, db, kb, index)
    service = ConversationService(engine, db, [], load_areas(KNOWLEDGE / "areas.yaml"), knowledge_dir=kb)

    def buttons(kind: str, text: str = "", data: str = "") -> list[str]:
        message = IncomingMessage(channel="test", user_id="u1", chat_id="u1", kind=kind, text=text, data=data,
                                  command="chude" if kind == "command" else "", message_id=str(time.monotonic_ns()))
        return [b.data for out in service.handle(message) for row in out.buttons for b in row]

    assert "tp:dichvucong" not in buttons("command")  # the small knowledge base has no such topic yet
    store.apply({"dichvucong-bhyt-vssid": entry()}, "cli:a", "add")
    live.poll()
    assert "tp:dichvucong" in buttons("command")
    assert buttons("button", data="tp:dichvucong") == ["fq:dichvucong-bhyt-vssid"]
    assert service.chunk("faq:dichvucong-bhyt-vssid").title == entry()["question"]  # what answer cards look up
    store.retire(["dichvucong-bhyt-vssid"], "cli:a")
    live.poll()
    assert "tp:dichvucong" not in buttons("command") and service.chunk("faq:dichvucong-bhyt-vssid") is None


def test_cli_import_reaches_a_running_bot_within_seconds(tmp_path, kb, index):
    env = bot_env(tmp_path, WEB_PORT=str(free_port()), KNOWLEDGE_DIR=str(kb), INDEX_DIR=str(index))
    with bot_process(tmp_path, env) as base:
        ask = lambda: httpx.post(f"{base}/api/ask", json={"question": QR_QUESTION}, timeout=30).json()  # noqa: E731
        assert ask()["answer"] != NEW_ANSWER
        faq = yaml.safe_load((kb / "faq" / "small.yaml").read_text(encoding="utf-8"))
        edited = [{**e, "answer": NEW_ANSWER} for e in faq if e["id"] == QR]
        (tmp_path / "edit.yaml").write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
        bad = write_csv(tmp_path / "bad.csv", [entry("Bad ID")])
        refused = subprocess.run([sys.executable, "-m", "bot", "faq", "import", str(bad)], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and "row 2, id:" in refused.stderr and "nothing was changed" in refused.stderr
        done = subprocess.run([sys.executable, "-m", "bot", "faq", "import", str(tmp_path / "edit.yaml")], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.startswith("version 1: 0 add, 1 edit, 0 retire"), done.stderr
        started = time.monotonic()
        while ask()["answer"] != NEW_ANSWER:
            assert time.monotonic() - started < 30
            time.sleep(0.2)
        print(f"\nCLI import answered by the running bot in {time.monotonic() - started:.2f}s")
        history = subprocess.run([sys.executable, "-m", "bot", "faq", "history"], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=120)
        assert re.search(r"^\s+1 .* cli(:\S+)?\s+import edit\.yaml: edit thanhtoan-ma-qr$", history.stdout, re.M), history.stdout
