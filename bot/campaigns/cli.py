"""`python -m bot campaign …`: add, list, inspect, pause, resume and cancel campaigns; run senders; leaderboards.

The CLI only writes the `campaigns` table; a running `python -m bot run` picks changes up within
CAMPAIGN_SYNC_SECONDS (see bot.campaigns.scheduler).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Optional

import typer
from sqlalchemy import select

from bot.areas import ALL, find_area, load_areas
from bot.channels import registry
from bot.cli_support import fail, open_database
from bot.config import get_settings
from bot.textnorm import clean

campaign_app = typer.Typer(help="Campaigns and quiz pushes.", no_args_is_help=True)
CHANNELS = (*registry.names(), "all")
SENDERS = tuple(registry.names())
MAX_TEXT = registry.text_limit()  # a campaign text goes out in one piece on every channel


def _parse_at(value: str) -> dt.datetime:
    from bot.campaigns.senders import TZ

    if value == "now":
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at must be an ISO date-time (2026-10-10T08:00) or 'now', not {value[:40]!r}")
    return (at if at.tzinfo else at.replace(tzinfo=TZ)).astimezone(dt.timezone.utc)


@campaign_app.command("add")
def add(
    text: str = typer.Option("", "--text", help="The message (Vietnamese; at most 2000 characters)."),
    at: Optional[str] = typer.Option(None, "--at", help="ISO date-time (Vietnam time unless an offset is given) or 'now'."),
    cron: Optional[str] = typer.Option(None, "--cron", help="Recurring, 5-field cron in Vietnam time, e.g. '0 8 * * 1'."),
    area: str = typer.Option(ALL, "--area", help="'all', a province or 'province/commune' (code or name)."),
    channel: str = typer.Option("all", "--channel", help=f"{', '.join(CHANNELS)}."),
    quiz: bool = typer.Option(False, "--quiz", help="A quiz push: the next question to subscribers who opted in."),
    reveal_after: int = typer.Option(120, "--reveal-after", help="Quiz: minutes until the answer is revealed (0: never)."),
) -> None:
    """Add a campaign; prints its id."""
    from bot.campaigns.models import Campaign
    from bot.campaigns.scheduler import cron_trigger

    settings = get_settings()
    text = clean(text).strip()
    if not text and not quiz:
        fail("--text is required (or --quiz)")
    if len(text) > MAX_TEXT:
        fail(f"--text is {len(text)} characters; at most {MAX_TEXT}")
    if at and cron:
        fail("give --at or --cron, not both")
    if cron:
        try:
            cron_trigger(cron)
        except ValueError as e:
            fail(f"--cron: {e}")
    if channel not in CHANNELS:
        fail(f"--channel must be one of {', '.join(CHANNELS)}")
    code = ALL
    if area != ALL:
        found = find_area(load_areas(settings.knowledge_dir / "areas.yaml"), area)
        if found is None:
            fail(f"unknown area {area[:60]!r} (see knowledge/areas.yaml)")
        code = found.code
    run_at = None if cron else _parse_at(at or "now")
    with open_database().session() as s:
        c = Campaign(kind="quiz" if quiz else "message", text=text, run_at=run_at, cron=cron or "", area=code,
                     channel=channel, reveal_minutes=max(0, reveal_after) if quiz else 0)
        s.add(c)
        s.flush()
        print(c.id)


@campaign_app.command("list")
def list_campaigns() -> None:
    """Every campaign with its sent / pending / failed counts."""
    from bot.campaigns.models import Campaign
    from bot.campaigns.outbox import counts

    with open_database().session() as s:
        rows = s.scalars(select(Campaign).order_by(Campaign.id)).all()
        n = counts(s)
        print(f"{'id':>4}  {'status':9} {'when':22} {'area':20} {'channel':8} {'sent':>7} {'pending':>7} {'failed':>7}  text")
        for c in rows:
            sent, pending, failed, _ = _summary(n.get(c.id, {}))
            print(f"{c.id:>4}  {c.status:9} {_when(c):22} {c.area[:20]:20} {c.channel:8} {sent:>7} {pending:>7} {failed:>7}  "
                  f"{_preview(c)}")


@campaign_app.command("status")
def status(campaign_id: int = typer.Argument(..., metavar="ID")) -> None:
    """One campaign: its settings, runs and delivery counts by status."""
    from bot.campaigns.models import Campaign, CampaignRun
    from bot.campaigns.outbox import counts

    with open_database().session() as s:
        c = s.get(Campaign, campaign_id) or fail(f"no campaign {campaign_id}")
        by_status = counts(s, [c.id]).get(c.id, {})
        sent, pending, failed, skipped = _summary(by_status)
        print(f"campaign {c.id} ({c.kind}{', ' + c.key if c.key else ''})")
        for label, value in (("status", c.status), ("when", _when(c)), ("area", c.area), ("channel", c.channel),
                             ("sent", sent), ("pending", pending), ("failed", failed), ("skipped", skipped)):
            print(f"  {label:8} {value}")
        for status_name, n in sorted(by_status.items()):
            print(f"  outbox {status_name}: {n}")
        for run in s.scalars(select(CampaignRun).where(CampaignRun.campaign_id == c.id).order_by(CampaignRun.id)):
            print(f"  run {run.id}: {run.kind} for {run.slot:%Y-%m-%d %H:%M} UTC, {run.status}")
        print(f"  text     {_preview(c, 200)}")


def _set_status(campaign_id: int, new: str, allowed: tuple[str, ...]) -> None:
    from bot.campaigns.models import Campaign
    from bot.campaigns.outbox import cancel_pending

    with open_database().session() as s:
        c = s.get(Campaign, campaign_id) or fail(f"no campaign {campaign_id}")
        if c.status not in allowed:
            fail(f"campaign {campaign_id} is {c.status}")
        c.status = new
        if new == "cancelled":
            cancel_pending(s, c.id)
    print(f"campaign {campaign_id} {new}")


@campaign_app.command("pause")
def pause(campaign_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Stop sending (queued messages wait) and stop scheduling until resumed."""
    _set_status(campaign_id, "paused", ("active", "paused"))


