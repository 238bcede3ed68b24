"""store/changes.py ChangeWatcher (the diff a support workstation polls) and migration 0005_live's
notifications on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text, update

from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.queue import ItemChange
from shopctrl_desktop.store.alerts import create_alert
from shopctrl_desktop.store.changes import ChangeWatcher
from shopctrl_desktop.store.models import QueueItemRow
from shopctrl_desktop.store.notify import ChangeListener, ListenerLost
from tests.gui.queue_support import add_queue_items
from tests.helpers.postgres import PostgresCluster, throwaway_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-live-unit-") as cluster:
        yield cluster


def _set(db, item_id: int, status: str, attempts: int | None = None) -> None:  # type: ignore[no-untyped-def]
    values: dict[str, object] = {"status": status}
    if attempts is not None:
        values["attempts"] = attempts
    with db.session() as s:
        s.execute(update(QueueItemRow).where(QueueItemRow.id == item_id).values(**values))


def _poll(db, watcher: ChangeWatcher):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return watcher.poll(s)


def test_the_watcher_reports_new_moved_and_finished_items_and_new_alerts_once(db) -> None:  # type: ignore[no-untyped-def]
    queued, failed = add_queue_items(db, 1, status="queued")[0], add_queue_items(db, 1, status="failed")[0]
    watcher = ChangeWatcher()
    assert not _poll(db, watcher)  # the baseline reports nothing
    assert not _poll(db, watcher)  # nothing changed

    _set(db, queued, "sending")
    _set(db, failed, "queued")  # retried elsewhere
    new = add_queue_items(db, 1, status="delivered")[0]  # queued and delivered between two polls
    with db.session() as s:
        alert = create_alert(s, "error", "Broken failed", "…")
    changes = _poll(db, watcher)
    assert {(c.item_id, c.status) for c in changes.items} == {
        (queued, ItemStatus.SENDING),
        (failed, ItemStatus.QUEUED),
        (new, ItemStatus.DELIVERED),
    }
    assert [a.id for a in changes.alerts] == [alert]
    assert changes.counts is not None and changes.counts.queued == 1 and changes.counts.sending == 1
    assert not _poll(db, watcher)

    _set(db, queued, "retrying", attempts=1)
    _set(db, queued, "sending", attempts=1)  # between two polls: the attempt count tells
    _set(db, failed, "delivered")  # left the moving items
    changes = _poll(db, watcher)
    assert {(c.item_id, c.status) for c in changes.items} == {
        (queued, ItemStatus.SENDING),
        (failed, ItemStatus.DELIVERED),
    }
    assert next(c for c in changes.items if c.item_id == queued).attempts == 1


def test_what_the_own_engine_relayed_is_not_reported_again(db) -> None:  # type: ignore[no-untyped-def]
    item = add_queue_items(db, 1, status="queued")[0]
    watcher = ChangeWatcher()
    _poll(db, watcher)
    _set(db, item, "delivered", attempts=1)
    watcher.absorb([ItemChange(item, ItemStatus.DELIVERED, 1)])
    with db.session() as s:
        alert = create_alert(s, "error", "ours", "…")
    watcher.absorb_alert(alert)
    assert not _poll(db, watcher)


def test_postgresql_notifies_changed_tables_but_not_statements_that_touched_nothing(postgres) -> None:  # type: ignore[no-untyped-def]
    db = postgres.new_database()
    listener = ChangeListener(db.url)
    try:
        listener.connect()
        with db.session() as s:  # the engine's idle "recover expired leases" touches no row
            s.execute(text("UPDATE queue_items SET attempts = attempts WHERE id < 0"))
        assert listener.wait(0.3) == set()
        item = add_queue_items(db, 1, status="queued")[0]
        assert "queue_items" in listener.wait(2)
        _set(db, item, "sending")
        assert listener.wait(2) == {"queue_items"}
        with db.session() as s:
            create_alert(s, "error", "x", "y")
        assert listener.wait(2) == {"alerts"}

        with db.engine.connect() as conn:  # the connection is cut: the caller hears of it
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid})
            conn.commit()
        with pytest.raises(ListenerLost):
            listener.wait(2)
        assert not listener.connected
    finally:
        listener.close()
        db.dispose()
