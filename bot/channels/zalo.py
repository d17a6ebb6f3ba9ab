"""The Zalo channel, on the Zalo Bot Platform API: long polling, or a webhook when ZALO_WEBHOOK_URL is set.

Zalo shows no buttons here, so messages go to the service with `buttons=False` and choices come back
as numbered lines ("gõ 2", "gõ B"). Text starting with "/" is a command, as on Telegram.
Protected accounts (`message.unsupported.received`) get a short reply; nothing about them is stored
or logged. An update without `event_name` is read from its message's fields (a text, a photo or a
sticker); what cannot be read is ignored and counted, and /healthz shows the counts with what
`getWebhookInfo` said at start. No log line of this module carries a user id, a name, a message text
or the token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections import Counter
from urllib.parse import urlparse

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.backoff import backoff
from bot.channels import health
from bot.channels.inbound import parse_json, read_body
from bot.channels.zalo_api import ZaloApi, ZaloError
from bot.config import Settings
from bot.chat.types import Conversation, IncomingMessage, OutgoingMessage
from bot.ratelimit import RateGate

log = logging.getLogger(__name__)

NAME = "zalo"
MAX_TEXT = 2000  # sendMessage accepts 1-2000 characters
KINDS = {
    "message.text.received": "text",
    "message.image.received": "other",
    "message.sticker.received": "other",
    "message.unsupported.received": "unsupported",
}
_BREAKS = (r"\n\s*\n", r"\n", r"(?<=[.!?…;:])\s+", r"\s+")  # paragraph, line, sentence, word


def _size(text: str) -> int:
    """Length in UTF-16 units: an emoji counts 2, as in JavaScript, whichever way Zalo counts."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT, level: int = 0) -> list[str]:
    """Cut text into non-empty pieces of at most `limit`, at the widest boundary that fits."""
    text = text.strip()
    if not text:
        return []
    if _size(text) <= limit:
        return [text]
    if level == len(_BREAKS):
        pieces, current = [], ""
        for char in text:
            if _size(current + char) > limit:
                pieces.append(current)
                current = ""
            current += char
        return pieces + [current]
    parts = re.split(f"({_BREAKS[level]})", text)  # pieces and, between them, their separators
    out, current = [], ""
    for i in range(0, len(parts), 2):
        joined = current + parts[i - 1] + parts[i] if current else parts[i]
        if _size(joined) <= limit:
            current = joined
        else:
            out += split_text(current, limit, level + 1)
            current = parts[i]
    return out + split_text(current, limit, level + 1)


def kind_of(update: dict) -> str | None:
    """The kind of message an update carries: from its `event_name`, or, when it has none, from the
    message's fields (a text, a photo, a sticker); None when neither says."""
    name = update.get("event_name")
    if name is not None:
        return KINDS.get(name)
    message = update.get("message") if isinstance(update.get("message"), dict) else {}
    if isinstance(message.get("text"), str):
        return "text"
    if any(message.get(field) for field in ("photo", "photo_url", "sticker", "url")):
        return "other"
    return None  # a protected account's update is known by its event_name only: never guessed


def to_incoming(update: object) -> IncomingMessage | None:
    """An update as the service's IncomingMessage; None for what is not a message to answer."""
    if not isinstance(update, dict):
        return None
    kind = kind_of(update)
    message = update.get("message")
    if kind is None or not isinstance(message, dict):
        return None
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    user_id, chat_id = str(sender.get("id") or ""), str(chat.get("id") or sender.get("id") or "")
    if not user_id:
        return None
    common = dict(
        channel=NAME, user_id=user_id[:64], chat_id=chat_id[:64], message_id=str(message.get("message_id") or "")[:64],
        chat_type="group" if str(chat.get("chat_type", "")).upper() == "GROUP" else "private", buttons=False,
    )
    if kind == "unsupported":
        return IncomingMessage(kind=kind, **common)  # a protected account: not even its name
    # The documentation shows `display_name`; some of its samples show `first_name` or `name`.
    name = sender.get("display_name") or sender.get("first_name") or sender.get("name") or ""
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    if kind == "text" and text.lstrip().startswith("/"):
        command, args = (text.strip()[1:].split(maxsplit=1) + ["", ""])[:2]
        return IncomingMessage(kind="command", command=command, text=args, display_name=str(name), **common)
    return IncomingMessage(kind=kind, text=text, display_name=str(name), **common)


