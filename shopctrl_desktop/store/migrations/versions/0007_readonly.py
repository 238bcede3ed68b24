"""webhook_action_secrets_set: which of an action's secrets are set, without the secrets

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03 16:10:00

A login that may not read the ``*_enc`` secret columns (support, SPEC §10) still needs to see whether an
action is signed or sends a password ("set" / "not set" in the read-only editor). A view owned by the
database owner answers that with one boolean per secret; PostgreSQL checks the view owner's privileges on
``webhook_actions``, so a support login granted SELECT on the view (store/roles.py) reads the flags and never
the secrets.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

VIEW = "webhook_action_secrets_set"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE VIEW {VIEW} AS
        SELECT id AS action_id,
               hmac_secret_enc IS NOT NULL AS hmac_secret,
               client_certificate_enc IS NOT NULL AS client_certificate,
               client_certificate_passphrase_enc IS NOT NULL AS client_certificate_passphrase,
               password_enc IS NOT NULL AS password
          FROM webhook_actions
        """
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW {VIEW}")
