"""Repair and section plain-text official documents (PDF/OCR exports of provincial plans).

Quirks handled: hard line breaks mid-sentence (with or without blank lines between), HTML
fragments, appendix tables flattened to one cell per line or to tab-separated rows, and OCR text
that lost its diacritics (restored from the knowledge base's vocabulary when a restorer is given).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.accents import AccentRestorer
from bot.textnorm import diacritic_ratio, nfc, strip_markup

_TERMINAL = re.compile(r"[.:;!?…”\"]\s*$")
_LIST_START = re.compile(r"^([-+•*–]|\d+(\.\d+)*[.)]|[IVXLC]+[.)]|[a-zđ][.)]|\(\d+\))\s")
_ROMAN = re.compile(r"^([IVXLC]+|[|l])\s*[.)]\s+\S")
_NUMBERED = re.compile(r"^(\d+(\.\d+)*)\.\s+\S")
_TABLE_HEADER = ("tt", "stt")
_MAX_CHUNK = 900


@dataclass
class Section:
    path: str  # "II. NỘI DUNG > 6. ..." (headings, shortened)
    text: str


def repair(raw: str, restorer: AccentRestorer | None = None) -> list[str]:
    """Raw document text -> list of repaired paragraphs (one line each)."""
    text = nfc(raw).replace("\r\n", "\n").replace("\r", "\n")
    text = strip_markup(text)  # HTML sits inside table cells: tags become spaces, rows stay whole
    lines = [re.sub(r"[ \u00a0]+", " ", ln).strip() for ln in text.split("\n")]
    lines = _unflatten_tables(lines)
    paragraphs = _join_broken_lines(lines)
    if restorer is not None and is_unaccented(" ".join(paragraphs)):
        # OCR also puts wrong accents on some letters ('quéc'), so refold everything first.
        paragraphs = [restorer.restore(p, refold=True) for p in paragraphs]
    return paragraphs


def is_unaccented(text: str) -> bool:
    """True for text that lost its diacritics (OCR): Vietnamese prose has them on most syllables."""
    return len(text) > 300 and diacritic_ratio(text) < 0.35


def _unflatten_tables(lines: list[str]) -> list[str]:
    """Turn appendix tables into one readable sentence per row.

    Two shapes occur: tab-separated rows, and a header of N one-word-ish lines ('TT', 'Tên nhiệm
    vụ', ...) followed by rows of N lines each, the first being the row number.
    """
    out: list[str] = []
    i = 0
    header: list[str] = []
    while i < len(lines):
        line = lines[i]
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) > 2 and cells[0].lower() in _TABLE_HEADER:
            header = cells
            i += 1
            continue
        if len(cells) > 2 and header and cells[0].isdigit():
            out.append(_row_sentence(header, cells))
            i += 1
            continue
        if "\t" not in line and line.lower() in _TABLE_HEADER:
            width = _flat_header_width(lines, i)
            if width:
                header = lines[i : i + width]
                i += width
                while i + width <= len(lines) and lines[i].isdigit():
                    out.append(_row_sentence(header, lines[i : i + width]))
                    i += width
                continue
        out.append(line.replace("\t", " "))
        i += 1
    return out


def _flat_header_width(lines: list[str], start: int) -> int:
    """Width of a one-cell-per-line table header: short lines up to the first row number."""
    for width in range(3, 8):
        if start + width < len(lines) and lines[start + width].isdigit():
            if all(0 < len(h) <= 40 for h in lines[start + 1 : start + width]):
                return width
    return 0


def _row_sentence(header: list[str], cells: list[str]) -> str:
    number, first, *rest = [re.sub(r"\s+", " ", c).strip(" -") for c in cells]
    parts = [f"Nhiệm vụ {number}: {first.rstrip('.')}."]
    for name, value in zip(header[2:], rest):
        if value:
            parts.append(f"{name}: {value.rstrip('.')}.")
    return " ".join(parts)


def _join_broken_lines(lines: list[str]) -> list[str]:
    """Join lines a PDF export broke mid-sentence; blank lines alone do not end a paragraph."""
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            continue
        if current and not _TERMINAL.search(current) and not _LIST_START.match(line) and _continues(current, line):
            current = f"{current} {line}"
        else:
            if current:
                paragraphs.append(current)
            current = line
    if current:
        paragraphs.append(current)
    return paragraphs


def _continues(previous: str, line: str) -> bool:
    """A line continues the previous one unless the previous is a short all-caps heading."""
    if previous.isupper() and len(previous) < 120 and not line.isupper():
        return False
    return True


def sections(paragraphs: list[str]) -> list[Section]:
    """Group paragraphs under their headings and pack them into chunks of a few hundred characters."""
    result: list[Section] = []
    roman, numbered = "", ""
    buffer: list[str] = []

    def path() -> str:
        return " > ".join(p for p in (roman, numbered) if p)

    def flush() -> None:
        for text in _pack(buffer):
            result.append(Section(path(), text))
        buffer.clear()

    for p in paragraphs:
        if _ROMAN.match(p) and len(p) < 160:
            flush()
            roman, numbered = _short(p), ""
        elif _NUMBERED.match(p) and len(p) < 160 and not _TERMINAL.search(p.rstrip(".")):
            flush()
            numbered = _short(p)
        buffer.append(p)
    flush()
    return result


def _short(heading: str, limit: int = 80) -> str:
    return heading if len(heading) <= limit else heading[: limit - 1].rstrip() + "…"


def _pack(paragraphs: list[str]) -> list[str]:
    """Pack paragraphs into chunks; a paragraph longer than a chunk is split by sentence with overlap."""
    pieces: list[str] = []
    for p in paragraphs:
        pieces.extend(_split_long(p) if len(p) > _MAX_CHUNK else [p])
    chunks, current = [], ""
    for piece in pieces:
        if current and len(current) + len(piece) + 1 > _MAX_CHUNK:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _split_long(paragraph: str) -> list[str]:
    sentences = re.split(r"(?<=[.;!?])\s+", paragraph)
    out, current = [], []
    for s in sentences:
        if current and sum(len(x) + 1 for x in current) + len(s) > _MAX_CHUNK:
            out.append(" ".join(current))
            current = current[-1:]  # one sentence of overlap keeps context across the cut
            if sum(len(x) + 1 for x in current) + len(s) > _MAX_CHUNK:
                current = []
        current.append(s)
    if current:
        out.append(" ".join(current))
    return out


_DOC_NUMBER = re.compile(r"\bS[ốo6]?\s*:?\s*(\d{1,5})\s*/\s*([A-ZĐ][A-ZĐ\-]+)")
_DATE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)


def document_number(paragraphs: list[str]) -> str:
    for p in paragraphs[:8]:
        m = _DOC_NUMBER.search(p)
        if m:
            return f"{m.group(1)}/{m.group(2)}"
    return ""


def document_date(paragraphs: list[str]) -> str:
    for p in paragraphs[:8]:
        m = _DATE.search(p)
        if m:
            return f"{int(m.group(1))}/{int(m.group(2))}/{m.group(3)}"
    return ""
