"""Training curves: every numeric metric of every run against env steps, several runs overlaid.

Every appended point is stored (display down-sampling is pyqtgraph's, per paint); smoothing is display-only,
a TensorBoard-style debiased EMA drawn over the faint raw curve.

The view follows one run, the newest added (or the one picked in the run selector): only its curves set the
auto-range, so a new run starting beside the pretrained agent's 6M-step curve fills the plot rather than
being a sliver at x = 0. The other runs are references: their curves are drawn over the followed run's span
(the comparison at equal env steps: is this run learning as fast as that one did?), and a reference reaching
past the followed run's newest point is also drawn as a labelled dashed level of its final values, counted in
the y range (the answer to "how far from where that run ended?"). Levels rather than hiding references,
because that answer is the reason a reference is on the plot.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.buffers import GrowingArray
from app.theme import RUN_COLORS

EPISODE_VIEW = "return per episode in trial"
_EPISODE_KEY = re.compile(r"^episode_return/(\d+)$")
_SMOOTHING_STEPS = 100  # slider positions: EMA weight = position / 100, so 0 .. 0.99
_DEFAULT_METRIC = "trial_return"
_LEVEL_TAIL = 0.1  # a reference's level: the mean of its last 10% of points (its final value, less noisy)


class _Series:
    """One metric of one run: every (env_steps, value) point, plus the EMA of the values, extended lazily."""

    def __init__(self) -> None:
        self.x = GrowingArray()
        self.y = GrowingArray()
        self._smooth = GrowingArray()
        self._weight = 0.0
        self._last = 0.0
        self._count = 0

    def append(self, x: float, y: float) -> None:
        self.x.append(x)
        self.y.append(y)

    def smoothed(self, weight: float) -> np.ndarray:
        """TensorBoard's debiased EMA; only points added since the last call are computed."""
        if weight != self._weight:
            self._weight, self._last, self._count = weight, 0.0, 0
            self._smooth.clear()
        values = self.y.view()
        for value in values[len(self._smooth) :]:
            if math.isfinite(value):
                self._last = self._last * weight + (1 - weight) * value
                self._count += 1
                value = self._last / (1 - weight**self._count)
            self._smooth.append(value)
        return self._smooth.view()


@dataclass
class _Run:
    label: str
    color: str
    series: dict[str, _Series] = field(default_factory=dict)
    records: int = 0


