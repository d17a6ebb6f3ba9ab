"""Accent restoration (bot/accents.py): the trigram model on small texts, and the restorer an engine
learns from the bundled knowledge base on questions typed without diacritics."""

import pytest

from bot.accents import AccentRestorer
from bot.knowledge.loaders import load_knowledge
from bot.retrieval.engine import accent_restorer
from tests.conftest import KNOWLEDGE


def test_the_words_around_a_syllable_outweigh_how_often_it_occurs():
    r = AccentRestorer()
    r.learn("Bán hàng. " * 300 + "Bán nhà. Bán xe. Bạn nên gọi công an. Bạn nên báo ngân hàng.")
    assert r.restore("ban nen lam gi") == "bạn nên làm gì"  # 'bán' is a hundred times more common
    assert r.restore("ban hang online") == "bán hàng online"


def test_the_word_before_decides_against_a_frequent_pair():
    r = AccentRestorer()
    r.learn("Vay tiền nhanh. " * 100 + "Khoản vay tiền. Làm sao vậy. Như vậy tiền mất.")
    assert r.restore("khoan vay tien") == "khoản vay tiền"
    assert r.restore("nhu vay tien") == "như vậy tiền"


def test_punctuation_ends_a_sentence():
    r = AccentRestorer()
    r.learn("Đọc mã OTP. Mã QR. Tôi mất tiền. Tôi mất điện thoại. Mật khẩu mạnh.")
    # after the full stop 'mat khau' starts a new sentence: 'tôi mất' does not reach across it
    assert r.restore("Toi mat. Mat khau") == "Tôi mất. Mật khẩu"


def test_an_unaccented_sentence_teaches_no_accents():
    r = AccentRestorer()
    r.learn("nha toi co ba cay cau. Nhà tôi có hai cây cầu.")
    assert r.restore("nha toi co cay cau") == "nhà tôi có cây cầu"


@pytest.fixture(scope="module")
def restorer() -> AccentRestorer:
    return accent_restorer(load_knowledge(KNOWLEDGE).chunks)


@pytest.mark.parametrize(
    "typed, restored",
    [  # folded copies of real development questions that the bigram restorer (before 2026-12-01) got wrong
        ("Ban nhan duoc tien chuyen nham, sau do nguoi la goi xin lai",  # it wrote 'ban'
         "Bạn nhận được tiền chuyển nhầm, sau đó người lạ gọi xin lại"),
        ("Cach nhan dien cuoc goi video lua dao Deepfake?",  # 'nhận điện'
         "Cách nhận diện cuộc gọi video lừa đảo Deepfake?"),
        ("Toi muon rut yeu cau tro giup phap ly can thuc hien nhung thu tuc gi?",  # 'căn thực hiện'
         "Tôi muốn rút yêu cầu trợ giúp pháp lý cần thực hiện những thủ tục gì?"),
        ("Con toi moi sinh duoc hai thang, nay muon lam ho chieu",  # 'này muốn'
         "Con tôi mới sinh được hai tháng, nay muốn làm hộ chiếu"),
        ("nguoi than co dau hieu bi thao tung tam ly, ban nen lam gi truoc tien",  # 'ban nên', 'trước tiền'
         "người thân có dấu hiệu bị thao túng tâm lý, bạn nên làm gì trước tiên"),
    ],
)
def test_the_knowledge_base_restorer_on_real_questions(restorer, typed, restored):
    assert restorer.restore(typed) == restored


def test_accented_words_stay_as_typed(restorer):
    # a person who typed 'bàn' meant it, even where 'bạn' would fit better
    assert restorer.restore("ban nen hoi bàn nao") == "bạn nên hỏi bàn nào"
