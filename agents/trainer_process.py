"""A Trainer in a child process, driven over two pipes: how the desktop app trains. Qt-free.

Why a process and not a thread: the app's player (env step, agent step, MuJoCo render) and its event loop
are Python threads too, and a trainer thread in the same interpreter shares one GIL with them. On the 2-core
machines this project targets, a trainer thread got 0.35–0.41 of its headless env-steps/s with the window
open, and the viewport fell below 40 frames/s (docs/benchmarks.md). In its own process the trainer has its
own interpreter and torch thread pool, and the operating system shares the cores.

The parent side (`TrainerProcess`) is used from two threads: one reads `events()` (blocking); any thread
may call `pause`, `resume`, `stop`, `set_task_overrides`. The child builds the Trainer with `make_trainer`
(which must pickle: a `functools.partial` of `Trainer`, `Trainer.from_run` or `Trainer.from_payload`), runs
it, and sends one event record (agents/events.py) per happening:

* `Status("building")` first, once the child runs (torch imported), before it builds the Trainer,
* `Started(info, payload)` once the trainer is built,
* `Metrics(metrics, payload)` after each iteration,
* `Status` and `Message` as the Trainer's own psygnal events,
* `Failed` when building or training raised ("Type: message"; the traceback goes to stderr),
* `Finished(reason)` last: "done", "stopped", "iterations" or "failed".

`payload` is the checkpoint payload as of that moment (weights, optimiser, counters...), so the parent
can save or show the newest weights without asking. Records are pickled to bytes by the sender: tensors
travel by value (torch's shared-memory reductions would tie them to the sender's lifetime). The answer to a
task edit travels on the same pipe as a `_Reply`, which `events()` hands to the thread waiting for it.

If the parent goes away, the child sees its command pipe close (or a send fail) and stops the Trainer, which
saves `latest`.
"""

from __future__ import annotations

import itertools
import pickle
import queue
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from agents.cpu_affinity import pin_threads
from agents.events import Failed, Finished, Message, Metrics, Started, Status, TrainerEvent, TrainingInfo
from agents.trainer import Trainer
from scenes.worker_pipe import SPAWN, error_text, ignore_interrupts, start

REPLY_TIMEOUT_S = 30.0  # a command answered by the child's listener thread, not by the training loop


@dataclass(frozen=True)
class _Reply:
    """The child's answer to the task edit the parent numbered `asked`: the overrides in force, or why not."""

    asked: int
    ok: bool
    answer: Any


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
        # Two one-way pipes, not worker_pipe's request/reply: events stream to one thread while any thread
        # sends commands, and a command's answer comes back among the events (`_Reply`).
        commands_in, self._commands = SPAWN.Pipe(duplex=False)
        self._events, events_out = SPAWN.Pipe(duplex=False)
        # Not a daemon: a daemon may not start processes (the trainer's env worker), and a parent that exits
        # normally waits for this child to save its run.
        self._process = SPAWN.Process(
            target=_serve,
            args=(make_trainer, commands_in, events_out, max_iterations, cpus),
            name="engram-trainer",
        )
        self._child_ends = (commands_in, events_out)
        self._send_lock = threading.Lock()
        self._asked = itertools.count()
        self._waiting: dict[int, queue.Queue[tuple[bool, Any]]] = {}  # question id → where its asker waits

    def start(self) -> None:
        start(self._process, self._child_ends)

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
        once it is built), returns None, and a refusal arrives as a `Failed` event."""
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
    def events(self) -> Iterator[TrainerEvent]:
        """The child's events until it exits; ends with exactly one `Finished`."""
        finished = False
        while True:
            try:
                event = pickle.loads(self._events.recv_bytes())
            except (EOFError, OSError):
                break
            if isinstance(event, _Reply):
                waiting = self._waiting.get(event.asked)
                if waiting is not None:
                    waiting.put((event.ok, event.answer))
                elif not event.ok:
                    yield Failed(f"task edit refused: {event.answer}")
                continue
            finished = finished or isinstance(event, Finished)
            yield event
        self._events.close()
        with self._send_lock:
            self._commands.close()  # later commands fail at once instead of waiting for an answer
        for waiting in list(self._waiting.values()):  # and a question sent just before the end gets one
            waiting.put((False, "training has ended: the task edit was not applied"))
        self._process.join()
        if not finished:
            code = self._process.exitcode
            yield Failed(f"the training process ended unexpectedly (exit code {code})")
            yield Finished("failed")


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
    # The app decides what Ctrl-C means (its Stop, or closing the window saves the run); the child ends when
    # told, or when its parent is gone.
    ignore_interrupts()
    send_lock = threading.Lock()
    parent_gone = threading.Event()
    trainer: Trainer | None = None

    def send(event: TrainerEvent | _Reply) -> None:
        data = pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
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
        send(Status("building"))  # torch is imported by now (unpickling this function did it)
        trainer = make_trainer()
        trainer.events.status.connect(lambda status: send(Status(status)))
        trainer.events.message.connect(lambda text: send(Message(text)))
        info = TrainingInfo(
            trainer.config, trainer.run_dir, trainer.iteration, trainer.env_steps, trainer.config.total_steps
        )
        send(Started(info, trainer.state_payload()))  # first: commands sent meanwhile act from now on
        threading.Thread(target=_listen, args=(trainer, commands, send), daemon=True).start()
        running = trainer

        def after_iteration(metrics: dict[str, float]) -> None:
            send(Metrics(metrics, running.state_payload()))

        reason = running.run(max_iterations, on_metrics=after_iteration)
    except Exception as error:
        traceback.print_exc()
        send(Failed(error_text(error)))
    finally:
        if trainer is not None:
            try:
                trainer.close()
            except Exception as error:
                send(Failed(f"closing the trainer: {error_text(error)}"))
        send(Finished(reason))
        sys.stdout.flush()


def _listen(trainer: Trainer, commands: Connection, send: Callable[[TrainerEvent | _Reply], None]) -> None:
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
                send(_Reply(asked, True, trainer.set_task_overrides(**params)))
            except ValueError as error:
                send(_Reply(asked, False, str(error)))
