"""What the window's worker threads hand to the GUI thread, and how: newest wins, nothing queues up.

The GUI thread only paints the newest frame and trace it was handed. `NewestSlot` keeps one item (a new one
replaces the old); the player's `PlayerOutbox` keeps the newest frame and step and the memory records of the
steps up to it (and the newest few whole trials' memory vectors, for the Memory dock), and asks for a wake-up
only when it was empty, so at most one is ever pending however fast
the player runs. Traces are copied on the way: some of their tensors are views of the agent's caches. Both
worker threads also share with the window how their threads are named and how an error becomes one banner line.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from agents.base import StepTrace
from agents.memory_watch import MemoryTrial
from agents.player import PlayerStep

T = TypeVar("T")
TRIALS_KEPT = 8  # finished trials' memory waiting for the GUI; older ones go when it falls this far behind

THREAD_PREFIX = "engram-"  # the worker threads' names start with it (tests check none outlives its window)


def error_text(where: str, error: BaseException) -> str:
    """One line for the window's banner: where, the exception type and its first line."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{where}: {type(error).__name__}{': ' + first if first else ''}"


class NewestSlot(Generic[T]):
    """Holds one item; a new one replaces the old (newest wins). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self._full = False

    def put(self, item: T) -> bool:
        """Store `item`; True when the slot was empty (the consumer may need a wake-up)."""
        with self._lock:
            was_empty = not self._full
            self._item, self._full = item, True
            return was_empty

    def take(self) -> T | None:
        with self._lock:
            item, self._item, self._full = self._item, None, False
            return item


def cloned_trace(trace: StepTrace | None) -> StepTrace | None:
    """The trace with its tensors copied: some are views of the agent's caches, which the next step rewrites."""
    if trace is None:
        return None
    attention = trace.attention
    if attention is not None:
        attention = dataclasses.replace(
            attention,
            weights=[w.detach().clone() for w in attention.weights],
            key_kind=attention.key_kind.clone(),
            key_time=attention.key_time.clone(),
            key_segment=attention.key_segment.clone(),
            valid=attention.valid.clone(),
        )
    return dataclasses.replace(
        trace,
        attention=attention,
        memory=None if trace.memory is None else trace.memory.detach().clone(),
        working_memory=None if trace.working_memory is None else trace.working_memory.detach().clone(),
        window_time=None if trace.window_time is None else trace.window_time.clone(),
        events=list(trace.events),
    )


def published_step(step: PlayerStep) -> PlayerStep:
    """`step` as the GUI may keep it: its traces (and its partner's) cloned, its task copied."""
    partner = step.partner
    if partner is not None:
        partner = dataclasses.replace(partner, trace=cloned_trace(partner.trace), task=dict(partner.task))
    return dataclasses.replace(step, trace=cloned_trace(step.trace), task=dict(step.task), partner=partner)


def lite_trace(trace: StepTrace | None) -> StepTrace | None:
    """What the memory timeline needs of a step it does not draw attention for: cache sizes and writes."""
    if trace is None:
        return None
    return StepTrace(
        cache_tokens=trace.cache_tokens, cache_bytes=trace.cache_bytes, events=list(trace.events)
    )


@dataclass(frozen=True)
class StepRecord:
    """One player step as the memory timeline records it."""

    step: int  # trial step
    trace: StepTrace | None  # full (cloned) for a published step, else sizes and writes only
    episode_start: bool
    new_trial: bool
    # The step's reward, info and task, its traces left out (the episode signals plot every step, shown or not).
    played: PlayerStep | None = None
    partner_trace: StepTrace | None = None  # compare mode: the other agent's sizes and writes, as `trace`


@dataclass
class PlayerView:
    """What the GUI takes from the outbox: the newest frame and step, and the steps up to it."""

    frame: np.ndarray | None
    step: PlayerStep | None
    records: list[StepRecord]
    cleared: bool  # the trial was reset: start the timeline over before these records
    frames: int  # frames published so far
    steps: int  # player steps taken when this view was published
    trials: list[MemoryTrial] = field(default_factory=list)  # whole trials' memory since the last take
    partner_frame: np.ndarray | None = None  # compare mode: the other agent's frame of the same step


class PlayerOutbox:
    """Player thread -> GUI: records accumulate (bounded by one trial), the frame and step are newest-wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[StepRecord] = []  # steps not yet shown
        self._ready: list[StepRecord] = []  # steps up to the published one
        self._frame: np.ndarray | None = None
        self._partner_frame: np.ndarray | None = None
        self._step: PlayerStep | None = None
        self._cleared = False
        self._full = False
        self._frames = 0
        self._steps = 0
        # Whole trials are kept apart from the step records, which a new trial clears: the Memory dock needs
        # every step of a trial even when the GUI took none of its last steps.
        self._trials: deque[MemoryTrial] = deque(maxlen=TRIALS_KEPT)

    def add(self, record: StepRecord) -> None:
        with self._lock:
            if record.new_trial:
                self._pending.clear()
            self._pending.append(record)

    def add_trial(self, trial: MemoryTrial) -> None:
        """A finished trial's memory, handed over with the next view taken."""
        with self._lock:
            self._trials.append(trial)

    def clear_trial(self) -> None:
        """A reset or a new player: what was recorded of the player before goes."""
        with self._lock:
            self._pending.clear()
            self._trials.clear()
            self._ready.clear()
            self._step = None
            self._cleared = True

    def publish(
        self,
        frame: np.ndarray | None,
        step: PlayerStep | None,
        steps: int,
        partner_frame: np.ndarray | None = None,
    ) -> bool:
        """Show `frame` and `step` (whose traces replace the last pending record's); True: wake the GUI."""
        with self._lock:
            if self._pending and step is not None:
                last = self._pending[-1]
                partner_trace = last.partner_trace if step.partner is None else step.partner.trace
                self._pending[-1] = dataclasses.replace(last, trace=step.trace, partner_trace=partner_trace)
            if any(r.new_trial for r in self._pending):
                self._ready.clear()
            self._ready.extend(self._pending)
            self._pending.clear()
            if frame is not None:
                self._frame = frame
                self._partner_frame = partner_frame
                self._frames += 1
            if step is not None:
                self._step = step
            self._steps = steps
            was_empty = not self._full
            self._full = True
            return was_empty

    def take(self) -> PlayerView | None:
        with self._lock:
            if not self._full:
                return None
            view = PlayerView(
                self._frame,
                self._step,
                self._ready,
                self._cleared,
                self._frames,
                self._steps,
                list(self._trials),
                self._partner_frame,
            )
            self._trials.clear()
            self._ready, self._frame, self._step, self._cleared, self._full = [], None, None, False, False
            self._partner_frame = None
            return view
