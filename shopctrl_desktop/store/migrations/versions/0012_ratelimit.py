"""endpoints.rate_limit: an optional rate limit per endpoint, in requests per second (SPEC §11)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:30:00

NULL (every existing row) means no limit. Set by ``endpoints rate-limit`` and the Endpoints page
(store/endpoints.py ``set_rate_limit``); the delivery engine reads the limited endpoints every few seconds and
spaces their requests (domain/rate_limit.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(sa.Column("rate_limit", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("rate_limit")
