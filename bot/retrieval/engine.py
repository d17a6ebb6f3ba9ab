"""Answer a question from the index: dense + lexical retrieval, fusion, calibrated confidence.

Extractive only: an answer is the text of a knowledge chunk, trimmed for a phone screen, with its
citation. Below the confidence threshold the engine declines politely instead of guessing.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import asdict, dataclass, field

import faiss
import numpy as np

from bot import messages
from bot.accents import AccentRestorer
from bot.knowledge.models import Chunk
from bot.retrieval.embedders import Embedder
from bot.retrieval.lexical import LexicalIndex, document_terms, query_terms
from bot.retrieval.store import LoadedIndex, Unit
from bot.textnorm import clean, diacritic_ratio, expand_abbreviations, fold_tokens, has_diacritics, official_terms

MAX_QUESTION_CHARS = 1000  # longer input is cut: nobody asks one question in more
# Embedding cost grows with length (about 0.2 s for 300 characters, 0.8 s for 1,000 on 2 cores): the
# dense side reads the first 400 characters (labelled questions are at most 175), the lexical side all.
DENSE_QUERY_CHARS = 400
ANSWER_CHARS = 700  # one phone screen
DENSE_TOP = 64
# Fused score = best cosine of any of the chunk's units + LEXICAL_WEIGHT * BM25 / best BM25.
# A whole-passage match counts PASSAGE_PENALTY less than a match on a question or a phrasing:
# questions say what an entry is for. Linear fusion beat reciprocal-rank fusion on the labelled
# set (see README, "Retrieval").
LEXICAL_WEIGHT = 0.10
PASSAGE_PENALTY = 0.03

# Confidence = sigmoid(W . features + B), fitted on the labelled set (see `python -m bot eval --fit`)
# and kept here so that the engine's behaviour is reviewable and versioned.
CALIBRATION = {"bias": -77.951, "dense": 86.105, "coverage": 2.856, "bigram": 5.935}
THRESHOLD = 0.5

# Text that tries to steer a chatbot instead of asking it something.
_INJECTION = re.compile(
    r"ignore (all |any |the )?(previous|prior|above)|system prompt|you are now|act as|jailbreak|"
    r"bo qua (moi|tat ca|cac)? ?(huong dan|chi dan|lenh|quy tac)|dong vai (mot|la|nguoi|hacker|ke)|gia vo la|"
    r"quen (het|di) (cac|moi)? ?(huong dan|quy tac)|prompt he thong|lenh he thong",
)


@dataclass
class Answer:
    question: str
    answer: str
    answered: bool
    confidence: float
    sources: list[dict[str, str]] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    chunk_id: str = ""
    topic: str = ""
    topics: list[str] = field(default_factory=list)  # closest topics, offered when declining
    features: dict[str, float] = field(default_factory=dict)
    mode: str = "decline"  # answer | clarify | decline
    matched_question: str = ""
    candidates: list[dict[str, str]] = field(default_factory=list)  # [{"chunk_id", "question"}]
    truncated: bool = False
    full_answer: str = ""

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("features")
        return data


@dataclass
class AskContext:
    """A chat's previous question and the entry answered, for short follow-ups."""

    previous_question: str = ""
    previous_chunk_id: str = ""


