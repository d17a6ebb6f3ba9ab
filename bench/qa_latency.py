"""Warm question-answering latency against the cost of embedding one query alone, same process.

Usage: .venv/bin/python bench/qa_latency.py [--questions tests/data/eval] [--rounds 3]

Baseline: `embedder.embed_queries([q])` for the same questions (the irreducible model cost).
Measured: `engine.ask(q)` end to end (normalise, restore accents, embed, FAISS, BM25, fuse,
calibrate, format). Prints p50/p95 of both and their ratio. The ask cost grows with the number of
retrieval units (FAISS flat search and BM25 postings are linear in the index size) on top of the
fixed embedding cost.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import get_settings  # noqa: E402
from bot.evaluation import read_labelled  # noqa: E402
from bot.retrieval.service import open_engine  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default="tests/data/eval")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    engine = open_engine(settings.knowledge_dir, settings.index_dir, settings.embedder)
    questions = [i.question for i in read_labelled(Path(args.questions))]
    for q in questions[:10]:  # warm up caches and the model
        engine.ask(q)
    embed_ms, ask_ms = [], []
    for _ in range(args.rounds):
        for q in questions:  # interleaved, so both see the same machine load
            t = time.perf_counter()
            engine.embedder.embed_queries([q])
            embed_ms.append((time.perf_counter() - t) * 1000)
            engine.answers.clear()  # a new question each time: the answer cache is bench/answer_cache.py's
            t = time.perf_counter()
            engine.ask(q)
            ask_ms.append((time.perf_counter() - t) * 1000)
    e50, e95, a50, a95 = (percentile(embed_ms, 50), percentile(embed_ms, 95), percentile(ask_ms, 50), percentile(ask_ms, 95))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}; "
          f"index: {engine.index.manifest['units']} units, {len(engine.chunks)} chunks, {engine.embedder.id}")
    print(f"questions: {len(questions)} x {args.rounds} rounds")
    print(f"embed one query alone: p50 {e50:.1f} ms, p95 {e95:.1f} ms, mean {statistics.mean(embed_ms):.1f} ms")
    print(f"ask end to end:        p50 {a50:.1f} ms, p95 {a95:.1f} ms, mean {statistics.mean(ask_ms):.1f} ms")
    print(f"ratio ask/embed:       p50 {a50 / e50:.2f}x, p95 {a95 / e95:.2f}x (ask p95 / embed p95)")


if __name__ == "__main__":
    main()
