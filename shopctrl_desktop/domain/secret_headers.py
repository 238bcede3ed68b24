"""Which HTTP headers carry credentials: their values are masked wherever they are shown or logged.

The queue's item detail (store/browse.py) masks them; the log filter (logging_setup.py) redacts them.
"""

from __future__ import annotations

#: Header names (lower case) whose values are credentials or signatures.
SECRET_HEADER_NAMES = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-signature",
    "x-hub-signature",
    "x-hub-signature-256",
    "webhook-signature",
)
#: A header whose name contains one of these words is treated as secret too (X-Custom-Token, …).
SECRET_HEADER_WORDS = ("authorization", "signature", "secret", "token", "password", "api-key", "apikey")

_NAMES = frozenset(SECRET_HEADER_NAMES)


def is_secret_header(name: str) -> bool:
    """True when the value of header ``name`` (any case) must not be shown in full."""
    low = name.lower()
    return low in _NAMES or any(word in low for word in SECRET_HEADER_WORDS)
