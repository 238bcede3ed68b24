"""The audit trail's rules (SPEC §10): what an entry says, and the field-level difference of two triggers.

Who, workstation and when are stamped by the store (store/audit.py) in the transaction of the change; this
module only decides *what* changed. Secret fields (HMAC secret, password, client certificate and its
passphrase, credential headers) never appear with a value: a change to one is recorded as "changed".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shopctrl_desktop.domain.model import Trigger, WebhookAction
from shopctrl_desktop.domain.secret_headers import is_secret_header
from shopctrl_desktop.domain.trigger_file import SECRET_FIELDS, action_to_json, trigger_to_json

#: What a secret change reads as, wherever it is shown.
SECRET_CHANGED = "changed"


class AuditAction(StrEnum):
    """The verbs of the audit trail. The first word is the kind of thing ("what" filters on it)."""

    TRIGGER_CREATED = "trigger.created"
    TRIGGER_CHANGED = "trigger.changed"
    TRIGGER_DELETED = "trigger.deleted"
    SETTINGS_CHANGED = "settings.changed"
    SHOP_RENAMED = "shop.renamed"
    ITEM_RETRIED = "item.retried"
    ITEM_CANCELLED = "item.cancelled"
    ITEM_RESENT = "item.resent"
    ITEMS_RETRIED = "items.retried"  # "retry every failed item (in the filter)": one entry, the ids listed
    ITEMS_CANCELLED = "items.cancelled"  # a bulk cancel: one entry per chunk (store/bulk.py), the ids listed
    ITEMS_RESENT = "items.resent"  # a bulk resend: one entry per chunk, the ids and the new items' ids
    ALERTS_READ = "alerts.read"
    ALERTS_ALL_READ = "alerts.allRead"
    # Hooks for the key and user commands (SPEC §10, issue 11 items 1 and 3): record them with
    # store/audit.py record(session, AuditAction.KEY_IMPORTED, Subject(SubjectKind.KEY, None, fingerprint)).
    KEY_CREATED = "key.created"
    KEY_EXPORTED = "key.exported"
    KEY_IMPORTED = "key.imported"
    KEY_MIGRATED = "key.migrated"  # v1 (symmetric) secrets re-sealed for the engine keypair (`key migrate`)
    USER_ADDED = "user.added"
    USER_CHANGED = "user.changed"
    USER_REMOVED = "user.removed"
    ENDPOINT_PAUSED = "endpoint.paused"
    ENDPOINT_RESUMED = "endpoint.resumed"
    ENDPOINT_RATE_LIMITED = "endpoint.rateLimited"  # a rate limit set, changed or taken off
    DATA_ERASED = "data.erased"  # a customer's erasure request: the kind and the counts, never the data
    DATABASE_RESTORED = "database.restored"  # `restore FILE`: recorded in the restored database
    SECRET_ROTATED = "secret.rotated"  # an action's HMAC secret rotated; never the secret

    @property
    def kind(self) -> str:
        return self.value.split(".", 1)[0]


#: Sentences for a person; ``{target}`` is the subject: “Title”, #12 (Title), or its name (“5 failed items”).
_SENTENCES = {
    AuditAction.TRIGGER_CREATED: "Created trigger {target}",
    AuditAction.TRIGGER_CHANGED: "Changed trigger {target}",
    AuditAction.TRIGGER_DELETED: "Deleted trigger {target}",
    AuditAction.SETTINGS_CHANGED: "Changed settings",
    AuditAction.SHOP_RENAMED: "Renamed shop {target}",
    AuditAction.ITEM_RETRIED: "Retried queue item {target}",
    AuditAction.ITEM_CANCELLED: "Cancelled queue item {target}",
    AuditAction.ITEM_RESENT: "Resent queue item {target}",
    AuditAction.ITEMS_RETRIED: "Retried {name}",
    AuditAction.ITEMS_CANCELLED: "Cancelled {name}",
    AuditAction.ITEMS_RESENT: "Resent {name}",
    AuditAction.ALERTS_READ: "Marked {name} read",
    AuditAction.ALERTS_ALL_READ: "Marked all alerts read ({name})",
    AuditAction.KEY_CREATED: "Created the engine key {target}",
    AuditAction.KEY_EXPORTED: "Exported the engine key {target}",
    AuditAction.KEY_IMPORTED: "Imported the engine key {target}",
    AuditAction.KEY_MIGRATED: "Re-sealed the stored secrets for the engine key {target}",
    AuditAction.USER_ADDED: "Added user {target}",
    AuditAction.USER_CHANGED: "Changed user {target}",
    AuditAction.USER_REMOVED: "Removed user {target}",
    AuditAction.ENDPOINT_PAUSED: "Paused deliveries to endpoint {target}",
    AuditAction.ENDPOINT_RESUMED: "Resumed deliveries to endpoint {target}",
    AuditAction.ENDPOINT_RATE_LIMITED: "Changed the rate limit of endpoint {target}",
    AuditAction.DATA_ERASED: "Erased the data of {name}",
    AuditAction.DATABASE_RESTORED: "Restored the database from {name}",
    AuditAction.SECRET_ROTATED: "Rotated the HMAC secret of trigger {target}",
}


class SubjectKind(StrEnum):
    TRIGGER = "trigger"
    ITEM = "item"
    ITEMS = "items"
    ALERT = "alert"
    ALERTS = "alerts"
    SETTINGS = "settings"
    SHOP = "shop"
    KEY = "key"
    USER = "user"
    ENDPOINT = "endpoint"
    DATABASE = "database"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Subject:
    """What an entry is about: a trigger, a queue item, … (``id`` None for settings, several items, …)."""

    kind: str
    id: int | None = None
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass(frozen=True)
class FieldChange:
    """One field, old -> new. A secret field carries no values: it only "changed"."""

    field: str
    old: Any = None
    new: Any = None
    secret: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.secret:
            return {"field": self.field, "secret": True, "change": SECRET_CHANGED}
        return {"field": self.field, "old": self.old, "new": self.new}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldChange:
        if data.get("secret"):
            return cls(str(data["field"]), secret=True)
        return cls(str(data["field"]), data.get("old"), data.get("new"))

    def describe(self, width: int = 60) -> str:
        """``url: https://old → https://new`` (values shortened to ``width``), ``password: changed``;
        ``url: https://new`` when there was none, ``url: https://old (removed)`` when there is none now."""
        if self.secret:
            return f"{self.field}: {SECRET_CHANGED}"
        if self.old is None and self.new is not None:  # set for the first time (a new trigger, action, …)
            return f"{self.field}: {_short(self.new, width)}"
        if self.new is None and self.old is not None:
            return f"{self.field}: {_short(self.old, width)} (removed)"
        return f"{self.field}: {_short(self.old, width)} → {_short(self.new, width)}"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    who: str
    workstation: str
    action: str
    subject: Subject
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """camelCase fields of ``audit list --json``."""
        return {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "who": self.who,
            "workstation": self.workstation,
            "action": self.action,
            "subject": self.subject.to_json(),
            "changes": [c.to_json() for c in self.changes],
        }

    @property
    def summary(self) -> str:
        """One line for a person: ``Changed trigger “ERP”: url, hmacSecret``."""
        return summarize(self.action, self.subject, self.changes)

    @property
    def headline(self) -> str:
        """The summary without the changed fields: ``Changed trigger “ERP”``."""
        return summarize(self.action, self.subject, self.changes, with_fields=False)


