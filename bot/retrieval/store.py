"""Build and load the retrieval index: chunk table, FAISS vectors, manifest, embedding cache.

Layout of an index directory:
  manifest.json            content hash, embedder id, dimension, build id, counts, timings
  chunks-<build>.json      the chunks and the retrieval units (texts) that point to them
  vectors-<build>.faiss    one normalised vector per unit (inner product = cosine)
  cache/<embedder>.npz     embeddings by content hash, reused by every later build

A knowledge directory may ship its own embeddings (`<kb>/embeddings/<embedder>.npz`, float16, keyed
by the same content hash; written by `python -m bot index ship`): a first build takes every vector
it finds there and embeds only what is missing, so a fresh clone does not embed the bundled base.

A build writes new files under a new build id and replaces the manifest last, atomically: a
crash or a full disk mid-build leaves the previous index in service.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

from bot.knowledge.loaders import content_hash, load_knowledge
from bot.knowledge.models import Chunk, KnowledgeBase, Provenance
from bot.retrieval.embedders import Embedder, same_embedder

FORMAT_VERSION = 1
_BATCH = 16


class IndexUnavailable(RuntimeError):
    """The index cannot serve: missing, corrupt, or built by another embedder (operator message)."""


@dataclass(frozen=True)
class Unit:
    """A text that is embedded and matched, pointing to the chunk it answers for."""

    chunk: int
    text: str
    kind: str  # question | alternative | passage


def units_of(chunks: list[Chunk]) -> list[Unit]:
    units = []
    for i, c in enumerate(chunks):
        if c.kind == "faq":
            units.append(Unit(i, c.title, "question"))
            units.extend(Unit(i, a, "alternative") for a in c.alternatives)
        units.append(Unit(i, c.passage(), "passage"))
    return units


@dataclass
class BuildReport:
    chunks: int
    units: int
    embedded: int  # units embedded in this build (the rest came from the cache)
    seconds: float
    peak_rss_mb: float


class EmbeddingCache:
    """Embeddings keyed by sha256(text), one file per embedder, saved atomically."""

    def __init__(self, directory: Path, embedder_id: str) -> None:
        self.path = directory / f"{_safe_name(embedder_id)}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            try:
                with np.load(self.path) as data:
                    self._vectors = dict(zip(data["keys"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError):
                print(f"warning: embedding cache {self.path} is unreadable; starting a new one", file=sys.stderr)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, text: str) -> np.ndarray | None:
        return self._vectors.get(self.key(text))

    def put(self, text: str, vector: np.ndarray) -> None:
        self._vectors[self.key(text)] = vector

    def save(self) -> None:
        if not self._vectors:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}.npz")
        keys = np.array(list(self._vectors), dtype="U64")
        np.savez(tmp, keys=keys, vectors=np.stack(list(self._vectors.values())))
        os.replace(tmp, self.path)


SHIPPED_DIR = "embeddings"  # inside a knowledge directory


def _safe_name(embedder_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_id)


class ShippedEmbeddings:
    """Read-only embeddings shipped with a knowledge directory: sha256 digests, float16 vectors, the embedder id.

    Float16 keeps the file at half the size of float32; the cosine to the float32 vector stays above
    0.9999 (tests/test_shipped_embeddings.py), so rankings do not move.
    """

    def __init__(self, vectors: dict[bytes, np.ndarray], embedder_id: str) -> None:
        self._vectors, self.embedder_id = vectors, embedder_id

    @staticmethod
    def path(kb_dir: Path, embedder_id: str) -> Path:
        return kb_dir / SHIPPED_DIR / f"{_safe_name(embedder_id)}.npz"

    @classmethod
    def open(cls, kb_dir: Path, embedder_id: str) -> "ShippedEmbeddings":
        """The shipped embeddings of kb_dir for this embedder; empty when there are none or they are unreadable."""
        path = cls.path(kb_dir, embedder_id)
        if not path.exists():
            return cls({}, embedder_id)
        try:
            with np.load(path) as data:
                made_by = str(data["embedder"])
                if made_by != embedder_id:
                    print(f"warning: {path} was made by '{made_by}', not '{embedder_id}'; not used", file=sys.stderr)
                    return cls({}, made_by)
                return cls(dict(zip(map(bytes, data["keys"]), data["vectors"])), made_by)
        except (OSError, ValueError, KeyError) as exc:
            print(f"warning: shipped embeddings {path} are unreadable ({exc}); embedding instead", file=sys.stderr)
            return cls({}, embedder_id)

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, text: str) -> np.ndarray | None:
        vector = self._vectors.get(hashlib.sha256(text.encode("utf-8")).digest())
        return None if vector is None else vector.astype(np.float32)

    @staticmethod
    def write(kb_dir: Path, embedder_id: str, texts: list[str], cache: "EmbeddingCache") -> Path:
        """Write exactly these texts' vectors (all must be in the cache), atomically."""
        path = ShippedEmbeddings.path(kb_dir, embedder_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        unique = sorted(set(texts))
        # raw digests as uint8 rows (numpy's fixed-width bytes would drop a digest's trailing zero bytes)
        keys = np.frombuffer(b"".join(hashlib.sha256(t.encode("utf-8")).digest() for t in unique), np.uint8).reshape(-1, 32)
        vectors = np.stack([cache.get(t) for t in unique]).astype(np.float16)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, keys=keys, vectors=vectors, embedder=np.array(embedder_id))
        os.replace(tmp, path)
        return path


