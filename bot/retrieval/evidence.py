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


def entry_facts(title: str, alternatives: tuple[str, ...], text: str) -> EntryFacts:
    questions = fold(" \n ".join((title, *alternatives)))
    everything = fold(f"{title}\n{' '.join(alternatives)}\n{text}")
    return EntryFacts(
        asks=frozenset(question_aspects(questions)),
        holds=frozenset(factual_aspects(fold(text))),
        numbers=frozenset(numbers(everything)),
        documents=frozenset(documents(everything)),
        verdict=verdict(text),
    )
