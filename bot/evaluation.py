"""Run labelled questions through the engine: what it answered, asked back or declined, and how right.

Two formats, one line per question:
- real questions: {"id", "question", "expected", "partly", "in_scope", "style", "topic"}; `in_scope`
  true with an empty `expected` means the knowledge base has no answer (answering is wrong);
- the project's older sets (tests/data/eval, tests/data/heldout): no `in_scope`; an empty `expected`
  marks an out-of-scope question.
Ids without a prefix are FAQ ids; guide and source chunks are named with theirs ('guide:...').
Label overlays ({"id", "expected", "partly"} per line) replace the labels of the row with that id:
content writers add them when new entries answer questions of a shared set.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot import intents
from bot.retrieval.engine import CALIBRATION, SCOPE, Engine, decide

OVERLAY_DIR = Path("tests/data/real/labels")
# What happened to a question, by the kind of question.
OUTCOMES = (
    "answered_right", "answered_partly", "answered_wrong", "clarified_right", "clarified_wrong",
    "declined_no_answer", "declined_answerable", "oos_declined", "oos_answered", "oos_clarified",
)


@dataclass
class Labelled:
    question: str
    expected: set[str]
    style: str = "accented"
    topic: str = ""
    in_scope: bool = True
    partly: set[str] = field(default_factory=set)
    id: str = ""
    variant_of: str = ""  # a folded copy's original: the same question, so the same labels

    @property
    def answerable(self) -> bool:
        return bool(self.expected)


def _ids(values) -> set[str]:
    return {e if ":" in e else f"faq:{e}" for e in values or []}


def read_labelled(path: Path) -> list[Labelled]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    items = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                expected = _ids(row.get("expected"))
                in_scope = bool(row["in_scope"]) if "in_scope" in row else bool(expected)
                items.append(
                    Labelled(
                        question=row["question"], expected=expected, style=row.get("style") or "accented",
                        topic=row.get("topic") or "", in_scope=in_scope, partly=_ids(row.get("partly")),
                        id=str(row.get("id") or ""), variant_of=str(row.get("variant_of") or ""),
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{f}:{n}: not a labelled question ({exc})") from exc
    return items


def read_overlays(paths: list[Path]) -> dict[str, tuple[set[str], set[str]]]:
    """Label overlays by question id: (expected, partly); later files win."""
    labels: dict[str, tuple[set[str], set[str]]] = {}
    for f in paths:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                labels[str(row["id"])] = (_ids(row.get("expected")), _ids(row.get("partly")))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{f}:{n}: not a label overlay ({exc})") from exc
    return labels


def _natural(path: Path) -> list:
    """Sort key reading digit runs as numbers: content9-x before content10-x."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def default_overlays(root: Path = Path(".")) -> list[Path]:
    """The overlay files in the order they apply (later wins): by name, numbers read as numbers."""
    directory = root / OVERLAY_DIR
    return sorted(directory.glob("*.jsonl"), key=_natural) if directory.is_dir() else []


def relabel(items: list[Labelled], labels: dict[str, tuple[set[str], set[str]]]) -> int:
    """Apply overlays in place; returns how many rows changed labels. A folded copy takes its original's
    overlay (it is the same question typed without diacritics); its own line applies only when the
    original has none, so a newer line for the original always reaches its copies."""
    changed = 0
    for item in items:
        key = item.variant_of if item.variant_of in labels else item.id
        if key and key in labels:
            expected, partly = labels[key]
            if (expected, partly) != (item.expected, item.partly):
                item.expected, item.partly = expected, partly
                changed += 1
    return changed


def outcome(item: Labelled, mode: str, chunk_id: str, candidates: list[str]) -> str:
    """What happened to the question. Mode "emergency": the conversation replied with the emergency
    numbers before asking the engine (no entry), which counts as a decline."""
    if not item.in_scope:
        return {"answer": "oos_answered", "clarify": "oos_clarified"}.get(mode, "oos_declined")
    if mode == "answer":
        if chunk_id in item.expected:
            return "answered_right"
        return "answered_partly" if chunk_id in item.partly else "answered_wrong"
    if mode == "clarify":
        return "clarified_right" if set(candidates) & item.expected else "clarified_wrong"
    return "declined_answerable" if item.answerable else "declined_no_answer"


