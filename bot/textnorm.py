"""Vietnamese text normalisation: NFC, repair, diacritic folding, tokens, abbreviations.

Everything here is pure and fast: it runs on every question and every chunk.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Lookalikes that OCR and some keyboards produce instead of the Vietnamese letters.
_LOOKALIKES = str.maketrans({"ð": "đ", "Ð": "Đ", "ɗ": "đ", "Ɖ": "Đ", "\u00a0": " "})
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TAG = re.compile(r"<[^>]{0,300}>")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SPACES = re.compile(r"[ \t]+")

class _FoldTable(dict):
    """ord(char) -> the char without diacritics, filled on first sight of each char. Folding a
    char alone equals folding it in context (NFD decomposes char by char; the marks it drops are
    only reordered among themselves), so `str.translate` with this table folds at C speed."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        base = "d" if char in "đĐ" else "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        self[code] = base
        return base


_FOLD = _FoldTable()


def nfc(text: str) -> str:
    """Unicode NFC, lookalike letters fixed, invisible and control characters removed."""
    text = unicodedata.normalize("NFC", text.translate(_LOOKALIKES))
    text = _INVISIBLE.sub("", text)
    return _CONTROL.sub(" ", text)


def strip_markup(text: str) -> str:
    """Remove HTML tags and decode entities, keeping the words between them."""
    return html.unescape(_TAG.sub(" ", text))


def clean(text: str) -> str:
    """The canonical form of any incoming text: NFC, no markup, single spaces."""
    return _SPACES.sub(" ", nfc(strip_markup(text))).strip()


def fold(text: str) -> str:
    """Lower case without diacritics: 'Đẩy mạnh' -> 'day manh'."""
    return text.lower().translate(_FOLD)


def has_diacritics(text: str) -> bool:
    return fold(text) != text.lower()


def diacritic_ratio(text: str) -> float:
    """Share of syllables that carry a diacritic: about 0.7 in Vietnamese prose, near 0 when unaccented."""
    syllables = re.findall(r"[^\W\d_]+", text.lower())
    if not syllables:
        return 0.0
    return sum(1 for s in syllables if fold(s) != s) / len(syllables)


def words(text: str) -> list[str]:
    """Lower-case syllables (accents kept), NFC."""
    return _WORD.findall(nfc(text).lower())


# Abbreviations and teen-code people type, mapped to the words they stand for. Keys are the
# lower-case forms as typed. Short forms that are also real syllables (a, c, ca, ai, gi, ...) are
# left out on purpose: expanding them would damage ordinary text.
ABBREVIATIONS: dict[str, str] = {
    "k": "không", "ko": "không", "kg": "không", "kh": "không", "hok": "không", "hong": "không",
    "khg": "không", "khum": "không", "kô": "không", "hk": "không",
    "dc": "được", "đc": "được", "dk": "được", "đk": "được", "dcj": "được",
    "j": "gì", "ji": "gì", "ntn": "như thế nào", "lm": "làm", "ns": "nói",
    "bn": "bao nhiêu", "bnh": "bao nhiêu",
    "sdt": "số điện thoại", "sđt": "số điện thoại", "đt": "điện thoại", "dt": "điện thoại",
    "tk": "tài khoản", "mk": "mật khẩu", "pass": "mật khẩu", "password": "mật khẩu",
    "stk": "số tài khoản", "ck": "chuyển khoản", "nhnn": "ngân hàng nhà nước",
    "vnid": "vneid", "vneld": "vneid", "vnied": "vneid",
    "dvc": "dịch vụ công", "dvctt": "dịch vụ công trực tuyến",
    "nq57": "nghị quyết 57", "nq": "nghị quyết", "qđ": "quyết định", "qd": "quyết định",
    "cccd": "căn cước công dân", "cmnd": "chứng minh nhân dân", "cmt": "chứng minh thư",
    "bhyt": "bảo hiểm y tế", "bhxh": "bảo hiểm xã hội", "gplx": "giấy phép lái xe",
    "ubnd": "ủy ban nhân dân", "cand": "công an nhân dân",
    "ng": "người", "ngta": "người ta", "mn": "mọi người", "mng": "mọi người", "vs": "với",
    "ak": "à", "ah": "à", "hnay": "hôm nay", "bh": "bây giờ", "bjo": "bây giờ",
    "app": "ứng dụng", "ud": "ứng dụng", "dky": "đăng ký", "dki": "đăng ký", "đky": "đăng ký",
    "mxh": "mạng xã hội", "fb": "facebook", "face": "facebook",
    "cđs": "chuyển đổi số", "cds": "chuyển đổi số", "bdhvs": "bình dân học vụ số",
    "hkd": "hộ kinh doanh", "hđđt": "hóa đơn điện tử", "hddt": "hóa đơn điện tử",
    "ttkdtm": "thanh toán không dùng tiền mặt", "gd": "giao dịch", "cntt": "công nghệ thông tin",
    "ad": "admin", "ntin": "nhắn tin",
    "bít": "biết", "bik": "biết", "bit": "biết", "e": "em", "z": "vậy", "zậy": "vậy", "dzậy": "vậy",
    "r": "rồi", "ms": "mới", "trc": "trước", "nhìu": "nhiều", "wa": "qua",
    # i/y spellings people still type; the knowledge base writes the standard forms
    "kí": "ký", "kĩ": "kỹ", "lí": "lý", "mĩ": "mỹ",
}

