"""Answer a question from the index: retrieval, then a decision to answer, ask back or decline.

Extractive only: an answer is the text of a knowledge chunk with its citation. Retrieval fuses
dense and lexical scores; the few best entries are then weighed on evidence that an entry really
answers the question (closeness, margin over the runner-up, coverage of the question's words, its
aspect, its numbers and documents, yes/no verdicts). The engine answers when one entry clearly
does, offers 2–3 candidates when it is unsure ("clarify"), and declines otherwise.
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
from bot.retrieval import evidence
from bot.retrieval.answer_cache import AnswerCache, question_key
from bot.retrieval.embedders import Embedder
from bot.retrieval.lexical import STOPWORDS, LexicalIndex, accented_terms, content_terms, document_terms, query_terms
from bot.retrieval.store import LoadedIndex, Unit
from bot.textnorm import clean, diacritic_ratio, expand_abbreviations, fold, fold_tokens, has_diacritics, official_terms, words

MAX_QUESTION_CHARS = 1000  # longer input is cut: nobody asks one question in more
# Embedding cost grows with length (about 0.2 s for 300 characters, 0.8 s for 1,000 on 2 cores): the
# dense side reads the first 400 characters (labelled questions are at most 175), the lexical side all.
DENSE_QUERY_CHARS = 400
ANSWER_CHARS = 700  # one phone screen
DENSE_TOP = 64
POOL = 6  # entries weighed by the decision
# Fused score = best cosine of any of the chunk's units + LEXICAL_WEIGHT * BM25 / best BM25.
# A whole-passage match counts PASSAGE_PENALTY less than a match on a question or a phrasing:
# questions say what an entry is for. A plan or guide section counts SECTION_PENALTY less again:
# plan passages repeat the words of the documents they implement.
LEXICAL_WEIGHT = 0.10
PASSAGE_PENALTY = 0.03
SECTION_PENALTY = {"faq": 0.0, "guide": 0.0, "source": 0.02}

# P(this entry answers the question) = sigmoid(bias + sum(weight * feature)), a logistic regression
# fitted on labelled real questions, unanswerable ones included (`python -m bot eval FILE --fit`),
# kept here so that the engine's behaviour is reviewable and versioned. Features: see _evidence.
CALIBRATION = {
    "bias": -20.073, "dense": 22.063, "lead": 39.271, "coverage": 1.369, "aspect_miss": -2.736,
    "verdict_risk": -0.476, "section": -1.52,
}
# P(the knowledge base covers the question's subject at all) = sigmoid(...) of the best-ranked entry's
# closeness and coverage, fitted on in-scope against out-of-scope questions. Asking back ("clarify")
# needs it: a question from outside the base is declined, not answered with a list of neighbours.
SCOPE = {"bias": -63.79, "scope_dense": 71.794, "scope_bigram": 2.309, "scope_missing": -0.38}
# The decision (see decide): answer when the best entry's P >= ANSWER_THRESHOLD, it leads the next by
# ANSWER_MARGIN and the question is in scope; otherwise offer the best entries when P >= CLARIFY_THRESHOLD
# and scope >= SCOPE_CLARIFY; otherwise decline. Chosen with `eval --fit`'s threshold table on the real
# development questions: no more than 5 % wrong answers before anything else. SCOPE_ANSWER went from
# 0.5 to 0.6 on 2026-12-01 (evening): at 0.5 "tu vi tuoi ty nam 2027" was answered with a plan entry
# (scope 0.55); at 0.6 one of 408 real development questions moves from a right answer to a decline.
ANSWER_THRESHOLD = 0.9
ANSWER_MARGIN = 0.2
CLARIFY_THRESHOLD = 0.3
SCOPE_ANSWER = 0.6
SCOPE_CLARIFY = 0.6

# Text that tries to steer a chatbot instead of asking it something.
_INJECTION = re.compile(
    r"ignore (all |any |the )?(previous|prior|above)|system prompt|you are now|act as|jailbreak|"
    r"bo qua (moi|tat ca|cac)? ?(huong dan|chi dan|lenh|quy tac)|dong vai (mot|la|nguoi|hacker|ke)|gia vo la|"
    r"quen (het|di) (cac|moi)? ?(huong dan|quy tac)|prompt he thong|lenh he thong",
)
# A follow-up leans on the previous question: "thế còn …", "vậy nếu …", "còn cái kia thì sao",
# "cái đó", "nếu quên mật khẩu thì sao" (folded).
_FOLLOW_UP_START = re.compile(r"^(the con|vay con|con|the neu|vay neu|neu vay|the thi|vay thi|the|vay|nhung neu|con neu)\b")
_ANAPHOR = re.compile(r"\b(cai (do|kia|nay|ay)|viec (do|nay|ay)|dieu (do|nay)|chuyen (do|nay|ay)|vu (do|nay)|no)\b")
_FOLLOW_UP_END = re.compile(r"\b(thi sao|thi the nao|thi lam sao|thi sao a|thi sao nhi)\s*$")
FOLLOW_UP_WORDS = 10  # a follow-up is short; a longer message stands on its own
_FOLLOW_UP_FILLER = STOPWORDS | {"the", "vay", "con", "neu", "cai", "do", "kia", "nay", "ay", "viec", "dieu", "chuyen", "vu", "no"}


@dataclass
class AskContext:
    """The chat's previous question and the entry answered, for short or anaphoric follow-ups."""

    previous_question: str
    previous_chunk_id: str = ""


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
    mode: str = "decline"  # answer | clarify | decline; answered == (mode == "answer")
    matched_question: str = ""  # the question of the entry answered
    candidates: list[dict[str, str]] = field(default_factory=list)  # [{"chunk_id", "question"}]
    truncated: bool = False  # `answer` is only the first phone screen of `full_answer`
    full_answer: str = ""
    features: dict[str, float] = field(default_factory=dict)  # the decision's evidence, for evaluation
    ranking: list[dict] = field(default_factory=list)  # weighed entries, best first: chunk_id, p, features

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("features")
        data.pop("ranking")
        return data