def evaluate(engine: Engine, items: list[Labelled]) -> dict:
    rows = []
    for item in items:
        answer = engine.ask(item.question)
        ranking = [r["chunk_id"] for r in answer.ranking]
        rank = next((r for r, cid in enumerate(ranking, 1) if cid in item.expected), None)
        candidates = [c["chunk_id"] for c in answer.candidates]
        mode, chunk_id = answer.mode, answer.chunk_id
        if intents.is_emergency(item.question):  # as the conversation does, before the engine
            mode, chunk_id, candidates = "emergency", "", []
        row = {
            "id": item.id,
            "question": item.question,
            "style": item.style,
            "variant_of": item.variant_of,
            "topic": item.topic,
            "in_scope": item.in_scope,
            "answerable": item.answerable,
            "mode": mode,
            "outcome": outcome(item, mode, chunk_id, candidates),
            "rr": 1.0 / rank if rank else 0.0,
            "latency_ms": answer.latency_ms,
            "chunk_id": chunk_id,
            "candidates": candidates,
            "confidence": answer.confidence,
            "top": ranking[0] if ranking else "",
            "features": answer.features,
            "pool": answer.ranking,
            "expected": sorted(item.expected),
            "partly": sorted(item.partly),
        }
        rows.append(row)
    return {"metrics": grouped_metrics(rows), "rows": rows}


def evaluate_merge(results: list[dict]) -> dict:
    """Several files' results as one."""
    rows = [r for result in results for r in result["rows"]]
    return {"metrics": grouped_metrics(rows), "rows": rows}


def grouped_metrics(rows: list[dict]) -> dict:
    """Metrics overall, per style, per topic and for the out-of-scope questions.

    The style groups hold different questions (every original is accented, only some also have a
    folded copy); the pair groups compare like with like: each folded copy and its own original."""
    groups: dict[str, list[dict]] = defaultdict(list)
    by_id = {row.get("id"): row for row in rows if row.get("id")}
    for row in rows:
        groups["overall"].append(row)
        groups[f"style:{row['style']}"].append(row)
        original = by_id.get(row.get("variant_of") or None)
        if original is not None:
            groups["pair:accented"].append(original)
            groups["pair:unaccented"].append(row)
        if row["topic"]:
            groups[f"topic:{row['topic']}"].append(row)
        if not row["in_scope"]:
            groups["out_of_scope"].append(row)
    return {name: _metrics(rs) for name, rs in sorted(groups.items())}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _metrics(rows: list[dict]) -> dict:
    count = {o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES}
    in_scope = [r for r in rows if r["in_scope"]]
    answerable = [r for r in in_scope if r["answerable"]]
    unanswerable = len(in_scope) - len(answerable)
    oos = len(rows) - len(in_scope)
    lat = np.array([r["latency_ms"] for r in rows]) if rows else np.zeros(1)
    out = {"n": len(rows), "answerable": len(answerable), "no_answer": unanswerable, "oos": oos, **count}
    out["emergency"] = sum(r.get("mode") == "emergency" for r in rows)  # given the emergency numbers
    out.update(
        {
            # how much of what people ask the knowledge base answers at all (labels, not the engine)
            "kb_answers": _rate(len(answerable), len(in_scope)),
            "kb_answers_or_partly": _rate(sum(1 for r in in_scope if r["answerable"] or r["partly"]), len(in_scope)),
            # hit@1 = answered right, of the questions the knowledge base answers
            "hit@1": _rate(count["answered_right"], len(answerable)),
            "useful": _rate(count["answered_right"] + count["clarified_right"], len(answerable)),
            # the entry ranked first is a right one, whatever the decision (retrieval quality)
            "top1": _rate(sum(r["top"] in r["expected"] for r in answerable), len(answerable)),
            "clarified_right_rate": _rate(count["clarified_right"], len(answerable)),
            "wrong": _rate(count["answered_wrong"], len(in_scope)),
            "false_decline": _rate(count["declined_answerable"], len(answerable)),
            "no_answer_declined": _rate(count["declined_no_answer"], unanswerable),
            "oos_decline": _rate(count["oos_declined"], oos),
            "mrr": _rate(sum(r["rr"] for r in answerable), len(answerable)) if answerable else None,
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p95_ms": round(float(np.percentile(lat, 95)), 1),
        }
    )
    return {k: v for k, v in out.items() if v is not None}


