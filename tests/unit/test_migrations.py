"""Schema migrations at start: an older database upgrades in place, keeps its data and says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from shopctrl_desktop.store import db as db_module
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AlertRow, Shop

#: The newest shipped revision (a newer release's migration revises it).
HEAD = ScriptDirectory.from_config(db_module.alembic_config("sqlite://")).get_current_head()
NEXT_REVISION = """
from alembic import op
import sqlalchemy as sa

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.drop_column("notes")
"""


@pytest.fixture
def newer_migrations(tmp_path: Path) -> Path:
    """The shipped migrations plus one more revision, as a newer release would carry them."""
    target = tmp_path / "migrations"
    shutil.copytree(db_module.MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "versions" / "9001_shop_notes.py").write_text(NEXT_REVISION.replace("{head}", HEAD), "utf-8")
    return target


def test_an_older_database_upgrades_in_place(tmp_path, newer_migrations, monkeypatch):
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    old = Database(url)
    with old.session() as s:
        s.add(Shop(id=3, name="Main store"))
    old.dispose()

    monkeypatch.setattr(db_module, "MIGRATIONS_DIR", newer_migrations)
    new = Database(url)
    with new.session() as s:
        assert s.get(Shop, 3).name == "Main store"  # the data survived
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == "9001"
        alert = s.scalar(select(AlertRow))
        assert alert.severity == "information" and alert.title == "Database schema upgraded"
        assert HEAD in alert.message and "9001" in alert.message
    assert "notes" in {c["name"] for c in inspect(new.engine).get_columns("shops")}
    # opening it again changes nothing and raises no second alert
    Database(url).dispose()
    with new.session() as s:
        assert len(list(s.scalars(select(AlertRow)))) == 1
    new.dispose()


def test_a_fresh_database_raises_no_upgrade_alert(db):
    with db.session() as s:
        assert s.scalar(select(AlertRow)) is None


def test_a_database_from_the_first_release_gets_the_partial_unique_index(tmp_path):
    """0001 -> 0002: the unique-key index is rebuilt to cover only items with a key; rows survive."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'first.sqlite3'}"
    first = Database(url, migrate=False)
    with first.engine.begin() as conn:
        cfg = db_module.alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with first.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO shops (id, name, created_at) VALUES (1, 'Main store', '2026-01-01 00:00:00.000000')"
            )
        )
        old_sql = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_queue_items_unique'")
        ).scalar()
    first.dispose()
    assert "WHERE" not in old_sql

    upgraded = Database(url)
    with upgraded.session() as s:
        new_sql = s.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_queue_items_unique'")
        ).scalar()
        assert new_sql.endswith("WHERE unique_key IS NOT NULL")
        assert s.get(Shop, 1).name == "Main store"
        alert = s.scalar(select(AlertRow))
        assert alert.title == "Database schema upgraded" and "0001" in alert.message and HEAD in alert.message
    upgraded.dispose()


def test_a_database_from_before_the_audit_trail_gets_an_append_only_one(tmp_path):
    """0002 -> 0003: audit_entries with the triggers that refuse an UPDATE or DELETE; and back."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    before = Database(url, migrate=False)
    cfg = db_module.alembic_config(url)
    with before.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    assert "audit_entries" not in inspect(before.engine).get_table_names()
    before.dispose()

    upgraded = Database(url)
    triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'"
    with upgraded.session() as s:
        assert sorted(s.scalars(text(triggers))) == ["audit_entries_no_delete", "audit_entries_no_update"]
    with upgraded.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert "audit_entries" not in inspect(upgraded.engine).get_table_names()
    with upgraded.session() as s:
        assert list(s.scalars(text(triggers))) == []
    upgraded.dispose()
