"""``db setup``, ``db add-user`` and ``whoami`` on SQLite and on a real PostgreSQL server; a statement the
server refuses for lack of privilege is a message and exit code 1, never a traceback."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from shopctrl_desktop.cli.db import SQLITE_NO_ROLES
from shopctrl_desktop.domain.roles import Role, group_role_name
from shopctrl_desktop.store import audit
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_cli import Dir


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-clidb-") as cluster:
        yield cluster


def run(d: Dir, url: str | None, *args: str, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return d.run(*(("--database-url", url) if url else ()), *args)


def test_on_sqlite_setup_makes_the_schema_and_says_roles_do_not_apply(tmp_path, capsys) -> None:
    d = Dir(tmp_path / "data", capsys)
    code, out, _ = d.run("db", "setup")
    assert code == 0 and "schema: up to date" in out and SQLITE_NO_ROLES in out
    code, out, _ = d.run("whoami", "--json")
    me = json.loads(out)
    assert code == 0 and me["user"] == audit.os_user() and me["role"] == "admin"
    assert "editTriggers" in me["may"] and me["workstation"] == audit.workstation()
    code, _, err = d.run("db", "add-user", "alice", "--role", "support")
    assert code == 2 and "PostgreSQL" in err


def test_on_postgresql_setup_add_user_whoami_and_a_refusal_in_words(
    postgres, tmp_path, capsys, monkeypatch
) -> None:
    database = postgres.new_database()
    name = make_url(database.url).database
    database.dispose()
    owner_url = f"postgresql+psycopg://shop@/{name}?host={postgres.base}&port={postgres.port}"
    owner = Dir(tmp_path / "owner", capsys)
    code, out, err = run(owner, owner_url, "db", "setup")
    assert code == 0, err
    assert f"created role {group_role_name(name, Role.SUPPORT)}" in out
    assert "roles: privileges set" in out
    code, out, _ = run(owner, owner_url, "db", "setup")
    assert code == 0 and "created role" not in out and "roles: already up to date" in out

    user = f"alice_{uuid.uuid4().hex[:6]}"
    code, out, err = run(
        owner,
        owner_url,
        "db",
        "add-user",
        user,
        "--role",
        "support",
        stdin="s3cret\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0 and f"added user {user} with role support" in out, err
    code, _, err = run(
        owner, owner_url, "db", "add-user", user, "--role", "admin", stdin="x\n", monkeypatch=monkeypatch
    )
    assert code == 1 and "already exists" in err
    code, _, err = run(
        owner,
        owner_url,
        "db",
        "add-user",
        'bob"; DROP TABLE triggers; --',
        "--role",
        "admin",
        stdin="x\n",
        monkeypatch=monkeypatch,
    )
    assert code == 2 and "may hold only" in err
    code, out, _ = run(owner, owner_url, "audit", "list", "--json", "--what", "user")
    (entry,) = json.loads(out)
    assert entry["action"] == "user.added" and entry["subject"]["name"] == user and "s3cret" not in out

    support_url = owner_url.replace("shop@", f"{user}@")
    support = Dir(tmp_path / "support", capsys)
    code, out, _ = run(support, support_url, "whoami")
    assert code == 0 and f"user: {user}" in out and "role: support" in out
    document = {
        "triggers": [{"title": "Mine", "event": "OrderChanged", "actions": [{"url": "https://x.example/"}]}]
    }
    (tmp_path / "t.json").write_text(json.dumps(document))
    code, _, err = run(support, support_url, "triggers", "import", str(tmp_path / "t.json"))
    assert code == 1 and "the database refused this" in err and f"'{user}'" in err
    assert "Traceback" not in err and "whoami" in err
    code, out, err = run(support, support_url, "triggers", "list")  # no secret read: allowed
    assert code == 0 and "Mine" not in out, err
