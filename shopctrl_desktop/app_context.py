"""The application context every face works with — the GUI, the CLI and the demo: paths, settings, the
database and the secret box.

Plain Python, no Qt. The database and the secret box are given (the GUI opens them up front so a failure is
shown in a dialog; the demo opens its own), or opened on first use (a CLI command that needs neither, such
as ``token``, never loads SQLAlchemy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shopctrl_desktop.config import Settings
    from shopctrl_desktop.domain.roles import Capability
    from shopctrl_desktop.paths import AppPaths
    from shopctrl_desktop.store.db import Database
    from shopctrl_desktop.store.roles import Identity
    from shopctrl_desktop.store.secrets import SecretBox


class AppContext:
    def __init__(
        self,
        paths: AppPaths,
        settings: Settings,
        db: Database | None = None,
        box: SecretBox | None = None,
    ) -> None:
        self.paths = paths
        self.settings = settings
        self._db = db
        self._box = box
        self._identity: Identity | None = None

    @property
    def database_url(self) -> str:
        """The URL of the database (the open one's, else the one ``db`` would open); opens nothing."""
        from shopctrl_desktop.config import database_url_for

        return self._db.url if self._db is not None else database_url_for(self.paths, self.settings)

    @property
    def db(self) -> Database:
        """The database (``settings``' URL, else the SQLite file in the data dir); DatabaseError if it cannot
        be opened."""
        if self._db is None:
            from shopctrl_desktop.store.db import Database
            from shopctrl_desktop.store.shared_login import with_stored_password

            # a shared database's password: SHOPCTRL_DATABASE_PASSWORD or the OS keyring (never settings.json)
            self._db = Database(with_stored_password(self.database_url))
        return self._db

    @property
    def box(self) -> SecretBox:
        """The secret box that encrypts secrets at rest (its key in the keyring or the data dir)."""
        if self._box is None:
            from shopctrl_desktop.store.secrets import load_secret_box

            self._box = load_secret_box(self.paths.data_dir)
        return self._box

    @property
    def identity(self) -> Identity:
        """Who the current login is and what its role may do (SPEC §10), asked of the database once: on
        SQLite the OS user, an admin; on PostgreSQL the login and its group role."""
        if self._identity is None:
            from shopctrl_desktop.store.audit import os_user
            from shopctrl_desktop.store.roles import current_identity

            with self.db.session() as session:
                self._identity = current_identity(session, os_user())
        return self._identity

    @identity.setter
    def identity(self, identity: Identity) -> None:
        self._identity = identity

    def may(self, capability: Capability) -> bool:
        """Whether the current login's role allows ``capability`` (domain/roles.py)."""
        return capability in self.identity.capabilities

    def save_settings(self, settings: Settings) -> None:
        """Write settings.json and record what changed in the audit trail, in one transaction: when the file
        cannot be written there is no entry, when the entry cannot be stored the file is not written."""
        from shopctrl_desktop.config import save_settings
        from shopctrl_desktop.store.audit import record_settings_change

        with self.db.session() as session:
            record_settings_change(session, self.settings.to_json(), settings.to_json())
            save_settings(self.paths, settings)
        self.settings = settings

    def __repr__(self) -> str:
        return f"AppContext(data_dir={str(self.paths.data_dir)!r})"
