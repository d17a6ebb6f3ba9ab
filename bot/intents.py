"""What a chat message is, before it is a knowledge question: small talk, a plain-word command,
"xem tiếp", or an emergency. Pure functions over folded text (no diacritics, teen-code expanded), so
"cảm ơn", "cam on" and "Cám ơn nhé" read alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.textnorm import fold_tokens, nfc


@dataclass(frozen=True)
class Intent:
    name: str  # greeting | thanks | subscribe | unsubscribe | human | restart | see_more
    rest: str = ""  # words after the command (an area to subscribe to, a question for the team), folded


def folded(text: str) -> str:
    return " ".join(fold_tokens(text))


# Words around a plain-word command that change nothing: "cho tôi gặp cán bộ với ạ", "cảm ơn bot nhiều nhé".
_LEAD = r"(?:(?:toi|minh|em|bac|chau|con|tui|cho|muon|can|xin|vui long|lam on|hay|admin|bot|ban|da|vang|ok|oke)\s+)*"
_TAIL = (
    r"(?:\s+(?:a|nhe|nha|oi|voi|di|nhieu|lam|qua|ban|bot|em|admin|anh|chi|co|chu|bac|chau|ong|ba|minh|tro ly|"
    r"roi|luon|ngay|giup|nao|duoc khong|khong|ha|nhe ban|ca nha|moi nguoi|nhung|nua))*"
)
_PHRASES = {
    "greeting": r"(?:xin )?chao(?: buoi (?:sang|trua|chieu|toi))?|alo(?: alo)*|a lo|hi+|hello|helo|hey",
    "thanks": r"(?:xin |da |vang |ok |oke )?(?:cam on|cam ta|thanks?(?: you)?|thank you|tks|thanks nhieu)"
              r"|ok|oke|okay|da|vang|da vang|da duoc|duoc roi|hieu roi|ro roi|biet roi",
    "unsubscribe": r"(?:huy|bo|dung|ngung|thoi) (?:dang ky(?: nhan tin)?|nhan tin(?: tuc)?|nhan thong bao)"
                   r"|khong (?:muon )?nhan tin(?: tuc)? nua",
    "restart": r"lam lai|bat dau lai|bat dau|quay lai tu dau|menu|trang chu|start",
    "see_more": r"xem tiep|xem them|doc tiep|doc them|tiep|tiep di|tiep tuc|con nua|xem het|xem not|doc het",
}
_FULL = {name: re.compile(_LEAD + f"(?:{p})" + _TAIL) for name, p in _PHRASES.items()}
# Commands that may carry words after them: an area, or the question for the team.
_SUBSCRIBE = re.compile(
    _LEAD + r"(?:dang ky|dang ki|dang ky de) (?:nhan (?:tin(?: tuc)?|ban tin|thong bao)|theo doi tin)"
    r"(?:\s+(?:cua|o|tai|khu vuc|cho))?(?P<rest>(?:\s+.*)?)"
)
_HUMAN = re.compile(
    _LEAD + r"(?:gap|hoi|goi|lien he|noi chuyen voi|chuyen cho|gui cho|ket noi voi|can) "
    r"(?:can bo|nguoi that|nhan vien|tong dai vien|nguoi ho tro|to cong nghe so(?: cong dong)?)"
    r"(?:\s+(?:a|nhe|voi|oi|giup))*(?P<rest>(?:\s+.*)?)"
)
_TAIL_ONLY = re.compile(_TAIL.replace(r"\s+", r"\s*", 1))


def intent(text: str) -> Intent | None:
    """The plain-word command or small talk a message is, or None for anything else (a question)."""
    said = folded(text)
    if not said or len(said) > 200:
        return None
    for name, pattern in _FULL.items():
        if pattern.fullmatch(said):
            return Intent(name)
    for name, pattern in (("subscribe", _SUBSCRIBE), ("human", _HUMAN)):
        m = pattern.fullmatch(said)
        if m:
            rest = m["rest"].strip()
            return Intent(name, "" if _TAIL_ONLY.fullmatch(rest) else rest)
    return None


# -- emergencies ---------------------------------------------------------------------------------
# Someone in danger now gets the emergency numbers at once, never a knowledge entry. Words that are
# ambiguous once folded ("cháy"/"chạy", "bị đánh"/"bí danh") are matched with their diacritics, or in
# phrases that are not ambiguous.
_EMERGENCY = re.compile(
    r"\b(?:cap cuu|cuu (?:voi|toi|em|con|me|bo|nguoi|chau|minh|bac|tui|ba|ong|giup)|cuu nan|"
    r"(?:om|benh) (?:rat |qua )?nang|nguy kich|hon me|bat tinh|ngat xiu|ngat lim|dot quy|nhoi mau|"
    r"kho tho|ngung tho|tat tho|khong tho duoc|co giat|chay (?:nhieu )?mau|mat (?:nhieu )?mau|ngo doc|"
    r"soc phan ve|hoc xuong|dien giat|tai nan|duoi nuoc|chet duoi|nuoc cuon|lu cuon|bi chim|"
    r"bat coc|hoa hoan|chay nha|nha (?:toi |minh |em |bac )?(?:bi |dang )?chay|chay rung|chay no|"
    r"no (?:binh )?gas|ro ri gas|"
    r"bi (?:nguoi |ke |no |chung no |bon |tui no |thang )?(?:danh|hanh hung|dam|chem|cuop|tan cong)"
    r"(?! (?:cap|gia|thue|dau|so|may|lua|trao|thuc|bai|rot|truot|la|cua|gi))|"
    r"danh nhau|dam nhau|cuop giat|bao hanh|bao luc)\b"
)
_EMERGENCY_ACCENTED = re.compile(r"\b(?:cháy|hỏa hoạn|hoả hoạn|cứu với)\b")
# A message about money, a call or message from someone, a link or an account is a scam question
# ("có người gọi báo con tôi cấp cứu, đòi chuyển tiền"), or a question about a service (insurance):
# it goes to the knowledge base, whose scam entries answer it.
_NOT_AN_EMERGENCY = re.compile(
    r"\b(?:chuyen tien|chuyen khoan|gui tien|nap tien|dong tien|doi tien|tien chuoc|chuoc|vien phi|"
    r"bao nhieu tien|so tai khoan|tai khoan|otp|ma xac thuc|thanh toan|"
    r"link|duong link|duong dan|lua|lua dao|gia danh|mao danh|gia mao|gia lam|gia vo|xung la|tu xung|"
    r"(?:nguoi|ai do|ho|ke|doi tuong|so la|so) (?:goi|nhan)|cuoc goi|goi bao|nhan tin|tin nhan|sms|"
    r"zalo|facebook|messenger|mang xa hoi|online|truc tuyen|qua mang|tren mang|tan cong mang|hack|"
    r"bao hiem|che do|tro cap|boi thuong|ho so|thu tuc|giam dinh|"
    r"co that khong|that khong|co phai that|xac minh|video|phim|game)\b"
)


def is_emergency(text: str) -> bool:
    """True for a message about a person in danger now (or how to get emergency help); False for a
    scam question that only mentions one."""
    said = folded(text)
    if _NOT_AN_EMERGENCY.search(said):
        return False
    return bool(_EMERGENCY.search(said) or _EMERGENCY_ACCENTED.search(nfc(text).lower()))
