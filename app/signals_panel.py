"""The Episode signals panel: the current trial, step by step, so adaptation shows as a curve.

From top to bottom, on one trial-step axis (plots a scene has nothing for are left out):
- the quantities the task is about (the scene's `EpisodeSignal`s of kind "value": the cheetah's velocity, the
  distance to the goal), each with its target task parameter dashed in the same colour: after "Apply to
  episode" the gap between the two is the tracking error, and it closes as the agent adapts;
- events (kind "event": a key picked up, a door opened, a success), one row each, a dot per step it happened;
- the other numeric task parameters, each scaled to its schema's range (0 at its low end, 1 at its high end:
  a layout seed and a goal coordinate share one axis), their values in the legend;
- the reward and its `reward_*` terms.
Vertical ticks across every plot mark episode starts (dashed) and task edits (amber, the colour of a recording's
edit border). The legend is a line of coloured names above the plots rather than pyqtgraph's legends in them: in
a dock 250 px high those covered a third of each plot, just where a well-tracked quantity and a near-best reward
run.

Compare mode: `set_lanes` with two labels draws the other agent (lane 1: the partner's steps) dotted in the same
colours: its tracked quantities, events (hollow dots, just below lane 0's) and reward. Its targets, task
parameters and reward terms are not drawn: both agents run the same task at every step, and the terms of two
agents in one plot are more lines than a reader can follow.

`observe` only records (`agents.episode_signals.TrialSignals`, one per lane); `refresh`, on the window's panel
tick, redraws with `setData` on items made once per scene, and only when a step arrived since the last draw.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from agents.episode_signals import REWARD, REWARD_TERM_PREFIX, TrialSignals
from agents.player import PlayerStep
from app.theme import EDIT_LINE, EPISODE_LINE, RUN_COLORS, nice_ceiling
from scenes.base import EpisodeSignal, TaskParam

REWARD_COLOR = "#e8e8e8"
LEGEND_TEXT = "#c8c8c8"
TARGET_LIGHTER = 160  # a target's dashed line: its quantity's colour, this much lighter (QColor.lighter)
LANE_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DotLine)  # lane 0, lane 1 (compare mode)
ERROR_STEPS = 20  # the tracking error in the caption: mean |value - target| over the newest this many points
_AXIS_WIDTH = 72  # every plot's left axis, so the plots' x axes line up; room for an event row's name
# How the legend draws a curve's line: solid, dashed (a target), dotted (lane 1).
_GLYPHS = {Qt.PenStyle.SolidLine: "━━", Qt.PenStyle.DashLine: "╺╸╺╸", Qt.PenStyle.DotLine: "┅┅"}
_TICK_LABEL_PX = 18  # a y label's height and the gap to the next
_LANE_1_ROW_OFFSET = -0.3  # lane 1's event dots sit just below lane 0's row


class SignalsPanel(QWidget):
    """The current trial's signals for one or two agents; see the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._signals: tuple[EpisodeSignal, ...] = ()
        self._params: dict[str, TaskParam] = {}
        self._steps_per_trial: int | None = None
        self._labels: list[str] = [""]
        self._lanes: list[TrialSignals] = [TrialSignals()]
        self._drawn: list[int] = [-1]  # per lane, the TrialSignals.version drawn
        self._info = QLabel()
        self._legend = QLabel()
        for label in (self._info, self._legend):
            label.setWordWrap(True)  # a long caption must not set the dock's minimum width
        self._legend.setTextFormat(Qt.TextFormat.RichText)
        # On the plots' black, where the light curves (the reward's) show, and read as part of the plots.
        self._legend.setStyleSheet(f"background: black; color: {LEGEND_TEXT}; padding: 2px 6px")
        self._graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self._info)
        layout.addWidget(self._legend)
        layout.addWidget(self._graphics, 1)
        self._build()

    # ------------------------------------------------------------------------------------------ public

    def set_scene(
        self, signals: Sequence[EpisodeSignal], task_params: Sequence[TaskParam], steps_per_trial: int | None
    ) -> None:
        """A new player: its scene's declared signals and task schema, and the trial length (the x axis)."""
        self._signals = tuple(signals)
        self._params = {p.name: p for p in task_params}
        self._steps_per_trial = steps_per_trial
        self._rebuild_lanes()

    def set_lanes(self, labels: Sequence[str]) -> None:
        """One lane (the watched agent) or two (compare mode: the partner's steps go to lane 1); `labels` name
        them in the caption and the legend. The trial so far is forgotten."""
        if not 1 <= len(labels) <= 2:
            raise ValueError(f"the signals panel draws one or two lanes, got {len(labels)}")
        self._labels = list(labels)
        self._rebuild_lanes()

    def begin_trial(self) -> None:
        """Forget the trial so far (a reset); the next step observed starts the new one."""
        for lane in self._lanes:
            lane.begin_trial()
        self._drawn = [-1] * len(self._lanes)

    def observe(self, step: PlayerStep) -> None:
        """One player step (a `StepRecord.played`): lane 0, and its `partner` to lane 1 when there are two."""
        self._lanes[0].observe(step)
        if step.partner is not None and len(self._lanes) == 2:
            self._lanes[1].observe(step.partner)

    def lane(self, index: int) -> TrialSignals:
        """What lane `index` holds of the current trial."""
        return self._lanes[index]

    def drawn_marks(self, index: int) -> tuple[list[int], list[int]]:
        """The trial steps lane `index`'s ticks are drawn at, as of the last refresh: episode starts, edits."""
        episodes, edits = self._ticks[index]
        return episodes.values(), edits.values()

    def refresh(self) -> None:
        """Draw what was observed since the last refresh (nothing to do if nothing was)."""
        versions = [lane.version for lane in self._lanes]
        if versions == self._drawn:
            return
        self._drawn = versions
        for index, lane in enumerate(self._lanes):
            self._draw_lane(index, lane)
        self._draw_reward_range()
        if self._tracked is not None:
            self._set_y_range(self._tracked, *_data_range(self._tracked_arrays()))
        self._info.setText(self._caption())
        legend = self._legend_html()
        if legend != self._legend.text():
            self._legend.setText(legend)

    # --------------------------------------------------------------------------------------- building

    def _rebuild_lanes(self) -> None:
        self._lanes = [TrialSignals(self._signals) for _ in self._labels]
        self._drawn = [-1] * len(self._lanes)
        self._build()
        self.refresh()

    def _build(self) -> None:
        """The plots and their items for this scene and these lanes (once per player, never per step)."""
        self._graphics.clear()
        values = [s for s in self._signals if s.kind == "value"]
        events = [s for s in self._signals if s.kind == "event"]
        targets = {s.target for s in values if s.target is not None}
        scaled = [p for p in self._params.values() if _scale(p) is not None and p.name not in targets]
        self._plots: list[pg.PlotItem] = []  # top to bottom
        plots = self._plots
        self._y_ranges: dict[int, tuple[float, float]] = {}

        self._tracked: pg.PlotItem | None = None
        self._values: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._targets: dict[str, pg.PlotDataItem] = {}  # task parameter -> its dashed curve
        if values:
            self._tracked = plot = self._add_plot(plots, 3)
            units = {s.unit for s in values}
            if len(units) == 1 and "" not in units:
                plot.setLabel("left", units.pop())
            for i, signal in enumerate(values):
                color = RUN_COLORS[i % len(RUN_COLORS)]
                for lane in range(len(self._labels)):
                    self._values[lane, signal.info_key] = self._curve(
                        plot, color, lane, self._lane_name(_with_unit(signal.label, signal.unit), lane)
                    )
                if signal.target is not None:
                    # Lighter and under the quantity: once the agent tracks it, the two lines coincide.
                    self._targets[signal.target] = item = pg.PlotDataItem(
                        pen=pg.mkPen(
                            pg.mkColor(color).lighter(TARGET_LIGHTER), width=2, style=Qt.PenStyle.DashLine
                        ),
                        connect="finite",
                        name=f"{signal.target} (target)",
                    )
                    item.setZValue(-1)
                    plot.addItem(item)

        self._events: dict[tuple[int, str], pg.ScatterPlotItem] = {}
        self._event_rows = {s.info_key: row for row, s in enumerate(reversed(events))}
        if events:
            plot = self._add_plot(plots, 1)  # its rows' names are the left axis's tick labels
            rows = len(events)
            plot.setYRange(-0.6, rows - 0.5, padding=0)
            plot.getAxis("left").setTicks([[(self._event_rows[s.info_key], s.label) for s in events]])
            for i, signal in enumerate(events):
                color = RUN_COLORS[(len(values) + i) % len(RUN_COLORS)]
                for lane in range(len(self._labels)):
                    filled = lane == 0
                    item = pg.ScatterPlotItem(
                        size=7,
                        pen=pg.mkPen(color),
                        brush=pg.mkBrush(color) if filled else pg.mkBrush(None),
                    )
                    plot.addItem(item)
                    self._events[lane, signal.info_key] = item

        self._task_items: dict[str, pg.PlotDataItem] = {}
        self._task_shown: dict[str, str] = {}  # the legend's name of each task curve: the value it is at
        if scaled:
            plot = self._add_plot(plots, 1)
            plot.setYRange(-0.05, 1.05, padding=0)
            for i, param in enumerate(scaled):
                color = RUN_COLORS[(len(values) + len(events) + i) % len(RUN_COLORS)]
                self._task_items[param.name] = self._curve(plot, color, 0, param.name)

        self._reward = self._add_plot(plots, 2)
        self._reward.setLabel("bottom", "trial step")
        self._reward.getAxis("bottom").setStyle(showValues=True)
        self._reward_items: dict[tuple[int, str], pg.PlotDataItem] = {}
        for lane in range(len(self._labels)):
            self._reward_items[lane, REWARD] = self._curve(
                self._reward, REWARD_COLOR, lane, self._lane_name(REWARD, lane), width=2
            )

        self._ticks: list[tuple[_TickSet, _TickSet]] = []  # per lane: episode starts, edits
        for lane in range(len(self._labels)):
            style = LANE_STYLES[lane]
            episode_pen = pg.mkPen(EPISODE_LINE, width=1, style=Qt.PenStyle.DashLine if lane == 0 else style)
            edit_pen = pg.mkPen(EDIT_LINE, width=2, style=style)
            pair = []
            for pen in (episode_pen, edit_pen):
                # One tick group per plot (a graphics item lives in one plot), moved together.
                group = [pg.VTickGroup(yrange=[0, 1], pen=pen) for _ in plots]
                for plot, ticks in zip(plots, group, strict=True):
                    plot.addItem(ticks, ignoreBounds=True)
                pair.append(_TickSet(group))
            self._ticks.append((pair[0], pair[1]))
        for plot in plots:
            if plot is not self._reward:
                plot.setXLink(self._reward)
        if self._steps_per_trial is None:
            self._reward.enableAutoRange(x=True)
        else:
            self._reward.setXRange(-0.5, self._steps_per_trial - 0.5, padding=0)

    def _add_plot(self, plots: list[pg.PlotItem], stretch: int) -> pg.PlotItem:
        plot = self._graphics.addPlot(row=len(plots), col=0)
        self._graphics.ci.layout.setRowStretchFactor(len(plots), stretch)
        plot.setMenuEnabled(False)
        # No axis titles but a unit (the legend names the curves, and a title is taller than a plot in a low
        # dock), and as many y labels as the plot's height holds (pyqtgraph's own spacing overlapped them).
        plot.getAxis("left").setWidth(_AXIS_WIDTH)
        view = plot.getViewBox()
        fit = functools.partial(_fit_y_ticks, plot)
        view.sigResized.connect(fit)
        view.sigYRangeChanged.connect(fit)
        plot.getAxis("bottom").setStyle(showValues=False)
        # No grid: translucent grid lines dominated the timeline panel's software-rendered redraws.
        plots.append(plot)
        return plot

    def _curve(self, plot: pg.PlotItem, color: str, lane: int, name: str, width: int = 1) -> pg.PlotDataItem:
        item = pg.PlotDataItem(
            pen=pg.mkPen(color, width=width, style=LANE_STYLES[lane]), connect="finite", name=name
        )
        plot.addItem(item)
        return item

    def _lane_name(self, name: str, lane: int) -> str:
        """Lane 1's entries name its agent; lane 0's go without (there is one agent, or it is the solid one)."""
        return f"{name} — {self._labels[1] or 'lane 1'}" if lane == 1 else name

    # ---------------------------------------------------------------------------------------- drawing

    def _draw_lane(self, index: int, lane: TrialSignals) -> None:
        steps = lane.steps
        for (item_lane, key), item in self._values.items():
            if item_lane == index:
                item.setData(steps, _series(lane, key))
        for key, row in self._event_rows.items():
            item = self._events[index, key]
            happened = lane.events[key]
            item.setData(happened, np.full(len(happened), row + (_LANE_1_ROW_OFFSET if index else 0.0)))
        episode_ticks, edit_ticks = self._ticks[index]
        episode_ticks.set(lane.episode_starts)
        edit_ticks.set(lane.edits)
        if index == 0:
            for param, item in self._targets.items():
                item.setData(steps, _task_series(lane, param))
            self._draw_task(lane, steps)
            self._draw_reward_terms(lane, steps)
        self._reward_items[index, REWARD].setData(steps, _series(lane, REWARD))

    def _draw_task(self, lane: TrialSignals, steps: np.ndarray) -> None:
        names = set(lane.task_names())
        for name, item in self._task_items.items():
            if name not in names:
                item.setData([], [])
                continue
            series = lane.task_series(name)
            low, high = _scale(self._params[name]) or (0.0, 1.0)
            item.setData(steps, (series - low) / (high - low))
            unit = f" {self._params[name].unit}" if self._params[name].unit else ""
            self._task_shown[name] = f"{name} = {float(series[-1]):.3g}{unit}" if series.size else name

    def _draw_reward_terms(self, lane: TrialSignals, steps: np.ndarray) -> None:
        """Lane 0's reward terms: a curve per `reward_*` info key, made the first time the key is seen."""
        for name in lane.series_names():
            if not name.startswith(REWARD_TERM_PREFIX):
                continue
            if (0, name) not in self._reward_items:
                terms = sum(1 for _, key in self._reward_items if key != REWARD)
                color = RUN_COLORS[(terms + 1) % len(RUN_COLORS)]
                self._reward_items[0, name] = self._curve(self._reward, color, 0, name)
            self._reward_items[0, name].setData(steps, lane.series(name))

    def _draw_reward_range(self) -> None:
        arrays = [_series(self._lanes[lane], key) for lane, key in self._reward_items]
        self._set_y_range(self._reward, *_data_range(arrays))

    def _tracked_arrays(self) -> list[np.ndarray]:
        arrays = [_series(self._lanes[lane], key) for lane, key in self._values]
        return arrays + [_task_series(self._lanes[0], param) for param in self._targets]

    def _set_y_range(self, plot: pg.PlotItem, low: float, high: float) -> None:
        """Nice bounds that change only when the data crosses one: re-laying out an axis at every redraw is
        a large part of a software-rendered paint (app.theme.nice_ceiling)."""
        bounds = _nice_bounds(low, high)
        if self._y_ranges.get(id(plot)) != bounds:
            self._y_ranges[id(plot)] = bounds
            plot.setYRange(*bounds, padding=0)

    def _caption(self) -> str:
        parts = []
        for index, lane in enumerate(self._lanes):
            step = lane.last
            if step is None:
                parts.append(self._lane_prefix(index) + "no steps of this trial yet")
                continue
            text = (
                f"trial step {step.step_in_trial} · episode {step.episode_index} · "
                f"episode return {step.episode_return:.3g}"
            )
            for signal in self._signals:
                error = _tracking_error(lane, signal)
                if error is not None:
                    text += f" · |{signal.label} − {signal.target}| {error:.3g} {signal.unit}".rstrip()
            parts.append(self._lane_prefix(index) + text)
        if len(self._lanes) == 2:
            first, second = (label or f"lane {i}" for i, label in enumerate(self._labels))
            parts.append(f"solid lines and filled dots: {first} · dotted and hollow: {second}")
        return "\n".join(parts)

    def _lane_prefix(self, index: int) -> str:
        return f"{self._labels[index]}: " if len(self._lanes) > 1 and self._labels[index] else ""

    def _legend_html(self) -> str:
        """Every curve's name in its colour after a sample of its line; a task parameter's with its value."""
        entries = []
        for plot in self._plots:
            for item in plot.listDataItems():
                name = item.name()
                if not name:
                    continue
                pen = item.opts["pen"]
                glyph = _GLYPHS.get(pen.style(), _GLYPHS[Qt.PenStyle.SolidLine])
                shown = html.escape(self._task_shown.get(name, name))
                entries.append(f'<span style="color:{pen.color().name()}">{glyph}</span>&nbsp;{shown}')
        return " &nbsp; ".join(entries)


