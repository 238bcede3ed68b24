"""audit_entries: the append-only audit trail (SPEC §10)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00

Who changed what, from which workstation, when. Append-only, enforced by the database:

- SQLite: BEFORE UPDATE / BEFORE DELETE triggers abort (the OS account is the boundary; this keeps the app
  itself from rewriting history by accident).
- PostgreSQL: a BEFORE UPDATE OR DELETE row trigger and a BEFORE TRUNCATE statement trigger refuse unless
  ``current_user`` owns the table — whatever privileges another role was granted, through this app or psql.
  Only the owner can drop or disable the triggers. A BEFORE INSERT trigger stamps ``who`` (``current_user``)
  and ``at`` (the server's clock), so an entry cannot claim another user or another time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: an entry cannot be changed'); END""",
    """CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: an entry cannot be deleted'); END""",
)

_PG_FUNCTIONS = (
    """CREATE FUNCTION audit_entries_append_only() RETURNS trigger
       LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
       BEGIN
         IF NOT EXISTS (
           SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
           WHERE c.oid = TG_RELID AND r.rolname = current_user
         ) THEN
           RAISE EXCEPTION 'the audit trail is append-only: % on % is refused for %',
             TG_OP, TG_TABLE_NAME, current_user
             USING ERRCODE = 'insufficient_privilege',
                   HINT = 'only the owner of the table may change or remove audit entries';
         END IF;
         IF TG_OP = 'DELETE' THEN
           RETURN OLD;
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE FUNCTION audit_entries_stamp() RETURNS trigger
       LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
       BEGIN
         NEW.who := current_user;
         NEW.at := now() AT TIME ZONE 'UTC';
         RETURN NEW;
       END $$""",
)
_PG_TRIGGERS = (
    """CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
       FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()""",
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()""",
    """CREATE TRIGGER audit_entries_stamp BEFORE INSERT ON audit_entries
       FOR EACH ROW EXECUTE FUNCTION audit_entries_stamp()""",
)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("workstation", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_kind", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("subject_name", sa.String(length=300), nullable=False),
        sa.Column("changes_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_who"), ["who"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_action"), ["action"], unique=False)
        batch_op.create_index("ix_audit_entries_subject", ["subject_kind", "subject_id"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in (*_PG_FUNCTIONS, *_PG_TRIGGERS):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
    op.drop_table("audit_entries")  # on PostgreSQL its triggers go with it
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_stamp()")
