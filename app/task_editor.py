"""Task editor: a form generated from a scene's task schema (`scenes.base.TaskParam`s).

The editor emits only the parameters the user changed. An edit is applied by `set_task` on top of the
environment's current task, so sending untouched values could only overwrite what the environment changed
meanwhile (a new trial's task) or pin what an edit is meant to reset (a Meta-World `env_name` edit defaults
the goal to that task's goal).

Spin boxes accept any number, not only the schema's range, so a value out of range is kept and explained
inline ("... must be in [0, 4] m/s, got 9") instead of being silently clamped; nothing is emitted until every
changed value passes `validate_task`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.theme import ERROR
from scenes.base import TaskParam, validate_task

_SLIDER_STEPS = 1000
_INT_LIMIT = 2**31 - 1  # a QSpinBox holds a C int
_FLOAT_LIMIT = 1e9
_ERROR_BORDER = f"border: 1px solid {ERROR};"


def _low(param: TaskParam) -> float:
    return cast(float, param.low)  # numeric parameters always have bounds (TaskParam checks it)


def _high(param: TaskParam) -> float:
    return cast(float, param.high)


class _Field:
    """One parameter's row: its input (and slider for floats), its error line, and the value last shown."""

    def __init__(self, param: TaskParam, on_edit: Callable[[], None]) -> None:
        self.param = param
        self.label = QLabel(param.name)
        self.label.setToolTip(param.doc)
        self.slider: QSlider | None = None
        self.input: QComboBox | QSpinBox | QDoubleSpinBox = self._make_input(param)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {ERROR};")
        self.error.setWordWrap(True)
        self.error.hide()
        self.shown: Any = None
        tooltip = f"{param.doc}\n{param.name} {param.describe_range()}"
        self.input.setToolTip(tooltip)
        if self.slider is not None:
            self.slider.setToolTip(tooltip)
            self.slider.valueChanged.connect(self._slider_moved)
        if isinstance(self.input, QComboBox):
            self.input.currentIndexChanged.connect(on_edit)
        else:
            self.input.valueChanged.connect(on_edit)
            if self.slider is not None:
                self.input.valueChanged.connect(self._sync_slider)

    def _make_input(self, param: TaskParam) -> QComboBox | QSpinBox | QDoubleSpinBox:
        suffix = f" {param.unit}" if param.unit else ""
        if param.kind == "choice":
            box = QComboBox()
            for choice in param.choices:
                box.addItem(str(choice), choice)
            return box
        if param.kind == "int":
            spin = QSpinBox()
            spin.setRange(-_INT_LIMIT - 1, _INT_LIMIT)
            spin.setSuffix(suffix)
            return spin
        span = _high(param) - _low(param)
        double = QDoubleSpinBox()
        double.setRange(-_FLOAT_LIMIT, _FLOAT_LIMIT)
        double.setDecimals(_decimals(span))
        double.setSingleStep(span / 100 if span > 0 else 0.1)
        double.setSuffix(suffix)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, _SLIDER_STEPS)
        self.slider.setEnabled(span > 0)
        return double

    def value(self) -> Any:
        if isinstance(self.input, QComboBox):
            return self.input.currentData()
        return self.input.value()

    def set_value(self, value: Any) -> None:
        """Show `value`; a choice outside the schema gets its own item, so the form never misreports it."""
        if isinstance(self.input, QComboBox):
            index = next((i for i, c in enumerate(self.param.choices) if str(c) == str(value)), -1)
            if index < 0:
                self.input.addItem(f"{value} (not a valid choice)", value)
                index = self.input.count() - 1
            self.input.setCurrentIndex(index)
        else:
            self.input.setValue(value)
        self.shown = self.value()

    def set_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.input.setStyleSheet(_ERROR_BORDER if message else "")

    def check(self) -> str:
        """The schema's complaint about the shown value, or ""."""
        try:
            self.param.validate(self.value())
        except ValueError as error:
            return str(error)
        return ""

    def _slider_moved(self, position: int) -> None:
        low, high = _low(self.param), _high(self.param)
        double = cast(QDoubleSpinBox, self.input)  # only float parameters have a slider
        double.setValue(low + (high - low) * position / _SLIDER_STEPS)

    def _sync_slider(self, value: float) -> None:
        low, high = _low(self.param), _high(self.param)
        if self.slider is None or high <= low:
            return
        fraction = min(max((value - low) / (high - low), 0.0), 1.0)
        self.slider.blockSignals(True)
        self.slider.setValue(round(fraction * _SLIDER_STEPS))
        self.slider.blockSignals(False)


