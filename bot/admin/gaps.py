"""Gaps: the questions the knowledge base does not answer well, grouped by meaning, biggest group first.

Questions come from the conversation log (declined, clarified, answered but 👎) and the escalations to the team.
Two questions are alike by the engine's embedder (cosine of their vectors) and by their words (the share of
folded syllables they have in common); groups are formed by average linkage: two groups join while the mean
likeness between their questions stays above `THRESHOLD`. Nothing is generated: a group's label is its most
central real question (the one most alike to the others), its examples are real questions too (masked when
stored). Vectors are kept in `question_vectors` (by text hash and embedder), so no text is embedded twice.

`python -m bot gaps [--since DATE] [--area CODE] --json` prints the list; the web admin shows it with «Soạn mục
FAQ» prefilled from a group, and the report has the top groups as a sheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.privacy import mask
from bot.storage.db import Database
from bot.storage.models import Conversation, Escalation, QuestionVector, User
from bot.textnorm import clean, fold

# likeness = (1 - w) * (cosine - floor) / (1 - floor) + w * shared syllables (Jaccard of folded syllables): e5
# cosines of unrelated Vietnamese questions sit around 0.82, so the cosine is read above that floor
COS_FLOOR = 0.8
LEXICAL_WEIGHT = 0.2
THRESHOLD = 0.25  # chosen on tests/data/gaps_sample.jsonl (docs/admin.md, "Gaps": purity and how it was measured)
EXAMPLES = 5
MIN_WORDS = 2  # "alo", "ok": not a question worth a FAQ entry
KINDS = ("declined", "clarified", "disliked", "escalated")


@dataclass
class Asked:
    text: str  # masked
    kind: str  # declined | clarified | disliked | escalated
    area: str = ""


@dataclass
class Cluster:
    label: str
    size: int  # how many times its questions were asked
    examples: list[str]
    areas: list[str]
    kinds: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"label": self.label, "size": self.size, "examples": self.examples, "areas": self.areas}


def collect(s: Session, since: dt.datetime | None = None, area: str | None = None, until: dt.datetime | None = None) -> list[Asked]:
    """Every question the base did not answer well, with the asker's area (a conversation) or the question's; asked
    on or after `since` and before `until` (aware instants; None: no bound)."""
    log = select(Conversation.question, Conversation.answered, Conversation.candidates, Conversation.feedback, User.area).join(
        User, User.id == Conversation.user_id).where((Conversation.answered.is_(False)) | (Conversation.feedback == -1))
    esc = select(Escalation.question, Escalation.origin_area, Escalation.area)
    if since is not None:
        log, esc = log.where(Conversation.created_at >= since), esc.where(Escalation.created_at >= since)
    if until is not None:
        log, esc = log.where(Conversation.created_at < until), esc.where(Escalation.created_at < until)
    out = []
    for question, answered, candidates, feedback, where in s.execute(log):
        kind = "disliked" if answered else "clarified" if candidates else "declined"
        out.append(Asked(question, kind, where or ""))
    for question, origin, where in s.execute(esc):
        out.append(Asked(question, "escalated", origin or where or ""))
    if area:
        out = [a for a in out if a.area == area or a.area.startswith(area + "/")]
    return [a for a in out if len(fold(clean(a.text)).split()) >= MIN_WORDS]


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def vectors(db: Database, embedder, embedder_id: str, texts: list[str]) -> np.ndarray:
    """The embedder's (normalised) vector of each text, from the cache or embedded once and cached."""
    keys = [_key(t) for t in texts]
    with db.session() as s:
        known = {r.key: np.frombuffer(r.vector, dtype=np.float32) for r in s.scalars(
            select(QuestionVector).where(QuestionVector.embedder == embedder_id, QuestionVector.key.in_(set(keys))))}
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in known))
    if missing:
        fresh = np.asarray(embedder.embed_queries(missing), dtype=np.float32)
        with db.session() as s:
            for text, vector in zip(missing, fresh):
                if s.get(QuestionVector, (_key(text), embedder_id)) is None:
                    s.add(QuestionVector(key=_key(text), embedder=embedder_id, vector=vector.tobytes()))
                known[_key(text)] = vector
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    return np.stack([known[k] for k in keys])


