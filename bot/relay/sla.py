"""Due times for escalated questions: working hours and days in Vietnam time, reminders before a question is
due, and moving an overdue question up to the parent area's team (commune -> province), telling the citizen.

Everything takes `now` (aware): the watch passes the clock, tests pass the instants they need, nobody sleeps.
`tick` is one sweep; it records what it did (reminded_at, overdue_at) in the same transaction that returns the
notices, so a second sweep never repeats one, and a notice to the citizen is also kept as a relay message that
reaches them with their next message if it cannot be pushed now (bot.relay.delivery).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages
from bot.areas import ALL
from bot.chat.types import OutgoingMessage
from bot.relay import inbox
from bot.relay.delivery import Notice
from bot.relay.models import RelayMessage
from bot.relay.roles import aware
from bot.storage.models import Chat, Escalation

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
_WINDOW = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")
NOTIFIED_CHANNELS = ("telegram", "zalo", "zalo_oa")  # where the bot reaches a team member (not the web pages)


def _time(hour: str, minute: str | None) -> dt.time:
    h, m = int(hour), int(minute or 0)
    if h == 24 and m == 0:
        return dt.time(23, 59, 59)
    return dt.time(h, m)


def parse_windows(text: str) -> tuple[tuple[dt.time, dt.time], ...]:
    """'07:30-11:30,13:30-17:00' -> the working windows of a day; ValueError when malformed."""
    windows = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _WINDOW.match(part)
        if not match:
            raise ValueError(f"working hours {part!r}: use HH:MM-HH:MM, comma-separated")
        start, end = _time(match[1], match[2]), _time(match[3], match[4])
        if not start < end:
            raise ValueError(f"working hours {part!r}: the end must come after the start")
        windows.append((start, end))
    if not windows:
        raise ValueError("working hours: at least one window, e.g. 07:30-11:30,13:30-17:00")
    return tuple(sorted(windows))


def parse_days(text: str) -> frozenset[int]:
    """'1-5' (Monday to Friday) or '1-6' or '1,2,3,4,5': ISO weekdays 1 (Monday) to 7 (Sunday)."""
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        if not (first.isdigit() and (not last or last.isdigit())):
            raise ValueError(f"working days {part!r}: use 1-5 (Monday to Friday) or a list like 1,2,3")
        lo, hi = int(first), int(last or first)
        if not 1 <= lo <= hi <= 7:
            raise ValueError(f"working days {part!r}: days are 1 (Monday) to 7 (Sunday)")
        days.update(range(lo, hi + 1))
    if not days:
        raise ValueError("working days: at least one day")
    return frozenset(days)


def parse_hours(text: str) -> tuple[float, dict[str, float]]:
    """ESCALATION_SLA_HOURS: '8' or '8,dien-bien=4,quang-ngai/dak-bla=6' (working hours; per-area overrides)."""
    default, per_area = None, {}
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        area, sep, value = part.rpartition("=")
        try:
            hours = float(value)
        except ValueError:
            raise ValueError(f"ESCALATION_SLA_HOURS {part!r}: a number of working hours, or area=hours") from None
        if not 0 < hours <= 24 * 14:
            raise ValueError(f"ESCALATION_SLA_HOURS {part!r}: between 0 and 336 working hours")
        if sep:
            per_area[area.strip()] = hours
        else:
            default = hours
    if default is None:
        raise ValueError("ESCALATION_SLA_HOURS: give the default number of working hours first, e.g. 8")
    return default, per_area


@dataclass(frozen=True)
class Schedule:
    """When the team works and how long a question may wait (in working hours), per area."""

    hours: float = 8.0
    per_area: dict[str, float] = field(default_factory=dict)
    windows: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0)))
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    remind_before: float = 2.0  # working hours before the due time

    @classmethod
    def from_settings(cls, settings) -> Schedule:
        hours, per_area = parse_hours(settings.escalation_sla_hours)
        return cls(hours, per_area, parse_windows(settings.escalation_work_hours), parse_days(settings.escalation_work_days),
                   settings.escalation_remind_hours)

    def sla_hours(self, area: str) -> float:
        """The area's own setting, else its province's, else the default."""
        area = area or ""
        return self.per_area.get(area) or self.per_area.get(area.split("/")[0]) or self.hours

    def _spans(self, day: dt.date):
        if day.isoweekday() not in self.days:
            return
        for start, end in self.windows:
            yield dt.datetime.combine(day, start, TZ), dt.datetime.combine(day, end, TZ)

    def working(self, when: dt.datetime) -> bool:
        local = when.astimezone(TZ)
        return any(a <= local < b for a, b in self._spans(local.date()))

    def next_open(self, when: dt.datetime) -> dt.datetime:
        """`when` itself during working hours, else the start of the next working window."""
        local = when.astimezone(TZ)
        for offset in range(15):
            for a, b in self._spans(local.date() + dt.timedelta(days=offset)):
                if local < b:
                    return max(a, local)
        return local  # no working window in two weeks: cannot happen with a valid setting

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
        return f"{day_text}, {spans}"

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
    """The area above: a commune's province; None for a province (its overdue questions go to the admins)."""
    return area.split("/")[0] if "/" in area else None


