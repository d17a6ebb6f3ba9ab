"""What channels tell `/healthz` about themselves: a small dict each (webhook registration, token state,
updates ignored), and a problem when something needs the operator (which makes the process "degraded")."""

from __future__ import annotations

_info: dict[str, dict] = {}
_problems: dict[str, str] = {}


def report(channel: str, info: dict, problem: str = "") -> None:
    _info[channel] = info
    if problem:
        _problems[channel] = problem
    else:
        _problems.pop(channel, None)


def forget(channel: str) -> None:
    _info.pop(channel, None)
    _problems.pop(channel, None)


def snapshot() -> dict[str, dict]:
    return {name: dict(info) for name, info in list(_info.items())}


def problems() -> dict[str, str]:
    return dict(_problems)
