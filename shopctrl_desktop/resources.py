"""Finding ``resources/`` (icons, the .desktop file, sample events, demo triggers) wherever the app runs.

Looked for, in order:
1. ``SHOPCTRL_RESOURCES_DIR`` (an explicit override, e.g. for packagers);
2. a PyInstaller bundle: ``sys._MEIPASS/resources`` (build.spec puts it there);
3. inside the installed package: ``shopctrl_desktop/resources`` (should the resources move into the package);
4. a source checkout or editable install: ``<repo>/resources`` next to the package folder;
5. an installed wheel: ``<prefix>/share/shopctrl-desktop/resources`` (pyproject's data-files), for the
   environment's prefix and the user base (``pip install --user``).

Nothing is copied or moved; this module only answers "where is it".
"""

from __future__ import annotations

import os
import site
import sys
from functools import lru_cache
from pathlib import Path

RESOURCES_ENV = "SHOPCTRL_RESOURCES_DIR"
SHARE_NAME = "shopctrl-desktop"
_PACKAGE_DIR = Path(__file__).resolve().parent


class ResourceNotFound(FileNotFoundError):
    """A resource the app needs is missing; the message lists where it was looked for."""


def candidate_dirs() -> list[Path]:
    """Where resources/ may be, most specific first."""
    found: list[Path] = []
    override = os.environ.get(RESOURCES_ENV)
    if override:
        found.append(Path(override).expanduser())
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found.append(Path(bundle) / "resources")
    found.append(_PACKAGE_DIR / "resources")
    found.append(_PACKAGE_DIR.parent / "resources")
    for prefix in (sys.prefix, site.getuserbase()):
        found.append(Path(prefix) / "share" / SHARE_NAME / "resources")
    return found


@lru_cache(maxsize=1)
def resources_dir() -> Path:
    """The first existing resources/ folder; raises ResourceNotFound naming every place looked at."""
    candidates = candidate_dirs()
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise ResourceNotFound(
        "the resources folder (icons, sample events, demo triggers) was not found; looked in: "
        + ", ".join(str(c) for c in candidates)
    )


def resource_path(*parts: str) -> Path:
    """A file or folder below resources/, e.g. ``resource_path("events")``; raises if it does not exist."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise ResourceNotFound(f"resource {'/'.join(parts)} is missing (looked in {path})")
    return path


def icon_path(size: int | None = None) -> Path:
    """The application icon: the SVG, or the PNG of the given size (16, 32, 48, 64, 128, 256)."""
    name = "shopctrl-desktop.svg" if size is None else f"shopctrl-desktop-{size}.png"
    return resource_path("icons", name)


def icon_pngs() -> list[Path]:
    """Every PNG size of the application icon, smallest first."""
    return sorted(
        resource_path("icons").glob("shopctrl-desktop-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])
    )


def events_dir() -> Path:
    return resource_path("events")


def demo_dir() -> Path:
    return resource_path("demo")


def in_bundle() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False) and getattr(sys, "_MEIPASS", None))


def clear_cache() -> None:
    """Forget the located folder (tests that change SHOPCTRL_RESOURCES_DIR call this)."""
    resources_dir.cache_clear()
