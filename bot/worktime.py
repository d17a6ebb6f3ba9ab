"""Working time as the settings write it: windows of a day, working weekdays, due hours per area, days off.
Read by the settings (validation) and by the escalation schedule (bot/relay/sla.py)."""

from __future__ import annotations

import datetime as dt
import re

_WINDOW = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")


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


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{what} {text.strip()!r}: use a date like 2026-12-24, or a range 2027-02-03..2027-02-12") from None


def parse_dates(text: str, what: str = "ESCALATION_EXTRA_HOLIDAYS") -> frozenset[dt.date]:
    """'2026-12-24,2027-02-03..2027-02-05' -> those days (a range includes both ends); '' -> none; ValueError names
    a bad part (used by bot.relay.sla for the team's local days off)."""
    days: set[dt.date] = set()
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        first, sep, last = part.partition("..")
        start = _date(first, what)
        end = _date(last, what) if sep else start
        if not start <= end or (end - start).days > 366:
            raise ValueError(f"{what} {part!r}: a range goes forward and covers at most a year")
        days.update(start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    return frozenset(days)