class Channel:
    # Polling and retries; tests make them short.
    poll_timeout = 30  # seconds getUpdates waits for an update
    backoff_initial = 1.0
    backoff_max = 60.0
    send_attempts = 3
    # Unasked messages (campaigns) go through the outbox and this channel's push rule (bot/channels/registry.py).

    def __init__(self, service: Conversation, settings: Settings, gate: RateGate | None = None) -> None:
        self.service = service
        self.api = ZaloApi(settings.zalo_bot_token, settings.zalo_api_base_url)
        self.webhook_url = settings.zalo_webhook_url
        self.secret = settings.zalo_secret_token
        self.max_body = settings.max_body_bytes
        self.gate = gate or RateGate(settings.zalo_rate_per_sec)  # every send of this channel in this process
        if self.webhook_url and not 8 <= len(self.secret) <= 256:
            raise ValueError("ZALO_SECRET_TOKEN must be 8 to 256 characters when ZALO_WEBHOOK_URL is set")
        self._tasks: set[asyncio.Task] = set()
        self.ignored: Counter[str] = Counter()  # updates not answered, by event name
        self.webhook_info: dict = {}  # what getWebhookInfo said at start

    # -- runner contract -----------------------------------------------------------------------

    def routes(self) -> list:
        if not self.webhook_url:
            return []
        return [Route(urlparse(self.webhook_url).path or "/", self._webhook, methods=["POST"])]

    async def run(self, stop: asyncio.Event) -> None:
        try:
            if await self._until_done(self._start(stop), stop) and not self.webhook_url:
                await self._poll(stop)
            else:
                await stop.wait()
        finally:
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
            health.forget(NAME)
            await self.api.aclose()

    async def _start(self, stop: asyncio.Event) -> bool:
        """Check the token and register (or remove) the webhook, retrying until it works or we stop."""
        failures = 0
        while not stop.is_set():
            try:
                me = await self.api.get_me()
                if self.webhook_url:
                    await self.api.set_webhook(self.webhook_url, self.secret)
                else:
                    await self.api.delete_webhook()  # getUpdates answers nothing while a webhook is set
                await self._check_webhook()
                log.info("zalo: connected as %s, %s", str(me.get("account_name", "?"))[:64],
                         "webhook" if self.webhook_url else "long polling")
                return True
            except Exception as e:
                failures += 1
                await self._back_off("start", e, failures, stop)
        return False

    async def _check_webhook(self) -> None:
        """Ask the platform what it has registered (getWebhookInfo) and report it to /healthz: a problem when
        it is not what this process set (another process or a person changed it)."""
        try:
            info = await self.api.get_webhook_info()
        except (ZaloError, httpx.TransportError) as e:
            self.webhook_info = {"checked": False, "error": _describe(e)}
        else:
            registered = str(info.get("url") or "")
            self.webhook_info = {"checked": True, "url": registered, "matches": registered == (self.webhook_url or "")}
            if not self.webhook_info["matches"]:
                log.warning("zalo: getWebhookInfo shows %s, not what this process set (%s)",
                            "a webhook" if registered else "no webhook", "a webhook" if self.webhook_url else "none")
        self._report()

    def _report(self) -> None:
        info = {"mode": "webhook" if self.webhook_url else "long polling", "webhook_info": self.webhook_info,
                "ignored": dict(self.ignored)}
        mismatch = self.webhook_info.get("checked") and not self.webhook_info.get("matches")
        health.report(NAME, info, "getWebhookInfo differs from the configured mode" if mismatch else "")

    async def _poll(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                update = await self._until_done(self.api.get_update(self.poll_timeout), stop)
            except Exception as e:  # whatever it is, retry later rather than stop every channel
                failures += 1
                await self._back_off("getUpdates", e, failures, stop)
                continue
            failures = 0
            if update:
                self._dispatch(update)

    async def _back_off(self, what: str, error: Exception, failures: int, stop: asyncio.Event) -> None:
        """Log, then wait (bot.backoff: doubling, capped, jittered) or until stop."""
        delay = backoff(failures, self.backoff_initial, self.backoff_max)
        if isinstance(error, (ZaloError, httpx.TransportError)):
            level = logging.ERROR if isinstance(error, ZaloError) and error.code in (401, 403) else logging.WARNING
            log.log(level, "zalo: %s failed (%s); retrying in %.1fs", what, _describe(error), delay)
        else:
            log.error("zalo: %s failed unexpectedly; retrying in %.1fs", what, delay, exc_info=error)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass

    @staticmethod
    async def _until_done(coro, stop: asyncio.Event):
        """Await `coro`, cancelling it if `stop` is set first (then None)."""
        task, stopped = asyncio.ensure_future(coro), asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not task.done():
            task.cancel()
            return None
        return task.result()

    # -- incoming ------------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get("x-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return Response(status_code=403)
        body = await read_body(request, self.max_body)
        if body is None:
            return Response(status_code=413)
        try:
            update = parse_json(body)
        except ValueError:
            return Response(status_code=400)
        if isinstance(update, dict) and update.get("ok") is True and isinstance(update.get("result"), dict):
            update = update["result"]  # tolerate the getUpdates envelope
        self._dispatch(update)
        return JSONResponse({"ok": True})

    def _dispatch(self, update: object) -> None:
        """Answer in the background; messages of one chat are answered in order."""
        msg = to_incoming(update)
        if msg is None:
            event = str(update.get("event_name") or "no event_name") if isinstance(update, dict) else "not an object"
            self.ignored[event[:40]] += 1
            self._report()
            log.info("zalo: ignored an update (%s)", event[:40])
            return
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: IncomingMessage) -> None:
        async with self.service.db.chat_lock(f"zalo:{msg.chat_id}"):  # in order, across workers too
            try:
                if msg.kind != "unsupported":
                    await self._quietly(self.api.send_chat_action(msg.chat_id, "typing"))
                for out in await self.service.db.run(self.service.handle, msg):
                    await self.send(out.chat_id or msg.chat_id, out.text)
            except Exception:
                log.exception("zalo: failed to answer a %s message", msg.kind)

    @staticmethod
    async def _quietly(coro) -> None:
        try:
            await coro
        except (ZaloError, httpx.TransportError):
            pass  # a missing "typing…" is not worth a retry

    # -- outgoing ------------------------------------------------------------------------------

    async def send(self, chat_id: str, text: str, photo: str = "") -> bool:
        """Send text in pieces of at most 2000 characters (the first as a photo's caption if `photo`)."""
        pieces = split_text(text)
        if photo:
            if not await self._retrying(self.api.send_photo, chat_id, photo, pieces.pop(0) if pieces else ""):
                return False
        for piece in pieces:
            if not await self._retrying(self.api.send_message, chat_id, piece):
                return False
        return True

    async def _retrying(self, method, *args) -> bool:
        for attempt in range(1, self.send_attempts + 1):
            await self.gate.take()
            try:
                await method(*args)
                return True
            except (ZaloError, httpx.TransportError) as e:
                if (isinstance(e, ZaloError) and not e.retryable) or attempt == self.send_attempts:
                    log.warning("zalo: sending failed (%s), attempt %d", _describe(e), attempt)
                    return False
                await asyncio.sleep(backoff(attempt, self.backoff_initial, self.backoff_max))
        return False

    async def push(self, chat_id: str, out: OutgoingMessage) -> bool:
        """A message for a chat that did not just write (a team answer, a notice): its text, choices numbered by
        the sender (bot.relay.delivery). Campaigns go through the outbox and its push rule instead."""
        return await self.send(chat_id, out.text)


def _describe(error: Exception) -> str:
    """An error for the log: code and description, or the network error's class; never a URL."""
    return str(error) if isinstance(error, ZaloError) else type(error).__name__
