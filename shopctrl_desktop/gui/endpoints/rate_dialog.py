"""The Endpoints page's "Rate limit…" dialog (docs/endpoints.md "Rate limit"): no limit, or at most N requests
per second to the selected endpoint. Admin only; the page saves the choice (store/endpoints.py
``set_rate_limit``, audited) and a running engine applies it within a few seconds."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.domain.rate_limit import MAX_RATE, MIN_RATE

#: The spin box's value when an endpoint had no limit yet: a common receiver throttle.
SUGGESTED_RATE = 10.0


class RateSpinBox(QDoubleSpinBox):
    """``5 requests per second``, ``0.5 requests per second``: no trailing zeros."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.{self.decimals()}f}".rstrip("0").rstrip(".")


class RateLimitDialog(QDialog):
    def __init__(self, name: str, rate: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rate_limit_dialog")
        self.setWindowTitle("Rate limit")
        intro = QLabel(
            f"How fast may deliveries go to <b>{name}</b>?<br>"
            "Use a limit for a receiver that throttles (answers 429 when it gets too much at once)."
        )
        intro.setWordWrap(True)
        self.no_limit = QRadioButton("No limit — as fast as the receiver answers")
        self.no_limit.setObjectName("no_limit")
        self.limited = QRadioButton("At most")
        self.limited.setObjectName("limited")
        self.rate = RateSpinBox()
        self.rate.setObjectName("rate")
        self.rate.setRange(MIN_RATE, MAX_RATE)
        self.rate.setDecimals(2)
        self.rate.setSingleStep(1.0)
        self.rate.setValue(rate if rate is not None else SUGGESTED_RATE)
        self.rate.setSuffix(" requests per second")
        self.rate.setMinimumWidth(220)
        group = QButtonGroup(self)
        group.addButton(self.no_limit)
        group.addButton(self.limited)
        (self.no_limit if rate is None else self.limited).setChecked(True)
        self.explain = QLabel()
        self.explain.setObjectName("rate_explain")
        self.explain.setWordWrap(True)
        self.explain.setStyleSheet("color: palette(placeholder-text);")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons

        row = QHBoxLayout()
        row.addWidget(self.limited)
        row.addWidget(self.rate)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(self.no_limit)
        layout.addLayout(row)
        layout.addWidget(self.explain)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.no_limit.toggled.connect(self._update)
        self.rate.valueChanged.connect(self._update)
        self.rate.editingFinished.connect(self._choose_limit)
        self._update()
        self.resize(540, self.sizeHint().height())

    def _choose_limit(self) -> None:
        if self.rate.hasFocus():
            self.limited.setChecked(True)

    def _update(self) -> None:
        self.rate.setEnabled(self.limited.isChecked())
        if self.no_limit.isChecked():
            self.explain.setText("Items are sent as soon as a connection is free.")
            return
        rate = self.rate.value()
        every = 1 / rate
        spacing = f"{every:.3g} s" if every >= 0.1 else f"{every * 1000:.3g} ms"
        self.explain.setText(
            f"Requests start evenly spaced, one every {spacing}. Items waiting for their turn keep "
            "their attempts; other endpoints are not held up. A running engine applies the change within a "
            "few seconds."
        )

    def chosen_rate(self) -> float | None:
        """The limit chosen: requests per second, or None for no limit."""
        return None if self.no_limit.isChecked() else round(self.rate.value(), 2)
