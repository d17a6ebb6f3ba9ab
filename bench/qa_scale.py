"""Question answering at scale: warm latency and throughput on the real index and on synthetic bases.

Usage: .venv/bin/python bench/qa_scale.py [--sizes 10000 100000] [--seconds 20] [--rounds 1]

Not a test. Every figure is printed next to the baseline measured in the same run: embedding one
query alone (`embedder.embed_queries([q])`, the irreducible model cost), interleaved with the asks
so both see the same machine load.

1. Warm `engine.ask` p50/p95 on the real index, then on synthetic bases of 10k and 100k chunks.
   Synthetic chunks are NOT embedded (that would take hours): each copies a real chunk, its text
   followed by a sentence of another real chunk (real-ish words for BM25), and its units' vectors
   perturbed by small Gaussian noise (sigma 0.02, renormalised). Retrieval cost is what is measured;
   their answers mean nothing.
2. Throughput (answers/s) with 1 and 2 worker processes on the real index, each with its own engine
   (how `python -m bot run` scales: one engine per process). It depends on OMP_NUM_THREADS: the
   embedding uses every core by default, so set it to cores / workers (see bench/README.md).
3. Lexical-only vs dense-only vs fused ranking: hit@1 (top chunk among the expected ones) on
   tests/data/eval, and the cost per query of each.

Cost grows with: the embedding (fixed per query, grows with its length); FAISS flat search, linear
in the number of units; BM25, linear in the postings of the query's terms (so in the base size).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import os
import platform
import random
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.qa_latency import percentile  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.evaluation import read_labelled  # noqa: E402
from bot.retrieval.embedders import make_embedder  # noqa: E402
from bot.retrieval.engine import MAX_QUESTION_CHARS, Engine  # noqa: E402
from bot.retrieval.lexical import query_terms  # noqa: E402
from bot.retrieval.store import LoadedIndex, Unit, index_state, load_index  # noqa: E402
from bot.textnorm import clean, expand_abbreviations  # noqa: E402

NOISE = 0.02


def real_engine() -> Engine:
    settings = get_settings()
    state = index_state(settings.index_dir, settings.knowledge_dir, settings.embedder)
    if state != "ready":
        raise SystemExit(f"the index in {settings.index_dir} is {state}; run `python -m bot index build` first")
    return Engine(load_index(settings.index_dir), make_embedder(settings.embedder))


def synthetic_index(real: LoadedIndex, size: int, seed: int = 7) -> LoadedIndex:
    """`size` chunks: the real ones, then perturbed copies of them (see the module docstring)."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    vectors = real.vectors.reconstruct_n(0, real.vectors.ntotal)
    units_of: dict[int, list[int]] = {}
    for u, unit in enumerate(real.units):
        units_of.setdefault(unit.chunk, []).append(u)
    chunks, units, rows = list(real.chunks), list(real.units), [vectors]
    for j in range(len(real.chunks), size):
        base = j % len(real.chunks)
        other = real.chunks[pick.randrange(len(real.chunks))].text.split(". ")[0]
        chunks.append(dataclasses.replace(real.chunks[base], id=f"{real.chunks[base].id}~{j}",
                                          text=f"{real.chunks[base].text}\n{other}"))
        ids = units_of[base]
        units.extend(Unit(j, real.units[u].text, real.units[u].kind) for u in ids)
        noisy = vectors[ids] + rng.normal(0, NOISE, (len(ids), vectors.shape[1])).astype(np.float32)
        rows.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.concatenate(rows).astype(np.float32))
    return LoadedIndex({**real.manifest, "chunks": len(chunks), "units": len(units)}, chunks, units, index)


def latency(engine: Engine, questions: list[str], rounds: int) -> tuple[list[float], list[float]]:
    for q in questions[:10]:  # warm up
        engine.ask(q)
    embed_ms, ask_ms = [], []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            engine.embedder.embed_queries([q])
            embed_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            engine.ask(q)
            ask_ms.append((time.perf_counter() - t) * 1000)
    return embed_ms, ask_ms


