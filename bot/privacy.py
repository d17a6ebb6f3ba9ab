"""Personal numbers and e-mail addresses in a citizen's text: masked before it is stored and wherever staff
read it; phone numbers kept apart so that only the member who took a question sees how to call back."""

from __future__ import annotations

import re

# A run of digits with separators between them: spaces, dots, dashes, slashes, commas, underscores,
# parentheses ('(091) 234 5678', '+84 912 345 678', '0912/345/678').
_NUMBER = re.compile(r"\+?\(?\d(?:[\s.\-/,_()]{0,3}\d)+")
_PLAIN_SEPARATORS = re.compile(r"[\d\s.\-+]*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _personal(run: str) -> bool:
    """Phone, ID-card and bank account numbers: 9+ digits however grouped, or 6+ grouped only by
    spaces, dots or dashes (so dates like 16/6/2025 and document numbers like 1169/QĐ-TTg stay)."""
    digits = sum(ch.isdigit() for ch in run)
    return digits >= 9 or (digits >= 6 and _PLAIN_SEPARATORS.fullmatch(run) is not None)


def mask(text: str) -> str:
    """The one masking of personal numbers and e-mail addresses, applied before a citizen's text is
    stored (questions, escalations, follow-ups, drafts) and again wherever staff read it."""
    text = _EMAIL.sub("[email]", text)
    return _NUMBER.sub(lambda m: "•" * 4 + m.group()[-2:] if _personal(m.group()) else m.group(), text)


def phone_numbers(text: str) -> str:
    """The phone numbers in a citizen's text (9 to 11 digits, however grouped), comma-separated: kept apart from
    the masked question so that only the member who took it sees how to call back."""
    found = []
    for m in _NUMBER.finditer(text):
        digits = "".join(ch for ch in m.group() if ch.isdigit() or ch == "+")
        if 9 <= sum(ch.isdigit() for ch in digits) <= 11 and digits.lstrip("+")[:1] in ("0", "8"):
            found.append(m.group().strip())
    return ", ".join(dict.fromkeys(found))[:200]
