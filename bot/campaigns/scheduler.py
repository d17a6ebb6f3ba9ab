"""When campaigns run: APScheduler, with its jobs in the database (SQLAlchemyJobStore on DATABASE_URL).

The `campaigns` table is the source of truth; the CLI only writes to it. The running bot re-syncs
APScheduler's jobs from it every CAMPAIGN_SYNC_SECONDS (2 s by default), so a campaign added, paused,
resumed or cancelled from the CLI takes effect within seconds without any signal between processes.
A job never sends: it records a run (unique per campaign and slot) and expands its audience into the
outbox; the senders (bot.campaigns.senders) deliver.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from functools import partial

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import func, select

from bot import messages
from bot.areas import ALL, find_area, load_areas
from bot.campaigns import outbox, quiz
from bot.campaigns.quiz import QuizHost
from bot.channels import registry
from bot.campaigns.models import Campaign, CampaignRun
from bot.campaigns.senders import TZ, _sleep, quiet_ended, quiet_until, run_senders
from bot.config import Settings
from bot.knowledge.loaders import load_campaigns
from bot.storage.models import utcnow
from bot.ratelimit import RateGate
from bot.supervise import add_check, supervise

log = logging.getLogger(__name__)
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
MISFIRE_GRACE = 3600  # a job late by up to an hour (the bot was down) still runs, once

_context: dict = {}  # what the jobs need, set by the running Campaigns task (jobs are stored by reference)


def cron_trigger(cron: str) -> CronTrigger:
    """A 5-field crontab in Vietnam time. Day-of-week numbers are crontab's (0 or 7 = Sunday, 1 = Monday),
    which APScheduler 3 would read as Monday-based: they are turned into names first."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError("a cron expression has 5 fields: minute hour day month day-of-week")
    days = re.sub(r"(?<![/\d])[0-7](?!\d)", lambda m: DAYS[int(m.group())], fields[4])
    return CronTrigger(minute=fields[0], hour=fields[1], day=fields[2], month=fields[3], day_of_week=days, timezone=TZ)


def cron_slot(cron: str, now: dt.datetime) -> dt.datetime:
    """The latest scheduled time at or before `now`: the same for every process and every retry."""
    trigger, slot = cron_trigger(cron), None
    t = trigger.get_next_fire_time(None, now - dt.timedelta(seconds=MISFIRE_GRACE + 60))
    while t is not None and t <= now:
        slot, t = t, trigger.get_next_fire_time(t, t + dt.timedelta(seconds=1))
    return (slot or now.replace(second=0, microsecond=0)).astimezone(dt.timezone.utc)


def fire_job(campaign_id: int) -> None:
    """APScheduler job: one run of a campaign into the outbox."""
    fire(_context["service"], _context["settings"], campaign_id, utcnow(), _context.get("scheduler"))


def fire(service: QuizHost, settings: Settings, campaign_id: int, now: dt.datetime,
         scheduler: BackgroundScheduler | None = None) -> int | None:
    db = service.db
    with db.session() as s:
        c = s.get(Campaign, campaign_id)
        if c is None or c.status != "active":
            return None
        slot = c.run_at if not c.cron else cron_slot(c.cron, now)
        slot = slot.replace(tzinfo=dt.timezone.utc) if slot.tzinfo is None else slot.astimezone(dt.timezone.utc)
        kind, reveal = c.kind, c.reveal_minutes
        previous = s.scalar(select(func.count(CampaignRun.id)).where(
            CampaignRun.campaign_id == c.id, CampaignRun.kind == "quiz"))
        text = c.text + messages.CAMPAIGN_FOOTER if kind == "message" else c.text
    question = quiz.pick(service, previous) if kind == "quiz" else None
    if kind == "quiz" and question is None:
        log.warning("campaigns: quiz campaign %d has no questions to send", campaign_id)
        return None
    run_id = outbox.start_run(db, campaign_id, kind, slot, text, question.id if question else "")
    if run_id is None:
        return None  # this slot was queued already (another process, or a repeated job)
    n = quiz.expand(service, run_id, settings.outbox_batch) if question else outbox.expand(db, run_id, settings.outbox_batch)
    log.info("campaigns: campaign %d run %d queued %d messages", campaign_id, run_id, n)
    if question and reveal and scheduler is not None:
        scheduler.add_job("bot.campaigns.scheduler:reveal_job", DateTrigger(slot + dt.timedelta(minutes=reveal)),
                          args=[run_id], id=f"reveal-{run_id}", replace_existing=True)
    return run_id


def reveal_job(quiz_run_id: int) -> None:
    """APScheduler job: the answer and explanation of a quiz run, to everyone it went to."""
    reveal(_context["service"], _context["settings"], quiz_run_id)


def reveal(service: QuizHost, settings: Settings, quiz_run_id: int) -> int | None:
    db = service.db
    with db.session() as s:
        run = s.get(CampaignRun, quiz_run_id)
        q = service.quiz.get(run.quiz_id) if run else None
        if q is None:
            return None
        campaign_id, slot = run.campaign_id, run.slot
    text = messages.CAMPAIGN_QUIZ_REVEAL.format(
        question=q.question, answer=f"{'ABCD'[q.answer]}. {q.options[q.answer]}", explanation=q.explanation)
    run_id = outbox.start_run(db, campaign_id, "reveal", slot, text, q.id)
    if run_id is not None:
        outbox.expand(db, run_id, settings.outbox_batch)
    return run_id