# Everyday words for things the knowledge base names officially (folded colloquial phrase ->
# official wording). A question gets the official words added, never replaced: "chuyển hộ khẩu
# online" also searches "thường trú" and "trực tuyến".
OFFICIAL_TERMS: dict[str, str] = {
    "doc than": "xác nhận tình trạng hôn nhân", "ho khau": "thường trú", "bang lai": "giấy phép lái xe",
    "online": "trực tuyến", "tren mang": "trực tuyến", "qua mang": "trực tuyến",
    "xai": "sử dụng", "khieu nai": "phản ánh kiến nghị", "nick": "tài khoản", "hack": "chiếm",
    "nguoi gia": "người cao tuổi", "smartphone": "điện thoại thông minh", "scam": "lừa đảo",
    "qua han": "chậm", "tre hen": "chậm",
}


# A word inside a document code ("57-NQ/TW", "749/QĐ-TTg") is part of the code, not an abbreviation.
_ABBREVIATION = re.compile(r"(?<![-/])\b[^\W_]+\b(?![-/])")


def expand_abbreviations(text: str) -> str:
    """Replace teen-code and abbreviations by full words, keeping everything else as typed."""
    return _ABBREVIATION.sub(lambda m: ABBREVIATIONS.get(m.group(0).lower(), m.group(0)), nfc(text))


def official_terms(text: str) -> list[str]:
    """Official wordings of the everyday words in a text (see OFFICIAL_TERMS), each once."""
    folded = f" {' '.join(fold_tokens(text))} "
    return list(dict.fromkeys(official for everyday, official in OFFICIAL_TERMS.items() if f" {everyday} " in folded))


# OCR that lost diacritics also swaps letters for digits ("s6" for "số", "t6" for "tổ").
_OCR_DIGIT = re.compile(r"\b([a-z]{1,3})([60])\b")


def fold_tokens(text: str) -> list[str]:
    """Folded syllables of a text, abbreviations expanded, OCR digit slips repaired."""
    folded = fold(expand_abbreviations(text))
    folded = _OCR_DIGIT.sub(lambda m: m.group(1) + "o", folded)
    return _WORD.findall(folded)


def lexical_terms(tokens: list[str]) -> list[str]:
    """Unigrams plus syllable bigrams ('kich_hoat'): Vietnamese words are often two syllables."""
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]