def _syllables(text: str) -> frozenset[str]:
    return frozenset(w for w in "".join(ch if ch.isalnum() else " " for ch in fold(text).lower()).split() if len(w) > 1)


def likeness(texts: list[str], vecs: np.ndarray) -> np.ndarray:
    """(1 - w) * cosine above its floor + w * Jaccard of folded syllables, for every pair."""
    cos = (vecs @ vecs.T - COS_FLOOR) / (1 - COS_FLOOR)
    words = [_syllables(t) for t in texts]
    jac = np.array([[len(a & b) / len(a | b) if a | b else 0.0 for b in words] for a in words])
    return (1 - LEXICAL_WEIGHT) * cos + LEXICAL_WEIGHT * jac


def group(sim: np.ndarray, threshold: float = THRESHOLD) -> list[list[int]]:
    """Average-linkage agglomerative grouping: merge the two most alike groups while their mean likeness is at
    least `threshold`. Quadratic in memory, cubic at worst: meant for hundreds to a few thousand questions."""
    n = len(sim)
    groups = {i: [i] for i in range(n)}
    total = sim.astype(np.float64).copy()  # sum of likeness between groups i and j
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    np.fill_diagonal(total, -np.inf)
    while alive.sum() > 1:
        mean = total / np.outer(sizes, sizes)
        mean[~alive, :] = -np.inf
        mean[:, ~alive] = -np.inf
        np.fill_diagonal(mean, -np.inf)
        i, j = np.unravel_index(np.argmax(mean), mean.shape)
        if mean[i, j] < threshold:
            break
        total[i, :] += total[j, :]
        total[:, i] += total[:, j]
        total[i, i] = -np.inf
        sizes[i] += sizes[j]
        alive[j] = False
        groups[i] += groups.pop(j)
    return list(groups.values())


def clusters(asked: list[Asked], vecs_of, threshold: float = THRESHOLD) -> list[Cluster]:
    """Group the questions (the same text asked twice counts twice, embedded once); biggest first."""
    by_text: dict[str, list[Asked]] = {}
    for a in asked:
        by_text.setdefault(" ".join(fold(clean(a.text)).lower().split()), []).append(a)
    texts = [mask(rows[0].text)[:300] for rows in by_text.values()]
    if not texts:
        return []
    counts = [len(rows) for rows in by_text.values()]
    sim = likeness(texts, vecs_of(texts))
    out = []
    for members in group(sim, threshold):
        weights = np.array([counts[i] for i in members], dtype=float)
        central = members[int(np.argmax(sim[np.ix_(members, members)] @ weights))]
        ordered = sorted(members, key=lambda i: (-counts[i], -float(sim[central, i])))
        rows = [a for i in members for a in list(by_text.values())[i]]
        kinds: dict[str, int] = {}
        for a in rows:
            kinds[a.kind] = kinds.get(a.kind, 0) + 1
        out.append(Cluster(texts[central], int(weights.sum()), [texts[i] for i in ordered[:EXAMPLES]],
                           sorted({a.area for a in rows if a.area}), kinds))
    return sorted(out, key=lambda c: (-c.size, c.label))


def gaps(db: Database, embedder, embedder_id: str, since: dt.datetime | None = None, area: str | None = None,
         until: dt.datetime | None = None) -> list[Cluster]:
    """The groups of the questions asked in [since, until) (of `area` and its communes), biggest first (the report's
    sheet «Chủ đề còn thiếu», `python -m bot gaps` and the web admin's gaps page all come here)."""
    with db.session() as s:
        asked = collect(s, since, area, until)
    return clusters(asked, lambda texts: vectors(db, embedder, embedder_id, texts))


def purity(found: list[list[int]], labels: list[str]) -> tuple[float, float]:
    """Purity (each group counted by its most common label) and inverse purity (each label by the group holding
    most of it): 1.0 and 1.0 only when the grouping is the labelling."""
    n = len(labels)
    pure = sum(max(sum(labels[i] == lab for i in g) for lab in {labels[i] for i in g}) for g in found) / n
    inverse = sum(max(sum(labels[i] == lab for i in g) for g in found) for lab in set(labels)) / n
    return pure, inverse