@campaign_app.command("resume")
def resume(campaign_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Send and schedule again."""
    _set_status(campaign_id, "active", ("active", "paused"))


@campaign_app.command("cancel")
def cancel(campaign_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Stop for good: queued messages are cancelled."""
    _set_status(campaign_id, "cancelled", ("active", "paused", "cancelled"))


@campaign_app.command("send")
def send(
    channel: list[str] = typer.Option(..., "--channel", help=f"{', '.join(SENDERS)} (repeatable)."),
    until_empty: bool = typer.Option(False, "--until-empty", help="Exit when nothing is left to send."),
) -> None:
    """Run outbox senders only (more processes can share one PostgreSQL outbox)."""
    from bot.campaigns.senders import run_senders

    bad = [c for c in channel if c not in SENDERS]
    if bad:
        fail(f"no sender for {bad}")
    settings = get_settings()

    async def main() -> None:
        import signal

        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        return await run_senders(open_database(), settings, channel, stop, until_empty)

    for sender in asyncio.run(main()):
        print(f"{sender.channel}: {sender.outcomes['sent']} sent", flush=True)


@campaign_app.command("leaderboard")
def leaderboard(
    area: str = typer.Option("", "--area", help="Only people of this area (code or name) and its communes."),
    days: int = typer.Option(7, "--days", help="Answers of the last N days."),
    limit: int = typer.Option(10, "--limit"),
) -> None:
    """Quiz leaderboard: most right answers in the last week."""
    from bot.campaigns.quiz import leaderboard as board

    code = ""
    if area:
        found = find_area(load_areas(get_settings().knowledge_dir / "areas.yaml"), area)
        code = found.code if found else fail(f"unknown area {area[:60]!r}")
    rows = board(open_database(), code, days, limit)
    if not rows:
        print("no quiz answers yet")
    for i, r in enumerate(rows, 1):
        print(f"{i:>3}. {r.name[:40]:40} {r.right:>4}/{r.answered:<4} {r.area}")


def _summary(by_status: dict[str, int]) -> tuple[int, int, int, int]:
    g = by_status.get
    return g("sent", 0), g("pending", 0) + g("sending", 0), g("failed", 0) + g("blocked", 0), g("skipped", 0) + g("cancelled", 0)


def _when(c) -> str:
    if c.cron:
        return f"cron {c.cron}"
    return f"at {c.run_at:%Y-%m-%d %H:%M} UTC" if c.run_at else "-"


def _preview(c, width: int = 60) -> str:
    text = c.text.replace("\n", " ") if c.text else f"(quiz, answer after {c.reveal_minutes} min)"
    return text if len(text) <= width else text[: width - 1] + "…"
