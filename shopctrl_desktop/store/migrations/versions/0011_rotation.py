"""secret rotation: the previous HMAC secret (sealed), until when it signs, and when the secret was rotated

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:30:00

Issue 12 item 7 (store/secret_rotation.py). ``previous_hmac_secret_enc`` ends in ``_enc`` like every secret
column: a support login is never granted it (store/roles.py grants support only the public columns), the
engine role reads the whole table. The view of migration 0007 is unchanged: it answers which of the
*configured* secrets are set.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD / DROP COLUMN (SQLite >= 3.35): a batch copy of the table would break the view of 0007
    op.add_column("webhook_actions", sa.Column("previous_hmac_secret_enc", sa.Text(), nullable=True))
    op.add_column("webhook_actions", sa.Column("previous_secret_expires_at", sa.DateTime(), nullable=True))
    op.add_column("webhook_actions", sa.Column("secret_rotated_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_actions", "secret_rotated_at")
    op.drop_column("webhook_actions", "previous_secret_expires_at")
    op.drop_column("webhook_actions", "previous_hmac_secret_enc")