def summarize(
    action: str, subject: Subject, changes: Iterable[FieldChange], *, with_fields: bool = True
) -> str:
    changes = tuple(changes)
    if subject.kind in (SubjectKind.ITEM, SubjectKind.ALERT) and subject.id is not None:
        target = f"#{subject.id}" + (f" ({subject.name})" if subject.name else "")
    else:
        target = f"“{subject.name}”" if subject.name else ""
    name = subject.name
    if action == AuditAction.ALERTS_READ and subject.kind == SubjectKind.ALERT:
        name = f"alert {target}"
    try:
        sentence = _SENTENCES[AuditAction(action)]
    except ValueError:
        sentence = f"{action} {{target}}"
    if action == AuditAction.TRIGGER_CHANGED and [c.field for c in changes] == ["enabled"]:
        sentence = "Enabled trigger {target}" if changes[0].new else "Disabled trigger {target}"
        changes = ()
    renamed = [c for c in changes if c.field == "name" and not c.secret]
    if action == AuditAction.SHOP_RENAMED and renamed and subject.id is not None:
        # "Renamed shop 3 “Shop 3” → “Main store”": the id stays, so both names are shown
        return f"Renamed shop {subject.id} “{renamed[0].old}” → “{renamed[0].new}”"
    text = sentence.format(target=target, name=name).rstrip()
    fields = [c.field for c in changes if c.field not in ("items", "alerts", "newItem")]
    if with_fields and fields and action in (AuditAction.TRIGGER_CHANGED, AuditAction.SETTINGS_CHANGED):
        shown = ", ".join(fields[:6]) + (f" and {len(fields) - 6} more" if len(fields) > 6 else "")
        text += f": {shown}"
    return text


