"""Shops (SPEC §3): learned from events, renamed by a person — the name rules (domain/shops.py) and the store
(store/shops.py) on SQLite and on a real PostgreSQL server, with the rename in the audit trail."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from shopctrl_desktop.domain.audit import AuditAction
from shopctrl_desktop.domain.shops import (
    MAX_NAME_LENGTH,
    ShopNameError,
    UnknownShopError,
    validate_shop_name,
)
from shopctrl_desktop.store import audit, queue
from shopctrl_desktop.store.shops import list_shops, rename_shop, shop_names
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_queue_store import order_event


# --- the rules ------------------------------------------------------------------------------------------
def test_a_name_is_trimmed() -> None:
    assert validate_shop_name(3, "  Main store  ") == "Main store"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "cannot be empty"),
        ("   \t ", "cannot be empty"),
        ("Main\nstore", "one line"),
        ("Main\tstore", "one line"),
        ("x" * (MAX_NAME_LENGTH + 1), f"at most {MAX_NAME_LENGTH} characters (this one has 81)"),
        ("Shop 7", "the name shop 7 is learned with"),
        ("shop7", "the name shop 7 is learned with"),
    ],
)
def test_bad_names_are_refused_in_words(name: str, words: str) -> None:
    with pytest.raises(ShopNameError, match=re.escape(words)):
        validate_shop_name(3, name)


def test_the_longest_name_and_the_own_default_name_are_allowed() -> None:
    assert validate_shop_name(3, "x" * MAX_NAME_LENGTH) == "x" * MAX_NAME_LENGTH
    assert validate_shop_name(3, "shop 3") == "shop 3"  # back to (a spelling of) its learned name


def test_names_are_unique_ignoring_case_but_a_shop_may_keep_its_own() -> None:
    others = [(3, "Main store"), (5, "Outlet")]
    with pytest.raises(ShopNameError, match="shop 5 is already called “Outlet”"):
        validate_shop_name(3, " outlet ", others)
    assert validate_shop_name(3, "MAIN STORE", others) == "MAIN STORE"


# --- the store ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-shops-") as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, db):
    if request.param == "sqlite":
        yield db
        return
    pg = request.getfixturevalue("postgres").new_database()
    yield pg
    pg.dispose()


def learn(database, box, *shops: int) -> None:
    with database.session() as s:
        queue.enqueue_events(s, box, [order_event(n, shop=shop) for n, shop in enumerate(shops, start=1)])


def test_shops_learned_from_events_are_listed_with_when_they_were_first_seen(database, box) -> None:
    learn(database, box, 5, 3, 5)
    with database.sessions() as s:
        shops = list_shops(s)
    assert [(shop.id, shop.name) for shop in shops] == [(3, "Shop 3"), (5, "Shop 5")]
    assert all(shop.first_seen is not None and shop.first_seen.tzinfo is not None for shop in shops)
    assert shops[0].to_json()["firstSeen"].endswith("Z")


def test_a_rename_is_stored_and_recorded_old_to_new_in_the_same_transaction(database, box) -> None:
    learn(database, box, 3, 5)
    with database.session() as s:
        result = rename_shop(s, 3, "  Main store ")
    assert (result.old, result.new, result.changed) == ("Shop 3", "Main store", True)
    with database.sessions() as s:
        assert shop_names(s) == {3: "Main store", 5: "Shop 5"}
        [entry] = audit.list_entries(s)
    assert entry.action == AuditAction.SHOP_RENAMED
    assert entry.subject.to_json() == {"kind": "shop", "id": 3, "name": "Main store"}
    assert [c.to_json() for c in entry.changes] == [{"field": "name", "old": "Shop 3", "new": "Main store"}]
    assert entry.summary == "Renamed shop 3 “Shop 3” → “Main store”"

    with database.session() as s:  # the same name again: nothing changes, nothing is recorded
        assert not rename_shop(s, 3, "Main store").changed
    with pytest.raises(RuntimeError), database.session() as s:  # rolled back: no name, no entry
        rename_shop(s, 5, "Outlet")
        raise RuntimeError("the transaction fails after the rename")
    with database.sessions() as s:
        assert shop_names(s) == {3: "Main store", 5: "Shop 5"}
        assert len(audit.list_entries(s)) == 1


def test_unknown_shops_and_bad_names_change_nothing(database, box) -> None:
    learn(database, box, 3, 5)
    with database.session() as s:
        rename_shop(s, 5, "Outlet")
    with pytest.raises(UnknownShopError, match="there is no shop 4"), database.session() as s:
        rename_shop(s, 4, "Warehouse")
    with pytest.raises(ShopNameError, match="already called “Outlet”"), database.session() as s:
        rename_shop(s, 3, "OUTLET")
    with database.sessions() as s:
        assert shop_names(s) == {3: "Shop 3", 5: "Outlet"}
        assert [e.action for e in audit.list_entries(s)] == [AuditAction.SHOP_RENAMED]


def test_a_renamed_shop_keeps_its_name_when_more_events_arrive(database, box) -> None:
    learn(database, box, 3)
    with database.session() as s:
        rename_shop(s, 3, "Main store")
    learn(database, box, 3, 4)
    with database.sessions() as s:
        assert shop_names(s) == {3: "Main store", 4: "Shop 4"}


LOCK_WAITERS = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


def test_two_renames_to_one_name_at_the_same_moment_let_only_one_through(postgres, box) -> None:
    """Each rename locks the shop rows: on PostgreSQL the second waits, then sees the first's name."""
    database = postgres.new_database()
    try:
        learn(database, box, 3, 5)
        first_holds_lock = threading.Event()
        results: dict[int, str] = {}
        release = threading.Event()

        def first() -> None:
            with database.session() as s:
                rename_shop(s, 3, "Main store")
                first_holds_lock.set()
                release.wait(10)
            results[3] = "ok"

        def second() -> None:
            first_holds_lock.wait(10)
            try:
                with database.session() as s:
                    rename_shop(s, 5, "main STORE")
                results[5] = "ok"
            except ShopNameError as exc:
                results[5] = str(exc)

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        first_holds_lock.wait(10)
        # the second rename is blocked on the row locks until the first commits
        with database.sessions() as s:
            for _ in range(200):
                waiting = s.scalar(text(LOCK_WAITERS))
                if waiting:
                    break
                release.wait(0.05)
        assert waiting == 1
        release.set()
        for t in threads:
            t.join(10)
        assert results == {3: "ok", 5: "shop 3 is already called “Main store”; shop names are unique"}
    finally:
        database.dispose()
