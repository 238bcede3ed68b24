"""The engine keypair (issue 11 item 3): secrets are sealed (v2) with the database's engine PUBLIC key, so an
admin workstation without the private key can save and replace a secret but not read it back; only the
engine's workstation opens it when it sends. Older (v1, Fernet) databases keep working and ``key migrate``
re-seals them."""

from __future__ import annotations

import base64
import io
import json
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402,I001
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shopctrl_desktop.cli.main import main
from shopctrl_desktop.domain.model import SignatureScheme, Trigger, WebhookAction
from shopctrl_desktop.domain.signing import generate_secret, verify
from shopctrl_desktop.domain.stored_secret import is_stored_secret
from shopctrl_desktop.domain.trigger_file import export_document
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.keys import check_database_key, engine_public_key, recorded_fingerprint
from shopctrl_desktop.store.models import AlertRow, AuditEntryRow, WebhookActionRow
from shopctrl_desktop.store.sealing import SealError, open_sealed, public_key_fingerprint, seal
from shopctrl_desktop.store.secrets import SecretBox, SecretKeyError, load_secret_box
from shopctrl_desktop.store.triggers import get_trigger, list_public_triggers, list_triggers, save_trigger
from tests.helpers.engine_harness import running_engine
from tests.helpers.factories import add_items
from tests.helpers.receivers import Receiver


# --- the sealed box --------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_seal_then_open_gives_the_plaintext_back_and_two_seals_differ(plaintext: str) -> None:
    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    first, second = seal(public, plaintext), seal(public, plaintext)
    assert first.startswith("v2:") and first != second  # a fresh ephemeral key and nonce each time
    assert open_sealed(private, first) == plaintext == open_sealed(private, second)
    with pytest.raises(SealError):
        open_sealed(X25519PrivateKey.generate(), first)  # another private key


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_altered_byte_is_refused(data) -> None:
    private = X25519PrivateKey.generate()
    token = seal(private.public_key().public_bytes_raw(), "whsec_secret")
    raw = bytearray(base64.urlsafe_b64decode(token[3:]))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(SealError):
        open_sealed(private, "v2:" + base64.urlsafe_b64encode(bytes(raw)).decode())
    with pytest.raises(SealError):
        open_sealed(private, token[:-8])  # cut short


def test_key_material_kinds_and_fingerprints(tmp_path: Path) -> None:
    box = load_secret_box(tmp_path, use_keyring=False)  # a new data dir: an engine keypair
    document = json.loads((tmp_path / "secret.key").read_text())
    assert document["kind"] == "x25519" and box.kind == "x25519"
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert box.fingerprint == document["fingerprint"] == public_key_fingerprint(box.public_key or b"")
    assert document["private"] not in repr(box)
    old = SecretBox.generate_symmetric()  # an existing Fernet key file keeps loading
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "secret.key").write_bytes(old.key_bytes())
    loaded = load_secret_box(tmp_path / "old", use_keyring=False)
    assert loaded.kind == "fernet" and loaded.fingerprint == old.fingerprint
    token = old.encrypt("pw")
    assert token is not None and not token.startswith("v2:") and loaded.decrypt(token) == "pw"
    upgraded = old.with_keypair()  # keeps the symmetric key for the v1 values
    assert upgraded.kind == "x25519" and upgraded.decrypt(token) == "pw"
    document["public"] = json.loads(SecretBox.generate().key_bytes())["public"]
    with pytest.raises(ValueError, match="does not match"):
        SecretBox(json.dumps(document).encode())


