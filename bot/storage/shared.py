"""Limits and order that several worker processes on one PostgreSQL database share.

- `SharedRate`: a rate (per second, with a burst) for everyone using one key, e.g. every send of one channel by
  every worker ("<channel>:send"). The generic cell rate algorithm keeps one number per key, the next
  theoretical slot, in `rate_slots`; one UPSERT on PostgreSQL's clock reserves a slot and says how long to
  wait for it (`wait`), or takes a slot only when one is free (`take`, for the flood limit).
- `chat_lock` (in bot.storage.db): per-chat order across processes.

On SQLite (one process) the same calls keep the state in memory: there is no other process to share with.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.db import Database

PRUNE_EVERY = 600.0  # seconds between sweeps of keys idle for an hour

_WAIT = text("""
    INSERT INTO rate_slots (key, next_at) VALUES (:key, EXTRACT(EPOCH FROM statement_timestamp()) + :interval)
    ON CONFLICT (key) DO UPDATE
        SET next_at = GREATEST(rate_slots.next_at, EXTRACT(EPOCH FROM statement_timestamp())) + :interval
    RETURNING GREATEST(0, next_at - :interval - :tolerance - EXTRACT(EPOCH FROM statement_timestamp()))
""")
_TAKE = text("""
    INSERT INTO rate_slots (key, next_at) VALUES (:key, EXTRACT(EPOCH FROM statement_timestamp()) + :interval)
    ON CONFLICT (key) DO UPDATE
        SET next_at = GREATEST(rate_slots.next_at, EXTRACT(EPOCH FROM statement_timestamp())) + :interval
        WHERE rate_slots.next_at - EXTRACT(EPOCH FROM statement_timestamp()) <= :tolerance
    RETURNING 1
""")
_PRUNE = text("DELETE FROM rate_slots WHERE next_at < EXTRACT(EPOCH FROM statement_timestamp()) - 3600")


class SharedRate:
    """`per_second` events a second for `key` across every process, `burst` of them at once."""

    def __init__(self, db: Database, key: str, per_second: float, burst: float = 1.0) -> None:
        self.db, self.key = db, key
        self.interval = 1.0 / per_second
        self.tolerance = max(0.0, burst - 1.0) * self.interval
        self.shared = db.engine.dialect.name == "postgresql"
        self._local: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def wait(self, sub: str = "") -> float:
        """Reserve the next slot (of `key`, or of `key:sub`); the seconds to wait before using it. Blocking."""
        key = f"{self.key}:{sub}" if sub else self.key
        if not self.shared:
            with self._lock:
                now = time.time()
                slot = max(self._local.get(key, 0.0), now)
                self._local[key] = slot + self.interval
                self._forget(now)
                return max(0.0, slot - self.tolerance - now)
        with self.db.engine.begin() as c:
            wait = float(c.execute(_WAIT, {"key": key, "interval": self.interval, "tolerance": self.tolerance}).scalar())
            self._prune(c)
        return wait

    def take(self, sub: str = "") -> bool:
        """Take a slot if one is free now (True); else False and nothing is taken. Blocking."""
        key = f"{self.key}:{sub}" if sub else self.key
        if not self.shared:
            with self._lock:
                now = time.time()
                slot = max(self._local.get(key, 0.0), now)
                if slot - now > self.tolerance:
                    return False
                self._local[key] = slot + self.interval
                self._forget(now)
                return True
        with self.db.engine.begin() as c:
            taken = c.execute(_TAKE, {"key": key, "interval": self.interval, "tolerance": self.tolerance}).first()
            self._prune(c)
        return taken is not None

    def _forget(self, now: float) -> None:
        if len(self._local) > 10_000:  # keys whose slots are past hold nothing: memory stays flat
            self._local = {k: t for k, t in self._local.items() if t > now}

    def _prune(self, connection) -> None:
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY
            connection.execute(_PRUNE)


class SharedFlood:
    """The conversation's flood limit (`allow(key)`, as `FloodGuard`) shared by every worker on PostgreSQL:
    `limit` messages per key in `window` seconds, `limit` of them at once."""

    def __init__(self, db: Database, limit: int, window: float) -> None:
        self.rate = SharedRate(db, "flood", limit / window, burst=limit)

    def allow(self, key: str) -> bool:
        try:
            return self.rate.take(key)
        except SQLAlchemyError:  # the database is away: the message meets the outage handling, not a 500
            return True
