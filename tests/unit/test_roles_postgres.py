"""Roles enforced by the database (SPEC §10) on a real PostgreSQL server: ``setup_roles`` (store/roles.py)
makes the three group roles and their GRANTs; real logins in each group then use the app's store API and a
raw psycopg connection (the "psql" case). Skipped when the server binaries are not installed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from shopctrl_desktop.domain.audit import AuditAction
from shopctrl_desktop.domain.model import ItemStatus, Trigger, WebhookAction
from shopctrl_desktop.domain.roles import Role, group_role_name
from shopctrl_desktop.store import alerts as alerts_repo
from shopctrl_desktop.store import audit, queue, roles
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.browse import item_detail
from shopctrl_desktop.store.db import Database
from tests.helpers.postgres import PostgresCluster, throwaway_postgres
from tests.unit.test_queue_store import order_event

HMAC = "hmac-plain-5e1f"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_postgres("shopctrl-pg-roles-") as cluster:
        yield cluster


@dataclass
class Shared:
    """A database set up by its owner, with one login per role (names unique on the server)."""

    cluster: PostgresCluster
    owner: Database
    name: str
    logins: dict[Role, str]
    opened: list[Database]

    def url(self, user: str) -> str:
        c = self.cluster
        return f"postgresql+psycopg://{user}@/{self.name}?host={c.base}&port={c.port}"

    def login(self, role: Role) -> Database:
        database = Database(self.url(self.logins[role]))
        self.opened.append(database)
        return database

    def psql(self, role: Role):  # type: ignore[no-untyped-def]
        import psycopg

        c = self.cluster
        dsn = f"dbname={self.name} user={self.logins[role]} host={c.base} port={c.port}"
        return psycopg.connect(dsn, autocommit=True)


@pytest.fixture
def shared(postgres, box) -> Iterator[Shared]:
    owner = postgres.new_database()
    name = make_url(owner.url).database
    suffix = uuid.uuid4().hex[:6]
    logins = {role: f"{role.value}_{suffix}" for role in Role}
    with owner.session() as s:
        roles.setup_roles(s)
    for role, login in logins.items():
        with owner.session() as s:
            roles.add_user(s, login, role, "pw-" + suffix)
    with owner.session() as s:
        trigger_store.save_trigger(
            s,
            box,
            Trigger(
                title="ERP",
                event="OrderChanged",
                actions=(WebhookAction(url="https://erp.example/hook", hmac_secret=HMAC, username="erp"),),
            ),
        )
    state = Shared(postgres, owner, name, logins, [])
    yield state
    for database in (*state.opened, owner):
        database.dispose()


def refused(exc: BaseException) -> bool:
    return roles.refusal_message(exc) is not None


def test_setup_names_the_roles_after_the_database_and_a_second_run_changes_nothing(shared) -> None:
    with shared.owner.session() as s:
        before = roles.privilege_snapshot(s)
        again = roles.setup_roles(s)
        after = roles.privilege_snapshot(s)
        groups = set(
            s.scalars(text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": f"{shared.name}_%"})
        )
    assert groups == {group_role_name(shared.name, r) for r in Role}
    assert again == roles.SetupResult(created_roles=(), changed=False)
    assert before == after and before  # the same non-empty set of privileges
    # the support group may read no secret column; the engine group may
    secret_columns = {c for c in ("hmac_secret_enc", "password_enc", "client_certificate_enc")}
    granted = {(g, t, c) for g, t, c, p in before if p == "SELECT" and t == "webhook_actions"}
    support, engine = group_role_name(shared.name, Role.SUPPORT), group_role_name(shared.name, Role.ENGINE)
    assert not {c for g, _t, c in granted if g == support} & secret_columns
    assert (engine, "webhook_actions", "") in granted


def test_whoami_names_each_login_and_its_role(shared) -> None:
    with shared.owner.session() as s:
        me = roles.current_identity(s, "os-user")
    assert (me.user, me.role, me.owner) == ("shop", Role.ADMIN, True)
    for role in Role:
        with shared.login(role).session() as s:
            me = roles.current_identity(s, "os-user")
            secrets = roles.may_read_secrets(s)
        assert (me.user, me.role, me.owner) == (shared.logins[role], role, False)
        assert secrets == (role is not Role.SUPPORT)


def test_a_support_login_watches_and_retries_through_the_store_api(shared, box) -> None:
    with shared.owner.session() as s:
        result = queue.enqueue_events(s, box, [order_event(1), order_event(2)])
        first, second = result.new_item_ids
        s.execute(text("UPDATE queue_items SET status = 'failed' WHERE id = :i"), {"i": first})
        alert = alerts_repo.create_alert(s, "error", "ERP failed", "500", item_id=first)
    support = shared.login(Role.SUPPORT)
    with support.session() as s:
        (trigger,) = trigger_store.list_triggers(s, None)
        assert trigger.title == "ERP" and trigger.actions[0].hmac_secret is None
        assert trigger.actions[0].username == "erp"
        assert trigger_store.get_trigger(s, None, trigger.id) == trigger
        detail = item_detail(s, first)
        assert detail is not None and detail.basic_auth_user == "erp" and detail.signature_scheme is None
        assert queue.retry_item(s, first)
        assert queue.cancel_item(s, second)
        resent = queue.resend_item(s, second)
        assert alerts_repo.mark_read(s, [alert]) == 1
    with shared.owner.session() as s:
        statuses = {i.id: i.status for i in queue.list_items(s)}
        entries = audit.list_entries(s, who=shared.logins[Role.SUPPORT])
    assert statuses[first] == ItemStatus.QUEUED and statuses[second] == ItemStatus.CANCELLED
    assert resent is not None and statuses[resent] == ItemStatus.QUEUED
    assert {e.action for e in entries} == {
        AuditAction.ITEM_RETRIED,
        AuditAction.ITEM_CANCELLED,
        AuditAction.ITEM_RESENT,
        AuditAction.ALERTS_READ,
    }


def test_the_server_refuses_a_support_login_secrets_and_trigger_changes_through_the_store(
    shared, box
) -> None:
    support = shared.login(Role.SUPPORT)
    with support.session() as s:
        (public,) = trigger_store.list_triggers(s, None)
    attempts = [
        lambda s: trigger_store.list_triggers(s, box),  # would read the secret columns
        lambda s: trigger_store.save_trigger(s, box, replace(public, title="ERP (mine)")),
        lambda s: trigger_store.set_enabled(s, public.id, False),
        lambda s: trigger_store.delete_trigger(s, public.id),
        lambda s: audit.list_entries(s),
    ]
    for attempt in attempts:
        with pytest.raises(DBAPIError) as caught, support.session() as s:
            attempt(s)
        assert refused(caught.value), caught.value
    message = roles.refusal_message(caught.value, "alice")
    assert message is not None and "refused" in message and "'alice'" in message
    with shared.owner.session() as s:
        (still,) = trigger_store.list_triggers(s, box)
    assert still.title == "ERP" and still.enabled and still.actions[0].hmac_secret == HMAC


def test_the_server_refuses_a_support_login_through_psql(shared, box) -> None:
    import psycopg

    with shared.owner.session() as s:
        (item,) = queue.enqueue_events(s, box, [order_event(1)]).new_item_ids
    with shared.psql(Role.SUPPORT) as conn:
        assert conn.execute("SELECT id, url, username FROM webhook_actions").fetchall()
        for statement in (
            "SELECT hmac_secret_enc FROM webhook_actions",
            "SELECT password_enc FROM webhook_actions",
            "SELECT * FROM webhook_actions",
            "UPDATE webhook_actions SET url = 'https://evil.example/'",
            "UPDATE triggers SET enabled = false",
            "INSERT INTO triggers (title, event, enabled) VALUES ('x', 'OrderChanged', true)",
            "DELETE FROM triggers",
            f"UPDATE queue_items SET url = 'https://evil.example/' WHERE id = {item}",
            f"DELETE FROM queue_items WHERE id = {item}",
            "SELECT who FROM audit_entries",
            "UPDATE alerts SET title = 'x'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # what retry does is allowed
        conn.execute(
            "UPDATE queue_items SET status = 'queued', next_attempt_at = now(), finished_at = NULL "
            f"WHERE id = {item}"
        )


def test_an_admin_login_may_change_triggers_and_read_secrets_but_not_rewrite_the_audit_trail(
    shared, box
) -> None:
    import psycopg

    admin = shared.login(Role.ADMIN)
    with admin.session() as s:
        (trigger,) = trigger_store.list_triggers(s, box)
        assert trigger.actions[0].hmac_secret == HMAC
        trigger_store.save_trigger(s, box, replace(trigger, title="ERP v2"))
        trigger_store.set_enabled(s, trigger.id, False)
        queue.enqueue_events(s, box, [order_event(5)])
        assert [e.who for e in audit.list_entries(s, who=shared.logins[Role.ADMIN])]
    with admin.session() as s:
        trigger_store.delete_trigger(s, trigger.id)
        assert trigger_store.list_triggers(s, box) == []
    with shared.psql(Role.ADMIN) as conn:
        for statement in ("UPDATE audit_entries SET who = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


async def test_an_engine_login_ingests_and_delivers_to_a_real_receiver(shared, box, app_paths) -> None:
    from shopctrl_desktop.engine.service import Engine
    from tests.helpers.engine_harness import RecordingObserver, fast_settings
    from tests.helpers.receivers import Receiver
    from tests.unit.test_delivery_service import order_changed

    receiver = await Receiver().start()
    try:
        with shared.owner.session() as s:
            (trigger,) = trigger_store.list_triggers(s, box)
            action = replace(trigger.actions[0], url=receiver.url())
            trigger_store.save_trigger(s, box, replace(trigger, actions=(action,)))
        engine_db = shared.login(Role.ENGINE)
        observer = RecordingObserver()
        engine = Engine(engine_db, box, fast_settings(), app_paths, observer, listen=False)
        await engine.start()
        try:
            result = await engine.ingest([order_changed(7)])
            (item_id,) = result.new_item_ids
            assert await observer.wait_final([item_id], timeout=15) == {item_id: "delivered"}
        finally:
            await engine.stop()
        (req,) = receiver.requests
        assert req.header("X-SIGNATURE")  # the engine read and decrypted the secret
        # the engine login wrote the Endpoints page's per-minute figures; a support login reads them
        from shopctrl_desktop.store.endpoint_stats import endpoint_page

        with shared.login(Role.SUPPORT).session() as s:
            (figures,) = [e for e in endpoint_page(s) if e.hour.attempts]  # the receiver, the only one used
        assert (figures.hour.attempts, figures.hour.failures) == (1, 0)
    finally:
        await receiver.stop()
    with shared.psql(Role.ENGINE) as conn:
        import psycopg

        # (it may delete finished items, their attempts and events: retention, store/retention.py)
        for statement in (
            "UPDATE triggers SET enabled = false",
            "DELETE FROM triggers",
            "DELETE FROM alerts",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
