"""The allow-list of official web addresses and phone numbers (knowledge/allowlist/*.yaml), and the
checks that hold every answer to it: the content tests, and every FAQ save (web admin, `faq import`,
/themfaq through bot.faq.store). A scam number or a look-alike site never gets published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.knowledge.models import AllowItem

# A host name ('dichvucong.gov.vn'), with or without a scheme, not a bare suffix like '.gov.vn'.
URL = re.compile(r"(?<![\w.@/])(?:https?://)?((?:[a-z0-9-]+\.)+(?:vn|com|net|org|gov|info|io))\b", re.I)
# Phone numbers: any run of 8 or more digits (spaces and dots allowed inside), and short service
# numbers (113, 156, 5656) right after a word that introduces a number to call or text.
LONG_PHONE = re.compile(r"(?<![\d/.-])\+?\d(?:[ .]?\d){7,13}(?![\d/-])")
SERVICE_NUMBER = re.compile(
    r"(?:gọi|gọi điện|gọi tới|gọi đến|gọi ngay|tổng đài|đầu số|đường dây nóng|hotline|soạn tin|nhắn tin|nhắn|sms)"
    r"\s+(?:(?:đến|tới|về|cho)\s+)?(?:(?:số|đầu số|tổng đài)\s+)?(\d{3,5})\b(?![ .]?\d)",  # not the start of a long number
    re.I,
)
_YEARS = re.compile(r"((19|20)\d\d\W*)+")  # "2025 2027" is two years, not a phone number


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    phones: frozenset[str]

    @classmethod
    def of(cls, items: list[AllowItem]) -> AllowList:
        return cls(frozenset(a.value.lower().removeprefix("www.") for a in items if a.kind == "url"),
                   frozenset(re.sub(r"\D", "", a.value) for a in items if a.kind == "phone"))

    @classmethod
    def load(cls, kb_dir: Path) -> AllowList:
        from bot.knowledge.loaders import load_allowlist

        return cls.of([a for path in sorted((Path(kb_dir) / "allowlist").glob("*.y*ml")) for a in load_allowlist(path)])

    def outside(self, text: str) -> list[str]:
        """The web hosts and phone numbers in `text` that are not on the list, in order, once each."""
        found = []
        for host in URL.findall(text):
            host = host.lower().removeprefix("www.")
            if not any(host == u or host.endswith("." + u) for u in self.hosts):
                found.append(host)
        candidates = [n for n in LONG_PHONE.findall(text) if not _YEARS.fullmatch(n)]
        found += [n for n in (re.sub(r"\D", "", n) for n in candidates + SERVICE_NUMBER.findall(text)) if n not in self.phones]
        return list(dict.fromkeys(found))


def safe_ref(url: str) -> bool:
    """A source link people may follow: http(s), or relative to the site (no other scheme, e.g. javascript:)."""
    url = url.strip()
    if not url:
        return True
    if any(ord(ch) < 32 for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme:
        return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    return not url.startswith("//") and not parts.netloc
