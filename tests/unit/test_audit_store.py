"""The audit trail in the store (store/audit.py and every write path that records there), on SQLite and on a
real PostgreSQL server; append-only as enforced by each database (migration 0003)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.config import Settings, load_settings
from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.store import alerts as alerts_repo
from shopctrl_desktop.store import audit, queue
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.models import utcnow
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_queue_store import order_event

HMAC, NEW_HMAC = "hmac-plain-5e1f", "hmac-plain-NEW-77"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-audit-") as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, db):
    """Each repository test runs on the SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield db
        return
    pg = request.getfixturevalue("postgres").new_database()
    yield pg
    pg.dispose()


def expected_user(database) -> str:
    return "shop" if database.is_postgresql else audit.os_user()


def entries(database, **filters) -> list:
    with database.sessions() as s:
        return audit.list_entries(s, **filters)


def erp(**action) -> Trigger:
    action.setdefault("url", "https://erp.example/hook")
    return Trigger(title="ERP", event="OrderChanged", actions=(WebhookAction(**action),))


def save(database, box, trigger: Trigger) -> int:
    with database.session() as s:
        return trigger_store.save_trigger(s, box, trigger)


def test_trigger_changes_are_recorded_field_by_field(database, box) -> None:
    trigger_id = save(database, box, erp(hmac_secret=HMAC))
    with database.sessions() as s:
        stored = trigger_store.get_trigger(s, box, trigger_id)
    save(database, box, stored)  # saved unchanged: nothing to record
    changed = replace(
        stored,
        title="ERP v2",
        actions=(replace(stored.actions[0], url="https://erp.example/v2", hmac_secret=NEW_HMAC),),
    )
    save(database, box, changed)
    with database.session() as s:
        trigger_store.set_enabled(s, trigger_id, False)
        trigger_store.set_enabled(s, trigger_id, False)  # no change, no entry
    with database.session() as s:
        trigger_store.delete_trigger(s, trigger_id)

    deleted, disabled, updated, created = entries(database)
    assert [e.action for e in (created, updated, disabled, deleted)] == [
        "trigger.created",
        "trigger.changed",
        "trigger.changed",
        "trigger.deleted",
    ]
    assert {e.subject.id for e in (created, updated, disabled, deleted)} == {trigger_id}
    assert [e.subject.name for e in (created, deleted)] == ["ERP", "ERP v2"]
    assert [c.to_json() for c in updated.changes] == [
        {"field": "title", "old": "ERP", "new": "ERP v2"},
        {"field": "actions[1].url", "old": "https://erp.example/hook", "new": "https://erp.example/v2"},
        {"field": "actions[1].hmacSecret", "secret": True, "change": "changed"},
    ]
    assert [(c.field, c.old, c.new) for c in disabled.changes] == [("enabled", True, False)]
    assert deleted.changes[0].old == "ERP v2"
    for entry in (created, updated, disabled, deleted):
        assert entry.who == expected_user(database)
        assert entry.workstation == socket.gethostname()
        assert abs(entry.at - utcnow()) < timedelta(minutes=1)
    with database.sessions() as s:
        raw = " ".join(s.scalars(text("SELECT changes_json FROM audit_entries")))
    assert HMAC not in raw and NEW_HMAC not in raw


def test_queue_and_alert_actions_are_recorded(database, box) -> None:
    save(database, box, erp())
    with database.session() as s:
        queue.enqueue_events(s, box, [order_event(n) for n in range(4)])
        a, b, c, d = (i.id for i in queue.list_items(s))
    with database.session() as s:
        assert queue.cancel_item(s, a) and not queue.cancel_item(s, a)
        assert queue.retry_item(s, a) and not queue.retry_item(s, b)
        s.execute(queue._ITEMS.update().where(queue._ITEMS.c.id.in_([c, d])).values(status="failed"))
        assert queue.retry_failed(s, [c, b]).total == 1
        assert queue.retry_failed(s).total == 1
        assert queue.retry_failed(s).total == 0  # nothing retried: no entry
        new_id = queue.resend_item(s, d)
        first = alerts_repo.create_alert(s, "error", "ERP failed", "gone", item_id=a)
        second = alerts_repo.create_alert(s, "error", "Log failed", "gone")
        third = alerts_repo.create_alert(s, "warning", "Slow", "")
        assert alerts_repo.mark_read(s, [first]) == 1
        assert alerts_repo.mark_read(s, [first]) == 0  # already read: no entry
        assert alerts_repo.mark_all_read(s) == 2
        assert alerts_repo.mark_all_read(s) == 0

    got = [
        (e.action, e.subject.kind, e.subject.id, [c.to_json() for c in e.changes]) for e in entries(database)
    ]
    assert got[::-1][1:] == [
        ("item.cancelled", "item", a, []),
        ("item.retried", "item", a, []),
        ("items.retried", "items", None, [{"field": "items", "old": None, "new": [c]}]),
        ("items.retried", "items", None, [{"field": "items", "old": None, "new": [d]}]),
        ("item.resent", "item", d, [{"field": "newItem", "old": None, "new": new_id}]),
        ("alerts.read", "alert", first, []),
        ("alerts.allRead", "alerts", None, [{"field": "alerts", "old": None, "new": [second, third]}]),
    ]
    assert entries(database, what="item")[-1].subject.name == "ERP"


