"""database_meta: facts about the database itself, first the fingerprint of the key its secrets need

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:00:00

One row per fact (``name`` -> ``value``). ``secret_key_fingerprint`` names the key the stored secrets are
encrypted with (a short hash, never the key), so a workstation with another key can say so at start.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "database_meta",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_database_meta")),
    )


def downgrade() -> None:
    op.drop_table("database_meta")
