"""The Zalo Official Account channel (OA Open API v3): a webhook on the web server, consultation messages back.

Inbound: `POST /webhooks/zalo-oa`. The signature `X-ZEvent-Signature: mac=<hex sha256(app id + raw body +
timestamp + OA secret key)>` (the bare hex is taken too) is checked over the bytes as received, the `timestamp` taken from the body;
a missing or wrong one gets 4xx and nothing is processed. A good one gets 200 at once and is worked on
afterwards (Zalo sends a webhook again when the answer is slow). Integers are read as strings (ids beyond
2^53). Events: `user_send_text` (a question, a command, or a tapped button), `follow` (the welcome),
`unfollow` (no more campaigns), images, stickers, files and the like (a polite text-only reply); anything
else is counted and ignored. Each `msg_id` is answered once (the service's processed-message keys).

Outbound: `message/cs` (bot/channels/zalo_oa_api.py), a reply carrying the user's msg_id. Texts of more
than 2,000 characters are split at the widest break that fits; up to MAX_BUTTONS choices go as the OA's
button template, more as numbered lines (the service numbers them and remembers them). The OAuth pair
lives in the database and is refreshed before it expires (bot/channels/zalo_oa_tokens.py).
No log line carries a token, a user id or a message text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.backoff import backoff
from bot.channels import health
from bot.channels.inbound import parse_json, read_body
from bot.channels.zalo import split_text
from bot.channels.zalo_oa_api import (
    BUTTON_PREFIX, MAX_BUTTONS, MAX_TEXT, NOT_FOLLOWER, OUTSIDE_WINDOW, RATE_LIMITED, OaApi, Result, button_message,
    fits_buttons, text_message,
)
from bot.channels.zalo_oa_tokens import TokenStore
from bot.config import Settings
from bot.chat.types import Conversation, IncomingMessage, OutgoingMessage
from bot.ratelimit import RateGate

log = logging.getLogger(__name__)

NAME = "zalo_oa"
NEEDS_WEB = True  # it receives by webhook only: `run --channel zalo_oa` starts the web server too
WEBHOOK_PATH = "/webhooks/zalo-oa"
NOT_TEXT_EVENTS = frozenset({
    "user_send_image", "user_send_sticker", "user_send_gif", "user_send_file", "user_send_audio", "user_send_video",
    "user_send_location", "user_send_link", "user_send_business_card",
})


def parse_event(event: object) -> tuple[str, IncomingMessage | None, str]:
    """(what, message, user id) for an event: what is "message", "unfollow" or, for anything else, the
    reason it is ignored (a message then None)."""
    if not isinstance(event, dict):
        return "not an object", None, ""
    name = str(event.get("event_name") or "")
    if name in ("follow", "unfollow"):
        follower = event.get("follower") if isinstance(event.get("follower"), dict) else {}
        user = str(follower.get("id") or "")[:64]
        if not user:
            return f"{name} without follower.id", None, ""
        if name == "unfollow":
            return "unfollow", None, user
        # a follow has no msg_id: its timestamp makes it one, so a redelivered follow is welcomed once
        msg = IncomingMessage(channel=NAME, user_id=user, chat_id=user, kind="command", command="start",
                              message_id=f"follow:{str(event.get('timestamp') or '')[:40]}", max_buttons=MAX_BUTTONS)
        return "message", msg, user
    if name != "user_send_text" and name not in NOT_TEXT_EVENTS:
        return name[:40] or "no event_name", None, ""
    sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    user, msg_id = str(sender.get("id") or "")[:64], str(message.get("msg_id") or "")[:64]
    if not user:
        return f"{name} without sender.id", None, ""
    common = dict(channel=NAME, user_id=user, chat_id=user, message_id=msg_id, max_buttons=MAX_BUTTONS)
    if name in NOT_TEXT_EVENTS:
        return "message", IncomingMessage(kind="other", **common), user
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    if text.startswith(BUTTON_PREFIX):  # a tapped button of ours (or the same typed: the same choice)
        return "message", IncomingMessage(kind="button", data=text[len(BUTTON_PREFIX):][:200], **common), user
    if text.lstrip().startswith("/"):
        command, args = (text.strip()[1:].split(maxsplit=1) + ["", ""])[:2]
        return "message", IncomingMessage(kind="command", command=command, text=args, **common), user
    return "message", IncomingMessage(kind="text", text=text, **common), user


def signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """The hex digest Zalo puts after `mac=` in X-ZEvent-Signature."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret_key.encode()).hexdigest()


