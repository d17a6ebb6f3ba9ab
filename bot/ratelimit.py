"""Rates inside one process: the conversation's flood limit per chat (`FloodGuard`) and the pace of one
channel's sends (`RateGate`, one per channel and process: replies and campaign messages take from the same
gate). Across processes on PostgreSQL, bot/storage/shared.py adds the database's shared rate."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict, deque


class FloodGuard:
    """At most `limit` events per key in `window` seconds (per process). Memory is bounded: keys
    unseen for a window are forgotten, and beyond `max_keys` the least recently seen go first."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()  # least recently seen first
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._seen.pop(key, None) or deque()
            self._seen[key] = q
            while q and now - q[0] > self.window:
                q.popleft()
            allowed = len(q) < self.limit
            if allowed:
                q.append(now)
            while self._seen:
                oldest = next(iter(self._seen.values()))
                if len(self._seen) > self.max_keys or not oldest or now - oldest[-1] > self.window:
                    self._seen.popitem(last=False)
                else:
                    break
            return allowed

    def __len__(self) -> int:
        return len(self._seen)


class RateGate:
    """One channel's sends in this process, replies and campaign messages together: at most `rate` a second
    (slots `1 / rate` apart; a slot missed by up to `slack` seconds is not made up later). `pause` holds every
    slot back, as a platform's 429 asks of the whole bot. No asyncio primitive inside: callers sleep for the
    wait `reserve` returns, so one gate serves any event loop (and threads)."""

    def __init__(self, rate: float, slack: float = 0.1) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be greater than 0, not {rate}")
        self.rate, self.interval, self.slack = rate, 1.0 / rate, slack
        self._next = 0.0
        self.paused_until = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; the seconds to wait until it."""
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now - self.slack, self.paused_until)
            self._next = slot + self.interval
            return max(0.0, slot - now)

    async def take(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)
