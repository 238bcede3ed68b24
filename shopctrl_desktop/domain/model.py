"""Plain value objects shared by every room: statuses, priorities, triggers and Call Webhook actions.

No Qt, no SQLAlchemy, no HTTP here. Secrets travel in these objects in plain text only inside the
process; the store encrypts them at rest and the exporters replace them by ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any


class ItemStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # Which statuses wait, may be retried or cancelled, are final: domain/queue.py.


class Priority(IntEnum):
    LOWEST = 1
    LOW = 2
    NORMAL = 3
    HIGH = 4
    HIGHEST = 5

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @property
    def json_name(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: Any) -> Priority:
        if isinstance(value, Priority):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        raise ValueError(f"priority must be one of lowest, low, normal, high, highest (got {value!r})")


class SignatureScheme(StrEnum):
    SHOPCTRL = "shopctrl"
    STANDARD_WEBHOOKS = "standard-webhooks"
    GITHUB = "github"


class MimeType(StrEnum):
    JSON = "application/json"
    XML = "application/xml"
    TEXT = "text/plain"


class AlertSeverity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


HTTP_METHODS = ("POST", "PUT", "PATCH")


@dataclass(frozen=True)
class WebhookAction:
    """One Call Webhook action, as the editor, the import file and the intake see it."""

    url: str
    method: str = "POST"
    priority: Priority = Priority.NORMAL
    unique_queue_items: bool = False
    hmac_secret: str | None = field(default=None, repr=False)
    signature_scheme: SignatureScheme = SignatureScheme.SHOPCTRL
    client_certificate: str | None = field(default=None, repr=False)  # PEM: certificate + private key
    client_certificate_passphrase: str | None = field(default=None, repr=False)
    ca_certificate: str | None = None  # PEM of an extra CA to trust
    timeout_seconds: float = 30.0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict)
    payload_mime_type: MimeType = MimeType.JSON
    payload_body: str = ""
    id: int | None = None  # database id once stored
    #: Secret rotation (domain/secret_rotation.py): state, not configuration (not compared, never exported).
    previous_hmac_secret: str | None = field(default=None, repr=False, compare=False)
    previous_secret_expires_at: datetime | None = field(default=None, compare=False)
    secret_rotated_at: datetime | None = field(default=None, compare=False)
    #: Set by the editor's "Rotate secret…": saving this action rotates to ``hmac_secret`` with this overlap
    #: (hours) instead of simply replacing the secret (store/secret_rotation.py).
    rotate_overlap_hours: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Trigger:
    title: str
    event: str  # system name, e.g. "OrderChanged"
    shop_id: int | None = None  # None = all shops
    enabled: bool = True
    condition: dict[str, Any] | None = None  # {"match": "all"|"any", "rules": [...]}
    actions: tuple[WebhookAction, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class IncomingEvent:
    """One validated event from the listener (or the CLI), before it is stored."""

    event: str  # catalogue system name
    shop_id: int | None
    occurred_at: datetime
    data: dict[str, Any]
    entity_data: dict[str, Any]
    entity_type: str
    entity_id: str | None
    entity_code: str | None
    external_id: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    id: int
    event: str
    shop_id: int | None
    occurred_at: datetime
    data: dict[str, Any]
    entity_data: dict[str, Any]
    entity_type: str
    entity_id: str | None
    entity_code: str | None


@dataclass(frozen=True)
class RenderedRequest:
    """What one queue item will send (before auth and signature, which are added at send time)."""

    method: str
    url: str
    headers: dict[str, str]
    body: str
