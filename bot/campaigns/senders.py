"""Per-channel senders: drain the outbox within the platform's limits and record every outcome.

A sender claims a batch (about two seconds of work), and `concurrency` workers send its rows through
one pacer: at most `rate` messages a second overall (on PostgreSQL across every process, replies
included: bot/storage/shared.py) and a minimum gap per chat (Telegram: 1 s in a
private chat, 3 s in a group = 20 a minute). 429 pauses the whole channel for `retry_after`; 5xx,
timeouts and network errors retry the row with backoff (`bot.backoff`), at most MAX_ATTEMPTS times;
403 marks the user blocked and unsubscribed; other 4xx fail the row. The Zalo OA answers with codes in
the body instead (`ZaloOaTransport`): -213 unsubscribes, -230/-232 skip, -32 pauses, and a row goes out
only to a user who wrote within ZALO_OA_CAMPAIGN_WINDOW_HOURS and has had fewer than 8 since. When OUTAGE_AFTER sends in a row
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
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.exc import SQLAlchemyError

from bot import messages
from bot.backoff import backoff
from bot.campaigns import outbox
from bot.campaigns.models import BLOCKED, FAILED, PENDING, SENT, SKIPPED
from bot.channels.zalo import split_text as zalo_split_text
from bot.channels.zalo_oa_api import NOT_FOLLOWER, OUTSIDE_WINDOW, RATE_LIMITED, TOKEN_ERRORS, OaApi, text_message
from bot.channels.zalo_oa_tokens import TokenStore
from bot.config import Settings
from bot.conversation.service import LETTERS
from bot.storage.db import Database
from bot.storage.shared import SharedRate
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_ATTEMPTS = 6  # a row failing on its own (other rows go out) is given up after this many attempts
MAX_BACKOFF = 600.0
OUTAGE_AFTER = 3  # transient failures in a row, across rows: the platform is down, the channel pauses
OUTAGE_PAUSES = 12  # the longest outage pause, in OUTBOX_RETRY_SECONDS (60 s by default)
OA_MESSAGES_UNANSWERED = 8  # Zalo OA campaign messages to one user since their last message (docs/zalo.md)
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
    """Global pacing (`rate` a second, a small catch-up allowed) and a minimum gap per chat."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._chats: dict[str, float] = {}
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self._next = max(self._next, self.paused_until)

    async def wait(self, chat: str, gap: float) -> None:
        now = time.monotonic()
        slot = max(self._next, now - 0.1)
        self._next = slot + self.interval
        at = max(slot, self._chats.get(chat, 0.0))
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


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | pending (retry) | blocked | failed
    error: str = ""
    retry_after: float | None = None  # the platform asked us to wait (429)
    poll_id: str = ""


