"""Secret rotation on a real PostgreSQL server with the roles of SPEC §10: the engine login reads (and signs
with) the previous sealed secret, a support login never can — through the store and through psql."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from shopctrl_desktop.domain.model import SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.domain.signing import generate_secret
from shopctrl_desktop.store import roles
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.secret_rotation import rotate_secret
from tests.unit.test_roles_postgres import postgres, shared  # noqa: F401 - the fixtures

SW = SignatureScheme.STANDARD_WEBHOOKS


def test_the_engine_reads_the_previous_secret_and_support_never(shared, box) -> None:  # noqa: F811
    import psycopg

    old, new = generate_secret(SW), generate_secret(SW)
    with shared.owner.session() as s:
        trigger_id = trigger_store.save_trigger(
            s,
            box,
            Trigger(
                title="Standard receiver",
                event="OrderChanged",
                actions=(WebhookAction(url="https://std.example/h", hmac_secret=old, signature_scheme=SW),),
            ),
        )
        action_id = trigger_store.get_trigger(s, box, trigger_id).actions[0].id
    admin = shared.login(Role.ADMIN)
    now = datetime.now(UTC)
    with admin.session() as s:  # an admin rotates
        rotate_secret(s, box, action_id, new, overlap_hours=24, now=now)

    with shared.login(Role.ENGINE).session() as s:
        engine_view = trigger_store.get_trigger(s, box, trigger_id).actions[0]
    assert (engine_view.hmac_secret, engine_view.previous_hmac_secret) == (new, old)
    assert engine_view.previous_secret_expires_at == now + timedelta(hours=24)
    with shared.psql(Role.ENGINE) as conn:
        (sealed,) = conn.execute(
            "SELECT previous_hmac_secret_enc FROM webhook_actions WHERE id = %s", (action_id,)
        ).fetchone()
    assert sealed and old not in sealed

    support = shared.login(Role.SUPPORT)
    with support.session() as s:  # the public columns, the rotation times included
        public = trigger_store.get_trigger(s, None, trigger_id).actions[0]
    assert public.secret_rotated_at is not None and public.previous_hmac_secret is None
    with pytest.raises(DBAPIError) as caught, support.session() as s:
        rotate_secret(s, box, action_id, generate_secret(SW), overlap_hours=24)
    assert roles.refusal_message(caught.value) is not None
    with shared.psql(Role.SUPPORT) as conn:
        assert conn.execute(
            "SELECT secret_rotated_at, previous_secret_expires_at FROM webhook_actions"
        ).fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT previous_hmac_secret_enc FROM webhook_actions")
