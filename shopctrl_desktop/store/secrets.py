"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a per-data-dir key.

Where the key lives, in order of preference:
1. ``SHOPCTRL_SECRET_KEY`` in the environment (shared PostgreSQL setups give every workstation the same key);
2. an existing key file ``secret.key`` in the data dir (mode 0600);
3. the OS keyring, when a working backend exists (a desktop session);
4. otherwise a new key file with mode 0600 — the normal case on servers and CI, where keyring only offers
   its "fail" backend.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)

KEYRING_SERVICE = "shopctrl-desktop"
ENV_KEY = "SHOPCTRL_SECRET_KEY"


class SecretKeyError(RuntimeError):
    """The stored secrets cannot be decrypted with the key at hand."""


class SecretBox:
    def __init__(self, key: bytes, source: str = "memory") -> None:
        self._fernet = Fernet(key)
        self._key = key
        self.source = source

    def __reduce__(self) -> tuple[type[SecretBox], tuple[bytes, str]]:
        """Pickles as its key: how the box reaches the engine's child process (gui/engine_thread.py)."""
        return (SecretBox, (self._key, self.source))

    def key_bytes(self) -> bytes:
        """The key itself: only for sealing it into an exported key file (store/key_file.py)."""
        return self._key

    @property
    def fingerprint(self) -> str:
        """A short hash that names the key (never the key): what the database records and messages show."""
        return key_fingerprint(self._key)

    @classmethod
    def generate(cls) -> SecretBox:
        return cls(Fernet.generate_key())

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None or plaintext == "":
            return None
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with this workstation's key {self.fingerprint} "
                f"(from {self.source}): it was encrypted with another key; run `shopctrl-desktop key import "
                "FILE` with the key file exported (`key export`) on a workstation that has it"
            ) from None

    def __repr__(self) -> str:  # never show the key
        return f"SecretBox(source={self.source!r})"


def key_fingerprint(key: bytes) -> str:
    """16 hex digits of SHA-256 over the key (with a fixed label): names a key, reveals nothing of it."""
    return hashlib.sha256(b"shopctrl-desktop secret key fingerprint\0" + key.strip()).hexdigest()[:16]


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
            key = Fernet.generate_key()
            keyring.set_password(KEYRING_SERVICE, account, key.decode("ascii"))
            return SecretBox(key, source="the OS keyring")
        except Exception as exc:  # noqa: BLE001
            log.warning(
                "OS keyring unavailable (%s); keeping the secret key in %s", type(exc).__name__, key_file
            )
    key = Fernet.generate_key()
    try:
        _write_key_file(key_file, key)
    except FileExistsError:  # another process created it first
        return SecretBox(key_file.read_bytes().strip(), source=str(key_file))
    return SecretBox(key, source=str(key_file))