@dataclass
class _Query:
    """A question read once: what is embedded, its lexical terms and what it asks."""

    text: str
    dense_text: str
    terms: list[str]
    content: list[str]  # topic syllables with diacritics (folded when typed without), each once
    folded: bool  # typed (mostly) without diacritics: coverage is judged on folded syllables
    bigrams: list[str]  # folded bigrams of the lexical terms
    aspects: set[str]
    polar: bool
    numbers: set[str]
    documents: set[str]
    audiences: set[str]


# What an engine derives from its index: unit tables, the lexical indexes, the accent vocabulary, the
# entries' facts. Seconds to compute on 2 cores, so bot/retrieval/warm_start.py keeps it beside the index.
DERIVED = ("_by_id", "_unit_chunk", "_unit_offset", "lexical", "_chunk_terms", "_accented", "_accented_terms",
           "_accented_titles", "_folded_titles", "_facts", "restorer")


def derive(index: LoadedIndex) -> dict:
    """Everything in DERIVED, computed from the index's chunks and units."""
    chunks = index.chunks
    unit_offset = np.array(
        [(PASSAGE_PENALTY if u.kind == "passage" else 0.0) + SECTION_PENALTY.get(chunks[u.chunk].kind, 0.0) for u in index.units],
        np.float32,
    )
    # One lexical document per chunk: its question, every alternative phrasing and its text.
    # Coverage is judged on syllables with their diacritics (folding merges 'bảo mật' and 'báo
    # mất'), over the whole entry and over what it is asked as (its question and phrasings).
    chunk_terms: list[list[str]] = [[] for _ in chunks]
    accented: list[list[str]] = [[] for _ in chunks]
    titles: list[set[str]] = [set(accented_terms(c.title)) for c in chunks]
    for u in index.units:
        chunk_terms[u.chunk].extend(document_terms(u.text))
        terms = accented_terms(u.text)
        accented[u.chunk].extend(terms)
        if u.kind != "passage":
            titles[u.chunk].update(terms)
    return {
        "_by_id": {c.id: i for i, c in enumerate(chunks)},
        "_unit_chunk": np.array([u.chunk for u in index.units], dtype=np.int64),
        "_unit_offset": unit_offset,
        "lexical": LexicalIndex(chunk_terms),
        "_chunk_terms": [set(t) for t in chunk_terms],
        "_accented": LexicalIndex(accented),  # for its IDF
        "_accented_terms": [set(t) for t in accented],
        "_accented_titles": titles,
        "_folded_titles": [{fold(t) for t in ts} for ts in titles],
        "_facts": [evidence.entry_facts(c.title, c.alternatives, c.text) for c in chunks],
        "restorer": accent_restorer(chunks),
    }


