"""A fake push API for the campaign senders: a real HTTP server on 127.0.0.1 answering Telegram-shaped
`POST /bot{token}/{method}` (sendMessage, sendPoll; Zalo's sendMessage has the same shape).

It counts every delivery per chat, can answer the next calls to a chat with 429 / 403 / 500, and can run
a hook when a request arrives, before it is processed (the crash test kills the sender there).
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

DESCRIPTIONS = {429: "Too Many Requests: retry after {retry_after}", 403: "Forbidden: bot was blocked by the user",
                500: "Internal Server Error", 400: "Bad Request: chat not found"}


class FakePush:
    def __init__(self, token: str = "42:fake-token") -> None:
        self.token = token
        self.delivered: list[tuple[str, str, dict]] = []  # (method, chat_id, params), in order
        self.attempts: Counter[str] = Counter()  # every request per chat, failed ones too
        self.times: list[float] = []  # monotonic time of each delivery
        self.failed: list[tuple[str, int, float]] = []  # (chat, status answered, when) for induced failures
        self.on_request: Callable[[str, dict], bool] | None = None  # False: drop the request unanswered
        self._script: dict[str, list[tuple[int, int]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/bot"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, chat: str, status: int, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls for `chat` answer `status`."""
        with self._lock:
            self._script.setdefault(str(chat), []).extend([(status, retry_after)] * times)

    def per_chat(self) -> Counter[str]:
        with self._lock:
            return Counter(chat for _, chat, _ in self.delivered)

    def wait_for(self, predicate: Callable[[], object], timeout: float = 20.0, what: str = "") -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := predicate():
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; {len(self.delivered)} delivered")

    def _answer(self, method: str, params: dict) -> tuple[int, dict] | None:
        if self.on_request is not None and self.on_request(method, params) is False:
            return None
        chat = str(params.get("chat_id", ""))
        with self._lock:
            self.attempts[chat] += 1
            script = self._script.get(chat)
            if script:
                status, retry_after = script.pop(0)
                self.failed.append((chat, status, time.monotonic()))
                body = {"ok": False, "error_code": status, "description": DESCRIPTIONS[status].format(retry_after=retry_after)}
                if status == 429:
                    body["parameters"] = {"retry_after": retry_after}
                return status, body
            if method not in ("sendMessage", "sendPoll") or not chat:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: unsupported"}
            self.delivered.append((method, chat, params))
            self.times.append(time.monotonic())
            result = {"message_id": next(self._ids), "chat": {"id": chat}, "date": int(time.time())}
            if method == "sendPoll":
                result["poll"] = {"id": f"poll-{result['message_id']}", "question": params["question"]}
            return 200, {"ok": True, "result": result}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # headers and body go out as two writes: no Nagle delay between them
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                answer = fake._answer(self.path[len(prefix):], json.loads(body or b"{}"))
                if answer is None:
                    self.close_connection = True
                    return
                self._reply(*answer)

            def _reply(self, status: int, answer: dict) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        return Handler
