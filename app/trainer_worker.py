"""The trainer side of the window: a Trainer in a child process, and the thread that relays its events.

`TrainerWorker` runs the `agents.trainer.Trainer` in a child process (`agents.trainer_process`: one GIL
shared by trainer, player and event loop starved all three on 2 cores) and reads its event records
(agents/events.py) in a thread, emitting the Qt signal of each record's type. After every iteration the child
sends its checkpoint payload (weights, optimiser, counters: a consistent iteration boundary); the worker keeps
it as the snapshot the GUI saves and hands the weights to the player, newest wins. The GUI thread only sends
the Trainer's controls (`pause`, `resume`, `stop`, `set_task_overrides`). While a run trains, the trainer has
a core of its own and the window's threads the others (`agents.cpu_affinity.CoreSplit`).

Qt signals of this QObject are emitted from the reader thread; their receivers (the window's methods) live in
the GUI thread, so Qt queues the calls into it.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import torch
from PySide6.QtCore import QObject, Signal

from agents.cpu_affinity import ALL_CPUS, CoreSplit, pin_threads
from agents.events import Failed, Finished, Message, Metrics, Started, Status, TrainerEvent, TrainingInfo
from agents.trainer import Trainer
from agents.trainer_process import TrainerProcess
from app import qt_compat  # noqa: F401  (before any Qt call)
from app.handover import THREAD_PREFIX, error_text
from app.player_factories import architecture_key


class TrainerWorker(QObject):
    """Runs a Trainer in a child process (`agents.trainer_process`) and relays its events from a reader
    thread; the GUI thread pauses, resumes, stops and edits."""

    started = Signal(object)  # TrainingInfo, once the trainer is built
    metrics = Signal(object)  # dict, after each iteration
    status = Signal(str)  # the trainer's: "running", "paused", "stopped", "done", ...
    message = Signal(str)
    failed = Signal(str)
    finished = Signal(str)  # why the loop ended: "done", "stopped", "iterations" or "failed"

    def __init__(
        self,
        make_trainer: Callable[[], Trainer],
        on_weights: Callable[[int, dict[str, torch.Tensor], tuple[Any, ...]], None] | None = None,
        max_iterations: int | None = None,
    ) -> None:
        super().__init__()
        self.cores = CoreSplit.for_this_machine()
        self._process = TrainerProcess(
            make_trainer, max_iterations, cpus=self.cores.trainer if self.cores else None
        )
        self._on_weights = on_weights
        self._pause_requested = False
        self._snapshot: dict[str, Any] | None = None
        self._architecture: tuple[Any, ...] = ()
        self.info: TrainingInfo | None = None
        self.reason: str | None = None
        self._thread = threading.Thread(target=self._main, name=f"{THREAD_PREFIX}trainer", daemon=True)

    # ------------------------------------------------------------------------------ GUI-thread interface

    def start(self) -> None:
        self._process.start()
        self._pin_window(True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def pid(self) -> int | None:
        """The training process's, once started."""
        return self._process.pid

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def pause(self) -> None:
        self._pause_requested = True
        self._process.pause()
        self._pin_window(False)  # a paused trainer leaves its core idle: the window may use it

    def resume(self) -> None:
        self._pause_requested = False
        self._pin_window(True)
        self._process.resume()

    def _pin_window(self, training: bool) -> None:
        if self.cores is not None:
            pin_threads(self.cores.window if training else ALL_CPUS)

    def stop(self) -> None:
        """Ends at the next env step (or after the update in progress); the Trainer saves `latest` then."""
        self._process.stop()

    @property
    def paused(self) -> bool:
        return self._pause_requested

    def set_task_overrides(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """Fix training task parameters from the next iteration; ValueError (nothing changes) if invalid.
        Returns the overrides in force, or None while the trainer is still being built (applied once it is;
        a refusal then arrives as `failed`)."""
        return self._process.set_task_overrides(params, wait=self.info is not None)

    def snapshot(self) -> dict[str, Any] | None:
        """The checkpoint payload as of the newest finished iteration (a consistent copy), or None."""
        return self._snapshot

    # ------------------------------------------------------------------------------------- reader thread

    def _main(self) -> None:
        self._relay(self._process.events())

    def _relay(self, events: Iterable[TrainerEvent]) -> None:
        """Emits the signal of each event's type, then `finished` once the events end. An event that cannot be
        relayed (not a trainer event, or one whose handling raised) is reported as `failed`, and the rest are
        still read: the run goes on in its process whatever the window makes of one event."""
        reason = "failed"  # unless the process says otherwise
        for event in events:
            try:
                match event:
                    case Started(info, payload):
                        self._architecture = architecture_key(info.config)
                        self._take_snapshot(payload)
                        self.info = info
                        self.started.emit(info)
                    case Metrics(metrics, payload):
                        self._take_snapshot(payload)
                        self.metrics.emit(metrics)
                    case Status(status):
                        self.status.emit(status)
                    case Message(text):
                        self.message.emit(text)
                    case Failed(error):
                        # One banner line: the first names the error, a traceback may follow it.
                        lines = error.strip().splitlines()
                        self.failed.emit(f"training: {lines[0] if lines else 'failed'}")
                    case Finished(why):
                        reason = why
                    case _:
                        raise TypeError(f"not a trainer event: {event!r}")
            except Exception as error:
                traceback.print_exc()
                self.failed.emit(error_text("training event", error))
        self._pin_window(False)
        self.reason = reason
        self.finished.emit(reason)

    def _take_snapshot(self, payload: dict[str, Any]) -> None:
        iteration = int(payload["counters"]["iteration"])  # read first: a payload without it is not kept
        self._snapshot = payload  # unpickled from the child: nobody else holds these tensors
        if self._on_weights is not None:
            self._on_weights(iteration, payload["model"], self._architecture)