# --- two workstations on one database ----------------------------------------------------------------------
class Workstation:
    """One data dir (its own secret.key) on a shared database, driven through the CLI."""

    def __init__(self, data_dir: Path, url: str, capsys, monkeypatch) -> None:
        self.data_dir, self.url, self._capsys, self._monkeypatch = data_dir, url, capsys, monkeypatch

    def run(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self._capsys.readouterr()
        code = main(["--data-dir", str(self.data_dir), "--database-url", self.url, *args])
        captured = self._capsys.readouterr()
        return code, captured.out, captured.err

    @property
    def box(self) -> SecretBox:
        return load_secret_box(self.data_dir, use_keyring=False)


@pytest.fixture
def shared(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("shopctrl_desktop.store.secrets._keyring_usable", lambda: False)
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    engine = Workstation(tmp_path / "engine", url, capsys, monkeypatch)
    admin = Workstation(tmp_path / "admin", url, capsys, monkeypatch)
    db = Database(url)
    yield engine, admin, db
    db.dispose()


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


def signed_trigger(url: str, secret: str, title: str = "ERP") -> Trigger:
    action = WebhookAction(url=url, hmac_secret=secret, signature_scheme=SignatureScheme.SHOPCTRL)
    return Trigger(title=title, event="OrderChanged", actions=(action,))


def stored_columns(db: Database) -> list[str | None]:
    with db.session() as s:
        return [r.hmac_secret_enc for r in s.scalars(select(WebhookActionRow).order_by(WebhookActionRow.id))]


def audit_actions(db: Database) -> list[str]:
    with db.session() as s:
        return [e.action for e in s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))]


async def test_an_admin_without_the_engine_key_saves_a_secret_the_engine_sends_signed(
    shared, receiver, tmp_path
):
    engine, admin, db = shared
    code, out, _err = engine.run("db", "setup")
    assert code == 0 and f"engine key: {engine.box.fingerprint}" in out
    with db.session() as s:
        assert recorded_fingerprint(s) == engine.box.fingerprint
        assert engine_public_key(s) == engine.box.public_key
    assert "key.created" in audit_actions(db)
    assert admin.box.fingerprint != engine.box.fingerprint  # the admin's data dir holds another key

    # the admin workstation imports a trigger with an HMAC secret: sealed for the engine, no private key needed
    secret = generate_secret(SignatureScheme.SHOPCTRL)
    trigger_file = tmp_path / "triggers.json"
    trigger_file.write_text(
        json.dumps(export_document([signed_trigger(receiver.url("/erp"), secret)], include_secrets=True))
    )
    code, out, err = admin.run("triggers", "import", str(trigger_file))
    assert code == 0, err
    (token,) = stored_columns(db)
    assert token is not None and token.startswith("v2:") and secret not in token

    # ... and cannot read it back: a message in words, the engine key named, no traceback
    code, _out, err = admin.run("triggers", "export", "--include-secrets")
    assert code == 1 and "Traceback" not in err and secret not in err
    assert "does not hold" in err and "replaced here but not read back" in err and "key import" in err
    assert engine.box.fingerprint in err
    code, _out, err = admin.run("key", "status")
    assert code == 1 and "does not hold the engine key" in err and engine.box.fingerprint in err
    with db.session() as s:
        with pytest.raises(SecretKeyError):
            list_triggers(s, admin.box)
        (kept,) = list_triggers(s, admin.box, keep_unreadable=True)
    assert is_stored_secret(kept.actions[0].hmac_secret)

    # the admin renames the trigger and saves without touching the secret: the engine's seal is kept as is
    with db.session() as s:
        save_trigger(s, admin.box, replace(kept, title="ERP orders"))
    assert stored_columns(db) == [token]
    # importing the file again (same secret) replaces it with a new seal, still for the engine
    assert admin.run("triggers", "import", str(trigger_file))[0] == 0

    # the engine's workstation delivers it, signed with the secret the admin typed
    with db.session() as s:
        action = list_public_triggers(s)[0].actions[0]
    items = add_items(db, action, 2)
    async with running_engine(db, engine.box) as (_engine, observer):
        assert set((await observer.wait_final(items)).values()) == {"delivered"}
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        assert verify(SignatureScheme.SHOPCTRL, secret, request.body, request.headers)
    code, out, _err = engine.run("triggers", "export", "--include-secrets")
    assert code == 0 and secret in out


