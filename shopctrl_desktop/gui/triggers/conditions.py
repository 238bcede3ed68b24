"""Condition-rule editor: rows of (field path, operator, value) combined with "all" or "any" (SPEC 3.2)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shopctrl_desktop.gui.theme import style

TEXT_OPERATORS = [
    ("equals", "equals"),
    ("notEqual", "is not equal to"),
    ("contains", "contains"),
    ("notContains", "doesn't contain"),
    ("startsWith", "starts with"),
    ("endsWith", "ends with"),
    ("inList", "is in list"),
    ("notInList", "is not in list"),
    ("isEmpty", "is empty"),
    ("isNotEmpty", "is not empty"),
    ("isNull", "is null"),
    ("isNotNull", "is not null"),
]
NUMBER_OPERATORS = [
    ("equals", "="),
    ("notEqual", "≠"),
    ("greaterThan", ">"),
    ("greaterOrEqual", "≥"),
    ("lessThan", "<"),
    ("lessOrEqual", "≤"),
    ("between", "between"),
    ("isNull", "is null"),
    ("isNotNull", "is not null"),
]
DATE_OPERATORS = [
    ("before", "before"),
    ("after", "after"),
    ("onOrBefore", "on or before"),
    ("onOrAfter", "on or after"),
    ("between", "between"),
    ("isNull", "is null"),
    ("isNotNull", "is not null"),
]
BOOLEAN_OPERATORS = [
    ("isTrue", "is true"),
    ("isFalse", "is false"),
    ("isNull", "is null"),
    ("isNotNull", "is not null"),
]
OPERATORS_BY_TYPE = {
    "text": TEXT_OPERATORS,
    "number": NUMBER_OPERATORS,
    "date": DATE_OPERATORS,
    "boolean": BOOLEAN_OPERATORS,
}
NO_VALUE = {"isEmpty", "isNotEmpty", "isNull", "isNotNull", "isTrue", "isFalse"}
LIST_VALUE = {"inList", "notInList"}
PLACEHOLDERS = {"text": "text", "number": "number", "date": "2026-11-28, today, today+7 or today-3"}


def condition_type(type_name: str | None) -> str:
    """Map a merge-field type name to one of text / number / date / boolean."""
    name = (type_name or "").lower()
    if name in {"int", "integer", "long", "decimal", "float", "double", "number", "money", "numeric"}:
        return "number"
    if name in {"date", "datetime", "time", "timestamp"}:
        return "date"
    if name in {"bool", "boolean"}:
        return "boolean"
    return "text"


def _parse_scalar(text: str, kind: str) -> Any:
    text = text.strip()
    if kind == "number":
        try:
            return int(text)
        except ValueError:
            try:
                return float(text.replace(",", "."))
            except ValueError:
                return text  # validate_condition names the rule and says why
    return text


def _format_scalar(value: Any) -> str:
    return "" if value is None else str(value)


class RuleRow(QWidget):
    """One rule: field, operator, value (two values for "between")."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(
        self, field_types: dict[str, str], completer_model: QStringListModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._field_types = field_types
        self.field_edit = QLineEdit(self)
        self.field_edit.setPlaceholderText("Field, e.g. Order.TotalDue")
        completer = QCompleter(completer_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.field_edit.setCompleter(completer)
        self.operator_combo = QComboBox(self)
        self.operator_combo.setMinimumContentsLength(14)
        self.value_edit = QLineEdit(self)
        self.and_label = QLabel("and", self)
        self.value2_edit = QLineEdit(self)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this rule")
        self.remove_button.setAccessibleName("Remove this rule")
        self.field_edit.setAccessibleName("Rule field")
        self.operator_combo.setAccessibleName("Rule operator")
        self.value_edit.setAccessibleName("Rule value")
        self.value2_edit.setAccessibleName("Rule second value (between … and …)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field_edit, 3)
        layout.addWidget(self.operator_combo, 2)
        layout.addWidget(self.value_edit, 2)
        layout.addWidget(self.and_label)
        layout.addWidget(self.value2_edit, 2)
        layout.addWidget(self.remove_button)
        self._kind = ""
        self._set_kind("text")
        self.field_edit.textChanged.connect(self._on_field_edit_text_changed)
        self.operator_combo.currentIndexChanged.connect(self._on_operator_changed)
        self.value_edit.textChanged.connect(self.changed)
        self.value2_edit.textChanged.connect(self.changed)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        self._update_value_widgets()

    @property
    def kind(self) -> str:
        return self._kind

    def operator(self) -> str:
        return str(self.operator_combo.currentData() or "")

    def set_rule(self, rule: dict[str, Any]) -> None:
        self.field_edit.setText(str(rule.get("field", "")))
        operator = str(rule.get("operator", ""))
        row = self.operator_combo.findData(operator)
        if row < 0 and operator:  # an operator of another type: offer it anyway, the check explains
            self.operator_combo.addItem(operator, operator)
            row = self.operator_combo.count() - 1
        self.operator_combo.setCurrentIndex(max(row, 0))
        value = rule.get("value")
        if operator == "between" and isinstance(value, list | tuple) and len(value) == 2:
            self.value_edit.setText(_format_scalar(value[0]))
            self.value2_edit.setText(_format_scalar(value[1]))
        elif operator in LIST_VALUE and isinstance(value, list | tuple):
            self.value_edit.setText(", ".join(_format_scalar(v) for v in value))
        else:
            self.value_edit.setText(_format_scalar(value))

    def rule(self) -> dict[str, Any]:
        operator = self.operator()
        rule: dict[str, Any] = {"field": self.field_edit.text().strip(), "operator": operator}
        if operator in NO_VALUE:
            return rule
        if operator == "between":
            rule["value"] = [
                _parse_scalar(self.value_edit.text(), self._kind),
                _parse_scalar(self.value2_edit.text(), self._kind),
            ]
        elif operator in LIST_VALUE:
            parts = [p for p in (x.strip() for x in self.value_edit.text().split(",")) if p]
            rule["value"] = [_parse_scalar(p, self._kind) for p in parts]
        else:
            rule["value"] = _parse_scalar(self.value_edit.text(), self._kind)
        return rule

    def _set_kind(self, kind: str) -> None:
        if kind == self._kind:
            return
        current = self.operator()
        self._kind = kind
        self.operator_combo.blockSignals(True)
        self.operator_combo.clear()
        for key, label in OPERATORS_BY_TYPE[kind]:
            self.operator_combo.addItem(label, key)
        row = self.operator_combo.findData(current)
        self.operator_combo.setCurrentIndex(max(row, 0))
        self.operator_combo.blockSignals(False)
        self.value_edit.setPlaceholderText(PLACEHOLDERS.get(kind, "value"))
        self.value2_edit.setPlaceholderText(PLACEHOLDERS.get(kind, "value"))
        self._update_value_widgets()

    def _update_value_widgets(self) -> None:
        operator = self.operator()
        self.value_edit.setVisible(operator not in NO_VALUE)
        between = operator == "between"
        self.and_label.setVisible(between)
        self.value2_edit.setVisible(between)
        if operator in LIST_VALUE:
            self.value_edit.setPlaceholderText("values separated by commas")
        else:
            self.value_edit.setPlaceholderText(PLACEHOLDERS.get(self._kind, "value"))

    def _on_field_edit_text_changed(self, text: str) -> None:
        self._set_kind(condition_type(self._field_types.get(text.strip())))
        self.changed.emit()

    def _on_operator_changed(self, _row: int) -> None:
        self._update_value_widgets()
        self.changed.emit()


class GroupRow(QWidget):
    """A nested rule group (from an imported file): shown as a summary, kept as it is, removable."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, group: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._group = group
        count = len(group.get("rules", []) or [])
        match = "all" if str(group.get("match", "all")).lower() in {"all", "and"} else "any"
        label = QLabel(f"Nested group: {match} of {count} rule(s) — kept as imported", self)
        label.setStyleSheet(style("color: #5f6368; font-style: italic;"))
        label.setToolTip(json.dumps(group, indent=2, ensure_ascii=False))
        remove = QToolButton(self)
        remove.setText("✕")
        remove.setToolTip("Remove this group")
        remove.setAccessibleName("Remove this group")
        self.remove_button = remove
        remove.clicked.connect(lambda: self.remove_requested.emit(self))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label, 1)
        layout.addWidget(remove)

    def rule(self) -> dict[str, Any]:
        return self._group


class ConditionEditor(QWidget):
    """All the rules of one trigger. ``condition()`` returns None when there are no rules."""

    changed = Signal()
    rows_changed = Signal()  # a rule row came or went: the dialog's Tab order takes it in

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._field_types: dict[str, str] = {}
        self._completer_model = QStringListModel(self)
        self.match_combo = QComboBox(self)
        self.match_combo.addItem("all rules hold (AND)", "all")
        self.match_combo.addItem("any rule holds (OR)", "any")
        self.match_combo.currentIndexChanged.connect(self.changed)
        self.add_button = QPushButton("Add rule", self)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.hint = QLabel("No conditions: the trigger fires on every event of its type.", self)
        self.hint.setStyleSheet(style("color: #5f6368;"))
        top = QHBoxLayout()
        match_label = QLabel("Fire only &when", self)
        match_label.setBuddy(self.match_combo)
        self.match_combo.setAccessibleName("Fire only when")
        top.addWidget(match_label)
        top.addWidget(self.match_combo)
        top.addStretch(1)
        top.addWidget(self.add_button)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        layout.addLayout(self.rows_layout)
        self.rows: list[RuleRow | GroupRow] = []
        self._update_hint()

    def set_fields(self, field_types: dict[str, str]) -> None:
        """Field paths (with their merge-field types) offered by the field completer."""
        self._field_types.clear()
        self._field_types.update(field_types)
        self._completer_model.setStringList(sorted(field_types))

    def set_condition(self, condition: dict[str, Any] | None) -> None:
        for row in list(self.rows):
            self._remove_row(row, notify=False)
        condition = condition or {}
        row = self.match_combo.findData(condition.get("match", "all"))
        self.match_combo.setCurrentIndex(max(row, 0))
        for rule in condition.get("rules", []) or []:
            self.add_rule(rule, notify=False)
        self._update_hint()

    def condition(self) -> dict[str, Any] | None:
        if not self.rows:
            return None
        return {"match": self.match_combo.currentData(), "rules": [row.rule() for row in self.rows]}

    def add_rule(self, rule: dict[str, Any] | None = None, *, notify: bool = True) -> RuleRow | GroupRow:
        row: RuleRow | GroupRow
        if rule and ("rules" in rule or "match" in rule):
            row = GroupRow(rule, self)
        else:
            row = RuleRow(self._field_types, self._completer_model, self)
            if rule:
                row.set_rule(rule)
        row.changed.connect(self.changed)
        row.remove_requested.connect(self._remove_row)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        self._update_hint()
        self.rows_changed.emit()
        if notify:
            self.changed.emit()
        return row

    def _on_add_button_clicked(self) -> None:
        row = self.add_rule()
        if isinstance(row, RuleRow):
            row.field_edit.setFocus()

    def _remove_row(self, row: RuleRow | GroupRow, notify: bool = True) -> None:
        self.rows.remove(row)
        self.rows_layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._update_hint()
        self.rows_changed.emit()
        if notify:
            self.changed.emit()

    def tab_chain(self) -> list[QWidget]:
        """The editor's widgets in visual order: the top line, then each row left to right."""
        chain: list[QWidget] = [self.match_combo, self.add_button]
        for row in self.rows:
            if isinstance(row, RuleRow):
                chain += [row.field_edit, row.operator_combo, row.value_edit, row.value2_edit]
            chain.append(row.remove_button)
        return chain

    def _update_hint(self) -> None:
        self.hint.setVisible(not self.rows)
        self.match_combo.setEnabled(len(self.rows) > 1)
