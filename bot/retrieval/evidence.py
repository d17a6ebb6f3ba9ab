"""What a question asks, and what an entry answers: aspects, numbers, documents, yes/no verdicts.

All on diacritic-folded text, so 'bao lâu' and 'bao lau' read alike. The engine turns these into
the features of its answer/clarify/decline decision (see engine.CALIBRATION).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.textnorm import fold, fold_tokens

# The factual aspect a question asks about (folded patterns): how long, when, how much money, how
# many. An entry answers it when its question (or a phrasing) asks the same, or when its text holds
# that kind of fact: "how long does it take" is not answered by an entry without a duration.
ASPECTS: dict[str, re.Pattern] = {
    name: re.compile(pattern)
    for name, pattern in {
        "duration": r"\b(bao lau|thoi gian|thoi han|may ngay|bao nhieu ngay|han su dung|trong bao lau)\b",
        "when": r"\b(khi nao|bao gio|ngay nao|nam nao|thang nao|luc nao|thoi diem nao|tu ngay nao|tu nam nao)\b",
        "fee": r"\b(bao nhieu tien|le phi|phi|chi phi|mat tien|ton tien|tra tien|gia bao nhieu)\b",
        "count": r"\b(bao nhieu(?! tien)|may (lan|nguoi|buoc|loai|muc|cach|thiet bi|so|nhiem vu|hinh thuc)|so luong)\b",
    }.items()
}
FACTUAL = {
    "duration": re.compile(r"\d+\s*(ngay|gio|phut|thang|nam|tuan)\b|\bngay lap tuc\b|\btrong ngay\b|\bvinh vien\b|\bthoi han\b|\bhieu luc\b"),
    "when": re.compile(r"\b(ngay|nam|thang)\s+\d|\d{1,2}/\d{1,2}|\bnam \d{4}\b|\btu \d"),
    "fee": re.compile(r"\d[\d.,]*\s*(dong|vnd|nghin|trieu)\b|\bphi\b|\bmien phi\b|\bkhong mat tien\b|\bkhong ton\b"),
    "count": re.compile(r"\d|\b(mot|hai|ba|bon|sau|bay|tam|chin|muoi)\b"),
}

# A question that wants a yes or a no: '... có ... không?', 'được không', 'có phải', 'đúng không'.
_POLAR = re.compile(
    r"\bco\b.*\b(khong|chua)\b|\b(duoc|phai|dung|nen|can|the) khong\b|\bco phai\b|\bphai khong\b|"
    r"\b(khong|chua|ha|a|chu|nhi)\s*$"
)
# An entry whose text opens with a verdict ("Được.", "Không nên.", "Đúng, …") answers one yes/no question.
_VERDICTS = frozenset(
    """co|duoc|van duoc|khong|khong nen|nen|dung|khong dung|khong duoc|khong can|can|khong an toan|an toan|
    tuyet doi khong|chua|chua chac|sai|phai|khong phai|co the|khong the|co nhung|duoc nhung""".replace("\n", "").split("|")
)
# Whom a question is about, when the rules differ by case (folded patterns): a foreigner, a child, an
# organisation. An entry written for everybody does not answer "khai báo tạm trú cho người nước ngoài".
# Each has two patterns: a narrow one for the question (the case it asks about: "cho tổ chức", not
# "tổ chức ngày hội", not "yêu cầu doanh nghiệp xóa") and a broad one for the entry (it speaks of them).
AUDIENCES: dict[str, tuple[re.Pattern, re.Pattern]] = {
    name: (re.compile(asked), re.compile(spoken))
    for name, (asked, spoken) in {
        "foreigner": (
            r"\b(nguoi nuoc ngoai|nguoi ngoai quoc|ngoai kieu|quoc tich nuoc ngoai)\b",
            r"\b(nguoi nuoc ngoai|nguoi ngoai quoc|ngoai kieu|quoc tich nuoc ngoai|khong quoc tich)\b",
        ),
        "child": (
            r"\b(tre em|tre so sinh|tre nho|tre duoi|em be|chau be|con nho|con duoi|duoi (6|14|16|18) tuoi|chua du 14)\b",
            r"\b(tre|em be|chau be|so sinh|khai sinh|hoc sinh|duoi \d+ tuoi|chua du \d+ tuoi|con (nho|em|cai|minh|toi))\b",
        ),
        "organisation": (
            r"\b(cho|cua) (doanh nghiep|cong ty|to chuc|hop tac xa)\b|\b(tai khoan|dinh danh) (to chuc|doanh nghiep)\b",
            r"\b(doanh nghiep|cong ty|to chuc|hop tac xa|co quan)\b",
        ),
    }.items()
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A document named by its number: 'Nghị quyết 57', 'NQ 57', '57-NQ/TW', 'Nghị định 69/2024/NĐ-CP', 'Luật số 20'.
_DOCUMENT = re.compile(
    r"\b(?:nghi quyet|nghi dinh|quyet dinh|thong tu|chi thi|ke hoach|luat|cong van|nq|nd|qd|tt|kh)\s*(?:so\s*)?(\d+)"
    r"|(?<![/\d])\b(\d+)\s*[-/]\s*(?:\d{4}\s*/\s*)?(?:nq|nd|qd|tt|kh|ct)\b"
)


def question_aspects(folded: str) -> set[str]:
    return {name for name, pattern in ASPECTS.items() if pattern.search(folded)}


def factual_aspects(folded_text: str) -> set[str]:
    """The aspects a text holds a fact for (a duration, a date, a fee, a number)."""
    return {name for name, pattern in FACTUAL.items() if pattern.search(folded_text)}


def is_polar(folded: str) -> bool:
    return bool(_POLAR.search(folded.strip(" ?.!")))


def verdict(text: str) -> bool:
    """Whether a text opens with a yes/no verdict ('Được.', 'Không nên, …')."""
    first = re.split(r"[.,:;!\n]", text.strip(), maxsplit=1)[0]
    return " ".join(fold_tokens(first)) in _VERDICTS if first else False


def audiences(folded: str) -> set[str]:
    """Whom a question asks about."""
    return {name for name, (asked, _) in AUDIENCES.items() if asked.search(folded)}


def spoken_of(folded: str) -> set[str]:
    """Whom an entry speaks of."""
    return {name for name, (_, spoken) in AUDIENCES.items() if spoken.search(folded)}


def numbers(text: str) -> set[str]:
    return {n.replace(",", ".").rstrip(".") for n in _NUMBER.findall(text)}


def documents(folded: str) -> set[str]:
    """Numbers of the documents a text names ('nghị quyết 57' and '57-NQ/TW' are both '57')."""
    return {a or b for a, b in _DOCUMENT.findall(folded)}


@dataclass(frozen=True)
class EntryFacts:
    """What one chunk answers, computed once when the engine opens."""

    asks: frozenset[str]  # aspects its question and phrasings ask
    holds: frozenset[str]  # factual aspects its text holds a fact for
    numbers: frozenset[str]
    documents: frozenset[str]
    verdict: bool
    audiences: frozenset[str] = frozenset()  # whom its question, phrasings or text speak of


def entry_facts(title: str, alternatives: tuple[str, ...], text: str) -> EntryFacts:
    questions = fold(" \n ".join((title, *alternatives)))
    everything = fold(f"{title}\n{' '.join(alternatives)}\n{text}")
    return EntryFacts(
        asks=frozenset(question_aspects(questions)),
        holds=frozenset(factual_aspects(fold(text))),
        numbers=frozenset(numbers(everything)),
        documents=frozenset(documents(everything)),
        verdict=verdict(text),
        audiences=frozenset(spoken_of(everything)),
    )
