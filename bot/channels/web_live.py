"""The web chat as a live channel: /api/history (the visitor's last messages) and /api/events (a
Server-Sent Events stream of every new one), both for the visitor's cookie.

Every message of a web chat is a row of `web_messages` (bot/channels/web_messages.py). One feed per
process (`LiveFeed`) reads new rows and hands each to the open streams of its visitor: at once when the
row was committed in this process, within POLL_SECONDS when another worker committed it. Ids can commit
out of order on PostgreSQL (two transactions at once), so the feed reads back a few seconds (WINDOW) and
skips what it has handed out already; a stream skips ids it has sent. A reconnecting page sends
Last-Event-ID (the browser does) or `?after=<id>` (after loading its history) and first gets what it
missed. A comment line every heartbeat keeps proxies from closing an idle stream. A stream whose page
reads too slowly is closed: the browser reconnects and catches up from its last id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import deque

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot import messages
from bot.backoff import backoff
from bot.channels import web_messages
from bot.storage.db import Database
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # how soon a message committed by another worker reaches this worker's streams
WINDOW = 5.0  # seconds of ids read again, for transactions that committed a lower id late
QUEUE = 64  # messages waiting for a slow stream before it is closed (it reconnects and catches up)
STREAMS_PER_VISITOR = 8
MAX_STREAMS = 10_000  # per process
PRUNE_EVERY = 3600.0


def _event(message: dict) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return f"id: {message['id']}\nevent: message\ndata: {data}\n\n".encode()


def last_event_id(request_headers: dict[str, str], query: dict[str, str]) -> int | None:
    """Where a stream resumes: Last-Event-ID (a reconnect), else ?after= (the id of the history's last
    message); None: only what comes from now on. Anything that is not a small whole number counts as absent."""
    for raw in (request_headers.get("last-event-id", ""), query.get("after", "")):
        raw = raw.strip()
        if raw and len(raw) <= 10 and raw.isascii() and raw.isdigit():
            return int(raw)
    return None


class LiveFeed:
    """Fans committed web messages out to this process's open streams, keyed by visitor."""

    def __init__(self, db: Database, poll_seconds: float = POLL_SECONDS) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.streams: dict[str, set[asyncio.Queue]] = {}
        self.count = 0
        self._wake: asyncio.Event | None = None
        self._next_prune = 0.0

    def subscribe(self, visitor: str) -> asyncio.Queue | None:
        """A queue of the visitor's new messages; None when the visitor or the process has too many streams."""
        mine = self.streams.setdefault(visitor, set())
        if len(mine) >= STREAMS_PER_VISITOR or self.count >= MAX_STREAMS:
            if not mine:
                del self.streams[visitor]
            return None
        queue: asyncio.Queue = asyncio.Queue(QUEUE)
        mine.add(queue)
        self.count += 1
        return queue

    def unsubscribe(self, visitor: str, queue: asyncio.Queue) -> None:
        mine = self.streams.get(visitor)
        if mine is not None and queue in mine:
            mine.discard(queue)
            self.count -= 1
            if not mine:
                del self.streams[visitor]

    def _dispatch(self, visitor: str, message: dict) -> None:
        for queue in list(self.streams.get(visitor, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # the page does not read: close it; it reconnects with Last-Event-ID
                self.unsubscribe(visitor, queue)
                _close(queue)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        remove = web_messages.on_commit(lambda: loop.call_soon_threadsafe(wake.set))
        seen: dict[int, float] = {}  # ids handed out within WINDOW
        marks: deque[tuple[float, int]] = deque()  # (when, highest id then): the floor WINDOW ago
        high, failures = None, 0
        try:
            while not stop.is_set():
                try:
                    if high is None:
                        high = await self.db.run(self._last)
                    now = time.monotonic()
                    marks.append((now, high))
                    while len(marks) > 1 and marks[1][0] <= now - WINDOW:
                        marks.popleft()
                    floor = marks[0][1]
                    if self.streams:
                        for visitor, message in await self.db.run(self._newer, floor):
                            high = max(high, message["id"])
                            if message["id"] not in seen:
                                seen[message["id"]] = now
                                self._dispatch(visitor, message)
                    else:
                        high = await self.db.run(self._last)
                    for key in [k for k, t in seen.items() if t < now - 2 * WINDOW]:
                        del seen[key]
                    await self._prune()
                    failures = 0
                except SQLAlchemyError as exc:
                    failures += 1
                    log.warning("web live: reading new messages failed (%s, %d in a row)", type(exc).__name__, failures)
                    await _sleep(stop, backoff(failures, 0.5, 10.0))
                    continue
                wake.clear()
                waiter = asyncio.ensure_future(wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
        finally:
            remove()
            for visitor, queues in list(self.streams.items()):
                for queue in list(queues):
                    _close(queue)

    def _last(self) -> int:
        with self.db.session() as s:
            return web_messages.last_id(s)

    def _newer(self, floor: int) -> list[tuple[str, dict]]:
        with self.db.session() as s:
            return web_messages.newer(s, floor)

    async def _prune(self) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY

        def prune() -> int:
            with self.db.session() as s:
                return web_messages.prune(s, utcnow())

        removed = await self.db.run(prune)
        if removed:
            log.info("web live: pruned %d web messages older than %s", removed, web_messages.KEPT)


def _close(queue: asyncio.Queue) -> None:
    """Tell a stream to end (None in its queue), dropping what it had not read."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


class EventStream:
    """GET /api/events as a plain ASGI app: headers at once, then events and heartbeats until the page goes."""

    def __init__(self, live: "Live") -> None:
        self.live = live

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        visitor, fresh = self.live.visitor(request)
        live = self.live
        queue = live.feed.subscribe(visitor)
        if queue is None:
            response = JSONResponse({"error": "too many open streams", "message": messages.FLOOD}, 429,
                                    headers={"Cache-Control": "no-store", "Retry-After": "30"})
            return await response(scope, receive, send)
        try:
            await self._stream(request, visitor, fresh, queue, send, receive)
        finally:
            live.feed.unsubscribe(visitor, queue)

    async def _stream(self, request: Request, visitor: str, fresh: bool, queue: asyncio.Queue, send: Send,
                      receive: Receive) -> None:
        headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
                   (b"x-accel-buffering", b"no")]  # no Content-Length: the body goes on until the page leaves
        if fresh:
            carrier = Response()
            self.live.set_cookie(carrier, visitor, request)
            headers += [(k, v) for k, v in carrier.raw_headers if k == b"set-cookie"]
        # Where "from now on" starts is read before the stream opens: a message committed once the
        # client sees the stream open is newer than it, so it arrives (it is queued: subscribed above).
        resume = last_event_id(dict(request.headers), dict(request.query_params))
        try:  # what the page missed; without an id to resume from, only what comes from now on
            missed = [] if fresh else await self.live.db.run(self.live.missed, visitor, resume)
        except SQLAlchemyError:
            missed = []  # the live part still works; the page has its history
        if resume is None:
            resume, missed = (missed[-1]["id"] if missed else 0), []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        sent: set[int] = set()
        await send({"type": "http.response.body", "body": b"retry: 3000\n\n", "more_body": True})
        for message in missed:
            sent.add(message["id"])
            await send({"type": "http.response.body", "body": _event(message), "more_body": True})
        disconnected = asyncio.ensure_future(_disconnect(receive))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, disconnected}, timeout=self.live.heartbeat,
                                             return_when=asyncio.FIRST_COMPLETED)
                if disconnected in done:
                    getter.cancel()
                    return
                if getter not in done:
                    getter.cancel()
                    await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
                    continue
                message = getter.result()
                if message is None:  # closed by the feed (slow reader, or the server stops)
                    break
                if message["id"] in sent or message["id"] <= resume:  # the page has it already
                    continue
                sent.add(message["id"])
                if len(sent) > 4 * QUEUE:
                    sent = set(sorted(sent)[-2 * QUEUE:])
                await send({"type": "http.response.body", "body": _event(message), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the connection went away while writing
            return
        finally:
            disconnected.cancel()


async def _disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class Live:
    """The routes of the live web chat and what they share."""

    def __init__(self, db: Database, feed: LiveFeed, heartbeat: float, set_cookie, visitor) -> None:
        self.db, self.feed, self.heartbeat = db, feed, heartbeat
        self.set_cookie, self._visitor = set_cookie, visitor

    def visitor(self, request: Request) -> tuple[str, bool]:
        """The visitor's id from the cookie, or a new one (True) to be set on the response."""
        visitor = self._visitor(request)
        return (visitor, False) if visitor else (secrets.token_hex(16), True)

    def routes(self, guard) -> list[Route]:
        async def history(request: Request) -> Response:
            refused = guard(request)
            if refused is not None:
                return refused
            visitor, fresh = self.visitor(request)
            found = [] if fresh else await self.db.run(self.recent, visitor)
            response = JSONResponse({"messages": found}, headers={"Cache-Control": "no-store"})
            if fresh:
                self.set_cookie(response, visitor, request)
            return response

        return [Route("/api/history", history, methods=["GET"]), Route("/api/events", EventStream(self), methods=["GET"])]

    def recent(self, visitor: str) -> list[dict]:
        with self.db.session() as s:
            return web_messages.history(s, visitor)

    def missed(self, visitor: str, after: int | None) -> list[dict]:
        """The messages after `after`; with None, the visitor's last one (where "from now on" starts)."""
        with self.db.session() as s:
            return web_messages.after(s, visitor, after) if after is not None else web_messages.history(s, visitor, 1)
