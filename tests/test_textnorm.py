import unicodedata

from bot.accents import AccentRestorer
from bot.textnorm import (
    clean,
    diacritic_ratio,
    expand_abbreviations,
    fold,
    fold_tokens,
    lexical_terms,
    nfc,
    official_terms,
)


def test_nfc_joins_combining_marks_and_fixes_lookalikes():
    decomposed = unicodedata.normalize("NFD", "Đẩy mạnh")
    assert decomposed != "Đẩy mạnh"
    assert nfc(decomposed) == "Đẩy mạnh"
    assert nfc("ðăng ký") == "đăng ký"
    assert nfc("a\u200bb\x00c") == "ab c"


def test_clean_strips_markup_and_entities():
    assert clean("<ul><li>Xây&nbsp;dựng</li></ul>   kênh") == "Xây dựng kênh"


def test_fold_removes_all_diacritics():
    assert fold("Đẩy mạnh CHUYỂN ĐỔI SỐ") == "day manh chuyen doi so"
    assert fold("ưởng ữ ỵ") == "uong u y"


def test_abbreviations_expand_teen_code():
    assert expand_abbreviations("ko dc thì sao, sdt j") == "không được thì sao, số điện thoại gì"
    assert expand_abbreviations("quên mk tk vneid ntn") == "quên mật khẩu tài khoản vneid như thế nào"
    # real syllables that look like abbreviations are left alone
    assert expand_abbreviations("ai ca gi") == "ai ca gi"
    # teen-code spellings and i/y variants become the words the knowledge base uses
    assert expand_abbreviations("ng dân cần bít những kĩ năng nào z") == "người dân cần biết những kỹ năng nào vậy"


def test_official_terms_name_everyday_words_officially():
    assert official_terms("chuyển hộ khẩu online đc ko") == ["thường trú", "trực tuyến"]
    assert official_terms("xin giay xac nhan doc than tren mang") == ["xác nhận tình trạng hôn nhân", "trực tuyến"]
    # whole words only: 'hack' inside another word, or nothing everyday, adds nothing
    assert official_terms("hackathon ở tỉnh") == []
    assert official_terms("Kích hoạt VNeID mức 2") == []


def test_fold_tokens_repairs_ocr_digits():
    assert fold_tokens("Nghi quyét s6 57") == ["nghi", "quyet", "so", "57"]


def test_lexical_terms_adds_bigrams():
    assert lexical_terms(["kich", "hoat", "vneid"]) == ["kich", "hoat", "vneid", "kich_hoat", "hoat_vneid"]


def test_diacritic_ratio_tells_unaccented_text():
    assert diacritic_ratio("làm sao kích hoạt tài khoản") > 0.6
    assert diacritic_ratio("lam sao kich hoat tai khoan") == 0


def test_accent_restorer_uses_context():
    r = AccentRestorer()
    r.learn("Bạn cần kích hoạt tài khoản. Bán hàng trực tuyến. Bàn làm việc của bạn.")
    assert r.restore("kich hoat tai khoan") == "kích hoạt tài khoản"
    assert r.restore("ban hang truc tuyen") == "bán hàng trực tuyến"
    # accented words are trusted; unknown words are kept; case is kept
    assert r.restore("Kich hoat xyz bàn") == "Kích hoạt xyz bàn"