class _TickSet:
    """The same vertical ticks in every plot."""

    def __init__(self, groups: list[pg.VTickGroup]) -> None:
        self._groups = groups
        self._shown: list[int] = []

    def set(self, steps: list[int]) -> None:
        if steps != self._shown:
            self._shown = list(steps)
            # A tick between two steps: the boundary falls before the step it starts.
            for group in self._groups:
                group.setXVals([s - 0.5 for s in steps])

    def values(self) -> list[int]:
        return list(self._shown)


def _series(lane: TrialSignals, name: str) -> np.ndarray:
    """A reward or signal series of the lane; NaN throughout when no step of this trial reported it."""
    return lane.series(name) if name in lane.series_names() else np.full(len(lane.steps), np.nan)


def _task_series(lane: TrialSignals, name: str) -> np.ndarray:
    return lane.task_series(name) if name in lane.task_names() else np.full(len(lane.steps), np.nan)


def _scale(param: TaskParam) -> tuple[float, float] | None:
    """The (low, high) a numeric task parameter is scaled from; None for non-numeric or single-valued ones."""
    if param.kind == "choice":
        numbers = [c for c in param.choices if isinstance(c, int | float) and not isinstance(c, bool)]
        if len(numbers) != len(param.choices):
            return None
        low, high = float(min(numbers)), float(max(numbers))
    else:
        low, high = float(param.low or 0.0), float(param.high or 0.0)
    return (low, high) if high > low else None


