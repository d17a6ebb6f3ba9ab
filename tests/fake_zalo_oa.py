"""A fake Zalo Official Account: a real HTTP server on 127.0.0.1 that the real channel talks to.

- `POST /v3.0/oa/message/cs`, header `access_token`, `{"recipient": {"user_id"[, "message_id"]}, "message":
  {"text"[, "attachment"]}}`: always HTTP 200 with `{"error": code, "message": ...}`, as the OA does:
  -216 unknown access token, -220 expired, -201 bad parameters (text of 1-2,000 characters, at most
  5 buttons), -213 not a follower, -230 no interaction within 7 days, plus codes a test queues (`fail`).
- `POST /v4/oa/access_token`, form `app_id`, `grant_type=refresh_token`, `refresh_token`, header `secret_key`:
  a new pair with `expires_in` as a string; a refresh token works once. A failure is HTTP 200 with
  `error`, `error_name`, `error_description` and no `access_token`.
- `deliver(url, event)` posts an event to the bot's webhook signed as Zalo signs it
  (`X-ZEvent-Signature: mac=<sha256(app_id + body + timestamp + OA secret key)>`), and records the user's
  interaction (the clock of the 7-day rule) and follows.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx

WEEK = 7 * 24 * 3600


@dataclass
class Call:
    path: str
    headers: dict
    body: dict
    answer: dict
    at: float = field(default_factory=time.monotonic)


class FakeOa:
    def __init__(self, app_id: str = "1234567890123456789", app_secret: str = "app-secret-xyz",
                 oa_secret_key: str = "oa-secret-key-abc", expires_in: int = 90000) -> None:
        self.app_id, self.app_secret, self.oa_secret_key = app_id, app_secret, oa_secret_key
        self.expires_in = expires_in  # seconds, sent as a string
        self.oa_id = "579745863508352884"
        self.access: dict[str, float] = {}  # access token -> when it expires (time.time())
        self.refresh_tokens: dict[str, bool] = {}  # refresh token -> used
        self.first_access, self.first_refresh = self._new_pair()
        self.followers: set[str] = set()
        self.interacted: dict[str, float] = {}  # user -> last interaction (time.time())
        self.calls: list[Call] = []
        self.delay = 0.0  # seconds message/cs waits before answering
        self.refresh_answer: dict | None = None  # a forced answer to the next refreshes
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.oauth_url = f"{self.url}/v4/oa/access_token"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test controls ---------------------------------------------------------------------------

    def settings(self, **extra) -> dict:
        """The bot's settings for this OA (the first pair, as an operator copies it from the API explorer)."""
        return dict(zalo_oa_app_id=self.app_id, zalo_oa_app_secret=self.app_secret,
                    zalo_oa_secret_key=self.oa_secret_key, zalo_oa_access_token=self.first_access,
                    zalo_oa_refresh_token=self.first_refresh, zalo_oa_api_base_url=self.url,
                    zalo_oa_oauth_url=self.oauth_url) | extra

    def fail(self, *codes: int) -> None:
        """The next message/cs calls answer these error codes, in turn."""
        with self._lock:
            self._failures.extend(codes)

    def revoke(self, token: str) -> None:
        self.access.pop(token, None)

    def text(self, user: str, text: str, msg_id: str | None = None) -> dict:
        return self._event("user_send_text", user, {"msg_id": msg_id or self._msg_id(), "text": text})

    def attachment(self, user: str, kind: str = "image") -> dict:
        payload = {"url": "https://example.org/x", "thumbnail": "https://example.org/t"}
        message = {"msg_id": self._msg_id(), "attachments": [{"type": kind, "payload": payload}]}
        return self._event(f"user_send_{kind}", user, message)

    def follow(self, user: str, name: str = "follow") -> dict:
        return {"app_id": self.app_id, "oa_id": self.oa_id, "user_id_by_app": f"app-{user}", "event_name": name,
                "source": "testing", "follower": {"id": user}, "timestamp": str(int(time.time() * 1000) + next(self._ids))}

    def deliver(self, url: str, event: dict | bytes, mac: str | None = None, raw: bytes | None = None) -> httpx.Response:
        """POST an event as Zalo does: the exact bytes it signs, `X-ZEvent-Signature: mac=...` (a test may give
        its own mac, "" for none). A delivered user event counts as the user's interaction."""
        body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
        if mac is None:
            mac = self.sign(body, str(event.get("timestamp", "")) if isinstance(event, dict) else "")
        headers = {"Content-Type": "application/json"} | ({"X-ZEvent-Signature": f"mac={mac}"} if mac else {})
        if isinstance(event, dict):
            user = (event.get("sender") or event.get("follower") or {}).get("id")
            if user and event.get("event_name") == "unfollow":
                self.followers.discard(user)
            elif user:
                self.followers.add(user)
                self.interacted[user] = time.time()
        return httpx.post(url, content=body, headers=headers, timeout=10)

    def sign(self, body: bytes, timestamp: str) -> str:
        return hashlib.sha256(self.app_id.encode() + body + timestamp.encode() + self.oa_secret_key.encode()).hexdigest()

    def sends(self, user: str | None = None, ok: bool = True) -> list[Call]:
        return [c for c in list(self.calls) if c.path.endswith("/message/cs") and (c.answer["error"] == 0) == ok
                and (user is None or c.body.get("recipient", {}).get("user_id") == user)]

    def texts(self, user: str | None = None) -> list[str]:
        return [c.body["message"]["text"] for c in self.sends(user)]

    def refreshes(self) -> list[Call]:
        return [c for c in list(self.calls) if c.path.endswith("/access_token")]

    # -- the API ---------------------------------------------------------------------------------

    def _new_pair(self) -> tuple[str, str]:
        access, refresh = f"AT-{secrets.token_urlsafe(24)}", f"RT-{secrets.token_urlsafe(24)}"
        self.access[access] = time.time() + self.expires_in
        self.refresh_tokens[refresh] = False
        return access, refresh

    def _msg_id(self) -> str:
        return secrets.token_hex(16)

    def _event(self, name: str, user: str, message: dict) -> dict:
        return {"app_id": self.app_id, "user_id_by_app": f"app-{user}", "event_name": name,
                "sender": {"id": user}, "recipient": {"id": self.oa_id}, "message": message,
                "timestamp": str(int(time.time() * 1000) + next(self._ids))}

    def _send(self, token: str, body: dict) -> dict:
        if self.delay:
            time.sleep(self.delay)
        expires = self.access.get(token)
        if expires is None:
            return {"error": -216, "message": "Access token is invalid"}
        if expires <= time.time():
            return {"error": -220, "message": "Access token has expired"}
        with self._lock:
            if self._failures:
                code = self._failures.pop(0)
                return {"error": code, "message": f"induced error {code}"}
        recipient, message = body.get("recipient"), body.get("message")
        if not isinstance(recipient, dict) or not recipient.get("user_id") or not isinstance(message, dict):
            return {"error": -201, "message": "Parameters are invalid"}
        text = message.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 2000:
            return {"error": -201, "message": "Text must be 1-2000 characters"}
        attachment = message.get("attachment")
        if attachment is not None:
            buttons = (attachment.get("payload") or {}).get("buttons") if isinstance(attachment, dict) else None
            if attachment.get("type") != "template" or not isinstance(buttons, list) or not 1 <= len(buttons) <= 5 or \
                    any(not b.get("title") or len(b["title"]) > 100 for b in buttons):
                return {"error": -201, "message": "Invalid template"}
        user = recipient["user_id"]
        if user not in self.followers:
            return {"error": -213, "message": "User has not followed OA"}
        if time.time() - self.interacted.get(user, 0.0) > WEEK:
            return {"error": -230, "message": "User has not interacted with the OA in the past 7 days"}
        quota = "reply" if recipient.get("message_id") else "proactive"
        return {"error": 0, "message": "Success",
                "data": {"message_id": self._msg_id(), "user_id": user, "quota": {"quota_type": quota}}}

    def _refresh(self, headers: dict, form: dict) -> dict:
        if self.refresh_answer is not None:
            return self.refresh_answer
        if headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return {"error": -14002, "error_name": "Invalid app", "error_description": "App id or secret key is invalid"}
        token = form.get("refresh_token", "")
        if form.get("grant_type") != "refresh_token" or token not in self.refresh_tokens:
            return {"error": -14014, "error_name": "Invalid refresh token",
                    "error_description": "Refresh token is invalid", "error_reason": "refresh token not found"}
        with self._lock:
            if self.refresh_tokens[token]:
                return {"error": -14019, "error_name": "Refresh token used",
                        "error_description": "Refresh token has been used", "error_reason": "single use"}
            self.refresh_tokens[token] = True
            access, refresh = self._new_pair()
        return {"access_token": access, "refresh_token": refresh, "expires_in": str(self.expires_in)}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == "/v3.0/oa/message/cs":
                    try:
                        body = json.loads(raw or b"{}")
                    except ValueError:
                        body = {}
                    body = body if isinstance(body, dict) else {}
                    answer = fake._send(headers.get("access_token", ""), body)
                elif self.path == "/v4/oa/access_token":
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    answer = fake._refresh(headers, body)
                else:
                    body, answer = {}, {"error": -404, "message": "Not found"}
                fake.calls.append(Call(self.path, headers, body, answer))
                data = json.dumps(answer).encode()
                try:
                    self.send_response(200)  # errors too: the body says what happened
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        return Handler
