"""The web chat channel: the chat page, the embeddable widget, the JSON API, other channels' webhooks.

One uvicorn server in the bot's process. Pages and scripts are static files (bot/web/static/), so
the Content-Security-Policy needs no 'unsafe-inline'; every text from the bot is put on the page
with textContent, never as HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import messages
from bot.channels import web_push
from bot.channels.web_api import NO_STORE, WebApi
from bot.channels.web_live import LiveFeed
from bot.config import Settings, trusted_networks
from bot.chat.types import Conversation
from bot.supervise import supervise

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def allowed_origins(setting: str) -> list[str]:
    """WEB_ALLOWED_ORIGINS as a list of origins; anything that is not an origin is ignored, with a warning."""
    origins = []
    for item in filter(None, (part.strip().rstrip("/") for part in setting.split(","))):
        if ORIGIN.fullmatch(item):
            origins.append(item)
        else:
            log.warning("WEB_ALLOWED_ORIGINS: ignoring %r (expected e.g. https://portal.gov.vn)", item[:80])
    return origins


class SecurityHeaders:
    """Adds nosniff, a strict CSP (frames only from 'self' and the allowed origins) and no referrer."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        ancestors = " ".join(["'self'", *origins])
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
        )
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", csp.encode()),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def push_page(request: Request) -> Response:
    """The chat page when web push is on: its <body> says so (data-push), so the page asks for the key only
    then (bot/web/static/push.js) and a server without push never answers it a 404."""
    html = (STATIC / "index.html").read_text(encoding="utf-8").replace("<body ", '<body data-push="on" ', 1)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


async def widget(request: Request) -> Response:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})


async def http_error(request: Request, exc: HTTPException) -> Response:
    message = messages.WEB_NOT_FOUND if exc.status_code == 404 else messages.WEB_BAD_REQUEST
    return JSONResponse({"error": exc.detail, "message": message}, exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("web: unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "internal error", "message": messages.WEB_ERROR}, 500, headers=NO_STORE)


def create_app(
    service: Conversation, settings: Settings, extra_routes: list[BaseRoute] = (), feed: LiveFeed | None = None,
) -> Starlette:
    """The web server's app; `feed` (bot/channels/web_live.py) must be running for /api/events to get messages."""
    origins = allowed_origins(settings.web_allowed_origins)
    api = WebApi(service, settings.max_body_bytes, settings.web_client_max_requests, settings.web_client_window_seconds,
                 settings.web_events_heartbeat_seconds, feed)
    push = web_push.PushApi(service.db, web_push.PushConfig.from_settings(settings), api._guard, settings.max_body_bytes)
    routes = [
        Route("/", page if push.config is None else push_page, methods=["GET"]),
        Route("/widget.js", widget, methods=["GET"]),
        *api.routes(),
        *push.routes(),  # web push: the key, (un)subscribing, the service worker (bot/channels/web_push.py)
        *extra_routes,  # other channels' webhooks, and the web admin (bot.runner.build_channels mounts it)
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders, origins=origins),
        Middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["Content-Type"]),
    ]
    handlers = {HTTPException: http_error, Exception: server_error}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the runner owns SIGINT/SIGTERM and sets `stop`."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class Channel:
    def __init__(self, service: Conversation, settings: Settings, gate=None) -> None:  # a page needs no rate gate
        self.service = service
        self.settings = settings
        self._routes: list[BaseRoute] = []
        self.feed = LiveFeed(service.db)  # new web messages to this process's /api/events streams
        self.web_push = web_push.PushConfig.from_settings(settings)  # SettingsError for a key that cannot work

    def add_routes(self, routes: list[BaseRoute]) -> None:
        """Mount more routes on this server: another channel's webhook, the web admin."""
        self._routes.extend(routes)

    async def run(self, stop: asyncio.Event) -> None:
        app = create_app(self.service, self.settings, self._routes, self.feed)
        feeding = asyncio.create_task(supervise("web-live", self.feed.run, stop), name="web-live")
        pushing = self._start_push(stop)
        host, port = self.settings.web_host, self.settings.web_port
        # X-Forwarded-For and -Proto are believed only from TRUSTED_PROXIES (uvicorn's own default
        # trusts 127.0.0.1, where any local client could then choose its address)
        proxies = [str(net) for net in trusted_networks(self.settings.trusted_proxies)]
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=5,
                                forwarded_allow_ips=proxies)
        server = _Server(config)
        serving = asyncio.create_task(self._serve(server, f"{host}:{port}"))
        stopping = asyncio.create_task(stop.wait())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            print(f"web chat: {self.address(server)}", file=sys.stderr, flush=True)
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopping.cancel()
        await serving
        await feeding
        if pushing is not None:
            await pushing

    def _start_push(self, stop: asyncio.Event) -> asyncio.Task | None:
        """Web push (bot/channels/web_push.py), when WEB_PUSH_VAPID_PRIVATE_KEY is set: the sender runs beside
        this process's live feed, which tells it which visitors have the page open."""
        if self.web_push is None:
            return None
        sender = web_push.PushSender(self.service.db, self.web_push, self.feed)
        return asyncio.create_task(supervise("web-push", sender.run, stop), name="web-push")

    @staticmethod
    async def _serve(server: uvicorn.Server, where: str) -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits the process when it cannot bind; fail this channel instead
            raise RuntimeError(f"the web server could not start on {where} (is the port in use?)") from None

    def address(self, server: uvicorn.Server) -> str:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
