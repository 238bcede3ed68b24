"""The Endpoints table: one row per endpoint (store/endpoint_stats.py ``EndpointStats``), its state with a
coloured dot, and a 24-hour trend drawn by :class:`TrendDelegate` (one bar per hour, failures in red)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from shopctrl_desktop.domain.endpoint_stats import latency_text
from shopctrl_desktop.domain.rate_limit import rate_text
from shopctrl_desktop.gui.table_model import RowsTableModel
from shopctrl_desktop.gui.theme import colour as themed_colour
from shopctrl_desktop.store.endpoint_stats import EndpointStats

COL_ENDPOINT, COL_STATE, COL_OK_1H, COL_OK_24H, COL_LATENCY, COL_QUEUED, COL_RETRYING, COL_FAILED = range(8)
COL_TREND, COL_USED_BY, COL_LIMIT, COL_ERROR = 8, 9, 10, 11
#: The row's EndpointStats (the trend delegate draws from it).
STATS_ROLE = Qt.ItemDataRole.UserRole + 1

OK_GREEN = QColor("#2e8540")
FAIL_RED = QColor("#c62828")
STATE_COLOURS = {
    "healthy": QColor("#2e8540"),
    "failing": QColor("#e08a00"),
    "probing": QColor("#e08a00"),
    "circuit open": QColor("#c62828"),
    "paused": QColor("#6b6b6b"),
    "offline": QColor("#6b6b6b"),
}
STATE_TIPS = {
    "healthy": "Answers as expected; items are sent as usual.",
    "failing": "Deliveries fail: most of the last hour's attempts were not delivered, an item failed for good "
    "in the last hour, or the last attempts failed (the circuit opens after 5 in a row).",
    "circuit open": "5 attempts in a row failed: its items wait without spending attempts until a probe "
    "succeeds (every 30 s, doubling to 5 min).",
    "probing": "One probe item is under way; the others wait for its answer.",
    "paused": "Paused (by a person, or by the breaker after 5 days open): items wait until you resume it.",
    "offline": "This workstation is offline: its items wait without spending attempts and go as soon as the "
    "network is back.",
}


def _dot(colour: QColor, size: int = 10) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(colour)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(0, 0, size - 1, size - 1)
    painter.end()
    return pixmap


class EndpointsModel(RowsTableModel[EndpointStats]):
    columns = (
        "Endpoint",
        "State",
        "OK 1 h",
        "OK 24 h",
        "p50 / p95",
        "Queued",
        "Retrying",
        "Failed",
        "Last 24 h",
        "Used by",
        "Rate limit",
        "Last error",
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dots: dict[str, QPixmap] = {}

    def key_of(self, value: EndpointStats) -> str:
        return value.key

    def cell_data(self, e: EndpointStats, col: int, role: int) -> Any:
        s = e.summary
        if role == STATS_ROLE:
            return e
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(e, col)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_STATE:
            colour = STATE_COLOURS.get(s.state, QColor("#6b6b6b"))
            return self._dots.setdefault(s.state, _dot(colour))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_STATE and s.state in ("circuit open", "failing", "probing", "offline"):
                return QBrush(themed_colour(STATE_COLOURS[s.state].name()))
            if col == COL_FAILED and s.failed:
                return QBrush(themed_colour(FAIL_RED.name()))
            if col in (COL_OK_1H, COL_OK_24H):
                rate = (e.hour if col == COL_OK_1H else e.day).success
                if rate is not None and rate < 0.9:
                    return QBrush(themed_colour(FAIL_RED.name()))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (
            COL_OK_1H,
            COL_OK_24H,
            COL_LATENCY,
            COL_QUEUED,
            COL_RETRYING,
            COL_FAILED,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATE:
                return STATE_TIPS.get(s.state, s.state)
            if col == COL_ERROR and s.last_error:
                return s.last_error
            if col == COL_ENDPOINT:
                return s.url
            if col == COL_TREND:
                return (
                    f"Last 24 h: {e.day.attempts:,} attempts, {e.day.failures:,} failed "
                    "(one bar per hour, failures in red)"
                )
            if col in (COL_OK_1H, COL_OK_24H):
                rate = e.hour if col == COL_OK_1H else e.day
                return f"{rate.attempts - rate.failures:,} of {rate.attempts:,} attempts delivered (2xx)"
            if col == COL_LATENCY:
                return "Response time: half of the attempts were faster than p50, 95 % faster than p95"
            if col == COL_LIMIT:
                return limit_tip(s.rate_limit)
        return None

    @staticmethod
    def _text(e: EndpointStats, col: int) -> str:
        s = e.summary
        if col == COL_ENDPOINT:
            return e.name
        if col == COL_STATE:
            return s.state
        if col == COL_OK_1H:
            return e.hour.text()
        if col == COL_OK_24H:
            return e.day.text()
        if col == COL_LATENCY:
            if e.p50_ms is None:
                return "—"
            return f"{latency_text(e.p50_ms)} / {latency_text(e.p95_ms)}"
        if col == COL_QUEUED:
            return f"{s.queued:,}"
        if col == COL_RETRYING:
            return f"{s.retrying:,}"
        if col == COL_FAILED:
            return f"{s.failed:,}"
        if col == COL_ERROR:
            return (s.last_error or "").replace("\n", " ") if s.state != "healthy" else ""
        if col == COL_USED_BY:
            return ", ".join(s.triggers)
        if col == COL_LIMIT:
            return rate_text(s.rate_limit) if s.rate_limit else "—"
        return ""


def limit_tip(rate: float | None) -> str:
    if rate is None:
        return "No rate limit: items go as fast as the receiver answers (Rate limit… sets one)"
    return f"At most {rate_text(rate)}: one request every {1 / rate:.3g} s, evenly spaced"


class MiddleElideDelegate(QStyledItemDelegate):
    """Endpoint names keep their host and the end of their path when the column is narrow."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle  # type: ignore[attr-defined]


class TrendDelegate(QStyledItemDelegate):
    """A sparkline: one bar per hour of the last 24 h, its height the attempts (scaled to the row's busiest
    hour), the failed share drawn in red on top of the delivered share in green."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        stats = index.data(STATS_ROLE)
        style = option.widget.style() if option.widget is not None else None  # type: ignore[attr-defined]
        if style is not None:
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            opt.text = ""  # type: ignore[attr-defined]
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, option.widget)  # type: ignore[attr-defined]
        if not isinstance(stats, EndpointStats):
            return
        rect: QRect = option.rect.adjusted(4, 4, -4, -4)  # type: ignore[attr-defined]
        peak = max((r.attempts for r in stats.trend), default=0)
        painter.save()
        if peak == 0:
            painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))  # type: ignore[attr-defined]
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter), "no traffic")
            painter.restore()
            return
        n = len(stats.trend)
        width = rect.width() / n
        for i, r in enumerate(stats.trend):
            if not r.attempts:
                continue
            x = rect.left() + i * width
            height = max(2.0, rect.height() * r.attempts / peak)
            bad = height * r.failures / r.attempts
            bar_w = max(1.0, width - 1)
            painter.fillRect(
                int(x), int(rect.bottom() - height + 1), int(round(bar_w)), int(round(height - bad)), OK_GREEN
            )
            if r.failures:
                painter.fillRect(
                    int(x),
                    int(rect.bottom() - height + 1),
                    int(round(bar_w)),
                    max(1, int(round(bad))),
                    FAIL_RED,
                )
        painter.restore()
