"""Make FAQ changes answerable within seconds in every running process, without rebuilding the index.

Each process polls the FAQ change counter (the highest `faq_versions` id) every few seconds. When it
moves, the FAQ files are read again and compared with the chunks the engine serves; only the units
of changed entries whose text is new are embedded (everything else reuses the vectors in service or
the index's embedding cache, keyed by content hash), and the engine swaps in the new chunk table,
vectors and lexical index at once. The knowledge directory is shared by every process on the host.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.faq.models import FaqVersion
from bot.knowledge.loaders import load_faq
from bot.knowledge.models import Chunk, KnowledgeError
from bot.retrieval.engine import Engine
from bot.retrieval.store import EmbeddingCache, units_of
from bot.storage.db import Database

POLL_SECONDS = 2.0


@dataclass
class RefreshReport:
    version: int
    changed: list[str]  # chunk ids added, edited or retired
    units: int  # retrieval units served now
    embedded: int  # units embedded for this refresh (the rest were known)
    seconds: float


def change_counter(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.coalesce(func.max(FaqVersion.id), 0))))


class LiveFaq:
    """Keeps one engine in step with the FAQ files of a knowledge directory."""

    def __init__(self, engine: Engine, db: Database, kb_dir: Path, index_dir: Path, interval: float = POLL_SECONDS) -> None:
        self.engine, self.db = engine, db
        self.kb_dir, self.cache_dir = Path(kb_dir), Path(index_dir) / "cache"
        self.interval = interval
        self.seen = -1  # the first poll compares the files with the engine, whatever the counter says
        self.last: RefreshReport | None = None
        self._parsed: dict[Path, tuple[bytes, list[Chunk]]] = {}  # per file: content hash, its chunks
        self._seen_stamps: dict[str, tuple[int, int]] = {}

    def _stamps(self) -> dict[str, tuple[int, int]]:
        """Each FAQ file's modification time and size: cheap to read every poll."""
        out = {}
        for path in (self.kb_dir / "faq").glob("*.y*ml"):
            try:
                st = path.stat()
            except FileNotFoundError:  # retired while listing
                continue
            out[path.name] = (st.st_mtime_ns, st.st_size)
        return out

    def poll(self) -> RefreshReport | None:
        """Refresh if the change counter moved, or a FAQ file changed since (a version's files are moved into
        place just after it commits: bot/faq/store.py); the report when something changed."""
        version = change_counter(self.db)
        stamps = self._stamps()
        if version == self.seen and stamps == self._seen_stamps:
            return None
        self._seen_stamps = stamps
        report = self.refresh(version)
        self.seen = version
        if report:
            self.last = report
        return report

    def refresh(self, version: int) -> RefreshReport | None:
        started = time.perf_counter()
        faq = self._faq_chunks()
        served = {c.id: c for c in self.engine.chunks if c.kind == "faq"}
        fresh = {c.id: c for c in faq}
        changed = sorted(i for i in served.keys() | fresh.keys() if served.get(i) != fresh.get(i))
        if not changed:
            return None
        chunks = faq + [c for c in self.engine.chunks if c.kind != "faq"]
        units = units_of(chunks)
        index = self.engine.index
        known = dict(zip((u.text for u in index.units), index.vectors.reconstruct_n(0, index.vectors.ntotal)))
        cache = EmbeddingCache(self.cache_dir, self.engine.embedder.id)
        missing = sorted({u.text for u in units if u.text not in known and cache.get(u.text) is None})
        if missing:
            with self.engine.lock:  # the embedder is not shared between threads
                vectors = self.engine.embedder.embed_passages(missing)
            for text, vector in zip(missing, vectors):
                cache.put(text, vector)
            cache.save()  # the next index build (and the other processes) reuse them
        matrix = np.stack([known[u.text] if u.text in known else cache.get(u.text) for u in units]).astype(np.float32)
        self.engine.replace_chunks(chunks, units, matrix)
        return RefreshReport(version, changed, len(units), len(missing), round(time.perf_counter() - started, 3))

    def _faq_chunks(self) -> list[Chunk]:
        """The FAQ chunks of the knowledge directory; only files whose bytes changed are parsed again."""
        parsed = {}
        for path in sorted((self.kb_dir / "faq").glob("*.y*ml")):
            digest = hashlib.sha256(path.read_bytes()).digest()
            known = self._parsed.get(path)
            parsed[path] = known if known and known[0] == digest else (digest, load_faq(path, self.kb_dir))
        self._parsed = parsed
        return [c for _, chunks in parsed.values() for c in chunks]

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a bad file or a database hiccup is logged and retried, never fatal."""
        while not stop.is_set():
            try:
                report = await asyncio.to_thread(self.poll)
                if report:
                    print(
                        f"faq live refresh: version {report.version}, {len(report.changed)} entries changed, "
                        f"{report.embedded} units embedded, {report.seconds:.2f}s",
                        file=sys.stderr,
                    )
            except (KnowledgeError, SQLAlchemyError, OSError) as exc:
                print(f"warning: faq live refresh failed ({type(exc).__name__}: {exc}); retrying", file=sys.stderr)
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
