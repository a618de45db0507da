"""A Trainer in a child process, driven over two pipes: how the desktop app trains. Qt-free.

Why a process and not a thread: the app's player (env step, agent step, MuJoCo render) and its event loop
are Python threads too, and a trainer thread in the same interpreter shares one GIL with them. On the 2-core
machines this project targets, a trainer thread got 0.35–0.41 of its headless env-steps/s with the window
open, and the viewport fell below 40 frames/s (docs/benchmarks.md). In its own process the trainer has its
own interpreter and torch thread pool, and the operating system shares the cores.

The parent side (`TrainerProcess`) is used from two threads: one reads `events()` (blocking); any thread
may call `pause`, `resume`, `stop`, `set_task_overrides`. The child builds the Trainer with `make_trainer`
(which must pickle: a `functools.partial` of `Trainer`, `Trainer.from_run` or `Trainer.from_payload`), runs
it, and sends one event per happening:

* `("started", (TrainingInfo, payload))` once the trainer is built,
* `("metrics", (metrics, payload))` after each iteration,
* `("status", "building")` first, once the child runs (torch imported), before it builds the Trainer,
* `("status", str)` and `("message", str)` as the Trainer's own events,
* `("failed", str)` when building or training raised ("Type: message"; the traceback goes to stderr),
* `("finished", reason)` last: "done", "stopped", "iterations" or "failed".

`payload` is the checkpoint payload as of that moment (weights, optimiser, counters...), so the parent
can save or show the newest weights without asking. Messages are pickled to bytes by the sender: tensors
travel by value (torch's shared-memory reductions would tie them to the sender's lifetime).

If the parent goes away, the child sees its command pipe close (or a send fail) and stops the Trainer, which
saves `latest`.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from agents.config import TrainConfig
from agents.trainer import Trainer

REPLY_TIMEOUT_S = 30.0  # a command answered by the child's listener thread, not by the training loop


@dataclass(frozen=True)
class TrainingInfo:
    config: TrainConfig
    run_dir: Path | None
    iteration: int
    env_steps: int
    total_steps: int


class TrainerProcess:
    """Parent side: starts the child and talks to it; see the module docstring."""

    def __init__(
        self,
        make_trainer: Callable[[], Trainer],
        max_iterations: int | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        """`cpus`: the cores the child may run on (Linux; None: any), set on all its threads before it builds
        the trainer."""
        # spawn, not fork: the parent has Qt, GL and torch threads running, which a fork would copy broken.
        context = multiprocessing.get_context("spawn")
        commands_in, self._commands = context.Pipe(duplex=False)
        self._events, events_out = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(make_trainer, commands_in, events_out, max_iterations, cpus),
            name="engram-trainer",
        )
        self._child_ends = (commands_in, events_out)
        self._send_lock = threading.Lock()
        self._asked = itertools.count()
        self._waiting: dict[int, queue.Queue[tuple[bool, Any]]] = {}  # question id → where its asker waits

    def start(self) -> None:
        self._process.start()
        for end in self._child_ends:  # only the child holds them now: its exit is then EOF here
            end.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def join(self, timeout: float | None = None) -> bool:
        self._process.join(timeout)
        return not self._process.is_alive()

    # ----------------------------------------------------------------------------------------------- commands
    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def stop(self) -> None:
        """The Trainer ends at its next env step (or after the update in progress) and saves `latest`."""
        self._send("stop")

    def set_task_overrides(self, params: dict[str, Any], wait: bool = True) -> dict[str, Any] | None:
        """Validated by the Trainer in the child: with `wait`, returns the overrides in force or raises
        ValueError (nothing changes). Without (the trainer may still be building, and the child answers only
        once it is built), returns None, and a refusal arrives as a "failed" event."""
        asked = next(self._asked)
        answer: queue.Queue[tuple[bool, Any]] = queue.Queue()
        if wait:
            self._waiting[asked] = answer
        try:
            if not self._send("overrides", asked, params):
                raise ValueError("training has ended: the task edit was not applied")
            if not wait:
                return None
            try:
                ok, value = answer.get(timeout=REPLY_TIMEOUT_S)
            except queue.Empty:
                raise ValueError("the training process did not answer the task edit") from None
        finally:
            self._waiting.pop(asked, None)
        if not ok:
            raise ValueError(value)
        return value

    def _send(self, name: str, *args: Any) -> bool:
        """False when the child is gone (nothing to command any more)."""
        with self._send_lock:
            try:
                self._commands.send((name, *args))
            except (BrokenPipeError, ConnectionError, OSError):
                return False
        return True

    # ------------------------------------------------------------------------------------------------ events
    def events(self) -> Iterator[tuple[str, Any]]:
        """The child's events until it exits; ends with exactly one ("finished", reason)."""
        finished = False
        while True:
            try:
                kind, value = pickle.loads(self._events.recv_bytes())
            except (EOFError, OSError):
                break
            if kind == "reply":
                asked, ok, answer = value
                waiting = self._waiting.get(asked)
                if waiting is not None:
                    waiting.put((ok, answer))
                elif not ok:
                    yield "failed", f"task edit refused: {answer}"
                continue
            finished = finished or kind == "finished"
            yield kind, value
        self._events.close()
        with self._send_lock:
            self._commands.close()  # later commands fail at once instead of waiting for an answer
        for waiting in list(self._waiting.values()):  # and a question sent just before the end gets one
            waiting.put((False, "training has ended: the task edit was not applied"))
        self._process.join()
        if not finished:
            code = self._process.exitcode
            yield "failed", f"the training process ended unexpectedly (exit code {code})"
            yield "finished", "failed"


