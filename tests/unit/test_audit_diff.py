"""domain/audit.py: the field-level difference of two triggers, secrets only "changed" (pure, milliseconds)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from shopctrl_desktop.domain.audit import (
    AuditAction,
    AuditEntry,
    FieldChange,
    Subject,
    diff_fields,
    diff_triggers,
    summarize,
)
from shopctrl_desktop.domain.model import Priority, Trigger, WebhookAction

SECRETS = ("hmac-plain-1", "password-plain-2", "-----BEGIN PRIVATE KEY-----plain", "passphrase-plain-3")


def action(**overrides) -> WebhookAction:
    values = dict(
        id=7,
        url="https://erp.example/hook",
        hmac_secret=SECRETS[0],
        password=SECRETS[1],
        username="erp",
        client_certificate=SECRETS[2],
        client_certificate_passphrase=SECRETS[3],
        ca_certificate="-----BEGIN CERTIFICATE-----public",
        headers={"Authorization": "Bearer tok-plain", "X-Team": "erp"},
    )
    values.update(overrides)
    return WebhookAction(**values)


def trigger(*actions: WebhookAction, **overrides) -> Trigger:
    values = dict(id=3, title="ERP", event="OrderChanged", actions=actions or (action(),))
    values.update(overrides)
    return Trigger(**values)


def by_field(changes: list[FieldChange]) -> dict[str, FieldChange]:
    return {c.field: c for c in changes}


def test_an_unchanged_trigger_has_no_changes() -> None:
    assert diff_triggers(trigger(), trigger()) == []


def test_public_fields_are_recorded_old_to_new() -> None:
    old = trigger()
    new = replace(
        old,
        title="ERP live",
        enabled=False,
        condition={"match": "all", "rules": []},
        actions=(replace(old.actions[0], url="https://erp.example/v2", priority=Priority.HIGH),),
    )
    changes = by_field(diff_triggers(old, new))
    assert set(changes) == {"title", "enabled", "condition", "actions[1].url", "actions[1].priority"}
    assert (changes["title"].old, changes["title"].new) == ("ERP", "ERP live")
    assert (changes["enabled"].old, changes["enabled"].new) == (True, False)
    assert changes["condition"].new == {"match": "all", "rules": []}
    assert (changes["actions[1].url"].old, changes["actions[1].url"].new) == (
        "https://erp.example/hook",
        "https://erp.example/v2",
    )
    assert (changes["actions[1].priority"].old, changes["actions[1].priority"].new) == ("normal", "high")
    assert not any(c.secret for c in changes.values())


def test_secret_fields_are_only_changed_never_their_values() -> None:
    old = trigger()
    new = replace(
        old,
        actions=(
            replace(
                old.actions[0],
                hmac_secret="hmac-plain-NEW",
                password=None,
                client_certificate="-----BEGIN PRIVATE KEY-----NEW",
                client_certificate_passphrase="passphrase-NEW",
                ca_certificate="-----BEGIN CERTIFICATE-----other",
                headers={"Authorization": "Bearer tok-NEW", "X-Team": "erp"},
            ),
        ),
    )
    changes = by_field(diff_triggers(old, new))
    secret = {f for f, c in changes.items() if c.secret}
    assert secret == {
        "actions[1].hmacSecret",
        "actions[1].password",
        "actions[1].clientCertificate",
        "actions[1].clientCertificatePassphrase",
        "actions[1].headers.Authorization",
    }
    # the CA certificate is public: its values are kept
    assert changes["actions[1].caCertificate"].new == "-----BEGIN CERTIFICATE-----other"
    text = json.dumps([c.to_json() for c in changes.values()])
    for plain in (*SECRETS, "hmac-plain-NEW", "passphrase-NEW", "tok-plain", "tok-NEW", "PRIVATE KEY"):
        assert plain not in text
    assert changes["actions[1].password"].to_json() == {
        "field": "actions[1].password",
        "secret": True,
        "change": "changed",
    }
    assert changes["actions[1].hmacSecret"].describe() == "actions[1].hmacSecret: changed"


def test_an_empty_secret_and_no_secret_are_the_same() -> None:
    assert diff_triggers(trigger(action(password=None)), trigger(action(password=""))) == []


def test_actions_are_matched_by_id_added_removed_and_moved() -> None:
    first, second = action(id=1, url="https://a.example"), action(id=2, url="https://b.example")
    old = trigger(first, second)
    added = WebhookAction(url="https://c.example", hmac_secret="new-secret-plain")
    new = trigger(second, added)
    changes = diff_triggers(old, new)
    fields = by_field(changes)
    assert (fields["actions[1].position"].old, fields["actions[1].position"].new) == (2, 1)
    assert fields["actions[2]"].old is None and fields["actions[2]"].new["url"] == "https://c.example"
    assert fields["actions[2].hmacSecret"].secret
    assert "hmacSecret" not in fields["actions[2]"].new
    # the removed one, at its old position, with its public fields
    assert fields["actions[1]"].old["url"] == "https://a.example" and fields["actions[1]"].new is None
    assert "new-secret-plain" not in json.dumps([c.to_json() for c in changes])
    # no spurious field changes for the moved action
    assert not any(c.field.startswith("actions[1].") and c.field != "actions[1].position" for c in changes)


def test_created_and_deleted_triggers() -> None:
    created = by_field(diff_triggers(None, trigger(shop_id=None)))
    assert created["title"].new == "ERP" and created["title"].old is None
    assert "shopId" not in created  # None -> None is no change
    assert created["actions[1]"].new["url"] == "https://erp.example/hook"
    assert {f for f, c in created.items() if c.secret} == {
        "actions[1].hmacSecret",
        "actions[1].password",
        "actions[1].clientCertificate",
        "actions[1].clientCertificatePassphrase",
        "actions[1].headers.Authorization",
    }
    deleted = by_field(diff_triggers(trigger(), None))
    assert deleted["title"].old == "ERP" and deleted["title"].new is None
    assert not any(c.secret for c in deleted.values())
    assert SECRETS[0] not in json.dumps([c.to_json() for c in deleted.values()])


def test_diff_fields_with_named_secrets() -> None:
    changes = diff_fields({"a": 1, "token": "x"}, {"a": 2, "token": "y", "b": True}, secret={"token"})
    assert [c.to_json() for c in changes] == [
        {"field": "a", "old": 1, "new": 2},
        {"field": "token", "secret": True, "change": "changed"},
        {"field": "b", "old": None, "new": True},
    ]


def test_entry_json_and_summary() -> None:
    entry = AuditEntry(
        id=5,
        at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        who="anna",
        workstation="desk-3",
        action=AuditAction.TRIGGER_CHANGED,
        subject=Subject("trigger", 3, "ERP"),
        changes=(FieldChange("actions[1].url", "a", "b"), FieldChange("actions[1].password", secret=True)),
    )
    assert entry.to_json() == {
        "id": 5,
        "at": "2026-12-01T09:30:00Z",
        "who": "anna",
        "workstation": "desk-3",
        "action": "trigger.changed",
        "subject": {"kind": "trigger", "id": 3, "name": "ERP"},
        "changes": [
            {"field": "actions[1].url", "old": "a", "new": "b"},
            {"field": "actions[1].password", "secret": True, "change": "changed"},
        ],
    }
    assert entry.summary == "Changed trigger “ERP”: actions[1].url, actions[1].password"
    assert [FieldChange.from_json(c) for c in entry.to_json()["changes"]] == list(entry.changes)
    toggle = summarize("trigger.changed", Subject("trigger", 3, "ERP"), [FieldChange("enabled", True, False)])
    assert toggle == "Disabled trigger “ERP”"
    assert summarize("item.retried", Subject("item", 42, "ERP"), ()) == "Retried queue item #42 (ERP)"
    assert AuditAction.ITEMS_RETRIED.kind == "items"
    assert (
        summarize("items.retried", Subject("items", None, "5 failed items"), ()) == "Retried 5 failed items"
    )
    assert (
        summarize("alerts.read", Subject("alert", 4, "ERP failed"), ()) == "Marked alert #4 (ERP failed) read"
    )
    assert (
        summarize("alerts.allRead", Subject("alerts", None, "3 alerts"), ())
        == "Marked all alerts read (3 alerts)"
    )
    settings = summarize("settings.changed", Subject("settings"), [FieldChange("listen_port", 1, 2)])
    assert settings == "Changed settings: listen_port"
    assert FieldChange("newItem", None, 7).describe() == "newItem: 7"
    assert FieldChange("title", "ERP", None).describe() == "title: ERP (removed)"
