"""Telegram channel latency: time from an update being available to the bot's reply reaching the API.

Not a test. Runs the real channel (python-telegram-bot, long polling) against the fake Bot API server
from tests/fake_telegram.py, around the real service (the project's index, a temporary SQLite file):

    .venv/bin/python bench/telegram_latency.py --questions 50

Questions come from tests/data/eval, each asked by a different user, so neither the per-user flood
limit nor the per-chat send limit is involved. Runs: `/help` one at a time (the channel's own
overhead, no retrieval), the same questions through `service.handle` directly (no channel), then
through Telegram one at a time, then all at once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web_load import EVAL, load_questions, percentile  # noqa: E402
from bot.app import build_service  # noqa: E402
from bot.channels.telegram import Channel  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.chat.types import IncomingMessage  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402


def measure(fake: FakeTelegram, questions: list[str], first_user: int, together: bool) -> list[float]:
    """Milliseconds from injecting each question to its reply being received by the API."""
    users = range(first_user, first_user + len(questions))
    started = {}
    for user, question in zip(users, questions):
        started[user] = time.monotonic()
        fake.inject(fake.message(user, question))
        if not together:
            fake.wait_calls("sendMessage", 1, user, timeout=60)
    return [(fake.wait_calls("sendMessage", 1, u, timeout=60)[0].at - started[u]) * 1000 for u in users]


def measure_direct(service, questions: list[str], first_user: int) -> list[float]:
    out = []
    for user, question in enumerate(questions, first_user):
        started = time.monotonic()
        service.handle(IncomingMessage("bench", str(user), str(user), "text", text=question, message_id="1"))
        out.append((time.monotonic() - started) * 1000)
    return out


def report(name: str, values: list[float]) -> None:
    print(f"{name:<11} n={len(values)}  p50={percentile(values, 50):7.1f} ms  p95={percentile(values, 95):7.1f} ms  "
          f"max={max(values):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=50)
    args = parser.parse_args()
    questions = (load_questions(EVAL) * 10)[: args.questions]

    fake = FakeTelegram().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
                            database_url=f"sqlite:///{tmp}/bench.db")
        service = build_service(settings)
        channel = Channel(service, settings)
        loop, stop = asyncio.new_event_loop(), asyncio.Event()
        thread = threading.Thread(target=loop.run_until_complete, args=(channel.run(stop),), daemon=True)
        thread.start()
        try:
            measure(fake, questions[:3], 1, together=False)  # warm-up: connections, first embeddings
            report("/help", measure(fake, ["/help"] * len(questions), 1000, together=False))
            report("direct", measure_direct(service, questions, 2000))
            report("sequential", measure(fake, questions, 3000, together=False))
            report("burst", measure(fake, questions, 4000, together=True))
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=30)
            fake.close()


if __name__ == "__main__":
    main()
