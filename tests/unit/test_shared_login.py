"""store/shared_login.py without Qt: the connection check's words for each fault, on a real PostgreSQL server
that asks for passwords, and the command line reading a password the desktop app kept in the keyring."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shopctrl_desktop.cli.main import main as cli_main
from shopctrl_desktop.config import Settings, save_settings
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.store import roles, shared_login
from shopctrl_desktop.store.shared_login import SharedLoginError, check_shared_database
from tests.helpers.postgres import PostgresCluster, throwaway_postgres

OWNER_PASSWORD = "owner-pw-90aa"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-login-", password=OWNER_PASSWORD) as cluster:
        yield cluster


def url_for(cluster: PostgresCluster, database: str, user: str, password: str | None) -> str:
    url = shared_login.build_shared_url(str(cluster.base), cluster.port, database, user)
    return shared_login.with_password(url, password)


def owner_sql(cluster: PostgresCluster, statement: str, database: str = "postgres") -> None:
    dsn = f"dbname={database} user=shop password={OWNER_PASSWORD} host={cluster.base} port={cluster.port}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


def test_a_database_never_set_up_and_no_such_database(postgres) -> None:
    name = f"t_{uuid.uuid4().hex[:10]}"
    owner_sql(postgres, f"CREATE DATABASE {name}")
    check = check_shared_database(url_for(postgres, name, "shop", OWNER_PASSWORD), "os")
    assert not check.ok and "never set up" in check.message and "db setup" in check.message
    check = check_shared_database(url_for(postgres, "nosuch_db", "shop", OWNER_PASSWORD), "os")
    assert not check.ok and "no database 'nosuch_db'" in check.message
    check = check_shared_database(url_for(postgres, name, "shop", None), "os")
    assert not check.ok and "asks for a password" in check.message


def test_a_database_from_a_newer_version_and_a_support_login(postgres) -> None:
    owner = postgres.new_database()
    name = str(make_url(owner.url).database)
    login = f"anna_{uuid.uuid4().hex[:6]}"
    with owner.session() as s:
        roles.setup_roles(s)
    with owner.session() as s:
        roles.add_user(s, login, Role.SUPPORT, "anna-pw")
    check = check_shared_database(url_for(postgres, name, login, "anna-pw"), "os")
    assert check.ok and check.message == f"Connected as {login} — support" and check.role is Role.SUPPORT
    check = check_shared_database(url_for(postgres, name, "shop", OWNER_PASSWORD), "os")
    assert check.ok and check.message == "Connected as shop — admin (owner of the database)"
    with owner.session() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    owner.dispose()
    check = check_shared_database(url_for(postgres, name, login, "anna-pw"), "os")
    assert not check.ok and "newer version" in check.message and "0099_future" in check.message


def test_urls_are_checked_and_kept_without_password() -> None:
    parsed = shared_login.parse_shared_url("postgres://anna:s3cret@db.example/shop")
    assert parsed.drivername == "postgresql+psycopg"
    assert shared_login.without_password(parsed) == "postgresql+psycopg://anna@db.example/shop"
    assert shared_login.keyring_account(parsed) == "postgresql://anna@db.example:5432/shop"
    for bad, words in (
        ("sqlite:///x.db", "PostgreSQL"),
        ("postgresql://db.example/shop", "no user"),
        ("postgresql://anna@db.example", "no database"),
        ("not a url", "not a database URL"),
    ):
        with pytest.raises(SharedLoginError, match=words):
            shared_login.parse_shared_url(bad)
    with pytest.raises(SharedLoginError, match="enter the host and the database"):
        shared_login.build_shared_url("", 5432, " ", "anna")


def test_the_cli_uses_the_password_the_desktop_app_kept(
    postgres, app_paths, memory_keyring, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("SHOPCTRL_DATABASE_PASSWORD", raising=False)
    owner = postgres.new_database()
    name = str(make_url(owner.url).database)
    login = f"anna_{uuid.uuid4().hex[:6]}"
    with owner.session() as s:
        roles.setup_roles(s)
    with owner.session() as s:
        roles.add_user(s, login, Role.SUPPORT, "anna-pw")
    owner.dispose()
    url = url_for(postgres, name, login, None)
    save_settings(app_paths, Settings(database_url=url, ask_database_password=True))
    argv = ["--data-dir", str(app_paths.data_dir), "whoami"]
    assert cli_main(argv) == 2  # no password anywhere: the login is refused, in words
    assert "no password supplied" in capsys.readouterr().err
    assert shared_login.remember_password(url, "anna-pw")
    assert cli_main(argv) == 0
    assert f"user: {login}" in capsys.readouterr().out
    memory_keyring.passwords.clear()
    monkeypatch.setenv("SHOPCTRL_DATABASE_PASSWORD", "anna-pw")
    assert cli_main(argv) == 0
