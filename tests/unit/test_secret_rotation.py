"""Secret rotation (issue 12 item 7): the pure rule, the store (sealed previous secret, audit, cut-over,
export), and real deliveries to a 127.0.0.1 receiver checked with the ``standardwebhooks`` package."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shopctrl_desktop.domain.model import SignatureScheme, WebhookAction
from shopctrl_desktop.domain.secret_rotation import (
    plan_rotation,
    rotation_notice,
    signing_secrets,
    validate_overlap_hours,
)
from shopctrl_desktop.domain.signing import generate_secret, sign, verify
from shopctrl_desktop.domain.trigger_file import export_document
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.models import AuditEntryRow, WebhookActionRow
from shopctrl_desktop.store.secret_rotation import RotationError, rotate_secret
from tests.helpers.engine_harness import running_engine
from tests.helpers.factories import add_items, make_action
from tests.helpers.receivers import Receiver

NOW = datetime(2026, 12, 3, 10, 42, tzinfo=UTC)
SW = SignatureScheme.STANDARD_WEBHOOKS


# --- the rule (pure) ------------------------------------------------------------------------------------
def test_standard_webhooks_signs_with_both_secrets_until_the_overlap_ends() -> None:
    plan = plan_rotation(SW, NOW, 24)
    assert plan.previous_expires_at == NOW + timedelta(hours=24) and not plan.cut_over
    action = WebhookAction(
        url="https://x.example/h",
        hmac_secret="new",
        signature_scheme=SW,
        previous_hmac_secret="old",
        previous_secret_expires_at=plan.previous_expires_at,
    )
    assert signing_secrets(action, NOW) == ("new", "old")
    assert signing_secrets(action, NOW + timedelta(hours=23, minutes=59)) == ("new", "old")
    assert signing_secrets(action, NOW + timedelta(hours=24)) == ("new",)
    assert signing_secrets(WebhookAction(url="https://x.example/h"), NOW) == ()


@pytest.mark.parametrize("scheme", [SignatureScheme.SHOPCTRL, SignatureScheme.GITHUB])
def test_shopctrl_and_github_cut_over_at_once(scheme) -> None:
    assert plan_rotation(scheme, NOW, 24).cut_over
    action = WebhookAction(
        url="https://x.example/h",
        hmac_secret="new",
        signature_scheme=scheme,
        previous_hmac_secret="old",  # even a leftover previous secret never signs under these schemes
        previous_secret_expires_at=NOW + timedelta(hours=1),
    )
    assert signing_secrets(action, NOW) == ("new",)


def test_no_overlap_or_no_previous_secret_is_a_cut_over_and_bad_overlaps_are_refused() -> None:
    assert plan_rotation(SW, NOW, 0).cut_over
    assert plan_rotation(SW, NOW, 24, had_secret=False).cut_over
    for bad in (-1, 24 * 31, "soon"):
        with pytest.raises(ValueError, match="overlap"):
            validate_overlap_hours(bad)  # type: ignore[arg-type]


def test_the_notice_says_until_when_the_previous_secret_signs() -> None:
    until = NOW + timedelta(hours=24)
    assert rotation_notice(SW, NOW, until, NOW) == (
        "Secret rotated 2026-12-03 10:42; the previous secret is also signed until 2026-12-04 10:42"
    )
    assert "no longer" in rotation_notice(SW, NOW, until, until)
    assert rotation_notice(SignatureScheme.GITHUB, NOW, None, NOW) == (
        "Secret rotated 2026-12-03 10:42 (receivers must use the new secret now)"
    )
    assert rotation_notice(SW, None, None, NOW) == ""


def test_both_signatures_are_in_one_header_and_each_secret_verifies_alone() -> None:
    old, new = generate_secret(SW), generate_secret(SW)
    headers = sign(SW, new, b'{"a":1}', "42", 1_700_000_000, also=(old,))
    first, second = headers["webhook-signature"].split(" ")
    assert first.startswith("v1,") and second.startswith("v1,")
    assert verify(SW, old, b'{"a":1}', headers) and verify(SW, new, b'{"a":1}', headers)
    assert not verify(SW, generate_secret(SW), b'{"a":1}', headers)


# --- the store --------------------------------------------------------------------------------------------
def test_rotation_keeps_the_previous_secret_sealed_records_it_and_never_exports_it(db, box) -> None:
    old, new = generate_secret(SW), generate_secret(SW)
    action = make_action(db, box, "https://erp.example/h", title="ERP", hmac_secret=old, signature_scheme=SW)
    with db.session() as s:
        rotation = rotate_secret(s, box, action.id, new, overlap_hours=24, now=NOW)
    assert rotation.plan.previous_expires_at == NOW + timedelta(hours=24)
    with db.session() as s:
        row = s.get(WebhookActionRow, action.id)
        assert row.previous_hmac_secret_enc and old not in row.previous_hmac_secret_enc  # sealed
        assert (row.secret_rotated_at, row.previous_secret_expires_at) == (NOW, NOW + timedelta(hours=24))
        (trigger,) = trigger_store.list_triggers(s, box)
        (entry,) = s.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "secret.rotated"))
    stored = trigger.actions[0]
    assert (stored.hmac_secret, stored.previous_hmac_secret) == (new, old)
    assert old not in entry.changes_json and new not in entry.changes_json
    assert "2026-12-04T10:42" in entry.changes_json
    exported = json.dumps(export_document([trigger], include_secrets=True))
    assert new in exported and old not in exported  # the previous secret is state, never exported

    # saving the trigger unchanged keeps the overlap; typing another secret over it ends it at once
    with db.session() as s:
        trigger_store.save_trigger(s, box, trigger)
        assert s.get(WebhookActionRow, action.id).previous_hmac_secret_enc is not None
    with db.session() as s:
        typed = generate_secret(SW)
        changed = trigger.actions[0].__class__(**{**trigger.actions[0].__dict__, "hmac_secret": typed})
        trigger_store.save_trigger(s, box, trigger.__class__(**{**trigger.__dict__, "actions": (changed,)}))
        row = s.get(WebhookActionRow, action.id)
        assert (row.previous_hmac_secret_enc, row.previous_secret_expires_at) == (None, None)


@pytest.mark.parametrize("scheme", [SignatureScheme.SHOPCTRL, SignatureScheme.GITHUB])
def test_shopctrl_and_github_rotation_keeps_no_previous_secret(db, box, scheme) -> None:
    action = make_action(db, box, "https://erp.example/h", hmac_secret="old-secret", signature_scheme=scheme)
    with db.session() as s:
        rotation = rotate_secret(s, box, action.id, "new-secret", overlap_hours=24, now=NOW)
    assert rotation.plan.cut_over
    with db.session() as s:
        row = s.get(WebhookActionRow, action.id)
        assert (row.previous_hmac_secret_enc, row.secret_rotated_at) == (None, NOW)


def test_rotation_through_the_editor_path_rotates_on_save(db, box) -> None:
    old, new = generate_secret(SW), generate_secret(SW)
    action = make_action(db, box, "https://erp.example/h", hmac_secret=old, signature_scheme=SW)
    with db.session() as s:
        (trigger,) = trigger_store.list_triggers(s, box)
        rotated = WebhookAction(
            **{**trigger.actions[0].__dict__, "hmac_secret": new, "rotate_overlap_hours": 12.0}
        )
        draft = trigger.__class__(**{**trigger.__dict__, "actions": (rotated,)})
        trigger_store.save_trigger(s, box, draft)
    with db.session() as s:  # the same draft saved again (the editor still open): nothing is rotated twice
        trigger_store.save_trigger(s, box, draft)
    with db.session() as s:
        (trigger,) = trigger_store.list_triggers(s, box)
        actions = [e.action for e in s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))]
    stored = trigger.actions[0]
    assert (stored.hmac_secret, stored.previous_hmac_secret) == (new, old)
    assert stored.previous_secret_expires_at - stored.secret_rotated_at == timedelta(hours=12)
    assert actions.count("secret.rotated") == 1 and stored.id == action.id


def test_bad_rotations_are_refused_in_words(db, box) -> None:
    secret = generate_secret(SW)
    action = make_action(db, box, "https://erp.example/h", hmac_secret=secret, signature_scheme=SW)
    cases = [
        (999, generate_secret(SW), 24, "no webhook action #999"),
        (action.id, "not-whsec", 24, "must start with 'whsec_'"),
        (action.id, secret, 24, "same as the current one"),
        (action.id, generate_secret(SW), -3, "overlap must be between"),
    ]
    for action_id, new, hours, words in cases:
        with pytest.raises(RotationError, match=words) as caught, db.session() as s:
            rotate_secret(s, box, action_id, new, overlap_hours=hours)
        assert secret not in str(caught.value)


# --- real deliveries ------------------------------------------------------------------------------------
async def test_receivers_with_the_old_or_the_new_secret_accept_during_the_overlap_only_the_new_after(
    db, box
) -> None:
    receiver = await Receiver().start()
    try:
        secrets: dict[str, tuple[str, str]] = {}
        item_ids = []
        # rotated just now (overlap running) and rotated 25 h ago (a 24 h overlap that has ended): the
        # rotation time is injected instead of waiting a day
        for path, rotated_at in (
            ("/during", datetime.now(UTC)),
            ("/after", datetime.now(UTC) - timedelta(hours=25)),
        ):
            old, new = generate_secret(SW), generate_secret(SW)
            action = make_action(db, box, receiver.url(path), hmac_secret=old, signature_scheme=SW)
            with db.session() as s:
                rotate_secret(s, box, action.id, new, overlap_hours=24, now=rotated_at)
            secrets[path] = (old, new)
            item_ids += add_items(db, action, body='{"order": 7}')
        async with running_engine(db, box) as (_engine, observer):
            assert await observer.wait_final(item_ids) == {i: "delivered" for i in item_ids}
    finally:
        await receiver.stop()
    requests = {r.path: r for r in receiver.requests}
    during, after = requests["/during"], requests["/after"]
    old, new = secrets["/during"]
    assert len(during.header("webhook-signature").split(" ")) == 2
    Webhook(old).verify(during.body, during.headers)  # a receiver still holding only the old secret
    Webhook(new).verify(during.body, during.headers)  # one already switched to the new secret
    old, new = secrets["/after"]
    assert len(after.header("webhook-signature").split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)
