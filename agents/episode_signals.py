"""The current trial's signals, step by step, for the Episode signals panel: what it plots, kept Qt-free.

`TrialSignals` takes one lane's `PlayerStep`s (the watched agent's; in compare mode the other agent is a second
lane) and keeps, against the trial step: the reward and its `reward_*` terms, the scene's declared
`EpisodeSignal`s (values as series, events as the steps they happened on), every numeric task parameter, and the
markers: episode starts and task edits (a step whose task differs from the step before it in the trial). A new
trial starts over.

Memory is bounded: a series holds at most `max_points` steps. A longer trial (Meta-World's 5,000 steps, a
navigation trial lengthened to 32,768) keeps every 2nd step once the buffer fills, then every 4th, and so on,
so a plot shows the whole trial at a resolution its width cannot exceed anyway. Events and markers are kept
step-exact, the first `max_points` of each in a trial.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.player import PlayerStep
from scenes.base import EpisodeSignal

MAX_POINTS = 4096  # per series: more points than a plot is pixels wide
REWARD = "reward"
REWARD_TERM_PREFIX = "reward_"


class TrialSignals:
    """One lane's current trial; see the module docstring. `signals`: the scene's declarations."""

    def __init__(self, signals: Sequence[EpisodeSignal] = (), max_points: int = MAX_POINTS) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, got {max_points}")
        self.signals = tuple(signals)
        self.max_points = max_points
        self._values = tuple(s.info_key for s in self.signals if s.kind == "value")
        self._event_keys = tuple(s.info_key for s in self.signals if s.kind == "event")
        self._steps = np.empty(max_points, dtype=np.int64)
        self._series: dict[str, np.ndarray] = {}
        self._task: dict[str, np.ndarray] = {}
        self.version = 0  # changes with every observed step and every new trial: a panel redraws when it did
        self.begin_trial()

    # ------------------------------------------------------------------------------------------ recording

    def begin_trial(self) -> None:
        """Forget the trial so far (a new trial, a reset, another player)."""
        self._size = 0
        self._stride = 1  # every `stride`-th trial step is kept in the series
        self._series.clear()
        self._task.clear()
        self.events: dict[str, list[int]] = {key: [] for key in self._event_keys}
        self.episode_starts: list[int] = []
        self.edits: list[int] = []
        self.last: PlayerStep | None = None
        self.version += 1

    def observe(self, step: PlayerStep) -> None:
        """Record one step. A step at the trial start, or before the last one recorded, begins a new trial."""
        last = self.last
        t = step.step_in_trial
        if t == 0 or (last is not None and t <= last.step_in_trial):
            self.begin_trial()
            last = None
        if last is None or last.episode_end:
            self._mark(self.episode_starts, t)
        if last is not None and step.task != last.task:
            self._mark(self.edits, t)
        for key, happened in self.events.items():
            if step.info.get(key):
                self._mark(happened, t)
        if t % self._stride == 0:
            self._append(t, step)
        self.last = step
        self.version += 1

    def _mark(self, marks: list[int], step: int) -> None:
        if len(marks) < self.max_points:
            marks.append(step)

    def _append(self, t: int, step: PlayerStep) -> None:
        if self._size == self.max_points:
            self._thin()
            if t % self._stride:
                return
        row = self._size
        self._steps[row] = t
        values = {REWARD: float(step.reward)}
        values.update((k, float(v)) for k, v in step.info.items() if k.startswith(REWARD_TERM_PREFIX))
        values.update((k, float(step.info.get(k, np.nan))) for k in self._values)
        _write(self._series, row, values, self.max_points)
        _write(self._task, row, {k: float(v) for k, v in step.task.items() if _is_number(v)}, self.max_points)
        self._size += 1

    def _thin(self) -> None:
        """The buffer is full: keep the steps on the doubled stride (half of them), in place."""
        self._stride *= 2
        keep = np.flatnonzero(self._steps[: self._size] % self._stride == 0)
        for array in (self._steps, *self._series.values(), *self._task.values()):
            array[: keep.size] = array[keep]
        self._size = keep.size

    # ------------------------------------------------------------------------------------------ reading
    # Copies: a plot keeps the arrays it is handed, and the buffers are rewritten by later steps.

    @property
    def steps(self) -> np.ndarray:
        """The trial steps the series hold a value for."""
        return self._steps[: self._size].copy()

    def series_names(self) -> list[str]:
        """ "reward", the reward terms and the declared value signals seen this trial, in first-seen order."""
        return list(self._series)

    def series(self, name: str) -> np.ndarray:
        """A reward, reward term or value signal per step of `steps` (NaN where a step did not report it)."""
        return self._series[name][: self._size].copy()

    def task_names(self) -> list[str]:
        """The numeric task parameters seen this trial."""
        return list(self._task)

    def task_series(self, name: str) -> np.ndarray:
        """Task parameter `name` per step of `steps`: the task each step ran on."""
        return self._task[name][: self._size].copy()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _write(columns: dict[str, np.ndarray], row: int, values: dict[str, float], capacity: int) -> None:
    """Row `row` of every column: the value named, NaN for a column this step lacks; a name seen for the first
    time gets a column, NaN before this row."""
    for name, value in values.items():
        if name not in columns:
            columns[name] = np.full(capacity, np.nan)
        columns[name][row] = value
    for name, column in columns.items():
        if name not in values:
            column[row] = np.nan
