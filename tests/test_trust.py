"""The engine answers only what an entry really answers (issue 12): answer / clarify / decline, the
interface fields, follow-ups, accented and unaccented parity, yes/no verdicts, numbers and documents.

Runs on a real index built from a small knowledge base (the entries below plus tests/conftest.py's
plan passage), with the real embedder.
"""

from __future__ import annotations

import json
import shutil

import pytest

from bot.retrieval import evidence
from bot.retrieval.engine import ANSWER_CHARS, AskContext, Engine, _follow_up, decide
from bot.retrieval.store import build_index, load_index
from bot.textnorm import expand_abbreviations, fold
from tests.conftest import KNOWLEDGE, SMALL_FAQ

LONG_STEPS = "\n".join(f"{i}. Bước {i}: mở ứng dụng, chọn mục cần làm và đọc kỹ hướng dẫn trên màn hình trước khi bấm." for i in range(1, 12))

TRUST_FAQ = SMALL_FAQ + f"""
- id: vneid-quen-mat-khau
  topic: vneid
  question: Quên mật khẩu VNeID thì lấy lại thế nào?
  alternatives:
    - quen mat khau vneid
    - không nhớ mật khẩu đăng nhập VNeID
  answer: |
    Trên màn hình đăng nhập VNeID, bấm «Quên mật khẩu», nhập số định danh và số điện thoại,
    rồi nhập mã OTP gửi về máy để đặt mật khẩu mới.
  source:
    title: Bộ Công an, hướng dẫn sử dụng VNeID
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: vneid-muc-2-mang-theo-gi
  topic: vneid
  question: Đi đăng ký VNeID mức 2 cần mang theo gì?
  alternatives:
    - dang ky muc 2 mang gi
    - làm VNeID mức 2 cần giấy tờ gì
  answer: |
    Bác mang thẻ căn cước và điện thoại có số thuê bao chính chủ.
  source:
    title: Nghị định 69/2024/NĐ-CP của Chính phủ, 25/6/2024
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: thanhtoan-tren-10-trieu
  topic: thanhtoan
  question: Chuyển tiền trên 10 triệu đồng có phải xác thực khuôn mặt không?
  alternatives:
    - chuyen tien tren 10 trieu co phai quet mat khong
    - chuyển khoản hơn 10 triệu app bắt chụp mặt
  answer: |
    Có. Từ 1/7/2024, mỗi lần chuyển trên 10 triệu đồng, ứng dụng ngân hàng yêu cầu xác thực khuôn mặt.
  source:
    title: Quyết định 2345/QĐ-NHNN của Ngân hàng Nhà nước, 18/12/2023
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: thanhtoan-qr-ca-nhan-ban-hang
  topic: thanhtoan
  question: Người bán hàng nhỏ có được dùng mã QR tài khoản cá nhân để nhận tiền không?
  alternatives:
    - ban hang nho nhan tien bang ma qr ca nhan duoc khong
    - bán hàng nhận tiền qua QR tài khoản riêng có được không
  answer: |
    Được. Người bán nhỏ lẻ có thể in mã QR của tài khoản cá nhân để khách quét trả tiền.
  source:
    title: Ngân hàng Nhà nước Việt Nam
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: nq57-ban-hanh
  topic: nq57
  question: Nghị quyết 57-NQ/TW do cơ quan nào ban hành?
  alternatives:
    - nghi quyet 57 do ai ban hanh
    - ai ban hành Nghị quyết 57-NQ/TW
  answer: |
    Bộ Chính trị ban hành Nghị quyết 57-NQ/TW ngày 22/12/2024 về đột phá phát triển khoa học,
    công nghệ, đổi mới sáng tạo và chuyển đổi số quốc gia.
  source:
    title: Nghị quyết 57-NQ/TW của Bộ Chính trị, 22/12/2024
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
- id: dichvucong-cac-buoc-dai
  topic: dichvucong
  question: Các bước nộp một hồ sơ dịch vụ công trực tuyến?
  alternatives:
    - nop ho so dich vu cong truc tuyen the nao
    - cách nộp hồ sơ trên Cổng dịch vụ công
  answer: |
{chr(10).join("    " + line for line in LONG_STEPS.splitlines())}
  source:
    title: Cổng Dịch vụ công quốc gia
  updated: 2026-11-23
  checked: 2026-11-23
  review_by: 2027-05-23
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder) -> Engine:
    kb = tmp_path_factory.mktemp("trust-kb")
    (kb / "faq").mkdir()
    (kb / "sources").mkdir()
    (kb / "faq" / "trust.yaml").write_text(TRUST_FAQ, encoding="utf-8")
    for name in ("README.md", "lai-chau-2653-KH-UBND-2025-tuyen-truyen-NQ57-NQ71.txt"):
        shutil.copy(KNOWLEDGE / "sources" / name, kb / "sources" / name)
    out = tmp_path_factory.mktemp("trust-index")
    build_index(kb, out, embedder)
    return Engine(load_index(out), embedder)


INTERFACE_KEYS = {"mode", "matched_question", "candidates", "truncated", "full_answer", "answered", "answer", "chunk_id"}


def test_a_clear_question_is_answered_with_its_entry_and_the_interface_fields(engine):
    answer = engine.ask("Quên mật khẩu VNeID thì lấy lại thế nào?")
    assert answer.mode == "answer" and answer.answered
    assert answer.chunk_id == "faq:vneid-quen-mat-khau"
    assert answer.matched_question == "Quên mật khẩu VNeID thì lấy lại thế nào?"
    assert answer.full_answer.startswith("Trên màn hình đăng nhập VNeID") and answer.answer == answer.full_answer
    assert answer.truncated is False
    assert 1 <= len(answer.candidates) <= 3
    assert all(set(c) == {"chunk_id", "question"} and c["chunk_id"] != answer.chunk_id for c in answer.candidates)
    assert not any(c["chunk_id"].startswith("source:") for c in answer.candidates)  # plan passages have no question
    data = json.loads(json.dumps(answer.to_json(), ensure_ascii=False))
    assert INTERFACE_KEYS <= set(data) and "features" not in data and "ranking" not in data
    assert data["mode"] == "answer" and data["answered"] is True


def test_a_long_entry_is_cut_for_the_phone_with_the_whole_text_kept(engine):
    answer = engine.answer_chunk("faq:dichvucong-cac-buoc-dai")
    assert answer.mode == "answer" and answer.confidence == 1.0 and answer.truncated
    assert len(answer.answer) <= ANSWER_CHARS and answer.full_answer.startswith(answer.answer)
    assert answer.full_answer.rstrip().endswith("trước khi bấm.") and "Xem" not in answer.answer
    assert answer.matched_question == "Các bước nộp một hồ sơ dịch vụ công trực tuyến?"
    assert engine.answer_chunk("faq:khong-co") is None


def test_out_of_scope_is_declined_without_candidates(engine):
    for question in ("Thời tiết Hà Nội ngày mai thế nào?", "cách nấu phở bò cho ngon"):
        answer = engine.ask(question)
        assert answer.mode == "decline" and not answer.answered
        assert answer.candidates == [] and answer.matched_question == "" and answer.sources == []
        assert answer.confidence < 0.5


def test_unsure_between_neighbours_asks_back_with_them(engine):
    # Two entries are about VNeID level 2 (where to register, what to bring): a bare "level 2" is ambiguous.
    answer = engine.ask("mức 2")
    assert answer.mode == "clarify" and not answer.answered and answer.chunk_id == ""
    offered = {c["chunk_id"] for c in answer.candidates}
    assert 2 <= len(answer.candidates) <= 3
    assert {"faq:vneid-kich-hoat-muc-2", "faq:vneid-muc-2-mang-theo-gi"} <= offered
    assert answer.answer.startswith("Có phải bác muốn hỏi:")
    # picking one answers it
    picked = engine.answer_chunk("faq:vneid-muc-2-mang-theo-gi", "mức 2")
    assert picked.mode == "answer" and picked.answer.startswith("Bác mang thẻ căn cước")


def test_accented_and_unaccented_forms_reach_the_same_decision(engine):
    pairs = [
        ("Thanh toán bằng mã QR như thế nào?", "thanh toan bang ma qr nhu the nao?"),
        ("Quên mật khẩu VNeID thì làm sao?", "quen mat khau vneid thi lam sao?"),
        ("Nghị quyết 57 do ai ban hành?", "nghi quyet 57 do ai ban hanh?"),
    ]
    for accented, unaccented in pairs:
        assert engine._read(accented).dense_text == engine._read(unaccented).dense_text  # letter case too
        a, b = engine.ask(accented), engine.ask(unaccented)
        assert (a.mode, a.chunk_id) == (b.mode, b.chunk_id), accented
        if a.mode == "clarify":  # the same entries offered (the runners-up behind an answer may differ:
            assert a.candidates == b.candidates, accented  # coverage is judged folded when typed without accents)


def test_a_follow_up_is_read_with_the_previous_question(engine):
    first = engine.ask("làm sao kích hoạt VNeID mức 2")
    context = AskContext(first.question, first.chunk_id or first.candidates[0]["chunk_id"])
    follow = engine.ask("thế nếu quên mật khẩu thì sao", context)
    assert follow.mode in ("answer", "clarify")
    assert follow.chunk_id == "faq:vneid-quen-mat-khau" or "faq:vneid-quen-mat-khau" in {c["chunk_id"] for c in follow.candidates}
    # a pointer and nothing else: ask back with the previous entry's neighbours; without context, decline
    pointer = engine.ask("còn cái kia thì sao", context)
    assert pointer.mode == "clarify" and pointer.candidates[0]["chunk_id"] == context.previous_chunk_id
    assert engine.ask("còn cái kia thì sao").mode != "answer"


def test_what_a_follow_up_adds():
    assert _follow_up("còn cái kia thì sao") == ""
    assert _follow_up("thế nếu quên mật khẩu") == "quên mật khẩu"
    assert _follow_up("Cái đó có mất phí không?") == "mất phí"
    assert _follow_up("Tôi muốn đăng ký tài khoản định danh điện tử mức 2 thì phải đến đâu, mang gì?") is None
    assert _follow_up("Quên mật khẩu VNeID") is None  # stands on its own


def test_yes_no_entries_answer_only_a_yes_no_question_on_their_subject(engine):
    assert evidence.verdict("Được. Người bán nhỏ lẻ có thể") and evidence.verdict("Không nên, vì")
    assert not evidence.verdict("1. Mở ứng dụng ngân hàng")
    assert evidence.is_polar(fold("Có được dùng mã QR cá nhân không?"))
    assert evidence.is_polar(fold(expand_abbreviations("dung qr ca nhan dc ko")))
    assert not evidence.is_polar(fold("Cách tạo mã QR để nhận tiền"))

    def risk(question: str) -> float:
        ranking = engine.ask(question).ranking
        return next(r["features"]["verdict_risk"] for r in ranking if r["chunk_id"] == "faq:thanhtoan-qr-ca-nhan-ban-hang")

    same = risk("Người bán hàng nhỏ có được dùng mã QR tài khoản cá nhân để nhận tiền không?")
    not_polar = risk("Cách in mã QR cho người bán hàng nhỏ")
    other_subject = risk("Có được dùng mã QR của người khác để trả tiền điện không?")
    assert same < 0.2 and not_polar == 1.0 and other_subject > same


def test_a_number_or_a_document_the_entry_does_not_hold_is_not_answered_with_it(engine):
    right = engine.ask("Chuyển tiền trên 10 triệu đồng có phải xác thực khuôn mặt không?")
    assert right.mode == "answer" and right.chunk_id == "faq:thanhtoan-tren-10-trieu"
    other_amount = engine.ask("Chuyển tiền trên 20 triệu đồng có phải xác thực khuôn mặt không?")
    assert other_amount.mode != "answer" and other_amount.features["number_miss"] == 1.0
    other_document = engine.ask("Nghị quyết 71-NQ/TW do cơ quan nào ban hành?")
    assert other_document.mode != "answer" or other_document.chunk_id != "faq:nq57-ban-hanh"
    assert next(r for r in other_document.ranking if r["chunk_id"] == "faq:nq57-ban-hanh")["features"]["document_miss"] == 1.0
    same_document = engine.ask("Nghị quyết 57-NQ/TW do cơ quan nào ban hành?")
    assert same_document.features["document_miss"] == 0.0 and same_document.chunk_id == "faq:nq57-ban-hanh"


def test_an_aspect_the_entry_does_not_answer_counts_against_it(engine):
    how_long = engine.ask("Đăng ký VNeID mức 2 mất bao lâu?").ranking
    f = next(r["features"] for r in how_long if r["chunk_id"] == "faq:vneid-muc-2-mang-theo-gi")
    assert f["aspect_miss"] == 1.0  # no duration in "what to bring"
    assert evidence.question_aspects(fold("Lệ phí đăng ký thường trú bao nhiêu tiền?")) >= {"fee"}
    assert evidence.documents(fold("theo Nghị định 69/2024/NĐ-CP và 57-NQ/TW")) == {"69", "57"}


def test_the_decision_rules():
    sure = {"scope": 0.9}
    assert decide(["faq:a", "faq:b", "faq:c"], [0.97, 0.3, 0.2], sure) == ("answer", [0, 1, 2])
    assert decide(["faq:a", "faq:b", "faq:c"], [0.97, 0.9, 0.2], sure)[0] == "clarify"  # no clear margin
    assert decide(["faq:a", "faq:b"], [0.97, 0.1], {**sure, "number_miss": 1.0})[0] == "clarify"
    assert decide(["faq:a", "faq:b"], [0.97, 0.1], {"scope": 0.1})[0] == "decline"
    assert decide(["faq:a", "faq:b"], [0.1, 0.05], sure)[0] == "decline"
    assert decide(["source:x", "faq:a", "faq:b"], [0.5, 0.4, 0.35], sure) == ("clarify", [1, 2])
    assert decide([], [], sure) == ("decline", [])


def test_whom_a_question_is_about_must_be_whom_the_entry_speaks_of():
    assert evidence.audiences(fold("Khai báo tạm trú cho người nước ngoài?")) == {"foreigner"}
    assert evidence.audiences(fold("Thời gian cấp VNeID cho tổ chức?")) == {"organisation"}
    assert evidence.audiences(fold("Làm căn cước cho trẻ em dưới 14 tuổi thế nào?")) == {"child"}
    # the verb "tổ chức", the other party of a question and a plain "cơ quan" are not whom it is about
    assert evidence.audiences(fold("Ngày hội AI tổ chức ở đâu?")) == set()
    assert evidence.audiences(fold("Tôi có quyền yêu cầu doanh nghiệp xóa dữ liệu của mình không?")) == set()
    assert evidence.audiences(fold("Phải đến cơ quan nào để nộp hồ sơ?")) == set()
    facts = evidence.entry_facts("Ở nơi khác bao lâu thì phải đăng ký tạm trú?", (), "Công dân đến ở nơi khác từ 30 ngày…")
    assert "foreigner" not in facts.audiences


def test_an_entry_for_another_case_is_neither_answered_nor_offered():
    sure = {"scope": 0.9}
    # the best entry is for everybody, the question about a foreigner, no other entry fits: decline
    assert decide(["faq:a", "faq:b", "faq:c"], [0.97, 0.5, 0.4], sure, misses=[True, True, True]) == ("decline", [])
    # entries for another case are no rivals: the one that fits is answered
    assert decide(["faq:a", "faq:b"], [0.95, 0.9], sure, misses=[False, True]) == ("answer", [0])
    # unsure, and only the best fits the case: it is offered with the next one
    assert decide(["faq:a", "faq:b", "faq:c"], [0.8, 0.3, 0.2], sure, misses=[False, True, True]) == ("clarify", [0, 1])
    # the best misses the case but two others fit: those two are offered
    assert decide(["faq:a", "faq:b", "faq:c"], [0.9, 0.6, 0.5], sure, misses=[True, False, False]) == ("clarify", [1, 2])


def test_a_folded_copy_takes_its_originals_relabelling(tmp_path):
    from bot.evaluation import read_labelled, relabel

    rows = [
        {"id": "q1", "question": "Làm căn cước ở đâu?", "expected": [], "in_scope": True},
        {"id": "q1f", "question": "Lam can cuoc o dau?", "expected": [], "in_scope": True, "style": "unaccented", "variant_of": "q1"},
        {"id": "q2f", "question": "Khac", "expected": ["x"], "in_scope": True, "style": "unaccented", "variant_of": "q2"},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    items = read_labelled(path)
    assert relabel(items, {"q1": ({"faq:cancuoc-o-dau"}, set()), "q2f": ({"faq:y"}, set())}) == 3
    assert [sorted(i.expected) for i in items] == [["faq:cancuoc-o-dau"], ["faq:cancuoc-o-dau"], ["faq:y"]]


def test_overlays_apply_in_numeric_name_order_so_a_later_round_wins(tmp_path):
    from bot.evaluation import OVERLAY_DIR, default_overlays, read_overlays

    directory = tmp_path / OVERLAY_DIR
    directory.mkdir(parents=True)
    (directory / "content9-x.jsonl").write_text(json.dumps({"id": "q1", "expected": ["old"]}), encoding="utf-8")
    (directory / "content10-x.jsonl").write_text(json.dumps({"id": "q1", "expected": ["new"]}), encoding="utf-8")
    paths = default_overlays(tmp_path)
    assert [p.name for p in paths] == ["content9-x.jsonl", "content10-x.jsonl"]
    assert read_overlays(paths)["q1"][0] == {"faq:new"}


def test_a_folded_copy_follows_its_originals_overlay_over_its_own_line(tmp_path):
    from bot.evaluation import read_labelled, relabel

    rows = [
        {"id": "q1", "question": "Làm căn cước ở đâu?", "expected": [], "in_scope": True},
        {"id": "q1f", "question": "Lam can cuoc o dau?", "expected": [], "in_scope": True, "style": "unaccented", "variant_of": "q1"},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    items = read_labelled(path)
    relabel(items, {"q1": ({"faq:new"}, set()), "q1f": ({"faq:old"}, set())})
    assert [sorted(i.expected) for i in items] == [["faq:new"], ["faq:new"]]
