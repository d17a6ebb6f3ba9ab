"""The web chat's JSON API: /api/ask (one answer), /api/chat (a conversation), /healthz; the live part
(/api/history, /api/events) is bot/channels/web_live.py.

Every message of a web chat, the visitor's own included, is stored (bot/channels/web_messages.py)
once the visitor has a chat row: a visitor without a cookie who only looked keeps no rows.

Every refusal is a 4xx JSON object: `error` in English for operators, `message` in Vietnamese for
people. Bodies are read in pieces and refused (413) as soon as they exceed the limit
(bot/channels/inbound.py). Each client address (see TRUSTED_PROXIES) has a budget of requests per
window on /api/ask and /api/chat, whatever cookie it sends or drops (429 beyond it).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import messages, supervise
from bot.channels import health
from bot.channels.inbound import client_address, parse_json, read_body
from bot.channels.web_live import Live, LiveFeed
from bot.channels import web_messages
from bot.ratelimit import FloodGuard
from bot.chat.types import Conversation, IncomingMessage, OutgoingMessage
from bot.privacy import mask
from bot.textnorm import clean

log = logging.getLogger(__name__)

VISITOR_COOKIE = "bdhvs_visitor"
VISITOR_ID = re.compile(r"[0-9a-f]{32}")
VISITOR_MAX_AGE = 365 * 24 * 3600
NO_STORE = {"Cache-Control": "no-store"}
HEALTH_TIMEOUT = 3.0  # seconds: /healthz answers "degraded" by then, whatever the database does
SHOWN_CHARS = 200  # a button's label as the page showed it, kept as what the visitor "said"


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str = messages.WEB_BAD_REQUEST) -> None:
        super().__init__(error)
        self.status, self.error, self.message = status, error, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "message": self.message}, self.status, headers=NO_STORE)


async def read_json(request: Request, limit: int) -> object:
    """The body as a JSON value, or ApiError: 415 not JSON, 413 too large, 400 malformed."""
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params.strip() else "utf-8"
    if media_type.strip().lower() != "application/json" or charset not in ("utf-8", "utf8"):
        raise ApiError(415, "Content-Type must be application/json (UTF-8)")
    body = await read_body(request, limit)
    if body is None:
        raise ApiError(413, f"body larger than {limit} bytes", messages.WEB_TOO_LARGE)
    try:
        return parse_json(body)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


async def read_json_object(request: Request, limit: int) -> dict:
    """The body as a JSON object, or ApiError: as `read_json`, and 422 when it is not an object."""
    data = await read_json(request, limit)
    if not isinstance(data, dict):
        raise ApiError(422, "body must be a JSON object")
    return data


def text_field(data: dict, name: str) -> str:
    """A non-empty string field that can be stored and sent back (no lone surrogates)."""
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"'{name}' must be a non-empty string", messages.WEB_NEED_QUESTION)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"'{name}' contains invalid Unicode (lone surrogates)") from None
    return value


def incoming(data: dict, visitor: str, client: str = "", new: bool = False) -> IncomingMessage:
    """{"text": ...} (a command when it starts with '/') or {"button": data} -> an IncomingMessage.
    `new`: the visitor id was minted for this request (no cookie), so the service stores it only if needed."""
    if ("text" in data) == ("button" in data):
        raise ApiError(422, "give exactly one of 'text' or 'button'", messages.WEB_NEED_QUESTION)
    base = dict(channel="web", user_id=visitor, chat_id=visitor, client=client, new_identity=new)
    if "button" in data:
        return IncomingMessage(kind="button", data=text_field(data, "button"), **base)
    said = text_field(data, "text").strip()
    if said.startswith("/"):
        command, _, args = said[1:].partition(" ")
        return IncomingMessage(kind="command", command=command, text=args, **base)
    return IncomingMessage(kind="text", text=said, **base)


def outgoing_json(message: OutgoingMessage) -> dict:
    """A reply for the page; a quiz carries its question and options, never its answer, and for a timed
    (contest) question the seconds left to answer."""
    return web_messages.content(message)


def shown_text(data: dict, msg: IncomingMessage) -> str:
    """What the visitor's message looked like on the page, for the history: the text typed, or the label of the
    button or shortcut pressed (`shown`, optional)."""
    shown = data.get("shown")
    if isinstance(shown, str) and shown.strip():
        try:
            shown.encode("utf-8")
        except UnicodeEncodeError:
            return ""
        return clean(shown).strip()[:SHOWN_CHARS]
    if msg.kind == "text":
        return msg.text
    return ""


def visitor_of(request: Request) -> str:
    """The visitor id in the cookie, or "" when there is none (or it is not one of ours)."""
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    return visitor if VISITOR_ID.fullmatch(visitor) else ""


class WebApi:
    def __init__(self, service: Conversation, max_body_bytes: int, client_requests: int = 60,
                 client_window: float = 60.0, heartbeat: float = 10.0, feed: LiveFeed | None = None) -> None:
        self.service = service
        self.limit = max_body_bytes
        self.clients = FloodGuard(client_requests, client_window)  # per client address, every endpoint together
        self.feed = feed or LiveFeed(service.db)
        self.live = Live(service.db, self.feed, heartbeat,
                         lambda response, visitor, request: set_visitor_cookie(response, visitor, request.url.scheme == "https"),
                         visitor_of)

    def _client(self, request: Request) -> str:
        """The client's address; ApiError 429 when it has used up its budget."""
        client = client_address(request)
        if not self.clients.allow(client):
            raise ApiError(429, "too many requests from this client address", messages.FLOOD)
        return client

    def _guard(self, request: Request) -> Response | None:
        try:
            self._client(request)
        except ApiError as exc:
            return exc.response()
        return None

    def routes(self) -> list[Route]:
        return [
            Route("/api/ask", self.ask, methods=["POST"]),
            Route("/api/chat", self.chat, methods=["POST"]),
            *self.live.routes(self._guard),
            Route("/healthz", self.healthz, methods=["GET"]),
        ]

    async def ask(self, request: Request) -> Response:
        """The same object as `python -m bot ask --json`."""
        try:
            self._client(request)
            question = text_field(await read_json_object(request, self.limit), "question")
        except ApiError as exc:
            return exc.response()
        answer = await asyncio.to_thread(self.service.ask, question)
        return JSONResponse(answer.to_json(), headers=NO_STORE)

    async def chat(self, request: Request) -> Response:
        """One message of the visitor; the replies come back at once and are stored (with what the visitor said)
        for the history and the visitor's other open pages."""
        visitor = visitor_of(request)
        known = bool(visitor)
        if not known:
            visitor = secrets.token_hex(16)
        try:
            client = self._client(request)
            data = await read_json_object(request, self.limit)
            msg = incoming(data, visitor, client, new=True)  # rows only once there is something to keep
        except ApiError as exc:
            return exc.response()
        async with self.service.db.chat_lock(f"web:{visitor}"):  # one message of a visitor at a time
            replies = await self.service.db.run(self.service.handle, msg)
            mine = [m for m in replies if not m.chat_id or m.chat_id == visitor]  # never another chat's messages
            try:
                echo, stored = await self.service.db.run(self._store, visitor, shown_text(data, msg), mine)
            except SQLAlchemyError as exc:  # answered all the same; only the history misses them
                log.warning("web: storing a visitor's messages failed (%s)", type(exc).__name__)
                echo, stored = None, [None] * len(mine)
        body = {"messages": [{**(s or {"id": None, "from": "bot", "at": None}), **outgoing_json(m)} for m, s in zip(mine, stored)],
                "echo": echo}
        response = JSONResponse(body, headers=NO_STORE)
        if not known:
            set_visitor_cookie(response, visitor, secure=request.url.scheme == "https")
        return response

    def _store(self, visitor: str, said: str, replies: list[OutgoingMessage]) -> tuple[dict | None, list[dict | None]]:
        """Keep the visitor's message and the replies in the chat's history, if the chat has a row."""
        with self.service.db.session() as s:
            chat = web_messages.chat_of(s, visitor)
            if chat is None:
                return None, [None] * len(replies)
            echo = web_messages.deliver(s, chat.id, OutgoingMessage(mask(said)), "user") if said.strip() else None
            rows = [web_messages.deliver(s, chat.id, m, "bot", reply=True) for m in replies]  # never pushed (web_push.py)
            s.flush()
            return (web_messages.as_json(echo) if echo else None), [web_messages.as_json(r) for r in rows]

    async def healthz(self, request: Request) -> Response:
        """200 "ok" when the database answers and every background task is well (bot/supervise.py); else 503
        "degraded", within HEALTH_TIMEOUT even when the database hangs."""
        manifest = self.service.engine.index.manifest
        try:
            database, background = await asyncio.wait_for(self.service.db.run(self._state), HEALTH_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("health check: the database did not answer within %.0f s", HEALTH_TIMEOUT)
            database, background = "timeout", {}
        background = {**background, **health.problems()}  # and what channels report (bot/channels/health.py)
        healthy = database == "ok" and not background
        body = {
            "status": "ok" if healthy else "degraded",
            "index": {k: manifest.get(k) for k in ("chunks", "embedder", "built_at")},
            "database": database,
            "background": background,
            "channels": health.snapshot(),
        }
        return JSONResponse(body, 200 if healthy else 503, headers=NO_STORE)

    def _state(self) -> tuple[str, dict[str, str]]:
        try:
            with self.service.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "unreachable" to a health check
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return "error", {}  # the tasks' own checks read the database too
        return "ok", supervise.problems()


def set_visitor_cookie(response: Response, visitor: str, secure: bool) -> None:
    """HttpOnly, SameSite=Lax; over HTTPS also partitioned (CHIPS) with SameSite=None so that the
    chat keeps its session inside a portal's iframe, where browsers withhold Lax cookies."""
    response.set_cookie(
        VISITOR_COOKIE, visitor, max_age=VISITOR_MAX_AGE, path="/", httponly=True,
        samesite="none" if secure else "lax", secure=secure, partitioned=secure,
    )
