"""Plain data the knowledge base is made of."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def stats(self) -> dict[str, int]:
        return {
            "faq_entries": len(self.of_kind("faq")),
            "quiz_questions": len(self.quiz),
            "guides": len({c.source.file for c in self.of_kind("guide")}),
            "guide_sections": len(self.of_kind("guide")),
            "sources": len({c.source.file for c in self.of_kind("source")}),
            "campaigns": len(self.campaigns),
            "chunks": len(self.chunks),
        }