class TaskEditor(QWidget):
    """Edits one task; "Apply to episode" / "Apply to training" emit the changed parameters, validated.

    The window connects `apply_to_episode` to the player's `set_task` and `apply_to_training` to the
    trainer's task edits, then calls `set_current` with the task the environment reports (or `show_error`
    with its rejection).
    """

    apply_to_episode = Signal(dict)
    apply_to_training = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._params: tuple[TaskParam, ...] = ()
        self._current: dict[str, Any] = {}
        self._fields: dict[str, _Field] = {}
        self._loading = False

        self._form_host = QWidget()
        self._form = QFormLayout(self._form_host)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.hide()
        self._episode_button = QPushButton("Apply to episode")
        self._episode_button.setToolTip("change the task of the episode on screen, now")
        self._episode_button.clicked.connect(self._apply_to_episode)
        self._training_button = QPushButton("Apply to training")
        self._training_button.setToolTip("change the task distribution the trainer samples from")
        self._training_button.clicked.connect(self._apply_to_training)
        self._revert_button = QPushButton("Revert")
        self._revert_button.setToolTip("show the current task again, dropping the edits")
        self._revert_button.clicked.connect(self._revert)

        buttons = QHBoxLayout()
        buttons.addWidget(self._revert_button)
        buttons.addStretch(1)
        buttons.addWidget(self._episode_button)
        buttons.addWidget(self._training_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._form_host)
        layout.addWidget(self._message)
        layout.addStretch(1)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------------------------------ public

    def set_schema(self, params: Sequence[TaskParam], current: Mapping[str, Any]) -> None:
        """Build one row per parameter and show `current`."""
        while self._form.rowCount():
            self._form.removeRow(0)
        self._params = tuple(params)
        self._fields = {}
        for param in self._params:
            field = _Field(param, self._on_edit)
            self._fields[param.name] = field
            row = QWidget()
            row_layout = QVBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.setSpacing(2)
            inputs = QHBoxLayout()
            if field.slider is None:
                inputs.addWidget(field.input, 1)
            else:
                inputs.addWidget(field.slider, 1)
                inputs.addWidget(field.input)
                field.input.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            row_layout.addLayout(inputs)
            row_layout.addWidget(field.error)
            self._form.addRow(field.label, row)
        self.set_current(current)

    def set_current(self, task: Mapping[str, Any]) -> None:
        """Show `task` as the current task (no signal), clearing edits and error messages."""
        self._current = dict(task)
        self._loading = True
        for name, field in self._fields.items():
            # Environments' tasks hold every parameter; a partial task shows defaults, else the range's start.
            value = task.get(name, field.param.default)
            if value is None:
                value = field.param.low if field.param.kind != "choice" else field.param.choices[0]
            field.set_value(value)
            field.set_error("")
        self._loading = False
        self._show_message("")
        self._mark_changed()

    def show_error(self, message: str, param: str | None = None) -> None:
        """Show an environment-side rejection: under the parameter's row if named, else below the form."""
        if param in self._fields:
            self._fields[param].set_error(message)
        else:
            self._show_message(message, error=True)

    def values(self) -> dict[str, Any]:
        """Every parameter's shown value (unvalidated)."""
        return {name: field.value() for name, field in self._fields.items()}

    def edits(self) -> dict[str, Any]:
        """The parameters whose shown value differs from the current task's (unvalidated)."""
        return {name: f.value() for name, f in self._fields.items() if f.value() != f.shown}

    def control(self, name: str) -> QWidget:
        """The input of parameter `name`: a QDoubleSpinBox, QSpinBox or QComboBox."""
        return self._fields[name].input

    def slider(self, name: str) -> QSlider | None:
        """The slider of a float parameter (linked to its spin box)."""
        return self._fields[name].slider

    def error_text(self, name: str | None = None) -> str:
        """The message shown under parameter `name`, or below the form."""
        label = self._message if name is None else self._fields[name].error
        return "" if label.isHidden() else label.text()

    # --------------------------------------------------------------------------------------- internals

    def _on_edit(self) -> None:
        if self._loading:
            return
        for field in self._fields.values():
            field.set_error(field.check() if field.value() != field.shown else "")
        self._show_message("")
        self._mark_changed()

    def _mark_changed(self) -> None:
        """Bold labels for edited parameters: what "Apply" will send."""
        edits = self.edits()
        for name, field in self._fields.items():
            font = field.label.font()
            font.setBold(name in edits)
            field.label.setFont(font)

    def _apply_to_episode(self) -> None:
        self._apply(self.apply_to_episode)

    def _apply_to_training(self) -> None:
        self._apply(self.apply_to_training)

    def _revert(self) -> None:
        self.set_current(self._current)

    def _apply(self, signal: SignalInstance) -> None:
        edits = self.edits()
        errors = {name: self._fields[name].check() for name in edits}
        for name, message in errors.items():
            self._fields[name].set_error(message)
        if any(errors.values()):
            self._show_message("fix the values marked in red first; nothing was applied", error=True)
            return
        if not edits:
            self._show_message("nothing changed: edit a value first")
            return
        task = validate_task(self._params, self._current, edits)
        self._show_message("")
        signal.emit({name: task[name] for name in edits})

    def _show_message(self, text: str, error: bool = False) -> None:
        self._message.setText(text)
        self._message.setStyleSheet(f"color: {ERROR};" if error else "")
        self._message.setVisible(bool(text))


def _decimals(span: float) -> int:
    """Enough decimals to show a thousandth of the range (2 to 6)."""
    if span <= 0:
        return 3
    return min(max(2, math.ceil(-math.log10(span / _SLIDER_STEPS))), 6)
