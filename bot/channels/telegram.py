"""The Telegram channel (python-telegram-bot 22.8, Bot API 9.6): long polling, or a webhook on the web server.

Updates become IncomingMessage; the service's OutgoingMessages go back as plain text (no parse mode,
so nothing a user typed can be read as markup) with inline keyboards, and quizzes as native quiz polls.
Every API call goes through `SendLimiter`: the overall rate, 1 message/s per chat, 20/min per group,
429 retry_after waited out, and 5xx, timeouts and lost connections retried with backoff.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import re
import time
import warnings
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit, PollLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.backoff import backoff
from bot.channels.inbound import parse_json, read_body
from bot.config import Settings
from bot.chat.types import Button, Conversation, IncomingMessage, OutgoingMessage, Quiz
from bot.ratelimit import RateGate
from bot.storage.shared import SharedRate

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query", "poll_answer"]
MAX_WEBHOOK_BYTES = 1_000_000
_COMMAND = re.compile(r"/(\w+)(?:@(\w+))?(?:\s+(.*))?", re.DOTALL)

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and the Bot API puts the token in the URL.


# -- rate limiting -------------------------------------------------------------------------------


class _Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` saved up; `take()` waits for one."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()
        self.lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self) -> None:
        async with self.lock:
            self._refill()
            while self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.rate)
                self._refill()
            self.tokens -= 1

    def idle(self) -> bool:
        self._refill()
        return self.tokens >= self.burst and not self.lock.locked()


class SendLimiter(BaseRateLimiter[int]):
    """Keeps API calls within Telegram's limits and retries the ones that can be retried.

    Overall: `per_second` calls a second, from the channel's rate gate (bot/ratelimit.py), which the campaign
    sender of this process shares. Per chat: 1 message a second (short bursts of 3), groups
    20 a minute. A 429 is retried after its retry_after; a 5xx, a timeout or a lost connection after
    a backoff (`bot.backoff`: from `retry_seconds`, doubling, jittered, at most `max_backoff`).
    At most `max_retries` retries, then the error goes to the caller (who logs it). A timed-out call
    may in fact have reached Telegram: retrying it can, rarely, show a reply twice; we prefer that to
    losing the answer.
    """

    PRIVATE = (1.0, 3)
    GROUP = (20 / 60, 20)

    def __init__(self, per_second: float, max_retries: int = 5, retry_seconds: float = 1.0,
                 max_backoff: float = 30.0, shared: SharedRate | None = None, gate: RateGate | None = None) -> None:
        self.overall = gate or RateGate(per_second)  # the channel's gate: campaign sends take from it too
        self.shared = shared  # on PostgreSQL: the rate of every worker's sends together (bot/storage/shared.py)
        self.chats: dict[str, _Bucket] = {}
        self.max_retries, self.retry_seconds, self.max_backoff = max_retries, retry_seconds, max_backoff

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _chat_bucket(self, chat_id: Any) -> _Bucket:
        key = str(chat_id)
        if key not in self.chats:
            if len(self.chats) > 10_000:
                self.chats = {k: b for k, b in self.chats.items() if not b.idle()}
            self.chats[key] = _Bucket(*(self.GROUP if key.startswith("-") else self.PRIVATE))
        return self.chats[key]

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat = self._chat_bucket(data["chat_id"]) if data.get("chat_id") is not None else None
        for attempt in range(self.max_retries + 1):
            if chat is not None:
                await chat.take()
            await self.overall.take()
            if self.shared is not None and self.shared.shared:
                await asyncio.sleep(await self.shared.db.run(self.shared.wait))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as e:
                if attempt == self.max_retries:
                    raise
                wait = retry_seconds(e)
                self.overall.pause(wait)  # flood control is the bot's, not the chat's: every send waits
                log.warning("telegram %s: flood control (429), retrying in %.1f s", endpoint, wait)
            except BadRequest:  # PTB makes a 400 a NetworkError too; sending it again cannot help
                raise
            except NetworkError as e:  # 5xx, timeouts (TimedOut), lost connections
                if attempt == self.max_retries:
                    log.error("telegram %s: Telegram API still failing after %d attempts (%s); giving up",
                              endpoint, attempt + 1, _describe(e))
                    raise
                wait = backoff(attempt + 1, self.retry_seconds, self.max_backoff)
                log.warning("telegram %s: Telegram API error (%s); retry %d of %d in %.1f s",
                            endpoint, _describe(e), attempt + 1, self.max_retries, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")


def _describe(e: TelegramError) -> str:
    """An API error for the log: "timed out" or Telegram's description; never a URL (it holds the token)."""
    return "timed out" if isinstance(e, TimedOut) else e.message[:200]


