"""store/browse.py: the SQL behind the queue table (id lists, filters, rows, detail, export) — no Qt."""

from __future__ import annotations

from datetime import timedelta

from shopctrl_desktop.store import browse
from shopctrl_desktop.store.browse import MASK, QueueFilter
from shopctrl_desktop.store.models import utcnow
from tests.gui.queue_support import add_queue_items


def test_ids_are_ascending_and_filters_run_in_sql(db):
    ids = add_queue_items(db, 30)
    with db.sessions() as s:
        assert list(browse.item_ids(s, QueueFilter())) == ids
        assert list(browse.newest_ids(s, QueueFilter(), 5)) == ids[-5:]
        assert list(browse.item_ids(s, QueueFilter(), after_id=ids[-3])) == ids[-2:]
        failed = browse.item_ids(s, QueueFilter(statuses=("failed",)))
        assert len(failed) == 5 and browse.count_matching(s, QueueFilter(statuses=("failed",))) == 5
        assert len(browse.item_ids(s, QueueFilter(statuses=("queued", "retrying")))) == 10
        assert list(browse.item_ids(s, QueueFilter(text="ord-1004"))) == [ids[4]]  # case-insensitive
        assert list(browse.item_ids(s, QueueFilter(text=f"#{ids[7]}"))) == [ids[7]]
        assert list(browse.item_ids(s, QueueFilter(text="100%"))) == []  # LIKE wildcards are literal
        assert len(browse.item_ids(s, QueueFilter(event="ShipmentShipped"))) == 10
        recent = QueueFilter(created_from=utcnow() - timedelta(minutes=5, seconds=30))
        assert len(browse.item_ids(s, recent)) == 5


def test_rows_detail_and_masking(db):
    ids = add_queue_items(db, 3)
    with db.sessions() as s:
        rows = browse.fetch_rows(s, [ids[0], ids[2], 999_999])
        assert set(rows) == {ids[0], ids[2]}
        assert rows[ids[2]].status == "failed" and rows[ids[2]].last_response == "503 Service Unavailable"
        detail = browse.item_detail(s, ids[2])
        assert detail is not None and len(detail.attempts) == 1
        assert detail.headers["X-Api-Key"] == MASK
        assert browse.item_detail(s, 999_999) is None
    assert browse.mask_headers(
        {"Authorization": "Basic dXNlcjpwdw==", "X-Signature": "abc", "Accept": "*/*"}
    ) == {
        "Authorization": f"Basic {MASK}",
        "X-Signature": MASK,
        "Accept": "*/*",
    }


def test_failed_ids_respect_the_filter_and_export_batches(db):
    add_queue_items(db, 24)
    with db.sessions() as s:
        assert len(browse.failed_ids(s, QueueFilter())) == 4
        assert browse.failed_ids(s, QueueFilter(statuses=("delivered",))) == []
        batches = list(browse.export_batches(s, QueueFilter(statuses=("delivered",)), batch=3))
        assert [len(b) for b in batches] == [3, 3, 2]
        assert all(row[3] == "delivered" for b in batches for row in b)
        assert len(batches[0][0]) == len(browse.EXPORT_COLUMNS)


def test_every_secret_header_is_masked_in_the_item_detail_and_redacted_in_the_log():
    """One list of secret header names (domain/secret_headers.py) for the queue browser and the log filter."""
    from shopctrl_desktop.domain.secret_headers import SECRET_HEADER_NAMES
    from shopctrl_desktop.logging_setup import redact

    for name in SECRET_HEADER_NAMES:
        title = "-".join(part.capitalize() for part in name.split("-"))
        assert browse.mask_headers({title: "s3cr3t-value", "Accept": "*/*"}) == {title: MASK, "Accept": "*/*"}
        assert "s3cr3t-value" not in redact(f"sending {title}: s3cr3t-value")
    assert browse.mask_headers({"X-Custom-Token": "t0ken"}) == {"X-Custom-Token": MASK}
