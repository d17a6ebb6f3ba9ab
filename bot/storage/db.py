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
import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

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
    engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=4,
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
