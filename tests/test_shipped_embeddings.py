"""The embeddings shipped with the bundled knowledge base (knowledge/embeddings/): complete, from the
default embedder, faithful, and used by a first build so a fresh clone embeds nothing."""

import shutil

import numpy as np
import pytest

from bot.knowledge.loaders import load_knowledge
from bot.retrieval.store import EmbeddingCache, ShippedEmbeddings, build_index, units_of
from tests.conftest import KNOWLEDGE
from tests.test_index import CountingEmbedder

REGENERATE = "regenerate with `python -m bot index ship` and commit knowledge/embeddings/"


@pytest.fixture(scope="module")
def bundled_units():
    return [u.text for u in units_of(load_knowledge(KNOWLEDGE).chunks)]


def test_shipped_embeddings_cover_every_unit_of_the_bundled_base(embedder, bundled_units):
    path = ShippedEmbeddings.path(KNOWLEDGE, embedder.id)
    assert path.exists(), f"{path} is missing; {REGENERATE}"
    with np.load(path) as data:
        assert str(data["embedder"]) == embedder.id, f"{path} was made by another embedder; {REGENERATE}"
        assert data["vectors"].dtype == np.float16 and data["vectors"].shape[1] == embedder.dim
    shipped = ShippedEmbeddings.open(KNOWLEDGE, embedder.id)
    missing = [t for t in bundled_units if shipped.get(t) is None]
    assert not missing, f"{len(missing)} units have no shipped embedding (first: {missing[0][:80]!r}); {REGENERATE}"
    assert len(shipped) == len(set(bundled_units)), f"the shipped file holds stale units; {REGENERATE}"


def test_shipped_vectors_match_fresh_embeddings(embedder, bundled_units):
    shipped = ShippedEmbeddings.open(KNOWLEDGE, embedder.id)
    sample = bundled_units[:: max(1, len(bundled_units) // 12)][:12]
    fresh = embedder.embed_passages(sample)
    for text, vector in zip(sample, fresh):
        assert float(np.dot(shipped.get(text), vector)) > 0.9995


def test_first_build_of_the_bundled_base_embeds_nothing(embedder, tmp_path):
    counting = CountingEmbedder(embedder)
    report = build_index(KNOWLEDGE, tmp_path / "index", counting)
    assert counting.passages == 0 and report.embedded == 0 and report.units > 2000
    assert EmbeddingCache(tmp_path / "index" / "cache", embedder.id).get(load_knowledge(KNOWLEDGE).chunks[0].title) is not None


def test_embeddings_of_another_embedder_are_not_used(small_kb, small_index, embedder, tmp_path):
    kb = shutil.copytree(small_kb, tmp_path / "kb")
    texts = [u.text for u in units_of(load_knowledge(kb).chunks)]
    written = ShippedEmbeddings.write(kb, embedder.id, texts, EmbeddingCache(small_index / "cache", embedder.id))
    written.rename(ShippedEmbeddings.path(kb, "st:some-other-model"))  # a file named for another model...
    other = ShippedEmbeddings.path(kb, "st:some-other-model")
    with np.load(other) as data:  # ...and one named for ours but made by another
        np.savez(ShippedEmbeddings.path(kb, embedder.id), keys=data["keys"], vectors=data["vectors"], embedder=np.array("st:x"))
    counting = CountingEmbedder(embedder)
    report = build_index(kb, tmp_path / "index", counting)
    assert report.embedded == counting.passages == len(set(texts))


def test_a_shipped_file_of_our_embedder_is_used_for_any_knowledge_directory(small_kb, small_index, embedder, tmp_path):
    kb = shutil.copytree(small_kb, tmp_path / "kb")
    texts = [u.text for u in units_of(load_knowledge(kb).chunks)]
    ShippedEmbeddings.write(kb, embedder.id, texts[:-3], EmbeddingCache(small_index / "cache", embedder.id))
    counting = CountingEmbedder(embedder)
    report = build_index(kb, tmp_path / "index", counting)
    assert report.embedded == counting.passages == len(set(texts) - set(texts[:-3]))
