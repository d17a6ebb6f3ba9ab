"""Repeated questions against new ones, same process: the answer cache (bot/retrieval/answer_cache.py).

Usage: .venv/bin/python bench/answer_cache.py [--questions tests/data/eval] [--fill 2048]

Baseline: the first `engine.ask(q)` of each distinct question (a new question: normalise, embed,
search, weigh). Measured: the same questions asked again (served from the cache). Prints p50/p95 of
both, their ratio, and the memory the cache holds when full (tracemalloc over `--fill` distinct
answers). A cache hit costs a dictionary lookup and a deep copy of one Answer: it grows with the
answer's size (its ranking and candidates), not with the knowledge base.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import get_settings  # noqa: E402
from bot.evaluation import read_labelled  # noqa: E402
from bot.retrieval.answer_cache import MAX_ENTRIES, AnswerCache  # noqa: E402
from bot.retrieval.service import open_engine  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(engine, question: str) -> float:
    started = time.perf_counter()
    engine.ask(question)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default="tests/data/eval")
    parser.add_argument("--fill", type=int, default=MAX_ENTRIES)
    args = parser.parse_args()
    settings = get_settings()
    engine = open_engine(settings.knowledge_dir, settings.index_dir, settings.embedder)
    questions = list(dict.fromkeys(item.question for item in read_labelled(Path(args.questions))))
    engine.ask("khởi động")  # load the model's lazy parts once
    new = [timed(engine, q) for q in questions]
    repeated = [timed(engine, q) for q in questions]
    print(f"{len(questions)} distinct questions, {len(engine.chunks)} chunks, load average {os.getloadavg()[0]:.2f}")
    print(f"{'':24}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'new question':24}{percentile(new, 50):10.3f}{percentile(new, 95):10.3f}")
    print(f"{'repeated question':24}{percentile(repeated, 50):10.3f}{percentile(repeated, 95):10.3f}")
    print(f"ratio repeated/new: p50 {percentile(repeated, 50) / percentile(new, 50):.3f}x, p95 {percentile(repeated, 95) / percentile(new, 95):.3f}x")
    sample = engine.ask(questions[0])
    cache: AnswerCache = AnswerCache(args.fill)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(args.fill):
        sample.question = f"{questions[n % len(questions)]} {n}"
        cache.put(n, sample)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"cache memory when full: {used / 1e6:.1f} MB for {len(cache)} answers ({used / len(cache) / 1e3:.1f} KB each)")


if __name__ == "__main__":
    main()