class Channel:
    send_attempts = 3  # a reply failing with -32 or no answer is retried this often, with backoff
    backoff_initial = 1.0
    backoff_max = 30.0
    check_every = 60.0  # seconds between token checks (refreshed before expiry)

    def __init__(self, service: Conversation, settings: Settings, gate: RateGate | None = None) -> None:
        missing = [name for name in ("zalo_oa_app_id", "zalo_oa_app_secret", "zalo_oa_secret_key")
                   if not getattr(settings, name)]
        if missing:
            raise ValueError(f"the zalo_oa channel needs {', '.join(m.upper() for m in missing)} (docs/zalo.md)")
        self.service = service
        self.app_id, self.secret_key = settings.zalo_oa_app_id, settings.zalo_oa_secret_key
        self.max_body = settings.max_body_bytes
        self._http = httpx.Client(timeout=settings.api_timeout_seconds)
        self.tokens = TokenStore.from_settings(service.db, settings, self._http)
        self.api = OaApi(settings.zalo_oa_api_base_url, self.tokens, self._http)
        self.gate = gate or RateGate(settings.zalo_oa_rate_per_sec)  # every send of this channel in this process
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=NAME)
        self._tasks: set[asyncio.Task] = set()
        self.ignored: Counter[str] = Counter()  # events not answered, by reason
        self.refused: Counter[str] = Counter()  # webhook requests refused, by reason

    # -- runner contract -----------------------------------------------------------------------

    def routes(self) -> list:
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def run(self, stop: asyncio.Event) -> None:
        try:
            first = True
            while not stop.is_set():
                await self._check_token(first)
                first = False
                try:
                    await asyncio.wait_for(stop.wait(), self.check_every)
                except TimeoutError:
                    pass
        finally:
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
            health.forget(NAME)
            self._pool.shutdown(wait=False)
            self._http.close()

    async def _check_token(self, first: bool) -> None:
        """Refresh the access token when it is near expiry; report the pair's state to /healthz."""
        try:
            token = await self._in_thread(self.tokens.access)
        except Exception as exc:  # the database is away: try again at the next check
            log.warning("zalo_oa: checking the access token failed (%s)", type(exc).__name__)
            token = None
        if first:
            if token:
                log.info("zalo_oa: webhook at %s; access token loaded", WEBHOOK_PATH)
            elif token == "":
                log.error("zalo_oa: no token pair: set ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN (docs/zalo.md)")
        self._report()

    def _report(self) -> None:
        state = self.tokens.status()
        problem = ""
        if state["token"] == "none":
            problem = "no access token (set ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN)"
        elif state["token"] == "expired" and state.get("last_refresh_error"):
            problem = f"access token expired and refreshing fails: {state['last_refresh_error'][:120]}"
        health.report(NAME, {**state, "webhook": WEBHOOK_PATH, "ignored": dict(self.ignored),
                             "refused": dict(self.refused)}, problem)

    async def _in_thread(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # -- incoming ------------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        body = await read_body(request, self.max_body)
        if body is None:
            return self._refuse(413, "body too large")
        try:
            event = parse_json(body, ints_as_strings=True)
        except ValueError:
            return self._refuse(400, "not JSON")
        timestamp = event.get("timestamp") if isinstance(event, dict) else None
        given = request.headers.get("x-zevent-signature", "").strip()
        mac = given[4:].strip() if given.lower().startswith("mac=") else given  # "mac=<hex>", or the bare hex
        if not isinstance(timestamp, str) or not timestamp.isascii() or not timestamp.isdigit() or not mac:
            return self._refuse(401, "no signature or no timestamp")
        expected = signature(self.app_id, body, timestamp, self.secret_key)
        if not hmac.compare_digest(mac.lower().encode(), expected.encode()):
            return self._refuse(403, "wrong signature")
        self._dispatch(event)  # answered in the background: Zalo wants its 200 within seconds
        return JSONResponse({"ok": True})

    def _refuse(self, status: int, reason: str) -> Response:
        self.refused[reason] += 1
        log.warning("zalo_oa: webhook request refused (%s)", reason)
        return JSONResponse({"error": reason}, status)

    def _dispatch(self, event: object) -> None:
        what, msg, user = parse_event(event)
        if what == "message":
            task = asyncio.create_task(self._answer(msg))
        elif what == "unfollow":
            task = asyncio.create_task(self._unfollowed(user))
        else:
            self.ignored[what] += 1
            log.info("zalo_oa: ignored an event (%s)", what)
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: IncomingMessage) -> None:
        async with self.service.db.chat_lock(f"{NAME}:{msg.chat_id}"):  # in order, across workers too
            try:
                replies = await self.service.db.run(self.service.handle, msg)
                reply_to = "" if msg.message_id.startswith("follow:") else msg.message_id
                for out in replies:
                    to = out.chat_id or msg.chat_id
                    await self.send(to, out, reply_to if to == msg.chat_id else "")
            except Exception:
                log.exception("zalo_oa: failed to answer a %s message", msg.kind)

    async def _unfollowed(self, user: str) -> None:
        try:
            await self.service.db.run(self.service.mark_blocked, NAME, user)  # campaigns skip them
        except Exception:
            log.exception("zalo_oa: failed to record an unfollow")

    # -- outgoing ------------------------------------------------------------------------------

    async def push(self, chat_id: str, out: OutgoingMessage) -> bool:
        """A message for a chat that did not just write (a team answer, a notice), with its buttons."""
        return await self.send(chat_id, out)

    async def send(self, chat_id: str, out: OutgoingMessage | str, reply_to: str = "") -> bool:
        """Send a message: its text in pieces of at most 2,000 characters, its choices as the button template
        on the last piece when they fit (the service has numbered them otherwise)."""
        out = OutgoingMessage(out) if isinstance(out, str) else out
        buttons = [b for row in out.buttons for b in row if b.data or b.url]
        pieces = split_text(out.text, MAX_TEXT)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            message = button_message(piece, buttons) if last and fits_buttons(buttons) else text_message(piece)
            if not await self._deliver(chat_id, message, reply_to):
                return False
        return bool(pieces)

    async def _deliver(self, chat_id: str, message: dict, reply_to: str) -> bool:
        for attempt in range(1, self.send_attempts + 1):
            await self.gate.take()
            result: Result = await self._in_thread(self.api.send, chat_id, message, reply_to)
            if result.sent:
                return True
            if result.code == NOT_FOLLOWER:
                await self._unfollowed(chat_id)
            if result.code in (RATE_LIMITED, None) and attempt < self.send_attempts:
                await asyncio.sleep(backoff(attempt, self.backoff_initial, self.backoff_max))
                continue
            level = logging.INFO if result.code in OUTSIDE_WINDOW or result.code == NOT_FOLLOWER else logging.WARNING
            log.log(level, "zalo_oa: sending failed (%s), attempt %d", result.describe(), attempt)
            return False
        return False
