"""resources/ is found in a source checkout, through the override, and in a PyInstaller-style bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shopctrl_desktop import resources

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.delenv(resources.RESOURCES_ENV, raising=False)
    resources.clear_cache()
    yield
    resources.clear_cache()


def test_source_checkout_finds_repo_resources():
    assert resources.resources_dir() == REPO / "resources"


def test_icon_svg_and_png_sizes_exist():
    assert "<svg" in resources.icon_path().read_text("utf-8")
    sizes = [int(p.stem.rsplit("-", 1)[1]) for p in resources.icon_pngs()]
    assert sizes == [16, 32, 48, 64, 128, 256]


def test_desktop_file_names_the_command_and_icon():
    text = resources.resource_path("shopctrl-desktop.desktop").read_text("utf-8")
    assert "[Desktop Entry]" in text and "Exec=shopctrl-desktop" in text and "Icon=shopctrl-desktop" in text


def test_bundle_meipass_wins_over_checkout(tmp_path, monkeypatch):
    (tmp_path / "resources" / "events").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resources_dir() == tmp_path / "resources"
    assert resources.events_dir() == tmp_path / "resources" / "events"


def test_override_and_clear_message_when_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(resources.RESOURCES_ENV, str(tmp_path / "mine"))
    (tmp_path / "mine").mkdir()
    assert resources.resources_dir() == tmp_path / "mine"
    with pytest.raises(resources.ResourceNotFound, match="demo"):
        resources.demo_dir()


def test_installed_wheel_share_dir(tmp_path, monkeypatch):
    """A wheel installs resources/ as data files under <prefix>/share/shopctrl-desktop/resources."""
    from pathlib import Path as _Path

    shared = tmp_path / "share" / "shopctrl-desktop" / "resources"
    (shared / "events").mkdir(parents=True)
    monkeypatch.setattr(resources, "_PACKAGE_DIR", tmp_path / "site-packages" / "shopctrl_desktop")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert resources.resources_dir() == shared
    assert isinstance(resources.events_dir(), _Path)
