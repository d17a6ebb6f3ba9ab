"""Contest bench: one round with 10,000 participants; answer submission and leaderboard cost, against one
plain /api/chat message (a knowledge question) in the same run, through the real web channel (uvicorn on
127.0.0.1) and the real conversation service, engine and database.

    .venv/bin/python bench/contest.py [--people 10000] [--live 500] [--questions 5] [--concurrency 8]
                                      [--database-url postgresql://postgres@127.0.0.1:5432/contest_bench]

`--people` participants are seeded as finished (entries and answers written directly, as the chat would
have); `--live` more are seeded at their first question and then answer every question over /api/chat,
`--concurrency` at a time: that is what is timed (the last answer also computes the person's rank among
everyone). The leaderboard is `bot.contests.service.standings` over the whole round (what
`python -m bot contest leaderboard --json` and the web admin call). The baseline is the same client sending
plain questions from tests/data/eval to /api/chat. What grows with the round: the rank of a finished
attempt (two counts over the round's finished entries) and the leaderboard (every finished entry read and
sorted); one answer's own work (an insert and an update by key) does not.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import random
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.areas import load_areas  # noqa: E402
from bot.channels.web import Channel  # noqa: E402
from bot.config import Settings, get_settings  # noqa: E402
from bot.contests import service as cs  # noqa: E402
from bot.contests.models import DONE, QUESTIONS, ContestAnswer, ContestEntry, ContestRound  # noqa: E402
from bot.conversation.service import ConversationService  # noqa: E402
from bot.knowledge.loaders import load_quiz_bank  # noqa: E402
from bot.retrieval.service import open_engine  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import Chat, User, utcnow  # noqa: E402

COOKIE = "bdhvs_visitor"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(db: Database, service: ConversationService, round_id: int, people: int, live: int, questions: int) -> list[str]:
    """`people` finished attempts and `live` ones at their first question; the live visitors' ids."""
    rng = random.Random(7)
    areas = [a.code for a in service.areas] or ["all"]
    now = utcnow()
    visitors = [secrets.token_hex(16) for _ in range(people + live)]
    with db.session() as s:
        rnd = s.get(ContestRound, round_id)
        s.execute(User.__table__.insert(), [{"channel": "web", "external_id": v, "display_name": "", "role": "citizen",
                                            "area": "", "blocked_bot": False, "created_at": now} for v in visitors])
        s.execute(Chat.__table__.insert(), [{"channel": "web", "external_id": v, "kind": "private", "created_at": now}
                                            for v in visitors])
        ids = dict(s.execute(select_ids()).all())
        rows = []
        for i, v in enumerate(visitors):
            plan = cs.draw(rnd, service.quiz, rng)
            finished = i < people
            correct = rng.randint(0, questions) if finished else 0
            started = now - dt.timedelta(seconds=rng.randint(60, 3600)) if finished else now
            rows.append({"round_id": round_id, "user_id": ids[v], "attempt": 1, "channel": "web",
                         "step": DONE if finished else QUESTIONS, "display_name": f"Người dự thi {i}",
                         "area": rng.choice(areas), "phone": None, "prediction": rng.randint(0, people // 10),
                         "plan": plan, "position": questions if finished else 0, "correct": correct,
                         "seconds": rng.randint(20, rnd.seconds) if finished else None, "started_at": started,
                         "deadline": started + dt.timedelta(seconds=rnd.seconds),
                         "finished_at": started + dt.timedelta(seconds=30) if finished else None, "created_at": started})
        s.execute(ContestEntry.__table__.insert(), rows)
        entries = dict(s.execute(select_entries(round_id)).all())
        answers = [{"entry_id": entries[ids[v]], "position": p, "quiz_id": "seed", "choice": 0, "correct": True,
                    "in_time": True, "answered_at": now} for v in visitors[:people] for p in range(questions)]
        for start in range(0, len(answers), 20_000):
            s.execute(ContestAnswer.__table__.insert(), answers[start:start + 20_000])
    return visitors[people:]


def select_ids():
    from sqlalchemy import select

    return select(User.external_id, User.id).where(User.channel == "web")


def select_entries(round_id: int):
    from sqlalchemy import select

    return select(ContestEntry.user_id, ContestEntry.id).where(ContestEntry.round_id == round_id)


def serve(service: ConversationService, settings: Settings):
    channel = Channel(service, settings)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(channel.run(stop)), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{settings.web_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/widget.js", timeout=2)
            return base, lambda: (loop.call_soon_threadsafe(stop.set), thread.join(15))
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit("the web channel did not start")
            time.sleep(0.1)


async def answer_all(base: str, visitors: list[str], concurrency: int, questions: int) -> tuple[list[float], list[float], int]:
    """Every live visitor answers every question (option A) over /api/chat; (all answers ms, last answers ms, errors)."""
    times, last, errors = [], [], 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for v in visitors:
        queue.put_nowait(v)
    entries = {}

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            while not queue.empty():
                visitor = queue.get_nowait()
                client.cookies.set(COOKIE, visitor)
                # /thi resumes the attempt at its question: the entry id comes with the question's buttons
                reply = (await client.post("/api/chat", json={"text": "/thi"})).json()["messages"][-1]
                data = reply["buttons"][0][0]["data"]  # ct:a:<entry>:<position>:0
                entry = data.split(":")[2]
                entries[visitor] = entry
                for position in range(questions):
                    started = time.perf_counter()
                    response = await client.post("/api/chat", json={"button": f"ct:a:{entry}:{position}:0"})
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        errors += 1
                        continue
                    times.append(elapsed)
                    if position == questions - 1:
                        last.append(elapsed)
                        if "Bác trả lời đúng" not in response.json()["messages"][-1]["text"]:
                            errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return times, last, errors


async def plain_chat(base: str, questions: list[str], concurrency: int, count: int) -> list[float]:
    times = []
    pool = itertools.cycle(questions)

    async def worker(n: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            client.cookies.set(COOKIE, secrets.token_hex(16))
            for _ in range(n):
                started = time.perf_counter()
                response = await client.post("/api/chat", json={"text": next(pool)})
                response.raise_for_status()
                times.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))
    return times


def eval_questions() -> list[str]:
    rows = []
    for path in sorted((ROOT / "tests" / "data" / "eval").glob("*.jsonl")):
        rows += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--live", type=int, default=500)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--plain", type=int, default=400, help="plain /api/chat questions for the baseline")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    settings = get_settings()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    db = Database(url, threads=settings.database_threads)
    engine = open_engine(settings.knowledge_dir, settings.index_dir, settings.embedder)
    quiz = load_quiz_bank(settings.knowledge_dir)
    service = ConversationService(engine, db, quiz, load_areas(settings.knowledge_dir / "areas.yaml"), flood_limit=10**9)
    now = utcnow()
    spec = cs.RoundSpec(opens=now, closes=now + dt.timedelta(days=7), questions=args.questions, seconds=3 * 3600)
    with db.session() as s:
        contest = cs.create(s, service.quiz, "Bench: Công dân số thông minh", spec, now=now)
        round_id = cs.rounds(s, contest.id)[0].id
    started = time.perf_counter()
    live = seed(db, service, round_id, args.people, args.live, args.questions)
    seeded = time.perf_counter() - started
    web = Settings(_env_file=None, database_url=url, web_port=free_port(), web_client_max_requests=10**9,
                   knowledge_dir=settings.knowledge_dir, index_dir=settings.index_dir)
    base, stop = serve(service, web)
    try:
        plain = asyncio.run(plain_chat(base, eval_questions(), args.concurrency, args.plain))
        answers, last, errors = asyncio.run(answer_all(base, live, args.concurrency, args.questions))
        plain_after = asyncio.run(plain_chat(base, eval_questions(), args.concurrency, args.plain // 2))
    finally:
        stop()
    board_ms = []
    with db.session() as s:
        rnd = s.get(ContestRound, round_id)
        for _ in range(3):
            t0 = time.perf_counter()
            board = cs.standings(s, rnd, utcnow())
            board_ms.append((time.perf_counter() - t0) * 1000)
    plain_all = plain + plain_after
    report = {
        "database": url.split(":", 1)[0],
        "participants": len(board),
        "live_answers": len(answers),
        "errors": errors,
        "seed_seconds": round(seeded, 1),
        "answer_ms": {"p50": round(statistics.median(answers), 1), "p95": round(percentile(answers, 95), 1)},
        "last_answer_with_rank_ms": {"p50": round(statistics.median(last), 1), "p95": round(percentile(last, 95), 1)},
        "plain_chat_ms": {"p50": round(statistics.median(plain_all), 1), "p95": round(percentile(plain_all, 95), 1)},
        "leaderboard_ms": round(statistics.median(board_ms), 1),
        "concurrency": args.concurrency,
    }
    report["answer_vs_plain_p50"] = round(report["answer_ms"]["p50"] / report["plain_chat_ms"]["p50"], 3)
    report["answer_vs_plain_p95"] = round(report["answer_ms"]["p95"] / report["plain_chat_ms"]["p95"], 3)
    report["leaderboard_vs_plain_p50"] = round(report["leaderboard_ms"] / report["plain_chat_ms"]["p50"], 2)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    db.engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
