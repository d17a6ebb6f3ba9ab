"""Web Push for the web chat: a browser notification when a team answer or a campaign message (a quiz push
too) reaches a visitor whose page is closed. Off unless WEB_PUSH_VAPID_PRIVATE_KEY is set (docs/web.md,
"Web Push").

- `PushApi`: GET /api/push/key (the VAPID public key; 404 when off), POST /api/push/subscribe (the
  browser's PushSubscription JSON, for the visitor's cookie), POST /api/push/unsubscribe, and the service
  worker /push-sw.js (bot/web/static/push-sw.js, served at the root so its scope covers the chat page).
- `PushSender`: the background task of each process that runs the web chat. Each active subscription has
  a cursor (`last_message_id`) over the visitor's rows of `web_messages`; the next message after it that
  is a team answer or a bot message that is not a reply (`reply`: the chat's answer to what the visitor
  just sent, never pushed) is encrypted (RFC 8291) and posted to the push service with a VAPID
  signature (RFC 8292). The cursor moves in the same transaction that records the outcome, and the row is
  leased while the request is in flight, so a crash re-sends at most that one message and two workers
  never send the same one.

Rules: a message is not pushed when a live stream (/api/events) of its visitor is open in this process
at send time (the page shows it); nor when older than TTL (the sender was down). 201/202: sent;
404/410: the subscription is gone (disabled); 429, 5xx or no answer: retried later, after Retry-After
when the service gives one, else with backoff (bot/backoff.py), and passed over after MAX_FAILURES;
any other answer (400, 413, 401/403 …): logged and that message passed over. On PostgreSQL a message is
pushed SETTLE seconds after it was written at the earliest: ids can commit out of order there, and a
cursor must not pass a message that was still being committed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import ipaddress
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from bot import messages
from bot.backoff import backoff
from bot.channels import web_push_crypto as crypto
from bot.channels.web_api import NO_STORE, ApiError, read_json, visitor_of
from bot.channels.web_live import WINDOW, LiveFeed
from bot.channels.web_push_models import ENDPOINT_CHARS, WebPushSubscription as Sub
from bot.config import SettingsError
from bot.channels import web_messages
from bot.channels.web_messages import WebMessage
from bot.storage.db import Database
from bot.storage.models import Chat, utcnow

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
TITLE = "Bình dân học vụ số"
BODY_CHARS = 120  # of the message's text in the notification
TTL = 24 * 3600  # seconds a push service keeps an undelivered notification; older messages are not pushed
POLL_SECONDS = 1.0  # how often the sender looks for messages committed elsewhere, and for retries that came due
MIN_GAP = 0.2  # seconds between two looks at least, however many web messages this process commits
SETTLE = WINDOW  # PostgreSQL: seconds after a message was written before it is pushed (late commits of lower ids)
MAX_FAILURES = 8  # 429/5xx/no answer in a row for one message: then that message is passed over
RETRY_FIRST, RETRY_CAP = 5.0, 900.0  # backoff without Retry-After
RETRY_AFTER_CAP = 3600.0
PER_VISITOR = 5  # subscriptions kept per visitor (browsers, devices); a newer one drops the oldest
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SENT, PASSED, GONE, RETRY = "sent", "passed", "gone", "retry"


# -- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushConfig:
    key: ec.EllipticCurvePrivateKey
    public_key: str
    subject: str
    services: tuple[str, ...]  # hosts (and their subdomains) an endpoint may be on
    allow_http: bool = False  # tests: http and https endpoints on LOCAL_HOSTS as well
    timeout: float = 10.0
    concurrency: int = 4

    @classmethod
    def from_settings(cls, settings) -> "PushConfig | None":
        """None when web push is off (no WEB_PUSH_VAPID_PRIVATE_KEY); SettingsError for a key that cannot work."""
        if not settings.web_push_vapid_private_key.strip():
            return None
        try:
            key = crypto.load_private_key(settings.web_push_vapid_private_key)
        except ValueError as exc:
            raise SettingsError(f"invalid settings (environment or .env):\n  WEB_PUSH_VAPID_PRIVATE_KEY: {exc}") from None
        public = settings.web_push_vapid_public_key
        if public and public != crypto.public_key_b64(key):
            raise SettingsError("invalid settings (environment or .env):\n  WEB_PUSH_VAPID_PUBLIC_KEY: is not the public key "
                                "of WEB_PUSH_VAPID_PRIVATE_KEY (`python -m bot webpush keys` makes a pair)")
        services = tuple(h.strip().lower().strip(".") for h in settings.web_push_services.split(",") if h.strip())
        return cls(key, crypto.public_key_b64(key), settings.web_push_subject, services, settings.web_push_allow_http,
                   settings.api_timeout_seconds, settings.sender_concurrency)


# -- what the browser sends -------------------------------------------------------------------------


def check_endpoint(endpoint: object, config: PushConfig) -> str:
    """The subscription's endpoint, if the server may post to it: https on a known push service (the
    server makes requests to this URL, so no other host: no internal address can be aimed at)."""
    if not isinstance(endpoint, str) or not endpoint:
        raise ApiError(400, "'endpoint' must be a non-empty string")
    if len(endpoint) > ENDPOINT_CHARS or not endpoint.isascii() or not endpoint.isprintable() or " " in endpoint:
        raise ApiError(400, f"'endpoint' must be a URL of at most {ENDPOINT_CHARS} printable ASCII characters")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - ValueError for a port that is not a number in range
    except ValueError:
        raise ApiError(400, "'endpoint' is not a valid URL") from None
    host = (parts.hostname or "").lower()
    if "@" in parts.netloc or not host or parts.fragment:
        raise ApiError(400, "'endpoint' must be a plain URL (no user name, no fragment)")
    local = config.allow_http and host in LOCAL_HOSTS
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        raise ApiError(400, "'endpoint' must be an https:// URL")
    if local:
        return endpoint
    try:
        ipaddress.ip_address(host)
        raise ApiError(400, "'endpoint' must name a push service, not an IP address")
    except ValueError:
        pass
    if not any(host == s or host.endswith("." + s) for s in config.services):
        raise ApiError(400, f"'endpoint' is not on a known push service ({', '.join(config.services)}: WEB_PUSH_SERVICES)")
    return endpoint


def check_key(keys: dict, name: str, size: int) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"'keys.{name}' must be a non-empty base64url string")
    try:
        raw = crypto.b64url_decode(value)
    except ValueError:
        raise ApiError(400, f"'keys.{name}' is not base64url") from None
    if len(raw) != size:
        raise ApiError(400, f"'keys.{name}' must be {size} bytes, not {len(raw)}")
    if name == "p256dh":
        try:
            crypto.load_public_point(raw)
        except ValueError:
            raise ApiError(400, "'keys.p256dh' is not an uncompressed P-256 public key") from None
    return crypto.b64url(raw)


def parse_subscription(data: object, config: PushConfig) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) of a PushSubscription's JSON (`subscription.toJSON()`), or ApiError (400)."""
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object: the browser's PushSubscription")
    endpoint = check_endpoint(data.get("endpoint"), config)
    expires = data.get("expirationTime")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, (int, float)) or expires < 0):
        raise ApiError(400, "'expirationTime' must be null or a number of milliseconds")
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise ApiError(400, "'keys' must be an object with 'p256dh' and 'auth'")
    return endpoint, check_key(keys, "p256dh", 65), check_key(keys, "auth", 16)


