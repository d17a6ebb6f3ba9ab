"""Open an engine without deriving again what an earlier start already derived from the same index.

`Engine(index)` derives its lexical indexes, accent vocabulary and entry facts from the chunk table:
seconds on 2 cores, growing with the number of retrieval units. This module keeps that state beside
the index (`<index>/engine-<build>-<code>.pickle`), keyed by the index's build id and a fingerprint
of the code that derives it, so a restart loads it in a fraction of that. A new build, or a change
to that code, makes a new file (the old ones are removed); an unreadable file is derived again. The
file is written by this program into its own index directory and read only from there, like the
index's other files.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
from pathlib import Path

from bot.retrieval.embedders import Embedder
from bot.retrieval.engine import Engine
from bot.retrieval.store import LoadedIndex

log = logging.getLogger(__name__)

_BOT = Path(__file__).resolve().parent.parent
_CODE = ("retrieval/engine.py", "retrieval/lexical.py", "retrieval/evidence.py", "accents.py", "textnorm.py",
         "data/common_phrases_vi.txt")


def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update((_BOT / name).read_bytes())
    return digest.hexdigest()[:16]


def state_path(index_dir: Path, index: LoadedIndex) -> Path:
    return index_dir / f"engine-{index.manifest['build']}-{code_fingerprint()}.pickle"


def open_warm(index_dir: Path, index: LoadedIndex, embedder: Embedder) -> Engine:
    path = state_path(index_dir, index)
    if path.exists():
        try:
            gc.disable()  # millions of small objects: the collector would walk them again and again
            with path.open("rb") as f:
                return Engine(index, embedder, pickle.load(f))
        except Exception as exc:  # noqa: BLE001 - any damage: derive again
            log.warning("engine state %s is unreadable (%s); deriving it again", path.name, exc)
        finally:
            gc.enable()
    engine = Engine(index, embedder)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        with tmp.open("wb") as f:
            pickle.dump(engine.derived(), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in index_dir.glob("engine-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only or full index directory: start without the saved state
        tmp.unlink(missing_ok=True)
        log.warning("engine state not saved in %s (%s)", index_dir, exc)
    return engine
