"""The exported key file: this workstation's secret key sealed with a passphrase, and installing an imported
key as the workstation's ``secret.key``.

Format (JSON, mode 0600): ``{"format": "shopctrl-desktop-key", "version": 1, "fingerprint": …, "kdf":
"scrypt", "n", "r", "p", "salt": base64, "sealed": Fernet token}``. The Fernet key is scrypt(passphrase,
salt); a wrong passphrase fails Fernet's HMAC check. The fingerprint is outside the seal, so a file can be
matched to a database without the passphrase; it is checked again against the unsealed key.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from shopctrl_desktop.store.secrets import SecretBox, key_fingerprint

FORMAT = "shopctrl-desktop-key"
VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class KeyFileError(ValueError):
    """The key file cannot be used; the message says why in words."""


def _sealing_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    raw = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, all or nothing: a temporary file in the same folder,
    renamed into place (never over an existing file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails if ``path`` appeared meanwhile
    finally:
        os.unlink(tmp)


def write_key_file(path: Path, box: SecretBox, passphrase: str) -> None:
    salt = os.urandom(16)
    sealed = Fernet(_sealing_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(box.key_bytes())
    document = {
        "format": FORMAT,
        "version": VERSION,
        "fingerprint": box.fingerprint,
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode("ascii"),
        "sealed": sealed.decode("ascii"),
    }
    _write_private(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def read_key_file(path: Path, passphrase: str) -> SecretBox:
    try:
        document = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyFileError(f"{path} is not a key file written by `shopctrl-desktop key export`") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeyFileError(f"{path} is not a key file written by `shopctrl-desktop key export`")
    if document.get("version") != VERSION or document.get("kdf") != "scrypt":
        raise KeyFileError(f"{path} was written by a newer version of ShopCtrl Desktop; update this one")
    try:
        salt = base64.b64decode(document["salt"])
        sealing = _sealing_key(passphrase, salt, int(document["n"]), int(document["r"]), int(document["p"]))
        key = Fernet(sealing).decrypt(str(document["sealed"]).encode("ascii"))
    except InvalidToken:
        raise KeyFileError(f"wrong passphrase for {path} (nothing was changed)") from None
    except (KeyError, TypeError, ValueError):
        raise KeyFileError(f"{path} is damaged: a field is missing or invalid") from None
    if key_fingerprint(key) != document.get("fingerprint"):
        raise KeyFileError(f"{path} is damaged: its key does not match its fingerprint")
    try:
        return SecretBox(key, source=str(path))
    except ValueError:
        raise KeyFileError(f"{path} is damaged: the key inside is not a valid key") from None


def install_key(data_dir: Path, box: SecretBox, *, old_box: SecretBox | None = None) -> Path | None:
    """Make ``box``'s key this workstation's ``secret.key`` (0600, replaced atomically). A different key
    file already there is kept as ``secret.key.<fingerprint>.old``; returns that path, if any."""
    key_file = data_dir / "secret.key"
    backup: Path | None = None
    if key_file.exists():
        current = key_file.read_bytes().strip()
        if key_fingerprint(current) != box.fingerprint:
            backup = data_dir / f"secret.key.{key_fingerprint(current)}.old"
            if not backup.exists():
                _write_private(backup, current)
    elif old_box is not None and old_box.fingerprint != box.fingerprint and old_box.source != "memory":
        backup = data_dir / f"secret.key.{old_box.fingerprint}.old"  # e.g. a key from the OS keyring
        if not backup.exists():
            _write_private(backup, old_box.key_bytes())
    staged = data_dir / f".secret.key.{os.getpid()}.new"
    staged.unlink(missing_ok=True)
    _write_private(staged, box.key_bytes())
    os.replace(staged, key_file)
    return backup
