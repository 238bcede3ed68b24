"""The selected endpoint's chart: deliveries and failures per minute over the last 24 h (QtCharts)."""

from __future__ import annotations

from PySide6.QtCharts import QAreaSeries, QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, QEvent, QMargins, QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from shopctrl_desktop.domain.breaker import short_name
from shopctrl_desktop.gui.theme import colour, is_dark
from shopctrl_desktop.store.endpoint_stats import MinuteSeries

DELIVERED_COLOUR = QColor("#2e8540")
FAILED_COLOUR = QColor("#c62828")


class MinuteChart(QChartView):
    """Two lines over 1,440 minutes; the time axis in local time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.chart_ = QChart()
        super().__init__(self.chart_, parent)
        self.setObjectName("endpoint_chart")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        chart = self.chart_
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        chart.setBackgroundRoundness(0)
        # the outage (circuit open or paused) as a light red band behind the lines
        self.outage_top = QLineSeries()
        self.outage = QAreaSeries(self.outage_top)
        self.outage.setName("Circuit open / paused")
        self.outage.setPen(QPen(Qt.PenStyle.NoPen))
        self.outage.setBrush(QBrush(QColor(198, 40, 40, 40)))
        chart.addSeries(self.outage)
        # plain lines: a filled QAreaSeries of 1,440 points takes seconds to paint, a line a few milliseconds
        self.delivered = QLineSeries()
        self.delivered.setName("Delivered per minute")
        self.delivered.setPen(QPen(DELIVERED_COLOUR, 1.2))
        self.failed = QLineSeries()
        self.failed.setName("Failed per minute")
        self.failed.setPen(QPen(FAILED_COLOUR, 1.6))
        chart.addSeries(self.delivered)
        chart.addSeries(self.failed)
        self.plotted: list[QLineSeries | QAreaSeries] = [self.outage, self.delivered, self.failed]
        self._apply_theme()
        self.time_axis = QDateTimeAxis()
        self.time_axis.setFormat("HH:mm")
        self.time_axis.setTickCount(13)
        self.count_axis = QValueAxis()
        self.count_axis.setLabelFormat("%d")
        self.count_axis.setMin(0)
        chart.addAxis(self.time_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.count_axis, Qt.AlignmentFlag.AlignLeft)
        for series in self.plotted:
            series.attachAxis(self.time_axis)
            series.attachAxis(self.count_axis)
        self.series: MinuteSeries | None = None
        self.setMinimumHeight(220)
        self.show_series(None)

    def _apply_theme(self) -> None:
        """QtCharts' dark theme on a dark palette; the series keep their green and red."""
        dark = is_dark()
        self.chart_.setTheme(QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight)
        self.chart_.setBackgroundRoundness(0)
        self.delivered.setPen(QPen(colour(DELIVERED_COLOUR.name()), 1.2))
        self.failed.setPen(QPen(colour(FAILED_COLOUR.name()), 1.6))
        self.outage.setPen(QPen(Qt.PenStyle.NoPen))
        self.outage.setBrush(QBrush(QColor(198, 40, 40, 90 if dark else 40)))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_theme()
        super().changeEvent(event)

    def show_series(self, series: MinuteSeries | None) -> None:
        self.series = series
        if series is None:
            self.chart_.setTitle("Select an endpoint to see its deliveries per minute over the last 24 hours")
            self.delivered.clear()
            self.failed.clear()
            self.outage_top.clear()
            self.outage.setVisible(False)
            now = QDateTime.currentDateTime()
            self.time_axis.setRange(now.addSecs(-86400), now)
            self.count_axis.setRange(0, 1)
            return
        start = int(series.start.timestamp() * 1000)
        step = 60_000
        self.delivered.replace([QPointF(start + i * step, v) for i, v in enumerate(series.delivered)])
        self.failed.replace([QPointF(start + i * step, v) for i, v in enumerate(series.failed)])
        self.time_axis.setRange(
            QDateTime.fromMSecsSinceEpoch(start),
            QDateTime.fromMSecsSinceEpoch(start + len(series.delivered) * step),
        )
        peak = max((*series.delivered, *series.failed, 1))
        top = _nice_ceiling(peak)
        self.count_axis.setRange(0, top)
        self.count_axis.applyNiceNumbers()
        end = start + len(series.delivered) * step
        if series.outage_since is not None:
            begin = max(start, int(series.outage_since.timestamp() * 1000))
            self.outage_top.replace(
                [QPointF(begin, self.count_axis.max()), QPointF(end, self.count_axis.max())]
            )
        else:
            self.outage_top.clear()
        self.outage.setVisible(series.outage_since is not None)
        self.chart_.setTitle(
            f"{short_name(series.key)} — deliveries and failures per minute, last 24 hours "
            f"({sum(series.delivered):,} delivered, {sum(series.failed):,} failed)"
        )


def _nice_ceiling(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 5:
            return max(step * ((value + step - 1) // step), step)
    return value
