"""The watch over escalated questions: every ESCALATION_CHECK_SECONDS one sweep (bot.relay.sla.tick) in its
own transaction, then the notices it returned are pushed (bot.relay.delivery). Supervised by the runner."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.relay import sla
from bot.relay.delivery import Notice


class SlaWatch:
    def __init__(self, service, every: float = 60.0) -> None:
        self.service = service
        self.every = every

    def sweep(self, now: dt.datetime | None = None) -> list[Notice]:
        """One sweep at `now` (the service's clock by default), committed before anything is pushed."""
        with self.service.db.session() as s:
            return sla.tick(s, self.service.schedule, now or self.service.clock(), self.service.relay.area_name)

    async def run_once(self, now: dt.datetime | None = None) -> int:
        notices = await self.service.db.run(self.sweep, now)
        return await self.service.delivery.push_all(notices)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_once()
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            except asyncio.TimeoutError:
                pass
