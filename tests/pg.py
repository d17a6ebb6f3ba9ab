"""A fresh PostgreSQL database of a test's own on the shared server (TEST_POSTGRES_URL), dropped afterwards."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

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
