"""SQLAlchemy 2 ORM models. Columns ending in ``_enc`` hold Fernet tokens (see store/secrets.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shopctrl_desktop.domain.model import ItemStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable across SQLite and PostgreSQL), returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Shop(Base):
    __tablename__ = "shops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriggerRow(Base):
    __tablename__ = "triggers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), unique=True)
    event: Mapped[str] = mapped_column(String(100), index=True)
    shop_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    condition_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    actions: Mapped[list[WebhookActionRow]] = relationship(
        back_populates="trigger", cascade="all, delete-orphan", order_by="WebhookActionRow.position"
    )


class WebhookActionRow(Base):
    __tablename__ = "webhook_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(10), default="POST")
    priority: Mapped[int] = mapped_column(Integer, default=3)
    unique_queue_items: Mapped[bool] = mapped_column(Boolean, default=False)
    hmac_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    signature_scheme: Mapped[str] = mapped_column(String(40), default="shopctrl")
    client_certificate_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    client_certificate_passphrase_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    ca_certificate: Mapped[str | None] = mapped_column(Text, nullable=True)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=30.0)
    username: Mapped[str | None] = mapped_column(String(300), nullable=True)
    password_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers_json: Mapped[str] = mapped_column(Text, default="{}")
    payload_mime_type: Mapped[str] = mapped_column(String(60), default="application/json")
    payload_body: Mapped[str] = mapped_column(Text, default="")
    # secret rotation (migration 0011, store/secret_rotation.py): the previous HMAC secret, sealed like the
    # current one, signs beside it until previous_secret_expires_at (Standard Webhooks only)
    previous_hmac_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    trigger: Mapped[TriggerRow] = relationship(back_populates="actions")


class EventRow(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    event: Mapped[str] = mapped_column(String(100))
    shop_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    entity_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    entity_data_json: Mapped[str] = mapped_column(Text, default="{}")
    data_json: Mapped[str] = mapped_column(Text, default="{}")
    __table_args__ = (
        Index("ix_events_entity", "entity_type", "entity_id", "id"),
        Index("ix_events_received", "received_at"),  # retention (migration 0009)
    )


class QueueItemRow(Base):
    __tablename__ = "queue_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger_id: Mapped[int | None] = mapped_column(
        ForeignKey("triggers.id", ondelete="SET NULL"), nullable=True
    )
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_actions.id", ondelete="SET NULL"), nullable=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    trigger_title: Mapped[str] = mapped_column(String(300), default="")
    event_name: Mapped[str] = mapped_column(String(100), default="")
    entity_type: Mapped[str] = mapped_column(String(60), default="")
    entity_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    entity_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    unique_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.QUEUED.value)
    method: Mapped[str] = mapped_column(String(10), default="POST")
    url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(300), default="")
    headers_json: Mapped[str] = mapped_column(Text, default="{}")
    body: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: attempts made before the item was last retried by hand: its retry schedule counts from there
    #: (domain/retry.py ``attempts_this_round``; migration 0008)
    round_start_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        # claim: due items, highest priority first, then oldest
        Index("ix_queue_items_due", "status", "priority", "id"),
        # uniqueness lookups; keyless items (most) stay out of it, so status changes do not touch it
        Index(
            "ix_queue_items_unique",
            "unique_key",
            "status",
            sqlite_where=text("unique_key IS NOT NULL"),
            postgresql_where=text("unique_key IS NOT NULL"),
        ),
        Index("ix_queue_items_created", "created_at"),
        Index("ix_queue_items_finished", "status", "finished_at"),  # retention (migration 0009)
    )


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("queue_items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    severity: Mapped[str] = mapped_column(String(20), default="error")
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text, default="")
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("queue_items.id", ondelete="SET NULL"), nullable=True, index=True
    )
    trigger_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class AuditEntryRow(Base):
    """The audit trail (SPEC §10): append-only — migration 0003 adds the database triggers that refuse an
    UPDATE, DELETE or (PostgreSQL) TRUNCATE; nothing in the app edits or deletes a row."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    who: Mapped[str] = mapped_column(String(200), index=True)
    workstation: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subject_name: Mapped[str] = mapped_column(String(300), default="")
    changes_json: Mapped[str] = mapped_column(Text, default="[]")
    __table_args__ = (Index("ix_audit_entries_subject", "subject_kind", "subject_id"),)


class DatabaseMetaRow(Base):
    """Facts about the database itself (store/keys.py): ``secret_key_fingerprint``, …"""

    __tablename__ = "database_meta"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class EndpointRow(Base):
    """One endpoint's circuit breaker and pause state (domain/breaker.py; store/endpoints.py). A row exists once
    an endpoint failed or was paused; an endpoint without a row is healthy."""

    __tablename__ = "endpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(1000), unique=True)  # domain/breaker.py endpoint_key
    state: Mapped[str] = mapped_column(String(20), default="closed")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_probe_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_action: Mapped[str] = mapped_column(String(300), default="")  # a trigger title that uses it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rate_limit: Mapped[float | None] = mapped_column(Float, nullable=True)  # requests/s; None: no limit


class EndpointMinuteRow(Base):
    """Per endpoint and minute: attempts, how many failed, and how many fell into each latency bucket
    (``b00``…``b19``, domain/endpoint_stats.py). Written in the engine's record transaction (one upsert per
    batch), kept for two days (store/endpoint_stats.py)."""

    __tablename__ = "endpoint_minutes"
    endpoint: Mapped[str] = mapped_column(String(1000), primary_key=True)  # domain/breaker.py endpoint_key
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # whole minutes since 1970-01-01 UTC
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # the latency histogram: attempts per bucket (domain/endpoint_stats.py LATENCY_BOUNDS_MS)
    b00: Mapped[int] = mapped_column(Integer, default=0)
    b01: Mapped[int] = mapped_column(Integer, default=0)
    b02: Mapped[int] = mapped_column(Integer, default=0)
    b03: Mapped[int] = mapped_column(Integer, default=0)
    b04: Mapped[int] = mapped_column(Integer, default=0)
    b05: Mapped[int] = mapped_column(Integer, default=0)
    b06: Mapped[int] = mapped_column(Integer, default=0)
    b07: Mapped[int] = mapped_column(Integer, default=0)
    b08: Mapped[int] = mapped_column(Integer, default=0)
    b09: Mapped[int] = mapped_column(Integer, default=0)
    b10: Mapped[int] = mapped_column(Integer, default=0)
    b11: Mapped[int] = mapped_column(Integer, default=0)
    b12: Mapped[int] = mapped_column(Integer, default=0)
    b13: Mapped[int] = mapped_column(Integer, default=0)
    b14: Mapped[int] = mapped_column(Integer, default=0)
    b15: Mapped[int] = mapped_column(Integer, default=0)
    b16: Mapped[int] = mapped_column(Integer, default=0)
    b17: Mapped[int] = mapped_column(Integer, default=0)
    b18: Mapped[int] = mapped_column(Integer, default=0)
    b19: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_endpoint_minutes_minute", "minute"),)
