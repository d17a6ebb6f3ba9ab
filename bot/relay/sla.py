"""Due times for escalated questions: working hours and days in Vietnam time (public holidays and swapped days
from knowledge/holidays.yaml, local days off from ESCALATION_EXTRA_HOLIDAYS), reminders before a question is due,
moving an overdue question up to the parent area's team (commune -> province: local government has two tiers since
1 July 2025, so this is the one step), telling the citizen, and reminding the province's team and the admins again
while an overdue question stays unanswered at province level.

Everything takes `now` (aware): the watch passes the clock, tests pass the instants they need, nobody sleeps.
`tick` is one sweep; it records what it did (reminded_at, overdue_at) in the same transaction that returns the
notices, so a second sweep never repeats one, and a notice to the citizen is also kept as a relay message that
reaches them with their next message if it cannot be pushed now (bot.relay.delivery).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages
from bot.areas import ALL
from bot.worktime import parse_dates, parse_days, parse_hours, parse_windows
from bot.channels import registry
from bot.chat.types import OutgoingMessage
from bot.knowledge.models import KnowledgeError
from bot.relay import inbox
from bot.relay.delivery import Notice
from bot.relay.models import RelayMessage
from bot.vntime import aware
from bot.storage.models import Chat, Escalation

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
HOLIDAYS_FILE = "holidays.yaml"  # in the knowledge directory
DAY_KINDS = ("holiday", "workday")  # a day off on a working weekday; a weekend day worked in exchange (làm bù)
LOOKAHEAD_DAYS = 60  # how far next_open looks for a working window (Tết and its weekends are 9 days)


@dataclass(frozen=True)
class Calendar:
    """Days off on working weekdays and weekend days worked, read from knowledge/holidays.yaml."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()


def load_holidays(path: Path) -> Calendar:
    """knowledge/holidays.yaml: one row per day with date, kind (holiday | workday), name, source and checked;
    no file: no holidays. A malformed row is a KnowledgeError naming it."""
    path = Path(path)
    if not path.exists():
        return Calendar()
    try:
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(rows, list):
        raise KnowledgeError(f"{path}: a list of days is expected")
    found: dict[str, set[dt.date]] = {kind: set() for kind in DAY_KINDS}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise KnowledgeError(f"{path}: day {number} is not a mapping")
        day, kind = row.get("date"), row.get("kind")
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise KnowledgeError(f"{path}: day {number}: date must be YYYY-MM-DD, not {day!r}")
        if kind not in DAY_KINDS:
            raise KnowledgeError(f"{path}: {day}: kind must be one of {', '.join(DAY_KINDS)}, not {kind!r}")
        for key in ("name", "source"):
            if not str(row.get(key) or "").strip():
                raise KnowledgeError(f"{path}: {day}: {key} is missing")
        if not isinstance(row.get("checked"), dt.date):
            raise KnowledgeError(f"{path}: {day}: checked must be the date it was last checked (YYYY-MM-DD)")
        if day in found["holiday"] | found["workday"]:
            raise KnowledgeError(f"{path}: {day} is listed twice")
        found[kind].add(day)
    return Calendar(frozenset(found["holiday"]), frozenset(found["workday"]))


