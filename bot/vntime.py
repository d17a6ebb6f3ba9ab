"""Vietnam time: the zone every time people read is shown in, and the fix for naive datetimes.

SQLite gives back the UTC datetimes we stored without their zone; `aware` puts it back."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def aware(when: dt.datetime) -> dt.datetime:
    """A stored datetime as UTC-aware (naive ones are UTC)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def local(when: dt.datetime, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored datetime as people read it: Vietnam time, '01/12/2026 14:05'."""
    return aware(when).astimezone(TZ).strftime(fmt)
