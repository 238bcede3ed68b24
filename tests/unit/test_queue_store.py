"""Event intake and the queue repository against a real SQLite file (store/ingest.py, store/queue.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shopctrl_desktop.domain.model import IncomingEvent, ItemStatus, Priority, Trigger, WebhookAction
from shopctrl_desktop.domain.queue import CANCELLABLE_STATUSES, RETRYABLE_STATUSES
from shopctrl_desktop.store import alerts as alerts_repo
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store import queue
from shopctrl_desktop.store.events import latest_snapshot, recent_events
from shopctrl_desktop.store.models import Shop
from shopctrl_desktop.store.triggers import save_trigger


@pytest.fixture(autouse=True, params=["sqlite-fast-path", "core-path"])
def statement_path(request, monkeypatch):
    """Every intake test runs twice: the SQLite DBAPI fast path and the SQLAlchemy Core path that
    PostgreSQL uses (INSERT … RETURNING), here forced on SQLite."""
    if request.param == "core-path":
        from shopctrl_desktop.store import ingest_sql

        original = ingest_sql.IntakeSql.__init__

        def core_only(self, session):
            original(self, session)
            self.sqlite, self.raw = False, None

        monkeypatch.setattr(ingest_sql.IntakeSql, "__init__", core_only)
    return request.param


def order_event(
    order_id: int, *, ext: str | None = None, shop: int | None = 3, total: float = 10
) -> IncomingEvent:
    return IncomingEvent(
        event="OrderChanged",
        shop_id=shop,
        occurred_at=datetime(2026, 11, 28, 10, tzinfo=UTC),
        data={"Order": {"Id": order_id, "OrderCode": f"ORD-{order_id}", "TotalDue": total}},
        entity_data={"OrderId": order_id, "OrderCode": f"ORD-{order_id}"},
        entity_type="Order",
        entity_id=str(order_id),
        entity_code=f"ORD-{order_id}",
        external_id=ext,
    )


def add_trigger(db, box, title="ERP", *, shop=None, condition=None, enabled=True, **action) -> int:
    action.setdefault("url", "https://erp.example:8443/hook")
    with db.session() as s:
        return save_trigger(
            s,
            box,
            Trigger(
                title=title,
                event="OrderChanged",
                shop_id=shop,
                enabled=enabled,
                condition=condition,
                actions=(WebhookAction(**action),),
            ),
        )


def ingest(db, box, events):
    with db.session() as s:
        return queue.enqueue_events(s, box, events)


def items(db, **kw):
    with db.session() as s:
        return queue.list_items(s, **kw)


def test_event_stored_item_queued_with_the_rendered_default_request(db, box) -> None:
    add_trigger(db, box, priority=Priority.HIGH, headers={"X-Team": "erp"})
    result = ingest(db, box, [order_event(1001)])
    assert (result.accepted, result.duplicates, result.queued) == (1, 0, 1)
    [item] = items(db)
    assert item.status == "queued" and item.host == "erp.example:8443" and item.priority == Priority.HIGH
    assert (
        item.event_id == result.event_ids[0] and item.entity_id == "1001" and item.entity_code == "ORD-1001"
    )
    assert json.loads(item.body)["entityData"] == {"OrderId": 1001, "OrderCode": "ORD-1001"}
    assert item.headers["X-ShopCtrl-Trigger"] == "OrderChanged" and item.headers["X-Team"] == "erp"
    assert item.next_attempt_at is not None and item.unique_key is None
    with db.session() as s:
        assert s.get(Shop, 3).name == "Shop 3"
        snap = latest_snapshot(s, "Order", 1001)
        assert snap is not None and snap.data["Order"]["OrderCode"] == "ORD-1001"
        assert [e.id for e in recent_events(s, "OrderChanged")] == result.event_ids


def test_idempotency_across_requests_and_inside_one_batch(db, box) -> None:
    add_trigger(db, box)
    first = ingest(db, box, [order_event(1, ext="a"), order_event(2, ext="b"), order_event(1, ext="a")])
    assert (first.accepted, first.duplicates, first.queued) == (2, 1, 2)
    assert first.event_ids[0] == first.event_ids[2] != first.event_ids[1]
    again = ingest(db, box, [order_event(1, ext="a"), order_event(3, ext="c")])
    assert (again.accepted, again.duplicates, again.queued) == (1, 1, 1)
    assert again.event_ids[0] == first.event_ids[0]
    assert len(items(db)) == 3


def test_batches_of_several_requests_in_one_transaction(db, box) -> None:
    add_trigger(db, box)
    with db.session() as s:
        r1, r2 = queue.enqueue_batches(
            s, box, [[order_event(1, ext="x")], [order_event(1, ext="x"), order_event(2)]]
        )
    assert (r1.accepted, r1.duplicates, r1.queued) == (1, 0, 1)
    assert (r2.accepted, r2.duplicates, r2.queued) == (1, 1, 1)
    assert r2.event_ids[0] == r1.event_ids[0]


def test_scope_enabled_flag_and_condition(db, box) -> None:
    add_trigger(db, box, "shop 3 only", shop=3, url="https://a.example/")
    add_trigger(db, box, "shop 4 only", shop=4, url="https://b.example/")
    add_trigger(db, box, "disabled", enabled=False, url="https://c.example/")
    add_trigger(
        db,
        box,
        "big orders",
        url="https://d.example/",
        condition={
            "match": "all",
            "rules": [{"field": "Order.TotalDue", "operator": "greaterThan", "value": 100}],
        },
    )
    ingest(db, box, [order_event(1, shop=3, total=50), order_event(2, shop=3, total=500)])
    got = sorted((i.trigger_title, i.entity_id) for i in items(db))
    assert got == [("big orders", "2"), ("shop 3 only", "1"), ("shop 3 only", "2")]


def test_uniqueness_waiting_item_takes_newest_payload_and_counts_skipped(db, box) -> None:
    add_trigger(db, box, unique_queue_items=True)
    ingest(db, box, [order_event(1, total=1)])
    result = ingest(db, box, [order_event(1, total=2), order_event(2), order_event(1, total=3)])
    assert result.queued == 1 and len(result.updated_item_ids) == 1
    by_entity = {i.entity_id: i for i in items(db)}
    assert len(by_entity) == 2 and len(items(db)) == 2
    item = by_entity["1"]
    assert item.skipped_count == 2 and item.unique_key.endswith(":Order:1")
    assert item.event_id == result.event_ids[2]
    # a finished item is not waiting any more: the next event gets a new item
    with db.session() as s:
        assert queue.cancel_item(s, item.id)
    ingest(db, box, [order_event(1)])
    assert sorted((i.entity_id, i.status) for i in items(db)) == [
        ("1", "cancelled"),
        ("1", "queued"),
        ("2", "queued"),
    ]


def test_uniqueness_inside_one_new_batch(db, box) -> None:
    add_trigger(db, box, unique_queue_items=True)
    result = ingest(db, box, [order_event(5, ext=str(n)) for n in range(4)])
    assert result.accepted == 4 and result.queued == 1
    [item] = items(db)
    assert item.skipped_count == 3 and item.event_id == result.event_ids[-1]


def test_without_uniqueness_every_event_gets_an_item(db, box) -> None:
    add_trigger(db, box)
    assert ingest(db, box, [order_event(5), order_event(5)]).queued == 2


def test_priority_order_of_listed_and_claimed_items(db, box) -> None:
    add_trigger(db, box, "low", priority=Priority.LOW, url="https://low.example/")
    add_trigger(db, box, "highest", priority=Priority.HIGHEST, url="https://top.example/")
    add_trigger(db, box, "normal", url="https://n.example/")
    ingest(db, box, [order_event(1), order_event(2)])
    order = [(i.trigger_title, i.entity_id) for i in items(db)]
    assert order == [
        ("highest", "1"),
        ("highest", "2"),
        ("normal", "1"),
        ("normal", "2"),
        ("low", "1"),
        ("low", "2"),
    ]
    listed = {i.id: (i.trigger_title, i.entity_id) for i in items(db)}
    with db.session() as s:
        assert claims.claim_due(s, "early", 100, datetime.now(UTC) - timedelta(hours=1), 30.0) == []
        claimed = claims.claim_due(s, "engine", 100, datetime.now(UTC) + timedelta(seconds=1), 30.0)
        assert [listed[i.id] for i in claimed] == order


def test_render_error_creates_a_failed_item_and_an_error_alert(db, box, monkeypatch) -> None:
    from shopctrl_desktop.domain import payload

    def broken(*args, **kwargs):
        raise payload.RenderError("line 1, column 9: unexpected '}'")

    monkeypatch.setattr("shopctrl_desktop.domain.planner.render_body", broken)
    add_trigger(db, box, payload_body="{{ oops }")
    result = ingest(db, box, [order_event(1)])
    assert result.queued == 0 and len(result.failed_item_ids) == 1 and len(result.alert_ids) == 1
    [item] = items(db)
    assert item.status == "failed" and "line 1, column 9" in item.response_message
    with db.session() as s:
        [alert] = alerts_repo.list_alerts(s)
        assert alert.severity == "error" and alert.item_id == item.id and "ERP" in alert.title
        assert "line 1, column 9" in alert.message and alerts_repo.unread_count(s) == 1
        alerts_repo.mark_all_read(s)
        assert alerts_repo.unread_count(s) == 0


def test_cancel_retry_resend_counts(db, box) -> None:
    add_trigger(db, box)
    ingest(db, box, [order_event(n) for n in range(4)])
    a, b, c, d = (i.id for i in items(db))
    with db.session() as s:
        assert queue.cancel_item(s, a) and not queue.cancel_item(s, a)
        assert not queue.retry_item(s, b)  # already queued
        assert queue.retry_item(s, a)
        s.execute(queue._ITEMS.update().where(queue._ITEMS.c.id.in_([c, d])).values(status="failed"))
        assert queue.retry_failed(s, [c]).total == 1
        assert queue.retry_failed(s).total == 1
        s.execute(queue._ITEMS.update().where(queue._ITEMS.c.id == d).values(status="delivered", attempts=1))
        new_id = queue.resend_item(s, d)
        assert new_id is not None and queue.resend_item(s, 9999) is None
        copy = queue.get_item(s, new_id)
        assert copy.status == "queued" and copy.attempts == 0 and copy.body == queue.get_item(s, d).body
        counts = queue.queue_counts(s)
    assert (counts.queued, counts.delivered, counts.failed) == (4, 1, 0)


@pytest.mark.parametrize("status", [None, "queued"])
def test_to_json_is_camel_case(db, box, status) -> None:
    add_trigger(db, box)
    ingest(db, box, [order_event(1)])
    data = items(db, status=status)[0].to_json()
    assert {
        "id",
        "status",
        "trigger",
        "event",
        "url",
        "priority",
        "attempts",
        "createdAt",
        "lastAttemptAt",
        "nextAttemptAt",
        "responseStatus",
        "responseMessage",
    } <= data.keys()
    assert data["priority"] == "normal" and data["createdAt"].endswith("Z")


def test_queue_counter_live_every_read_finished_at_most_every_interval(db, box):
    """The status bar's counts: queued/failed are fresh on every read; delivered (a count over every
    finished item) is re-counted only once the interval has passed."""
    from sqlalchemy import update

    from shopctrl_desktop.store.models import QueueItemRow
    from tests.helpers.factories import add_items, make_action

    action = make_action(db, box, "http://a.example/hook")
    ids = add_items(db, action, 3)
    slow = queue.QueueCounter(finished_interval=3600, cheap_rows=0)
    eager = queue.QueueCounter(finished_interval=0)
    with db.session() as s:
        assert slow.read(s).queued == 3 and eager.read(s).queued == 3
    with db.session() as s:
        s.execute(update(QueueItemRow).where(QueueItemRow.id == ids[0]).values(status="delivered"))
        s.execute(update(QueueItemRow).where(QueueItemRow.id == ids[1]).values(status="failed"))
    with db.session() as s:
        counts = slow.read(s)
        assert (counts.queued, counts.failed, counts.delivered) == (1, 1, 0)  # delivered: last full count
        assert eager.read(s).delivered == 1
        slow.note_delivered(1)  # what the reader delivered itself counts at once
        assert slow.read(s).delivered == 1
        slow.finished_interval = 0
        assert slow.read(s).delivered == 1  # a full count replaces the noted figure, not adds to it
        slow.finished_interval = 3600
        assert slow.read(s).delivered == 1


def test_queue_counter_counts_in_full_every_read_while_that_is_cheap(db, box):
    """A small queue (fewer finished items than cheap_rows) is counted exactly on every read: no figure noted
    by the delivery engine can be added twice to a full count that already saw it."""
    from sqlalchemy import update

    from shopctrl_desktop.store.models import QueueItemRow
    from tests.helpers.factories import add_items, make_action

    action = make_action(db, box, "http://a.example/hook")
    ids = add_items(db, action, 2)
    counter = queue.QueueCounter(finished_interval=3600, cheap_rows=1000)
    with db.session() as s:
        assert counter.read(s).delivered == 0
    with db.session() as s:
        s.execute(update(QueueItemRow).where(QueueItemRow.id == ids[0]).values(status="delivered"))
    with db.session() as s:
        counter.note_delivered(1)  # noted after the full count below already sees the commit
        assert counter.read(s).delivered == 1
        counter.note_delivered(1)  # the straddling note: a full count replaces it
        assert counter.read(s).delivered == 1


@pytest.mark.parametrize("status", list(ItemStatus))
def test_cancel_and_retry_apply_to_the_statuses_the_domain_names(db, box, status) -> None:
    add_trigger(db, box)
    ingest(db, box, [order_event(1), order_event(2)])
    first, second = (i.id for i in items(db))
    with db.session() as s:
        s.execute(queue._ITEMS.update().values(status=status.value))
        assert queue.cancel_item(s, first) == (status in CANCELLABLE_STATUSES)
        assert queue.retry_item(s, second) == (status in RETRYABLE_STATUSES)
    assert {i.id: i.status for i in items(db)} == {
        first: "cancelled" if status in CANCELLABLE_STATUSES else status,
        second: "queued" if status in RETRYABLE_STATUSES else status,
    }
