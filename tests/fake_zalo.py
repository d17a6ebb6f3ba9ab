"""A fake Zalo Bot Platform API: a real HTTP server on 127.0.0.1 that the real client talks to.

It answers `POST /bot{token}/{method}` like the platform (one update per getUpdates, 408 when none came),
records every call, lets a test inject updates, induce errors, and deliver updates to a registered webhook.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# What getUpdates answers when nothing came, in turn: the platform's 408 and the "empty result" variants.
IDLE_ANSWERS = [
    (200, {"ok": False, "error_code": 408, "description": "Request timeout"}),
    (200, {"ok": True, "result": {}}),
    (200, {"ok": True, "result": None}),
    (408, {"ok": False, "error_code": 408, "description": "Request timeout"}),
]


@dataclass
class Call:
    method: str
    params: dict
    ok: bool
    status: int  # the HTTP status answered
    at: float = field(default_factory=time.monotonic)


def wait_for(predicate, timeout: float = 20.0, what: str = ""):
    """Poll until `predicate()` is truthy and return its value; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting {what}")


class FakeZalo:
    def __init__(self, token: str, max_wait: float = 0.3) -> None:
        self.token = token
        self.max_wait = max_wait  # the longest a getUpdates waits, whatever timeout it asks
        self.calls: list[Call] = []
        self.webhook: dict = {}
        self._updates: queue.Queue[dict] = queue.Queue()
        self._failures: dict[str, list[int]] = {}
        self._idle = itertools.cycle(IDLE_ANSWERS)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test controls ---------------------------------------------------------------------------

    def message(self, text: str = "", user: str = "u1", event: str = "message.text.received",
                name: str = "Bác Ba") -> dict:
        """An update as the platform shapes it (string ids, date in milliseconds)."""
        n = next(self._ids)
        msg = {"from": {"id": user, "display_name": name, "is_bot": False},
               "chat": {"id": user, "chat_type": "PRIVATE"},
               "message_id": f"m{n:08x}", "date": int(time.time() * 1000)}
        if event == "message.text.received":
            msg["text"] = text
        return {"event_name": event, "message": msg}

    def inject(self, update: dict) -> None:
        self._updates.put(update)

    def fail(self, method: str, times: int, status: int = 500) -> None:
        """The next `times` calls of `method` answer HTTP `status` with an error body."""
        with self._lock:
            self._failures.setdefault(method, []).extend([status] * times)

    def deliver(self, update: dict, secret: str | None = None) -> httpx.Response:
        """POST an update to the registered webhook, as the platform does (header X-Bot-Api-Secret-Token)."""
        secret = self.webhook["secret_token"] if secret is None else secret
        headers = {"X-Bot-Api-Secret-Token": secret} if secret else {}
        return httpx.post(self.webhook["url"], json=update, headers=headers, timeout=10)

    def sent(self, chat: str | None = None) -> list[str]:
        """Texts accepted by sendMessage (or sendPhoto captions), optionally to one chat."""
        return [c.params.get("text", c.params.get("caption", "")) for c in list(self.calls)
                if c.ok and c.method in ("sendMessage", "sendPhoto") and (chat is None or c.params["chat_id"] == chat)]

    def of(self, method: str) -> list[Call]:
        return [c for c in list(self.calls) if c.method == method]

    def wait_for(self, predicate, timeout: float = 20.0):
        return wait_for(predicate, timeout, f"(last calls: {[(c.method, c.status) for c in self.calls][-10:]})")

    # -- the API ---------------------------------------------------------------------------------

    def _answer(self, method: str, params: dict) -> tuple[int, dict]:
        with self._lock:
            failures = self._failures.get(method)
            status = failures.pop(0) if failures else 0
        if status:
            return status, {"ok": False, "error_code": status, "description": "Internal Server Error"}
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": "1459232241454765289", "account_name": "bot.test",
                                                "account_type": "BASIC", "can_join_groups": False}}
        if method == "getUpdates":
            try:
                wait = min(float(params.get("timeout", 30)), self.max_wait)
                return 200, {"ok": True, "result": self._updates.get(timeout=wait)}
            except queue.Empty:
                return next(self._idle)
        if method in ("sendMessage", "sendPhoto"):
            text = params.get("text") if method == "sendMessage" else params.get("caption", "x")
            if not params.get("chat_id") or not isinstance(text, str) or not 1 <= len(text) <= 2000:
                return 200, {"ok": False, "error_code": 400, "description": "text must be 1-2000 characters"}
            if method == "sendPhoto" and not params.get("photo"):
                return 200, {"ok": False, "error_code": 400, "description": "photo is required"}
            sent = {"message_id": f"s{next(self._ids):08x}", "date": int(time.time() * 1000)}
            return 200, {"ok": True, "result": sent}
        if method == "sendChatAction":
            if params.get("action") not in ("typing", "upload_photo") or not params.get("chat_id"):
                return 200, {"ok": False, "error_code": 400, "description": "bad action"}
            return 200, {"ok": True}
        if method == "setWebhook":
            if not str(params.get("url", "")).startswith("http") or not 8 <= len(params.get("secret_token", "")) <= 256:
                return 200, {"ok": False, "error_code": 400, "description": "bad url or secret_token"}
            self.webhook = {"url": params["url"], "secret_token": params["secret_token"]}
            return 200, {"ok": True, "result": {"url": params["url"], "updated_at": int(time.time() * 1000)}}
        if method == "getWebhookInfo":
            return 200, {"ok": True, "result": {"url": self.webhook.get("url", ""), "updated_at": int(time.time() * 1000)}}
        if method == "deleteWebhook":
            self.webhook = {}
            return 200, {"ok": True, "result": {"url": "", "updated_at": int(time.time() * 1000)}}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                prefix, _, method = self.path.rpartition("/")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    params = json.loads(body or b"{}")
                except ValueError:
                    params = {}
                if prefix != f"/bot{fake.token}":
                    status, answer = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                else:
                    status, answer = fake._answer(method, params if isinstance(params, dict) else {})
                fake.calls.append(Call(method, params, answer.get("ok") is True, status))
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a long poll cancelled at stop)

            def log_message(self, *args):
                pass

        return Handler