def test_a_rolled_back_change_leaves_no_entry(database, box) -> None:
    with pytest.raises(RuntimeError), database.session() as s:
        trigger_store.save_trigger(s, box, erp())
        raise RuntimeError("the user's transaction fails after the change")
    assert entries(database) == []
    with database.sessions() as s:
        assert trigger_store.list_triggers(s, box) == []


def test_settings_changes_are_recorded_without_the_database_password(database, app_paths) -> None:
    ctx = AppContext(app_paths, Settings(), db=database)
    ctx.save_settings(
        replace(Settings(), listen_port=9100, database_url="postgresql://anna:pw-plain-9@db/shop")
    )
    ctx.save_settings(ctx.settings)  # unchanged: no entry
    assert load_settings(app_paths).listen_port == 9100 and ctx.settings.listen_port == 9100
    [entry] = entries(database, what="settings")
    changes = {c.field: (c.old, c.new) for c in entry.changes}
    assert changes["listen_port"] == (8765, 9100)
    assert changes["database_url"] == (None, "postgresql://anna:***@db/shop")
    assert "pw-plain-9" not in str(entry.to_json())


def test_settings_not_written_leave_no_entry(db, app_paths, monkeypatch) -> None:
    ctx = AppContext(app_paths, Settings(), db=db)

    def disk_full(*_args):
        raise OSError("No space left on device")

    monkeypatch.setattr("shopctrl_desktop.config.save_settings", disk_full)
    with pytest.raises(OSError):
        ctx.save_settings(replace(Settings(), listen_port=9100))
    assert entries(db) == [] and ctx.settings.listen_port == 8765


def test_list_filters_and_paging(database, box) -> None:
    first = save(database, box, erp())
    second = save(database, box, replace(erp(), title="Log"))
    with database.session() as s:
        trigger_store.set_enabled(s, first, False)
        queue.enqueue_events(s, box, [order_event(1)])
        item = queue.list_items(s)[0].id
        queue.cancel_item(s, item)
    assert [e.action for e in entries(database)] == [
        "item.cancelled",
        "trigger.changed",
        "trigger.created",
        "trigger.created",
    ]
    assert [e.subject.id for e in entries(database, what="trigger")] == [first, second, first]
    assert [e.subject.id for e in entries(database, what="trigger.created")] == [second, first]
    assert [e.subject.id for e in entries(database, subject_kind="trigger", subject_id=second)] == [second]
    assert [e.subject.id for e in entries(database, what="trigger", contains="lOG")] == [second]
    assert len(entries(database, who=expected_user(database))) == 4 and entries(database, who="nobody") == []
    assert entries(database, since=utcnow() + timedelta(minutes=5)) == []
    assert len(entries(database, since=utcnow() - timedelta(minutes=5))) == 4
    page = entries(database, limit=2, offset=1)
    assert [e.action for e in page] == ["trigger.changed", "trigger.created"]
    with database.sessions() as s:
        assert audit.known_users(s) == [expected_user(database)]


def test_sqlite_refuses_to_change_or_delete_an_entry(db, box) -> None:
    save(db, box, erp())
    for statement in ("UPDATE audit_entries SET who = 'someone else'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), db.session() as s:
            s.execute(text(statement))
    [entry] = entries(db)
    assert entry.who == audit.os_user()


def test_postgresql_refuses_every_role_but_the_owner(postgres, box) -> None:
    """A second login with every privilege on the table still cannot rewrite history; the owner can."""
    import psycopg

    pg = postgres.new_database()
    try:
        save(pg, box, erp())
        name = make_url(pg.url).database
        with pg.session() as s:
            s.execute(
                text("DO $$ BEGIN CREATE ROLE clerk LOGIN; EXCEPTION WHEN duplicate_object THEN END $$")
            )
            s.execute(text("GRANT ALL PRIVILEGES ON audit_entries TO clerk"))
            s.execute(text("GRANT ALL ON SEQUENCE audit_entries_id_seq TO clerk"))
        clerk = f"dbname={name} user=clerk host={postgres.base} port={postgres.port}"
        with psycopg.connect(clerk, autocommit=True) as conn:
            for statement in (
                "UPDATE audit_entries SET who = 'shop'",
                "DELETE FROM audit_entries",
                "TRUNCATE audit_entries",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                    conn.execute(statement)
            # an entry cannot claim another user or another time: the server stamps both
            conn.execute(
                "INSERT INTO audit_entries (at, who, workstation, action, subject_kind, subject_name, "
                "changes_json) VALUES ('2000-01-01', 'shop', 'desk', 'trigger.changed', 'trigger', 'x', '[]')"
            )
        who_at = [(e.who, e.at.year) for e in entries(pg)]
        assert who_at == [("clerk", utcnow().year), ("shop", utcnow().year)]
        with pg.session() as s:  # the owner (the role that ran the migrations) may
            s.execute(text("UPDATE audit_entries SET workstation = 'fixed' WHERE who = 'clerk'"))
            s.execute(text("DELETE FROM audit_entries WHERE who = 'clerk'"))
        assert [e.who for e in entries(pg)] == ["shop"]
        with pg.session() as s:
            s.execute(text("TRUNCATE audit_entries"))
        assert entries(pg) == []
    finally:
        pg.dispose()
