"""The answer cache: a repeated question is served from memory, never across a live FAQ edit, bounded."""

from bot.retrieval.answer_cache import AnswerCache, question_key
from bot.retrieval.engine import AskContext, Engine
from bot.retrieval.store import load_index


def test_a_repeated_question_comes_from_the_cache_with_the_same_reply(small_index, embedder):
    engine = Engine(load_index(small_index), embedder)
    first = engine.ask("kich hoat vneid muc 2 o dau")
    again = engine.ask("  Kich hoat VNeID   muc 2 o dau ")  # same words, other case and spacing
    assert engine.answers.hits == 1 and engine.answers.misses == 1
    assert again.question == "  Kich hoat VNeID   muc 2 o dau " and again.chunk_id == first.chunk_id == "faq:vneid-kich-hoat-muc-2"
    assert (again.mode, again.answer, again.candidates) == (first.mode, first.answer, first.candidates)
    again.candidates.append({"chunk_id": "x", "question": "changed by a caller"})
    assert engine.ask("kich hoat vneid muc 2 o dau").candidates == first.candidates  # callers get copies


def test_a_follow_up_is_cached_with_its_context_and_other_questions_without(small_index, embedder):
    engine = Engine(load_index(small_index), embedder)
    vneid = AskContext("kich hoat vneid muc 2 o dau", "faq:vneid-kich-hoat-muc-2")
    qr = AskContext("thanh toan qr the nao", "faq:thanhtoan-ma-qr")
    engine.ask("thế còn cái đó thì sao", vneid)
    engine.ask("thế còn cái đó thì sao", qr)
    assert engine.answers.misses == 2  # a follow-up leans on its context: two keys
    engine.ask("quét mã qr trả tiền ntn", vneid)
    engine.ask("quét mã qr trả tiền ntn", qr)
    assert engine.answers.hits == 1  # not a follow-up: the context does not matter


def test_a_live_edit_starts_an_empty_cache(small_index, embedder):
    engine = Engine(load_index(small_index), embedder)
    engine.ask("kich hoat vneid muc 2 o dau")
    index = engine.index
    vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    engine.replace_chunks(engine.chunks, index.units, vectors)
    assert len(engine.answers) == 0
    engine.ask("kich hoat vneid muc 2 o dau")
    assert engine.answers.misses == 1 and engine.answers.hits == 0


def test_the_cache_is_bounded_and_forgets_the_least_recently_used():
    cache: AnswerCache[list] = AnswerCache(max_entries=3)
    for n in range(3):
        cache.put(n, [n])
    assert cache.get(0) == [0]  # 0 used again: 1 is now the oldest
    cache.put(3, [3])
    assert len(cache) == 3 and cache.get(1) is None and cache.get(0) == [0] and cache.get(3) == [3]
    assert question_key(" Kích  HOẠT\tvneid ") == "kích hoạt vneid"
