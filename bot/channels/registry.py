"""Every channel the bot speaks on, and what each can do: the one place that names them.

Nothing outside bot/channels/ names a platform; it asks this registry: which channels a configuration
runs (`configured`), whether a channel shows buttons, sends native quizzes, may start a conversation,
holds team members, how fast it may send and which outbox transport sends its campaign messages and notices.

Adding a channel (docs/channels.md): a module under bot/channels/ with a `Channel(service, settings, gate=None)`
class (inbound: `run(stop)`, `routes()`; replies; `push(chat_id, message) -> bool` if it can reach a chat
unprompted), an outbox transport if campaigns may reach it, its settings in bot/config.py, and one
`Spec` line below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from bot.ratelimit import RateGate


def _never(settings: Any) -> None:
    return None


@dataclass(frozen=True)
class PushRule:
    """When a message the person did not ask for (a campaign, the daily quiz) may go to a chat: only if the chat
    wrote within `window_hours` and fewer than `most` such messages went to it since."""

    window_hours: float
    most: int


@dataclass(frozen=True)
class Spec:
    name: str  # as stored with every user and chat: "telegram:123"
    module: str  # defines `Channel`
    label: str  # how people know it, in Vietnamese texts
    configured: Callable[[Any], bool]  # settings -> whether this configuration runs it
    rate: Callable[[Any], float]  # settings -> sends a second (replies and campaign messages together)
    buttons: bool = True  # replies show buttons (else choices come as numbered lines)
    native_quiz: bool = False  # a quiz goes as the platform's own poll
    pushed_choices: bool = True  # campaign quizzes keep their choices (poll or buttons); else numbered text
    team: bool = True  # team members work here: roles, notices, answers by chat
    needs_web: bool = False  # receives by webhook only: brings the web server
    max_button_data: int = 0  # bytes of a button's data the platform takes (0: no limit)
    max_text: int = 0  # characters of one message the platform takes (0: no limit; longer replies are split)
    outbox: str = ""  # "module:Class" of its outbox transport; "" : messages are stored for the page
    push_rule: Callable[[Any], PushRule | None] = _never  # settings -> its rule for unasked messages


CHANNELS: tuple[Spec, ...] = (
    Spec("web", "bot.channels.web", "trang web", configured=lambda s: bool(s.web_port), rate=lambda s: 1000.0,
         team=False),
    Spec("telegram", "bot.channels.telegram", "Telegram", configured=lambda s: bool(s.telegram_bot_token),
         rate=lambda s: s.telegram_rate_per_sec, native_quiz=True, max_button_data=64, max_text=4096,
         outbox="bot.channels.telegram_outbox:TelegramOutbox"),
    Spec("zalo", "bot.channels.zalo", "Zalo", configured=lambda s: bool(s.zalo_bot_token),
         rate=lambda s: s.zalo_rate_per_sec, buttons=False, pushed_choices=False, max_text=2000,
         outbox="bot.channels.zalo_outbox:ZaloOutbox",
         push_rule=lambda s: PushRule(s.zalo_push_window_hours, 2)),  # our limit: the Bot Platform sets none
    Spec("zalo_oa", "bot.channels.zalo_oa", "Zalo OA", configured=lambda s: bool(s.zalo_oa_app_id),
         rate=lambda s: s.zalo_oa_rate_per_sec, pushed_choices=False, needs_web=True, max_text=2000,
         outbox="bot.channels.zalo_oa_outbox:ZaloOaOutbox",
         push_rule=lambda s: PushRule(s.zalo_oa_campaign_window_hours, 8)),  # docs/zalo.md
)
_BY_NAME = {spec.name: spec for spec in CHANNELS}


def names() -> list[str]:
    return list(_BY_NAME)


def get(name: str) -> Spec:
    """The channel called `name`; KeyError names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown channel {name!r}; known: {', '.join(_BY_NAME)}") from None


def known(name: str) -> bool:
    return name in _BY_NAME


def configured(settings: Any) -> list[str]:
    """The channels this configuration can run: web unless WEB_PORT=0, others when their token is set."""
    return [spec.name for spec in CHANNELS if spec.configured(settings)]


def team_channels() -> list[str]:
    """Where a team member can be reached by chat (not the web pages: they read the web inbox)."""
    return [spec.name for spec in CHANNELS if spec.team]


def sending(settings: Any) -> list[str]:
    """The channels whose outbox this configuration drains: those configured, and those whose messages are
    stored for the page (the web chat) whatever runs."""
    return [spec.name for spec in CHANNELS if not spec.outbox or spec.configured(settings)]


def text_limit() -> int:
    """The longest message every channel takes in one piece (a campaign text must fit all of them)."""
    return min(spec.max_text for spec in CHANNELS if spec.max_text)


def button_data_limit() -> int:
    """The most bytes of button data every channel takes."""
    return min(spec.max_button_data for spec in CHANNELS if spec.max_button_data)


def channel_class(name: str) -> type:
    return importlib.import_module(get(name).module).Channel


def transport(name: str, db: Any, settings: Any, http: Any):
    """The outbox transport of channel `name` (bot/channels/outbound.py), or None for a stored channel."""
    target = get(name).outbox
    if not target:
        return None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(db, settings, http)


def gates(settings: Any, channels: list[str]) -> dict[str, RateGate]:
    """One rate gate per channel for this process: its replies and its outbox sends take from the same one."""
    return {name: RateGate(get(name).rate(settings)) for name in channels}
