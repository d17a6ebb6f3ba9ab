"""A restart loads what the engine derived from its index instead of deriving it again."""

import logging
import pickle

from bot.retrieval.engine import Engine
from bot.retrieval.store import build_index, load_index
from bot.retrieval.warm_start import open_warm, state_path

QUESTIONS = ["kich hoat vneid muc 2 o dau", "quét mã qr trả tiền ntn", "Thời tiết Hà Nội ngày mai thế nào?"]


def replies(engine):
    return [(a.mode, a.chunk_id, a.candidates, round(a.confidence, 6)) for a in map(engine.ask, QUESTIONS)]


def test_a_restart_loads_the_saved_state_and_answers_the_same(index, embedder):
    loaded = load_index(index)
    first = open_warm(index, loaded, embedder)
    path = state_path(index, loaded)
    assert path.exists()
    written = path.stat().st_mtime_ns
    again = open_warm(index, load_index(index), embedder)
    assert path.stat().st_mtime_ns == written  # read, not derived and written again
    assert replies(again) == replies(first) == replies(Engine(load_index(index), embedder))


def test_a_damaged_state_is_derived_again(index, embedder, caplog):
    loaded = load_index(index)
    path = state_path(index, loaded)
    path.write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING):
        engine = open_warm(index, loaded, embedder)
    assert "unreadable" in caplog.text
    assert replies(engine) == replies(Engine(loaded, embedder))
    assert set(pickle.loads(path.read_bytes())) >= {"lexical", "restorer"}  # saved anew


def test_a_new_build_keeps_only_its_own_state(kb, index, embedder):
    old = state_path(index, load_index(index))
    open_warm(index, load_index(index), embedder)
    faq = kb / "faq" / "small.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("Thanh toán bằng mã QR như thế nào?", "Trả tiền bằng mã QR ra sao?"), encoding="utf-8")
    build_index(kb, index, embedder)
    fresh = load_index(index)
    open_warm(index, fresh, embedder)
    assert state_path(index, fresh).exists() and not old.exists()
