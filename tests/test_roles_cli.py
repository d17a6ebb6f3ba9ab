"""`python -m bot role grant|revoke|list` in a subprocess, on SQLite and PostgreSQL, then used in chat."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from bot.conversation.service import ConversationService
from bot.relay.models import AuditEntry
from bot.storage.db import Database
from tests.conftest import ROOT
from tests.chat_helpers import AREAS, send
from tests.pg import pg_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'bot.db'}" if request.param == "sqlite" else pg_schema("relay_cli_test")


def role(url, *args):
    return subprocess.run(
        [sys.executable, "-m", "bot", "role", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DATABASE_URL": url},
    )


def test_grant_list_revoke_from_the_command_line(url, small_engine):
    first = role(url, "grant", "--channel", "telegram", "--user-id", "1001", "--role", "admin")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "granted: telegram:1001 admin all"
    team = role(url, "grant", "--channel", "telegram", "--user-id", "2002", "--role", "team", "--area", "quang-ngai/dak-bla")
    assert team.returncode == 0, team.stderr
    assert "already had" in role(url, "grant", "--channel", "telegram", "--user-id", "2002", "--role", "team", "--area", "dak bla").stdout
    role(url, "grant", "--channel", "zalo", "--user-id", "z-3", "--role", "team")
    listed = role(url, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "telegram:1001\tadmin\tall\ton duty",
        "telegram:2002\tteam\tquang-ngai/dak-bla\ton duty",
        "zalo:z-3\tteam\tall\ton duty",
    ]
    bad_role = role(url, "grant", "--channel", "telegram", "--user-id", "1", "--role", "king")
    bad_area = role(url, "grant", "--channel", "telegram", "--user-id", "1", "--role", "team", "--area", "atlantis")
    on_web = role(url, "grant", "--channel", "web", "--user-id", "visitor", "--role", "team")
    assert (bad_role.returncode, bad_area.returncode, on_web.returncode) == (2, 2, 2) and "unknown area" in bad_area.stderr

    db = Database(url)
    try:
        service = ConversationService(small_engine, db, [], AREAS)
        (box,) = send(service, "2002", "hopthu")
        assert "Hộp thư trống" in box.text  # the role granted from the CLI works in chat
        (listed,) = send(service, "1001", "vaitro")
        assert "telegram:2002" in listed.text and "phường Đắk Bla" in listed.text

        revoked = role(url, "revoke", "--channel", "zalo", "--user-id", "z-3", "--role", "team")
        assert revoked.returncode == 0 and "revoked 1" in revoked.stdout
        again = role(url, "revoke", "--channel", "zalo", "--user-id", "z-3")
        assert again.returncode == 1 and "no such role" in again.stderr
        assert "zalo:z-3" not in role(url, "list").stdout
        with db.session() as s:
            log = [(e.actor.split(":")[0], e.action, e.detail["user"]) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert log == [("cli", "grant", "telegram:1001"), ("cli", "grant", "telegram:2002"), ("cli", "grant", "zalo:z-3"),
                       ("cli", "revoke", "zalo:z-3")]
    finally:
        db.engine.dispose()
