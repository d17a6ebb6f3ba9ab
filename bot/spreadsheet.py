"""Spreadsheet cells that stay text: every CSV and XLSX export (reports, FAQ export) writes through here.

A cell starting with =, +, -, @, a tab or a carriage return is a formula to Excel and LibreOffice;
a citizen's question such as =HYPERLINK(...) must never become one in a report an official opens.
XLSX cells are stored as text with Excel's quote prefix (shown unchanged); CSV cells get a leading
apostrophe, which `csv_value` removes again when a FAQ file is imported.
"""

from __future__ import annotations

import csv
from typing import Any, Iterable, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value: Any) -> Any:
    return "'" + value if formula_like(value) else value


def csv_value(value: str) -> str:
    """A cell read back from one of our CSV files: the apostrophe `csv_cell` added is dropped."""
    return value[1:] if value.startswith("'") and formula_like(value[1:]) else value


def write_csv(f: TextIO, rows: Iterable[Iterable[Any]]) -> None:
    csv.writer(f).writerows([csv_cell(v) for v in row] for row in rows)


def append_row(sheet, row: Iterable[Any]) -> None:
    """openpyxl's sheet.append, except that text is never read as a formula."""
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        if formula_like(cell.value):
            cell.data_type = "s"  # openpyxl made it a formula ('f')
            cell.quotePrefix = True


def add_sheet(book, title: str, rows: Iterable[Iterable[Any]]):
    """A new sheet of `book` holding `rows` (cells that never become formulas), the first row in bold."""
    from openpyxl.styles import Font

    sheet = book.create_sheet(title)
    for row in rows:
        append_row(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    return sheet
