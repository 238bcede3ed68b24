"""Two workstations, two keys, one database: an action whose secrets this workstation's key cannot decrypt
fails only its own items, with one Error alert per action; every other action keeps delivering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.domain.signing import generate_secret
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.keys import check_database_key
from shopctrl_desktop.store.models import AlertRow, DeliveryAttemptRow
from shopctrl_desktop.store.secrets import SecretBox
from tests.helpers.engine_harness import running_engine
from tests.helpers.factories import add_items, item_row, make_action
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.helpers.receivers import Receiver


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-keys-") as cluster:
        yield cluster


def alerts(db: Database) -> list[AlertRow]:
    with db.session() as s:
        rows = list(s.scalars(select(AlertRow).order_by(AlertRow.id)))
        for r in rows:
            s.expunge(r)
        return rows


async def _two_keys_one_database(db: Database, receiver: Receiver) -> None:
    # workstation A's and B's secret.key: older symmetric (v1) keys, each workstation encrypting with its own
    # (a database from before the engine keypair; tests/unit/test_engine_keypair.py has the sealed case)
    key_a, key_b = SecretBox.generate_symmetric(), SecretBox.generate_symmetric()
    assert key_a.fingerprint != key_b.fingerprint
    assert check_database_key(db, key_a).matches  # A opened the database first: its key is recorded
    secret = generate_secret(SignatureScheme.SHOPCTRL)
    # stored on workstation A: one signed action (unreadable on B), one without secrets (fine on B)
    signed_on_a = make_action(
        db,
        key_a,
        receiver.url("/erp"),
        title="ERP",
        hmac_secret=secret,
        signature_scheme=SignatureScheme.SHOPCTRL,
    )
    plain_on_a = make_action(db, key_a, receiver.url("/plain"), title="Plain")
    # stored on workstation B: a signed action B can decrypt
    signed_on_b = make_action(
        db,
        key_b,
        receiver.url("/crm"),
        title="CRM",
        hmac_secret=secret,
        signature_scheme=SignatureScheme.SHOPCTRL,
    )
    bad = add_items(db, signed_on_a, 3)
    good = add_items(db, plain_on_a, 3) + add_items(db, signed_on_b, 3)

    async with running_engine(db, key_b) as (_engine, observer):
        final = await observer.wait_final(bad + good)
        assert {final[i] for i in good} == {"delivered"}
        assert {final[i] for i in bad} == {"failed"}
        assert sorted(r.path for r in receiver.requests) == ["/crm"] * 3 + ["/plain"] * 3
        assert all(r.header("X-SIGNATURE") for r in receiver.requests if r.path == "/crm")
        # one alert for the action, not one per item; it names the action and the fix
        (alert,) = alerts(db)
        assert alert.severity == "error"
        assert f"action #{signed_on_a.id}" in alert.title and "ERP" in alert.title
        assert "key import" in alert.message and key_b.fingerprint in alert.message
        assert f"this database's secrets need key {key_a.fingerprint}" in alert.message
        assert observer.alerts == [(alert.id, "error", alert.title)]
        row = item_row(db, bad[0])
        assert row.attempts == 1 and row.lease_owner is None and row.finished_at is not None
        assert "cannot be sent from this workstation" in (row.response_message or "")
        assert "key import" in (row.response_message or "")
        with db.session() as s:
            (attempt,) = s.scalars(select(DeliveryAttemptRow).where(DeliveryAttemptRow.item_id == bad[0]))
            assert attempt.status_code is None and "another key" in (attempt.error or "")
        # the engine never went into its "database unavailable" loop
        assert not [state for state in observer.states if state[1] == "error"]

        # more items of the bad action: they fail too, no second alert while the first is unread
        more = add_items(db, signed_on_a, 2)
        later_good = add_items(db, plain_on_a, 1)
        _engine.wake()
        final = await observer.wait_final(more + later_good)
        assert [final[i] for i in more] == ["failed", "failed"] and final[later_good[0]] == "delivered"
        assert len(alerts(db)) == 1

        # once that alert is read, the next failure raises a new one
        with db.session() as s:
            s.execute(update(AlertRow).values(read=True))
        again = add_items(db, signed_on_a, 1)
        _engine.wake()
        await observer.wait_final(again)
        assert [a.read for a in alerts(db)] == [True, False]


async def test_unreadable_action_fails_alone_on_sqlite(db, receiver):
    await _two_keys_one_database(db, receiver)


async def test_unreadable_action_fails_alone_on_postgresql(postgres, receiver):
    db = postgres.new_database()
    try:
        await _two_keys_one_database(db, receiver)
    finally:
        db.dispose()


async def test_right_key_delivers_what_the_other_workstation_stored(db, receiver):
    key_a = SecretBox.generate()
    signed = make_action(
        db,
        key_a,
        receiver.url(),
        hmac_secret=generate_secret(SignatureScheme.SHOPCTRL),
        signature_scheme=SignatureScheme.SHOPCTRL,
    )
    items = add_items(db, signed, 2)
    same_key = SecretBox(key_a._key, source="an imported key")  # noqa: SLF001 - the same key, another box
    async with running_engine(db, same_key) as (_engine, observer):
        assert set((await observer.wait_final(items)).values()) == {"delivered"}
    assert alerts(db) == []


def test_two_engines_failing_one_action_at_once_raise_one_alert(postgres):
    """Two claim transactions fail items of one action at the same moment: the second waits on the
    action's advisory lock, then sees the first one's alert and raises none."""
    import threading
    import time

    from sqlalchemy import func, text

    from shopctrl_desktop.store.claim import ClaimedItem, RecordResult
    from shopctrl_desktop.store.models import utcnow
    from shopctrl_desktop.store.unreadable import fail_unreadable_items

    db = postgres.new_database()
    try:
        action = make_action(db, SecretBox.generate(), "http://127.0.0.1:9/x", username="u", password="pw")
        first, second = (
            ClaimedItem(
                i, 0, 3, "POST", action.url, "127.0.0.1", {}, "", action.id, None, "ERP", "OrderChanged"
            )
            for i in add_items(db, action, 2)
        )
        wrong_key = SecretBox.generate()
        done = threading.Event()

        def other_engine() -> None:
            with db.session() as s:
                fail_unreadable_items(s, [second], {action.id}, wrong_key, utcnow(), RecordResult())
            done.set()

        with db.session() as s1:
            fail_unreadable_items(s1, [first], {action.id}, wrong_key, utcnow(), RecordResult())
            thread = threading.Thread(target=other_engine)
            thread.start()
            deadline = time.monotonic() + 10
            waiting = 0
            while not done.is_set() and waiting == 0 and time.monotonic() < deadline:
                with db.session() as probe:
                    waiting = probe.scalar(
                        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    )
            assert waiting == 1 and not done.is_set()  # the other engine waits for this transaction
        thread.join(10)
        assert done.is_set()
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(AlertRow)) == 1
        assert {item_row(db, it.id).status for it in (first, second)} == {"failed"}
    finally:
        db.dispose()
