"""A small async client for the Zalo Bot Platform API (https://bot.zaloplatforms.com/docs).

Telegram-shaped: POST `{base}{token}/{method}` with a JSON body, answered by
`{"ok": bool, "result": ..., "error_code": int, "description": str}`.
The token is part of every URL, so nothing here ever puts a URL into a log or an exception.
"""

from __future__ import annotations

from typing import Any

import httpx

# httpx logs every request URL at INFO, and the Bot API puts the token in the URL.

TIMEOUT = 408  # getUpdates: "no update within the timeout", not a failure


class ZaloError(Exception):
    """The API answered ok=false (or an HTTP error): `code` is its error_code or the HTTP status."""

    def __init__(self, method: str, code: int, description: str = "") -> None:
        super().__init__(f"{method}: error {code} {description[:200]}".rstrip())
        self.method, self.code, self.description = method, code, description

    @property
    def retryable(self) -> bool:
        return self.code >= 500 or self.code == 429


class ZaloApi:
    def __init__(self, token: str, base_url: str, request_timeout: float = 15.0) -> None:
        self._prefix = f"{base_url}{token}/"
        self._timeout = request_timeout
        self._http = httpx.AsyncClient(timeout=request_timeout)

    async def call(self, method: str, params: dict[str, Any] | None = None, wait: float | None = None) -> Any:
        """Call one method and return its `result`; raises ZaloError, or httpx.TransportError on network trouble.
        `wait`: how long to wait for the answer, if not the default."""
        response = await self._http.post(self._prefix + method, json=params or {}, timeout=wait or self._timeout)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ZaloError(method, response.status_code if response.status_code >= 400 else 502, "not a JSON answer")
        if body.get("ok") is True and response.status_code < 400:
            return body.get("result")
        code = body.get("error_code")
        code = code if isinstance(code, int) else response.status_code
        raise ZaloError(method, code, str(body.get("description") or ""))

    async def get_me(self) -> dict:
        return await self.call("getMe") or {}

    async def get_update(self, timeout: int) -> dict | None:
        """Long-poll for ONE update; None when none came within `timeout` seconds (408 or an empty result)."""
        try:
            result = await self.call("getUpdates", {"timeout": str(timeout)}, wait=timeout + 10)
        except ZaloError as e:
            if e.code == TIMEOUT:
                return None
            raise
        except httpx.ReadTimeout:
            return None
        return result if isinstance(result, dict) and result else None

    async def send_message(self, chat_id: str, text: str) -> dict:
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, photo: str, caption: str = "") -> dict:
        params = {"chat_id": chat_id, "photo": photo} | ({"caption": caption} if caption else {})
        return await self.call("sendPhoto", params)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict:
        """What the platform has registered: `url` (empty when polling) and `updated_at`."""
        result = await self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}

    async def aclose(self) -> None:
        await self._http.aclose()
