"""FAQ entries as data: the knowledge FAQ files, import/export (YAML, CSV, XLSX), versions and rollback.

An entry is a plain dict in the knowledge-file shape: id, topic, question, alternatives, answer,
source {title, url}, tags, updated, checked, review_by (and a superseded note). Entries live in knowledge/faq/*.yaml; an entry stays in its file
and a new one (or one whose topic changes) goes to knowledge/faq/<topic>.yaml.

Retiring an entry removes it from its file; its version row keeps the last text, so a rollback
brings it back. Every change set is a row of `faq_versions` (who, when, what) with one
`faq_changes` row per entry (add | edit | retire, before and after as JSON).
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot import messages
from bot.faq.models import FaqChange, FaqVersion
from bot.knowledge.allowlist import AllowList, safe_ref
from bot.knowledge.loaders import load_faq
from bot.knowledge.models import KnowledgeError, review_due
from bot.messages import TOPIC_NAMES
from bot.retrieval.engine import ANSWER_CHARS
from bot.spreadsheet import append_row, csv_value, write_csv
from bot.storage.db import Database
from bot.textnorm import clean, nfc, strip_markup

COLUMNS = ("id", "topic", "question", "alternatives", "answer", "source", "source_url", "tags", "updated", "checked",
           "review_by", "superseded", "retired")
FORMATS = (".yaml", ".yml", ".csv", ".xlsx")
SHEET = "faq"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # the loader's rule (bot.knowledge.loaders)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the FAQ files are large
_TRUE = {"1", "true", "yes", "x", "có", "co"}

Entry = dict[str, Any]


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row (header = 1) or YAML entry number (first = 1); 0: the whole file
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}" if self.row else f"{self.field}: {self.message}"


class ImportRejected(ValueError):
    """A file with at least one bad row: nothing was applied."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was applied")
        self.errors = errors


@dataclass
class Applied:
    version: int | None  # None: nothing changed, no version recorded
    actions: dict[str, str] = field(default_factory=dict)  # entry id -> add | edit | retire

    def counts(self) -> dict[str, int]:
        return {a: sum(1 for v in self.actions.values() if v == a) for a in ("add", "edit", "retire")}


# -- reading and checking rows ---------------------------------------------------------------


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number, raw fields) for every entry of a YAML, CSV or XLSX file."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ImportRejected([RowError(0, "file", f"unsupported format {suffix or '(none)'}; use .yaml, .csv or .xlsx")])
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ImportRejected([RowError(0, "file", f"invalid YAML: {exc}")]) from exc
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise ImportRejected([RowError(0, "file", "expected a YAML list of entries")])
        return [(n, d) for n, d in enumerate(data, 1)]
    table = _csv_table(path) if suffix == ".csv" else _xlsx_table(path)
    if not table:
        return []
    header = [str(h or "").strip().lower() for h in table[0]]
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown or "id" not in header:
        problem = f"unknown column(s) {', '.join(unknown)}" if unknown else "no 'id' column"
        raise ImportRejected([RowError(1, "header", f"{problem}; columns are {', '.join(COLUMNS)}")])
    rows = []
    for n, cells in enumerate(table[1:], 2):
        if any(c not in (None, "") for c in cells):
            rows.append((n, {h: c for h, c in zip(header, cells) if h}))
    return rows