class Engine:
    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self.lock = threading.RLock()  # held while answering, and while new chunks are swapped in
        self.index = index
        self.embedder = embedder
        self.chunks = index.chunks
        self._unit_chunk = np.array([u.chunk for u in index.units], dtype=np.int64)
        self._unit_offset = np.array([PASSAGE_PENALTY if u.kind == "passage" else 0.0 for u in index.units], np.float32)
        # One lexical document per chunk: its question, every alternative phrasing and its text.
        chunk_terms: list[list[str]] = [[] for _ in self.chunks]
        for u in index.units:
            chunk_terms[u.chunk].extend(document_terms(u.text))
        self.lexical = LexicalIndex(chunk_terms)
        self._chunk_terms = [set(t) for t in chunk_terms]
        self.restorer = AccentRestorer()
        for c in self.chunks:
            if c.kind != "source" or has_diacritics(c.text[:200]):
                self.restorer.learn(c.passage())

    # -- public -------------------------------------------------------------------------------

    def ask(self, question: str, context: AskContext | None = None) -> Answer:
        started = time.perf_counter()
        with self.lock:
            answer = self._ask(question)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer

    def answer_chunk(self, chunk_id: str, question: str = "") -> Answer | None:
        """The answer for one entry (a clarify candidate a person picked); None for an unknown id."""
        chunk = next((c for c in self.chunks if c.id == chunk_id), None)
        if chunk is None:
            return None
        return self._answer_for(question or chunk.title, chunk, 1.0, [], [], {})

    def search(self, question: str, k: int = 5) -> list[tuple[Chunk, float]]:
        """Top chunks for a query with their fused scores (for relay tools and evaluation)."""
        text = clean(question)[:MAX_QUESTION_CHARS]
        with self.lock:
            ranked, _ = self._rank(text)
            return [(self.chunks[i], s) for i, s in ranked[:k]]

    def replace_chunks(self, chunks: list[Chunk], units: list[Unit], vectors: np.ndarray) -> None:
        """Serve a changed chunk table at once (live FAQ edits): dense and lexical structures swapped in whole."""
        dense = faiss.IndexFlatIP(vectors.shape[1])
        dense.add(np.ascontiguousarray(vectors, dtype=np.float32))
        manifest = {**self.index.manifest, "chunks": len(chunks), "units": len(units)}
        fresh = Engine(LoadedIndex(manifest, chunks, units, dense), self.embedder)
        with self.lock:
            self.__dict__.update({k: v for k, v in vars(fresh).items() if k != "lock"})

    # -- internals ----------------------------------------------------------------------------

    def _ask(self, question: str) -> Answer:
        text = clean(question)[:MAX_QUESTION_CHARS]
        if not any(ch.isalpha() for ch in text):
            return Answer(question, messages.DECLINE_EMPTY, False, 0.0)
        if _INJECTION.search(" ".join(fold_tokens(text))):
            return Answer(question, messages.DECLINE, False, 0.0, features={"injection": 1.0})
        ranked, dense = self._rank(text)
        if not ranked:
            return Answer(question, messages.DECLINE, False, 0.0)
        best, _ = ranked[0]
        features = self._features(text, best, dense)
        confidence = _sigmoid(
            CALIBRATION["bias"] + sum(CALIBRATION[k] * features[k] for k in ("dense", "coverage", "bigram"))
        )
        topics = _unique([self.chunks[i].topic for i, _ in ranked[:8]])[:3]
        if confidence < THRESHOLD:
            return Answer(question, messages.DECLINE, False, round(confidence, 3), topics=topics, features=features)
        chunk = self.chunks[best]
        answer = self._answer_for(question, chunk, round(confidence, 3), self._related(ranked, best), topics, features)
        answer.candidates = [{"chunk_id": c.id, "question": c.title} for c in self._runners_up(ranked, best)]
        return answer

    def _answer_for(self, question, chunk, confidence, related, topics, features) -> Answer:
        full = chunk.text.strip()
        short = trim_for_phone(full)
        return Answer(
            question=question,
            answer=short,
            answered=True,
            confidence=confidence,
            sources=[{"title": chunk.source.title, "ref": chunk.source.ref}],
            related=related,
            chunk_id=chunk.id,
            topic=chunk.topic,
            topics=topics,
            features=features,
            mode="answer",
            matched_question=chunk.title,
            truncated=short != full,
            full_answer=full,
        )

    def _runners_up(self, ranked, best) -> list[Chunk]:
        out: list[Chunk] = []
        for i, _ in ranked[1:12]:
            c = self.chunks[i]
            if c.kind == "faq" and c.title != self.chunks[best].title and c not in out:
                out.append(c)
        return out[:3]

    def _query_variants(self, text: str) -> tuple[str, list[str]]:
        """The text to embed and the lexical terms: abbreviations expanded, diacritics restored,
        official wordings of everyday words added ("hộ khẩu" also searches "thường trú")."""
        expanded = expand_abbreviations(text)
        # Restore accents only when the person typed (mostly) without them: a typed 'ban' in
        # accented text is the word 'ban', not a missing accent.
        dense_text = self.restorer.restore(expanded) if diacritic_ratio(text) < 0.35 else expanded
        official = official_terms(expanded)
        if official:
            dense_text += " (" + ", ".join(official) + ")"
            expanded += " " + " ".join(official)
        return _cut_at_word(dense_text, DENSE_QUERY_CHARS), query_terms(expanded)

    def _rank(self, text: str) -> tuple[list[tuple[int, float]], dict[int, float]]:
        dense_text, terms = self._query_variants(text)
        query_vec = self.embedder.embed_queries([dense_text])
        k = min(DENSE_TOP, self.index.vectors.ntotal)
        dense: dict[int, float] = {}
        if k:
            sims, ids = self.index.vectors.search(query_vec, k)
            for sim, unit in zip(sims[0], ids[0]):
                if unit >= 0:
                    c = int(self._unit_chunk[unit])
                    dense[c] = max(dense.get(c, -1.0), float(sim - self._unit_offset[unit]))
        lexical = self.lexical.scores(terms) if terms else np.zeros(len(self.chunks), np.float32)
        best_lexical = float(lexical.max()) if len(lexical) else 0.0
        candidates = set(dense)
        if best_lexical > 0:
            candidates.update(int(c) for c in np.argsort(-lexical)[:DENSE_TOP] if lexical[c] > 0)
        floor = min(dense.values(), default=0.0)
        fused = {
            c: dense.get(c, floor) + (LEXICAL_WEIGHT * float(lexical[c]) / best_lexical if best_lexical else 0.0)
            for c in candidates
        }
        ranked = sorted(fused.items(), key=lambda x: x[1], reverse=True)
        return ranked, dense

    def _features(self, text: str, best: int, dense: dict[int, float]) -> dict[str, float]:
        """Evidence that the best chunk answers the question: how close, how much of it is covered."""
        terms = query_terms(expand_abbreviations(text))
        have = self._chunk_terms[best]
        unigrams = [t for t in terms if "_" not in t]
        bigrams = [t for t in terms if "_" in t]

        def covered(ts: list[str]) -> float:
            total = sum(self.lexical.term_idf(t) for t in ts)
            return sum(self.lexical.term_idf(t) for t in ts if t in have) / total if total else 0.0

        return {
            "dense": dense.get(best, min(dense.values(), default=0.0)),
            "coverage": covered(unigrams),
            "bigram": covered(bigrams),
        }

    def _related(self, ranked: list[tuple[int, float]], best: int) -> list[str]:
        chosen = self.chunks[best]
        out: list[str] = []
        for i, _ in ranked[1:12]:
            c = self.chunks[i]
            if c.kind == "faq" and c.title != chosen.title and c.title not in out:
                out.append(c.title)
            if len(out) == 3:
                break
        return out


def trim_for_phone(text: str, limit: int = ANSWER_CHARS) -> str:
    """Cut at a line or sentence boundary so an answer fits one phone screen."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    boundary = cut.rfind("\n")  # a whole line (a whole numbered step) first
    if boundary < limit // 2:
        boundary = max(cut.rfind(". "), cut.rfind("; ")) + 1  # then a whole sentence
    if boundary < limit // 2:
        boundary = cut.rfind(" ")
    return text[:boundary].rstrip()


def _cut_at_word(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
