"""The load test at CI size: 50 web chat users and 100 Telegram users for 10 s against one real bot process.

bench/load.py runs it (loopback only, bounded in time: 10 s of questions, then at most the 60 s reply
timeout to drain); here on the small test knowledge base. Every question must be answered, none with
a "please retry", and no Telegram reply may come twice. bench/README.md has the 60 s figures.
"""

from __future__ import annotations

import json
import time

from bench.load import run


def test_50_web_and_100_telegram_users_for_10_seconds_all_answered(small_kb, small_index):
    started = time.monotonic()
    figures = run(small_kb, small_index, web_users=50, telegram_users=100, seconds=10, think=1.0, timeout=60)
    print(json.dumps(figures, indent=2))  # p50/p95 in the test log (pytest -s)
    for channel in ("web", "telegram"):
        assert figures[channel]["errors"] == 0, figures[channel]["error_samples"]
        assert figures[channel]["requests"] >= figures[f"{channel}_users"], figures  # every user asked at least once
        assert figures[channel]["latency_ms"]["p95"] > 0
    assert figures["telegram_extra_replies"] == 0  # no reply twice, none unasked for
    assert not figures["bot_log_errors"], figures["bot_log_errors"]
    assert time.monotonic() - started < 120  # bounded in time