# -- the routes -------------------------------------------------------------------------------------


class PushApi:
    """The web push routes of the web server; `guard(request)`: the per-client budget (a refusal or None)."""

    def __init__(self, db: Database, config: PushConfig | None, guard, limit: int) -> None:
        self.db, self.config, self.guard, self.limit = db, config, guard, limit

    def routes(self) -> list[Route]:
        return [
            Route("/api/push/key", self.key, methods=["GET"]),
            Route("/api/push/subscribe", self.subscribe, methods=["POST"]),
            Route("/api/push/unsubscribe", self.unsubscribe, methods=["POST"]),
            Route("/push-sw.js", self.worker, methods=["GET"]),
        ]

    def _off(self) -> JSONResponse:
        return ApiError(404, "web push is off (WEB_PUSH_VAPID_PRIVATE_KEY is not set)", messages.WEB_NOT_FOUND).response()

    async def key(self, request: Request) -> Response:
        if self.config is None:
            return self._off()
        return JSONResponse({"key": self.config.public_key}, headers=NO_STORE)

    async def worker(self, request: Request) -> Response:
        return FileResponse(STATIC / "push-sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    async def _visitor_and_body(self, request: Request) -> tuple[str, object]:
        refused = self.guard(request)
        if refused is not None:
            raise _Answer(refused)
        visitor = visitor_of(request)
        if not visitor:
            raise ApiError(403, "no visitor cookie: load the chat page first")
        return visitor, await read_json(request, self.limit)

    async def subscribe(self, request: Request) -> Response:
        if self.config is None:
            return self._off()
        try:
            visitor, data = await self._visitor_and_body(request)
            endpoint, p256dh, auth = parse_subscription(data, self.config)
        except ApiError as exc:
            return exc.response()
        except _Answer as answer:
            return answer.response
        try:
            try:
                created = await self.db.run(self._subscribe, visitor, endpoint, p256dh, auth)
            except IntegrityError:  # the same endpoint subscribed twice at once: the other one stored it
                created = await self.db.run(self._subscribe, visitor, endpoint, p256dh, auth)
        except SQLAlchemyError as exc:
            log.warning("web push: storing a subscription failed (%s)", type(exc).__name__)
            return ApiError(503, "database unavailable", messages.WEB_ERROR).response()
        log.info("web push: %s subscription %s", "new" if created else "renewed", _host(endpoint))
        return JSONResponse({"subscribed": True}, 201 if created else 200, headers=NO_STORE)

    async def unsubscribe(self, request: Request) -> Response:
        if self.config is None:
            return self._off()
        try:
            visitor, data = await self._visitor_and_body(request)
            if not isinstance(data, dict) or not isinstance(data.get("endpoint"), str) or not data["endpoint"]:
                raise ApiError(400, "body must be a JSON object with the subscription's 'endpoint'")
        except ApiError as exc:
            return exc.response()
        except _Answer as answer:
            return answer.response
        try:
            removed = await self.db.run(self._unsubscribe, visitor, data["endpoint"][:ENDPOINT_CHARS + 1])
        except SQLAlchemyError as exc:
            log.warning("web push: removing a subscription failed (%s)", type(exc).__name__)
            return ApiError(503, "database unavailable", messages.WEB_ERROR).response()
        return JSONResponse({"subscribed": False, "removed": removed}, headers=NO_STORE)

    def _subscribe(self, visitor: str, endpoint: str, p256dh: str, auth: str) -> bool:
        """Store or renew the subscription; a new one (or one moved to another visitor, or re-enabled) starts
        after the newest message: only what comes from now on is pushed. True: a new row."""
        with self.db.session() as s:
            now, cursor = utcnow(), web_messages.last_id(s)
            row = s.scalar(select(Sub).where(Sub.endpoint == endpoint))
            created = row is None
            if row is None:
                row = Sub(visitor=visitor, endpoint=endpoint, p256dh=p256dh, auth=auth, created_at=now, last_message_id=cursor,
                          failures=0, sent=0, last_error="")
                s.add(row)
            elif row.visitor != visitor or row.disabled_at is not None:
                row.visitor, row.last_message_id, row.disabled_at, row.failures, row.retry_at = visitor, cursor, None, 0, None
            row.p256dh, row.auth = p256dh, auth
            s.flush()
            mine = s.scalars(select(Sub.id).where(Sub.visitor == visitor, Sub.disabled_at.is_(None))
                             .order_by(Sub.id.desc()).offset(PER_VISITOR)).all()
            if mine:
                s.execute(delete(Sub).where(Sub.id.in_(mine)))
            return created

    def _unsubscribe(self, visitor: str, endpoint: str) -> bool:
        with self.db.session() as s:
            return bool(s.execute(delete(Sub).where(Sub.visitor == visitor, Sub.endpoint == endpoint)).rowcount)


class _Answer(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def _host(endpoint: str) -> str:
    """What the log shows of an endpoint (the rest of it is a secret of the browser's)."""
    return urlsplit(endpoint).netloc or "?"


# -- sending ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    sub_id: int
    visitor: str
    endpoint: str
    p256dh: str
    auth: str
    cursor: int
    failures: int
    message_id: int
    author: str
    text: str
    quiz: dict | None
    created_at: dt.datetime


def snippet(text: str, limit: int = BODY_CHARS) -> str:
    """The first `limit` characters of a message on one line, cut at a word with '…'."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def payload(job: Job) -> dict:
    """What the service worker (push-sw.js) shows: the title, the start of the message, and in `data` the
    message's id and the chat page (relative to the worker's scope: the chat page)."""
    return {"title": TITLE, "body": snippet(job.text), "tag": f"bdhvs-{job.message_id}",
            "data": {"id": job.message_id, "url": "./", "from": job.author}}


def retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds of a Retry-After header (a number or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), RETRY_AFTER_CAP)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


class PushSender:
    """Walks every active subscription's cursor and pushes each new message (see the module's docstring)."""

    def __init__(self, db: Database, config: PushConfig, feed: LiveFeed | None = None, poll_seconds: float = POLL_SECONDS,
                 settle: float | None = None) -> None:
        self.db, self.config, self.feed, self.poll_seconds = db, config, feed, poll_seconds
        self.settle = settle if settle is not None else (SETTLE if db.engine.dialect.name == "postgresql" else 0.0)
        self.lease = 2 * config.timeout + 1.0  # longer than one request may take (it is cut at `timeout`)
        self._tokens: dict[str, tuple[str, float]] = {}  # VAPID header per push service origin, until when

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        remove = web_messages.on_commit(lambda: loop.call_soon_threadsafe(wake.set))
        failures = 0
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout, follow_redirects=False) as client:
                while not stop.is_set():
                    wake.clear()
                    try:
                        last = loop.time()
                        jobs = await self.db.run(self.claim)
                        failures = 0
                    except SQLAlchemyError as exc:
                        failures += 1
                        log.warning("web push: reading due messages failed (%s, %d in a row)", type(exc).__name__, failures)
                        await _wait(stop, wake, backoff(failures, 0.5, 30.0), wake_too=False)
                        continue
                    if jobs:
                        sends = [asyncio.ensure_future(self.send(client, job)) for job in jobs]
                        stopper = asyncio.ensure_future(stop.wait())
                        await asyncio.wait({*sends, stopper}, return_when=asyncio.FIRST_COMPLETED)
                        if not stop.is_set():
                            await asyncio.wait(sends)
                        stopper.cancel()
                        for task in sends:  # on stop: cut what is in flight; the lease brings it back later
                            task.cancel()
                        await asyncio.gather(*sends, return_exceptions=True)
                        for task in sends:
                            if not task.cancelled() and task.exception() and not isinstance(task.exception(), SQLAlchemyError):
                                raise task.exception()
                        continue
                    await _wait(stop, wake, self.poll_seconds)
                    await _wait(stop, wake, last + MIN_GAP - loop.time(), wake_too=False)
        finally:
            remove()

    def claim(self, limit: int | None = None) -> list[Job]:
        """Lease up to `limit` subscriptions that have a message to push, each with its next one."""
        now = utcnow()
        settled = now - dt.timedelta(seconds=self.settle)
        due = or_(Sub.retry_at.is_(None), Sub.retry_at <= now)
        free = or_(Sub.lease_until.is_(None), Sub.lease_until <= now)
        with self.db.session() as s:
            first = s.execute(
                select(Sub.id, Sub.last_message_id, func.min(WebMessage.id))
                .join(Chat, and_(Chat.channel == web_messages.CHANNEL, Chat.external_id == Sub.visitor))
                .join(WebMessage, and_(WebMessage.chat_id == Chat.id, WebMessage.id > Sub.last_message_id))
                .where(Sub.disabled_at.is_(None), due, free, WebMessage.author != "user", WebMessage.reply.is_(False),
                       WebMessage.created_at <= settled)
                .group_by(Sub.id, Sub.last_message_id).order_by(func.min(WebMessage.id))
                .limit(limit or self.config.concurrency)).all()
            jobs = []
            for sub_id, cursor, message_id in first:
                taken = s.execute(update(Sub).where(Sub.id == sub_id, Sub.last_message_id == cursor, Sub.disabled_at.is_(None), free)
                                  .values(lease_until=now + dt.timedelta(seconds=self.lease))).rowcount
                if not taken:  # another worker took it meanwhile
                    continue
                sub, message = s.get(Sub, sub_id), s.get(WebMessage, message_id)
                jobs.append(Job(sub.id, sub.visitor, sub.endpoint, sub.p256dh, sub.auth, cursor, sub.failures, message.id,
                                message.author, message.text, message.quiz, _aware(message.created_at)))
            return jobs

    async def send(self, client: httpx.AsyncClient, job: Job) -> str:
        """Push one message (or pass over it) and record the outcome; the outcome."""
        now = utcnow()
        if self.feed is not None and self.feed.streams.get(job.visitor):
            outcome, status, error, delay = PASSED, None, "shown on an open page", 0.0
        elif now - job.created_at > dt.timedelta(seconds=TTL):
            outcome, status, error, delay = PASSED, None, "too old to notify", 0.0
        else:
            outcome, status, error, delay = await self._post(client, job)
        await self.db.run(self.record, job, outcome, status, error, delay)
        return outcome

    async def _post(self, client: httpx.AsyncClient, job: Job) -> tuple[str, int, str, float]:
        seconds = int((job.quiz or {}).get("seconds") or 0)  # a timed contest question: useless once time is up
        body = crypto.encrypt(json.dumps(payload(job), ensure_ascii=False).encode("utf-8"), crypto.b64url_decode(job.p256dh),
                              crypto.b64url_decode(job.auth))
        headers = {"TTL": str(seconds or TTL), "Urgency": "high" if seconds else "normal", "Content-Encoding": "aes128gcm",
                   "Content-Type": "application/octet-stream", "Authorization": self._authorization(job.endpoint)}
        try:
            response = await asyncio.wait_for(client.post(job.endpoint, content=body, headers=headers), self.config.timeout)
        except (httpx.HTTPError, asyncio.TimeoutError, OSError) as exc:
            return self._retry(job, 0, f"no answer: {type(exc).__name__}", None)
        status = response.status_code
        if status in (201, 202) or 200 <= status < 300:
            return SENT, status, "", 0.0
        if status in (404, 410):
            log.info("web push: subscription %d on %s is gone (%d): disabled", job.sub_id, _host(job.endpoint), status)
            return GONE, status, f"{status} {response.text[:200]}", 0.0
        if status == 429 or status >= 500:
            return self._retry(job, status, f"{status} {response.text[:200]}", response.headers.get("retry-after"))
        log.warning("web push: %s refused message %d for subscription %d (%d %s); passed over", _host(job.endpoint),
                    job.message_id, job.sub_id, status, response.text[:200])
        return PASSED, status, f"{status} {response.text[:200]}", 0.0

    def _retry(self, job: Job, status: int, error: str, header: str | None) -> tuple[str, int, str, float]:
        failures = job.failures + 1
        if failures >= MAX_FAILURES:
            log.warning("web push: message %d for subscription %d failed %d times (%s); passed over", job.message_id,
                        job.sub_id, failures, error)
            return PASSED, status, error, 0.0
        wait = retry_after(header, utcnow())
        delay = wait if wait is not None else backoff(failures, RETRY_FIRST, RETRY_CAP)
        log.info("web push: %s for subscription %d (%s); retry %d in %.1f s", error, job.sub_id, _host(job.endpoint),
                 failures, delay)
        return RETRY, status, error, delay

    def _authorization(self, endpoint: str) -> str:
        """The VAPID header for the endpoint's push service, signed again an hour before it expires."""
        audience, now = crypto.origin(endpoint), utcnow().timestamp()
        header, until = self._tokens.get(audience, ("", 0.0))
        if now >= until:
            header = crypto.vapid_header(self.config.key, endpoint, self.config.subject, now)
            self._tokens[audience] = (header, now + crypto.JWT_SECONDS - 3600)
        return header

    def record(self, job: Job, outcome: str, status: int | None, error: str, delay: float) -> bool:
        """The outcome, with the cursor moved past the message unless it is retried, in one transaction; False
        when another worker moved the cursor meanwhile (this one's lease had run out)."""
        now = utcnow()
        values: dict = {"lease_until": None, "last_status": status, "last_error": error[:300]}
        if outcome == SENT:
            values.update(last_message_id=job.message_id, failures=0, retry_at=None, sent=Sub.sent + 1, last_sent_at=now)
        elif outcome == PASSED:
            values.update(last_message_id=job.message_id, failures=0, retry_at=None)
        elif outcome == GONE:
            values.update(disabled_at=now)
        else:
            values.update(failures=job.failures + 1, retry_at=now + dt.timedelta(seconds=delay))
        with self.db.session() as s:
            done = s.execute(update(Sub).where(Sub.id == job.sub_id, Sub.last_message_id == job.cursor).values(**values)).rowcount
        if not done:
            log.warning("web push: subscription %d moved on while message %d was in flight", job.sub_id, job.message_id)
        return bool(done)


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float, wake_too: bool = True) -> None:
    if seconds <= 0 or stop.is_set():
        return
    waiters = {asyncio.ensure_future(stop.wait())}
    if wake_too:
        waiters.add(asyncio.ensure_future(wake.wait()))
    await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
