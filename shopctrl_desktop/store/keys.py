"""Which key the database's secrets need: its fingerprint is recorded in the database (``database_meta``),
and every face compares it with the workstation's own key at start (``check_key``). With the engine keypair
the database also holds the keypair's PUBLIC key (``engine_public_key``): any admin workstation seals new
secrets with it (``sealer``), only the engine's private key opens them.

The fingerprint is recorded the first time a workstation whose key can read the stored secrets (or when
there are none yet) opens the database; that is audited as ``key.created``. A workstation with another
key is told which key is needed and how to get it (``key import``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from shopctrl_desktop.domain.audit import AuditAction, Subject, SubjectKind
from shopctrl_desktop.store.audit import record
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.models import DatabaseMetaRow, WebhookActionRow
from shopctrl_desktop.store.sealing import (
    decode_public,
    encode_public,
    is_sealed,
    public_key_fingerprint,
    seal,
)
from shopctrl_desktop.store.secrets import SecretBox, SecretKeyError

FINGERPRINT = "secret_key_fingerprint"
PUBLIC_KEY = "engine_public_key"
_SECRET_COLUMNS = (
    WebhookActionRow.hmac_secret_enc,
    WebhookActionRow.password_enc,
    WebhookActionRow.client_certificate_enc,
    WebhookActionRow.client_certificate_passphrase_enc,
    WebhookActionRow.previous_hmac_secret_enc,  # a rotation's previous secret (store/secret_rotation.py)
)
IMPORT_HINT = "run `shopctrl-desktop key import FILE` with the key file exported on a workstation that has it"


@dataclass(frozen=True)
class KeyCheck:
    """The database's key (``needed``: its fingerprint, None when not recorded) against this workstation's
    (``have``); ``readable`` False when stored secrets do not decrypt with this workstation's key."""

    needed: str | None
    have: str
    readable: bool = True
    #: the database holds the engine's public key: this workstation can seal (replace) secrets without it
    sealed: bool = False

    @property
    def matches(self) -> bool:
        return self.readable and (self.needed is None or self.needed == self.have)

    @property
    def message(self) -> str | None:
        """In words, with the fix; None when this workstation's key is the one needed."""
        if self.matches:
            return None
        if self.sealed and self.needed is not None:
            return (
                f"this database's secrets need key {self.needed}; this workstation has {self.have}: it does not "
                "hold the engine key, so secrets can be replaced here but not read back; to read or send them "
                f"here, {IMPORT_HINT} (the engine's). Until then, webhooks with an HMAC secret, a password or a "
                "client certificate fail if this workstation delivers; the others are delivered."
            )
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


def engine_public_key(session: Session) -> bytes | None:
    """The engine keypair's public key (32 raw bytes), None when the database has none (v1 secrets only)."""
    text = session.scalar(select(DatabaseMetaRow.value).where(DatabaseMetaRow.name == PUBLIC_KEY))
    return decode_public(text) if text else None


def sealer(session: Session, box: SecretBox) -> Callable[[str | None], str | None]:
    """How to store a secret on this database: sealed (v2) for the engine's public key when the database
    has one (no private key needed: any admin workstation), else with this workstation's own box."""
    public = engine_public_key(session)
    if public is None:
        return box.encrypt
    recipient = public

    def seal_for_engine(plaintext: str | None) -> str | None:
        return seal(recipient, plaintext) if plaintext else None

    return seal_for_engine


def record_engine_key(session: Session, box: SecretBox) -> bool:
    """Record ``box``'s public key as the database's engine key (and its fingerprint as the key the secrets
    need) when the database has no public key yet; audited as ``key.created``. The caller makes sure the box
    reads the stored secrets. Returns whether it was recorded now; a login that may not write records
    nothing."""
    public = box.public_key
    if public is None or engine_public_key(session) is not None:
        return False
    fingerprint = public_key_fingerprint(public)
    try:
        with session.begin_nested():
            session.add(DatabaseMetaRow(name=PUBLIC_KEY, value=encode_public(public)))
            if recorded_fingerprint(session) is None:
                session.add(DatabaseMetaRow(name=FINGERPRINT, value=fingerprint))
            else:
                session.execute(
                    update(DatabaseMetaRow)
                    .where(DatabaseMetaRow.name == FINGERPRINT)
                    .values(value=fingerprint)
                )
            session.flush()
            record(session, AuditAction.KEY_CREATED, Subject(SubjectKind.KEY, None, fingerprint))
    except IntegrityError:  # another workstation recorded it first
        return False
    except DBAPIError:  # no privilege to write
        return False
    return True


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
    sealed = engine_public_key(session) is not None
    if needed is not None:
        if needed == have and not sealed:
            sealed = record_engine_key(session, box)  # a keypair recorded before its public key was
        return KeyCheck(
            needed, have, readable=needed == have or secrets_readable(session, box), sealed=sealed
        )
    if not secrets_readable(session, box):
        return KeyCheck(None, have, readable=False, sealed=sealed)
    if box.public_key is not None and not sealed:
        sealed = record_engine_key(session, box)
    else:
        record_fingerprint(session, have)
    return KeyCheck(recorded_fingerprint(session), have, sealed=sealed)


def unsealed_count(session: Session) -> int:
    """How many stored secrets are still ``v1`` (symmetric), i.e. not sealed for the engine keypair."""
    count = 0
    for row in session.scalars(
        select(WebhookActionRow).where(or_(*(c.is_not(None) for c in _SECRET_COLUMNS)))
    ):
        count += sum(1 for c in _SECRET_COLUMNS if getattr(row, c.key) and not is_sealed(getattr(row, c.key)))
    return count


def reseal_all(session: Session, box: SecretBox) -> int:
    """Re-seal every ``v1`` secret for the database's engine public key (in the caller's transaction);
    returns how many were re-sealed. SecretKeyError when ``box`` cannot open one (nothing is changed then:
    the caller's transaction is rolled back)."""
    public = engine_public_key(session)
    if public is None:
        raise SecretKeyError("this database has no engine public key yet; run `shopctrl-desktop key migrate`")
    count = 0
    for row in session.scalars(
        select(WebhookActionRow).where(or_(*(c.is_not(None) for c in _SECRET_COLUMNS)))
    ):
        for column in _SECRET_COLUMNS:
            value = getattr(row, column.key)
            if value and not is_sealed(value):
                plaintext = box.decrypt(value)
                setattr(row, column.key, seal(public, plaintext) if plaintext else None)
                count += 1
    session.flush()
    return count


def check_database_key(db: Database, box: SecretBox) -> KeyCheck:
    """``check_key`` in its own transaction (committed: a first fingerprint is recorded)."""
    with db.session() as session:
        return check_key(session, box)
