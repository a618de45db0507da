"""What the watched agent's memory knows, trial by trial, as the player acts: Qt-free (the app's Memory dock
draws it).

* `TrialRecorder` (the player thread): the memory vector at each step of a trial — the read-out
  `StepTrace.memory` (TrMRL: the working-memory token at the policy's read-out; FCT / RL²: the read-out state)
  and, for agents that write summaries (Memo / RMT), the newest summary written so far — handed over as one
  `MemoryTrial` when the trial ends. A trial the recorder did not see whole (traces off for a while, a reset,
  a task edited mid-trial) is dropped: its memory holds no one task.
* `RecentTrials` (the GUI thread): the newest `capacity` trials and what the probes of agents/memory_probe.py
  make of them — the held-out R² of a ridge regression from the memory to each numeric task parameter at a
  few evenly spaced trial steps (`probe`), and the vectors at those steps on their first two principal
  components (`embedding`).

With one env the player finishes a trial every few hundred steps, so the probe is fit on 8 to 64 trials:
its R² is noisy (a few held-out trials per fold), a trend over steps, not a measurement.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from agents.memory_probe import FloatArray, pca_embedding, ridge_probe_r2
from agents.player import PlayerStep

Vector = Literal["readout", "summary"]
MIN_TRIALS = 8  # fewer held-out trials per fold than this leave the R² mostly noise
PROBED_STEPS = 24  # trial steps probed: a 500-step trial is probed in milliseconds, not seconds


@dataclass(frozen=True)
class MemoryTrial:
    """One whole trial's memory vectors, and the task it ran on."""

    task: dict[str, Any]
    readout: np.ndarray  # (steps, d) float32: the read-out at each step
    summary: np.ndarray | None  # (steps, summary tokens × d): newest summary so far, zeros before the first


class TrialRecorder:
    """Collects the memory vectors of the trial in progress from the player's steps (traces on)."""

    def __init__(self) -> None:
        self._task: dict[str, Any] | None = None
        self._readout: list[np.ndarray] = []
        self._summaries: list[np.ndarray | None] = []  # None before the trial's first summary write
        self._whole = False  # every step of the trial so far was observed, with its memory, on one task

    def _start(self, task: dict[str, Any] | None) -> None:
        self._task, self._readout, self._summaries, self._whole = task, [], [], task is not None

    def observe(self, step: PlayerStep) -> MemoryTrial | None:
        """Record `step`; at the trial's last step, the whole trial (None if any step was missed)."""
        if step.step_in_trial == 0:
            self._start(dict(step.task))
        trace = step.trace
        memory = None if trace is None else trace.memory
        # A gap (steps not observed, traces off) or another task (edited mid-trial) spoils the trial.
        if memory is None or step.step_in_trial != len(self._readout) or step.task != self._task:
            self._whole = False
        if self._whole and trace is not None and memory is not None:
            # A copy: on the CPU the trace's tensors can be views of the agent's caches.
            self._readout.append(np.array(memory[0].float().numpy(), dtype=np.float32))
            newest = self._summaries[-1] if self._summaries else None
            if trace.events:
                newest = np.array(trace.events[-1].summary[0].float().flatten().numpy(), dtype=np.float32)
            self._summaries.append(newest)
        if not step.trial_end:
            return None
        finished = self._finished() if self._whole else None
        self._start(None)
        return finished

    def _finished(self) -> MemoryTrial:
        assert self._task is not None
        written = [s for s in self._summaries if s is not None]
        summary = None
        if written:
            blank = np.zeros_like(written[0])
            summary = np.stack([blank if s is None else s for s in self._summaries])
        return MemoryTrial(self._task, np.stack(self._readout), summary)


