"""Worker processes over a pipe: what every worker protocol here repeats, in one place.

Three protocols talk to spawned worker processes: `scenes.trials_process` (Trials stepped beside the agent),
`scenes.objnav_habitat` (one habitat-sim simulator per process) and `agents.trainer_process` (the app's
trainer). Their messages stay in their own modules; this module holds what they share:

* `SPAWN` and `start`: the start method, and handing the child its pipe ends so that its death is EOF here.
* `serve` (child side) and `WorkerPipe` (parent side) of a request/reply worker. `serve` builds an object and
  answers commands by calling its methods; `WorkerPipe.call(command, *args)` returns what the method returned.
  A ValueError raised in the worker comes back as itself, class and message (an edit the worker refused, a
  `UserError`: the caller's to handle, as in one process); any other exception as one RuntimeError naming the
  worker; a pipe that closes or breaks as `WorkerExited` with the worker's exit code.
* `ignore_interrupts` and `error_text`, for a child with a loop of its own (the trainer's).

Messages are bytes whose first byte says what follows: CALL and ERROR here; a protocol may add its own (the
trials worker's steps, whose bytes are not pickles), which the served object's `answer` method answers. Standard
library only: scenes import no agents and no Qt.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

# spawn, not fork: a parent has Qt, GL, CUDA and torch threads running, which a fork copies broken.
SPAWN = multiprocessing.get_context("spawn")

CALL = b"C"  # to the worker: a pickled (command, args); back: the pickled return value
ERROR = b"E"  # back: what the command raised: a pickled ValueError, or the pickled text of anything else
CLOSE = "close"  # the command that ends the worker's loop
CLOSE_TIMEOUT_S = 5.0  # how long `WorkerPipe.close` waits for the worker to end before killing it


class WorkerExited(RuntimeError):
    """The worker process is gone (its pipe closed or broke)."""


def error_text(error: BaseException) -> str:
    """'Type: message': how a worker reports an exception in one line (its traceback goes to stderr)."""
    return f"{type(error).__name__}: {error}"


def ignore_interrupts() -> None:
    """In a child: Ctrl-C in a terminal reaches the whole process group, and the parent decides what it means
    (it stops cleanly and closes the pipe, which ends the child); an interrupt here would only kill the child
    under a command in flight."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start(process: BaseProcess, child_ends: Iterable[Connection]) -> None:
    """Start `process` and close this process's copies of the pipe ends it was given: the child then holds the
    only ones, so its exit (or crash) reaches this side as EOF instead of a read that waits forever."""
    process.start()
    for end in child_ends:
        end.close()


def receive(conn: Connection, poll_s: float = 0.0) -> bytes:
    """`conn.recv_bytes()`, after polling for up to `poll_s` (a busy poll: it keeps the core, which pays only
    when the reply is due within microseconds, as for the trials worker's steps)."""
    deadline = time.perf_counter() + poll_s
    while not conn.poll() and time.perf_counter() < deadline:
        pass
    return conn.recv_bytes()


def serve(conn: Connection, make: Callable[[], Any], poll_s: float = 0.0) -> None:
    """A worker's loop (the target of `WorkerPipe`'s process): build the served object with `make` and reply
    that it is ready (or why not, then end), then answer every message until CLOSE or until the parent goes
    away, and close the object. A CALL runs the object's method of that name; any other message goes to its
    `answer(message) -> bytes`."""
    ignore_interrupts()
    try:
        served = make()
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        conn.send_bytes(_error_message(error))
        conn.close()
        return
    conn.send_bytes(CALL + pickle.dumps(None))
    try:
        while True:
            try:
                message = receive(conn, poll_s)
            except (EOFError, OSError):  # the parent went away
                break
            try:
                if message[:1] == CALL:
                    command, args = pickle.loads(message[1:])
                    if command == CLOSE:
                        break
                    conn.send_bytes(CALL + pickle.dumps(getattr(served, command)(*args)))
                else:
                    conn.send_bytes(served.answer(message))
            except Exception as error:
                conn.send_bytes(_error_message(error))
    finally:
        served.close()
        conn.close()


def _error_message(error: Exception) -> bytes:
    # A ValueError crosses as itself, so a UserError is still one (main.py prints those as one line); anything
    # else is the worker's failure and crosses as its text.
    if isinstance(error, ValueError):
        try:
            message = pickle.dumps(error)
            pickle.loads(message)  # an exception whose class cannot be rebuilt from its args: its words only
        except Exception:
            message = pickle.dumps(ValueError(str(error)))
        return ERROR + message
    return ERROR + pickle.dumps(error_text(error))


class WorkerPipe:
    """The parent's side of a worker process running `serve(make)`: the process and a duplex pipe to it.

    `name` is the process's name (seen in `ps`); `label` names the worker in errors ("the trials worker
    process": "... exited (code -9)", "... failed: KeyError: 'x'"). `poll_s`: see `receive`. The process is a
    daemon: it never outlives its parent."""

    def __init__(self, make: Callable[[], Any], name: str, label: str, poll_s: float = 0.0) -> None:
        self.label = label
        self.poll_s = poll_s
        self.conn, child = SPAWN.Pipe()
        self.process = SPAWN.Process(target=serve, args=(child, make, poll_s), daemon=True, name=name)
        start(self.process, [child])

    def exited(self) -> WorkerExited:
        self.process.join(1.0)  # a pipe closes just before its process ends: give the exit code time to exist
        return WorkerExited(f"{self.label} exited (code {self.process.exitcode})")

    def send(self, message: bytes) -> None:
        try:
            self.conn.send_bytes(message)
        except OSError:  # a broken pipe: the worker is gone (a crash, or it never started)
            raise self.exited() from None

    def receive(self) -> bytes:
        """The next message as it came (a protocol's own reply is checked with `checked`)."""
        try:
            return receive(self.conn, self.poll_s)
        except (EOFError, OSError):
            raise self.exited() from None

    def wait(self, timeout: float) -> bool:
        """Whether a message (or the worker's exit) arrives within `timeout` seconds."""
        try:
            return self.conn.poll(timeout)
        except OSError:  # this side is closed already
            raise self.exited() from None

    def checked(self, message: bytes) -> bytes:
        """`message`, unless it is the worker's ERROR: then raise it (see the module docstring)."""
        if message[:1] != ERROR:
            return message
        error = pickle.loads(message[1:])
        if isinstance(error, ValueError):
            raise error
        raise RuntimeError(f"{self.label} failed: {error}")

    def request(self, command: str, *args: Any) -> None:
        """Send a command without waiting (`reply` reads its answer): several workers can then work at once."""
        self.send(CALL + pickle.dumps((command, args)))

    def reply(self) -> Any:
        """The value of the command sent longest ago and not yet answered (the worker's readiness first)."""
        return pickle.loads(self.checked(self.receive())[1:])

    def call(self, command: str, *args: Any) -> Any:
        self.request(command, *args)
        return self.reply()

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def close(self) -> None:
        """Ask the worker to end (it closes what it serves), wait up to CLOSE_TIMEOUT_S, then kill it."""
        if self.process.is_alive():
            with contextlib.suppress(WorkerExited):  # it may be closing its end already
                self.request(CLOSE)
            self.process.join(CLOSE_TIMEOUT_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self.conn.close()
