"""queue_items: the unique-key index covers only items that have a key

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 20:45:00

Most queue items have no unique key (the action's "unique queue items" option is off), yet every one of
them sat in ``ix_queue_items_unique (unique_key, status)`` and every status change (claimed, delivered,
retrying, …) rewrote its entry there. As a partial index (``WHERE unique_key IS NOT NULL``) it serves the
same lookup (``unique_key IN (…) AND status IN (…)``) and costs nothing for keyless items: about 40 % less
SQLite work per status change (measured on the delivery path, docs/delivery.md).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_WHERE = sa.text("unique_key IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_items_unique")
        batch_op.create_index(
            "ix_queue_items_unique",
            ["unique_key", "status"],
            unique=False,
            sqlite_where=_WHERE,
            postgresql_where=_WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_items_unique")
        batch_op.create_index("ix_queue_items_unique", ["unique_key", "status"], unique=False)