def _csv_table(path: Path) -> list[list[Any]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return [[csv_value(v) for v in row] for row in csv.reader(f)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportRejected([RowError(0, "file", f"unreadable CSV (UTF-8 expected): {exc}")]) from exc


def _xlsx_table(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or non-XLSX file
        raise ImportRejected([RowError(0, "file", f"unreadable XLSX: {exc}")]) from exc
    sheet = book[SHEET] if SHEET in book.sheetnames else book.active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    return table


def parse_row(raw: dict[str, Any], row: int) -> tuple[Entry | None, list[RowError]]:
    """A normalised entry (or {'id', 'retired': True}) and every problem found in the row."""
    errors: list[RowError] = []

    def bad(name: str, message: str) -> None:
        errors.append(RowError(row, name, message))

    entry_id = _text(raw.get("id"))
    if not entry_id:
        bad("id", "missing")
    elif not _ID.match(entry_id) or len(entry_id) > 64:
        bad("id", "use lowercase letters, digits and '-' (at most 64)")
    if _text(raw.get("retired")).lower() in _TRUE or raw.get("retired") is True:
        return (None if errors else {"id": entry_id, "retired": True}), errors
    topic = _text(raw.get("topic"))
    if topic not in TOPIC_NAMES:
        bad("topic", f"{'missing' if not topic else repr(topic) + ' is unknown'}; one of {', '.join(TOPIC_NAMES)}")
    question = clean(_text(raw.get("question")))
    if not question:
        bad("question", "missing")
    alternatives = _unique(clean(a) for a in _items(raw.get("alternatives"), "\n"))
    if len(alternatives) < 2:
        bad("alternatives", f"needs at least 2 other phrasings (has {len(alternatives)}); one per line")
    answer = nfc(strip_markup(_text(raw.get("answer")).replace("\r\n", "\n"))).strip()
    if not answer:
        bad("answer", "missing")
    elif len(answer) > ANSWER_CHARS:
        bad("answer", f"{len(answer)} characters (max {ANSWER_CHARS}, one phone screen)")
    source = raw.get("source")
    title, url = (source.get("title"), source.get("url")) if isinstance(source, dict) else (source, raw.get("source_url"))
    title, url = clean(_text(title)), _text(url)
    if not title:
        bad("source", "missing: the official document (number, issuer, date)")
    if not safe_ref(url):
        bad("source_url", "must start with http:// or https:// (or be a link within the site)")
    updated = _date(raw.get("updated"))
    if updated is None:
        bad("updated", "must be a date like 2026-11-23")
    checked = _date(raw.get("checked")) or updated  # whoever saves an entry vouches for it that day
    review_by = _date(raw.get("review_by"))
    if updated and checked and review_by is None:
        review_by = review_due(dt.date.fromisoformat(checked), topic).isoformat()
    if checked and review_by and review_by <= checked:
        bad("review_by", f"must come after the day it was checked ({checked})")
    if errors:
        return None, errors
    entry: Entry = {"id": entry_id, "topic": topic, "question": question, "alternatives": alternatives, "answer": answer,
                    "source": {"title": title, **({"url": url} if url else {})}}
    tags = _unique(t.strip() for t in _items(raw.get("tags"), ","))
    if tags:
        entry["tags"] = tags
    entry["updated"] = updated
    entry["checked"], entry["review_by"] = checked, review_by
    if _text(raw.get("superseded")):
        entry["superseded"] = clean(_text(raw["superseded"]))
    return entry, []


def _with_review_dates(entry: Entry) -> Entry:
    """The entry with the review dates the loader requires: checked defaults to the day it was saved
    (`updated`), review_by to the topic's review period after that (bot.knowledge.models.REVIEW_MONTHS)."""
    out = dict(entry)
    checked = _date(out.get("checked")) or _date(out.get("updated"))
    if checked:
        out["checked"] = checked
        out["review_by"] = _date(out.get("review_by")) or review_due(dt.date.fromisoformat(checked), str(out.get("topic"))).isoformat()
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _items(value: Any, sep: str) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value if _text(v)]
    return [v.strip() for v in _text(value).replace("\r\n", "\n").split(sep) if v.strip()]


def _unique(items) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(_text(value)[:10]).isoformat()
    except ValueError:
        return None


def normalise(entry: dict[str, Any]) -> Entry:
    """An entry read from a knowledge file in the canonical form stored in versions and compared on import."""
    out = dict(entry)
    out["answer"] = nfc(str(entry.get("answer", ""))).strip()
    if isinstance(entry.get("source"), str):
        out["source"] = {"title": entry["source"]}
    for key in ("updated", "checked", "review_by"):
        if key in entry:
            out[key] = _date(entry[key]) or str(entry[key])
    if out.get("tags"):
        out["tags"] = [str(t) for t in out["tags"]]  # YAML reads a tag like 1661 as a number
    else:
        out.pop("tags", None)
    return out


# -- writing the knowledge files ------------------------------------------------------------


class _Flow(list):
    """A list written on one line: tags: [a, b]."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):  # '- item' indented under its key
        return super().increase_indent(flow, False)


_Dumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)
)
_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def dump_entries(entries: list[Entry]) -> str:
    """YAML in the knowledge-file style: block scalars for answers, one blank line between entries."""
    parts = []
    for e in entries:
        data = {k: v for k, v in e.items()}
        data["answer"] = data["answer"].strip() + "\n"  # always a '|' block, as in the hand-written files
        if "tags" in data:
            data["tags"] = _Flow(data["tags"])
        for key in ("updated", "checked", "review_by"):
            if _date(data.get(key)):
                data[key] = dt.date.fromisoformat(_date(data[key]))
        parts.append(yaml.dump([data], Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10**6))
    return "\n".join(parts)


_ENTRY_START = re.compile(r"^- ", re.M)


def render_file(old_text: str, old: list[Entry], new: list[Entry]) -> str:
    """The new text of a FAQ file: untouched entries, comments and spacing stay byte for byte."""
    starts = [m.start() for m in _ENTRY_START.finditer(old_text)]
    if not starts or len(starts) != len(old):  # an unusual layout: write the file afresh
        return dump_entries(new)
    wanted = {e["id"]: e for e in new}
    pieces = [old_text[: starts[0]]]
    for start, end, before in zip(starts, starts[1:] + [len(old_text)], old):
        lines = old_text[start:end].splitlines(keepends=True)
        cut = max(i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")) + 1
        body, gap = "".join(lines[:cut]), "".join(lines[cut:])  # gap: blank lines and section comments
        after = wanted.get(before["id"])
        if after is None:
            pieces.append(gap if "#" in gap else "")
        else:
            pieces.append((body if after == before else dump_entries([after])) + gap)
    text = "".join(pieces)
    known = {e["id"] for e in old}
    added = [e for e in new if e["id"] not in known]
    if added:
        text = text.rstrip("\n") + "\n\n" + dump_entries(added)
    return text


# -- the store -------------------------------------------------------------------------------


class FaqStore:
    """The FAQ entries of one knowledge directory, with their version history in the database."""

    def __init__(self, kb_dir: Path, db: Database) -> None:
        self.kb_dir = Path(kb_dir)
        self.faq_dir = self.kb_dir / "faq"
        self.db = db

    def files(self) -> dict[str, list[Entry]]:
        """Entries per file name, in file order."""
        out = {}
        for path in sorted(self.faq_dir.glob("*.y*ml")):
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or []
            out[path.name] = [normalise(e) for e in data]
        return out

    def entries(self) -> list[Entry]:
        return [e for entries in self.files().values() for e in entries]

    def check(self, entry: Entry, row: int = 0) -> list[RowError]:
        """An entry's web addresses and phone numbers that are not on the allow-list (knowledge/allowlist/)."""
        source = entry.get("source") or {}
        text = " ".join([entry.get("question", ""), *entry.get("alternatives", []), entry.get("answer", ""),
                         source.get("title", ""), source.get("url", "")])
        unlisted = AllowList.load(self.kb_dir).outside(text)
        if not unlisted:
            return []
        return [RowError(row, "allowlist", messages.FAQ_NOT_ALLOWED.format(items=", ".join(unlisted)))]

    def apply(self, changes: dict[str, Entry | None], actor: str, summary: str, session: Session | None = None) -> Applied:
        """Set each entry id to a new entry (add/edit) or None (retire) as one version; no-ops are dropped.
        Every new text is held to the allow-list first: ImportRejected, nothing written.

        A unit of work: the version rows go into `session` (the caller's transaction, so a draft approved with
        its entry is one commit; without one, a transaction of its own), the checked files are staged beside
        their targets and swapped in only when that transaction commits, and dropped if it rolls back. Writers
        queue (`_writer_lock`: an advisory lock on PostgreSQL) until the new files are in place."""
        problems = [p for new in changes.values() if new is not None for p in self.check(new)]
        if problems:
            raise ImportRejected(problems)
        if session is None:
            with self.db.session() as s:
                return self.apply(changes, actor, summary, s)
        release = self._writer_lock()
        try:
            return self._apply(changes, actor, summary, session, release)
        except BaseException:
            release()
            raise

    def _apply(self, changes: dict[str, Entry | None], actor: str, summary: str, session: Session, release) -> Applied:
        files = self.files()
        before = {name: list(entries) for name, entries in files.items()}
        where = {e["id"]: name for name, entries in files.items() for e in entries}
        current = {e["id"]: e for entries in files.values() for e in entries}
        applied = Applied(None)
        rows, dirty = [], set()
        for entry_id, new in changes.items():
            old = current.get(entry_id)
            new = _with_review_dates(new) if new is not None else None
            if new == old:
                continue
            action = "add" if old is None else "retire" if new is None else "edit"
            applied.actions[entry_id] = action
            rows.append(FaqChange(entry_id=entry_id, action=action, before=old, after=new))
            home = where.get(entry_id)
            if old is not None and new is not None and new["topic"] == old["topic"]:
                files[home] = [new if e["id"] == entry_id else e for e in files[home]]
                dirty.add(home)
                continue
            if old is not None:
                files[home] = [e for e in files[home] if e["id"] != entry_id]
                dirty.add(home)
            if new is not None:
                files.setdefault(f"{new['topic']}.yaml", []).append(new)
                dirty.add(f"{new['topic']}.yaml")
        if not rows:
            release()
            return applied
        staged = self._stage({name: files[name] for name in dirty}, before)
        try:
            version = FaqVersion(actor=actor[:96], summary=summary[:200])
            session.add(version)
            session.flush()
            for row in rows:
                row.version_id = version.id
                session.add(row)
            session.flush()
        except BaseException:
            _discard(staged)
            raise
        applied.version = version.id
        self._swap_at_commit(session, staged, release)
        return applied

    def _swap_at_commit(self, session: Session, staged: dict[str, Path | None], release) -> None:
        """Move the staged files into place when `session` commits, then let the next writer in; drop them
        when it rolls back."""
        done: list[bool] = []  # a listener cannot remove itself while it runs: a spent one does nothing

        def committed(_s) -> None:
            done.append(True)
            event.remove(session, "after_soft_rollback", rolled_back)
            try:
                for name, tmp in staged.items():
                    target = self.faq_dir / name
                    if tmp is None:
                        target.unlink(missing_ok=True)
                    else:
                        os.replace(tmp, target)
            finally:
                release()

        def rolled_back(_s, previous) -> None:
            if done or previous.parent is not None:  # a savepoint or an inner transaction: the outer one decides
                return
            done.append(True)
            event.remove(session, "after_commit", committed)
            _discard(staged)
            release()

        event.listen(session, "after_commit", committed, once=True)
        event.listen(session, "after_soft_rollback", rolled_back)

    def _stage(self, files: dict[str, list[Entry]], before: dict[str, list[Entry]]) -> dict[str, Path | None]:
        """Write each changed file next to its target and check it with the knowledge loader; None: remove."""
        self.faq_dir.mkdir(parents=True, exist_ok=True)
        staged: dict[str, Path | None] = {}
        try:
            for name, entries in files.items():
                if not entries:
                    staged[name] = None
                    continue
                path = self.faq_dir / name
                text = render_file(path.read_text(encoding="utf-8"), before[name], entries) if path.exists() else dump_entries(entries)
                tmp = self.faq_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
                staged[name] = tmp
                tmp.write_text(text, encoding="utf-8")
                load_faq(tmp, self.kb_dir)
        except KnowledgeError as exc:  # cannot pass validation and fail here, but never write a file the bot refuses
            _discard(staged)
            raise ImportRejected([RowError(0, "file", str(exc))]) from exc
        return staged

    def _writer_lock(self):
        """One writer at a time per knowledge directory, from reading the files until the new ones are in place
        (CLI imports, the web admin and chat /themfaq of every process may overlap). PostgreSQL: an advisory
        lock on a connection of its own; SQLite (one host): a lock on the FAQ directory. Returns release()."""
        key = int.from_bytes(hashlib.sha256(str(self.kb_dir.resolve()).encode()).digest()[:8], "big", signed=True)
        if self.db.engine.dialect.name == "postgresql":
            conn = self.db.engine.connect()
            conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (key,))

            def release() -> None:
                try:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                    conn.rollback()
                    conn.close()
                except Exception:  # the connection is gone: so is its lock
                    conn.invalidate()
        else:
            self.faq_dir.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.faq_dir, os.O_RDONLY)  # the directory itself: no lock file left in it
            fcntl.flock(handle, fcntl.LOCK_EX)

            def release() -> None:
                fcntl.flock(handle, fcntl.LOCK_UN)
                os.close(handle)

        done = []

        def once() -> None:
            if not done:
                done.append(True)
                release()

        return once

    # -- import and export -------------------------------------------------------------------

    def validate(self, path: Path) -> dict[str, Entry | None]:
        """The changes a file asks for; ImportRejected with every row error if any row is bad."""
        errors: list[RowError] = []
        changes: dict[str, Entry | None] = {}
        first_row: dict[str, int] = {}
        known = {e["id"] for e in self.entries()}
        for row, raw in read_rows(path):
            entry, problems = parse_row(raw, row)
            errors.extend(problems)
            if entry is None:
                continue
            if not entry.get("retired"):
                errors.extend(self.check(entry, row))
            entry_id = entry["id"]
            if entry_id in first_row:
                errors.append(RowError(row, "id", f"{entry_id} also on row {first_row[entry_id]}"))
                continue
            first_row[entry_id] = row
            if entry.get("retired") and entry_id not in known:
                errors.append(RowError(row, "retired", f"no entry {entry_id} to retire"))
                continue
            changes[entry_id] = None if entry.get("retired") else entry
        if errors:
            raise ImportRejected(errors)
        return changes

    def import_file(self, path: Path, actor: str) -> Applied:
        return self.apply(self.validate(path), actor, f"import {path.name}")

    def retire(self, entry_ids: list[str], actor: str) -> Applied:
        known = {e["id"] for e in self.entries()}
        missing = [i for i in entry_ids if i not in known]
        if missing:
            raise ImportRejected([RowError(0, "id", f"no entry {i}") for i in missing])
        return self.apply({i: None for i in entry_ids}, actor, f"retire {', '.join(entry_ids)}")

    def export(self, path: Path) -> int:
        entries = self.entries()
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise ValueError(f"unsupported format {suffix or '(none)'}; use .yaml, .csv or .xlsx")
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix in (".yaml", ".yml"):
            path.write_text(dump_entries(entries), encoding="utf-8")
        elif suffix == ".csv":
            buffer = io.StringIO()
            write_csv(buffer, [COLUMNS, *(_cells(e) for e in entries)])
            path.write_text(buffer.getvalue(), encoding="utf-8-sig")  # the BOM makes Excel read UTF-8
        else:
            _write_xlsx(path, entries)
        return len(entries)

    # -- history and rollback ----------------------------------------------------------------

    def history(self, limit: int = 20, entry_id: str | None = None) -> list[tuple[FaqVersion, list[FaqChange]]]:
        with self.db.session() as s:
            query = select(FaqVersion).order_by(FaqVersion.id.desc()).limit(limit)
            if entry_id:
                query = query.where(FaqVersion.id.in_(select(FaqChange.version_id).where(FaqChange.entry_id == entry_id)))
            versions = list(s.scalars(query))
            changes = s.scalars(select(FaqChange).where(FaqChange.version_id.in_([v.id for v in versions])).order_by(FaqChange.id))
            by_version: dict[int, list[FaqChange]] = {}
            for c in changes:
                by_version.setdefault(c.version_id, []).append(c)
            return [(v, by_version.get(v.id, [])) for v in versions]

    def rollback(self, version: int, actor: str) -> Applied:
        """Bring back the state from before `version`: every entry it or a later version touched."""
        with self.db.session() as s:
            if s.get(FaqVersion, version) is None:
                raise LookupError(f"no FAQ version {version}")
            changes = s.scalars(select(FaqChange).where(FaqChange.version_id >= version).order_by(FaqChange.id))
            target: dict[str, Entry | None] = {}
            for c in changes:
                target.setdefault(c.entry_id, c.before)
        return self.apply(target, actor, f"rollback to before version {version}")


def _cells(e: Entry) -> list[str]:
    return [e["id"], e["topic"], e["question"], "\n".join(e["alternatives"]), e["answer"], e["source"]["title"],
            e["source"].get("url", ""), ", ".join(e.get("tags", [])), e["updated"], e.get("checked", ""),
            e.get("review_by", ""), e.get("superseded", ""), ""]


def _write_xlsx(path: Path, entries: list[Entry]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    append_row(sheet, COLUMNS)
    for e in entries:
        append_row(sheet, _cells(e))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = {"id": 36, "topic": 14, "question": 48, "alternatives": 48, "answer": 80, "source": 48, "source_url": 30}
    for i, name in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + i)].width = widths.get(name, 12)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    book.save(path)


def _discard(staged: dict[str, Path | None]) -> None:
    for tmp in staged.values():
        if tmp is not None:
            tmp.unlink(missing_ok=True)
