"""endpoint_minutes: per-minute delivery statistics per endpoint for the Endpoints page (SPEC §11)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00

Per endpoint (domain/breaker.py ``endpoint_key``) and minute (whole minutes since 1970 UTC): how many attempts,
how many of them failed, and how many fell into each of the 20 latency buckets (``b00``..``b19``,
domain/endpoint_stats.py). The engine adds to it in its record
transaction, one upsert per batch; the page reads at most 2 days of it instead of the attempt log, so it stays
instant with millions of attempts. It starts empty: the page's figures count from the upgrade on (the
attempt log itself is unchanged).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoint_minutes",
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        *[sa.Column(f"b{n:02d}", sa.Integer(), nullable=False) for n in range(20)],
        sa.PrimaryKeyConstraint("endpoint", "minute", name=op.f("pk_endpoint_minutes")),
    )
    op.create_index("ix_endpoint_minutes_minute", "endpoint_minutes", ["minute"])


def downgrade() -> None:
    op.drop_index("ix_endpoint_minutes_minute", table_name="endpoint_minutes")
    op.drop_table("endpoint_minutes")
