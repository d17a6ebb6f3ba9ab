"""`python -m bot faq import|export|retire|history|rollback`, `python -m bot report` and `python -m bot gaps`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from bot.cli_support import actor as _actor, area_code, fail, open_areas, open_database
from bot.config import get_settings

faq_app = typer.Typer(help="Manage FAQ entries: import/export (YAML, CSV, XLSX), history and rollback.", no_args_is_help=True)


def _store():
    from bot.faq.store import FaqStore

    return FaqStore(get_settings().knowledge_dir, open_database())


def _done(applied) -> None:
    if applied.version is None:
        typer.echo("no changes: every entry is already as given")
        return
    counts = ", ".join(f"{n} {a}" for a, n in applied.counts().items())
    typer.echo(f"version {applied.version}: {counts}; running bots answer with it within seconds")


def _rejected(exc) -> None:
    for error in exc.errors:
        typer.echo(f"error: {error}", err=True)
    typer.echo(f"{len(exc.errors)} error(s); nothing was changed", err=True)
    raise typer.Exit(1)


@faq_app.command("import")
def faq_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .yaml, .csv or .xlsx file (columns as in `faq export`)."),
    check: bool = typer.Option(False, "--check", help="Only validate; change nothing."),
) -> None:
    """Add or edit entries (and retire rows marked retired); all rows or none."""
    from bot.faq.store import ImportRejected

    store = _store()
    try:
        if check:
            changes = store.validate(file)
            typer.echo(f"{len(changes)} rows valid")
            return
        _done(store.import_file(file, _actor()))
    except ImportRejected as exc:
        _rejected(exc)


@faq_app.command("export")
def faq_export(file: Path = typer.Argument(..., dir_okay=False, help="Where to write: .yaml, .csv or .xlsx.")) -> None:
    """Write every FAQ entry to a file (edit it and import it back)."""
    try:
        count = _store().export(file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{count} entries -> {file}")


@faq_app.command("retire")
def faq_retire(entry_ids: list[str] = typer.Argument(..., help="Entry ids to stop answering with.")) -> None:
    """Remove entries from the answers (a rollback brings them back)."""
    from bot.faq.store import ImportRejected

    try:
        _done(_store().retire(entry_ids, _actor()))
    except ImportRejected as exc:
        _rejected(exc)


@faq_app.command("history")
def faq_history(
    limit: int = typer.Option(20, "--limit", min=1),
    entry: Optional[str] = typer.Option(None, "--entry", help="Only versions that changed this entry id."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per version, with before/after."),
) -> None:
    """List FAQ versions, newest first: who, when, what."""
    for version, changes in _store().history(limit, entry):
        if as_json:
            print(json.dumps({
                "version": version.id, "actor": version.actor, "at": version.created_at.isoformat(), "summary": version.summary,
                "changes": [{"entry": c.entry_id, "action": c.action, "before": c.before, "after": c.after} for c in changes],
            }, ensure_ascii=False))
            continue
        what = ", ".join(f"{c.action} {c.entry_id}" for c in changes[:5]) + (f", … ({len(changes)} in all)" if len(changes) > 5 else "")
        print(f"{version.id:>5}  {version.created_at:%Y-%m-%d %H:%M}  {version.actor:<20}  {version.summary}: {what}")


@faq_app.command("rollback")
def faq_rollback(version: int = typer.Argument(..., help="Restore the entries as they were before this version.")) -> None:
    """Undo a version and every later one (recorded as a new version)."""
    from bot.faq.store import ImportRejected

    try:
        _done(_store().rollback(version, _actor()))
    except ImportRejected as exc:
        _rejected(exc)
    except LookupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def report_command(
    period: str = typer.Option(..., "--period", help="2026-10 (a month), 2026-H1 / 2026-H2 (a half-year) or 2026 (a year)."),
    out: Path = typer.Option(Path("reports"), "--out", file_okay=False, help="Directory to write into."),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx (one workbook) or csv (one file per sheet)."),
) -> None:
    """Write the period's report: workbook (XLSX or CSV), Markdown summary and PNG chart."""
    from bot.admin.reports import build_report, parse_period, write_report
    from bot.retrieval.embedders import EmbedderError, make_embedder

    if fmt not in ("xlsx", "csv"):
        typer.echo("error: --format must be xlsx or csv", err=True)
        raise typer.Exit(2)
    try:
        parsed = parse_period(period)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        embedder = make_embedder(get_settings().embedder)  # groups the unanswered questions (sheet «Chủ đề còn thiếu»)
    except EmbedderError as exc:
        fail(str(exc))
    report = build_report(open_database(), parsed, embedder=embedder)
    for path in write_report(report, out, fmt):
        typer.echo(str(path))


def gaps_command(
    since: Optional[str] = typer.Option(None, "--since", help="Only questions asked on or after this day (YYYY-MM-DD, Vietnam time)."),
    area: Optional[str] = typer.Option(None, "--area", help="Only questions of this area (a code from knowledge/areas.yaml; a province includes its communes)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON list of {label, size, examples, areas}."),
) -> None:
    """Questions the bot did not answer well (declined, clarified, 👎, escalated), grouped by meaning, biggest first."""
    import datetime as dt

    from bot.admin.gaps import gaps
    from bot.admin.reports import TZ
    from bot.retrieval.embedders import EmbedderError, make_embedder

    start = None
    if since:
        try:
            start = dt.datetime.combine(dt.date.fromisoformat(since.strip()), dt.time(), TZ)
        except ValueError:
            fail(f"--since {since!r}: use a date like 2026-11-01")
    code = area_code(open_areas(), area) if area else None
    settings = get_settings()
    try:
        embedder = make_embedder(settings.embedder)
    except EmbedderError as exc:
        fail(str(exc))
    found = gaps(open_database(), embedder, embedder.id, start, None if code == "all" else code)
    if as_json:
        print(json.dumps([c.as_json() for c in found], ensure_ascii=False))
        return
    for c in found:
        print(f"{c.size:>5}  {c.label}  [{', '.join(c.areas)}]")