@dataclass(frozen=True)
class Schedule:
    """When the team works and how long a question may wait (in working hours), per area."""

    hours: float = 8.0
    per_area: dict[str, float] = field(default_factory=dict)
    windows: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0)))
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    remind_before: float = 2.0  # working hours before the due time
    holidays: frozenset[dt.date] = frozenset()  # no work, whatever the weekday (public holidays, local days off)
    workdays: frozenset[dt.date] = frozenset()  # weekend days worked in exchange for a swapped day (làm bù)

    @classmethod
    def from_settings(cls, settings) -> Schedule:
        """The settings' hours and days, the holidays of knowledge/holidays.yaml and ESCALATION_EXTRA_HOLIDAYS."""
        hours, per_area = parse_hours(settings.escalation_sla_hours)
        calendar = load_holidays(Path(settings.knowledge_dir) / HOLIDAYS_FILE)
        extra = parse_dates(getattr(settings, "escalation_extra_holidays", ""))
        return cls(hours, per_area, parse_windows(settings.escalation_work_hours), parse_days(settings.escalation_work_days),
                   settings.escalation_remind_hours, calendar.holidays | extra, calendar.workdays - extra)

    def sla_hours(self, area: str) -> float:
        """The area's own setting, else its province's, else the default."""
        area = area or ""
        return self.per_area.get(area) or self.per_area.get(area.split("/")[0]) or self.hours

    def working_day(self, day: dt.date) -> bool:
        """A day with working hours: not a holiday, and a working weekday or a weekend day worked in exchange."""
        return day not in self.holidays and (day.isoweekday() in self.days or day in self.workdays)

    def _spans(self, day: dt.date):
        if not self.working_day(day):
            return
        for start, end in self.windows:
            yield dt.datetime.combine(day, start, TZ), dt.datetime.combine(day, end, TZ)

    def working(self, when: dt.datetime) -> bool:
        local = when.astimezone(TZ)
        return any(a <= local < b for a, b in self._spans(local.date()))

    def next_open(self, when: dt.datetime) -> dt.datetime:
        """`when` itself during working hours, else the start of the next working window."""
        local = when.astimezone(TZ)
        for offset in range(LOOKAHEAD_DAYS):
            for a, b in self._spans(local.date() + dt.timedelta(days=offset)):
                if local < b:
                    return max(a, local)
        return local  # no working window in two months: only with a very long list of local days off

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant `hours` working hours after `start`, in UTC (SQLite keeps a datetime's wall time only)."""
        return self._add(start, hours).astimezone(dt.timezone.utc)

    def _add(self, start: dt.datetime, hours: float) -> dt.datetime:
        left = dt.timedelta(hours=hours)
        local = start.astimezone(TZ)
        for offset in range(400):
            for a, b in self._spans(local.date() + dt.timedelta(days=offset)):
                if b <= local:
                    continue
                begin = max(a, local)
                if begin + left <= b:
                    return begin + left
                left -= b - begin
        return local + left

    def due(self, start: dt.datetime, area: str) -> dt.datetime:
        return self.add(start, self.sla_hours(area))

    def remind_at(self, start: dt.datetime, area: str) -> dt.datetime:
        """A reminder `remind_before` working hours before the due time (halfway for a short SLA)."""
        hours = self.sla_hours(area)
        return self.add(start, max(hours - self.remind_before, hours / 2))

    def hours_text(self) -> str:
        """'thứ Hai đến thứ Sáu, 7:30–11:30 và 13:30–17:00' for the citizen."""
        days = sorted(self.days)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
            day_text = f"{DAY_NAMES[days[0] - 1]} đến {DAY_NAMES[days[-1] - 1]}"
        else:
            day_text = ", ".join(DAY_NAMES[d - 1] for d in days)
        spans = " và ".join(f"{_clock(a)}–{_clock(b)}" for a, b in self.windows)
        return f"{day_text}, {spans}" + (messages.ESCALATION_EXCEPT_HOLIDAYS if self.holidays else "")

    def promise(self, now: dt.datetime, area: str) -> str:
        """What the citizen can expect, honestly: working hours, the usual delay, and out of hours when it starts."""
        text = messages.ESCALATION_PROMISE.format(hours=_number(self.sla_hours(area)), schedule=self.hours_text())
        if not self.working(now):
            text += "\n" + messages.ESCALATION_OUT_OF_HOURS.format(when=when_text(self.next_open(now)))
        return text


def _clock(t: dt.time) -> str:
    return f"{t.hour}:{t.minute:02d}"


def _number(hours: float) -> str:
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}".replace(".", ",")


def when_text(when: dt.datetime) -> str:
    """'8:00 thứ Hai 07/12' in Vietnam time (a naive datetime from SQLite is UTC)."""
    local = aware(when).astimezone(TZ)
    return f"{local.hour}:{local.minute:02d} {DAY_NAMES[local.isoweekday() - 1]} {local:%d/%m}"


def parent(area: str) -> str | None:
    """The area above: a commune's province; None for a province. Local government has two tiers since 1 July 2025
    (province, commune/ward; no districts), so a question moves up at most once."""
    return area.split("/")[0] if "/" in area else None


