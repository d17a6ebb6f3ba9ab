"""`python -m bot webpush …`: the web chat's browser notifications (bot/channels/web_push.py)."""

from __future__ import annotations

import sys

import typer

webpush_app = typer.Typer(help="Web Push (browser notifications of the web chat).", no_args_is_help=True)


@webpush_app.command("keys")
def keys() -> None:
    """Print a fresh VAPID key pair (P-256) as .env lines; add WEB_PUSH_SUBJECT (mailto: or https:)."""
    from bot.channels.web_push_crypto import new_key_pair

    private, public = new_key_pair()
    print(f"WEB_PUSH_VAPID_PRIVATE_KEY={private}")
    print(f"WEB_PUSH_VAPID_PUBLIC_KEY={public}")
    print("# add WEB_PUSH_SUBJECT=mailto:<operator's address> (or https://<the bot's site>); keep the private key secret."
          " A new pair makes browsers subscribe again: existing subscriptions stop.", file=sys.stderr)
