"""Per-channel senders: drain the outbox within the platform's limits and record every outcome.

A sender claims a batch (about two seconds of work), and `concurrency` workers send its rows through
one pacer: the channel's rate gate, which its replies in this process share (bot/ratelimit.py; on
PostgreSQL also across every process: bot/storage/shared.py), and a minimum gap per chat (the transport's
`gap`). The channel's transport (bot/channels/registry.py, `outbox`) sends a row and classifies the answer:
sent; pending (retry; with `retry_after` the whole channel pauses); blocked (the chat is unsubscribed);
failed; skipped. Pending rows retry with backoff (`bot.backoff`), at most MAX_ATTEMPTS times. A channel
with a push rule (`registry.PushRule`) gets a row only if the chat wrote recently enough and has had few
enough unasked messages since. When OUTAGE_AFTER sends in a row
fail that way, the platform is down, not one chat: the whole channel pauses (backoff again, up to
OUTAGE_PAUSES × OUTBOX_RETRY_SECONDS, 60 s by default), one message at a time probes the platform after
each pause, and the rows wait without being failed, so an outage of any length loses no message.
Nothing is sent during quiet hours: rows wait until morning.

Leases: every row a sender holds (queued in memory, waiting for its rate slot, on the wire, or with its
outcome not yet recorded) has its lease renewed every quarter lease. A row is sent only while its
confirmed lease has at least half its length left; when the database is away long enough for the lease
to lapse, the row is dropped from memory unsent and `recover` brings it back once. An outcome is
recorded with retries, so a message that went out is never sent again because the database was away
when it went. Database errors in the feed loop are logged and retried with backoff: the sender never
stops on its own (and `bot.supervise` restarts it if anything else goes wrong).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.exc import SQLAlchemyError

from bot.backoff import backoff
from bot.campaigns import outbox
from bot.campaigns.models import FAILED, PENDING, SENT, SKIPPED
from bot.channels import registry
from bot.config import Settings
from bot.ratelimit import RateGate
from bot.storage.db import Database
from bot.storage.shared import SharedRate
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_ATTEMPTS = 6  # a row failing on its own (other rows go out) is given up after this many attempts
MAX_BACKOFF = 600.0
OUTAGE_AFTER = 3  # transient failures in a row, across rows: the platform is down, the channel pauses
OUTAGE_PAUSES = 12  # the longest outage pause, in OUTBOX_RETRY_SECONDS (60 s by default)
HOLD_LIMIT = 5.0  # a row waits in memory for a platform pause at most this long; longer, it goes back


def quiet_until(now: dt.datetime, spec: str) -> dt.datetime | None:
    """The end of the quiet hours `spec` ('21-7': 21:00 to 07:00 Vietnam time) if `now` is inside them."""
    if not spec.strip():
        return None
    start, end = (int(x) for x in spec.split("-"))
    local = now.astimezone(TZ)
    inside = start <= local.hour or local.hour < end if start > end else start <= local.hour < end
    if not inside:
        return None
    until = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if until <= local:
        until += dt.timedelta(days=1)
    return until.astimezone(dt.timezone.utc)


class Pacer:
    """The channel's rate gate (bot/ratelimit.py: shared with the channel's replies in this process) and a
    minimum gap per chat."""

    def __init__(self, gate: RateGate) -> None:
        self.gate = gate
        self._chats: dict[str, float] = {}

    @property
    def paused_until(self) -> float:
        return self.gate.paused_until

    def pause(self, seconds: float) -> None:
        self.gate.pause(seconds)

    async def wait(self, chat: str, gap: float) -> None:
        now = time.monotonic()
        at = max(now + self.gate.reserve(), self._chats.get(chat, 0.0))
        self._chats[chat] = at + gap
        if len(self._chats) > 4096:  # forget chats whose gap is over: memory stays flat
            self._chats = {c: t for c, t in self._chats.items() if t > now}
        if at > now:
            await asyncio.sleep(at - now)


def quiet_ended(now: dt.datetime, spec: str) -> dt.datetime | None:
    """When the latest quiet hours (`spec`) ended, at or before `now`; None without quiet hours."""
    if not spec.strip():
        return None
    local = now.astimezone(TZ)
    end = local.replace(hour=int(spec.split("-")[1]), minute=0, second=0, microsecond=0)
    if end > local:
        end -= dt.timedelta(days=1)
    return end.astimezone(dt.timezone.utc)


class Sender:
    """Drains one channel's outbox until `stop` is set (or, with `until_empty`, until nothing is left)."""

    def __init__(self, db: Database, settings: Settings, channel: str, http: httpx.Client,
                 until_empty: bool = False, gate: RateGate | None = None) -> None:
        self.db, self.settings, self.channel, self.until_empty = db, settings, channel, until_empty
        spec = registry.get(channel)
        self.transport = registry.transport(channel, db, settings, http)
        rate = spec.rate(settings)
        self.pacer = Pacer(gate or RateGate(rate))  # `gate`: the one the channel's replies use (bot.runner)
        self.shared = SharedRate(db, f"{channel}:send", rate)  # PostgreSQL: every worker's sends together
        self.push_rule = spec.push_rule(settings)
        self.batch = max(1, min(settings.outbox_batch, int(rate * 2)))
        self._queue: asyncio.Queue[outbox.Claimed] = asyncio.Queue()
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"outbox-{channel}")
        self._http_threads = ThreadPoolExecutor(max_workers=max(1, settings.sender_concurrency), thread_name_prefix=channel)
        self.outcomes: Counter[str] = Counter()
        self._failing = 0  # transient failures in a row on this channel, whatever the row
        self._outage_pauses = 0
        self._probe = asyncio.Lock()  # during an outage, one message at a time goes to the platform
        self.lease = settings.outbox_lease_seconds
        self._held: dict[int, outbox.Claimed] = {}  # claimed, outcome not recorded yet: leases renewed
        self._leased_until: dict[int, float] = {}  # monotonic end of each held row's last confirmed lease
        self._stopping = False
        self._last_recover = 0.0

    async def _db(self, fn, *args):
        """Database work, one statement at a time on one thread: no writer contention inside a process."""
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, fn, self.db, *args)

    async def run(self, stop: asyncio.Event) -> None:
        workers = [asyncio.create_task(self._worker()) for _ in range(max(1, self.settings.sender_concurrency))]
        renewer = asyncio.create_task(self._renew())
        try:
            await self._feed(stop)
        finally:
            self._stopping = True
            queued = []
            while not self._queue.empty():
                queued.append(self._queue.get_nowait())
                self._queue.task_done()
            try:
                await self._db(outbox.release, queued)
            except SQLAlchemyError as exc:  # their leases lapse and another sender takes them
                log.warning("campaigns: %s sender: could not release %d rows at stop (%s)", self.channel, len(queued),
                            type(exc).__name__)
            for row in queued:
                self._forget(row)
            await self._queue.join()  # rows in flight finish and are recorded
            for task in (*workers, renewer):
                task.cancel()
            self._db_thread.shutdown(wait=False)
            self._http_threads.shutdown(wait=False)

    async def _feed(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                if await self._feed_once(stop):
                    return
                failures = 0
            except SQLAlchemyError as exc:  # the database is away: wait and try again, never give up
                failures += 1
                delay = backoff(failures, 1.0, 30.0)
                log.warning("campaigns: %s sender: database unavailable (%s, %d in a row); retrying in %.1f s",
                            self.channel, type(exc).__name__, failures, delay)
                await _sleep(stop, delay)

    async def _feed_once(self, stop: asyncio.Event) -> bool:
        """One round of the feed loop; True when `until_empty` and nothing is left."""
        if self._queue.qsize() > self.batch // 2:
            await _sleep(stop, 0.02)
            return False
        if (morning := quiet_until(utcnow(), self.settings.quiet_hours)) is not None:
            await _sleep(stop, min(60.0, (morning - utcnow()).total_seconds()))
            return False
        if time.monotonic() - self._last_recover > min(5.0, self.lease / 2):
            self._last_recover = time.monotonic()
            await self._db(outbox.recover, self.channel, list(self._held))
        started = time.monotonic()
        rows = await self._db(outbox.claim, self.channel, self.batch, self.lease)
        for row in rows:
            self._held[row.id] = row
            self._leased_until[row.id] = started + self.lease
            self._queue.put_nowait(row)
        if not rows:
            if self.until_empty and self._queue.empty():
                await self._queue.join()
                if not await self._db(outbox.remaining, self.channel):
                    return True
            await _sleep(stop, 0.25)
        return False

    async def _renew(self) -> None:
        """Every quarter lease, extend the leases of every row held; a row another sender took is let go."""
        while True:
            await asyncio.sleep(self.lease / 4)
            rows = list(self._held.values())
            if not rows:
                continue
            started = time.monotonic()
            try:
                mine = await self._db(outbox.renew, rows, self.lease)
            except SQLAlchemyError as exc:
                log.warning("campaigns: %s sender: renewing %d leases failed (%s)", self.channel, len(rows),
                            type(exc).__name__)
                continue
            for row in rows:
                if row.id in self._leased_until:
                    self._leased_until[row.id] = started + self.lease if row.id in mine else 0.0

    async def _leased(self, row: outbox.Claimed) -> bool:
        """True while the row's confirmed lease has at least half its length left (waiting for a renewal when
        it runs low); False once it lapsed: the row may be someone else's now, so it is not sent."""
        while True:
            left = self._leased_until.get(row.id, 0.0) - time.monotonic()
            if left >= self.lease / 2:
                return True
            if left <= 0:
                log.warning("campaigns: %s row %d: lease lapsed while the database was away; left to recovery",
                            self.channel, row.id)
                return False
            await asyncio.sleep(min(0.2, left))

    def _forget(self, row: outbox.Claimed) -> None:
        self._held.pop(row.id, None)
        self._leased_until.pop(row.id, None)

    async def _record(self, fn, *args) -> None:
        """Write an outcome (finish or release) for a held row; retried while the database is away, the row
        staying held so its lease keeps being renewed. Given up only at stop, after a few tries."""
        for attempt in itertools.count(1):
            try:
                return await self._db(fn, *args)
            except SQLAlchemyError as exc:
                if self._stopping and attempt >= 5:
                    log.error("campaigns: %s sender: outcome not recorded at stop (%s)", self.channel,
                              type(exc).__name__)
                    return
                delay = backoff(attempt, 0.5, 10.0)
                log.warning("campaigns: %s sender: recording an outcome failed (%s); retrying in %.1f s",
                            self.channel, type(exc).__name__, delay)
                await asyncio.sleep(delay)

    async def _worker(self) -> None:
        while True:
            row = await self._queue.get()
            try:
                await self._deliver(row)
            except Exception:  # a database hiccup before sending: the lease brings the row back later
                log.exception("campaigns: %s sender failed on outbox row %d", self.channel, row.id)
            finally:
                self._forget(row)
                self._queue.task_done()

    async def _deliver(self, row: outbox.Claimed) -> None:
        if self._failing >= OUTAGE_AFTER:  # the platform is down: probe it with one message, not a batch
            async with self._probe:
                return await self._attempt(row)
        return await self._attempt(row)

    async def _attempt(self, row: outbox.Claimed) -> None:
        hold = self.pacer.paused_until - time.monotonic()
        morning = quiet_until(utcnow(), self.settings.quiet_hours)
        if hold > HOLD_LIMIT or morning:
            later = morning or utcnow() + dt.timedelta(seconds=hold)
            return await self._record(outbox.release, [row], later)
        if not await self._db(outbox.still_wanted, row):
            return await self._skip(row, "unsubscribed")
        if self.push_rule and (why := await self._db(outbox.may_push, self.channel, row, self.push_rule)):
            return await self._skip(row, f"{self.channel}: {why}")
        await self.pacer.wait(row.chat, self.transport.gap(row))
        if self.shared.shared:
            await asyncio.sleep(await self._db(self.shared.wait))
        if not await self._leased(row):
            return
        result = await asyncio.get_running_loop().run_in_executor(self._http_threads, self.transport.send, row)
        retry_at = None
        if result.status == PENDING:
            if result.retry_after is not None:
                self.pacer.pause(result.retry_after)
                delay = result.retry_after
            elif self._note_failure(result.error):  # the platform is down: the row waits for it, never fails
                delay = max(0.0, self.pacer.paused_until - time.monotonic())
            elif row.attempts >= MAX_ATTEMPTS:
                log.error("campaigns: %s row %d failed for good after %d attempts: %s", self.channel, row.id,
                          row.attempts, result.error)
                return await self._record(outbox.finish, row, FAILED, result.error)
            else:
                delay = backoff(row.attempts, self.settings.outbox_retry_seconds, MAX_BACKOFF)
                log.warning("campaigns: %s row %d: %s; attempt %d of %d, retrying in %.1f s", self.channel, row.id,
                            result.error, row.attempts, MAX_ATTEMPTS, delay)
            retry_at = utcnow() + dt.timedelta(seconds=delay)
        else:
            self._note_answer()
        self.outcomes[result.status] += 1
        await self._record(outbox.finish, row, result.status, result.error, retry_at, result.poll_id)

    async def _skip(self, row: outbox.Claimed, reason: str) -> None:
        self.outcomes[SKIPPED] += 1
        await self._record(outbox.finish, row, SKIPPED, reason)

    def _note_failure(self, error: str) -> bool:
        """Count a transient failure; True while the channel is in an outage (it then pauses the channel)."""
        self._failing += 1
        if self._failing < OUTAGE_AFTER:
            return False
        if self.pacer.paused_until <= time.monotonic():  # one pause at a time, however many rows were in flight
            self._outage_pauses += 1
            retry = self.settings.outbox_retry_seconds
            pause = backoff(self._outage_pauses, retry, OUTAGE_PAUSES * retry)
            self.pacer.pause(pause)
            log.warning("campaigns: %s API unavailable (%s; %d failures in a row); pausing sends for %.1f s, "
                        "queued messages wait and none is dropped", self.channel, error, self._failing, pause)
        return True

    def _note_answer(self) -> None:
        if self._failing >= OUTAGE_AFTER:
            log.warning("campaigns: %s API answers again after %d failures in a row; sending resumes",
                        self.channel, self._failing)
        self._failing = self._outage_pauses = 0


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except asyncio.TimeoutError:
        pass


class WebSender:
    """Drains the outbox of a channel without a platform (the web chat): each row is stored in the visitor's chat
    and marked sent in one transaction (bot.campaigns.outbox.deliver_web), and open pages show it at once
    (bot/channels/web_live.py). No pacing, no retries and no quiet hours: a page shows the message, nothing rings."""

    def __init__(self, db: Database, settings: Settings, channel: str, until_empty: bool = False) -> None:
        self.db, self.settings, self.channel, self.until_empty = db, settings, channel, until_empty
        self.outcomes: Counter[str] = Counter()
        self.batch = settings.outbox_batch
        self.lease = settings.outbox_lease_seconds

    async def run(self, stop: asyncio.Event) -> None:
        failures, last_recover = 0, 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - last_recover > min(5.0, self.lease / 2):
                    last_recover = time.monotonic()
                    await self.db.run(outbox.recover, self.db, self.channel)
                rows = await self.db.run(outbox.claim, self.db, self.channel, self.batch, self.lease)
                for row in rows:
                    wanted = await self.db.run(outbox.still_wanted, self.db, row)
                    if not wanted:
                        await self.db.run(outbox.finish, self.db, row, SKIPPED, "unsubscribed")
                        self.outcomes[SKIPPED] += 1
                    elif await self.db.run(outbox.deliver_web, self.db, row):
                        self.outcomes[SENT] += 1
                failures = 0
                if not rows:
                    if self.until_empty and not await self.db.run(outbox.remaining, self.db, self.channel):
                        return
                    await _sleep(stop, 0.5)
            except SQLAlchemyError as exc:
                failures += 1
                delay = backoff(failures, 1.0, 30.0)
                log.warning("campaigns: web sender: database unavailable (%s, %d in a row); retrying in %.1f s",
                            type(exc).__name__, failures, delay)
                await _sleep(stop, delay)


async def run_senders(db: Database, settings: Settings, channels: list[str], stop: asyncio.Event,
                      until_empty: bool = False, gates: dict[str, RateGate] | None = None) -> list[Sender | WebSender]:
    """One sender per channel, sharing one HTTP client; returns them (their `outcomes`) when done. `gates`: the
    rate gates the channels' replies use in this process (bot.runner), so both stay within one rate."""
    gates = gates or {}
    with httpx.Client(timeout=settings.api_timeout_seconds, limits=httpx.Limits(max_connections=64)) as http:
        senders = [Sender(db, settings, c, http, until_empty, gates.get(c)) if registry.get(c).outbox
                   else WebSender(db, settings, c, until_empty) for c in channels]
        await asyncio.gather(*(s.run(stop) for s in senders))
    return senders
