"""A real web channel (uvicorn on 127.0.0.1, random port) around a real service, for the web tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx

from bot.areas import load_areas
from bot.runner import build_channels
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.knowledge.models import QuizQuestion
from bot.retrieval.engine import Engine
from bot.storage.db import Database
from tests.conftest import KNOWLEDGE

PORTAL = "https://portal.example.vn"
QUIZ = [
    QuizQuestion("quiz-w-01", "vneid", "easy", "Tài khoản VNeID mức 2 đăng ký ở đâu?", ("Ở chợ", "Ở cơ quan Công an", "Ở trường học", "Ở nhà"),
                 1, "Mức 2 đăng ký tại cơ quan Công an.", "NĐ 69/2024", "2026-11-23"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_service(engine: Engine, database_url: str, **kw) -> ConversationService:
    database = Database(database_url, run_migrations=database_url.startswith("sqlite"))
    return ConversationService(engine, database, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), **kw)


@contextlib.contextmanager
def serve(service: ConversationService, pushers: dict | None = None, **settings) -> Iterator[str]:
    """Run Channel.run(stop) in a thread with its own event loop; yield the base URL; stop it cleanly.
    `pushers`: channel name -> async (chat_id, message) -> bool, for the web inbox (bot/webadmin)."""
    config = Settings(_env_file=None, web_port=free_port(), **{"web_allowed_origins": PORTAL, **settings})
    channel = build_channels(service, config, ["web"])[0]["web"]  # with the web admin, as `python -m bot run`
    for name, pusher in (pushers or {}).items():
        service.delivery.add(name, pusher)
    stop = asyncio.Event()
    with _running(lambda: channel.run(stop), stop, config.web_port) as base:
        yield base


def database_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'bot.db'}"


@contextlib.contextmanager
def serve_live(service: ConversationService, telegram=None, **settings) -> Iterator[str]:
    """The web channel with, in the same event loop as `python -m bot run` wires them (bot.runner.connect),
    a Telegram channel polling `telegram` (a tests/fake_telegram.FakeTelegram) and the web chat's outbox sender."""
    from bot.campaigns.senders import run_senders
    from bot.runner import connect

    extra = dict(telegram_bot_token=telegram.token, telegram_api_base_url=telegram.url) if telegram else {}
    config = Settings(_env_file=None, web_port=free_port(), quiet_hours="", **{"web_allowed_origins": PORTAL, **extra, **settings})
    instances = build_channels(service, config, ["web", "telegram"] if telegram is not None else ["web"])[0]
    stop = asyncio.Event()

    async def everything() -> None:
        connect(service, instances, asyncio.get_running_loop())
        await asyncio.gather(*(c.run(stop) for c in instances.values()), run_senders(service.db, config, ["web"], stop))

    with _running(everything, stop, config.web_port) as base:
        yield base


@contextlib.contextmanager
def _running(main, stop: asyncio.Event, port: int) -> Iterator[str]:
    """Run `main()` (a coroutine function) on an event loop in a thread until the web port answers; yield the
    base URL; then set `stop` and wait for the thread, reporting any failure."""
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported below
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert not failure, failure
        try:
            httpx.get(f"{base}/widget.js", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "web channel did not start"
            time.sleep(0.05)
    try:
        yield base
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(20)
        assert not thread.is_alive(), "channels did not stop"
        assert not failure, failure
        loop.close()