# ------------------------------------------------------------------------------------------------- child side


def _serve(
    make_trainer: Callable[[], Trainer],
    commands: Connection,
    events: Connection,
    max_iterations: int | None,
    cpus: frozenset[int] | None,
) -> None:
    if cpus is not None:
        # First: the threads started later (the listener, torch's, an env worker's) inherit it.
        pin_threads(cpus)
    # Ctrl-C in a terminal reaches the whole process group: the app decides what it means (its Stop, or closing
    # the window saves the run); the child ends when told, or when its parent is gone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send_lock = threading.Lock()
    parent_gone = threading.Event()
    trainer: Trainer | None = None

    def send(kind: str, value: Any) -> None:
        data = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
        with send_lock:
            if parent_gone.is_set():
                return
            try:
                events.send_bytes(data)
            except (BrokenPipeError, ConnectionError, OSError):
                parent_gone.set()
                if trainer is not None:
                    trainer.stop()  # nobody is watching: end the run, which saves `latest`

    reason = "failed"
    try:
        send("status", "building")  # torch is imported by now (unpickling this function did it)
        trainer = make_trainer()
        trainer.events.status.connect(lambda status: send("status", status))
        trainer.events.message.connect(lambda text: send("message", text))
        info = TrainingInfo(
            trainer.config, trainer.run_dir, trainer.iteration, trainer.env_steps, trainer.config.total_steps
        )
        send("started", (info, trainer.state_payload()))  # first: commands sent meanwhile act from now on
        threading.Thread(target=_listen, args=(trainer, commands, send), daemon=True).start()
        running = trainer

        def after_iteration(metrics: dict[str, float]) -> None:
            send("metrics", (metrics, running.state_payload()))

        reason = running.run(max_iterations, on_metrics=after_iteration)
    except Exception as error:
        traceback.print_exc()
        send("failed", f"{type(error).__name__}: {error}")
    finally:
        if trainer is not None:
            try:
                trainer.close()
            except Exception as error:
                send("failed", f"closing the trainer: {type(error).__name__}: {error}")
        send("finished", reason)
        sys.stdout.flush()


def pin_threads(cpus: frozenset[int]) -> None:
    """Every thread of this process onto `cpus` (Linux: affinity is per thread, and a new thread inherits its
    creator's). Importing torch, as unpickling the trainer's factory does, already started some."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # the thread ended meanwhile
            os.sched_setaffinity(int(tid), cpus)


def _listen(trainer: Trainer, commands: Connection, send: Callable[[str, Any], None]) -> None:
    """The child's command thread: commands act on the Trainer's thread-safe controls at once, even mid-update."""
    while True:
        try:
            name, *args = commands.recv()
        except (EOFError, OSError):
            trainer.stop()  # the parent is gone
            return
        if name == "pause":
            trainer.pause()
        elif name == "resume":
            trainer.resume()
        elif name == "stop":
            trainer.stop()
        elif name == "overrides":
            asked, params = args
            try:
                send("reply", (asked, True, trainer.set_task_overrides(**params)))
            except ValueError as error:
                send("reply", (asked, False, str(error)))