def accent_restorer(chunks: list[Chunk]) -> AccentRestorer:
    """The accent restorer of an engine: learned from every entry and section with diacritics, and
    from the entries' phrasings (how people ask, the words questions are typed in)."""
    restorer = AccentRestorer()
    for c in chunks:
        if c.kind != "source" or has_diacritics(c.text[:200]):
            restorer.learn(c.passage())
        for phrasing in c.alternatives:
            restorer.learn(phrasing)
    return restorer


class Engine:
    def __init__(self, index: LoadedIndex, embedder: Embedder, derived: dict | None = None) -> None:
        """`derived`: what `derive(index)` returns, when it was kept from an earlier start (warm_start)."""
        self.lock = threading.RLock()  # held while answering, and while new chunks are swapped in
        self.embedder = embedder
        self._serve(index, derived if derived is not None else derive(index))

    def _serve(self, index: LoadedIndex, derived: dict) -> None:
        """Answer from this index from now on, with what is derived from it and an empty answer cache."""
        self.index = index
        self.chunks = index.chunks
        for name in DERIVED:
            setattr(self, name, derived[name])
        self.answers: AnswerCache[Answer] = AnswerCache()

    def derived(self) -> dict:
        return {name: getattr(self, name) for name in DERIVED}

    # -- public -------------------------------------------------------------------------------

    def ask(self, question: str, context: AskContext | None = None) -> Answer:
        """The reply to a question; a repeated one (same words, same context if it is a follow-up)
        comes from the answer cache, which belongs to the current chunk table: a live FAQ edit
        swaps in a new, empty one (replace_chunks), so no answer outlives the index it came from."""
        started = time.perf_counter()
        text = clean(question)[:MAX_QUESTION_CHARS]
        leaning = context if context and _follow_up(text) is not None else None
        key = (question_key(text), leaning.previous_question if leaning else "", leaning.previous_chunk_id if leaning else "")
        with self.lock:
            answers = self.answers
            answer = answers.get(key)
            if answer is None:
                answer = self._ask(question, context)
                answers.put(key, answer)
        answer.question = question
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer

    def answer_chunk(self, chunk_id: str, question: str = "") -> Answer | None:
        """The answer of one entry (a person picked it from the candidates, or asked for the rest)."""
        with self.lock:
            i = self._by_id.get(chunk_id)
            return None if i is None else self._answer(question, i, 1.0, [], {}, [])

    def search(self, question: str, k: int = 5) -> list[tuple[Chunk, float]]:
        """Top chunks for a query with their fused scores (for relay tools and evaluation)."""
        text = clean(question)[:MAX_QUESTION_CHARS]
        with self.lock:
            ranked, _ = self._rank(self._read(text))
            return [(self.chunks[i], s) for i, s in ranked[:k]]

    def replace_chunks(self, chunks: list[Chunk], units: list[Unit], vectors: np.ndarray) -> None:
        """Serve a changed chunk table at once (live FAQ edits): dense and lexical structures swapped in whole."""
        dense = faiss.IndexFlatIP(vectors.shape[1])
        dense.add(np.ascontiguousarray(vectors, dtype=np.float32))
        manifest = {**self.index.manifest, "chunks": len(chunks), "units": len(units)}
        index = LoadedIndex(manifest, chunks, units, dense)
        derived = derive(index)  # outside the lock: answering goes on meanwhile
        with self.lock:
            self._serve(index, derived)

    # -- internals ----------------------------------------------------------------------------

    def _ask(self, question: str, context: AskContext | None) -> Answer:
        text = clean(question)[:MAX_QUESTION_CHARS]
        if not any(ch.isalpha() for ch in text):
            return Answer(question, messages.DECLINE_EMPTY, False, 0.0)
        if _INJECTION.search(" ".join(fold_tokens(text))):
            return Answer(question, messages.DECLINE, False, 0.0, features={"injection": 1.0})
        follow_up = _follow_up(text)
        if follow_up is not None and context and context.previous_question.strip():
            if not follow_up:  # "còn cái kia thì sao": nothing to search but the previous question
                return self._ask_back(question, context)
            text = f"{follow_up} ({self._subject(context)})"
        query = self._read(text)
        ranked, dense = self._rank(query)
        if not ranked:
            return Answer(question, messages.DECLINE, False, 0.0)
        weighed = self._weigh(query, ranked, dense)
        best, p_best, features = weighed[0]
        topics = _unique([self.chunks[i].topic for i, _ in ranked[:8]])[:3]
        ranking = [{"chunk_id": self.chunks[i].id, "p": p, "features": f} for i, p, f in weighed]
        mode, chosen = decide(
            [self.chunks[i].id for i, _, _ in weighed], [p for _, p, _ in weighed], features,
            misses=[f["audience_miss"] > 0 for _, _, f in weighed],
        )
        confidence = p_best * features["scope"]  # reported: this entry answers, and the question is in scope
        if mode == "answer":
            answer = self._answer(question, best, confidence, [weighed[n][0] for n in chosen[1:]], features, topics)
            answer.related = self._related(ranked, best)
            answer.ranking = ranking
            return answer
        if mode == "clarify":
            return Answer(
                question, _clarify_text(self._candidates([weighed[n][0] for n in chosen])), False, round(confidence, 3),
                topics=topics, mode="clarify", candidates=self._candidates([weighed[n][0] for n in chosen]),
                features=features, ranking=ranking,
            )
        return Answer(question, messages.DECLINE, False, round(confidence, 3), topics=topics, features=features, ranking=ranking)

    def _answer(self, question: str, i: int, p: float, runners: list[int], features: dict, topics: list[str]) -> Answer:
        """The Answer for chunk i; runners are the other entries offered behind "Không đúng câu tôi hỏi".""" 
        chunk = self.chunks[i]
        full = chunk.text.strip()
        shown = trim_for_phone(full)
        return Answer(
            question=question,
            answer=shown,
            answered=True,
            confidence=round(p, 3),
            sources=[{"title": chunk.source.title, "ref": chunk.source.ref}],
            chunk_id=chunk.id,
            topic=chunk.topic,
            topics=topics,
            mode="answer",
            matched_question=chunk.title,
            candidates=self._candidates(runners, exclude=chunk.title),
            truncated=shown != full,
            full_answer=full,
            features=features,
        )

    def _ask_back(self, question: str, context: AskContext) -> Answer:
        """A follow-up with nothing but a pointer ("cái kia"): offer the previous entry's neighbours."""
        query = self._read(clean(context.previous_question)[:MAX_QUESTION_CHARS])
        ranked, dense = self._rank(query)
        offered = [self._by_id[context.previous_chunk_id]] if context.previous_chunk_id in self._by_id else []
        offered += [i for i, _, _ in self._weigh(query, ranked, dense) if i not in offered]
        candidates = self._candidates(offered)[:3]
        if len(candidates) < 2:
            return Answer(question, messages.DECLINE, False, 0.0)
        return Answer(question, _clarify_text(candidates), False, 0.0, mode="clarify", candidates=candidates, features={"follow_up": 1.0})

    def _subject(self, context: AskContext) -> str:
        """What a follow-up is about: the topic of the previous entry (its name, e.g. "VNeID và định
        danh điện tử"), or the previous question itself when no entry was answered. The topic, not
        the whole previous question, so that the follow-up's own words decide the entry."""
        i = self._by_id.get(context.previous_chunk_id)
        if i is not None and self.chunks[i].topic in messages.TOPIC_NAMES:
            return messages.TOPIC_NAMES[self.chunks[i].topic]
        return clean(context.previous_question)[:MAX_QUESTION_CHARS]

    def _read(self, text: str) -> _Query:
        """The text to embed and the lexical terms: abbreviations expanded, diacritics restored,
        letter case as the knowledge base writes it, official wordings of everyday words added
        ("hộ khẩu" also searches "thường trú"); and what the question asks."""
        expanded = expand_abbreviations(text)
        # Restore accents only when the person typed (mostly) without them: a typed 'ban' in
        # accented text is the word 'ban', not a missing accent.
        accented = self.restorer.restore(expanded) if diacritic_ratio(text) < 0.35 else expanded
        dense_text = self.restorer.recase(accented)
        official = official_terms(expanded)
        if official:
            dense_text += " (" + ", ".join(official) + ")"
            expanded += " " + " ".join(official)
        terms = query_terms(expanded)
        folded = fold(expanded)
        # Coverage is judged with diacritics when the person typed them ('báo mất' is not 'bảo mật'),
        # on folded syllables otherwise: restored accents are a guess, and a wrong guess made an
        # unaccented question look uncovered (declined) where its accented form was answered.
        unaccented = diacritic_ratio(text) < 0.35
        official_text = " " + " ".join(official) if official else ""
        if unaccented:
            content = content_terms(fold_tokens(expanded + official_text))
        else:
            content = content_terms(words(accented + official_text))
        return _Query(
            text=text,
            dense_text=_cut_at_word(dense_text, DENSE_QUERY_CHARS),
            terms=terms,
            content=content,
            folded=unaccented,
            bigrams=_unique([t for t in terms if "_" in t]),
            aspects=evidence.question_aspects(folded),
            polar=evidence.is_polar(folded),
            numbers=evidence.numbers(folded),
            documents=evidence.documents(folded),
            audiences=evidence.audiences(fold(text)),
        )

    def _rank(self, query: _Query) -> tuple[list[tuple[int, float]], dict[int, float]]:
        query_vec = self.embedder.embed_queries([query.dense_text])
        k = min(DENSE_TOP, self.index.vectors.ntotal)
        dense: dict[int, float] = {}
        if k:
            sims, ids = self.index.vectors.search(query_vec, k)
            for sim, unit in zip(sims[0], ids[0]):
                if unit >= 0:
                    c = int(self._unit_chunk[unit])
                    dense[c] = max(dense.get(c, -1.0), float(sim - self._unit_offset[unit]))
        lexical = self.lexical.scores(query.terms) if query.terms else np.zeros(len(self.chunks), np.float32)
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

    def _weigh(self, query: _Query, ranked: list[tuple[int, float]], dense: dict[int, float]) -> list[tuple[int, float, dict]]:
        """The best POOL entries with P(answers the question) and its evidence, most likely first."""
        pool: list[tuple[int, float]] = []
        seen_titles: set[str] = set()
        for i, score in ranked:
            title = self.chunks[i].title
            if title not in seen_titles:  # one entry per question (guides may repeat a heading)
                seen_titles.add(title)
                pool.append((i, score))
            if len(pool) == POOL:
                break
        floor = min(dense.values(), default=0.0)
        weighed = []
        scope: dict[str, float] = {}
        for n, (i, score) in enumerate(pool):
            others = max((s for m, (_, s) in enumerate(pool) if m != n), default=score - 0.1)
            features = self._evidence(query, i, dense.get(i, floor), score - others)
            if n == 0:  # the question's scope, judged on the best-ranked entry
                scope = {"scope_dense": features["dense"], "scope_bigram": features["bigram"], "scope_missing": features["missing"]}
                scope["scope"] = _sigmoid(SCOPE["bias"] + sum(w * scope[k] for k, w in SCOPE.items() if k != "bias"))
            features.update(scope)
            weighed.append((i, _probability(features), features))
        weighed.sort(key=lambda x: x[1], reverse=True)
        return weighed

    def _evidence(self, query: _Query, i: int, dense: float, lead: float) -> dict[str, float]:
        """Evidence that chunk i answers the question: the features of CALIBRATION and SCOPE, and the
        hard checks of decide (a number or a document the entry does not hold)."""
        facts = self._facts[i]
        if query.folded:
            have, titled = self._chunk_terms[i], self._folded_titles[i]
            idf, top = self.lexical.term_idf, self.lexical.max_idf
        else:
            have, titled = self._accented_terms[i], self._accented_titles[i]
            idf, top = self._accented.term_idf, self._accented.max_idf

        def covered(ts: list[str], within: set[str], weight=idf) -> float:
            total = sum(weight(t) for t in ts)
            return sum(weight(t) for t in ts if t in within) / total if total else 0.0

        answered_aspects = facts.asks | facts.holds
        title_coverage = covered(query.content, titled)
        return {
            "dense": dense,
            "lead": max(-0.1, min(0.1, lead)),
            "coverage": covered(query.content, have),
            "title_coverage": title_coverage,
            "bigram": covered(query.bigrams, self._chunk_terms[i], self.lexical.term_idf),
            "missing": max((idf(t) for t in query.content if t not in have), default=0.0) / top,
            "aspect_miss": 1.0 if query.aspects - answered_aspects else 0.0,
            "number_miss": 1.0 if query.numbers - facts.numbers - query.documents else 0.0,
            "verdict_risk": (1.0 - title_coverage * query.polar) if facts.verdict else 0.0,
            "section": 0.0 if self.chunks[i].kind == "faq" else 1.0,
            "document_miss": 1.0 if query.documents - facts.documents else 0.0,
            "audience_miss": 1.0 if query.audiences - facts.audiences else 0.0,
        }

    def _candidates(self, indices: list[int], exclude: str = "") -> list[dict[str, str]]:
        """Up to 3 entries a person can pick: FAQ entries and guide sections (plan passages have no question)."""
        out: list[dict[str, str]] = []
        for i in indices:
            c = self.chunks[i]
            if c.kind != "source" and c.title != exclude and all(o["question"] != c.title for o in out):
                out.append({"chunk_id": c.id, "question": c.title})
            if len(out) == 3:
                break
        return out

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


