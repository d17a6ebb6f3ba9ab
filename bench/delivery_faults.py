"""Campaign delivery under database faults and in a Telegram group: duplicates and losses, counted at the
fake Telegram Bot API. Not a test (tests/test_outbox_faults.py asserts the same scenarios, smaller).
The scenarios are those of the fault probe (issue 14): D1 PostgreSQL refusing connections for 8 s, then a
400-recipient campaign; D2 30 members subscribed in one group, default lease; D3 a 90 s stall after 100
of 400 deliveries. Each runs on a fresh PostgreSQL database (TEST_POSTGRES_URL), through tests/db_proxy.py:

    .venv/bin/python bench/delivery_faults.py            # all three (about 4 minutes)
    .venv/bin/python bench/delivery_faults.py --only d2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.storage.db import Database  # noqa: E402
from tests import delivery_scenarios as scenarios  # noqa: E402
from tests.db_proxy import proxied  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.pg import fresh_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["d1", "d2", "d3"], action="append")
    args = parser.parse_args()
    for name in args.only or ["d1", "d2", "d3"]:
        fake = FakeTelegram().start()
        with fresh_database(f"bench_{name}") as url, proxied(url) as (proxy, through):
            db = Database(url)
            if name == "d1":
                figures, failure = scenarios.refused_then_campaign(db, proxy, through, fake, recipients=400, refuse=8,
                                                                   wait=60)
                print(f"D1 refused 8 s, then 400 recipients, 60 s: {figures}; {failure or 'sender alive'}", flush=True)
            elif name == "d2":
                figures = scenarios.group_campaign(db, fake, members=30, lease=60)
                print(f"D2 30 members in one group, lease 60 s: {figures}", flush=True)
            else:
                figures = scenarios.stalled_campaign(db, proxy, through, fake, recipients=400, stall_after=100,
                                                     stall=90, lease=60, rate=25)
                print(f"D3 stall 90 s after 100 of 400, lease 60 s: {figures}", flush=True)
            db.engine.dispose()
        fake.close()


if __name__ == "__main__":
    main()