class CurvesPanel(QWidget):
    """Training metrics per iteration, one curve per run, selected metric against env steps.

    The special view "return per episode in trial" draws, for the run picked in the run selector, one curve
    per episode index of the trial (`episode_return/<i>`). Curves over training (rather than bars of the last
    value) show *when* in-context adaptation appears, as later episodes pull away from episode 0, and the
    newest values are still read off at the right end.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[str, _Run] = {}
        self._metrics: set[str] = set()  # numeric keys seen (the combo box keeps their first-seen order)
        self._items: dict[tuple[str, str, str], pg.PlotDataItem] = {}  # (run, key, "raw"/"smooth")
        self._levels: dict[str, pg.InfiniteLine] = {}  # reference run -> its level in the selected metric
        self._followed: str | None = None  # the run whose curves set the auto-range, as last drawn

        self._metric_box = QComboBox()
        self._metric_box.setMinimumContentsLength(18)
        self._metric_box.currentIndexChanged.connect(self._on_view_changed)
        self._run_box = QComboBox()
        self._run_box.setToolTip(
            "the run the view follows (its span sets the x axis; the others are references), and whose returns "
            "per episode are shown"
        )
        self._run_box.currentIndexChanged.connect(self._on_view_changed)
        self._smoothing = QSlider(Qt.Orientation.Horizontal)
        self._smoothing.setRange(0, _SMOOTHING_STEPS - 1)
        self._smoothing.setToolTip("EMA weight (display only; every raw point is kept)")
        self._smoothing.valueChanged.connect(self._on_smoothing_changed)
        self._smoothing_label = QLabel()
        self._smoothing_label.setMinimumWidth(32)

        self._plot = pg.PlotWidget()
        self._plot.setLabel("bottom", "env steps")
        self._plot.showGrid(x=True, y=True, alpha=0.2)
        self._plot.addLegend(offset=(8, 8), brush=pg.mkBrush(0, 0, 0, 170))  # readable over the curves
        self._plot.setClipToView(True)
        self._plot.setDownsampling(auto=True, mode="peak")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Metric"))
        controls.addWidget(self._metric_box, 1)
        self._run_label = QLabel("Run")
        controls.addWidget(self._run_label)
        controls.addWidget(self._run_box)
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self._smoothing, 1)
        controls.addWidget(self._smoothing_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self._plot, 1)

        # Appends only record; one redraw per event-loop turn however many arrived in it.
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(0)
        self._redraw.timeout.connect(self.refresh)
        self._on_smoothing_changed(self._smoothing.value())
        self._on_view_changed()

    # ------------------------------------------------------------------------------------------ public

    def add_run(self, run_id: str, label: str) -> None:
        """Start a run (or relabel one): it gets the next colour of the palette, and the view follows it (a run
        just started, opened or resumed is the one the user is watching)."""
        if run_id in self._runs:
            self._runs[run_id].label = label
            self._run_box.setItemText(self._run_box.findData(run_id), label)
            self._drop_items(run_id)
        else:
            color = RUN_COLORS[len(self._runs) % len(RUN_COLORS)]
            self._runs[run_id] = _Run(label, color)
            self._run_box.addItem(label, run_id)
        self._run_box.setCurrentIndex(self._run_box.findData(run_id))
        self._schedule()

    def restart_run(self, run_id: str) -> None:
        """Forget a run's points, keeping its label and colour (its metrics.csv was rewritten by a resume)."""
        run = self._runs[run_id]
        self._runs[run_id] = _Run(run.label, run.color)
        self._drop_items(run_id)
        self._schedule()

    def has_run(self, run_id: str) -> bool:
        return run_id in self._runs

    def append(self, run_id: str, metrics: Mapping[str, object]) -> None:
        """Record one training iteration; non-numeric values are ignored. x is `env_steps` (else the
        iteration, else the record count)."""
        if run_id not in self._runs:
            raise KeyError(f"unknown run {run_id!r}: call add_run first")
        run = self._runs[run_id]
        numeric = {key: float(v) for key, v in metrics.items() if _is_number(v)}
        x = numeric.get("env_steps", numeric.get("iteration", float(run.records)))
        run.records += 1
        for key, value in numeric.items():
            run.series.setdefault(key, _Series()).append(x, value)
            if key not in self._metrics:
                self._add_metric(key)
        self._schedule()

    def clear(self) -> None:
        """Forget every run and metric."""
        self._drop_all()
        self._runs.clear()
        self._metrics.clear()
        self._metric_box.clear()
        self._run_box.clear()

    def series(self, run_id: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The stored points of one metric of one run: (env steps, values), every point ever appended."""
        s = self._runs[run_id].series[key]
        return s.x.view().copy(), s.y.view().copy()

    def selected_metric(self) -> str:
        """The selected view: a metric key or EPISODE_VIEW."""
        return self._metric_box.currentText()

    def set_metric(self, key: str) -> None:
        index = self._metric_box.findText(key)
        if index < 0:
            raise KeyError(f"no metric {key!r} recorded yet")
        self._metric_box.setCurrentIndex(index)

    def set_episode_run(self, run_id: str) -> None:
        """The run the view follows, and whose returns per episode the EPISODE_VIEW draws."""
        self._run_box.setCurrentIndex(self._run_box.findData(run_id))

    def followed_run(self) -> str | None:
        """The run whose curves set the view's range (None: no run, or the selected run lacks this metric)."""
        return self._followed

    def levels(self) -> dict[str, float]:
        """Reference run -> the level drawn for it in the selected metric."""
        return {run_id: float(line.value()) for run_id, line in self._levels.items()}

    def smoothing(self) -> float:
        return self._smoothing.value() / _SMOOTHING_STEPS

    def set_smoothing(self, weight: float) -> None:
        """EMA weight in [0, 0.99]; 0 draws the raw curve only."""
        self._smoothing.setValue(round(min(max(weight, 0.0), 0.99) * _SMOOTHING_STEPS))

    def plot_item(self) -> pg.PlotItem:
        """The pyqtgraph plot (for screenshots and for tests reading what is drawn)."""
        return self._plot.getPlotItem()

    def refresh(self) -> None:
        """Bring the plot up to date with the stored data and the controls."""
        followed = self._followed_now()
        if followed != self._followed:
            # Whether an item counts for the auto-range is fixed when it is added: re-add them all.
            self._drop_all()
            self._followed = followed
        wanted = self._wanted_curves()
        for key in [k for k in self._items if k not in wanted]:
            self._plot.removeItem(self._items.pop(key))
        weight = self.smoothing()
        for key, (series, color, name) in wanted.items():
            run_id, _, layer = key
            item = self._items.get(key)
            if item is None:
                item = self._make_item(
                    color,
                    name if layer == "smooth" else None,
                    faint=layer == "raw",
                    reference=followed is not None and run_id != followed,
                )
                self._items[key] = item
            y = series.smoothed(weight) if layer == "smooth" and weight > 0 else series.y.view()
            item.setData(series.x.view(), y)
        self._draw_levels(followed)

    # --------------------------------------------------------------------------------------- internals

    def _followed_now(self) -> str | None:
        """The selected run in a metric view where it has points; else None, and every curve sets the range
        (the episode view draws one run only; a run just started has nothing to follow yet)."""
        run_id = self._run_box.currentData()
        run = self._runs.get(run_id)
        view = self.selected_metric()
        if view == EPISODE_VIEW or run is None or view not in run.series:
            return None
        return str(run_id)

    def _draw_levels(self, followed: str | None) -> None:
        """A level for each reference whose points reach past the followed run's newest one."""
        view = self.selected_metric()
        levels: dict[str, float] = {}
        if followed is not None:
            end = self._runs[followed].series[view].x.view()[-1]
            for run_id, run in self._runs.items():
                series = run.series.get(view)
                if run_id == followed or series is None or series.x.view()[-1] <= end:
                    continue
                values = series.y.view()
                tail = values[-max(1, math.ceil(len(values) * _LEVEL_TAIL)) :]
                finite = tail[np.isfinite(tail)]
                if finite.size:
                    levels[run_id] = float(finite.mean())
        for run_id in [r for r in self._levels if r not in levels]:
            self._plot.removeItem(self._levels.pop(run_id))
        for run_id, value in levels.items():
            line = self._levels.get(run_id)
            if line is None:
                run = self._runs[run_id]
                escaped = run.label.replace("{", "{{").replace("}", "}}")
                line = pg.InfiniteLine(
                    angle=0,
                    pen=pg.mkPen(run.color, width=1, style=Qt.PenStyle.DashLine),
                    label=escaped + ", final: {value:.4g}",
                    # At the right end, under the line: the legend holds the top left, and a level at the
                    # top of the range would clip a label above it.
                    labelOpts={"position": 0.98, "anchors": [(1, 0), (1, 0)], "color": run.color},
                )
                # Counted in the y range (a horizontal line has no x extent): the level stays on screen.
                self._plot.addItem(line)
                self._levels[run_id] = line
            line.setValue(value)

    def _wanted_curves(self) -> dict[tuple[str, str, str], tuple[_Series, str, str]]:
        """Which curves the current view draws: (run, metric, layer) -> (series, colour, legend name).

        The "smooth" layer is the legend's curve: with smoothing off it is the raw data itself; with
        smoothing on, a faint "raw" layer is drawn under it.
        """
        view = self.selected_metric()
        curves: list[tuple[str, str, str, str]] = []  # run, metric, colour, name
        if view == EPISODE_VIEW:
            run_id = self._run_box.currentData()
            run = self._runs.get(run_id)
            if run is not None:
                episodes = sorted(
                    (int(m.group(1)), key) for key in run.series if (m := _EPISODE_KEY.match(key))
                )
                colors = pg.colormap.get("viridis").getLookupTable(0.3, 1.0, max(len(episodes), 2))
                for i, (episode, key) in enumerate(episodes):
                    curves.append((run_id, key, pg.mkColor(colors[i]).name(), f"episode {episode}"))
        else:
            for run_id, run in self._runs.items():
                if view in run.series:
                    curves.append((run_id, view, run.color, run.label))
        smoothing = self.smoothing() > 0
        wanted = {}
        for run_id, key, color, name in curves:
            series = self._runs[run_id].series[key]
            wanted[(run_id, key, "smooth")] = (series, color, name)
            if smoothing:
                wanted[(run_id, key, "raw")] = (series, color, name)
        return wanted

    def _make_item(self, color: str, name: str | None, faint: bool, reference: bool) -> pg.PlotDataItem:
        pen_color = pg.mkColor(color)
        if faint:
            pen_color.setAlpha(70)
        item = pg.PlotDataItem(pen=pg.mkPen(pen_color, width=1 if faint else 2), name=name)
        item.setZValue(0 if faint else 1)
        # A reference's curve is drawn but does not stretch the range: the view follows the followed run.
        self._plot.addItem(item, ignoreBounds=reference)
        return item

    def _add_metric(self, key: str) -> None:
        self._metrics.add(key)
        special = self._metric_box.findText(EPISODE_VIEW)
        # Metrics first, in first-seen order; the special view last, after a separator.
        self._metric_box.insertItem(special if special >= 0 else self._metric_box.count(), key)
        if special < 0 and _EPISODE_KEY.match(key):
            self._metric_box.insertSeparator(self._metric_box.count())
            self._metric_box.addItem(EPISODE_VIEW)
        if key == _DEFAULT_METRIC:
            self._metric_box.setCurrentIndex(self._metric_box.findText(key))

    def _drop_items(self, run_id: str) -> None:
        """Forget a run's plot items so they are rebuilt (with a new legend name)."""
        for key in [k for k in self._items if k[0] == run_id]:
            self._plot.removeItem(self._items.pop(key))
        if run_id in self._levels:
            self._plot.removeItem(self._levels.pop(run_id))

    def _drop_all(self) -> None:
        for key in list(self._items):
            self._plot.removeItem(self._items.pop(key))
        for run_id in list(self._levels):
            self._plot.removeItem(self._levels.pop(run_id))

    def _on_view_changed(self) -> None:
        episode_view = self.selected_metric() == EPISODE_VIEW
        # Which run to follow matters once there are two; the episode view always names its run.
        several = self._run_box.count() > 1
        self._run_box.setVisible(episode_view or several)
        self._run_label.setVisible(episode_view or several)
        self._plot.setLabel("left", "episode return" if episode_view else self.selected_metric())
        # Items of the old view go; the legend is rebuilt in the new view's order.
        self._drop_all()
        self._schedule()

    def _on_smoothing_changed(self, position: int) -> None:
        self._smoothing_label.setText(f"{position / _SMOOTHING_STEPS:.2f}")
        self._schedule()

    def _schedule(self) -> None:
        if not self._redraw.isActive():
            self._redraw.start()


def _is_number(value: object) -> TypeGuard[numbers.Real]:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
