"""What every page of the desktop app needs: paths, settings, the database and the secret box."""

from __future__ import annotations

from dataclasses import dataclass

from shopctrl_desktop.config import Settings
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.store.db import Database
from shopctrl_desktop.store.secrets import SecretBox


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    db: Database
    box: SecretBox