def build_index(
    kb_dir: Path,
    out_dir: Path,
    embedder: Embedder,
    progress: Callable[[int, int], None] | None = None,
    kb: KnowledgeBase | None = None,
) -> BuildReport:
    """Build (incrementally) the index of a knowledge directory into out_dir."""
    started = time.perf_counter()
    kb = kb or load_knowledge(kb_dir)
    units = units_of(kb.chunks)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = EmbeddingCache(out_dir / "cache", embedder.id)
    missing = sorted({u.text for u in units if cache.get(u.text) is None})
    shipped = ShippedEmbeddings.open(kb_dir, embedder.id) if missing else ShippedEmbeddings({}, embedder.id)
    if len(shipped):
        for text in missing:
            if (vector := shipped.get(text)) is not None:
                cache.put(text, vector)
        missing = [t for t in missing if cache.get(t) is None]
    last_save = time.perf_counter()
    for start in range(0, len(missing), _BATCH):
        batch = missing[start : start + _BATCH]
        for text, vector in zip(batch, embedder.embed_passages(batch)):
            cache.put(text, vector)
        if progress:
            progress(min(start + _BATCH, len(missing)), len(missing))
        if time.perf_counter() - last_save > 15:  # a crash loses at most a few seconds of work
            cache.save()
            last_save = time.perf_counter()
    cache.save()
    vectors = np.stack([cache.get(u.text) for u in units]).astype(np.float32) if units else np.zeros((0, embedder.dim), np.float32)
    _write(out_dir, kb, units, vectors, embedder)
    return BuildReport(len(kb.chunks), len(units), len(missing), time.perf_counter() - started, peak_rss_mb())


def _write(out_dir: Path, kb: KnowledgeBase, units: list[Unit], vectors: np.ndarray, embedder: Embedder) -> None:
    build = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    chunks_file, vectors_file = f"chunks-{build}.json", f"vectors-{build}.faiss"
    table = {
        "chunks": [dataclasses.asdict(c) for c in kb.chunks],
        "units": [[u.chunk, u.kind, u.text] for u in units],
    }
    (out_dir / chunks_file).write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    index = faiss.IndexFlatIP(embedder.dim)
    if len(vectors):
        index.add(vectors)
    faiss.write_index(index, str(out_dir / vectors_file))
    manifest = {
        "format": FORMAT_VERSION,
        "build": build,
        "content_hash": kb.content_hash,
        "embedder": embedder.id,
        "dimension": embedder.dim,
        "chunks": len(kb.chunks),
        "units": len(units),
        "chunks_file": chunks_file,
        "vectors_file": vectors_file,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = out_dir / f"manifest.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, out_dir / "manifest.json")
    for old in out_dir.glob("*-*.*"):  # older builds' files, and their engine state (bot/retrieval/warm_start.py)
        if old.name not in (chunks_file, vectors_file) and re.match(r"(chunks|vectors|engine)-", old.name):
            old.unlink(missing_ok=True)


@dataclass
class LoadedIndex:
    manifest: dict
    chunks: list[Chunk]
    units: list[Unit]
    vectors: faiss.Index


MANIFEST_FIELDS = {"format": int, "content_hash": str, "embedder": str, "dimension": int, "chunks_file": str, "vectors_file": str}


def read_manifest(index_dir: Path) -> dict | None:
    """The manifest, None when there is none; IndexUnavailable (with the rebuild command) when damaged."""
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexUnavailable(f"index manifest in {index_dir} is unreadable ({exc}); run `python -m bot index build`") from exc
    if not isinstance(manifest, dict):
        raise IndexUnavailable(f"index manifest in {index_dir} is not a JSON object; run `python -m bot index build`")
    if manifest.get("format") != FORMAT_VERSION:
        return manifest  # another format: index_state calls it missing, and it is rebuilt
    bad = [k for k, kind in MANIFEST_FIELDS.items() if not isinstance(manifest.get(k), kind) or isinstance(manifest.get(k), bool)]
    if bad:
        raise IndexUnavailable(
            f"index manifest in {index_dir} lacks or garbles {', '.join(bad)}; run `python -m bot index build`"
        )
    return manifest


def index_state(index_dir: Path, kb_dir: Path, embedder_id: str) -> str:
    """'missing', 'stale' (knowledge changed), 'mismatch' (other embedder) or 'ready'."""
    manifest = read_manifest(index_dir)
    if manifest is None or manifest.get("format") != FORMAT_VERSION:
        return "missing"
    if not same_embedder(embedder_id, manifest["embedder"]):
        return "mismatch"
    if manifest["content_hash"] != content_hash(kb_dir):
        return "stale"
    return "ready"


def load_index(index_dir: Path) -> LoadedIndex:
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexUnavailable(f"no index in {index_dir}; run `python -m bot index build`")
    try:
        table = json.loads((index_dir / manifest["chunks_file"]).read_text(encoding="utf-8"))
        vectors = faiss.read_index(str(index_dir / manifest["vectors_file"]))
        chunks = [Chunk(**{**c, "source": Provenance(**c["source"]), "alternatives": tuple(c["alternatives"]), "tags": tuple(c["tags"])}) for c in table["chunks"]]
        units = [Unit(c, t, k) for c, k, t in table["units"]]
        if any(not isinstance(u.chunk, int) or not 0 <= u.chunk < len(chunks) or not isinstance(u.text, str) for u in units):
            raise ValueError("a retrieval unit points at no chunk")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexUnavailable(
            f"index in {index_dir} is damaged ({type(exc).__name__}: {exc}); rebuild it with `python -m bot index build`"
        ) from exc
    if vectors.ntotal != len(units) or vectors.d != manifest["dimension"]:
        raise IndexUnavailable(f"index in {index_dir} is inconsistent (vectors and chunk table differ); rebuild it")
    return LoadedIndex(manifest, chunks, units, vectors)


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
