"""Secrets at rest, and the key that opens them.

Two kinds of key, both stored as one piece of "key material" (the content of ``secret.key``):

- the **engine keypair** (``{"kind": "x25519", ...}`` JSON): secrets are sealed (``v2:``, store/sealing.py)
  with the database's public key, which every admin workstation can read; only the private key opens them.
  It may carry the older symmetric key (``legacy_fernet``) so ``v1`` values keep opening until ``key migrate``;
- the older **symmetric key** (a bare Fernet key, ``v1`` values): still loaded from existing key files.

Where the key material lives, in order of preference:
1. ``SHOPCTRL_SECRET_KEY`` in the environment;
2. an existing key file ``secret.key`` in the data dir (mode 0600);
3. the OS keyring, when a working backend exists (a desktop session);
4. otherwise a new keypair in a key file with mode 0600 — the normal case on servers and CI, where keyring
   only offers its "fail" backend.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from shopctrl_desktop.store.sealing import (
    SealError,
    encode_public,
    is_sealed,
    open_sealed,
    public_key_fingerprint,
    raw_public,
    seal,
)

log = logging.getLogger(__name__)

KEYRING_SERVICE = "shopctrl-desktop"
ENV_KEY = "SHOPCTRL_SECRET_KEY"
KIND_KEYPAIR = "x25519"
KIND_SYMMETRIC = "fernet"


class SecretKeyError(RuntimeError):
    """The stored secrets cannot be decrypted with the key at hand."""


def keypair_material(private: X25519PrivateKey, legacy_fernet: bytes | None = None) -> bytes:
    """The key material of a keypair (what ``secret.key`` holds), with an older symmetric key if given."""
    public = raw_public(private)
    document: dict[str, str] = {
        "kind": KIND_KEYPAIR,
        "private": base64.urlsafe_b64encode(private.private_bytes_raw()).decode("ascii"),
        "public": encode_public(public),
        "fingerprint": public_key_fingerprint(public),
    }
    if legacy_fernet:
        document["legacy_fernet"] = legacy_fernet.decode("ascii")
    return json.dumps(document).encode("ascii")


class SecretBox:
    """This workstation's key: opens ``v2`` (sealed) values with the engine's private key and ``v1`` (Fernet)
    values with the symmetric key, whichever it holds. Built from key material (``secret.key``'s content)."""

    def __init__(self, key: bytes, source: str = "memory") -> None:
        self._key = key.strip()
        self.source = source
        self._private: X25519PrivateKey | None = None
        self._fernet: Fernet | None = None
        self._fernet_key: bytes | None = None
        if self._key.startswith(b"{"):
            try:
                document = json.loads(self._key)
                if document.get("kind") != KIND_KEYPAIR:
                    raise ValueError("unknown key kind")
                raw = base64.urlsafe_b64decode(str(document["private"]).encode("ascii"))
                self._private = X25519PrivateKey.from_private_bytes(raw)
                if document.get("public") != encode_public(raw_public(self._private)):
                    raise ValueError("its public key does not match its private key")
                legacy = document.get("legacy_fernet")
                if legacy:
                    self._fernet_key = str(legacy).encode("ascii")
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise ValueError(f"the key material is damaged or of an unknown kind ({exc})") from None
        else:
            self._fernet_key = self._key
        if self._fernet_key is not None:
            self._fernet = Fernet(self._fernet_key)

    def __reduce__(self) -> tuple[type[SecretBox], tuple[bytes, str]]:
        """Pickles as its key: how the box reaches the engine's child process (gui/engine_thread.py)."""
        return (SecretBox, (self._key, self.source))

    def key_bytes(self) -> bytes:
        """The key material itself: only for writing it to ``secret.key`` or an exported key file."""
        return self._key

    @property
    def kind(self) -> str:
        """``x25519`` (the engine keypair) or ``fernet`` (the older symmetric key)."""
        return KIND_KEYPAIR if self._private is not None else KIND_SYMMETRIC

    @property
    def public_key(self) -> bytes | None:
        """The keypair's public key (32 raw bytes); None for a symmetric key."""
        return raw_public(self._private) if self._private is not None else None

    @property
    def has_symmetric_key(self) -> bool:
        return self._fernet is not None

    @property
    def fingerprint(self) -> str:
        """A short hash that names the key (never the key): what the database records and messages show.
        For a keypair it is computed from the public key, so the database can name it without the private."""
        return key_fingerprint(self._key)

    @classmethod
    def generate(cls) -> SecretBox:
        """A new engine keypair."""
        return cls(keypair_material(X25519PrivateKey.generate()))

    @classmethod
    def generate_symmetric(cls) -> SecretBox:
        """An older-style symmetric (Fernet, ``v1``) key: for tests of databases from before the keypair."""
        return cls(Fernet.generate_key())

    def with_keypair(self) -> SecretBox:
        """This key turned into a keypair: itself when it is one, else a new keypair that keeps this
        symmetric key for the ``v1`` values (``key migrate``, ``db setup``)."""
        if self._private is not None:
            return self
        return SecretBox(keypair_material(X25519PrivateKey.generate(), self._fernet_key), self.source)

    def encrypt(self, plaintext: str | None) -> str | None:
        """Sealed for this box's own public key (v2), or Fernet (v1) with a symmetric key. The store seals for
        the database's public key instead (store/keys.py ``sealer``)."""
        if plaintext is None or plaintext == "":
            return None
        if self._private is not None:
            return seal(raw_public(self._private), plaintext)
        assert self._fernet is not None
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        if is_sealed(token):
            try:
                if self._private is None:
                    raise SealError("no private key")
                return open_sealed(self._private, token)
            except SealError:
                raise SecretKeyError(
                    f"{self._cannot} it is sealed for the engine key, which this workstation does not hold: "
                    "secrets can be replaced here but not read back; run `shopctrl-desktop key import FILE` "
                    "with the key file exported (`key export`) on the engine's workstation to read them here"
                ) from None
        if self._fernet is None:
            raise SecretKeyError(
                f"{self._cannot} it was encrypted with an older symmetric key; run `shopctrl-desktop key import "
                "FILE` with the key file exported (`key export`) on a workstation that has it, then `key migrate`"
            )
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise SecretKeyError(
                f"{self._cannot} it was encrypted with another key; run `shopctrl-desktop key import "
                "FILE` with the key file exported (`key export`) on a workstation that has it"
            ) from None

    @property
    def _cannot(self) -> str:
        return (
            f"a stored secret cannot be decrypted with this workstation's key {self.fingerprint} "
            f"(from {self.source}):"
        )

    def __repr__(self) -> str:  # never show the key
        return f"SecretBox(kind={self.kind!r}, source={self.source!r})"


def key_fingerprint(key: bytes) -> str:
    """16 hex digits that name a key, reveal nothing of it: for a keypair, of its public key
    (store/sealing.py); for a symmetric key, SHA-256 over the key with a fixed label."""
    key = key.strip()
    if key.startswith(b"{"):
        try:
            public = json.loads(key)["public"]
            return public_key_fingerprint(base64.urlsafe_b64decode(str(public).encode("ascii")))
        except (KeyError, TypeError, ValueError, binascii.Error):
            pass
    return hashlib.sha256(b"shopctrl-desktop secret key fingerprint\0" + key).hexdigest()[:16]


def _keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return False
        return getattr(backend, "priority", 0) > 0
    except Exception:  # noqa: BLE001 - any keyring trouble means "not usable"
        return False


def _write_key_file(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    os.chmod(path, 0o600)


def load_secret_box(data_dir: Path, *, use_keyring: bool | None = None) -> SecretBox:
    env_key = os.environ.get(ENV_KEY)
    if env_key:
        return SecretBox(env_key.encode("ascii"), source=ENV_KEY)
    key_file = data_dir / "secret.key"
    if key_file.exists():
        return SecretBox(key_file.read_bytes().strip(), source=str(key_file))
    usable = _keyring_usable() if use_keyring is None else use_keyring
    account = str(data_dir.resolve())
    if usable:
        try:
            import keyring

            stored = keyring.get_password(KEYRING_SERVICE, account)
            if stored:
                return SecretBox(stored.encode("ascii"), source="the OS keyring")
            key = SecretBox.generate().key_bytes()
            keyring.set_password(KEYRING_SERVICE, account, key.decode("ascii"))
            return SecretBox(key, source="the OS keyring")
        except Exception as exc:  # noqa: BLE001
            log.warning(
                "OS keyring unavailable (%s); keeping the secret key in %s", type(exc).__name__, key_file
            )
    key = SecretBox.generate().key_bytes()
    try:
        _write_key_file(key_file, key)
    except FileExistsError:  # another process created it first
        return SecretBox(key_file.read_bytes().strip(), source=str(key_file))
    return SecretBox(key, source=str(key_file))
