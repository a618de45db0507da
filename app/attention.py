"""Attention heatmap of one step: how the token just taken spreads its attention over its context.

Rows are the heads of one layer (or one row per layer, heads averaged or one head picked), columns the keys
in time order; a strip above the keys tells raw steps from summary tokens, episode starts are vertical lines.
The same widget serves TrMRL's 5-key window, Memo's summaries + current segment and FCT's whole trial
(thousands of keys: one ImageItem, tick labels chosen by the axis, so it stays cheap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from agents.base import KEY_SUMMARY, StepTrace
from app.theme import EPISODE_LINE, INVALID_KEY, STEP_KEY, SUMMARY_KEYS, nice_ceiling
from app.trace_view import AttentionView, attention_view, format_bytes

ALL_LAYERS = -1
ALL_HEADS = -2
MEAN_HEADS = -1


class _KeyAxis(pg.AxisItem):
    """Bottom axis for keys: one label per summary block at its centre ("S3"), and pyqtgraph's own tick
    spacing over the raw steps, labelled with their trial step; never a tick between two columns."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self._labels: list[str] = []
        self._blocks: dict[float, str] = {}
        self._first_raw = 0

    def set_keys(self, labels: list[str], blocks: dict[float, str], first_raw: int) -> None:
        """Key labels, summary-block labels by column centre, and the first column that is not a summary."""
        if (labels, blocks, first_raw) == (self._labels, self._blocks, self._first_raw):
            return  # unchanged (a paused player, a redraw for a new layer): keep the cached drawing
        self._labels, self._blocks, self._first_raw = labels, blocks, first_raw
        self.picture = None  # pyqtgraph's cached drawing of the axis
        self.update()

    def labels(self) -> list[str]:
        return list(self._labels)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        levels = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            # Raw-step labels keep half a tick spacing clear of the last summary block's label ("S4" "320").
            first = self._first_raw + (spacing / 2 if self._blocks else 0)
            levels.append((max(spacing, 1.0), [v for v in values if float(v).is_integer() and v >= first]))
        blocks = [v for v in self._blocks if minVal <= v <= maxVal]
        if levels:
            levels[0] = (levels[0][0], blocks + levels[0][1])
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        n = len(self._labels)
        return [self._blocks.get(v) or (self._labels[int(v)] if 0 <= v < n else "") for v in values]


