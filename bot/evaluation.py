"""Run a labelled question set through the engine and report retrieval and declining quality.

A labelled line: {"question": "...", "expected": ["vneid-cai-dat"], "style": "unaccented",
"topic": "vneid"}. An empty `expected` marks an out-of-scope question the engine must decline.
Ids without a prefix are FAQ ids; guide and source chunks are named with theirs ('guide:...').
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.retrieval.engine import CALIBRATION, Engine


@dataclass
class Labelled:
    question: str
    expected: set[str]
    style: str
    topic: str


def read_labelled(path: Path) -> list[Labelled]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    items = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                expected = {e if ":" in e else f"faq:{e}" for e in row.get("expected") or []}
                items.append(Labelled(row["question"], expected, row.get("style", "accented"), row.get("topic", "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{f}:{n}: not a labelled question ({exc})") from exc
    return items


def evaluate(engine: Engine, items: list[Labelled]) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    rows = []
    for item in items:
        answer = engine.ask(item.question)
        ranking = [c.id for c, _ in engine.search(item.question, k=10)] if item.expected else []
        rank = next((r for r, cid in enumerate(ranking, 1) if cid in item.expected), None)
        row = {
            "question": item.question,
            "in_scope": bool(item.expected),
            "answered": answer.answered,
            "hit": answer.answered and answer.chunk_id in item.expected,
            "top_correct": bool(ranking) and ranking[0] in item.expected,
            "rr": 1.0 / rank if rank else 0.0,
            "latency_ms": answer.latency_ms,
            "chunk_id": answer.chunk_id,
            "confidence": answer.confidence,
            "features": answer.features,
            "expected": sorted(item.expected),
        }
        rows.append(row)
        groups["overall"].append(row)
        groups[f"style:{item.style}"].append(row)
        if item.topic:
            groups[f"topic:{item.topic}"].append(row)
        if not item.expected:
            groups["out_of_scope"].append(row)
    return {"metrics": {name: _metrics(rs) for name, rs in sorted(groups.items())}, "rows": rows}


def _metrics(rows: list[dict]) -> dict:
    inscope = [r for r in rows if r["in_scope"]]
    oos = [r for r in rows if not r["in_scope"]]
    lat = np.array([r["latency_ms"] for r in rows]) if rows else np.zeros(1)
    out = {"n": len(rows), "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1)}
    if inscope:
        out["hit@1"] = round(sum(r["hit"] for r in inscope) / len(inscope), 3)
        out["mrr@10"] = round(sum(r["rr"] for r in inscope) / len(inscope), 3)
        out["false_decline"] = round(sum(not r["answered"] for r in inscope) / len(inscope), 3)
    if oos:
        out["oos_decline"] = round(sum(not r["answered"] for r in oos) / len(oos), 3)
    return out


def format_report(metrics: dict) -> str:
    cols = ["n", "hit@1", "mrr@10", "false_decline", "oos_decline", "p50_ms", "p95_ms"]
    lines = [f"{'group':28}" + "".join(f"{c:>14}" for c in cols)]
    for name, m in metrics.items():
        lines.append(f"{name:28}" + "".join(f"{str(m.get(c, '-')):>14}" for c in cols))
    return "\n".join(lines)


def fit_calibration(rows: list[dict], steps: int = 4000, lr: float = 0.5) -> dict[str, float]:
    """Logistic regression of 'the knowledge base covers this question' on the confidence features.

    Declining is a scope decision: in-scope questions are positives, out-of-scope ones negatives
    (a wrong top answer to an in-scope question is a ranking error, not a reason to decline).
    Prints weights to review and copy into engine.CALIBRATION; nothing is changed automatically.
    """
    names = [k for k in CALIBRATION if k != "bias"]
    usable = [r for r in rows if r["features"] and all(k in r["features"] for k in names)]
    x = np.array([[r["features"][k] for k in names] for r in usable], dtype=np.float64)
    y = np.array([1.0 if r["in_scope"] else 0.0 for r in usable])
    # Both classes weigh the same, however many questions each has.
    weight = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1)) * len(y)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sd  # standardised: the features live on very different ranges
    w, b = np.zeros(len(names)), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        grad = (p - y) * weight
        w -= lr * (z.T @ grad / len(y) + 1e-2 * w)
        b -= lr * grad.mean()
    w_raw = w / sd
    b_raw = b - float((w * mu / sd).sum())
    return {"bias": round(float(b_raw), 3), **{k: round(float(v), 3) for k, v in zip(names, w_raw)}}