REPORT_COLUMNS = (
    ("n", "n"), ("kb_answers", "kb.ans"), ("kb_answers_or_partly", "kb.part"), ("hit@1", "right"), ("useful", "useful"), ("top1", "top1"),
    ("wrong", "wrong"), ("false_decline", "decl.ans"),
    ("no_answer_declined", "decl.none"), ("oos_decline", "oos.decl"), ("clarified_right", "clar.ok"),
    ("clarified_wrong", "clar.no"), ("answered_partly", "partly"), ("emergency", "emerg."), ("mrr", "mrr"), ("p95_ms", "p95_ms"),
)


def format_report(metrics: dict) -> str:
    """One line per group. Rates: kb.ans of the in-scope questions whose labels name an answering
    entry (kb.part: or one answering part of it), right/useful/top1/decl.ans of the answerable questions
    (top1: the entry ranked first is right, whatever was decided),
    wrong of the in-scope ones, decl.none of those the base has no answer for, oos.decl of the out-of-scope ones;
    clar.ok, clar.no, partly and emerg. (given the emergency numbers) are counts."""
    lines = [f"{'group':26}" + "".join(f"{title:>10}" for _, title in REPORT_COLUMNS)]
    for name, m in metrics.items():
        lines.append(f"{name[:26]:26}" + "".join(f"{str(m.get(key, '-')):>10}" for key, _ in REPORT_COLUMNS))
    return "\n".join(lines)


def risk_coverage(rows: list[dict], thresholds: list[float] | None = None) -> list[dict]:
    """Answering whenever the best entry's P >= t (no clarify): how many questions get an answer
    (coverage, of all) and how many of those answers are wrong (risk), and wrong of the in-scope."""
    thresholds = thresholds or [round(0.05 * k, 2) for k in range(0, 20)]
    in_scope = sum(r["in_scope"] for r in rows) or 1
    curve = []
    for t in thresholds:
        answered = [r for r in rows if r["top"] and r["confidence"] >= t and not _blocked(r) and r["mode"] != "emergency"]
        wrong = [r for r in answered if not r["in_scope"] or (r["top"] not in r["expected"] and r["top"] not in r["partly"])]
        wrong_in_scope = sum(1 for r in wrong if r["in_scope"])
        curve.append(
            {
                "threshold": t,
                "coverage": round(len(answered) / max(len(rows), 1), 3),
                "risk": round(len(wrong) / len(answered), 3) if answered else 0.0,
                "wrong_of_in_scope": round(wrong_in_scope / in_scope, 3),
            }
        )
    return curve


def format_curve(curve: list[dict]) -> str:
    lines = [f"{'P >=':>6}{'answered':>10}{'wrong/ans':>11}{'wrong/in-scope':>16}"]
    lines += [f"{c['threshold']:>6}{c['coverage']:>10}{c['risk']:>11}{c['wrong_of_in_scope']:>16}" for c in curve]
    return "\n".join(lines)


def _blocked(row: dict) -> bool:
    f = row["features"]
    return bool(f.get("document_miss") or f.get("number_miss"))


# -- fitting ------------------------------------------------------------------------------------


def fit_calibration(rows: list[dict]) -> dict[str, float]:
    """Logistic regression of 'this entry answers the question' on the evidence features.

    Every entry the engine weighed for a question is one example: positive when it is an expected
    entry, negative otherwise (out-of-scope questions and those the base has no answer for give
    only negatives); entries that answer part of a question are left out.
    Prints weights to review and copy into engine.CALIBRATION; nothing is changed automatically.
    """
    names = [k for k in CALIBRATION if k != "bias"]
    x, y, weight = [], [], []
    for r in rows:
        for cand in r["pool"]:
            if cand["chunk_id"] in r["partly"] and cand["chunk_id"] not in r["expected"]:
                continue
            x.append([cand["features"][k] for k in names])
            y.append(1.0 if cand["chunk_id"] in r["expected"] else 0.0)
            weight.append(r.get("weight", 1.0))
    return _logistic(names, x, y, weight)


def fit_scope(rows: list[dict]) -> dict[str, float]:
    """Logistic regression of 'the question is in scope' on the best-ranked entry's closeness and
    coverage (engine.SCOPE): in-scope questions, answerable or not, against out-of-scope ones."""
    names = [k for k in SCOPE if k != "bias"]
    usable = [r for r in rows if r["pool"]]
    x = [[r["pool"][0]["features"][k] for k in names] for r in usable]
    return _logistic(names, x, [1.0 if r["in_scope"] else 0.0 for r in usable], [r.get("weight", 1.0) for r in usable])


