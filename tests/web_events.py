"""A reader of the web chat's live stream (/api/events) for tests and the benchmark: a real HTTP client in a
thread that parses Server-Sent Events as a browser does (id, event, data, comments)."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx


class EventReader:
    def __init__(self, base: str, cookie: str, last_event_id: int | None = None, after: int | None = None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.comments: list[tuple[float, str]] = []
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self.last_id: int | None = None
        self._closed = threading.Event()
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        params = {"after": str(after)} if after is not None else {}
        self._client = httpx.Client(base_url=base, cookies={"bdhvs_visitor": cookie}, timeout=httpx.Timeout(5, read=60))
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(headers, params), daemon=True)
        self._thread.start()
        assert self._started.wait(15), "the stream did not open"

    def _read(self, headers: dict, params: dict) -> None:
        try:
            with self._client.stream("GET", "/api/events", headers=headers, params=params) as response:
                self.status, self.headers = response.status_code, response.headers
                self._started.set()
                if response.status_code != 200:
                    return
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._closed.is_set():
                        return
                    if line.startswith(":"):
                        self.comments.append((time.monotonic(), line))
                    elif not line:
                        if "data" in fields:
                            message = json.loads(fields["data"])
                            self.last_id = int(fields.get("id", message["id"]))
                            self.events.put((time.monotonic(), message))
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value[1:] if value.startswith(" ") else value
        except (httpx.HTTPError, RuntimeError):  # closed by the test
            self._started.set()

    def next(self, timeout: float = 10.0) -> dict:
        return self.events.get(timeout=timeout)[1]

    def timed(self, timeout: float = 10.0) -> tuple[float, dict]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self._closed.set()
        self._client.close()
        self._thread.join(5)