def _fit_y_ticks(plot: pg.PlotItem, *_: object) -> None:
    """Y labels on a 1-2-5 spacing, as many as fit the plot's height (a signal's `sigResized` passes the view
    box and `sigYRangeChanged` the range: both unused)."""
    low, high = plot.getViewBox().viewRange()[1]
    labels = max(1, min(5, int(plot.getViewBox().height() // _TICK_LABEL_PX)))
    spacing = nice_ceiling((high - low) / labels) if high > low else 1.0
    plot.getAxis("left").setTickSpacing(spacing, spacing)


def _with_unit(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def _data_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    return min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)


def _nice_bounds(low: float, high: float) -> tuple[float, float]:
    """[low, high] widened to multiples of a 1-2-5 step a fifth of the span or so (0 to 1 for a flat zero)."""
    span = high - low or abs(high) or 1.0
    step = nice_ceiling(span / 5)
    return math.floor(low / step) * step, max(math.ceil(high / step), math.floor(low / step) + 1) * step


def _tracking_error(lane: TrialSignals, signal: EpisodeSignal) -> float | None:
    """Mean |value − target| over the newest `ERROR_STEPS` points, or None (no target, or nothing yet)."""
    if signal.target is None or signal.info_key not in lane.series_names():
        return None
    if signal.target not in lane.task_names():
        return None
    gap = np.abs(lane.series(signal.info_key) - lane.task_series(signal.target))[-ERROR_STEPS:]
    gap = gap[np.isfinite(gap)]
    return float(gap.mean()) if gap.size else None