def tick(s: Session, schedule: Schedule, now: dt.datetime, area_name=lambda code: code) -> list[Notice]:
    """One sweep: reminders for questions soon due, overdue questions moved up, and reminders for questions still
    unanswered after that. Returns the notices to push. A question that had its first answer is left alone (a
    follow-up reopens it and tells whoever answered: the due time is for the first answer)."""
    notices: list[Notice] = []
    now = now.astimezone(dt.timezone.utc)  # stored as UTC: SQLite keeps a datetime's wall time only
    waiting = s.scalars(select(Escalation).where(Escalation.status.in_(inbox.WAITING), Escalation.due_at.is_not(None),
                                                 Escalation.first_answered_at.is_(None)).order_by(Escalation.id)).all()
    for esc in waiting:
        area = esc.origin_area if esc.origin_area is not None else esc.area
        if esc.overdue_at is not None:
            notices += _still_overdue(s, schedule, esc, now, area_name)
        elif aware(esc.due_at) <= now:
            notices += _move_up(s, esc, now, area_name)
        elif esc.reminded_at is None and schedule.remind_at(aware(esc.created_at), area) <= now:
            esc.reminded_at = now
            text = messages.RELAY_REMINDER.format(id=esc.id, area=area_name(esc.area), due=when_text(aware(esc.due_at)),
                                                  question=inbox.preview(esc.question))
            notices += _to_team(s, esc, esc.area, text, only_claimer=esc.status == "claimed")
    return notices


def _move_up(s: Session, esc: Escalation, now: dt.datetime, area_name) -> list[Notice]:
    """Overdue: a commune's question goes to its province's team (open again there); a province's stays with its
    team and the admins are told too. The citizen is told either way."""
    esc.overdue_at = now
    esc.origin_area = esc.area if esc.origin_area is None else esc.origin_area
    above = parent(esc.area)
    if above is not None:
        esc.area = above
        esc.status, esc.claimed_by, esc.claimed_at = "open", None, None  # the new team takes it afresh
    text = messages.RELAY_OVERDUE.format(id=esc.id, area=area_name(esc.origin_area), to=area_name(esc.area if above else ALL),
                                         question=inbox.preview(esc.question))
    if above is not None:
        notices = _to_team(s, esc, esc.area, text)
    else:
        notices = _to_team(s, esc, esc.area, text, only_claimer=esc.status == "claimed", admins=True)
    told = messages.ESCALATION_MOVED_UP.format(code=esc.code or esc.id, to=area_name(esc.area) if above else messages.RELAY_ADMINS)
    return notices + [citizen_notice(s, esc, told)]


def _still_overdue(s: Session, schedule: Schedule, esc: Escalation, now: dt.datetime, area_name) -> list[Notice]:
    """Overdue and already moved up, still unanswered at province level: the province's team (or whoever took it)
    and the admins are reminded, once per `sla_hours` of the province's working hours since the last notice."""
    last = aware(esc.overdue_at)
    if esc.reminded_at is not None and aware(esc.reminded_at) > last:
        last = aware(esc.reminded_at)
    if schedule.add(last, schedule.sla_hours(esc.area)) > now:
        return []
    esc.reminded_at = now
    text = messages.RELAY_STILL_OVERDUE.format(id=esc.id, area=area_name(esc.area), due=when_text(aware(esc.due_at)),
                                               question=inbox.preview(esc.question))
    return _to_team(s, esc, esc.area, text, only_claimer=esc.status == "claimed", admins=True)


def citizen_notice(s: Session, esc: Escalation, text: str) -> Notice:
    """A message for the citizen, kept in the thread (undelivered) until a push reaches them."""
    row = RelayMessage(escalation_id=esc.id, author="notice", user_id=esc.user_id, text=text, delivered=False)
    s.add(row)
    s.flush()
    chat = s.get(Chat, esc.chat_id)
    return Notice(chat.channel, chat.external_id, OutgoingMessage(text, chat_id=chat.external_id), row.id)


def _to_team(s: Session, esc: Escalation, area: str, text: str, only_claimer: bool = False, admins: bool = False) -> list[Notice]:
    """On-duty members covering `area` on every channel the bot reaches them on (a province's members, not the
    commune's: a commune team does not cover its province); `only_claimer`: the one who took it, if reachable;
    `admins`: the on-duty members covering every area too, whatever `only_claimer` says."""
    members, everywhere = [], []
    for channel in registry.team_channels():  # where the bot reaches a team member (not the web pages)
        members += inbox.on_duty_members(s, area, channel, exclude=esc.user_id)
        if admins:
            everywhere += inbox.on_duty_members(s, ALL, channel, exclude=esc.user_id)
    if only_claimer and esc.claimed_by is not None:
        members = [m for m in members if m.id == esc.claimed_by] or members
    members = list({m.id: m for m in members + everywhere}.values())
    return [Notice(m.channel, m.external_id, OutgoingMessage(text, chat_id=m.external_id)) for m in members]
