"""One retry rule for every call to a platform API (replies, polling and campaign sends on every channel).

Exponential backoff with a cap and "equal jitter": retry n waits between half and all of
`first × 2^(n-1)` (at most `cap`), so that many messages failing together during an outage do not
all come back at the same instant.
"""

from __future__ import annotations

import random


def backoff(attempt: int, first: float, cap: float) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry)."""
    ceiling = min(cap, first * 2.0 ** min(max(0, attempt - 1), 64))  # no overflow after days of retries
    return ceiling / 2 + random.uniform(0, ceiling / 2)
