"""How a running channel delivers an inbox answer to a citizen's chat now (moved unchanged from bot/webadmin/pages.py)."""

from __future__ import annotations

from bot.relay.delivery import Pusher


def pusher_for(name: str, channel) -> Pusher | None:
    """How a running channel delivers an inbox answer to a chat: Telegram sends the message (with its
    follow-up button), the Zalo OA the message, the Zalo Bot Platform the text; other channels (the web chat) cannot push."""
    if name == "telegram":
        return lambda chat_id, out: channel.send(chat_id, out)
    if name == "zalo_oa":  # the OA shows buttons (up to 5; more come numbered)
        return lambda chat_id, out: channel.send(chat_id, out)
    if name == "zalo":
        return lambda chat_id, out: channel.send(chat_id, out.text)
    return None
