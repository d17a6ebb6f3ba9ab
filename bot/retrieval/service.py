"""Open a ready-to-answer engine: check the index, rebuild it when stale, refuse a mismatch."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Protocol

from bot.retrieval.embedders import Embedder, make_embedder
from bot.retrieval.engine import Engine
from bot.retrieval.warm_start import open_warm
from bot.retrieval.store import BuildReport, IndexUnavailable, build_index, index_state, load_index, read_manifest


class ConsoleProgress:
    """One build's progress on stderr: a live line on a terminal, a line every 10% in a log."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.shown = -1

    def update(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.start
        eta = elapsed / done * (total - done) if done else 0
        line = f"embedding {done}/{total} ({100 * done // max(total, 1)}%), {elapsed:.0f}s elapsed, ~{eta:.0f}s left"
        if sys.stderr.isatty():
            print(f"\r{line}  ", end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif (10 * done // max(total, 1)) != self.shown:
            self.shown = 10 * done // max(total, 1)
            print(line, file=sys.stderr, flush=True)


class BuildProgress(Protocol):
    """Told how far a build is (the web chat's "getting ready" page shows it)."""

    def update(self, done: int, total: int) -> None: ...


def build(kb_dir: Path, index_dir: Path, embedder: Embedder, progress: BuildProgress | None = None) -> BuildReport:
    console = ConsoleProgress()

    def report_progress(done: int, total: int) -> None:
        console.update(done, total)
        if progress:
            progress.update(done, total)

    report = build_index(kb_dir, index_dir, embedder, progress=report_progress)
    print(
        f"index built in {report.seconds:.1f}s: {report.chunks} chunks, {report.units} units, "
        f"{report.embedded} embedded now ({report.units - report.embedded} from cache), "
        f"peak memory {report.peak_rss_mb:.0f} MB -> {index_dir}",
        file=sys.stderr,
    )
    return report


def open_engine(
    kb_dir: Path, index_dir: Path, embedder_id: str, embedder: Embedder | None = None, progress: BuildProgress | None = None
) -> Engine:
    """An engine over an up-to-date index; a missing or stale index is (re)built first."""
    state = index_state(index_dir, kb_dir, embedder_id)
    if state == "mismatch":
        built = read_manifest(index_dir)["embedder"]
        raise IndexUnavailable(
            f"the index in {index_dir} was built with embedder '{built}', but '{embedder_id}' is configured. "
            f"Rebuild it with `python -m bot index build --embedder {embedder_id}` or set EMBEDDER={built}."
        )
    embedder = embedder or make_embedder(embedder_id)
    if state != "ready":
        print(f"index is {state}; building it from {kb_dir} ...", file=sys.stderr)
        build(kb_dir, index_dir, embedder, progress)
    try:
        index = load_index(index_dir)
    except IndexUnavailable as exc:  # damaged files: rebuild once (cheap: embeddings are cached)
        print(f"warning: {exc}; rebuilding the index now", file=sys.stderr)
        build(kb_dir, index_dir, embedder)
        index = load_index(index_dir)
    return open_warm(index_dir, index, embedder)