def tick(s: Session, schedule: Schedule, now: dt.datetime, area_name=lambda code: code) -> list[Notice]:
    """One sweep: reminders for questions soon due, and overdue questions moved up. Returns the notices to push."""
    notices: list[Notice] = []
    waiting = s.scalars(select(Escalation).where(Escalation.status.in_(inbox.WAITING), Escalation.due_at.is_not(None),
                                                 Escalation.overdue_at.is_(None)).order_by(Escalation.id)).all()
    for esc in waiting:
        area = esc.origin_area if esc.origin_area is not None else esc.area
        if aware(esc.due_at) <= now:
            notices += _move_up(s, esc, now, area_name)
        elif esc.reminded_at is None and schedule.remind_at(aware(esc.created_at), area) <= now:
            esc.reminded_at = now
            text = messages.RELAY_REMINDER.format(id=esc.id, area=area_name(esc.area), due=when_text(aware(esc.due_at)),
                                                  question=inbox.preview(esc.question))
            notices += _to_team(s, esc, esc.area, text, only_claimer=esc.status == "claimed")
    return notices


def _move_up(s: Session, esc: Escalation, now: dt.datetime, area_name) -> list[Notice]:
    """Overdue: the parent area's team (or the admins, above a province) gets it; the citizen is told."""
    esc.overdue_at = now
    esc.origin_area = esc.area if esc.origin_area is None else esc.origin_area
    above = parent(esc.area)
    if above is not None:
        esc.area = above
        esc.status, esc.claimed_by, esc.claimed_at = "open", None, None  # the new team takes it afresh
    text = messages.RELAY_OVERDUE.format(id=esc.id, area=area_name(esc.origin_area), to=area_name(esc.area if above else ALL),
                                         question=inbox.preview(esc.question))
    notices = _to_team(s, esc, esc.area if above else ALL, text)
    told = messages.ESCALATION_MOVED_UP.format(code=esc.code or esc.id, to=area_name(esc.area) if above else messages.RELAY_ADMINS)
    return notices + [citizen_notice(s, esc, told)]


def citizen_notice(s: Session, esc: Escalation, text: str) -> Notice:
    """A message for the citizen, kept in the thread (undelivered) until a push reaches them."""
    row = RelayMessage(escalation_id=esc.id, author="notice", user_id=esc.user_id, text=text, delivered=False)
    s.add(row)
    s.flush()
    chat = s.get(Chat, esc.chat_id)
    return Notice(chat.channel, chat.external_id, OutgoingMessage(text, chat_id=chat.external_id), row.id)


def _to_team(s: Session, esc: Escalation, area: str, text: str, only_claimer: bool = False) -> list[Notice]:
    """On-duty members covering `area` on every channel the bot reaches them on (a province's members, not the
    commune's: a commune team does not cover its province); `only_claimer`: the one who took it, if reachable."""
    members = []
    for channel in NOTIFIED_CHANNELS:
        members += inbox.on_duty_members(s, area, channel, exclude=esc.user_id)
    if only_claimer and esc.claimed_by is not None:
        members = [m for m in members if m.id == esc.claimed_by] or members
    return [Notice(m.channel, m.external_id, OutgoingMessage(text, chat_id=m.external_id)) for m in members]
