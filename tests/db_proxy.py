"""A TCP proxy on 127.0.0.1 in front of PostgreSQL that a test switches between three modes:

- pass: forward both ways;
- refuse: cut every open connection and refuse new ones (PostgreSQL restarting, a host sending RST);
- stall: keep every connection open but forward nothing, in either direction; new connections are
  accepted and wait (a dropped link or a frozen server). Held bytes flow again on `resume()`, as TCP
  retransmission would deliver them once the link is back.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Iterator
from urllib.parse import urlsplit


class DbProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "pass"
        self.refused = 0
        self._flowing = threading.Event()
        self._flowing.set()
        self._live: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str) -> str:
        """`url` (a database on the target server) reached through this proxy."""
        parts = urlsplit(url)
        netloc = f"{parts.username}@127.0.0.1:{self.port}" if parts.username else f"127.0.0.1:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self.mode == "refuse":
                    self.refused += 1
                    client.close()
                    continue
                upstream = socket.create_connection(self.target)
                self._live.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                self._flowing.wait()  # stalled: nothing read, so nothing forwarded
                data = source.recv(65536)
                if not data:
                    break
                self._flowing.wait()
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def refuse(self) -> None:
        with self._lock:
            self.mode = "refuse"
            self._flowing.set()
            for s in self._live:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._live.clear()

    def stall(self) -> None:
        with self._lock:
            self.mode = "stall"
            self._flowing.clear()

    def resume(self) -> None:
        with self._lock:
            self.mode = "pass"
            self._flowing.set()

    def close(self) -> None:
        self.refuse()
        self.listener.close()


@contextlib.contextmanager
def proxied(url: str) -> Iterator[tuple[DbProxy, str]]:
    """A DbProxy in front of the server of `url`, and `url` through it."""
    parts = urlsplit(url)
    proxy = DbProxy((parts.hostname, parts.port or 5432))
    try:
        yield proxy, proxy.url(url)
    finally:
        proxy.close()
