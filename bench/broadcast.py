"""Broadcast benchmark: N recipients through the outbox into a fake push API (a real HTTP server).

Not a test. For each audience size (N/10, then N) on a fresh SQLite file: seed subscribers, enqueue one
campaign run in a child process (time, peak RSS), drain it with a real `python -m bot campaign send`
process (achieved rate against TELEGRAM_RATE_PER_SEC, peak RSS), then count deliveries per chat at the
fake server (duplicates and losses must be 0):

    .venv/bin/python bench/broadcast.py --recipients 100000 --rate 400
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.campaigns import outbox  # noqa: E402
from bot.campaigns.models import Campaign  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from tests.campaign_data import seed  # noqa: E402
from tests.fake_push import FakePush  # noqa: E402

ENQUEUE = """
import sys, time
from bot.campaigns import outbox
from bot.storage.db import Database
t = time.perf_counter()
outbox.expand(Database(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
print(time.perf_counter() - t)
"""


def child(command: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run a child process; its stdout and its peak RSS in MB (from wait4, this child only)."""
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:4]} failed")
    return out, usage.ru_maxrss / 1024


def run(n: int, rate: float, concurrency: int, batch: int, workdir: Path) -> dict:
    db = Database(f"sqlite:///{workdir / f'broadcast-{n}.db'}")
    seed(db, n)
    with db.session() as s:
        c = Campaign(text="Ngày Chuyển đổi số quốc gia 10/10: bà con thử một việc trên môi trường số nhé!",
                     run_at=dt.datetime.now(dt.timezone.utc))
        s.add(c)
        s.flush()
        cid = c.id
    run_id = outbox.start_run(db, cid, "message", dt.datetime(2026, 10, 10, 1, tzinfo=dt.timezone.utc), c.text)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out, enqueue_mb = child([sys.executable, "-c", ENQUEUE, db.url, str(run_id), str(batch)], env)
    enqueue_s = float(out)
    fake = FakePush()
    env.update(DATABASE_URL=db.url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url, QUIET_HOURS="",
               TELEGRAM_RATE_PER_SEC=str(rate), SENDER_CONCURRENCY=str(concurrency), OUTBOX_BATCH=str(batch))
    start = time.perf_counter()
    _, sender_mb = child([sys.executable, "-m", "bot", "campaign", "send", "--channel", "telegram", "--until-empty"], env)
    wall = time.perf_counter() - start
    fake.close()
    per_chat = fake.per_chat()
    steady = (len(fake.times) - 1) / (fake.times[-1] - fake.times[0])
    return {"recipients": n, "enqueue_s": enqueue_s, "enqueue_rss_mb": enqueue_mb, "send_wall_s": wall,
            "rate": steady, "limit": rate, "sender_rss_mb": sender_mb,
            "duplicates": sum(v - 1 for v in per_chat.values()), "lost": n - len(per_chat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=400.0, help="TELEGRAM_RATE_PER_SEC for the run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(n, args.rate, args.concurrency, args.batch, Path(tmp)) for n in (args.recipients // 10, args.recipients)]
    print(f"{'recipients':>10} {'enqueue s':>9} {'enq MB':>7} {'send s':>7} {'rate/s':>7} {'of limit':>8} "
          f"{'send MB':>7} {'dups':>5} {'lost':>5}")
    for r in rows:
        print(f"{r['recipients']:>10} {r['enqueue_s']:>9.2f} {r['enqueue_rss_mb']:>7.0f} {r['send_wall_s']:>7.1f} "
              f"{r['rate']:>7.1f} {r['rate'] / r['limit']:>8.1%} {r['sender_rss_mb']:>7.0f} {r['duplicates']:>5} {r['lost']:>5}")
    if any(r["duplicates"] or r["lost"] for r in rows):
        raise SystemExit("duplicates or losses")


if __name__ == "__main__":
    main()
