"""What the watched agent's memory knows (the Memory dock), from the player's own recent trials.

Left: the held-out R² of a ridge probe from the memory to each numeric task parameter against the trial step
(agents/memory_watch.py): where a curve rises the agent has found the task out, where it falls (Memo's
summaries past the training trial) the memory has lost it. Right: the memory vectors at the probed steps of
each stored trial on their first two principal components, coloured by a task parameter, by trial or by trial
step — the figure TrMRL's code exports offline, growing a trial at a time.

`add_trial` only stores; `refresh` (the window's panel tick, after a trial ended) refits and redraws.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from agents.memory_watch import MIN_TRIALS, MemoryTrial, RecentTrials, Vector
from app.theme import RUN_COLORS

COLOUR_BY_TRIAL, COLOUR_BY_STEP = "trial", "trial step"
NOISE_NOTE = (
    "The probe is fit on the player's own recent trials (one env: 8 to 64 of them), scored on held-out trials "
    "in 5 folds; with so few trials R² is noisy, a trend over the trial, not a measurement. R² below −0.2 "
    "(a probe worse than guessing the mean) is drawn at −0.2."
)


class MemoryPanel(QWidget):
    """Probe R² against trial step, and the 2-D embedding of the memory, over the newest trials."""

    def __init__(self, capacity: int = 64, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._trials = RecentTrials(capacity)
        self._dirty = False

        self._vector_box = QComboBox()
        self._vector_box.addItem("read-out", "readout")
        self._vector_box.setToolTip(
            "the memory vector probed: the read-out at the policy's newest token (TrMRL's working memory, the "
            "recurrent state), or the newest summary written (Memo / RMT)"
        )
        self._colour_box = QComboBox()
        self._colour_box.addItem(COLOUR_BY_TRIAL)
        self._colour_box.addItem(COLOUR_BY_STEP)
        self._colour_box.setToolTip("what the embedding's points are coloured by (dark: low, bright: high)")
        for box in (self._vector_box, self._colour_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.currentIndexChanged.connect(self._mark_dirty)
        self._info = QLabel()
        self._info.setWordWrap(True)
        self._info.setToolTip(NOISE_NOTE)

        self._graphics = pg.GraphicsLayoutWidget()
        self._probe = self._graphics.addPlot(row=0, col=0)
        self._embedding = self._graphics.addPlot(row=0, col=1)
        # Equal halves of the dock for the probe and the scatter.
        for column in (0, 1):
            self._graphics.ci.layout.setColumnStretchFactor(column, 1)
        self._probe.setLabel("left", "held-out R²")
        self._probe.setLabel("bottom", "trial step")
        self._probe.setYRange(-0.2, 1.0, padding=0)
        self._probe.getViewBox().setLimits(yMin=-0.25, yMax=1.05)
        self._probe.addLegend(offset=(-8, 4), brush=pg.mkBrush(0, 0, 0, 170))
        self._probe.addLine(y=0, pen=pg.mkPen("#606060", style=Qt.PenStyle.DashLine))
        self._probe.setToolTip(NOISE_NOTE)
        self._embedding.setLabel("bottom", "PC 1")
        self._embedding.setLabel("left", "PC 2")
        for plot in (self._probe, self._embedding):
            plot.setMenuEnabled(False)
        # Read back by tests: the R² curve per task parameter, and the scatter.
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.scatter = pg.ScatterPlotItem(size=5, pen=None)
        self._embedding.addItem(self.scatter)
        self._colours = pg.colormap.get("viridis")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("vector"))
        controls.addWidget(self._vector_box)
        controls.addWidget(QLabel("colour by"))
        controls.addWidget(self._colour_box)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self._info)
        layout.addWidget(self._graphics, 1)
        self._show_waiting()

    def trials(self) -> int:
        return len(self._trials)

    def clear(self) -> None:
        """Another agent or scene: its memory is not comparable with the stored trials."""
        self._trials.clear()
        self._dirty = True

    def add_trial(self, trial: MemoryTrial) -> None:
        self._trials.add(trial)
        self._dirty = True

    def _mark_dirty(self) -> None:
        self._dirty = True
        self.refresh()

    def refresh(self) -> bool:
        """Refit and redraw, if a trial arrived or a choice changed since the last time; True if it did."""
        if not self._dirty:
            return False
        self._dirty = False
        self._sync_choices()
        vector: Vector = self._vector_box.currentData()
        curves = self._trials.probe(vector)
        shown = set(curves.r2) if curves is not None else set()
        for name in list(self.curves):
            if name not in shown:
                self._probe.removeItem(self.curves.pop(name))
        if curves is None:
            self._show_waiting()
        else:
            for i, (name, r2) in enumerate(curves.r2.items()):
                if name not in self.curves:
                    colour = RUN_COLORS[i % len(RUN_COLORS)]
                    self.curves[name] = self._probe.plot(
                        pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4, symbolBrush=colour, name=name
                    )
                self.curves[name].setData(
                    curves.steps, np.clip(r2, -0.2, 1.0)
                )  # a bad fold's −5 says no more
            self._info.setText(
                f"held-out R² of a ridge probe per task parameter, fit on the newest {curves.trials} trials "
                f"at {len(curves.steps)} trial steps (noisy: few trials)"
            )
        self._draw_embedding(vector)
        return True

    def _show_waiting(self) -> None:
        have = len(self._trials)
        varying = "" if have < MIN_TRIALS else " — no numeric task parameter varies across them"
        self._info.setText(
            f"{have} whole trials of the player recorded; the probe needs {MIN_TRIALS}{varying}"
        )

    def _draw_embedding(self, vector: Vector) -> None:
        embedded = self._trials.embedding(vector, self._colour_box.currentText())
        if embedded is None:
            self.scatter.setData([], [])
            self._embedding.setLabel("bottom", "PC 1")
            self._embedding.setLabel("left", "PC 2")
            return
        low, high = embedded.colour.min(), embedded.colour.max()
        shade = (embedded.colour - low) / (high - low) if high > low else np.full_like(embedded.colour, 0.5)
        brushes = [pg.mkBrush(colour) for colour in self._colours.map(shade, mode="qcolor")]
        self.scatter.setData(embedded.points[:, 0], embedded.points[:, 1], brush=brushes)
        first, second = embedded.explained * 100
        # Each component's share of the variance in its axis label: a title's width squeezed the probe plot beside it.
        self._embedding.setLabel("bottom", f"PC 1 ({first:.0f}%)")
        self._embedding.setLabel("left", f"PC 2 ({second:.0f}%)")

    def _sync_choices(self) -> None:
        """Offer the summary vector when the trials have one, and colour by each varying parameter (signals
        blocked: the refit these choices feed is under way)."""
        self._vector_box.blockSignals(True)
        self._colour_box.blockSignals(True)
        has_summary = self._trials.has_summaries()
        summary_at = self._vector_box.findData("summary")
        if has_summary and summary_at < 0:
            self._vector_box.addItem("newest summary", "summary")
        elif not has_summary and summary_at >= 0:
            self._vector_box.removeItem(summary_at)
        wanted = [COLOUR_BY_TRIAL, COLOUR_BY_STEP, *self._trials.params()]
        offered = [self._colour_box.itemText(i) for i in range(self._colour_box.count())]
        if offered != wanted:
            current = self._colour_box.currentText()
            self._colour_box.clear()
            self._colour_box.addItems(wanted)
            self._colour_box.setCurrentIndex(wanted.index(current) if current in wanted else 0)
        self._vector_box.blockSignals(False)
        self._colour_box.blockSignals(False)
