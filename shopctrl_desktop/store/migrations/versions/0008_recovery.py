"""queue_items.round_start_attempts: a manual retry starts the retry schedule afresh (SPEC §11)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:45:00

"Retry" on a failed item used to give it one more try (its attempt count was already past the policy's
maximum). The attempts made before the manual retry are now kept here, and the retry policy counts only the
attempts since (domain/retry.py ``attempts_this_round``): ten more tries. Existing rows start at 0 — their
schedule counts from their first attempt, as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        batch.add_column(sa.Column("round_start_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        batch.drop_column("round_start_attempts")
