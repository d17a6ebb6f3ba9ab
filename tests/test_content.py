"""Content rules for the bundled knowledge base (see knowledge/README.md)."""

import datetime as dt
import itertools
import json
import re

import pytest

from bot.knowledge.allowlist import LONG_PHONE, SERVICE_NUMBER, URL, AllowList
from bot.knowledge.loaders import load_knowledge
from bot.textnorm import fold_tokens, lexical_terms
from tests.conftest import KNOWLEDGE, ROOT

TOPICS = {"vneid", "dichvucong", "thanhtoan", "luadao", "taikhoan", "hokinhdoanh", "phongtrao", "nq57", "kehoach"}


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(KNOWLEDGE)


def _texts(kb):
    """Every piece of written content with where it is, sources plans excepted (ingested as is)."""
    for c in kb.chunks:
        if c.kind != "source":
            yield c.id, " ".join([c.title, c.text, c.source.title, c.source.url, *c.alternatives])
    for q in kb.quiz:
        yield q.id, " ".join([q.question, *q.options, q.explanation, q.source])
    for c in kb.campaigns:
        yield c.id, " ".join([c.title, c.text, c.source])


def test_counts_meet_the_targets(kb):
    stats = kb.stats()
    assert stats["faq_entries"] >= 250
    assert stats["quiz_questions"] >= 120
    assert stats["sources"] == 5


def test_every_entry_has_topic_source_and_date(kb):
    for c in kb.chunks:
        assert c.topic in TOPICS, c.id
        assert c.source.title, c.id
        if c.kind != "source":
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", c.updated), c.id
    for q in kb.quiz + kb.campaigns:
        assert q.source and q.updated, q.id


def test_faq_answers_fit_a_phone_screen_and_have_varied_phrasings(kb):
    for c in kb.of_kind("faq"):
        assert 40 <= len(c.text) <= 700, (c.id, len(c.text))
        assert len(set(c.alternatives)) >= 2, c.id
        assert c.title not in c.alternatives, c.id


def test_quiz_questions_are_valid(kb):
    topics = set()
    for q in kb.quiz:
        assert len(q.options) == 4 and len(set(q.options)) == 4, q.id
        assert 0 <= q.answer < 4 and len(q.explanation) <= 200, q.id
        topics.add(q.topic)
    assert topics <= TOPICS and len(topics) >= 8
    positions = {q.answer for q in kb.quiz}
    assert positions == {0, 1, 2, 3}  # the right answer is not always in the same place


def test_campaign_calendar_covers_the_national_days(kb):
    schedules = {c.schedule for c in kb.campaigns}
    for day, month in (("18", "5"), ("1", "10"), ("10", "10")):
        assert any(s.split()[2] == day and s.split()[3] == month for s in schedules), f"{day}/{month}"
    assert any(s.split()[4] not in ("*", "?") for s in schedules), "a weekly tip"


def test_no_web_address_or_phone_number_outside_the_allow_list(kb):
    assert all(a.source for a in kb.allowlist)
    allowed = AllowList.of(kb.allowlist)  # the same check every FAQ save makes (bot.faq.store)
    problems = [(where, item) for where, text in _texts(kb) for item in allowed.outside(text)]
    assert not problems, problems


def test_allow_list_checks_catch_inventions():
    assert URL.findall("Vào trang https://dichvucong-gia.com/dang-nhap") == ["dichvucong-gia.com"]
    assert URL.findall("địa chỉ có đuôi .gov.vn") == []
    assert LONG_PHONE.findall("gọi 0912 345 678 ngay") == ["0912 345 678"]
    assert LONG_PHONE.findall("Quyết định 1169/QĐ-TTg ngày 16/6/2025") == []
    assert LONG_PHONE.findall("gọi 1900 1234") == ["1900 1234"]
    assert SERVICE_NUMBER.findall("hãy gọi đến số 156 hoặc nhắn tin tới 5656") == ["156", "5656"]
    assert SERVICE_NUMBER.findall("Kế hoạch số 1661 của tỉnh") == []


