"""The listener's bearer token: generated at first start, kept in the data dir with mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from shopctrl_desktop.paths import AppPaths


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def read_token(paths: AppPaths) -> str | None:
    try:
        text = paths.token_file.read_text("ascii").strip()
    except FileNotFoundError:
        return None
    return text or None


def load_or_create_token(paths: AppPaths) -> str:
    token = read_token(paths)
    if token is None:
        token = new_token()
        _write_private(paths.token_file, token)
    return token


def rotate_token(paths: AppPaths) -> str:
    """A new token; a running listener picks it up within a second (it watches the file)."""
    token = new_token()
    _write_private(paths.token_file, token)
    return token
