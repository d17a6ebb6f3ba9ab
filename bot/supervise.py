"""Background tasks that keep running: campaign senders, the scheduler, the FAQ refresher.

`supervise(name, run, stop)` runs `run(stop)` until `stop` is set. When it fails (or returns early)
the failure is logged with the task's name and traceback, and the task restarts after the jittered
backoff of `bot.backoff` (1 s, 2 s, 4 s … at most a minute; the count starts again once a run has lasted
a minute). Each task's state, and any health check a task adds (`add_check`, e.g. the age of the
oldest due outbox row), is what `/healthz` reports: a task that is restarting, or a failing check,
makes the process "degraded" instead of "ok".
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from bot.backoff import backoff

log = logging.getLogger(__name__)
FIRST, CAP, HEALTHY_AFTER = 1.0, 60.0, 60.0


@dataclass
class TaskState:
    running: bool = False
    failures: int = 0  # in a row
    last_error: str = ""
    since: float = field(default_factory=time.monotonic)


_tasks: dict[str, TaskState] = {}
_checks: dict[str, Callable[[], str]] = {}  # blocking (it may read the database): "" when fine, else the problem


async def supervise(name: str, run: Callable[[asyncio.Event], Awaitable[object]], stop: asyncio.Event,
                    first: float = FIRST, cap: float = CAP) -> None:
    state = _tasks[name] = TaskState()
    try:
        while not stop.is_set():
            state.running, state.since = True, time.monotonic()
            try:
                await run(stop)
                if stop.is_set():
                    return
                error, exc_info = "stopped by itself", False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever it was, the task must come back
                error, exc_info = f"{type(exc).__name__}: {exc}"[:300], True
            if time.monotonic() - state.since > HEALTHY_AFTER:
                state.failures = 0
            state.running, state.since, state.last_error = False, time.monotonic(), error
            state.failures += 1
            delay = backoff(state.failures, first, cap)
            log.error("background task %s failed (%s); restart %d in %.1f s", name, error, state.failures, delay,
                      exc_info=exc_info)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
    finally:
        _tasks.pop(name, None)
        _checks.pop(name, None)


def add_check(name: str, check: Callable[[], str]) -> None:
    """A health check of task `name`, run by `/healthz` on the database's threads; removed with the task."""
    _checks[name] = check


def problems() -> dict[str, str]:
    """{task: what is wrong} for tasks restarting after a failure and for failing checks (blocking)."""
    out = {name: f"restarting after: {s.last_error}" for name, s in list(_tasks.items()) if not s.running}
    for name, check in list(_checks.items()):
        try:
            problem = check()
        except Exception as exc:  # noqa: BLE001 - a check that cannot run is a problem to report
            problem = f"check failed: {type(exc).__name__}"
        if problem:
            out[name] = problem
    return out
