"""live: PostgreSQL notifies a change to queue_items or alerts (one live queue across workstations)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 15:00:00

A window whose own engine does not deliver learns of other workstations' work within a second:
``LISTEN shopctrl_changes`` (store/notify.py), then it diffs the moving items (store/changes.py).

Why statement-level triggers (not NOTIFY in the engine's code, not row triggers, not a change column):
- They fire for every writer — any engine version, the CLI, psql — with no change to the delivery code.
- FOR EACH STATEMENT: one call per INSERT/UPDATE/DELETE statement, however many rows it touches (the engine
  claims and records in groups), and PostgreSQL folds identical notifications of one transaction into one.
  A statement that touched no row does not notify (the transition table is empty): the engine's idle
  "recover expired leases" UPDATE runs on every claim and must not wake every window once a second.
  The cost on the delivery path: the transition table keeps the statement's changed rows in memory (a copy
  of tuples the UPDATE wrote anyway), a PL/pgSQL call per statement (microseconds) and, at commit of a
  transaction that notified, a short global lock that serialises such commits — a few hundred commits a
  second on the delivery path is far below where that lock shows (tens of thousands a second). Not
  measured in this round (no benchmark runs): `benchmarks/delivery.py` on PostgreSQL before and after
  this migration is the check.
- A change column (a ``changes`` sequence bumped per row) would need a row trigger or code in every UPDATE,
  plus an index updated on every status change: more work per delivered item, for what a diff of the few
  moving items gives for free.

SQLite has no notifications: the window polls (the same diff) every second.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FUNCTION = """CREATE FUNCTION shopctrl_notify_change() RETURNS trigger
   LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
   BEGIN
     IF EXISTS (SELECT 1 FROM changed) THEN
       PERFORM pg_notify('shopctrl_changes', TG_TABLE_NAME);
     END IF;
     RETURN NULL;
   END $$"""

#: A trigger with a transition table takes one event only: three per table.
_EVENTS = (("insert", "INSERT", "NEW"), ("update", "UPDATE", "NEW"), ("delete", "DELETE", "OLD"))
_TABLES = ("queue_items", "alerts")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    for table in _TABLES:
        for name, event, which in _EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_notify_{name} AFTER {event} ON {table} "
                f"REFERENCING {which} TABLE AS changed "
                "FOR EACH STATEMENT EXECUTE FUNCTION shopctrl_notify_change()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        for name, _event, _which in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_{name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS shopctrl_notify_change()")
