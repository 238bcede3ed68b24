"""Which key the database needs (its fingerprint recorded in the database), and moving the key between
workstations with ``key export`` / ``key import`` (a passphrase-protected file, mode 0600, audited)."""

from __future__ import annotations

import io
import json
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from shopctrl_desktop.cli.main import main
from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.keys import check_database_key, recorded_fingerprint
from shopctrl_desktop.store.models import AuditEntryRow
from shopctrl_desktop.store.secrets import SecretBox, load_secret_box
from shopctrl_desktop.store.triggers import list_triggers
from tests.helpers.factories import make_action


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
    a = Workstation(tmp_path / "a", url, capsys, monkeypatch)
    b = Workstation(tmp_path / "b", url, capsys, monkeypatch)
    return a, b, Database(url)


def audit_actions(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return [
            (e.action, e.subject_name) for e in s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.id))
        ]


def test_the_database_records_its_key_and_another_key_is_told_the_fix(db):
    key_a, key_b = SecretBox.generate(), SecretBox.generate()
    first = check_database_key(db, key_a)
    assert first.matches and first.message is None and first.needed == key_a.fingerprint
    with db.session() as s:
        assert recorded_fingerprint(s) == key_a.fingerprint
    assert audit_actions(db) == [("key.created", key_a.fingerprint)]
    other = check_database_key(db, key_b)
    assert not other.matches
    assert other.message is not None
    assert f"need key {key_a.fingerprint}; this workstation has {key_b.fingerprint}" in other.message
    assert "key import FILE" in other.message
    assert key_a.key_bytes().decode() not in other.message  # a fingerprint, never the key
    assert len(audit_actions(db)) == 1  # recorded once


def test_an_older_database_with_secrets_of_another_key_is_not_claimed_by_this_key(db):
    key_a, key_b = SecretBox.generate(), SecretBox.generate()
    make_action(
        db, key_a, "http://127.0.0.1:9/x", hmac_secret="s" * 32, signature_scheme=SignatureScheme.SHOPCTRL
    )
    check = check_database_key(db, key_b)  # no fingerprint recorded yet (a database from before 0004)
    assert not check.matches and check.needed is None and "another key" in (check.message or "")
    with db.session() as s:
        assert recorded_fingerprint(s) is None
    assert check_database_key(db, key_a).needed == key_a.fingerprint


def test_export_then_import_moves_the_key_to_the_other_workstation(shared, tmp_path):
    a, b, db = shared
    assert a.run("key", "status")[0] == 0
    make_action(db, a.box, "http://127.0.0.1:9/x", title="ERP", hmac_secret="s" * 32)
    code, _out, err = b.run("key", "status")
    assert code == 1
    assert (
        f"this database's secrets need key {a.box.fingerprint}; this workstation has {b.box.fingerprint}"
        in err
    )

    key_file = tmp_path / "engine.key"
    code, out, err = a.run("key", "export", str(key_file), stdin="correct horse\n")
    assert code == 0, err
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert a.box.key_bytes().decode() not in key_file.read_text()
    assert json.loads(key_file.read_text())["fingerprint"] == a.box.fingerprint
    assert a.run("key", "export", str(key_file), stdin="correct horse\n")[0] == 1  # never overwritten

    b_key_before = (b.data_dir / "secret.key").read_bytes()
    code, _out, err = b.run("key", "import", str(key_file), stdin="wrong horse\n")
    assert code == 1 and "wrong passphrase" in err
    assert (b.data_dir / "secret.key").read_bytes() == b_key_before  # nothing changed

    code, out, err = b.run("key", "import", str(key_file), stdin="correct horse\n")
    assert code == 0, err
    assert b.box.fingerprint == a.box.fingerprint
    assert stat.S_IMODE((b.data_dir / "secret.key").stat().st_mode) == 0o600
    old_fingerprint = SecretBox(b_key_before).fingerprint
    assert (b.data_dir / f"secret.key.{old_fingerprint}.old").read_bytes() == b_key_before
    assert b.run("key", "status")[0] == 0
    with db.session() as s:
        (trigger,) = list_triggers(s, b.box)
    assert trigger.actions[0].hmac_secret == "s" * 32
    actions = [action for action, _ in audit_actions(db)]
    assert actions.count("key.exported") == 1 and actions.count("key.imported") == 1


def test_a_key_file_for_another_database_is_refused(shared, tmp_path, capsys, monkeypatch):
    a, b, db = shared
    assert a.run("key", "status")[0] == 0
    other = Workstation(tmp_path / "c", f"sqlite:///{tmp_path / 'other.sqlite3'}", capsys, monkeypatch)
    assert other.run("key", "status")[0] == 0
    key_file = tmp_path / "other.key"
    assert other.run("key", "export", str(key_file), stdin="passphrase-c\n")[0] == 0
    before = b.box.key_bytes()  # B's own key (made on first use)
    code, _out, err = b.run("key", "import", str(key_file), stdin="passphrase-c\n")
    assert code == 1 and "for another database" in err
    assert (b.data_dir / "secret.key").read_bytes() == before
    assert "key.imported" not in [action for action, _ in audit_actions(db)]


def test_export_refuses_a_short_passphrase_and_a_key_that_is_not_the_databases(shared, tmp_path):
    a, b, _db = shared
    assert a.run("key", "status")[0] == 0
    code, _out, err = a.run("key", "export", str(tmp_path / "k"), stdin="short\n")
    assert code == 1 and "at least 8" in err and not (tmp_path / "k").exists()
    code, _out, err = b.run("key", "export", str(tmp_path / "k"), stdin="long enough\n")
    assert code == 1 and "export it on a workstation that has it" in err and not (tmp_path / "k").exists()


def test_a_file_that_is_no_key_file_is_a_clear_error(shared, tmp_path):
    _a, b, _db = shared
    junk = tmp_path / "junk.key"
    junk.write_text("{}")
    code, _out, err = b.run("key", "import", str(junk), stdin="whatever1\n")
    assert code == 1 and "not a key file" in err


def test_serve_warns_in_words_and_keeps_going(db, capsys, caplog):
    from types import SimpleNamespace

    from shopctrl_desktop.cli.keys import warn_about_key

    key_a, key_b = SecretBox.generate(), SecretBox.generate()
    warn_about_key(SimpleNamespace(db=db, box=key_a))  # records the database's key: nothing to say
    assert capsys.readouterr().err == ""
    warn_about_key(SimpleNamespace(db=db, box=key_b))
    err = capsys.readouterr().err
    assert err.startswith("shopctrl-desktop: warning: this database's secrets need key")
    assert key_a.fingerprint in err and key_b.fingerprint in err and "key import" in err
    assert any("key import" in r.getMessage() for r in caplog.records)


def test_a_command_that_needs_a_secret_it_cannot_read_says_so_without_a_traceback(shared):
    a, b, db = shared
    make_action(db, a.box, "http://127.0.0.1:9/x", title="ERP", hmac_secret="s" * 32)
    code, out, err = b.run("triggers", "list")  # reads no secrets: works with any key
    assert code == 0 and "ERP" in out
    code, _out, err = b.run("triggers", "export", "--include-secrets")
    assert code == 1 and "Traceback" not in err
    assert "cannot be decrypted with this workstation's key" in err and "key import FILE" in err