def retry_seconds(e: RetryAfter) -> float:
    with warnings.catch_warnings():  # v22 still returns int unless PTB_TIMEDELTA is set
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = e.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


# -- text ----------------------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix length of `text` that is at most `limit` UTF-16 units (Telegram's measure)."""
    units = 0
    for i, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut a long text into parts of at most `limit`, at a paragraph, line, sentence or word break."""
    parts = []
    text = text.strip()
    while _utf16_len(text) > limit:
        head = text[: _fit(text, limit)]
        cut = max((head.rfind(sep) + len(sep) for sep in ("\n\n", "\n", ". ", "! ", "? ", "… ") if head.rfind(sep) > 0),
                  default=0)
        if cut < len(head) // 2:
            cut = head.rfind(" ") + 1 if head.rfind(" ") > len(head) // 2 else len(head)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def open_period(seconds: int) -> int | None:
    """A timed question's poll closes when its time is up (the Bot API takes 5..600 seconds); None: no limit."""
    return min(PollLimit.MAX_OPEN_PERIOD, max(PollLimit.MIN_OPEN_PERIOD, seconds)) if seconds > 0 else None


def keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard; a button whose data is over 64 bytes (Telegram would refuse it) is left out."""
    out = []
    for row in rows:
        buttons = []
        for b in row:
            if not b.label.strip():
                continue
            if b.url:
                buttons.append(InlineKeyboardButton(b.label, url=b.url))
            elif 0 < len(b.data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
                buttons.append(InlineKeyboardButton(b.label, callback_data=b.data))
        if buttons:
            out.append(buttons)
    return InlineKeyboardMarkup(out) if out else None


# -- updates -------------------------------------------------------------------------------------


def incoming_message(update: Update, message: Message, bot_id: int, bot_username: str) -> IncomingMessage | None:
    """A message update as the service sees it, or None when it is not for the bot (groups, other bots)."""
    sender = message.from_user
    if sender is None or sender.is_bot:
        return None
    group = message.chat.type != "private"
    base = dict(channel=CHANNEL, user_id=str(sender.id), chat_id=str(message.chat.id), message_id=str(update.update_id),
                display_name=sender.first_name or "", chat_type="group" if group else "private")
    text = message.text
    if text is None:
        return None if group else IncomingMessage(kind="other", **base)
    command = _COMMAND.fullmatch(text.strip())
    if command:
        name, addressee, args = command.groups()
        if addressee and addressee.lower() != bot_username.lower():
            return None  # a command for another bot in the group
        return IncomingMessage(kind="command", command=name, text=args or "", **base)
    mention = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE) if bot_username else None
    replied = message.reply_to_message
    to_bot = replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
    if group and not to_bot and not (mention and mention.search(text)):
        return None
    if mention:
        text = mention.sub(" ", text)
    return IncomingMessage(kind="text", text=text.strip(), **base)


class Channel:
    def __init__(self, service: Conversation, settings: Settings, gate: RateGate | None = None) -> None:
        self.service = service
        self.webhook_url = settings.telegram_webhook_url
        self.secret = settings.telegram_secret_token
        if self.webhook_url and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.secret):
            raise ValueError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_SECRET_TOKEN: 1-256 characters of A-Z a-z 0-9 _ -")
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_base_url)  # `{base}{token}/{method}`: api.telegram.org or a local server
            .rate_limiter(SendLimiter(settings.telegram_rate_per_sec, settings.telegram_send_retries,
                                      settings.telegram_retry_seconds,
                                      shared=SharedRate(service.db, "telegram:send", settings.telegram_rate_per_sec),
                                      gate=gate))
            .connect_timeout(settings.api_timeout_seconds)  # a hanging API is a timeout, retried (SendLimiter)
            .read_timeout(settings.api_timeout_seconds)
            .write_timeout(settings.api_timeout_seconds)
            .concurrent_updates(True)  # one slow chat does not hold up the others
        )
        if self.webhook_url:
            builder = builder.updater(None)
        self.application: Application = builder.build()
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message))
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_handler(PollAnswerHandler(self._on_poll_answer))
        self.application.add_error_handler(self._on_error)

    # -- lifecycle -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        app = self.application
        await app.initialize()
        try:
            if self.webhook_url:
                await app.bot.set_webhook(self.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
            await app.start()
            if app.updater:
                await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("telegram: running as @%s (%s)", app.bot.username, "webhook" if self.webhook_url else "polling")
            await stop.wait()
        finally:
            if app.updater and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()

    def routes(self) -> list[Route]:
        if not self.webhook_url:
            return []
        return [Route(urlsplit(self.webhook_url).path or "/", self._webhook, methods=["POST"])]

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return Response(status_code=403)
        body = await read_body(request, MAX_WEBHOOK_BYTES)
        if body is None:
            return Response(status_code=413)
        try:
            update = Update.de_json(parse_json(body), self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return Response(status_code=400)
        await self.application.update_queue.put(update)
        return Response()

    # -- updates ---------------------------------------------------------------------------------

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        bot = context.bot
        msg = incoming_message(update, message, bot.id, bot.username or "")
        if msg is not None:
            quote = message.message_id if msg.chat_type == "group" else None
            await self._answer(msg, quote)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        try:
            await query.answer()  # stops the button's spinner; the answer comes as a message
        except TelegramError as e:
            log.info("telegram: answerCallbackQuery failed: %s", e)
        chat = query.message.chat if query.message else None
        await self._answer(IncomingMessage(
            channel=CHANNEL, user_id=str(query.from_user.id), chat_id=str(chat.id if chat else query.from_user.id),
            kind="button", data=query.data or "", message_id=str(update.update_id),
            display_name=query.from_user.first_name,
            chat_type="private" if chat is None or chat.type == "private" else "group",
        ))

    async def _on_poll_answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        answer = update.poll_answer
        if answer.user is None or not answer.option_ids:
            return  # an anonymous vote, or a vote taken back
        await self._answer(IncomingMessage(
            channel=CHANNEL, user_id=str(answer.user.id), chat_id=str(answer.user.id), kind="poll_answer",
            poll_id=answer.poll_id, option=answer.option_ids[0], message_id=str(update.update_id),
            display_name=answer.user.first_name,
        ))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: update failed: %r", context.error, exc_info=context.error)

    async def _answer(self, msg: IncomingMessage, quote: int | None = None) -> None:
        """Send the replies; a message addressed to another chat (a team member) is sent there,
        never quoting this chat's message, and one undeliverable chat does not stop the others."""
        failed: set[str] = set()
        async with self.service.db.chat_lock(f"{CHANNEL}:{msg.chat_id}"):  # in order, across workers too
            for out in await self.service.db.run(self.service.handle, msg):
                chat_id = out.chat_id or msg.chat_id
                if chat_id in failed:
                    continue
                if not await self.send(chat_id, out, None if out.chat_id else quote):
                    failed.add(chat_id)

    # -- sending ---------------------------------------------------------------------------------

    async def push(self, chat_id: str, out: OutgoingMessage) -> bool:
        """A message for a chat that did not just write (a team answer, a notice), with its buttons."""
        return await self.send(chat_id, out)

    async def send(self, chat_id: str, out: OutgoingMessage, quote: int | None = None) -> bool:
        """Deliver one message; False when it could not be (the chat blocked the bot, or an API error)."""
        try:
            if out.quiz is not None:
                await self._send_quiz(chat_id, out.quiz)
                return True
            parts = split_text(out.text)
            reply_to = ReplyParameters(quote, allow_sending_without_reply=True) if quote else None
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                await self.application.bot.send_message(
                    chat_id, part, reply_markup=keyboard(out.buttons) if last else None,
                    reply_parameters=reply_to if i == 0 else None,
                )
            return True
        except Forbidden as e:
            log.info("telegram: chat %s refused the message: %s", chat_id, e.message)
            await self.service.db.run(self.service.mark_blocked, CHANNEL, chat_id)
        except TelegramError as e:
            log.warning("telegram: sending to chat %s failed: %r", chat_id, e)
        return False

    async def _send_quiz(self, chat_id: str, quiz: Quiz) -> None:
        sent = await self.application.bot.send_poll(
            chat_id,
            shorten(quiz.question, PollLimit.MAX_QUESTION_LENGTH),
            [shorten(o, PollLimit.MAX_OPTION_LENGTH) for o in quiz.options],
            is_anonymous=False,
            type="quiz",
            correct_option_ids=[quiz.correct],
            explanation=shorten(" ".join(quiz.explanation.split()), PollLimit.MAX_EXPLANATION_LENGTH) or None,
            open_period=open_period(quiz.seconds),
        )
        await self.service.db.run(self.service.register_poll, quiz.poll, sent.poll.id)
