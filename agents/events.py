"""The events of a training run as typed records: what the trainer's child process sends, the app receives.

One vocabulary from end to end: the child (agents/trainer_process.py) turns the Trainer's psygnal events into
these records and pickles them across the pipe; the window's trainer worker (app/trainer_worker.py) matches on
their type and emits its Qt signals. Qt-free and picklable (frozen dataclasses of plain values, tensors and
configs), so both sides import this module.

A run's events, in order: `Status("building")` once the child runs, `Started` when the Trainer is built,
then `Metrics` after each iteration with `Status` and `Message` as they happen, `Failed` if building or
training raised, and `Finished` last, exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.config import TrainConfig


@dataclass(frozen=True)
class TrainingInfo:
    """The run a built Trainer trains."""

    config: TrainConfig
    run_dir: Path | None
    iteration: int
    env_steps: int
    total_steps: int


@dataclass(frozen=True)
class Started:
    """The Trainer is built; commands sent meanwhile act from now on."""

    info: TrainingInfo
    payload: dict[str, Any]  # the checkpoint payload it starts from (weights, optimiser, counters...)


@dataclass(frozen=True)
class Metrics:
    """An iteration finished."""

    metrics: dict[str, float]
    payload: dict[str, Any]  # the checkpoint payload after it: the newest weights, without asking


@dataclass(frozen=True)
class Status:
    """The Trainer's state changed: "building", "running", "paused", "done", "stopped", "failed"..."""

    status: str


@dataclass(frozen=True)
class Message:
    """Something notable for the user (a skipped update, a checkpoint saved, a task edit taking effect)."""

    text: str


@dataclass(frozen=True)
class Failed:
    """Building, training or closing the Trainer raised, or the process died; the traceback went to stderr."""

    error: str  # "Type: message", or what happened to the process


@dataclass(frozen=True)
class Finished:
    """The last event of a run."""

    reason: str  # "done", "stopped", "iterations" or "failed"


TrainerEvent = Started | Metrics | Status | Message | Failed | Finished