async def test_an_engine_with_another_keypair_fails_only_that_actions_items_with_one_alert(shared, receiver):
    engine, _admin, db = shared
    assert engine.run("db", "setup")[0] == 0
    with db.session() as s:
        signed_id = save_trigger(s, engine.box, signed_trigger(receiver.url("/erp"), "s" * 32))
        plain_id = save_trigger(
            s,
            engine.box,
            Trigger(
                title="Plain", event="OrderChanged", actions=(WebhookAction(url=receiver.url("/plain")),)
            ),
        )
    with db.session() as s:
        signed = (get_trigger(s, None, signed_id) or pytest.fail()).actions[0]
        plain = (get_trigger(s, None, plain_id) or pytest.fail()).actions[0]
    bad, good = add_items(db, signed, 3), add_items(db, plain, 2)
    wrong = SecretBox.generate()
    async with running_engine(db, wrong) as (_engine, observer):
        final = await observer.wait_final(bad + good)
    assert [final[i] for i in bad] == ["failed"] * 3 and [final[i] for i in good] == ["delivered"] * 2
    assert [r.path for r in receiver.requests] == ["/plain", "/plain"]
    with db.session() as s:
        (alert,) = s.scalars(select(AlertRow))
        assert f"action #{signed.id}" in alert.title and "key import" in alert.message
        assert engine.box.fingerprint in alert.message  # the key this database needs


async def test_a_v1_database_keeps_working_and_key_migrate_reseals_it(shared, receiver):
    engine, _admin, db = shared
    legacy = SecretBox.generate_symmetric()  # a data dir from before the keypair
    engine.data_dir.mkdir()
    (engine.data_dir / "secret.key").write_bytes(legacy.key_bytes())
    assert check_database_key(db, legacy).matches  # records the symmetric key's fingerprint
    secret = generate_secret(SignatureScheme.SHOPCTRL)
    with db.session() as s:
        save_trigger(s, legacy, signed_trigger(receiver.url("/erp"), secret))
        action = list_public_triggers(s)[0].actions[0]
    (v1,) = stored_columns(db)
    assert v1 is not None and not v1.startswith("v2:")
    first = add_items(db, action, 1)
    async with running_engine(db, legacy) as (_engine, observer):  # v1 still delivers
        assert (await observer.wait_final(first))[first[0]] == "delivered"

    code, out, err = engine.run("key", "status")
    assert code == 0 and "older symmetric key (Fernet)" in out and "key migrate" in out
    code, out, err = engine.run("key", "migrate")
    assert code == 0, err
    assert "re-sealed 1 secret(s)" in out
    box = engine.box
    assert box.kind == "x25519" and box.has_symmetric_key
    assert list((engine.data_dir).glob(f"secret.key.{legacy.fingerprint}.old"))  # the old file is kept
    (v2,) = stored_columns(db)
    assert v2 is not None and v2.startswith("v2:")
    with db.session() as s:
        assert recorded_fingerprint(s) == box.fingerprint and engine_public_key(s) == box.public_key
    assert audit_actions(db)[-2:] == ["key.created", "key.migrated"]
    code, out, _err = engine.run("key", "status")
    assert code == 0 and "engine keypair (X25519)" in out and "key migrate" not in out
    assert engine.run("key", "migrate")[1].strip().endswith("no older secrets to re-seal")

    second = add_items(db, action, 1)
    async with running_engine(db, box) as (_engine, observer):
        assert (await observer.wait_final(second))[second[0]] == "delivered"
    assert all(verify(SignatureScheme.SHOPCTRL, secret, r.body, r.headers) for r in receiver.requests)


def test_key_migrate_elsewhere_changes_nothing(shared):
    engine, admin, db = shared
    legacy = SecretBox.generate_symmetric()
    assert check_database_key(db, legacy).matches
    with db.session() as s:
        save_trigger(s, legacy, signed_trigger("http://127.0.0.1:9/x", "s" * 32))
    before = stored_columns(db)
    code, _out, err = admin.run("key", "migrate")
    assert code == 1 and "not the one this database's secrets need" in err and "nothing was changed" in err
    assert stored_columns(db) == before
    with db.session() as s:
        assert engine_public_key(s) is None