def _logistic(names: list[str], x: list, y: list, sample_weight: list, steps: int = 3000, lr: float = 0.5, l2: float = 1e-2) -> dict[str, float]:
    """L2-regularised logistic regression on standardised features; both classes weigh the same in
    total, and each example by its sample weight (each labelled file weighs the same, see
    weigh_files). Deterministic (plain gradient descent from zero): the same rows give the same weights."""
    x, y, sw = np.array(x, dtype=np.float64), np.array(y), np.array(sample_weight, dtype=np.float64)
    weight = np.where(y == 1, 0.5 * sw / max((sw * y).sum(), 1e-9), 0.5 * sw / max((sw * (1 - y)).sum(), 1e-9)) * len(y)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sd  # standardised: the features live on very different ranges
    w, b = np.zeros(len(names)), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        grad = (p - y) * weight
        w -= lr * (z.T @ grad / len(y) + l2 * w)
        b -= lr * grad.mean()
    w_raw = w / sd
    b_raw = b - float((w * mu / sd).sum())
    return {"bias": round(float(b_raw), 3), **{k: round(float(v), 3) for k, v in zip(names, w_raw)}}


def weigh_files(results: list[list[dict]]) -> list[dict]:
    """Rows of several labelled files, each file weighing the same in a fit however long it is
    (the project's own long development set would otherwise outweigh the real questions)."""
    rows = []
    for file_rows in results:
        for r in file_rows:
            rows.append({**r, "weight": 1.0 / max(len(file_rows), 1)})
    return rows


def replay(rows: list[dict], calibration: dict[str, float], scope: dict[str, float], **thresholds: float) -> dict[str, int]:
    """The outcomes the engine would give with other weights and thresholds (engine.decide's keyword
    arguments), from the evidence it recorded (no re-embedding): to choose thresholds after a fit."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for r in rows:
        scored = sorted(((c["chunk_id"], _p(calibration, c["features"]), c["features"]) for c in r["pool"]), key=lambda x: -x[1])
        best = {**scored[0][2], "scope": _p(scope, scored[0][2])} if scored else {}
        misses = [f.get("audience_miss", 0.0) > 0 for _, _, f in scored]
        if r["mode"] == "emergency":  # answered before the engine, whatever its weights
            mode, chosen = "emergency", []
        else:
            mode, chosen = decide([c for c, _, _ in scored], [p for _, p, _ in scored], best, misses=misses, **thresholds)
        chunk = scored[chosen[0]][0] if mode == "answer" else ""
        offered = [scored[n][0] for n in chosen] if mode == "clarify" else []
        item = Labelled(r["question"], set(r["expected"]), in_scope=r["in_scope"], partly=set(r["partly"]))
        counts[outcome(item, mode, chunk, offered)] += 1
    return counts


def _p(calibration: dict[str, float], features: dict[str, float]) -> float:
    x = calibration["bias"] + sum(w * features[k] for k, w in calibration.items() if k != "bias")
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, x))))


def threshold_table(rows: list[dict], calibration: dict[str, float], scope: dict[str, float]) -> str:
    """Outcomes for a grid of thresholds with the given weights (printed by `eval --fit`)."""
    in_scope = sum(r["in_scope"] for r in rows) or 1
    answerable = sum(r["answerable"] for r in rows) or 1
    oos = sum(not r["in_scope"] for r in rows) or 1
    lines = [f"{'answer>=':>9}{'margin':>8}{'clarify>=':>10}{'scope>=':>8}{'right':>8}{'useful':>8}{'wrong':>8}{'oos.decl':>9}"]
    for answer_at in (0.7, 0.8, 0.9, 0.95):
        for margin in (0.0, 0.2, 0.4):
            for clarify_at in (0.3, 0.5):
                for scope_clarify in (0.5, 0.6, 0.7):
                    c = replay(rows, calibration, scope, answer_at=answer_at, margin=margin, clarify_at=clarify_at, scope_clarify=scope_clarify)
                    lines.append(
                        f"{answer_at:>9}{margin:>8}{clarify_at:>10}{scope_clarify:>8}{c['answered_right'] / answerable:>8.3f}"
                        f"{(c['answered_right'] + c['clarified_right']) / answerable:>8.3f}"
                        f"{c['answered_wrong'] / in_scope:>8.3f}{c['oos_declined'] / oos:>9.3f}"
                    )
    return "\n".join(lines)
