"""FaqStore.apply as a unit of work: in the caller's transaction, files moved into place only at its commit,
nothing left behind by a rollback, and concurrent writers queued on the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot.faq.models import FaqVersion
from bot.faq.store import FaqStore
from tests.pg import database_fixture

db = database_fixture("faq_uow_test")


def entry(entry_id: str, question: str) -> dict:
    return {"id": entry_id, "topic": "dichvucong", "question": question,
            "alternatives": [f"{question} (cách hỏi khác)", f"hỏi về {entry_id}"], "answer": "1. Mở ứng dụng VssID.\n2. Chọn thủ tục và nộp hồ sơ.",
            "source": {"title": "Bảo hiểm xã hội Việt Nam, hướng dẫn", "url": "https://baohiemxahoi.gov.vn"},
            "updated": "2026-11-23"}


def ids_on_disk(kb: Path) -> set[str]:
    return {e["id"] for p in (kb / "faq").glob("*.y*ml") for e in yaml.safe_load(p.read_text(encoding="utf-8")) or []}


def versions(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count(FaqVersion.id)))


def test_files_change_only_when_the_callers_transaction_commits(kb, db):
    store = FaqStore(kb, db)
    before = {p.name: p.read_bytes() for p in (kb / "faq").glob("*.y*ml")}
    with db.session() as s:
        applied = store.apply({"uow-one": entry("uow-one", "Nộp hồ sơ trực tuyến ở đâu cho nhanh?")}, "cli:test", "t", session=s)
        assert applied.version is not None
        assert "uow-one" not in ids_on_disk(kb)  # staged, not in place: a rollback must leave the files as they were
    assert "uow-one" in ids_on_disk(kb) and versions(db) == 1
    assert not list((kb / "faq").glob(".*.tmp"))
    assert {p.name for p in (kb / "faq").glob("*.y*ml")} >= set(before)


def test_a_rolled_back_transaction_leaves_no_version_no_file_and_no_staged_copy(kb, db):
    store = FaqStore(kb, db)
    before = {p.name: p.read_bytes() for p in (kb / "faq").glob("*.y*ml")}
    with pytest.raises(RuntimeError):
        with db.session() as s:
            store.apply({"uow-two": entry("uow-two", "Hồ sơ nộp trực tuyến bị trả lại thì làm gì?")}, "cli:test", "t", session=s)
            raise RuntimeError("the caller's next step failed")
    assert {p.name: p.read_bytes() for p in (kb / "faq").glob("*.y*ml")} == before
    assert versions(db) == 0


def test_concurrent_writers_queue_and_lose_no_entry(kb, db):
    """Eight writers at once, each adding its own entry: every entry is in the files, one version each."""
    store = FaqStore(kb, db)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(i: int) -> None:
        try:
            start.wait()
            FaqStore(kb, db).apply({f"uow-race-{i}": entry(f"uow-race-{i}", f"Câu hỏi thử số {i} về dịch vụ công?")},
                                   f"cli:w{i}", f"race {i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert {f"uow-race-{i}" for i in range(8)} <= ids_on_disk(kb)
    assert versions(db) == 8
    assert {e["id"] for e in store.entries()} >= {f"uow-race-{i}" for i in range(8)}


def test_a_savepoint_rolled_back_after_the_change_leaves_it_to_the_outer_commit(kb, db):
    """A later step of the same message failing inside a savepoint (a quiz answer given twice) must not drop the
    staged files: the outer transaction commits the version, so its files go in."""
    store = FaqStore(kb, db)
    with db.session() as s:
        store.apply({"uow-three": entry("uow-three", "Hồ sơ trực tuyến nộp xong bao lâu có kết quả?")}, "cli:test", "t",
                    session=s)
        try:
            with s.begin_nested():
                raise RuntimeError("an inner step failed")
        except RuntimeError:
            pass
    assert "uow-three" in ids_on_disk(kb) and versions(db) == 1
    assert not list((kb / "faq").glob(".*.tmp"))
