"""The operating system's view of the network (Qt's ``QNetworkInformation``) for offline awareness.

When the system reports the network gone, the engine pauses deliveries (no attempts spent) and the status bar
says "Offline — deliveries paused since 10:42"; when it is back they resume at once (docs/endpoints.md
"Offline"). Without a reachability backend (some Linux desktops, the offscreen platform) this does nothing and
the engine's own rule — several hosts unreachable at once, domain/offline.py — is the only source.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QNetworkInformation

log = logging.getLogger(__name__)


class NetworkSink(Protocol):
    def set_network_online(self, online: bool) -> None: ...


def _online(reachability: QNetworkInformation.Reachability) -> bool | None:
    """False when the system says there is no network; None when it does not know."""
    if reachability == QNetworkInformation.Reachability.Disconnected:
        return False
    if reachability == QNetworkInformation.Reachability.Unknown:
        return None
    return True  # Local, Site, Online: a network is there (local receivers may still be reached)


class NetworkWatch(QObject):
    """Relays reachability changes to ``sink`` (the engine handle). ``available`` says whether a backend
    loaded; without one nothing is reported."""

    def __init__(self, sink: NetworkSink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sink = sink
        self.available = False
        try:
            loaded = QNetworkInformation.loadDefaultBackend()
        except Exception:  # noqa: BLE001 - a missing plugin is not an error: the burst rule remains
            log.debug("no network reachability backend", exc_info=True)
            loaded = False
        info = QNetworkInformation.instance() if loaded else None
        if info is None or not info.supports(QNetworkInformation.Feature.Reachability):
            log.info("the system's network reachability is not available; offline is detected from failures")
            return
        self.available = True
        info.reachabilityChanged.connect(self.on_reachability)
        self.on_reachability(info.reachability())

    def on_reachability(self, reachability: QNetworkInformation.Reachability) -> None:
        online = _online(reachability)
        if online is None:
            return
        log.info("the system reports the network %s", "available" if online else "gone")
        self._sink.set_network_online(online)
