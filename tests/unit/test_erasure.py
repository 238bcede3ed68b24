"""A customer's erasure request (issue 13 item 2): everything that holds the customer's data is blanked, their
waiting items are cancelled, the queue's history still adds up, and the audit trail records the kind of request
and the counts — never the address."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from shopctrl_desktop.cli import main
from shopctrl_desktop.domain.erasure import ErasureError, parse_request
from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.paths import resolve_paths
from shopctrl_desktop.store.audit import list_entries
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow, EventRow, QueueItemRow

ANN = "Ann.Example@Shop.example"


def event(session, entity_id: str, email: str, name: str) -> EventRow:
    data = {"Customer": {"Id": entity_id, "Email": email, "Name": name}}
    row = EventRow(
        event="CustomerChanged",
        occurred_at=datetime.now(UTC),
        entity_type="Customer",
        entity_id=entity_id,
        entity_code=f"C-{entity_id}",
        data_json=json.dumps(data),
        entity_data_json=json.dumps({"CustomerEmail": email}),
    )
    session.add(row)
    session.flush()
    return row


def item(session, ev: EventRow, status: ItemStatus, email: str) -> QueueItemRow:
    row = QueueItemRow(
        event_id=ev.id, status=status.value, url="https://crm.example/hook", body=json.dumps({"email": email})
    )
    session.add(row)
    session.flush()
    session.add(
        DeliveryAttemptRow(
            item_id=row.id, number=1, started_at=datetime.now(UTC), response_body=f"accepted {email}"
        )
    )
    return row


def fill(db: Database) -> dict[str, int]:
    with db.session() as s:
        ann = event(s, "42", ANN, "Ann Example")
        bob = event(s, "43", "bob@shop.example", "Bob Example")
        ids = {
            "ann delivered": item(s, ann, ItemStatus.DELIVERED, ANN).id,
            "ann waiting": item(s, ann, ItemStatus.RETRYING, ANN).id,
            "bob waiting": item(s, bob, ItemStatus.QUEUED, "bob@shop.example").id,
        }
        s.add(
            AlertRow(title="CRM failed", message=f"refused for {ANN.lower()}", item_id=ids["ann delivered"])
        )
    return ids


def everything(db: Database) -> str:
    """Every text column of the tables that hold customer data, as one string."""
    with db.session() as s:
        parts = [
            *(f"{e.data_json}{e.entity_data_json}{e.entity_code}" for e in s.scalars(select(EventRow))),
            *(i.body for i in s.scalars(select(QueueItemRow))),
            *(str(a.response_body) for a in s.scalars(select(DeliveryAttemptRow))),
            *(a.message for a in s.scalars(select(AlertRow))),
        ]
    return "\n".join(parts).lower()


def test_requests_are_checked() -> None:
    assert parse_request("Customer:42", None).entity_id == "42"
    for entity, email in ((None, None), ("Customer:42", ANN), ("Customer", None), (None, "not-an-address")):
        with pytest.raises(ErasureError):
            parse_request(entity, email)


def test_erase_by_email_blanks_everything_with_the_address_and_cancels_the_waiting_item(
    tmp_path, capsys
) -> None:
    paths = resolve_paths(tmp_path / "data").ensure()
    db = Database(f"sqlite:///{paths.database_file}")
    ids = fill(db)
    run = ["--data-dir", str(paths.data_dir), "erase", "--email", ANN.upper()]
    assert main([*run, "--dry-run"]) == 0
    assert "would erase the data of an e-mail address: 1 events, 2 queue item payloads (1 waiting" in (
        capsys.readouterr().out
    )
    assert ANN.lower() in everything(db)  # a dry run changes nothing
    assert main(run) == 0
    assert "erased the data of an e-mail address: 1 events, 2 queue item payloads" in capsys.readouterr().out
    text_now = everything(db)
    assert ANN.lower() not in text_now and "ann example" not in text_now
    assert "bob@shop.example" in text_now  # another customer's data stays
    with db.session() as s:
        statuses = {i.id: (i.status, i.response_message) for i in s.scalars(select(QueueItemRow))}
        [entry] = [e for e in list_entries(s) if e.action == "data.erased"]
        raw = s.scalar(
            text("SELECT changes_json || subject_name FROM audit_entries WHERE action = 'data.erased'")
        )
    assert statuses[ids["ann waiting"]][0] == "cancelled" and "erased" in statuses[ids["ann waiting"]][1]
    assert statuses[ids["ann delivered"]][0] == "delivered" and statuses[ids["bob waiting"]][0] == "queued"
    assert entry.subject.name == "an e-mail address"
    assert {c.field: c.new for c in entry.changes}["items"] == 2
    assert "ann" not in raw.lower()


def test_erase_by_entity(db) -> None:
    from shopctrl_desktop.store.erasure import erase

    ids = fill(db)
    with db.session() as s:
        done = erase(s, parse_request("Customer:42", None))
    assert (done.events, done.items, done.cancelled) == (1, 2, 1)
    with db.session() as s:
        ann = s.scalar(select(EventRow).where(EventRow.entity_id == "42"))
        assert ann.data_json == "{}" and ann.entity_code is None
        assert s.get(QueueItemRow, ids["bob waiting"]).body != ""
