"""Plain data the knowledge base is made of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


# How long a FAQ answer stays trusted before it must be checked again, by topic: fast-moving rules
# (tax, banking) sooner, plans and history later.
REVIEW_MONTHS = {"hokinhdoanh": 3, "thanhtoan": 3, "luadao": 6, "dichvucong": 6, "vneid": 6, "taikhoan": 6,
                 "phongtrao": 12, "nq57": 12, "kehoach": 12}


def review_due(checked: dt.date, topic: str) -> dt.date:
    """The default review date of an entry checked on `checked` (6 months for an unknown topic)."""
    year, month = divmod(checked.month - 1 + REVIEW_MONTHS.get(topic, 6), 12)
    return dt.date(checked.year + year, month + 1, min(checked.day, 28))


class KnowledgeError(ValueError):
    """A knowledge file is malformed; the message names the file and entry for the operator."""


@dataclass(frozen=True)
class Provenance:
    """Where a chunk comes from: the file and section, and the official document it cites."""

    file: str
    title: str  # citation shown to people: document number, issuing body, date
    section: str = ""
    issuer: str = ""
    doc_number: str = ""
    date: str = ""
    url: str = ""

    @property
    def ref(self) -> str:
        if self.url:
            return self.url
        return f"{self.file}#{self.section}" if self.section else self.file


@dataclass(frozen=True)
class Chunk:
    """One answerable unit: a FAQ entry, a guide section or a piece of a source document."""

    id: str
    kind: str  # faq | guide | source
    topic: str
    title: str  # the question (FAQ) or the section heading
    text: str  # what is shown as the answer
    source: Provenance
    updated: str = ""
    alternatives: tuple[str, ...] = ()  # other phrasings, indexed too, pointing here
    tags: tuple[str, ...] = ()
    checked: str = ""  # FAQ: the day its facts were last checked against the source (ISO date)
    review_by: str = ""  # FAQ: the day by which it must be checked again (ISO date)
    superseded: str = ""  # FAQ: which newer text replaced an older one, when that changed the answer

    def passage(self) -> str:
        """The text embedded and indexed for this chunk as a whole."""
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class QuizQuestion:
    id: str
    topic: str
    difficulty: str
    question: str
    options: tuple[str, ...]
    answer: int
    explanation: str
    source: str
    updated: str


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    schedule: str
    audience: str
    text: str
    source: str
    updated: str


@dataclass(frozen=True)
class AllowItem:
    value: str
    kind: str  # url | phone
    what: str
    source: str


@dataclass
class KnowledgeBase:
    chunks: list[Chunk] = field(default_factory=list)
    quiz: list[QuizQuestion] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)
    allowlist: list[AllowItem] = field(default_factory=list)
    content_hash: str = ""

    def of_kind(self, kind: str) -> list[Chunk]:
        return [c for c in self.chunks if c.kind == kind]

    def overdue(self, today: dt.date) -> list[str]:
        """Ids of FAQ entries whose review date has passed."""
        return [c.id for c in self.of_kind("faq") if dt.date.fromisoformat(c.review_by) < today]

    def stats(self, today: dt.date | None = None) -> dict[str, int]:
        return {
            "faq_entries": len(self.of_kind("faq")),
            "review_overdue": len(self.overdue(today or dt.date.today())),
            "quiz_questions": len(self.quiz),
            "guides": len({c.source.file for c in self.of_kind("guide")}),
            "guide_sections": len(self.of_kind("guide")),
            "sources": len({c.source.file for c in self.of_kind("source")}),
            "campaigns": len(self.campaigns),
            "chunks": len(self.chunks),
        }
