"""Logging for operators, set up once at the entry point (`python -m bot …`).

One line per record: time, level, logger name, message. LOG_LEVEL (default INFO) sets the level.
httpx and httpcore stay at WARNING whatever the level: they log request URLs, and Bot API URLs
hold the bot's token (quiet_http_clients, run on import of the package).
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def quiet_http_clients() -> None:
    """Run when the package is imported (bot/__init__.py), so no entry point, test or embedding
    application can log a URL with a token, whatever level it sets on the root logger."""
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format=FORMAT, level=level.upper(), force=True)
