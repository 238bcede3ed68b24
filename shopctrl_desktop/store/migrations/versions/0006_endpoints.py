"""endpoints: one row per endpoint with its circuit breaker and pause state (SPEC §11)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00

An endpoint is a destination URL without its query (domain/breaker.py ``endpoint_key``). A row is made the
first time an endpoint fails or is paused; an endpoint without a row is healthy, so the delivery path writes
nothing here while everything answers. Engines sharing a PostgreSQL database share these rows: state changes
are made in the engine's record/claim transaction under a row lock (store/endpoints.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("next_probe_at", sa.DateTime(), nullable=True),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_action", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoints")),
        sa.UniqueConstraint("url", name=op.f("uq_endpoints_url")),
    )


def downgrade() -> None:
    op.drop_table("endpoints")
