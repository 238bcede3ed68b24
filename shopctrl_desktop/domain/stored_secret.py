"""A secret that is stored but cannot be read on this workstation (sealed for the engine key, which only the
engine's workstation holds). It travels through the editor and ``triggers import`` as a marker that carries
the stored (sealed) value, so saving keeps the secret as it is; typing a new one replaces it, clearing it
removes it. A marker is never a usable secret: nothing signs or authenticates with it."""

from __future__ import annotations

_MARKER = "\x00stored-secret\x00"


def stored_secret(sealed: str) -> str:
    """The marker for the sealed value ``sealed`` (what the store keeps when the marker is saved back)."""
    return _MARKER + sealed


def is_stored_secret(value: str | None) -> bool:
    return value is not None and value.startswith(_MARKER)


def sealed_value(value: str) -> str:
    """The sealed value a marker carries."""
    return value[len(_MARKER) :]


def holds_stored_secrets(*values: str | None) -> bool:
    """Whether any of ``values`` is a stored secret this workstation cannot read (then nothing can be sent
    with them here: "Send test" needs the engine's workstation)."""
    return any(is_stored_secret(v) for v in values)


SEND_NEEDS_ENGINE_KEY = (
    "Not sent: this webhook's secrets (HMAC secret, password or client certificate) are sealed for the engine "
    "key, which this workstation does not hold. They can be replaced here but not read or used. Send the test "
    "from the engine's workstation, or import its key here (shopctrl-desktop key import FILE)."
)