def classify(response: httpx.Response) -> Outcome:
    """A Telegram-shaped answer (Zalo's too): {"ok", "result", "error_code", "description", "parameters"}."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Outcome(PENDING, f"HTTP {response.status_code}, not JSON")
    if body.get("ok") is True and response.status_code < 400:
        poll = (body.get("result") or {}).get("poll") if isinstance(body.get("result"), dict) else None
        return Outcome(SENT, poll_id=str(poll["id"]) if poll else "")
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else response.status_code
    error = f"{code} {str(body.get('description') or '')}"[:300]
    if code == 429:
        retry_after = (body.get("parameters") or {}).get("retry_after")
        return Outcome(PENDING, error, retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else 5.0)
    if code == 403:
        return Outcome(BLOCKED, error)
    if code == 400:
        return Outcome(FAILED, error)
    return Outcome(PENDING, error)  # 5xx, 401/404 (a token being fixed), anything unexpected: retry


class Transport:
    """POST `{base}{token}/{method}` with JSON; the token is never logged. Blocking: senders call it from
    worker threads (httpx's sync client is thread-safe, and cheaper per request than its async one here)."""

    def __init__(self, base_url: str, token: str, http: httpx.Client) -> None:
        self._prefix = f"{base_url}{token}/"
        self._http = http

    def call(self, method: str, params: dict) -> Outcome:
        try:
            return classify(self._http.post(self._prefix + method, json=params))
        except httpx.HTTPError as e:  # timeouts, refused connections: transient
            return Outcome(PENDING, type(e).__name__)


class TelegramTransport(Transport):
    def gap(self, row: outbox.Claimed) -> float:
        return 3.0 if row.chat_kind == "group" or row.chat.startswith("-") else 1.0

    def send(self, row: outbox.Claimed) -> Outcome:
        if row.payload:  # a regular, non-anonymous poll: answers are scored, the answer is revealed later
            return self.call("sendPoll", {
                "chat_id": row.chat, "question": row.payload["question"][:300],
                "options": [{"text": o[:100]} for o in row.payload["options"]], "is_anonymous": False, "type": "regular",
            })
        return self.call("sendMessage", {"chat_id": row.chat, "text": row.text})


def numbered_quiz(row: outbox.Claimed) -> str:
    """A quiz as text for channels whose campaign messages carry no buttons: options A-D, answered by typing
    the letter (the row's payload keeps the choices, set on the chat when it is sent)."""
    options = [f"{LETTERS[i]}. {o}" for i, o in enumerate(row.payload["options"])]
    return "\n".join([f"❓ {row.payload['question']}", "", *options, "", messages.QUIZ_CHOICE_PROMPT])


class ZaloTransport(Transport):
    def gap(self, row: outbox.Claimed) -> float:
        return 1.0

    def send(self, row: outbox.Claimed) -> Outcome:
        text = numbered_quiz(row) if row.payload else row.text
        outcome = Outcome(SENT)
        for piece in zalo_split_text(text):  # the channel's own cut: at most 2,000 characters, at a break
            outcome = self.call("sendMessage", {"chat_id": row.chat, "text": piece})
            if outcome.status != SENT:
                break
        return outcome


class ZaloOaTransport:
    """Consultation messages of the Zalo OA (bot/channels/zalo_oa_api.py), with its pair of tokens from the
    database: -213 (not a follower) unsubscribes, -230/-232 (the OA's time rules) are skipped and never
    retried, -32 (rate limit) pauses the channel for `rate_limit_pause` seconds and retries."""

    def __init__(self, db: Database, settings: Settings, http: httpx.Client) -> None:
        self.api = OaApi(settings.zalo_oa_api_base_url, TokenStore.from_settings(db, settings, http), http)
        self.rate_limit_pause = 3 * settings.outbox_retry_seconds

    def gap(self, row: outbox.Claimed) -> float:
        return 1.0

    def send(self, row: outbox.Claimed) -> Outcome:
        for piece in zalo_split_text(numbered_quiz(row) if row.payload else row.text):
            result = self.api.send(row.chat, text_message(piece))
            if result.sent:
                continue
            error = f"zalo_oa: {result.describe()}"
            if result.code is None or result.code in TOKEN_ERRORS:
                return Outcome(PENDING, error)  # the platform, or its tokens, being fixed: retried
            if result.code == RATE_LIMITED:
                return Outcome(PENDING, error, retry_after=self.rate_limit_pause)
            if result.code == NOT_FOLLOWER:
                return Outcome(BLOCKED, error)
            if result.code in OUTSIDE_WINDOW:
                return Outcome(SKIPPED, error)
            return Outcome(FAILED, error)
        return Outcome(SENT)


class Sender:
    """Drains one channel's outbox until `stop` is set (or, with `until_empty`, until nothing is left)."""

    def __init__(self, db: Database, settings: Settings, channel: str, http: httpx.Client,
                 until_empty: bool = False) -> None:
        self.db, self.settings, self.channel, self.until_empty = db, settings, channel, until_empty
        if channel == "telegram":
            self.transport: Transport | ZaloOaTransport = TelegramTransport(
                settings.telegram_api_base_url, settings.telegram_bot_token, http)
            rate = settings.telegram_rate_per_sec
        elif channel == "zalo_oa":
            self.transport = ZaloOaTransport(db, settings, http)
            rate = settings.zalo_oa_rate_per_sec
        else:
            self.transport = ZaloTransport(settings.zalo_api_base_url, settings.zalo_bot_token, http)
            rate = settings.zalo_rate_per_sec
        self.pacer = Pacer(rate)
        self.shared = SharedRate(db, f"{channel}:send", rate)  # PostgreSQL: every worker's sends together
        self.batch = max(1, min(settings.outbox_batch, int(rate * 2)))
        self.zalo_window = dt.timedelta(hours=settings.zalo_push_window_hours)
        self.oa_window = dt.timedelta(hours=settings.zalo_oa_campaign_window_hours)
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
        if self.channel == "zalo" and not await self._db(outbox.zalo_may_push, row, self.zalo_window):
            return await self._skip(row, "zalo: chat did not write recently")
        if self.channel == "zalo_oa" and (why := await self._db(outbox.oa_may_send, "zalo_oa", row, self.oa_window,
                                                                 OA_MESSAGES_UNANSWERED)):
            return await self._skip(row, f"zalo_oa: {why}")
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
    """Drains the web chat's outbox: each row is stored in the visitor's chat and marked sent in one transaction
    (bot.campaigns.outbox.deliver_web), and open pages show it at once (bot/channels/web_live.py). No platform,
    so no pacing, no retries and no quiet hours: a page shows the message, nothing rings."""

    channel = "web"

    def __init__(self, db: Database, settings: Settings, until_empty: bool = False) -> None:
        self.db, self.settings, self.until_empty = db, settings, until_empty
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
                      until_empty: bool = False) -> list[Sender | WebSender]:
    """One sender per channel, sharing one HTTP client; returns them (their `outcomes`) when done."""
    with httpx.Client(timeout=settings.api_timeout_seconds, limits=httpx.Limits(max_connections=64)) as http:
        senders = [WebSender(db, settings, until_empty) if c == "web" else Sender(db, settings, c, http, until_empty)
                   for c in channels]
        await asyncio.gather(*(s.run(stop) for s in senders))
    return senders
