"""scenes.worker_pipe, the request/reply worker the trials worker and the habitat-sim workers share: commands
call the served object's methods, a refused command is its ValueError (a UserError stays one), a failure names the
worker, a dead worker is `WorkerExited` with its exit code, and close ends (or kills) the worker."""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

import pytest

from scenes import worker_pipe
from scenes.errors import UserError
from scenes.worker_pipe import WorkerExited, WorkerPipe


class Counter:
    """What the worker serves here (spawned workers import this module to build it)."""

    def __init__(self, closed: str, fail: bool = False) -> None:
        if fail:
            raise KeyError("no such scene")
        self.closed = Path(closed)
        self.count = 0

    def add(self, amount: int) -> int:
        self.count += amount
        return self.count

    def refuse(self, error: type[ValueError]) -> None:
        raise error("goal_x must be in [0, 8]")

    def crash(self) -> None:
        raise ZeroDivisionError("division by zero")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def answer(self, message: bytes) -> bytes:
        return b"R" + message[1:][::-1]

    def close(self) -> None:
        self.closed.write_text("closed")


def start_counter(closed: Path, fail: bool = False) -> WorkerPipe:
    return WorkerPipe(
        functools.partial(Counter, str(closed), fail), name="engram-test-worker", label="the test worker"
    )


def test_commands_errors_a_protocols_own_messages_and_close(tmp_path: Path) -> None:
    pipe = start_counter(tmp_path / "closed")
    try:
        assert pipe.reply() is None  # built
        assert pipe.call("add", 2) == 2 and pipe.call("add", 3) == 5
        for kind in (
            ValueError,
            UserError,
        ):  # a refusal keeps its class: main.py prints a UserError as one line
            with pytest.raises(kind, match=r"^goal_x must be in \[0, 8\]$") as refused:
                pipe.call("refuse", kind)
            assert type(refused.value) is kind
        with pytest.raises(
            RuntimeError, match=r"^the test worker failed: ZeroDivisionError: division by zero$"
        ):
            pipe.call("crash")
        pipe.send(b"Sabc")  # a tag of the protocol's own goes to `answer`
        assert pipe.checked(pipe.receive()) == b"Rcba"
        # Ctrl-C reaches the worker too (one process group): it ignores it; the parent decides when to stop.
        assert pipe.process.pid is not None
        os.kill(pipe.process.pid, signal.SIGINT)
        assert pipe.call("add", 0) == 5 and pipe.alive
    finally:
        pipe.close()
    assert not pipe.alive and pipe.process.exitcode == 0
    assert (tmp_path / "closed").read_text() == "closed"  # the served object was closed in the worker


def test_a_failed_build_and_a_killed_worker_are_errors_naming_the_worker(tmp_path: Path) -> None:
    pipe = start_counter(tmp_path / "closed", fail=True)
    try:
        with pytest.raises(RuntimeError, match=r"^the test worker failed: KeyError: 'no such scene'$"):
            pipe.reply()
        pipe.process.join(30)
        with pytest.raises(WorkerExited, match=r"^the test worker exited \(code 0\)$"):
            pipe.call("add", 1)
    finally:
        pipe.close()
    pipe = start_counter(tmp_path / "closed")
    try:
        pipe.reply()
        pipe.process.kill()
        with pytest.raises(WorkerExited, match=r"^the test worker exited \(code -9\)$"):
            pipe.call("add", 1)
    finally:
        pipe.close()
    assert not (tmp_path / "closed").exists()  # killed: nothing ran its close


def test_close_kills_a_worker_that_does_not_end_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_pipe, "CLOSE_TIMEOUT_S", 0.5)
    pipe = start_counter(tmp_path / "closed")
    pipe.reply()
    pipe.request("sleep", 60.0)
    started = time.monotonic()
    pipe.close()
    assert time.monotonic() - started < 10 and not pipe.alive and pipe.process.exitcode == -signal.SIGKILL
    assert pipe.conn.closed