def test_export_and_import_carry_the_keypair(shared, tmp_path):
    engine, admin, db = shared
    assert engine.run("db", "setup")[0] == 0
    with db.session() as s:
        save_trigger(s, admin.box, signed_trigger("http://127.0.0.1:9/x", "the-secret-1234"))
    key_file = tmp_path / "engine.key"
    code, _out, err = engine.run("key", "export", str(key_file), stdin="correct horse battery\n")
    assert code == 0, err
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    document = json.loads(key_file.read_text())
    assert document["fingerprint"] == engine.box.fingerprint and "private" not in key_file.read_text()
    assert admin.run("key", "import", str(key_file), stdin="wrong passphrase\n")[0] == 1
    code, out, err = admin.run("key", "import", str(key_file), stdin="correct horse battery\n")
    assert code == 0, err
    assert admin.box.kind == "x25519" and admin.box.fingerprint == engine.box.fingerprint
    code, out, _err = admin.run("triggers", "export", "--include-secrets")
    assert code == 0 and "the-secret-1234" in out
    assert admin.run("key", "status")[0] == 0


# --- PostgreSQL: real admin and engine logins ----------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres():
    from tests.helpers.postgres import throwaway_postgres

    with throwaway_postgres("shopctrl-pg-keypair-") as cluster:
        yield cluster


async def test_on_postgresql_an_admin_login_seals_and_only_the_engine_login_opens(
    postgres, receiver, tmp_path, capsys, monkeypatch
):
    import uuid

    from sqlalchemy.engine import make_url

    from shopctrl_desktop.domain.roles import Role
    from shopctrl_desktop.store import roles

    monkeypatch.setattr("shopctrl_desktop.store.secrets._keyring_usable", lambda: False)
    owner = postgres.new_database()
    name = make_url(owner.url).database
    suffix = uuid.uuid4().hex[:6]
    with owner.session() as s:
        roles.setup_roles(s)
    for role in (Role.ADMIN, Role.ENGINE, Role.SUPPORT):
        with owner.session() as s:
            roles.add_user(s, f"{role.value}_{suffix}", role, "pw-" + suffix)

    def url(role: Role) -> str:
        return f"postgresql+psycopg://{role.value}_{suffix}@/{name}?host={postgres.base}&port={postgres.port}"

    # the owner runs `db setup` on the engine's machine: its data dir gets the keypair, the database the public key
    engine_ws = Workstation(tmp_path / "engine", owner.url, capsys, monkeypatch)
    code, out, err = engine_ws.run("db", "setup")
    assert code == 0, err
    engine_box = engine_ws.box
    admin_db, engine_db, support_db = (
        Database(url(Role.ADMIN)),
        Database(url(Role.ENGINE)),
        Database(url(Role.SUPPORT)),
    )
    try:
        admin_box = load_secret_box(tmp_path / "admin", use_keyring=False)  # the admin workstation's own key
        check = check_database_key(admin_db, admin_box)
        assert not check.matches and check.message is not None
        assert "does not hold the engine key" in check.message and engine_box.fingerprint in check.message
        secret = generate_secret(SignatureScheme.SHOPCTRL)
        with admin_db.session() as s:
            save_trigger(s, admin_box, signed_trigger(receiver.url("/erp"), secret))
        with admin_db.session() as s:
            with pytest.raises(SecretKeyError, match="does not hold"):
                list_triggers(s, admin_box)
            (trigger,) = list_triggers(s, admin_box, keep_unreadable=True)
        assert is_stored_secret(trigger.actions[0].hmac_secret)
        with support_db.session() as s:  # support reads the public key (it is public), never the column
            assert engine_public_key(s) == engine_box.public_key
        items = add_items(owner, trigger.actions[0], 2)
        async with running_engine(engine_db, engine_box) as (_engine, observer):
            assert set((await observer.wait_final(items)).values()) == {"delivered"}
        assert [verify(SignatureScheme.SHOPCTRL, secret, r.body, r.headers) for r in receiver.requests] == [
            True
        ] * 2
    finally:
        for database in (admin_db, engine_db, support_db, owner):
            database.dispose()


def test_db_setup_on_a_workstation_without_the_engine_key_only_reports_it(shared):
    engine, admin, db = shared
    assert engine.run("db", "setup")[0] == 0
    code, out, err = admin.run("db", "setup")  # e.g. the owner upgrading the schema from another machine
    assert code == 0, err
    assert f"engine key: {engine.box.fingerprint} (recorded; this workstation does not hold it" in out
    with db.session() as s:
        assert engine_public_key(s) == engine.box.public_key  # unchanged
