"""Shared fixtures: every test gets its own data dir with a real SQLite file; Qt runs offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the developer's real data dir or keyring from a test.
os.environ.pop("SHOPCTRL_DATA_DIR", None)
os.environ.pop("SHOPCTRL_DATABASE_URL", None)
os.environ.pop("SHOPCTRL_SECRET_KEY", None)
os.environ.pop("SHOPCTRL_DATABASE_PASSWORD", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from shopctrl_desktop.paths import AppPaths, resolve_paths  # noqa: E402
from shopctrl_desktop.store.db import Database  # noqa: E402
from shopctrl_desktop.store.secrets import SecretBox, load_secret_box  # noqa: E402

#: memory_keyring (a working keyring in memory) and fail_keyring (keyring's "fail" backend)
pytest_plugins = ("tests.helpers.keyrings",)


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    return resolve_paths(tmp_path / "data").ensure()


@pytest.fixture
def db(app_paths: AppPaths):
    database = Database(f"sqlite:///{app_paths.database_file}")
    yield database
    database.dispose()


@pytest.fixture
def box(app_paths: AppPaths) -> SecretBox:
    return load_secret_box(app_paths.data_dir, use_keyring=False)


@pytest.fixture(autouse=True, scope="session")
def _tuned_like_the_app():
    """The process-wide tuning every entry point applies (shopctrl_desktop/runtime.py): the engine tests ran
    with it before, when each engine set the switch interval while it ran; engines no longer do."""
    from shopctrl_desktop.runtime import tune_process

    tune_process()


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread():
    """The desktop app's garbage policy (gui/garbage.py) for every test: no automatic collection during the
    test, one collection after it, here on the Qt main thread. Left to chance, a collection runs on whichever
    thread allocates next — an engine or worker thread — and finalising a Qt wrapper there deletes its
    QObject on the wrong thread: a segfault (seen 2 runs in 3 before the collection after each test, and
    again when the delivery engine raised and restored the gen-0 threshold on its own thread — engines no
    longer touch it, runtime.py sets it once)."""
    import gc

    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()
