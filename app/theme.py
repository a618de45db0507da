"""Colours and scales shared by the panels, so a summary token looks the same on the heatmap and on the timeline."""

from __future__ import annotations

import math

# Tableau 10: distinct hues for runs overlaid on one plot.
RUN_COLORS: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)

STEP_KEY = "#5b8fc9"  # raw per-step tokens
SUMMARY_KEYS = ("#f28e2b", "#c45f0a")  # summary tokens, alternating by segment so blocks stay apart
INVALID_KEY = "#3a3a3a"  # keys outside this env's context (an unfilled TrMRL window)
EPISODE_LINE = "#e8e8e8"  # episode boundaries
SEGMENT_LINE = "#f2b872"  # Memo / RMT segment boundaries
NOW_LINE = "#edc948"  # the step on screen
EDIT_LINE = "#ffc400"  # task edits: agents.player.EDIT_COLOUR, the border a recording marks an edit with
ERROR = "#d33c3c"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (> 0): the top of an axis or colour scale.
    A scale that follows the data's maximum at every refresh re-lays out its axis each time, and axis paints were
    a third of the panels' paint time; in these steps it changes only when the data crosses one
    (docs/benchmarks.md)."""
    scale = 10.0 ** math.floor(math.log10(value))
    return next(step * scale for step in (1.0, 2.0, 5.0, 10.0) if step * scale >= value * (1 - 1e-12))
