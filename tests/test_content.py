"""Content rules for the bundled knowledge base (see knowledge/README.md)."""

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
    allowed = AllowList.of(kb.allowlist)  # the same check every FAQ save makes (bot.admin.faq_store)
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
            for e in row["expected"]:
                assert (e if ":" in e else f"faq:{e}") in ids, (path.name, e)
