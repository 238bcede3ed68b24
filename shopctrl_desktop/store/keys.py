"""Which key the database's secrets need: its fingerprint is recorded in the database (``database_meta``),
and every face compares it with the workstation's own key at start (``check_key``).

The fingerprint is recorded the first time a workstation whose key can read the stored secrets (or when
there are none yet) opens the database; that is audited as ``key.created``. A workstation with another
key is told which key is needed and how to get it (``key import``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, Subject, SubjectKind
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import DatabaseMetaRow, WebhookActionRow
from shopctrl_desktop.store.secrets import SecretBox, SecretKeyError

FINGERPRINT = "secret_key_fingerprint"
_SECRET_COLUMNS = (
    WebhookActionRow.hmac_secret_enc,
    WebhookActionRow.password_enc,
    WebhookActionRow.client_certificate_enc,
    WebhookActionRow.client_certificate_passphrase_enc,
)
IMPORT_HINT = "run `shopctrl-desktop key import FILE` with the key file exported on a workstation that has it"


@dataclass(frozen=True)
class KeyCheck:
    """The database's key (``needed``: its fingerprint, None when not recorded) against this workstation's
    (``have``); ``readable`` False when stored secrets do not decrypt with this workstation's key."""

    needed: str | None
    have: str
    readable: bool = True

    @property
    def matches(self) -> bool:
        return self.readable and (self.needed is None or self.needed == self.have)

    @property
    def message(self) -> str | None:
        """In words, with the fix; None when this workstation's key is the one needed."""
        if self.matches:
            return None
        if self.needed is None:
            return (
                "this database's secrets were encrypted with another key than this workstation's "
                f"(key {self.have}); {IMPORT_HINT}. Until then, webhooks with an HMAC secret, a password "
                "or a client certificate fail on this workstation; the others are delivered."
            )
        return (
            f"this database's secrets need key {self.needed}; this workstation has {self.have}; "
            f"{IMPORT_HINT}. Until then, webhooks with an HMAC secret, a password or a client certificate "
            "fail on this workstation; the others are delivered."
        )


def recorded_fingerprint(session: Session) -> str | None:
    return session.scalar(select(DatabaseMetaRow.value).where(DatabaseMetaRow.name == FINGERPRINT))


def secrets_readable(session: Session, box: SecretBox) -> bool:
    """Whether ``box`` decrypts a stored secret (True when none is stored)."""
    row = session.scalars(
        select(WebhookActionRow).where(or_(*(c.is_not(None) for c in _SECRET_COLUMNS))).limit(1)
    ).first()
    if row is None:
        return True
    try:
        for column in _SECRET_COLUMNS:
            box.decrypt(getattr(row, column.key))
    except SecretKeyError:
        return False
    return True


def record_fingerprint(session: Session, fingerprint: str) -> bool:
    """Record the database's key (once: an existing record is kept); audited as ``key.created``.
    Returns whether it was recorded now. A login that may not write (support) records nothing."""
    if recorded_fingerprint(session) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(DatabaseMetaRow(name=FINGERPRINT, value=fingerprint))
            session.flush()
            record(session, AuditAction.KEY_CREATED, Subject(SubjectKind.KEY, None, fingerprint))
    except IntegrityError:  # another workstation recorded it first
        return False
    except DBAPIError:  # no privilege to write: the check still reports
        return False
    return True


def check_key(session: Session, box: SecretBox) -> KeyCheck:
    """Compare the workstation's key with the database's; records the fingerprint when none is recorded
    and this key reads the stored secrets (the caller commits)."""
    have = box.fingerprint
    needed = recorded_fingerprint(session)
    if needed is not None:
        return KeyCheck(needed, have, readable=needed == have or secrets_readable(session, box))
    if not secrets_readable(session, box):
        return KeyCheck(None, have, readable=False)
    record_fingerprint(session, have)
    return KeyCheck(recorded_fingerprint(session), have)


def check_database_key(db: Database, box: SecretBox) -> KeyCheck:
    """``check_key`` in its own transaction (committed: a first fingerprint is recorded)."""
    with db.session() as session:
        return check_key(session, box)
