"""Database connection and schema migrations (Alembic), SQLite by default, PostgreSQL by URL.

A database that stops answering must not hold the rest of the bot: every connection has a connect
timeout, a statement timeout (SQLite: a busy timeout) and, on PostgreSQL, TCP keepalives and a TCP
user timeout, so a dead host or a dropped link fails a call instead of waiting on the kernel's
retries. Async code runs database work on the database's own bounded thread pool (`Database.run`),
so calls stuck on a stalled database fill that pool only: the engine (`/api/ask`) and the health
check keep their threads.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
CONNECT_TIMEOUT = 10.0  # seconds; DATABASE_CONNECT_TIMEOUT
STATEMENT_TIMEOUT = 15.0  # seconds; DATABASE_STATEMENT_TIMEOUT
THREADS = 8  # DATABASE_THREADS
T = TypeVar("T")


def make_engine(url: str, connect_timeout: float = CONNECT_TIMEOUT, statement_timeout: float = STATEMENT_TIMEOUT,
                pool_size: int = THREADS) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # `timeout` is SQLite's busy timeout: a writer waits this long for the lock, then fails
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": statement_timeout})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # durable and concurrent enough for one machine
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # Without these, a database host that drops packets holds every request for minutes (the kernel's TCP
    # retries): libpq's connect timeout (whole seconds, at least 2); keepalives on idle pooled connections
    # (a dead peer found within about 10 + 3 x 5 s); a TCP user timeout on unacknowledged data.
    seconds = max(2, math.ceil(connect_timeout))
    # overflow: a message holds a second connection for its chat lock (Database.chat_lock) while it is handled
    engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2 * pool_size,
                           pool_timeout=statement_timeout, connect_args={
                               "connect_timeout": seconds, "keepalives": 1, "keepalives_idle": 10,
                               "keepalives_interval": 5, "keepalives_count": 3,
                               "tcp_user_timeout": int(1000 * max(statement_timeout, seconds))})

    @event.listens_for(engine, "connect")
    def _statement_timeout(conn, _record):  # the server cancels any statement running longer
        with conn.cursor() as cur:
            cur.execute(f"SET statement_timeout = {int(statement_timeout * 1000)}")
        conn.commit()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # workers starting together on one database migrate in turn
            connection.execute(text("SELECT pg_advisory_xact_lock(72010001)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")  # independent branches (e.g. outbox, relay) may coexist


class Database:
    """An engine and a session factory: one session per unit of work."""

    @classmethod
    def from_settings(cls, settings) -> Database:
        """The configured database (DATABASE_URL and the DATABASE_* timeouts), migrated to every head."""
        return cls(settings.database_url, connect_timeout=settings.database_connect_timeout,
                   statement_timeout=settings.database_statement_timeout, threads=settings.database_threads)

    def __init__(self, url: str, run_migrations: bool = True, connect_timeout: float = CONNECT_TIMEOUT,
                 statement_timeout: float = STATEMENT_TIMEOUT, threads: int = THREADS) -> None:
        self.url = url
        self.statement_timeout = statement_timeout
        self.engine = make_engine(url, connect_timeout, statement_timeout, threads)
        if run_migrations:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
        self._unlocks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-unlock")  # never waits on a lock
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args)` on the database's own bounded thread pool (for async code that touches the database)."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, partial(fn, *args, **kwargs))

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @asynccontextmanager
    async def chat_lock(self, key: str) -> AsyncIterator[None]:
        """One message of a chat at a time, in arrival order: within this process an asyncio lock; across
        processes on PostgreSQL an advisory lock (held on a connection of its own while the message is
        handled and answered; PostgreSQL grants waiters in turn). At most one task per chat and process
        waits for the advisory lock, bounded by the statement timeout; past it the message goes on
        unlocked (answered, maybe out of order) rather than not at all."""
        local = self._chat_locks.setdefault(key, asyncio.Lock())
        async with local:
            if self.engine.dialect.name != "postgresql":
                yield
                return
            try:
                connection = await self.run(_advisory_lock, self.engine, key)
            except SQLAlchemyError as exc:
                log.warning("chat lock: not taken (%s); handling the message without it", type(exc).__name__)
                connection = None
            try:
                yield
            finally:
                if connection is not None:
                    await asyncio.get_running_loop().run_in_executor(self._unlocks, _advisory_unlock, connection, key)


def _lock_id(key: str) -> int:
    return zlib.crc32(key.encode()) - 2**31  # a stable signed 32-bit id (advisory locks take a bigint)


def _advisory_lock(engine: Engine, key: str) -> Connection:
    connection = engine.connect()
    try:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _lock_id(key)})
        connection.commit()  # session-level lock: it outlives this transaction
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    return connection


def _advisory_unlock(connection: Connection, key: str) -> None:
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _lock_id(key)})
        connection.commit()
        connection.close()
    except SQLAlchemyError:  # the connection is gone, and its lock with it
        connection.invalidate()
        connection.close()
