"""A PostgreSQL database that stops answering on open connections (tests/db_proxy.py, stall mode) must not
slow what needs no database, and the health check must say so at once: web chats waiting on the database
fill the database's own thread pool only; `/api/ask` keeps its speed; `/healthz` answers "degraded"
within its timeout; everything recovers when the database answers again."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from bot.areas import load_areas
from bot.conversation.service import ConversationService
from bot.storage.db import Database
from tests.conftest import KNOWLEDGE
from tests.db_proxy import proxied
from tests.pg import fresh_database
from tests.web_server import QUIZ, serve

QUESTION = "kich hoat vneid muc 2 o dau"
CHATS = 12  # more than asyncio's default thread pool on a 2-core machine (6)


@pytest.fixture
def stalling():
    with fresh_database("db_stall") as url, proxied(url) as (proxy, through):
        yield proxy, through


def test_a_stalled_database_slows_neither_api_ask_nor_the_health_check(small_engine, stalling):
    proxy, url = stalling
    db = Database(url)
    service = ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=1000)
    visitors = [f"{n:032x}" for n in range(CHATS)]
    with serve(service) as base, ThreadPoolExecutor(max_workers=CHATS) as pool:
        for v in visitors:  # every visitor known, the connection pool warm
            assert httpx.post(f"{base}/api/chat", json={"text": "/start"}, cookies={"bdhvs_visitor": v},
                              timeout=30).status_code == 200
        proxy.stall()
        started = time.monotonic()
        chats = [pool.submit(httpx.post, f"{base}/api/chat", json={"text": "/diem"}, cookies={"bdhvs_visitor": v},
                             timeout=120) for v in visitors]
        time.sleep(1.0)  # the chats are waiting on the database now
        t = time.monotonic()
        ask = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60)
        ask_seconds = time.monotonic() - t
        t = time.monotonic()
        health = httpx.get(f"{base}/healthz", timeout=60)
        health_seconds = time.monotonic() - t
        assert ask.status_code == 200 and ask.json()["answered"]
        assert ask_seconds < 3, f"/api/ask took {ask_seconds:.1f} s while the database stalled"
        assert health.status_code == 503 and health.json()["status"] == "degraded", health.text
        assert health_seconds < 5, f"/healthz took {health_seconds:.1f} s"
        assert not any(c.done() for c in chats)  # they do wait for the database
        time.sleep(max(0.0, 6 - (time.monotonic() - started)))
        proxy.resume()
        replies = [c.result() for c in chats]
        assert [r.status_code for r in replies] == [200] * CHATS
        assert httpx.get(f"{base}/healthz", timeout=10).json()["status"] == "ok"
    db.engine.dispose()


def test_postgresql_connections_carry_a_statement_timeout_and_keepalives():
    with fresh_database("db_timeouts") as url:
        db = Database(url, statement_timeout=1.5)
        with db.engine.connect() as c:
            assert c.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
            info = c.connection.dbapi_connection.info.get_parameters()
            assert info.get("keepalives") == "1" and int(info.get("tcp_user_timeout", 0)) > 0
            with pytest.raises(Exception, match="statement timeout"):
                c.execute(text("SELECT pg_sleep(5)"))
        db.engine.dispose()


def test_sqlite_waits_for_a_locked_database_no_longer_than_the_busy_timeout(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    holder, waiter = Database(url), Database(url, statement_timeout=1.0)
    with holder.engine.connect() as c:
        c.exec_driver_sql("BEGIN IMMEDIATE")  # another process holds the write lock
        started = time.monotonic()
        with pytest.raises(Exception, match="locked"):
            with waiter.engine.begin() as w:
                w.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert 0.8 < time.monotonic() - started < 5
        c.exec_driver_sql("ROLLBACK")
