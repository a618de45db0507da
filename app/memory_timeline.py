"""The memory timeline of the trial on screen: x is the trial step.

Top plot: where the current step's attention goes, over the trial steps it reaches: each raw step in the
context (TrMRL's window, Memo's current segment, FCT's whole trial; their span shaded) and each Memo / RMT
summary block, drawn as a bar over the segment it summarises. Heights are attention per trial step, so a
bar's AREA is its key group's mass: a summary of 64 steps holding 10% of the attention is as large as one
raw step holding 10%, and the whole plot sums to one. Episode starts and segment ends are vertical lines.
Bottom plot: the cache over the trial in tokens (left axis) and bytes (right axis), with each summary write
marked "S<k>" where the segment was closed.

An agent whose memory is a short window of recent steps (TrMRL: `StepTrace.window_time`) would be a sliver of
5 steps on a 500-step trial axis. For it the top plot zooms to a few windows' width ending at the current step
and scrolls with it, with its own step labels, while the bottom plot keeps the whole trial and shows the
window as a band sliding along it: what the agent can see, and where in the trial that is.

`observe` only records (O(1) amortised); `refresh`, called by the window on its paint timer, draws.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from agents.base import StepTrace
from app.buffers import GrowingArray
from app.theme import EPISODE_LINE, NOW_LINE, SEGMENT_LINE, STEP_KEY, SUMMARY_KEYS, nice_ceiling
from app.trace_view import AttentionView, attention_view, format_bytes

LAST_LAYER = -1
_HEADROOM = 1.4  # y range over the data's maximum: room for the legend and the write labels
# A window agent's attention view spans this many windows: the window, and the steps that left it.
_WINDOWS_SHOWN = 4


class MemoryTimeline(QWidget):
    """Memory writes, attention per key group and cache size over one trial, for one env of the batch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._steps = GrowingArray()
        self._tokens = GrowingArray()
        self._bytes = GrowingArray()
        self._episode_starts: list[int] = []
        self._writes: list[tuple[int, int, int]] = []  # (step, segment, cache tokens at the write)
        self._latest: tuple[StepTrace, int] | None = None
        self._dirty = False
        self._drawn_episodes = 0
        self._drawn_writes = 0
        # This trial's boundary lines and write labels, each with the plot holding it.
        self._marks: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []

        self._layer_box = QComboBox()
        self._layer_box.addItem("last layer", LAST_LAYER)
        self._layer_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._layer_box.setToolTip("the layer whose head-averaged attention is summed per key group")
        self._layer_box.currentIndexChanged.connect(self._mark_dirty)
        self._info = QLabel()
        self._info.setWordWrap(True)  # a long readout must not set the dock's minimum width

        self._graphics = pg.GraphicsLayoutWidget()
        self._attention = self._graphics.addPlot(row=0, col=0)
        self._cache = self._graphics.addPlot(row=1, col=0)
        self._graphics.ci.layout.setRowStretchFactor(0, 3)
        self._graphics.ci.layout.setRowStretchFactor(1, 2)
        self._cache.setXLink(self._attention)
        self._attention.setLabel("left", "attention / step")
        # No grid: this panel redraws 10 times a second, and in software rendering the translucent grid lines
        # across the plot were 60% of each redraw (measured: 254 → 99 ms for 40 redraws without them).
        self._attention.getAxis("bottom").setStyle(showValues=False)
        self._cache.setLabel("left", "cache, solid", units="tokens")
        self._cache.setLabel("bottom", "trial step")
        # The cache plot has no legend: its curves are named by their axes, the writes by their labels.
        self._attention.addLegend(offset=(-8, 4), colCount=2, brush=pg.mkBrush(0, 0, 0, 170))
        for plot in (self._attention, self._cache):
            plot.setMenuEnabled(False)
            # Equal axis widths keep the two plots' x axes aligned; the top one's right axis is a spacer.
            plot.getAxis("left").setWidth(56)
            plot.showAxis("right")
            plot.getAxis("right").setWidth(56)
        self._attention.getAxis("right").setStyle(showValues=False)

        # The step-key blue at 16% over the black background, mixed here: an opaque fill is a plain copy, where a
        # translucent one blends every pixel of the plot's height at each redraw.
        self._span = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(14, 22, 32), pen=pg.mkPen(None), orientation="vertical"
        )
        self._span.setZValue(-10)
        self._attention.addItem(self._span, ignoreBounds=True)
        self._raw_mass = pg.PlotDataItem(
            stepMode="center",
            fillLevel=0,
            pen=pg.mkPen(STEP_KEY),
            brush=pg.mkBrush(STEP_KEY),
            name="per raw step",
        )
        self._attention.addItem(self._raw_mass)
        self._summary_mass = pg.BarGraphItem(
            x0=[], width=[], height=[], brush=pg.mkBrush(SUMMARY_KEYS[0]), pen=pg.mkPen(SUMMARY_KEYS[1])
        )
        self._attention.addItem(self._summary_mass)
        self._now = pg.InfiniteLine(angle=90, pen=pg.mkPen(NOW_LINE, width=2))
        self._attention.addItem(self._now, ignoreBounds=True)
        self._windowed = False  # this trial's agent remembers a window of recent steps (x axes unlinked)
        # The window's span on the whole-trial axis: the opaque blue mix of `_span`, for the same reason, with
        # step-key edges, as a few steps of 500 are a few pixels wide.
        self._window_band = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(14, 22, 32), pen=pg.mkPen(STEP_KEY), orientation="vertical"
        )
        self._window_band.setZValue(-10)
        self._window_band.hide()
        self._cache.addItem(self._window_band, ignoreBounds=True)

        self._token_curve = self._cache.plot(pen=pg.mkPen(STEP_KEY, width=2))
        self._write_marks = pg.ScatterPlotItem(
            symbol="t1", size=9, brush=pg.mkBrush(SUMMARY_KEYS[0]), pen=pg.mkPen(None)
        )
        self._cache.addItem(self._write_marks)
        # Bytes on a right axis: a second view box sharing x, as pyqtgraph's MultiplePlotAxes example.
        self._bytes_box = pg.ViewBox()
        self._cache.scene().addItem(self._bytes_box)
        self._cache.getAxis("right").linkToView(self._bytes_box)
        self._cache.getAxis("right").setLabel("cache, dashed", units="B")
        self._bytes_box.setXLink(self._cache)
        self._byte_curve = pg.PlotDataItem(pen=pg.mkPen("#bbbbbb", width=1, style=Qt.PenStyle.DashLine))
        self._bytes_box.addItem(self._byte_curve)
        self._cache.getViewBox().sigResized.connect(self._align_bytes_box)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self._layer_box)
        controls.addWidget(self._info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self._graphics, 1)
        self.begin_trial()

    # ------------------------------------------------------------------------------------------ public

    def begin_trial(self, trial_steps: int | None = None) -> None:
        """Forget the previous trial. With `trial_steps` the x axis spans the whole trial from the start."""
        for array in (self._steps, self._tokens, self._bytes):
            array.clear()
        self._episode_starts.clear()
        self._writes.clear()
        self._latest = None
        for plot, item in self._marks:
            plot.removeItem(item)
        self._marks.clear()
        self._drawn_episodes = self._drawn_writes = 0
        self._set_windowed(False)  # the next player's agent may not be a window agent
        if trial_steps is None:
            self._attention.enableAutoRange(x=True)
        else:
            self._attention.setXRange(-0.5, trial_steps - 0.5, padding=0)
        self._dirty = True
        self.refresh()

    def observe(self, step: int, trace: StepTrace, episode_start: bool, env: int = 0) -> None:
        """Record one player step (trial step `step`) of env `env`; drawn at the next `refresh`."""
        if trace.events:
            previous = int(self._tokens.view()[-1]) if len(self._tokens) else 0
            # The write happens with this step's token in the cache, just before the segment is dropped.
            self._writes.extend((event.step, event.segment, previous + 1) for event in trace.events)
        self._steps.append(step)
        self._tokens.append(trace.cache_tokens)
        self._bytes.append(trace.cache_bytes)
        if episode_start:
            self._episode_starts.append(step)
        self._latest = (trace, env)
        self._dirty = True

    def refresh(self) -> None:
        """Draw what was observed since the last refresh (nothing to do if nothing was)."""
        if not self._dirty:
            return
        self._dirty = False
        steps = self._steps.view()
        self._token_curve.setData(steps, self._tokens.view())
        self._byte_curve.setData(steps, self._bytes.view())
        self._draw_new_marks()
        writes = np.array(self._writes, dtype=np.float64).reshape(-1, 3)
        self._write_marks.setData(writes[:, 0], writes[:, 2])
        # Cache axes start at zero, with headroom for the write labels and the legend.
        top_tokens = max(float(self._tokens.view().max(initial=0)), float(writes[:, 2].max(initial=0)))
        self._cache.setYRange(0, nice_ceiling(_HEADROOM * max(top_tokens, 1)), padding=0)
        self._bytes_box.setYRange(
            0, nice_ceiling(_HEADROOM * max(float(self._bytes.view().max(initial=0)), 1)), padding=0
        )
        view = None if self._latest is None else attention_view(*self._latest)
        self._sync_layers(view)
        self._draw_attention(view)
        self._info.setText(self._describe(view))

    def episode_starts(self) -> list[int]:
        return list(self._episode_starts)

    def writes(self) -> list[tuple[int, int]]:
        """(trial step, segment) of every summary write of this trial."""
        return [(step, segment) for step, segment, _ in self._writes]

    def cache_history(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(trial steps, cache tokens, cache bytes), one entry per observed step."""
        return self._steps.view().copy(), self._tokens.view().copy(), self._bytes.view().copy()

    def window_width(self) -> int | None:
        """The agent's window in steps (TrMRL's working memory), or None when its memory is not a window."""
        if self._latest is None or self._latest[0].window_time is None:
            return None
        return int(self._latest[0].window_time.shape[1])

    def group_mass(self) -> tuple[dict[int, float], float]:
        """Attention mass of the newest step per summary segment, and on raw steps (what the bars show)."""
        view = None if self._latest is None else attention_view(*self._latest)
        if view is None:
            return {}, 0.0
        weights = self._head_mean(view)
        return _summary_mass(view, weights), float(weights[view.raw].sum())

    # --------------------------------------------------------------------------------------- internals

    def _mark_dirty(self) -> None:
        self._dirty = True
        self.refresh()

    def _align_bytes_box(self) -> None:
        self._bytes_box.setGeometry(self._cache.getViewBox().sceneBoundingRect())
        self._bytes_box.linkedViewChanged(self._cache.getViewBox(), self._bytes_box.XAxis)

    def _set_windowed(self, windowed: bool) -> None:
        """Unlink the x axes for a window agent (the top plot follows the window, the bottom keeps the trial);
        link them again for any other, the cache plot taking the attention plot's range."""
        if windowed == self._windowed:
            return
        self._windowed = windowed
        self._cache.setXLink(None if windowed else self._attention)
        self._attention.getAxis("bottom").setStyle(showValues=windowed)
        self._window_band.setVisible(False)

    def _add_mark(self, plot: pg.PlotItem, item: pg.GraphicsObject) -> None:
        plot.addItem(item, ignoreBounds=True)
        self._marks.append((plot, item))

    def _draw_new_marks(self) -> None:
        """Boundary lines and write labels are added once each, as they arrive."""
        episode_pen = pg.mkPen(EPISODE_LINE, width=1, style=Qt.PenStyle.DashLine)
        for step in self._episode_starts[self._drawn_episodes :]:
            for plot in (self._attention, self._cache):
                self._add_mark(plot, pg.InfiniteLine(step - 0.5, angle=90, pen=episode_pen))
        self._drawn_episodes = len(self._episode_starts)
        segment_pen = pg.mkPen(SEGMENT_LINE, width=1)
        for step, segment, tokens in self._writes[self._drawn_writes :]:
            for plot in (self._attention, self._cache):
                self._add_mark(plot, pg.InfiniteLine(step + 0.5, angle=90, pen=segment_pen))
            label = pg.TextItem(f"S{segment}", color=SUMMARY_KEYS[0], anchor=(0.5, 1.2))
            label.setPos(step, tokens)
            self._add_mark(self._cache, label)
        self._drawn_writes = len(self._writes)

    def _sync_layers(self, view: AttentionView | None) -> None:
        if view is None or self._layer_box.count() == view.n_layers + 1:
            return
        self._layer_box.blockSignals(True)
        while self._layer_box.count() > 1:
            self._layer_box.removeItem(1)
        for i in range(view.n_layers):
            self._layer_box.addItem(f"layer {i}", i)
        self._layer_box.blockSignals(False)

    def _head_mean(self, view: AttentionView) -> np.ndarray:
        layer = self._layer_box.currentData()
        layer = view.n_layers - 1 if layer == LAST_LAYER else min(layer, view.n_layers - 1)
        return view.weights[layer].mean(axis=0)

    def _draw_attention(self, view: AttentionView | None) -> None:
        if len(self._steps):
            self._now.setValue(self._steps.view()[-1])
        self._now.setVisible(bool(len(self._steps)))
        raw_times = np.zeros(0, dtype=np.int64) if view is None else view.time[view.raw]
        if view is None or not raw_times.size:
            self._raw_mass.setData([], [])
            self._summary_mass.setOpts(x0=[], width=[], height=[])
            _legend_entry(self._attention, self._summary_mass, "per summary block", False)
            self._span.hide()
            self._window_band.hide()
            return
        weights = self._head_mean(view)
        # Raw keys as a step curve over a dense run of steps (zero where a step is not in the context).
        first, last = int(raw_times.min()), int(raw_times.max())
        dense = np.zeros(last - first + 1)
        dense[raw_times - first] = weights[view.raw]
        self._raw_mass.setData(np.arange(first, last + 2) - 0.5, dense)
        self._span.setRegion((first - 0.5, last + 0.5))
        self._span.show()
        self._follow_window(first, last)
        spans = self._segment_spans()
        x0, width, height = [], [], []
        for segment, mass in _summary_mass(view, weights).items():
            written = int(view.time[view.summary & (view.segment == segment)][0])
            start, end = spans.get(segment, (written, written))
            x0.append(start - 0.5)
            width.append(end - start + 1)
            height.append(mass / width[-1])
        self._summary_mass.setOpts(x0=x0, width=width, height=height)
        _legend_entry(self._attention, self._summary_mass, "per summary block", bool(x0))
        self._attention.setYRange(
            0, nice_ceiling(_HEADROOM * max(float(dense.max()), *height, 1e-6)), padding=0
        )

    def _follow_window(self, first: int, last: int) -> None:
        """For a window agent: the top plot's view slides with the window; the bottom plot's band marks it."""
        width = self.window_width()
        self._set_windowed(width is not None)
        if width is None:
            return
        shown = _WINDOWS_SHOWN * width
        # Until the window has travelled one view from the trial start the view stays at the start (the band
        # moves through it); then the window keeps the view's right end and the axis scrolls under it.
        left = max(-0.5, last + 0.5 - shown)
        self._attention.setXRange(left, left + shown, padding=0)
        self._window_band.setRegion((first - 0.5, last + 0.5))
        self._window_band.show()

    def _segment_spans(self) -> dict[int, tuple[int, int]]:
        """Segment -> (first step, last step), from the writes seen this trial (segment k ends at its write)."""
        spans, start = {}, 0
        for step, segment, _ in self._writes:
            spans[segment] = (start, step)
            start = step + 1
        return spans

    def _describe(self, view: AttentionView | None) -> str:
        if not len(self._steps):
            return "no steps observed in this trial yet"
        tokens, size = int(self._tokens.view()[-1]), int(self._bytes.view()[-1])
        parts = [f"t = {int(self._steps.view()[-1])}", f"cache {tokens} tokens, {format_bytes(size)}"]
        if self._writes:
            parts.append(f"{len(self._writes)} summary writes")
        if view is not None:
            weights = self._head_mean(view)
            if view.summary.any():
                summary, raw = float(weights[view.summary].sum()), float(weights[view.raw].sum())
                parts.append(f"attention: summaries {summary:.0%}, raw steps {raw:.0%}")
        return " · ".join(parts)


def _summary_mass(view: AttentionView, weights: np.ndarray) -> dict[int, float]:
    """Attention mass per summary segment (keys of one segment's summary summed), in segment order."""
    segments = view.segment[view.summary]
    return {int(s): float(weights[view.summary & (view.segment == s)].sum()) for s in np.unique(segments)}


def _legend_entry(plot: pg.PlotItem, item: pg.GraphicsObject, name: str, shown: bool) -> None:
    """List `item` in the plot's legend only while it has something to show (no summaries for TrMRL / FCT)."""
    listed = plot.legend.getLabel(item) is not None
    if shown and not listed:
        plot.legend.addItem(item, name)
    elif listed and not shown:
        plot.legend.removeItem(item)
