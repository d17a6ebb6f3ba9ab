import datetime as dt
from pathlib import Path

import pytest

from bot.knowledge import plaintext
from bot.knowledge.loaders import content_hash, load_faq, load_guide, load_knowledge
from bot.knowledge.models import KnowledgeError
from tests.conftest import KNOWLEDGE

SOURCES = KNOWLEDGE / "sources"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(KNOWLEDGE)


def test_faq_loader_keeps_alternatives_and_provenance(small_kb):
    chunks = load_faq(small_kb / "faq" / "small.yaml", small_kb)
    first = chunks[0]
    assert first.id == "faq:vneid-kich-hoat-muc-2" and first.kind == "faq"
    assert "kich hoat vneid muc 2 o dau" in first.alternatives
    assert first.source.title.startswith("Nghị định 69/2024/NĐ-CP")
    assert first.source.ref == "faq/small.yaml#vneid-kich-hoat-muc-2"
    assert first.updated == "2026-11-23"


def test_faq_loader_rejects_entry_without_source(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "- id: x\n  topic: vneid\n  question: q\n  alternatives: [a, b]\n  answer: a\n  updated: 2026-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError, match="missing source"):
        load_faq(tmp_path / "bad.yaml", tmp_path)


def test_faq_loader_needs_two_alternatives(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "- id: x\n  topic: vneid\n  question: q\n  alternatives: [a]\n  answer: a\n  source: S\n  updated: 2026-01-01\n"
        "  checked: 2026-01-01\n  review_by: 2026-07-01\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError, match="2 alternative"):
        load_faq(tmp_path / "bad.yaml", tmp_path)


ENTRY = "- id: x\n  topic: vneid\n  question: q\n  alternatives: [a, b]\n  answer: a\n  source: S\n  updated: 2026-01-01\n"


def test_faq_loader_reads_review_dates_and_superseded_note(tmp_path):
    (tmp_path / "ok.yaml").write_text(
        ENTRY + "  checked: 2026-12-01\n  review_by: '2027-03-01'\n  superseded: Thông tư 25/2025 sửa Thông tư 17/2024\n",
        encoding="utf-8",
    )
    (chunk,) = load_faq(tmp_path / "ok.yaml", tmp_path)
    assert (chunk.checked, chunk.review_by) == ("2026-12-01", "2027-03-01")
    assert chunk.superseded == "Thông tư 25/2025 sửa Thông tư 17/2024"


@pytest.mark.parametrize(
    "extra, message",
    [
        ("  review_by: 2027-01-01\n", "missing checked"),
        ("  checked: 2026-12-01\n", "missing review_by"),
        ("  checked: '2026-13-01'\n  review_by: 2027-01-01\n", "'checked' must be a date"),
        ("  checked: 2026-13-01\n  review_by: 2027-01-01\n", "invalid date"),
        ("  checked: 2026-12-01\n  review_by: sau tết\n", "'review_by' must be a date"),
        ("  checked: 2026-12-01\n  review_by: 2026-11-01\n", "must come after 'checked'"),
        ("  checked: 2026-12-01\n  review_by: 2027-01-01\n  superseded: ''\n", "superseded"),
    ],
)
def test_faq_loader_rejects_missing_or_bad_review_dates(tmp_path, extra, message):
    (tmp_path / "bad.yaml").write_text(ENTRY + extra, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=message):
        load_faq(tmp_path / "bad.yaml", tmp_path)


def test_review_overdue_counts_entries_past_their_review_date(small_kb):
    kb = load_knowledge(small_kb)
    faq = kb.of_kind("faq")
    last = max(c.review_by for c in faq)
    assert kb.stats(today=dt.date(2026, 12, 1))["review_overdue"] == 0
    day_after = dt.date.fromisoformat(last) + dt.timedelta(days=1)
    assert kb.stats(today=day_after)["review_overdue"] == len(faq)
    assert kb.stats()["faq_entries"] == len(faq)


def test_guide_loader_makes_a_chunk_per_section(small_kb):
    chunks = load_guide(small_kb / "guides" / "matkhau.md", small_kb)
    assert [c.title for c in chunks] == ["Đặt mật khẩu mạnh", "Bật xác thực hai lớp"]
    assert all(c.source.title == "Cục An toàn thông tin" for c in chunks)


def test_hard_line_breaks_are_joined():
    raw = "Thực hiện Quyết định số 1169/QĐ-TTg ngày 16/6/2025 của Thủ tướng \n\nChính phủ về việc phê duyệt \n\nChương trình.\n\n1. Mục đích \n\n- Tổ chức thực hiện"
    assert plaintext.repair(raw) == [
        "Thực hiện Quyết định số 1169/QĐ-TTg ngày 16/6/2025 của Thủ tướng Chính phủ về việc phê duyệt Chương trình.",
        "1. Mục đích",
        "- Tổ chức thực hiện",
    ]


def test_tab_table_with_html_becomes_sentences():
    raw = "TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\tThời gian hoàn thành\n3\t<ul style=\"x\"> - Xây dựng kênh</ul>\tBáo Cao Bằng\tSở VHTTDL\tNăm 2026"
    (row,) = plaintext.repair(raw)
    assert row.startswith("Nhiệm vụ 3: Xây dựng kênh.")
    assert "Cơ quan chủ trì: Báo Cao Bằng." in row and "Thời gian hoàn thành: Năm 2026." in row
    assert "<" not in row


def test_one_cell_per_line_table_becomes_sentences():
    raw = "TT\nTên nhiệm vụ\nCơ quan chủ trì\nCơ quan phối hợp\nThời gian hoàn thành\n1\nTuyên truyền\nSở A\nSở B\nTháng 6/2025\n2\nTập huấn\nSở C\nSở D\nQuý 2/2026"
    rows = plaintext.repair(raw)
    assert rows[0] == "Nhiệm vụ 1: Tuyên truyền. Cơ quan chủ trì: Sở A. Cơ quan phối hợp: Sở B. Thời gian hoàn thành: Tháng 6/2025."
    assert rows[1].startswith("Nhiệm vụ 2: Tập huấn.")


def test_each_source_file_loads_with_provenance(kb):
    by_file = {}
    for c in kb.of_kind("source"):
        by_file.setdefault(Path(c.source.file).name, []).append(c)
    assert len(by_file) == 5
    dien_bien = by_file["dien-bien-1661-KH-UBND-2025-tuyen-truyen-NQ57.txt"][0].source
    assert dien_bien.doc_number == "1661/KH-UBND" and dien_bien.date == "21/4/2025"
    assert "Điện Biên" in dien_bien.issuer
    cao_bang = by_file["cao-bang-209-KH-UBND-2026-tuyen-truyen-NQ57.txt"]
    assert any("Nhiệm vụ 3: Xây dựng kênh truyền thông chuyên biệt" in c.text for c in cao_bang)
    assert not any("<ul" in c.text or "style=" in c.text for c in cao_bang)
    lai_chau = by_file["lai-chau-2653-KH-UBND-2025-tuyen-truyen-NQ57-NQ71.txt"]
    assert any("Nhiệm vụ 19:" in c.text and "Tổ công nghệ số cộng đồng" in c.text for c in lai_chau)
    qd1169 = by_file["dien-bien-KH-trien-khai-QD1169-TTg.txt"]
    assert any("của Thủ tướng Chính phủ về việc phê duyệt Chương trình" in c.text for c in qd1169)
    for chunks in by_file.values():
        assert all(len(c.text) <= 900 for c in chunks)


def test_ocr_source_gets_diacritics_back(kb):
    chunks = [c for c in kb.of_kind("source") if "dak-bla" in c.id]
    assert chunks[0].source.doc_number == "662/KH-UBND"
    text = " ".join(c.text for c in chunks)
    raw = (SOURCES / "dak-bla-662-KH-UBND-2025-OCR-khong-dau.txt").read_text(encoding="utf-8")
    assert plaintext.is_unaccented(raw)
    assert "chuyển đổi số" in text and "Nghị quyết" in text
    assert not plaintext.is_unaccented(text)


def test_content_hash_changes_with_content(small_kb, tmp_path):
    import shutil

    copy = tmp_path / "kb"
    shutil.copytree(small_kb, copy)
    before = content_hash(copy)
    assert content_hash(copy) == before
    with (copy / "faq" / "small.yaml").open("a", encoding="utf-8") as f:
        f.write("\n")
    assert content_hash(copy) != before
