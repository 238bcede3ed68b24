"""Indexes for retention: finished items by status and age, events by age

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00

The engine deletes delivered/cancelled items after 30 days and failed ones after 90 (settings), with their
attempts, and then the event snapshots no item refers to (issue 13, `store/retention.py`). Without these
indexes every batch of 500 would scan every finished item.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_queue_items_finished", "queue_items", ["status", "finished_at"])
    op.create_index("ix_events_received", "events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_events_received", table_name="events")
    op.drop_index("ix_queue_items_finished", table_name="queue_items")