def sync_calendar(service: QuizHost, settings: Settings) -> None:
    """Campaigns from knowledge/campaigns/*.yaml, kept in the table by their id ('kb:<id>')."""
    areas = load_areas(settings.knowledge_dir / "areas.yaml")
    with service.db.session() as s:
        for path in sorted((settings.knowledge_dir / "campaigns").glob("*.y*ml")):
            for entry in load_campaigns(path):
                area = entry.audience if entry.audience == ALL else getattr(find_area(areas, entry.audience), "code", None)
                if area is None:
                    log.warning("campaigns: calendar entry %s: unknown audience %r", entry.id, entry.audience)
                    continue
                c = s.scalar(select(Campaign).where(Campaign.key == f"kb:{entry.id}"))
                if c is None:
                    s.add(Campaign(key=f"kb:{entry.id}", text=entry.text, cron=entry.schedule, area=area, channel="all"))
                else:
                    c.text, c.cron, c.area = entry.text, entry.schedule, area


def sync_jobs(service: QuizHost, scheduler: BackgroundScheduler) -> None:
    """Make APScheduler's campaign jobs match the table: add the missing, drop paused and cancelled ones."""
    wanted: dict[str, tuple[int, object, str]] = {}
    with service.db.session() as s:
        ran = set(s.scalars(select(CampaignRun.campaign_id).where(CampaignRun.kind != "reveal")))
        for c in s.scalars(select(Campaign).where(Campaign.status == "active")):
            if c.cron:
                wanted[f"campaign-{c.id}"] = (c.id, cron_trigger(c.cron), c.cron)
            elif c.id not in ran:  # one-off: late is better than never (the bot was down at run_at)
                run_at = c.run_at if c.run_at.tzinfo else c.run_at.replace(tzinfo=dt.timezone.utc)
                wanted[f"campaign-{c.id}"] = (c.id, DateTrigger(max(run_at, utcnow())), "")
    jobs = {j.id: j for j in scheduler.get_jobs() if j.id.startswith("campaign-")}
    for job_id, (cid, trigger, cron) in wanted.items():
        job = jobs.get(job_id)
        if job is None or (cron and str(job.trigger) != str(trigger)):
            scheduler.add_job("bot.campaigns.scheduler:fire_job", trigger, args=[cid], id=job_id, replace_existing=True)
    for job_id in jobs.keys() - wanted.keys():
        scheduler.remove_job(job_id)


class Campaigns:
    """The runner task of `python -m bot run`: the scheduler, and a sender for each channel with a token."""

    def __init__(self, service: QuizHost, settings: Settings, gates: dict[str, RateGate] | None = None) -> None:
        self.service, self.settings = service, settings
        self.gates = gates or {}  # the running channels' rate gates (bot.runner): replies and sends share them

    async def run(self, stop: asyncio.Event) -> None:
        db, settings = self.service.db, self.settings
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=db.engine)}, timezone=TZ,
            job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1})
        _context.update(service=self.service, settings=settings, scheduler=scheduler)
        await db.run(sync_calendar, self.service, settings)
        scheduler.start()
        await db.run(self._resume)
        channels = registry.sending(settings)
        senders = [asyncio.create_task(supervise(f"sender:{c}", partial(run_senders, db, settings, [c], gates=self.gates),
                                                 stop)) for c in channels]
        if channels:
            add_check("outbox", partial(self.lag, channels))
        try:
            while not stop.is_set():
                try:
                    await db.run(sync_jobs, self.service, scheduler)
                except Exception:  # the database is away for a moment: try again next round
                    log.exception("campaigns: syncing jobs failed")
                await _sleep(stop, settings.campaign_sync_seconds)
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.gather(*senders)

    def lag(self, channels: list[str]) -> str:
        """The health check of the senders: a due row waiting longer than OUTBOX_LAG_SECONDS is a problem
        (a sender stuck or far behind); quiet hours do not count as waiting."""
        now = utcnow()
        if quiet_until(now, self.settings.quiet_hours):
            return ""
        due = outbox.oldest_due(self.service.db, channels)
        if due is None:
            return ""
        waited = (now - max(due, quiet_ended(now, self.settings.quiet_hours) or due)).total_seconds()
        return f"oldest due message waiting {waited:.0f} s" if waited > self.settings.outbox_lag_seconds else ""

    def _resume(self) -> None:
        """Runs cut short by a crash (status 'expanding') finish expanding; repeats are harmless."""
        db = self.service.db
        with db.session() as s:
            runs = s.execute(select(CampaignRun.id, CampaignRun.kind).where(CampaignRun.status == "expanding")).all()
        for run_id, kind in runs:
            if kind == "quiz":
                quiz.expand(self.service, run_id, self.settings.outbox_batch)
            else:
                outbox.expand(db, run_id, self.settings.outbox_batch)