def numeric_params(tasks: list[Mapping[str, Any]]) -> list[str]:
    """The task parameters that are numbers in every task and take more than one value among them."""
    if not tasks:
        return []
    names = [
        name
        for name, value in tasks[0].items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    return [
        name
        for name in names
        if all(isinstance(task.get(name), int | float) for task in tasks)
        and len({float(task[name]) for task in tasks}) > 1
    ]


@dataclass(frozen=True)
class ProbeCurves:
    """Held-out R² per task parameter at a few trial steps."""

    steps: np.ndarray  # (probed,) trial steps
    r2: dict[str, FloatArray]  # parameter -> (probed,) R²
    trials: int  # the trials the probe was fit and scored on


@dataclass(frozen=True)
class EmbeddedVectors:
    """The memory vectors at the probed steps of each stored trial, on their first two components."""

    points: FloatArray  # (trials × probed, 2)
    explained: FloatArray  # (2,) share of variance per component
    colour: FloatArray  # (trials × probed,) the value the points are coloured by


class RecentTrials:
    """The newest `capacity` whole trials of one agent on one scene, and the probes of their memory."""

    def __init__(self, capacity: int = 64, probed_steps: int = PROBED_STEPS) -> None:
        self._trials: deque[MemoryTrial] = deque(maxlen=capacity)
        self._probed_steps = probed_steps

    def __len__(self) -> int:
        return len(self._trials)

    def clear(self) -> None:
        self._trials.clear()

    def add(self, trial: MemoryTrial) -> None:
        """Keep `trial`; one whose vectors differ in shape from the stored ones (another agent or trial
        length) starts the store over, as their memories cannot be compared."""
        if self._trials:
            last = self._trials[-1]
            same_summary = (last.summary is None) == (trial.summary is None) and (
                last.summary is None or last.summary.shape == trial.summary.shape  # type: ignore[union-attr]
            )
            if last.readout.shape != trial.readout.shape or not same_summary:
                self._trials.clear()
        self._trials.append(trial)

    def has_summaries(self) -> bool:
        return bool(self._trials) and self._trials[-1].summary is not None

    def params(self) -> list[str]:
        """The numeric task parameters that vary over the stored trials (the ones a probe can score)."""
        return numeric_params([trial.task for trial in self._trials])

    def probed_steps(self) -> np.ndarray:
        """Evenly spaced trial steps, first and last included."""
        steps = self._trials[-1].readout.shape[0] if self._trials else 0
        return np.unique(np.linspace(0, steps - 1, min(steps, self._probed_steps)).round().astype(np.int64))

    def _memory(self, vector: Vector) -> FloatArray:
        """(trials, probed steps, features)."""
        steps = self.probed_steps()
        if vector == "summary" and not self.has_summaries():
            raise ValueError("these trials hold no summaries (the agent writes none)")
        arrays = [trial.readout if vector == "readout" else trial.summary for trial in self._trials]
        return np.stack([np.asarray(array, dtype=np.float64)[steps] for array in arrays])

    def probe(self, vector: Vector = "readout") -> ProbeCurves | None:
        """Held-out R² of a ridge regression per probed step, for each varying numeric parameter; None with
        fewer than MIN_TRIALS trials or no varying parameter."""
        names = self.params()
        if len(self._trials) < MIN_TRIALS or not names:
            return None
        targets = np.array([[trial.task[name] for name in names] for trial in self._trials], dtype=np.float64)
        r2 = ridge_probe_r2(self._memory(vector), targets)  # (probed, parameters): one fit per step for all
        return ProbeCurves(self.probed_steps(), {name: r2[:, i] for i, name in enumerate(names)}, len(self))

    def embedding(self, vector: Vector = "readout", colour_by: str = "trial") -> EmbeddedVectors | None:
        """The stored vectors at the probed steps on their first two principal components, coloured by a task
        parameter, "trial" (oldest 0 to newest) or "trial step"; None before two trials."""
        if len(self._trials) < 2:
            return None
        memory = self._memory(vector)
        trials, probed, features = memory.shape
        if colour_by == "trial":
            per_trial = np.arange(trials, dtype=np.float64)
        elif colour_by == "trial step":
            per_trial = None
        else:
            per_trial = np.array([float(trial.task[colour_by]) for trial in self._trials])
        colour = (
            np.tile(self.probed_steps().astype(np.float64), trials)
            if per_trial is None
            else np.repeat(per_trial, probed)
        )
        embedded = pca_embedding(memory.reshape(trials * probed, features))
        return EmbeddedVectors(embedded.points, embedded.explained, colour)
