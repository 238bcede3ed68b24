"""The selected endpoint's chart: deliveries and failures per minute over the last 24 h (QtCharts)."""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from shopctrl_desktop.domain.breaker import short_name
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
        self.delivered = QLineSeries()
        self.delivered.setName("Delivered per minute")
        self.delivered.setPen(QPen(DELIVERED_COLOUR, 1.4))
        self.failed = QLineSeries()
        self.failed.setName("Failed per minute")
        self.failed.setPen(QPen(FAILED_COLOUR, 1.4))
        chart.addSeries(self.delivered)
        chart.addSeries(self.failed)
        self.time_axis = QDateTimeAxis()
        self.time_axis.setFormat("HH:mm")
        self.time_axis.setTickCount(13)
        self.count_axis = QValueAxis()
        self.count_axis.setLabelFormat("%d")
        self.count_axis.setMin(0)
        chart.addAxis(self.time_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.count_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self.delivered, self.failed):
            series.attachAxis(self.time_axis)
            series.attachAxis(self.count_axis)
        self.series: MinuteSeries | None = None
        self.setMinimumHeight(220)
        self.show_series(None)

    def show_series(self, series: MinuteSeries | None) -> None:
        self.series = series
        if series is None:
            self.chart_.setTitle("Select an endpoint to see its deliveries per minute over the last 24 hours")
            self.delivered.clear()
            self.failed.clear()
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
        self.count_axis.setRange(0, _nice_ceiling(peak))
        self.count_axis.applyNiceNumbers()
        self.chart_.setTitle(
            f"{short_name(series.key)} — deliveries and failures per minute, last 24 hours "
            f"({sum(series.delivered):,} delivered, {sum(series.failed):,} failed)"
        )


def _nice_ceiling(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 5:
            return max(step * ((value + step - 1) // step), step)
    return value
