"""A fake Telegram Bot API: a real HTTP server on 127.0.0.1 that the real python-telegram-bot talks to.

It answers `{base}{token}/{method}` like api.telegram.org (Bot API 9.6 shapes), serves injected updates
through getUpdates long polling, records every call, and can be told to fail the next calls of a
method with 429 (retry_after), 403, 400 or 500, or to fail every call of a method until told to recover
(`outage`: 500, 502 and hanging requests in turn, as during a Telegram incident).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl

BOT = {"id": 7000001, "is_bot": True, "first_name": "Trợ lý BDHVS", "username": "bdhvs_test_bot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = ("reply_markup", "options", "correct_option_ids", "allowed_updates", "reply_parameters", "entities",
               "link_preview_options")
FAILURES = {
    429: "Too Many Requests: retry after {retry_after}",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    400: "Bad Request: chat not found",
}
BAD_GATEWAY_PAGE = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog, read when the socket opens: bursts of connections are not refused


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


class FakeTelegram:
    """The server's state; `start()` serves it on a free port, `url` is the base URL to give the bot."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._poll_ids = itertools.count(1)
        self._failures: dict[str, list[tuple[int, int]]] = {}
        self._outages: dict[str, tuple[itertools.cycle, float]] = {}  # method -> (faults in turn, hang seconds)
        self.faulted: list[tuple[Call, int | str]] = []  # calls an outage refused, with the fault they got
        self._closed = threading.Event()
        self._cond = threading.Condition()
        self.webhook: dict[str, Any] = {}
        self.on_call: Callable[[Call], None] | None = None  # told of every recorded call (quickly: the lock is held)
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/bot"

    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()  # hanging requests end now
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # -- test controls -------------------------------------------------------------------------

    def fail(self, method: str, status: int, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with `status` (429, 403, 400 or 500)."""
        with self._cond:
            self._failures.setdefault(method, []).extend([(status, retry_after)] * times)

    def outage(self, method: str = "sendMessage", faults: tuple[int | str, ...] = (500, 502, "hang"),
               hang: float = 3.0) -> None:
        """Until `recover()`, every call of `method` fails with the next of `faults`: 500 (Telegram's JSON
        error), 502 (the HTML page of the proxy in front of the API) or "hang" (the request is held `hang`
        seconds, then the connection is closed unanswered: a timeout for a client waiting less). Such
        calls go to `faulted`, not to `calls`."""
        with self._cond:
            self._outages[method] = (itertools.cycle(faults), hang)

    def recover(self, method: str = "sendMessage") -> None:
        with self._cond:
            self._outages.pop(method, None)
            self._cond.notify_all()

    def faults_of(self, method: str, chat_id: int | None = None) -> list[tuple[Call, int | str]]:
        with self._cond:
            return [(c, f) for c, f in self.faulted if c.method == method
                    and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def _fault(self, method: str, params: dict[str, Any]) -> tuple[int | str, float] | None:
        with self._cond:
            if method not in self._outages:
                return None
            faults, hang = self._outages[method]
            fault = next(faults)
            self.faulted.append((Call(method, params, time.monotonic()), fault))
            self._cond.notify_all()
            return fault, hang

    def inject(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self._cond:
            update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._cond.notify_all()
        return update["update_id"]

    def new_update_id(self) -> int:
        return next(self._update_ids)

    def message(self, user: int, text: str = "", *, chat: int | None = None, chat_type: str = "private",
                first_name: str = "Lan", reply_to_bot: bool = False, **content: Any) -> dict[str, Any]:
        """A `message` update body: text (with bot_command/mention entities) or other content (sticker=...)."""
        chat_id = chat if chat is not None else user
        name = {"first_name": first_name} if chat_type == "private" else {"title": "Nhóm xã"}
        chat_obj = {"id": chat_id, "type": chat_type, **name}
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat_obj,
                               "from": {"id": user, "is_bot": False, "first_name": first_name, "language_code": "vi"}}
        if text:
            msg["text"] = text
            entities = _entities(text)
            if entities:
                msg["entities"] = entities
        if reply_to_bot:
            msg["reply_to_message"] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                       "chat": chat_obj, "from": BOT, "text": "…"}
        msg.update(content)
        return {"message": msg}

    def callback(self, user: int, data: str, *, chat: int | None = None) -> dict[str, Any]:
        chat_id = chat if chat is not None else user
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private", "first_name": "Lan"}, "from": BOT, "text": "…"}
        return {"callback_query": {"id": str(next(self._poll_ids) * 1000 + user), "chat_instance": "ci",
                                   "from": {"id": user, "is_bot": False, "first_name": "Lan"},
                                   "message": message, "data": data}}

    def poll_answer(self, user: int, poll_id: str, option: int) -> dict[str, Any]:
        return {"poll_answer": {"poll_id": poll_id, "user": {"id": user, "is_bot": False, "first_name": "Lan"},
                                "option_ids": [option], "option_persistent_ids": [f"{poll_id}-{option}"]}}

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method
                    and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked on every call the server receives)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
                self._cond.wait(min(remaining, 0.2))

    def wait_calls(self, method: str, count: int = 1, chat_id: int | None = None, timeout: float = 15.0) -> list[Call]:
        def enough() -> list[Call] | None:
            calls = self.calls_of(method, chat_id)
            return calls if len(calls) >= count else None

        return self.wait_for(enough, timeout)

    # -- the API -------------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            if method != "getUpdates":
                self.calls.append(Call(method, params, time.monotonic()))
                self._cond.notify_all()
                if self.on_call is not None:
                    self.on_call(self.calls[-1])
            pending = self._failures.get(method)
            if pending:
                status, retry_after = pending.pop(0)
                description = FAILURES[status].format(retry_after=retry_after)
                body = {"ok": False, "error_code": status, "description": description}
                if status == 429:
                    body["parameters"] = {"retry_after": retry_after}
                return status, body
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        return 200, {"ok": True, "result": handler(params)}

    def _api_getMe(self, p):
        return BOT

    def _api_getUpdates(self, p):
        offset, timeout = int(p.get("offset") or 0), float(p.get("timeout") or 0)
        limit = int(p.get("limit") or 100)
        deadline = time.monotonic() + min(timeout, 5.0)  # short, so that a stopping bot does not wait long
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return self._updates[:limit]

    def _sent(self, p, **content) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        chat.update({"first_name": "Lan"} if chat_id > 0 else {"title": "Nhóm xã"})
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "from": BOT, **content}

    def _api_sendMessage(self, p):
        return self._sent(p, text=p["text"])

    def _api_editMessageText(self, p):
        return self._sent(p, text=p["text"])

    def _api_sendPoll(self, p):
        poll_id = f"poll-{next(self._poll_ids)}"
        texts = [o["text"] if isinstance(o, dict) else o for o in p["options"]]
        options = [{"persistent_id": f"{poll_id}-{i}", "text": t, "voter_count": 0} for i, t in enumerate(texts)]
        poll = {"id": poll_id, "question": p["question"], "options": options, "total_voter_count": 0,
                "is_closed": False, "is_anonymous": p.get("is_anonymous") != "false", "type": p.get("type", "regular"),
                "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}
        if poll["type"] == "quiz":
            poll["correct_option_ids"] = p.get("correct_option_ids") or [int(p.get("correct_option_id", 0))]
            poll["explanation"] = p.get("explanation", "")
        return self._sent(p, poll=poll)

    def _api_answerCallbackQuery(self, p):
        return True

    def _api_sendChatAction(self, p):
        return True

    def _api_setWebhook(self, p):
        self.webhook = {"url": p["url"], "secret_token": p.get("secret_token", "")}
        return True

    def _api_deleteWebhook(self, p):
        self.webhook = {}
        return True

    def _api_getWebhookInfo(self, p):
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    params = _params(self.headers.get("Content-Type", ""), body)
                except ValueError as e:
                    return self._reply(400, {"ok": False, "error_code": 400, "description": f"Bad Request: {e}"})
                if fault := fake._fault(self.path[len(prefix):], params):
                    return self._fail(*fault)
                status, answer = fake._call(self.path[len(prefix):], params)
                self._reply(status, answer)

            do_GET = do_POST

            def _fail(self, fault: int | str, hang: float) -> None:
                if fault == "hang":
                    fake._closed.wait(hang)
                    self.close_connection = True  # closed without an answer
                elif fault == 502:
                    self._reply(502, BAD_GATEWAY_PAGE, "text/html")
                else:
                    self._reply(fault, {"ok": False, "error_code": fault, "description": FAILURES[fault]})

            def _reply(self, status: int, answer: dict[str, Any] | bytes, content_type: str = "application/json") -> None:
                data = answer if isinstance(answer, bytes) else json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a bot stopping in the middle of a long poll)

            def log_message(self, *args) -> None:
                pass

        return Handler


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """The call's parameters from a JSON or form-encoded body (python-telegram-bot sends the latter,
    with non-string values JSON-encoded)."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise ValueError(f"unsupported body type {content_type!r}")
    params: dict[str, Any] = dict(parse_qsl(body.decode(), keep_blank_values=True))
    for key in JSON_FIELDS:
        if key in params:
            params[key] = json.loads(params[key])
    return params


def _entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities as Telegram computes them (offsets in UTF-16 code units)."""
    out = []
    for kind, pattern in (("bot_command", r"(?<!\S)/\w+(?:@\w+)?"), ("mention", r"(?<!\S)@\w{5,32}")):
        for m in re.finditer(pattern, text):
            offset = len(text[: m.start()].encode("utf-16-le")) // 2
            out.append({"type": kind, "offset": offset, "length": len(m.group().encode("utf-16-le")) // 2})
    return sorted(out, key=lambda e: e["offset"])
