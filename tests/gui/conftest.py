"""Fixtures for the queue, alerts and main-window tests (modules that need another context define their own
``ctx``, which takes precedence)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopctrl_desktop.app_context import AppContext
from shopctrl_desktop.gui.background import wait_for_background
from tests.gui.queue_support import make_context


@pytest.fixture
def ctx(app_paths, db, box) -> Iterator[AppContext]:  # type: ignore[no-untyped-def]
    """A context on the test's database; every background job must have finished when the test ends."""
    context = make_context(app_paths, db, box)
    yield context
    assert wait_for_background(10_000)