def report_latency(name: str, engine: Engine, embed_ms: list[float], ask_ms: list[float], setup_s: float) -> None:
    e50, e95, a50, a95 = (percentile(embed_ms, 50), percentile(embed_ms, 95), percentile(ask_ms, 50), percentile(ask_ms, 95))
    print(f"{name:>14}: {len(engine.chunks):>7} chunks {engine.index.vectors.ntotal:>7} units | "
          f"ask p50 {a50:7.1f} ms p95 {a95:7.1f} ms | embed alone p50 {e50:6.1f} p95 {e95:6.1f} | "
          f"ratio p50 {a50 / e50:5.2f}x p95 {a95 / e95:5.2f}x | engine setup {setup_s:.1f} s")


def _worker(questions: list[str], seconds: float, start, out) -> None:
    engine = real_engine()
    for q in questions[:5]:
        engine.ask(q)
    start.wait()
    done, deadline, i = 0, time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        engine.ask(questions[i % len(questions)])
        done, i = done + 1, i + 1
    out.put(done)


def throughput(questions: list[str], workers: int, seconds: float) -> float:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(questions, seconds, start, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    start.wait()  # every worker has loaded its engine
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def rank_lexical(engine: Engine, text: str) -> int:
    scores = engine.lexical.scores(query_terms(expand_abbreviations(text)))
    return int(np.argmax(scores)) if len(scores) and scores.max() > 0 else -1


def rank_dense(engine: Engine, text: str) -> int:
    dense_text = engine._read(text).dense_text
    sims, ids = engine.index.vectors.search(engine.embedder.embed_queries([dense_text]), 64)
    best: dict[int, float] = {}
    for sim, unit in zip(sims[0], ids[0]):
        if unit >= 0:
            c = int(engine._unit_chunk[unit])
            best[c] = max(best.get(c, -1.0), float(sim - engine._unit_offset[unit]))
    return max(best, key=best.get) if best else -1


def rank_fused(engine: Engine, text: str) -> int:
    ranked, _ = engine._rank(engine._read(text))
    return ranked[0][0] if ranked else -1


def quality(engine: Engine, labelled) -> None:
    items = [i for i in labelled if i.expected]
    results = {}
    for name, rank in (("lexical only", rank_lexical), ("dense only", rank_dense), ("fused", rank_fused)):
        hits, ms = 0, []
        for item in items:
            text = clean(item.question)[:MAX_QUESTION_CHARS]
            t = time.perf_counter()
            best = rank(engine, text)
            ms.append((time.perf_counter() - t) * 1000)
            hits += best >= 0 and engine.chunks[best].id in item.expected
        results[name] = (hits / len(items), percentile(ms, 50), percentile(ms, 95))
    base = results["fused"]
    print(f"ranking quality on {len(items)} in-scope labelled questions (tests/data/eval), top chunk only:")
    for name, (hit, p50, p95) in results.items():
        print(f"  {name:>12}: hit@1 {hit:.3f} ({hit - base[0]:+.3f} vs fused) | p50 {p50:6.1f} ms p95 {p95:6.1f} ms "
              f"({p50 / base[1]:.2f}x fused p50)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default=str(ROOT / "tests" / "data" / "eval"))
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each throughput run")
    args = parser.parse_args()
    labelled = read_labelled(Path(args.questions))
    questions = [i.question for i in labelled]
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load:.1f} at start; {len(questions)} questions x {args.rounds} rounds")

    t = time.perf_counter()
    engine = real_engine()
    report_latency("real index", engine, *latency(engine, questions, args.rounds), time.perf_counter() - t)
    for size in args.sizes:
        t = time.perf_counter()
        synthetic = Engine(synthetic_index(engine.index, size), engine.embedder)
        report_latency(f"synthetic {size // 1000}k", synthetic, *latency(synthetic, questions, args.rounds),
                       time.perf_counter() - t)
        del synthetic

    quality(engine, labelled)

    one = throughput(questions, 1, args.seconds)
    two = throughput(questions, 2, args.seconds)
    print(f"throughput on the real index: 1 worker {one:.1f} answers/s, 2 workers {two:.1f} answers/s "
          f"({two / one:.2f}x); load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
