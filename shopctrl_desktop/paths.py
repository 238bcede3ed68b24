"""Where ShopCtrl Desktop keeps its files (platformdirs, overridable per run)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "shopctrl-desktop"
DATA_DIR_ENV = "SHOPCTRL_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    """The folders of one data directory.

    When the data directory is given explicitly (``--data-dir`` / ``SHOPCTRL_DATA_DIR``) everything —
    database, settings, token, logs — lives below it, so a demo or a test never mixes with real data.
    """

    data_dir: Path
    log_dir: Path

    @property
    def database_file(self) -> Path:
        return self.data_dir / "shopctrl.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.data_dir / "settings.json"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "api-token"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "shopctrl-desktop.log"

    def ensure(self) -> AppPaths:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """CLI option, then environment, then the platform's user data directory."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if chosen:
        base = Path(chosen).expanduser().resolve()
        return AppPaths(data_dir=base, log_dir=base / "logs")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
