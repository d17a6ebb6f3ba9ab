"""PostgreSQL for tests, on the shared server (TEST_POSTGRES_URL): a fresh database (`fresh_database`) or a fresh
schema (`database_fixture`: SQLite and PostgreSQL), each named after its test file and this process, so
concurrent runs never touch each other's tables, and dropped afterwards."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

from bot.storage.db import Database

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """Yield the URL of a new, empty database named after `prefix` and this process."""
    parts = urlsplit(PG_URL)
    name = f"{prefix}_{os.getpid()}"
    admin = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} ({exc}); .ci/run starts it (see README)")
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pg_schema(schema: str) -> str:
    """A fresh, empty schema `<schema>_<pid>` in the test database; the URL puts it first on the search path."""
    name = f"{schema}_{os.getpid()}"
    try:
        with psycopg.connect(PG_URL, connect_timeout=5, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            conn.execute(f"CREATE SCHEMA {name}")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} ({exc}); .ci/run starts it (see README)")
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{name}"


def drop_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, connect_timeout=5, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}_{os.getpid()} CASCADE")


def open_test_db(kind: str, tmp_path, schema: str) -> Database:
    """A migrated database: SQLite in tmp_path, or PostgreSQL in its own fresh schema."""
    return Database(f"sqlite:///{tmp_path / 'bot.db'}" if kind == "sqlite" else pg_schema(schema))


def database_fixture(schema: str):
    """A `db` fixture over SQLite and PostgreSQL (in `schema`, so test files never drop each other's tables)."""

    @pytest.fixture(params=["sqlite", "postgresql"])
    def db(request, tmp_path):
        database = open_test_db(request.param, tmp_path, schema)
        yield database
        database.engine.dispose()
        if request.param == "postgresql":
            drop_schema(schema)

    return db
