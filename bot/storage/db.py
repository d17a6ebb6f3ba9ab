"""Database connection and schema migrations (Alembic), SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
CONNECT_TIMEOUT = 10.0  # seconds; DATABASE_CONNECT_TIMEOUT


def make_engine(url: str, connect_timeout: float = CONNECT_TIMEOUT) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

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
    # Without a connect timeout, a database host that drops packets holds every request for minutes
    # (the kernel's TCP retries); libpq counts whole seconds, at least 2.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": max(2, math.ceil(connect_timeout))})


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
        """The configured database (DATABASE_URL, DATABASE_CONNECT_TIMEOUT), migrated to every head."""
        return cls(settings.database_url, connect_timeout=settings.database_connect_timeout)

    def __init__(self, url: str, run_migrations: bool = True, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.url = url
        self.engine = make_engine(url, connect_timeout)
        if run_migrations:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