def test_no_two_faq_entries_say_the_same_thing(kb):
    faq = kb.of_kind("faq")
    terms = {c.id: set(lexical_terms(fold_tokens(c.text))) for c in faq}
    duplicates = []
    for a, b in itertools.combinations(faq, 2):
        ta, tb = terms[a.id], terms[b.id]
        if len(ta & tb) / len(ta | tb) > 0.6 or a.title == b.title:
            duplicates.append((a.id, b.id))
    assert not duplicates, duplicates


def test_labelled_sets_point_at_existing_entries(kb):
    ids = {c.id for c in kb.chunks}
    for path in list((ROOT / "tests" / "data").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for e in row.get("expected", []):  # the gaps sample (themes, no entries) has none
                assert (e if ":" in e else f"faq:{e}") in ids, (path.name, e)


def test_a_folded_copy_keeps_its_originals_labels_after_the_overlays():
    """An overlay line written for an original must reach a folded copy that has an older line of its own."""
    from bot.evaluation import default_overlays, read_labelled, read_overlays, relabel

    overlays = read_overlays(default_overlays(ROOT))
    for path in sorted((ROOT / "tests" / "data" / "real").glob("*.jsonl")):
        items = read_labelled(path)
        relabel(items, overlays)
        by_id = {i.id: i for i in items}
        differ = [
            i.id for i in items
            if i.variant_of in by_id and (i.expected, i.partly) != (by_id[i.variant_of].expected, by_id[i.variant_of].partly)
        ]
        assert not differ, (path.name, differ)


def test_no_faq_entry_is_overdue_for_review_or_without_a_source(kb):
    today = dt.date.today()
    overdue = kb.overdue(today)
    assert not overdue, f"past review_by on {today}: {overdue}"
    for c in kb.of_kind("faq"):
        assert c.source.title.strip(), c.id
        assert c.checked <= today.isoformat() < c.review_by, (c.id, c.checked, c.review_by)
    assert kb.stats(today)["review_overdue"] == 0


# Names and texts that were true in early 2025 and are not now (Vietnam reorganised ministries,
# local government and several laws in 2025-2026). Each may appear only as history: the same
# sentence must say so ("trước đây", "cũ", "nay là/thuộc", "thay", "áp dụng từ 1/6/2025", ...).
OUTDATED = {
    "Bộ TT&TT (hợp nhất vào Bộ KH&CN từ 1/3/2025)": r"Bộ Thông tin và Truyền thông|Bộ TT&TT|Sở Thông tin và Truyền thông|Sở TT&TT",
    "Cục An toàn thông tin (nhiệm vụ chuyển về Bộ Công an từ 1/3/2025)": r"Cục An toàn thông tin",
    # Decree 118/2025 keeps "Bộ phận Một cửa" as the umbrella term; what ended on 1/7/2025 is the
    # commune's own one-stop desk, now its Trung tâm Phục vụ hành chính công.
    "bộ phận một cửa của xã, phường (Trung tâm Phục vụ hành chính công từ 1/7/2025)":
        r"[Bb]ộ phận [Mm]ột cửa (?:của |tại )?(?:UBND |Ủy ban nhân dân )?(?:các )?(?:xã|phường|cấp xã)",
    "Nghị định 45/2020 (một cửa nay theo Nghị định 118/2025)": r"45/2020/NĐ-CP",
    "Luật An ninh mạng 2018 (thay bằng Luật 116/2025/QH15 từ 1/7/2026)": r"An ninh mạng (?:năm )?2018|24/2018/QH14",
    "Nghị định thương mại điện tử 52/2013, 85/2021 (Luật Thương mại điện tử từ 1/7/2026)": r"52/2013/NĐ-CP|85/2021/NĐ-CP",
    "hóa đơn theo Nghị định 123/2020, 70/2025 (văn bản 2026 chưa xác nhận)": r"123/2020/NĐ-CP|70/2025/NĐ-CP",
    "cấp huyện (không còn từ 1/7/2025)": r"(?:UBND|Ủy ban nhân dân) các huyện|các huyện, (?:thị xã|thành phố)|thành phố Điện Biên Phủ|huyện Mường Nhé|thị xã Mường Lay",
    "CCCD gắn chip as the card to bring (nay là thẻ căn cước)": r"CCCD gắn chip|(?<!hoặc )(?<!hoặc thẻ )căn cước công dân gắn chip",
    "Nghị quyết 71/NQ-CP như chương trình thứ hai": r"71/NQ-CP[^.\n]{0,40}về Chương trình hành động",
    "Thông tư 86/2024 về đăng ký thuế (thay bằng Thông tư 90/2026/TT-BTC từ 1/7/2026)": r"86/2024/TT-BTC",
    "Thông tư 55/2021, 56/2021, 66/2023 về cư trú (thay bằng Thông tư 116/2026/TT-BCA từ 1/7/2026)":
        r"55/2021/TT-BCA|56/2021/TT-BCA|66/2023/TT-BCA",
    "lỗi gõ lặp từ": r"\bchỉ chỉ\b|\bmới mới\b",
    "xưng hô không thống nhất": r"[Bb]ác/anh/chị|\b[Aa]nh/chị\b|\bBạn có biết\b",
}
HISTORY = re.compile(
    r"trước đây|\bcũ\b|\bnay (?:là|thuộc|đã|do|không)|hợp nhất|\bthay (?:bằng|cho|thế)?|"
    r"hết hiệu lực|trước sáp nhập|không còn|khi ra cảnh báo|áp dụng từ 1/6/2025|chưa xác nhận|"
    r"sửa đổi, bổ sung, cập nhật|cập nhật Chương trình",
    re.I,
)


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence (or list item, or parenthesis) around a match."""
    left = max(text.rfind(c, 0, start) for c in ".\n;") + 1
    rights = [i for i in (text.find(c, end) for c in ".\n;") if i != -1]
    return text[left : min(rights) if rights else len(text)]


def outdated_mentions(where: str, text: str) -> list[tuple[str, str, str]]:
    found = []
    for name, pattern in OUTDATED.items():
        for m in re.finditer(pattern, text):
            if not HISTORY.search(_sentence(text, m.start(), m.end())):
                found.append((where, name, _sentence(text, m.start(), m.end()).strip()[:160]))
    return found


def _written_content(kb):
    """What the bot says or cites, per item: questions, answers, sources, quiz, campaigns, allow-list
    (not the phrasings people type, which may use old names)."""
    for c in kb.chunks:
        if c.kind != "source":
            yield c.id, "\n".join([c.title, c.text, c.source.title])
    for q in kb.quiz:
        yield q.id, "\n".join([q.question, *q.options, q.explanation, q.source])
    for c in kb.campaigns:
        yield c.id, "\n".join([c.title, c.text, c.source])
    for a in kb.allowlist:
        yield a.value, "\n".join([a.what, a.source])


def test_outdated_names_appear_only_as_history(kb):
    found = [hit for where, text in _written_content(kb) for hit in outdated_mentions(where, text)]
    assert not found, "\n".join(map(str, found))


def test_outdated_check_flags_current_use_and_allows_marked_history():
    assert outdated_mentions("x", "Bác nộp hồ sơ tại bộ phận một cửa của xã.")
    assert not outdated_mentions("x", "Nghị định 118/2025/NĐ-CP về một cửa tại Bộ phận Một cửa và Cổng Dịch vụ công quốc gia.")
    assert outdated_mentions("x", "Nguồn: Cục An toàn thông tin (Bộ Thông tin và Truyền thông).")
    assert outdated_mentions("x", "Luật An ninh mạng 2018 cấm tin giả.")
    assert outdated_mentions("x", "Giao UBND các huyện, thành phố thực hiện.")
    assert outdated_mentions("x", "Chương trình theo Nghị quyết 71/NQ-CP về Chương trình hành động thực hiện Nghị quyết 57.")
    assert not outdated_mentions("x", "Công văn 793/BTTTT-THH của Bộ TT&TT cũ (nay đã hợp nhất vào Bộ Khoa học và Công nghệ).")
    assert not outdated_mentions("x", "Luật số 116/2025/QH15 thay Luật An ninh mạng 2018.")
    assert not outdated_mentions("x", "Bác nộp tại Trung tâm Phục vụ hành chính công xã, phường.")
