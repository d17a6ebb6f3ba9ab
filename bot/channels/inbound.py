"""What every inbound HTTP request goes through: a bounded body, one JSON parser, the client's address.

- `read_body` stops reading as soon as a body exceeds its limit (declared or streamed).
- `parse_json` turns any body that is not a reasonable JSON document (bad UTF-8, bad JSON, nesting
  deeper than MAX_DEPTH) into a ValueError, so callers answer 4xx and nothing reaches the log.
- `client_address` is the peer's address, or, only when the peer is a trusted proxy
  (TRUSTED_PROXIES, handed to uvicorn), the address that proxy saw (the right-most untrusted
  X-Forwarded-For entry); a client on 127.0.0.1 cannot pick its own address with the header.
"""

from __future__ import annotations

import json

from starlette.requests import Request

MAX_DEPTH = 32  # a web chat body is 1 level deep, a Telegram or Zalo update about 6



async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is (or says it is) larger than `limit` bytes: read no further."""
    declared = request.headers.get("content-length")
    if declared is not None and (not (declared.isascii() and declared.isdigit()) or int(declared) > limit):
        return None
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            return None
    return bytes(body)


def parse_json(body: bytes, ints_as_strings: bool = False) -> object:
    """The JSON document in `body`; ValueError (with a short reason) for anything else.
    `ints_as_strings`: integers kept as their digits (ids beyond 2^53 stay exact, as the platform sent them)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("body is not valid UTF-8") from None
    try:
        data = json.loads(text, parse_int=str) if ints_as_strings else json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None
    if _depth_over(data, MAX_DEPTH):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    return data


def _depth_over(data: object, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def client_address(request: Request) -> str:
    """Who is asking, for per-client limits. uvicorn has already replaced the peer by the
    X-Forwarded-For client when, and only when, the peer is one of TRUSTED_PROXIES (bot.channels.web)."""
    return request.client.host if request.client else ""
