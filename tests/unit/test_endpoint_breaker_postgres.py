"""The circuit breaker on a shared PostgreSQL database: two engines (engine logins) see one circuit — one
Warning when it opens, one Information when it recovers, attempts only for what was sent; a support login
pauses and resumes an endpoint (its grants suffice)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.domain.scheduler import PREFETCH
from shopctrl_desktop.store import endpoints, roles
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import AlertRow, QueueItemRow
from tests.helpers.engine_harness import fast_settings, running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.helpers.receivers import Receiver
from tests.unit.test_endpoint_breaker_engine import Clock, Switchable, until


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-breaker-") as cluster:
        yield cluster


@pytest.fixture
def shared(postgres):
    owner = postgres.new_database()
    name = make_url(owner.url).database
    suffix = uuid.uuid4().hex[:6]
    with owner.session() as s:
        roles.setup_roles(s)
    logins = {}
    for role in (Role.ENGINE, Role.SUPPORT):
        login = f"{role.value}_{suffix}"
        with owner.session() as s:
            roles.add_user(s, login, role, "pw-" + suffix)
        logins[role] = Database(
            f"postgresql+psycopg://{login}@/{name}?host={postgres.base}&port={postgres.port}"
        )
    yield owner, logins
    for database in (*logins.values(), owner):
        database.dispose()


def severities(db) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AlertRow.severity).order_by(AlertRow.id)))


def statuses(db, ids) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(QueueItemRow.status).where(QueueItemRow.id.in_(ids))))


def attempts(db, ids) -> int:
    with db.session() as s:
        return sum(s.scalars(select(QueueItemRow.attempts).where(QueueItemRow.id.in_(ids))))


async def test_two_engines_share_one_circuit(shared, box):
    owner, logins = shared
    answer = Switchable(503)
    erp = await Receiver(responder=answer).start()
    try:
        action = make_action(owner, box, erp.url("/api"), title="Orders to ERP")
        ids = add_items(owner, action, 30)
        clock = Clock()
        settings = fast_settings(concurrency=2, per_host_concurrency=1)
        engine_db = logins[Role.ENGINE]
        async with (
            running_engine(engine_db, box, settings, clock=clock, poll_interval=0.1) as (one, _),
            running_engine(engine_db, box, settings, clock=clock, poll_interval=0.1) as (two, _),
        ):
            await until(lambda: "warning" in severities(owner))
            # both engines learn of the open circuit (the other within its refresh)
            key = endpoints.endpoint_key(erp.url("/api"))
            await until(lambda: key in one._store.circuits.blocked and key in two._store.circuits.blocked)  # noqa: SLF001
            # every request sent is recorded as an attempt once the engines' turns are through, no other
            await until(lambda: attempts(owner, ids) == len(erp.requests))
            sent = len(erp.requests)
            # the fifth failure opens it; each engine may still send what it had claimed ahead for that host
            # (PREFETCH x per-host = 4 items) before its next database turn tells it (docs/endpoints.md)
            assert 5 <= sent <= 5 + 2 * PREFETCH * settings.per_host_concurrency

            answer.status = 200
            clock.advance(31)
            one.wake()
            two.wake()
            await until(lambda: statuses(owner, ids) == {"delivered"}, timeout=30)
        assert severities(owner).count("warning") == 1 and severities(owner).count("information") == 1
        assert "error" not in severities(owner)
        assert len(erp.requests) == attempts(owner, ids)
    finally:
        await erp.stop()


def test_a_support_login_pauses_and_resumes_an_endpoint(shared, box):
    owner, logins = shared
    action = make_action(owner, box, "https://erp.example.com/api", title="Orders to ERP")
    ids = add_items(owner, action, 4)
    support = logins[Role.SUPPORT]
    with support.session() as s:
        key, waiting, changed = endpoints.pause_endpoint(s, "https://erp.example.com/api")
    assert (key, waiting, changed) == ("https://erp.example.com/api", 4, True)
    with owner.session() as s:
        rows = list(s.scalars(select(QueueItemRow).where(QueueItemRow.id.in_(ids))))
        assert all(r.next_attempt_at is None and r.attempts == 0 for r in rows)
    with support.session() as s:
        assert endpoints.resume_endpoint(s, "https://erp.example.com/api")[1:] == (4, True)
    with owner.session() as s:
        assert all(r.next_attempt_at is not None for r in s.scalars(select(QueueItemRow)))
