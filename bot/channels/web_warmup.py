"""The web chat's stand-in while the bot gets ready (first index build, database migration).

`python -m bot run` serves this on the web port at once, so a person who opens the chat sees in
Vietnamese that the bot is getting ready, with progress, instead of a connection error; operators
see `{"status": "building"}` on /healthz (503 until ready). The real web server takes the port
over when the engine is ready; the page reloads itself every few seconds.
"""

from __future__ import annotations

import asyncio
import html
import sys
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot import messages
from bot.channels.web import _Server as QuietServer

RETRY_SECONDS = 3


@dataclass
class Progress:
    """What the build has done so far; written by the build thread, read by the page."""

    done: int = 0  # passages embedded
    total: int = 0  # passages to embed (0 until the build knows)

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    @property
    def percent(self) -> int:
        """Never 100: after embedding, the engine still loads; the real page replaces this one then."""
        return min(99, 100 * self.done // self.total) if self.total else 0


def warmup_app(progress: Progress) -> Starlette:
    headers = {"Cache-Control": "no-store", "Retry-After": str(RETRY_SECONDS)}

    async def page(request: Request) -> Response:
        body = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="refresh" content="{RETRY_SECONDS}"><title>{html.escape(messages.WARMUP_TITLE)}</title>'
            '<link rel="stylesheet" href="/static/chat.css"></head><body><main class="warmup">'
            f"<h1>{html.escape(messages.WARMUP_TITLE)}</h1><p>{html.escape(messages.WARMUP_TEXT)}</p>"
            f'<p role="status">{html.escape(messages.WARMUP_PROGRESS.format(percent=progress.percent))}</p>'
            "</main></body></html>"
        )
        return HTMLResponse(body, 503, headers=headers)

    async def healthz(request: Request) -> Response:
        state = {"status": "building", "embedded": progress.done, "to_embed": progress.total, "percent": progress.percent}
        return JSONResponse(state, 503, headers=headers)

    async def api(request: Request) -> Response:
        return JSONResponse({"error": "starting", "message": messages.WARMUP_API}, 503, headers=headers)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/api/{rest:path}", api, methods=["GET", "POST"]),
            Route("/{rest:path}", page, methods=["GET"]),
        ]
    )


class WarmupServer:
    """Serves warmup_app on host:port until stopped; never fails the bot (a taken port is reported later)."""

    def __init__(self, host: str, port: int, progress: Progress) -> None:
        config = uvicorn.Config(warmup_app(progress), host=host, port=port, log_level="warning", lifespan="off")
        self.server = QuietServer(config)  # the runner owns SIGINT/SIGTERM
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._serve())
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.02)
        if self.server.started:
            host, port = self.server.servers[0].sockets[0].getsockname()[:2]
            print(f"web chat (getting ready): http://{host}:{port}", file=sys.stderr, flush=True)

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:  # port taken: the real server will say so
            pass

    async def stop(self) -> None:
        if self.task:
            self.server.should_exit = True
            await self.task