def decide(
    ids: list[str], ps: list[float], best: dict[str, float], *, answer_at: float = ANSWER_THRESHOLD,
    margin: float = ANSWER_MARGIN, clarify_at: float = CLARIFY_THRESHOLD, scope_answer: float = SCOPE_ANSWER,
    scope_clarify: float = SCOPE_CLARIFY, misses: list[bool] | None = None,
) -> tuple[str, list[int]]:
    """Answer, clarify or decline, from the weighed entries (ids and P, most likely first) and the
    best one's evidence. Returns the mode and the positions chosen: the answer then up to 3 runners-up;
    the 2-3 entries to offer; or none. A question naming a number or a document the entry does not
    hold is never answered with it. Plan passages (ids 'source:') are never offered: they have no question.
    `misses`: per entry, whether it misses whom the question is about (a foreigner, a child, an
    organisation): such an entry is neither answered nor offered."""
    if not ids:
        return "decline", []
    misses = misses or [False] * len(ids)
    offerable = [n for n, cid in enumerate(ids) if not cid.startswith("source:") and not misses[n]]
    runner_up = max((p for n, p in enumerate(ps[1:], 1) if not misses[n]), default=0.0)  # a rival answers the same case
    blocked = best.get("number_miss", 0.0) > 0 or best.get("document_miss", 0.0) > 0 or misses[0]
    scope = best.get("scope", 1.0)
    if ps[0] >= answer_at and ps[0] - runner_up >= margin and scope >= scope_answer and not blocked:
        return "answer", [0] + [n for n in offerable if n != 0][:3]
    offered = offerable[:3]
    if len(offered) == 1 and offered[0] == 0:
        # the best fits the case and no other does: offer it with the next entry all the same
        offered += [n for n, cid in enumerate(ids) if n and not cid.startswith("source:")][:1]
    likeliest = ps[offered[0]] if misses[0] and offered else ps[0]
    if likeliest >= clarify_at and scope >= scope_clarify and len(offered) >= 2:
        return "clarify", offered
    return "decline", []


def _probability(features: dict[str, float]) -> float:
    return _sigmoid(CALIBRATION["bias"] + sum(w * features[k] for k, w in CALIBRATION.items() if k != "bias"))


def _follow_up(text: str) -> str | None:
    """For a message that leans on the previous question, what it adds ('' when only a pointer);
    None for a message that stands on its own."""
    folded = " ".join(fold_tokens(text))
    words = folded.split()
    if len(words) > FOLLOW_UP_WORDS:
        return None
    if not (_FOLLOW_UP_START.search(folded) or _ANAPHOR.search(folded) or _FOLLOW_UP_END.search(folded)):
        return None
    typed = re.findall(r"[^\W_]+", expand_abbreviations(text))
    kept = [w for w, f in zip(typed, words) if f not in _FOLLOW_UP_FILLER] if len(typed) == len(words) else []
    return " ".join(kept)


def _clarify_text(candidates: list[dict[str, str]]) -> str:
    return messages.CLARIFY + "\n" + "\n".join(f"{n}. {c['question']}" for n, c in enumerate(candidates, 1))


def trim_for_phone(text: str, limit: int = ANSWER_CHARS) -> str:
    """Cut at a line or sentence boundary so an answer fits one phone screen (the cut text only)."""
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
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
