"""Load test: web chat users and Telegram users at the same time against one real bot process, loopback only.

Starts `python -m bot run --channel web --channel telegram` (Telegram in webhook mode, as behind a load
balancer) on a temporary SQLite database, with the fake Telegram Bot API of tests/fake_telegram.py on
127.0.0.1. Then, for `--seconds`:

* each web user (`--web-users`, default 50) keeps its own chat session (cookie) on `/api/chat`: it sends a
  question, waits for the answer, pauses `--think` seconds (0.5x to 1.5x, random), and asks again;
* each Telegram user (`--telegram-users`, default 100) does the same through the webhook: a message
  update is POSTed to `/telegram/webhook`, and the reply is the bot's `sendMessage` reaching the fake API.

Latency is from sending a question to having its answer (for Telegram: the reply arriving at the API).
An error is a non-200 answer, a transport error, a "please retry" reply, or no reply within `--timeout`.
After `--seconds` no new question starts; the ones in flight finish (at most `--timeout` more), so a run
is bounded in time. Prints one JSON object.

    .venv/bin/python bench/load.py --seconds 60                      # the bundled knowledge base
    .venv/bin/python bench/load.py --seconds 10 --kb DIR --index DIR  # any other one

The index is copied to a temporary directory first, so a shared `index/` is never written. The per-user
and per-address limits are raised for the run (FLOOD_MAX_MESSAGES, WEB_CLIENT_MAX_REQUESTS): every
simulated user comes from 127.0.0.1, and this measures the server, not the limiter.
tests/test_load.py runs the same load for 10 s on a small knowledge base in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web_load import EVAL, load_questions, percentile  # noqa: E402
from bot import messages  # noqa: E402
from tests.fake_telegram import Call, FakeTelegram  # noqa: E402
from tests.web_server import free_port  # noqa: E402

WEBHOOK = "https://bot.example.vn/telegram/webhook"
SECRET = "load-test-secret"
FAILED_REPLIES = {messages.RETRY_LATER, messages.WEB_ERROR}


@dataclass
class Tally:
    latency_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self, seconds: float) -> dict:
        lat = self.latency_ms
        return {
            "requests": len(lat), "errors": len(self.errors), "error_samples": sorted(set(self.errors))[:5],
            "per_second": round(len(lat) / seconds, 1),
            "latency_ms": {"p50": round(statistics.median(lat), 1), "p95": round(percentile(lat, 95), 1),
                           "p99": round(percentile(lat, 99), 1), "max": round(max(lat), 1)} if lat else None,
        }


@contextmanager
def bot_process(kb: Path, index: Path, fake: FakeTelegram, workdir: Path, startup_timeout: float = 900) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `python -m bot run` serving web and the Telegram webhook; yields its base URL and process."""
    port = free_port()
    env = {**os.environ, "KNOWLEDGE_DIR": str(kb), "INDEX_DIR": str(index), "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
           "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port), "TELEGRAM_BOT_TOKEN": fake.token,
           "TELEGRAM_API_BASE_URL": fake.url, "TELEGRAM_WEBHOOK_URL": WEBHOOK, "TELEGRAM_SECRET_TOKEN": SECRET,
           "ZALO_BOT_TOKEN": "", "SCHEDULER_ENABLED": "false", "FLOOD_MAX_MESSAGES": "100000",
           "WEB_CLIENT_MAX_REQUESTS": "1000000"}
    log = (workdir / "bot.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "web", "--channel", "telegram"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the bot exited at start:\n{(workdir / 'bot.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200 and fake.webhook:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the bot did not start in time")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class Replies:
    """The fake API's sendMessage calls, handed to the asyncio task waiting for that chat's reply."""

    def __init__(self, fake: FakeTelegram, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[int, asyncio.Future] = {}
        self.extra = 0  # replies nobody was waiting for: duplicates or late answers
        fake.on_call = self._seen  # runs on the fake server's threads

    def _seen(self, call: Call) -> None:
        if call.method == "sendMessage":
            self.loop.call_soon_threadsafe(self._deliver, int(call.params["chat_id"]), call)

    def _deliver(self, chat: int, call: Call) -> None:
        future = self.waiting.pop(chat, None)
        if future is None or future.done():
            self.extra += 1
        else:
            future.set_result(call)

    def expect(self, chat: int) -> asyncio.Future:
        future = self.loop.create_future()
        self.waiting[chat] = future
        return future


async def web_user(url: str, questions: Iterator[str], until: float, think: float, timeout: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:  # one client each: its own cookie
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                response = await client.post("/api/chat", json={"text": next(questions)})
                texts = [m["text"] for m in response.json()["messages"]] if response.status_code == 200 else []
                if response.status_code != 200:
                    tally.errors.append(f"web HTTP {response.status_code}")
                elif not texts or FAILED_REPLIES & set(texts):
                    tally.errors.append("web: no answer or a please-retry answer")
                else:
                    tally.latency_ms.append((time.monotonic() - started) * 1000)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                tally.errors.append(f"web {type(exc).__name__}")
            await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def telegram_user(client: httpx.AsyncClient, fake: FakeTelegram, replies: Replies, user: int, questions: Iterator[str],
                        until: float, think: float, timeout: float, tally: Tally) -> None:
    while time.monotonic() < until:
        update = {"update_id": fake.new_update_id(), **fake.message(user, next(questions))}
        reply = replies.expect(user)
        started = time.monotonic()
        try:
            response = await client.post("/telegram/webhook", json=update,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            if response.status_code != 200:
                tally.errors.append(f"telegram webhook HTTP {response.status_code}")
            else:
                call = await asyncio.wait_for(reply, timeout)
                if call.params["text"] in FAILED_REPLIES:
                    tally.errors.append("telegram: a please-retry answer")
                else:
                    tally.latency_ms.append((call.at - started) * 1000)
        except asyncio.TimeoutError:
            tally.errors.append(f"telegram: no reply within {timeout:.0f} s")
        except httpx.HTTPError as exc:
            tally.errors.append(f"telegram webhook {type(exc).__name__}")
        replies.waiting.pop(user, None)
        await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def load(url: str, fake: FakeTelegram, web_users: int, telegram_users: int, seconds: float, think: float,
               timeout: float, questions: list[str]) -> dict:
    loop = asyncio.get_running_loop()
    replies = Replies(fake, loop)
    web, telegram = Tally(), Tally()
    web_questions, telegram_questions = itertools.cycle(questions), itertools.cycle(questions[::-1])
    limits = httpx.Limits(max_connections=telegram_users, max_keepalive_connections=telegram_users)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(web_user(url, web_questions, until, think, timeout, web) for _ in range(web_users)),
            *(telegram_user(client, fake, replies, 900_000 + n, telegram_questions, until, think, timeout, telegram)
              for n in range(telegram_users)))
        wall = time.monotonic() - started
    await asyncio.sleep(1.0)  # a duplicate reply would show by now
    fake.on_call = None
    return {"web": web.summary(wall), "telegram": telegram.summary(wall), "wall_seconds": round(wall, 1),
            "telegram_extra_replies": replies.extra}


def run(kb: Path, index: Path, web_users: int = 50, telegram_users: int = 100, seconds: float = 60, think: float = 1.0,
        timeout: float = 60.0) -> dict:
    """Start the bot on a copy of `index`, run the load, stop the bot; the figures as a dict."""
    questions = load_questions(EVAL)
    fake = FakeTelegram().start()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        workdir = Path(tmp)
        index_copy = Path(shutil.copytree(index, workdir / "index"))
        load_before = os.getloadavg()
        try:
            with bot_process(kb, index_copy, fake, workdir) as (url, _):
                figures = asyncio.run(load(url, fake, web_users, telegram_users, seconds, think, timeout, questions))
            figures["bot_log_errors"] = [line for line in (workdir / "bot.log").read_text().splitlines()
                                         if "Traceback" in line or "ERROR" in line][:5]
        finally:
            fake.close()
    figures.update({
        "web_users": web_users, "telegram_users": telegram_users, "seconds": seconds, "think_seconds": think,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average_before": load_before,
                    "load_average_after": os.getloadavg()},
    })
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--web-users", type=int, default=50)
    parser.add_argument("--telegram-users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's answer and its next question")
    parser.add_argument("--timeout", type=float, default=60.0, help="longest wait for one answer")
    args = parser.parse_args()
    figures = run(args.kb, args.index, args.web_users, args.telegram_users, args.seconds, args.think, args.timeout)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if figures["web"]["errors"] or figures["telegram"]["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