class AttentionPanel(QWidget):
    """Heatmap of one step's attention weights (an `agents.base.StepTrace`) for one env of the batch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._view: AttentionView | None = None
        self._trace: StepTrace | None = None
        self._episode_starts = np.zeros(0, dtype=np.int64)
        self._rows: np.ndarray = np.zeros((0, 0), dtype=np.float32)  # what the image shows
        self._row_ticks: list[list[tuple[float, str]]] = []  # the left axis's ticks as last set
        self._row_labels: list[str] = []
        # The selection, kept apart from the combo boxes: it can be made before the first trace fills them.
        self._layer = ALL_LAYERS
        self._head = MEAN_HEADS

        self._layer_box = QComboBox()
        # Bound methods, not lambdas: a lambda holding `self` makes a cycle that Python's garbage collector
        # tears down in an order that crashes pyqtgraph's scene.
        self._layer_box.activated.connect(self._on_layer_chosen)
        self._head_box = QComboBox()
        self._head_box.activated.connect(self._on_head_chosen)
        for box in (self._layer_box, self._head_box):  # "mean over heads" stays readable in a narrow dock
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._info = QLabel()
        self._info.setWordWrap(True)  # a long readout must not set the dock's minimum width
        self._hover = QLabel()
        self._hover.setWordWrap(True)

        self._axis = _KeyAxis()
        self._graphics = pg.GraphicsLayoutWidget()
        self._plot = self._graphics.addPlot(axisItems={"bottom": self._axis})
        self._plot.invertY(True)
        self._plot.setMenuEnabled(False)
        self._plot.getViewBox().setDefaultPadding(0.0)
        self._plot.setLabel("bottom", "key: trial step, or S<k> = summary of segment k")
        # Grey shows through where the image is transparent: keys outside the context (NaN weights).
        self._backdrop = QGraphicsRectItem()
        self._backdrop.setBrush(pg.mkBrush(INVALID_KEY))
        self._backdrop.setPen(pg.mkPen(None))
        self._plot.addItem(self._backdrop)
        self._image = pg.ImageItem(axisOrder="row-major")
        self._plot.addItem(self._image)
        self._strip = pg.ImageItem(axisOrder="row-major")
        self._plot.addItem(self._strip)
        self._color_bar = pg.ColorBarItem(
            values=(0.0, 1.0),
            colorMap=pg.colormap.get("inferno"),
            interactive=False,
            label="weight",
            width=14,
        )
        self._color_bar.setImageItem(self._image, insert_in=self._plot)
        self._color_bar.axis.setWidth(60)  # room for labels such as 0.0005 (FCT spreads over 1000s of keys)
        self._separator = pg.InfiniteLine(angle=90, pen=pg.mkPen("w", width=2))
        self._plot.addItem(self._separator)
        self._episode_lines: list[pg.InfiniteLine] = []
        self._graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self._layer_box)
        controls.addWidget(QLabel("Heads"))
        controls.addWidget(self._head_box)
        controls.addWidget(self._info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self._graphics, 1)
        layout.addWidget(self._hover)
        self._render()

    # ------------------------------------------------------------------------------------------ public

    def set_trace(self, trace: StepTrace | None, env: int = 0) -> None:
        """Show env `env`'s attention in `trace` (None, or a trace without attention, clears the panel)."""
        view = attention_view(trace, env)
        self._trace = trace
        self._view = view
        self._render()

    def set_episode_starts(self, times: Sequence[int]) -> None:
        """Trial steps at which episodes started: drawn as lines left of those keys when in context."""
        self._episode_starts = np.asarray(times, dtype=np.int64)
        self._render()

    def set_layer(self, layer: int) -> None:
        """A layer index, or ALL_LAYERS (one row per layer)."""
        self._layer = layer
        self._render()

    def set_head(self, head: int) -> None:
        """A head index, MEAN_HEADS, or ALL_HEADS (one row per head of the selected layer)."""
        self._head = head
        self._render()

    def image(self) -> np.ndarray:
        """The (rows, keys) weights drawn, NaN at keys outside the context (for tests and export)."""
        return self._rows.copy()

    def row_labels(self) -> list[str]:
        return list(self._row_labels)

    def key_labels(self) -> list[str]:
        return self._axis.labels()

    def color_bar(self) -> pg.ColorBarItem:
        return self._color_bar

    # --------------------------------------------------------------------------------------- internals

    def _on_layer_chosen(self) -> None:
        self.set_layer(self._layer_box.currentData())

    def _on_head_chosen(self) -> None:
        self.set_head(self._head_box.currentData())

    def _sync_selectors(self, n_layers: int, n_heads: int) -> None:
        """Fill the selectors for this model's shape; a selection it does not have falls back to the
        overview (every layer, heads averaged)."""
        if self._layer_box.count() != n_layers + 1 or self._head_box.count() != n_heads + 2:
            self._layer_box.clear()
            self._layer_box.addItem("all layers", ALL_LAYERS)
            for i in range(n_layers):
                self._layer_box.addItem(f"layer {i}", i)
            self._head_box.clear()
            self._head_box.addItem("all heads", ALL_HEADS)
            self._head_box.addItem("mean over heads", MEAN_HEADS)
            for h in range(n_heads):
                self._head_box.addItem(f"head {h}", h)
        if not ALL_LAYERS <= self._layer < n_layers:
            self._layer = ALL_LAYERS
        # One row per layer and one per head cannot both be shown: "all heads" is unavailable then.
        if not ALL_HEADS <= self._head < n_heads or (self._layer == ALL_LAYERS and self._head == ALL_HEADS):
            self._head = MEAN_HEADS
        head_model = cast(QStandardItemModel, self._head_box.model())  # a QComboBox's default model
        head_model.item(0).setEnabled(self._layer != ALL_LAYERS)
        self._layer_box.setCurrentIndex(self._layer_box.findData(self._layer))
        self._head_box.setCurrentIndex(self._head_box.findData(self._head))

    def _select_rows(self, view: AttentionView) -> tuple[np.ndarray, list[str]]:
        self._sync_selectors(view.n_layers, view.n_heads)
        layer, head = self._layer, self._head
        all_layers = layer == ALL_LAYERS
        if all_layers:
            rows = view.weights.mean(axis=1) if head == MEAN_HEADS else view.weights[:, head]
            return rows, [f"L{i}" for i in range(view.n_layers)]
        weights = view.weights[layer]
        if head == ALL_HEADS:
            return weights, [f"h{h}" for h in range(view.n_heads)]
        if head == MEAN_HEADS:
            return weights.mean(axis=0, keepdims=True), ["mean"]
        return weights[head : head + 1], [f"h{head}"]

    def _render(self) -> None:
        view = self._view
        if view is None or view.n_keys == 0:
            self._rows = np.zeros((0, 0), dtype=np.float32)
            self._row_labels = []
            self._image.clear()
            self._strip.clear()
            self._backdrop.setRect(QRectF())
            self._separator.hide()
            self._axis.set_keys([], {}, 0)
            for line in self._episode_lines:
                line.hide()
            self._info.setText("no attention for this step (no trace, or an agent without attention)")
            return
        rows, labels = self._select_rows(view)
        rows = rows.astype(np.float32, copy=True)
        rows[:, ~view.valid] = np.nan
        self._rows, self._row_labels = rows, labels
        n_rows, n_keys = rows.shape
        top = float(np.nanmax(rows)) if view.valid.any() else 1.0
        self._image.setImage(rows, autoLevels=False)
        levels = (0.0, nice_ceiling(top) if top > 0 else 1.0)
        if levels != tuple(self._color_bar.levels()):  # setLevels re-lays out the bar's axis even when equal
            self._color_bar.setLevels(levels)
        self._image.setRect(QRectF(-0.5, -0.5, n_keys, n_rows))
        self._backdrop.setRect(QRectF(-0.5, -0.5, n_keys, n_rows))
        # The key-kind strip sits above row 0 (y points down), about a tenth of the rows' height.
        strip = min(max(0.1 * n_rows, 0.25), 0.7)
        self._strip.setImage(_kind_colors(view)[np.newaxis], autoLevels=False, levels=(0, 255))
        self._strip.setRect(QRectF(-0.5, -0.5 - 1.25 * strip, n_keys, strip))
        row_ticks = [[(-0.5 - 0.75 * strip, "keys"), *((i, s) for i, s in enumerate(labels))]]
        if row_ticks != self._row_ticks:  # setTicks re-lays out the axis even when nothing changed
            self._row_ticks = row_ticks
            self._plot.getAxis("left").setTicks(row_ticks)
        summary_columns = np.flatnonzero(view.summary)
        first_raw = int(summary_columns.max()) + 1 if summary_columns.size else 0
        self._axis.set_keys(view.labels(), _block_ticks(view), first_raw)
        n_summary = summary_columns.size
        self._separator.setVisible(0 < first_raw < n_keys)
        self._separator.setValue(first_raw - 0.5)
        self._draw_episode_lines(view)
        self._info.setText(self._describe(view, n_summary))

    def _draw_episode_lines(self, view: AttentionView) -> None:
        columns = np.flatnonzero(view.raw & np.isin(view.time, self._episode_starts))
        while len(self._episode_lines) < len(columns):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen(EPISODE_LINE, width=1, style=Qt.PenStyle.DashLine))
            self._plot.addItem(line)
            self._episode_lines.append(line)
        for i, line in enumerate(self._episode_lines):
            line.setVisible(i < len(columns))
            if i < len(columns):
                line.setValue(columns[i] - 0.5)

    def _describe(self, view: AttentionView, n_summary: int) -> str:
        parts = [f"t = {view.step}", f"{int(view.valid.sum())} keys"]
        if n_summary:
            blocks = len(np.unique(view.segment[view.summary]))
            parts[-1] += f" ({n_summary} summary in {blocks} block{'s' if blocks > 1 else ''})"
        trace = self._trace
        if trace is not None:
            parts.append(f"cache {trace.cache_tokens} tokens, {format_bytes(trace.cache_bytes)}")
        return " · ".join(parts)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        """Read out the weight under the cursor: exact values matter when comparing heads."""
        if self._view is None or not self._rows.size:
            self._hover.clear()
            return
        point = self._plot.getViewBox().mapSceneToView(scene_pos)
        row, col = round(point.y()), round(point.x())
        if not (0 <= row < self._rows.shape[0] and 0 <= col < self._rows.shape[1]):
            self._hover.clear()
            return
        view = self._view
        if not view.valid[col]:
            self._hover.setText("outside this env's context (an unfilled window slot)")
        elif view.kind[col] == KEY_SUMMARY:
            self._hover.setText(
                f"{self._row_labels[row]} → summary of segment {view.segment[col]}: "
                f"weight {self._rows[row, col]:.4f}"
            )
        else:
            self._hover.setText(
                f"{self._row_labels[row]} → step t = {view.time[col]}: weight {self._rows[row, col]:.4f}"
            )


def _kind_colors(view: AttentionView) -> np.ndarray:
    """(K, 4) uint8 RGBA per key: raw step, summary (alternating shade per segment) or outside the context."""
    palette = np.array(
        [pg.mkColor(c).getRgb() for c in (INVALID_KEY, STEP_KEY, *SUMMARY_KEYS)], dtype=np.uint8
    )
    index = np.where(view.summary, 2 + (view.segment % 2), np.where(view.valid, 1, 0))
    return palette[index]


def _block_ticks(view: AttentionView, most: int = 12) -> dict[float, str]:
    """Column centre -> "S<k>" for the summary blocks (every n-th block when there are more than `most`)."""
    segments = view.segment[view.summary]
    columns = np.flatnonzero(view.summary)
    unique = np.unique(segments)
    every = -(-len(unique) // most)
    return {float(columns[segments == s].mean()): f"S{s}" for i, s in enumerate(unique) if i % every == 0}