def _short(value: Any, width: int) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("\n", " ")
    if text == "":
        return "(empty)"
    return text if len(text) <= width else text[: width - 1] + "…"


# --- differences ---------------------------------------------------------------------------------------
_ACTION_SECRETS = frozenset(SECRET_FIELDS)


def _action_fields(action: WebhookAction) -> dict[str, Any]:
    """An action as flat fields (the trigger file's names), headers one field each, secrets included."""
    data = action_to_json(action, include_secrets=True)
    data.pop("type", None)
    headers = data.pop("headers") or {}
    for name, value in headers.items():
        data[f"headers.{name}"] = value
    for name in _ACTION_SECRETS:
        data[name] = data[name] or None  # "" and None are both "no secret"
    return data


def _is_secret_field(name: str) -> bool:
    if name in _ACTION_SECRETS:
        return True
    return name.startswith("headers.") and is_secret_header(name[len("headers.") :])


def diff_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], *, prefix: str = "", secret: Iterable[str] = ()
) -> list[FieldChange]:
    """Field-level changes between two flat mappings (a key missing on one side is None there); the
    fields in ``secret`` (and credential headers ``headers.X``) are compared but recorded as "changed"."""
    secret_names = frozenset(secret)
    changes: list[FieldChange] = []
    for name in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if name in secret_names or _is_secret_field(name):
            changes.append(FieldChange(prefix + name, secret=True))
        else:
            changes.append(FieldChange(prefix + name, before, after))
    return changes


def _public(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not _is_secret_field(k)}


def diff_triggers(old: Trigger | None, new: Trigger | None) -> list[FieldChange]:
    """What changed from ``old`` to ``new`` (None: the trigger is being created / deleted).

    Actions are matched by id, as the store matches them; a matched action's fields are named
    ``actions[N].field`` with N its new position (1-based), a moved one also gets ``actions[N].position``.
    An added action is one change ``actions[N]`` (None -> its public fields) plus "changed" for each secret
    it has; a removed one is ``actions[N]`` (its public fields -> None) at its old position.
    """
    before = trigger_to_json(old, include_secrets=False) if old is not None else {}
    after = trigger_to_json(new, include_secrets=False) if new is not None else {}
    before.pop("actions", None)
    after.pop("actions", None)
    changes = diff_fields(before, after)
    old_actions = list(old.actions) if old is not None else []
    new_actions = list(new.actions) if new is not None else []
    old_by_id = {a.id: (i, a) for i, a in enumerate(old_actions) if a.id is not None}
    matched: set[int] = set()
    for position, action in enumerate(new_actions, start=1):
        label = f"actions[{position}]"
        found = old_by_id.get(action.id) if action.id is not None else None
        if found is None:
            fields = _action_fields(action)
            changes.append(FieldChange(label, None, _public(fields)))
            changes.extend(
                FieldChange(f"{label}.{k}", secret=True)
                for k, v in fields.items()
                if _is_secret_field(k) and v is not None
            )
            continue
        old_position, previous = found
        matched.add(old_position)
        if old_position + 1 != position:
            changes.append(FieldChange(f"{label}.position", old_position + 1, position))
        changes.extend(diff_fields(_action_fields(previous), _action_fields(action), prefix=f"{label}."))
    for index, action in enumerate(old_actions):
        if index not in matched:
            changes.append(FieldChange(f"actions[{index + 1}]", _public(_action_fields(action)), None))
    return changes
