"""The parts of ``serve --workers N`` that need no process: the layout rule, the wake-up datagrams, and
giving back the items of a delivery process that is gone (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from shopctrl_desktop.domain.serve_layout import ServeLayout, default_workers, serve_layout, share
from shopctrl_desktop.engine.delivery import owner_prefix
from shopctrl_desktop.engine.wake_channel import WakeSender, bind_wake_socket, receive_wakes
from shopctrl_desktop.store import claim as claims
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import utcnow
from tests.helpers.factories import add_items, item_row, make_action
from tests.helpers.postgres import PostgresCluster, throwaway_postgres


def test_one_worker_is_the_single_process_and_more_split_by_database() -> None:
    assert serve_layout(1, sqlite=True).single_process
    assert serve_layout(2, sqlite=True) == ServeLayout(intake=1, delivery=1)
    assert serve_layout(4, sqlite=True) == ServeLayout(intake=3, delivery=1)  # one writer: one delivery
    assert serve_layout(4, sqlite=False) == ServeLayout(intake=2, delivery=2)
    assert serve_layout(3, sqlite=False) == ServeLayout(intake=2, delivery=1)
    with pytest.raises(ValueError):
        serve_layout(0, sqlite=True)
    assert [default_workers(n) for n in (None, 1, 2, 3, 16)] == [1, 1, 2, 3, 4]


def test_delivery_limits_are_shared_so_the_totals_hold() -> None:
    assert [share(16, 2, i) for i in range(2)] == [8, 8]
    assert [share(5, 2, i) for i in range(2)] == [3, 2]
    assert sum(share(4, 3, i) for i in range(3)) == 4
    assert [share(1, 2, i) for i in range(2)] == [1, 1]  # never zero: each process can send


def test_a_wake_up_reaches_every_delivery_socket_and_a_lost_one_costs_nothing() -> None:
    async def scenario() -> list[int]:
        sockets = [bind_wake_socket(), bind_wake_socket()]
        woken = [0, 0]
        both = asyncio.Event()

        def on_wake(n: int) -> None:
            woken[n] += 1
            if all(woken):
                both.set()

        transports = [await receive_wakes(sock, lambda n=n: on_wake(n)) for n, sock in enumerate(sockets)]
        sender = WakeSender([s.getsockname()[1] for s in sockets])
        sender.wake()
        await asyncio.wait_for(both.wait(), 5)
        for transport in transports:
            transport.close()
        sender.wake()  # nobody listens any more: no error
        sender.close()
        return woken

    assert asyncio.run(scenario()) == [1, 1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-") as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def anydb(request, app_paths):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        database = Database(f"sqlite:///{app_paths.data_dir / 'serve.sqlite3'}")
    else:
        database = request.getfixturevalue("postgres").new_database()
    yield database
    database.dispose()


def test_the_items_of_a_dead_delivery_process_are_due_again_at_once(anydb, box) -> None:  # type: ignore[no-untyped-def]
    action = make_action(anydb, box, "http://a.example/hook")
    ids = add_items(anydb, action, 3)
    dead, alive = owner_prefix(4242) + "abcd1234", owner_prefix(42) + "ef_%5678"
    with anydb.session() as s:
        mine = claims.claim_due(s, dead, 2, utcnow(), 30.0)
    with anydb.session() as s:
        theirs = claims.claim_due(s, alive, 5, utcnow(), 30.0)
    assert len(mine) == 2 and len(theirs) == 1
    with anydb.session() as s:
        assert claims.release_owner(s, owner_prefix(4242)) == 2
    for item in mine:
        row = item_row(anydb, item.id)
        assert row.status == "queued" and row.lease_owner is None and row.attempts == 0
    assert item_row(anydb, theirs[0].id).lease_owner == alive  # another process's lease is left alone
    with anydb.session() as s:  # "42:" must not match "4242:", nor the LIKE wildcards in a name
        assert claims.release_owner(s, owner_prefix(4)) == 0
    assert sorted(i.id for i in mine + theirs) == sorted(ids)
