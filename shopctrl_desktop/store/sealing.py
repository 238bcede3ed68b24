"""Sealed boxes for secrets at rest (``v2``): anyone with the engine's PUBLIC key can seal a secret; only the
holder of its private key can open it.

Scheme: an ephemeral X25519 key agreement with the recipient's public key; HKDF-SHA256 (salt = ephemeral
public key ‖ recipient public key, info naming the scheme) derives a 256-bit key; AES-256-GCM encrypts with a
random 96-bit nonce. Stored as ``v2:`` + urlsafe base64 (ephemeral public key ‖ nonce ‖ ciphertext with tag).
A fresh ephemeral key per secret means two seals of one value differ and a sealer can open nothing it sealed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

V2_PREFIX = "v2:"
SCHEME_INFO = b"shopctrl-desktop sealed secret v2: X25519 + HKDF-SHA256 + AES-256-GCM"
_KEY_LEN = 32
_NONCE_LEN = 12


class SealError(ValueError):
    """A sealed value does not open with this private key (another key, or the value was altered)."""


def public_key_fingerprint(public: bytes) -> str:
    """16 hex digits of SHA-256 over the raw public key (with a fixed label): names the engine key."""
    return hashlib.sha256(b"shopctrl-desktop engine key fingerprint\0" + public).hexdigest()[:16]


def encode_public(public: bytes) -> str:
    return base64.urlsafe_b64encode(public).decode("ascii")


def decode_public(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text.encode("ascii"))
    if len(raw) != _KEY_LEN:
        raise ValueError("an X25519 public key has 32 bytes")
    return raw


def raw_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def _derive(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=_KEY_LEN, salt=ephemeral_public + recipient_public, info=SCHEME_INFO
    )
    return hkdf.derive(shared)


def is_sealed(token: str | None) -> bool:
    return token is not None and token.startswith(V2_PREFIX)


def seal(recipient_public: bytes, plaintext: str) -> str:
    """``plaintext`` sealed for the holder of the private key of ``recipient_public`` (32 raw bytes)."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = raw_public(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    nonce = os.urandom(_NONCE_LEN)
    ciphertext = AESGCM(_derive(shared, ephemeral_public, recipient_public)).encrypt(
        nonce, plaintext.encode("utf-8"), None
    )
    return V2_PREFIX + base64.urlsafe_b64encode(ephemeral_public + nonce + ciphertext).decode("ascii")


def open_sealed(private: X25519PrivateKey, token: str) -> str:
    """The plaintext of a ``v2:`` value; SealError when it was sealed for another key or altered."""
    if not is_sealed(token):
        raise SealError("not a sealed (v2) value")
    try:
        raw = base64.urlsafe_b64decode(token[len(V2_PREFIX) :].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SealError("the sealed value is damaged") from None
    if len(raw) < _KEY_LEN + _NONCE_LEN + 16:
        raise SealError("the sealed value is damaged")
    ephemeral_public, nonce, ciphertext = raw[:_KEY_LEN], raw[_KEY_LEN : _KEY_LEN + _NONCE_LEN], raw[44:]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        key = _derive(shared, ephemeral_public, raw_public(private))
        return AESGCM(key).decrypt(nonce, ciphertext, None).decode("utf-8")
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise SealError("the sealed value does not open with this key") from None
