"""Trials stepped in a worker process, in groups of envs that step independently: how a rollout overlaps the
env's step with the agent's.

A rollout alternates two things that cannot overlap within one batch: the agent picks actions from the
tokens, then the envs step with those actions. Split the envs into two groups and they can: while the worker
steps group A's envs, the main process computes group B's actions, and the other way round. In one process
that does not work, because gymnasium's MuJoCo step and torch's small ops both hold the GIL most of the time
(a two-thread prototype was slower than stepping serially; docs/benchmarks.md); in a worker process the
operating system puts the two on the two cores.

Each group is a plain `Trials` of its own (its own task and reset stream), so the tokens, boundaries and task
edits are exactly those of `Trials`. What crosses the pipe per step is one group's actions one way and its
`TrialTokens` / `TrialStepResult` the other: one message per group and step, not per env, which is why this
suits 2 cores better than a vector env with a process per env (docs/reference/landscape.md measured
gymnasium's `AsyncVectorEnv` at 0.4x of a synchronous loop there). Step messages are the arrays' bytes laid
end to end (`StepLayout`), not pickles: pickling a step's tokens and result and unpickling them cost ≈ 65 µs
here, as much as stepping 1.5 HalfCheetahs, and a pipe round trip of a pickled step took ≈ 300 µs.

It is for a machine with a core to spare: with another busy process the hand-offs wait for the scheduler and
the rollout gets 2-6x slower (docs/benchmarks.md), so `env_worker` is off unless asked for.

The worker is started with `spawn` (the parent may have Qt, GL and torch threads, which a fork copies broken)
and exits when its pipe closes, so it never outlives its parent.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import pickle
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

import numpy as np

from scenes.base import Task
from scenes.trials import Trials, TrialStepResult, TrialTokens

# How long a side polls its pipe before it blocks on it. On an idle machine polling made the overlapped
# rollout 1.27x faster than serial, against 1.0x when blocking at once (the sleeping side's wake-up costs as
# much as the overlap gains) and 1.10x when polling 0.5 ms. With another busy process it is the other way round
# (0.35x, 0.55x, 0.44x of serial): the poll takes the core the other side needs. The worker is for a machine to
# itself, so it polls; polling is bounded so an idle worker (during the PPO update) sleeps.
POLL_BEFORE_BLOCKING_S = 0.005

# The first byte of every message says what follows.
STEP = b"S"  # to the worker: group number (1 byte) and the actions' bytes; back: a StepLayout message
CALL = b"C"  # to the worker: a pickled (command, args); back: the pickled return value
ERROR = b"E"  # back: "Type: message" of what the command raised


def receive(conn: Connection) -> bytes:
    """`conn.recv_bytes()`, polling for up to POLL_BEFORE_BLOCKING_S first."""
    deadline = time.perf_counter() + POLL_BEFORE_BLOCKING_S
    while not conn.poll() and time.perf_counter() < deadline:
        pass
    return conn.recv_bytes()


def group_sizes(num_envs: int, num_groups: int) -> list[int]:
    """`num_envs` split into `num_groups` near-equal groups, larger ones first (e.g. 5 in 2: [3, 2])."""
    if not 1 <= num_groups <= num_envs:
        raise ValueError(f"num_groups must be in [1, {num_envs}] for {num_envs} envs, got {num_groups}")
    base, extra = divmod(num_envs, num_groups)
    return [base + (g < extra) for g in range(num_groups)]


# TrialTokens' fields that are arrays over the envs (`step_in_trial` is one number for all).
_PER_ENV_TOKEN_FIELDS = tuple(f.name for f in dataclasses.fields(TrialTokens) if f.name != "step_in_trial")


@dataclass(frozen=True)
class StepLayout:
    """One group's step (its next `TrialTokens` and the `TrialStepResult`) as one bytes message: each field a
    contiguous block of (num_envs, *shape) values, in `fields` order. The lockstep scalars (`step_in_trial`,
    `trial_end`) travel once per env like the rest; `info` carries the scene's success flag (bool) and score
    keys (float32), the only entries a rollout reads."""

    fields: tuple[tuple[str, str, tuple[int, ...]], ...]  # (name, NumPy dtype, shape per env)
    success_key: str | None
    score_keys: tuple[str, ...]

    @classmethod
    def of(cls, trials: Trials) -> StepLayout:
        scene = trials.scene
        obs_dim = int(np.prod(cast(tuple[int, ...], trials.observation_space.shape)))
        fields = (
            ("obs", "float32", (obs_dim,)),
            ("prev_action", "float32", (trials.action_dim,)),
            ("prev_reward", "float32", ()),
            ("prev_done", "float32", ()),
            ("episode_start", "bool", ()),
            ("trial_start", "bool", ()),
            ("episode_index", "int64", ()),
            ("step_in_episode", "int64", ()),
            ("step_in_trial", "int64", ()),
            ("task", "float32", (trials.task_dim,)),
            ("reward", "float32", ()),
            ("terminated", "bool", ()),
            ("episode_end", "bool", ()),
            ("trial_end", "bool", ()),
            *((("info:" + scene.success_key, "bool", ()),) if scene.success_key is not None else ()),
            *(("info:" + key, "float32", ()) for key in scene.score_keys),
        )
        return cls(fields, scene.success_key, tuple(scene.score_keys))

    def views(self, message: bytearray, num_envs: int) -> dict[str, np.ndarray]:
        """Every field as a (num_envs, *shape) array over `message` (a STEP-tagged bytearray of `size`)."""
        views, offset = {}, len(STEP)
        for name, dtype, shape in self.fields:
            array = np.frombuffer(message, dtype=dtype, count=num_envs * math.prod(shape), offset=offset)
            views[name] = array.reshape(num_envs, *shape)
            offset += array.nbytes
        return views

    def size(self, num_envs: int) -> int:
        return len(STEP) + sum(
            num_envs * math.prod(shape) * np.dtype(dtype).itemsize for _, dtype, shape in self.fields
        )

    @staticmethod
    def fill(views: dict[str, np.ndarray], tokens: TrialTokens, result: TrialStepResult) -> None:
        """Write a step into the arrays of `views` (the worker keeps one message per group and resends it)."""
        values = {**vars(tokens), **vars(result)}
        values.update(("info:" + key, value) for key, value in result.info.items())
        for name, view in views.items():
            view[...] = values[name]

    def decode(self, message: bytes, num_envs: int) -> tuple[TrialTokens, TrialStepResult]:
        # A copy the arrays own: writable (torch.from_numpy wants that) and kept by the rollout after later steps.
        values = self.views(bytearray(message), num_envs)
        tokens = TrialTokens(**{name: values[name] for name in _PER_ENV_TOKEN_FIELDS},
                             step_in_trial=int(values["step_in_trial"][0]))  # fmt: skip
        info = {name[len("info:") :]: value for name, value in values.items() if name.startswith("info:")}
        result = TrialStepResult(
            values["reward"], values["terminated"], values["episode_end"], bool(values["trial_end"][0]), info
        )
        return tokens, result


def _serve(
    conn: Connection, scene_id: str, scene_options: dict[str, Any], sizes: list[int], seed: int
) -> None:
    """The worker's loop: one reply per message (see STEP, CALL, ERROR)."""
    # Ctrl-C in a terminal reaches the whole process group: the parent stops its rollout cleanly and closes
    # the pipe, which ends this loop; an interrupt here would only kill the worker under a rollout in flight.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from scenes.registry import make_scene  # in the child: the parent's modules are not inherited by spawn

    groups: list[Trials] = []
    try:
        scene = make_scene(scene_id, **scene_options)
        seeds = np.random.SeedSequence(seed).spawn(len(sizes))
        groups = [
            Trials(scene, size, seed=int(s.generate_state(1)[0]))
            for size, s in zip(sizes, seeds, strict=True)
        ]
        layout = StepLayout.of(groups[0])
        messages = [bytearray(STEP + bytes(layout.size(size) - len(STEP))) for size in sizes]
        views = [layout.views(message, size) for message, size in zip(messages, sizes, strict=True)]
        action_dtype = np.int64 if groups[0].discrete else np.float32
        conn.send_bytes(CALL + pickle.dumps((groups[0].steps_per_trial, layout, groups[0].discrete)))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        conn.send_bytes(ERROR + f"{type(exc).__name__}: {exc}".encode())
        conn.close()
        return
    try:
        while True:
            try:
                message = receive(conn)
            except (EOFError, OSError):  # the parent went away
                break
            try:
                if message[:1] == STEP:
                    group = message[1]
                    actions = np.frombuffer(message, dtype=action_dtype, offset=2)
                    step = groups[group].step(actions.reshape(sizes[group], -1))
                    layout.fill(views[group], *step)
                    conn.send_bytes(messages[group])
                    continue
                command, args = pickle.loads(message[1:])
                if command == "close":
                    break
                if command == "reset":
                    children = np.random.SeedSequence(args[0]).spawn(len(groups))
                    reply: Any = [t.reset(seed=child) for t, child in zip(groups, children, strict=True)]
                elif command == "set_task_overrides":
                    for trials in groups:
                        trials.set_task_overrides(args[0])
                    reply = None
                else:
                    raise ValueError(f"unknown command {command!r}")
                conn.send_bytes(CALL + pickle.dumps(reply))
            except Exception as exc:
                conn.send_bytes(ERROR + f"{type(exc).__name__}: {exc}".encode())
    finally:
        for trials in groups:
            trials.close()
        conn.close()


class WorkerExited(RuntimeError):
    """The worker process is gone (its pipe closed)."""


class TrialsProcess:
    """`num_envs` trials of a scene in a worker process, as `num_groups` groups that step independently.

    `reset(seed)` returns every group's first tokens; `step_async(g, actions)` sends group g's actions and
    returns at once, and `step_wait(g)` returns what that step produced. Every group steps in lockstep within
    itself (as a `Trials`), and all groups have the same `steps_per_trial`, so they stay on the same step.
    """

    def __init__(
        self,
        scene_id: str,
        scene_options: dict[str, Any],
        num_envs: int,
        seed: int = 0,
        num_groups: int = 2,
    ) -> None:
        self.sizes = group_sizes(num_envs, num_groups)
        self.num_envs = num_envs
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child, scene_id, dict(scene_options), self.sizes, seed),
            daemon=True,
            name=f"engram-trials-{scene_id}",
        )
        self._process.start()
        child.close()  # only the child holds it now: the child's death is then EOF here
        self._waiting: list[int] = []  # groups whose step was sent and not yet received, in order
        try:
            self.steps_per_trial, self.layout, discrete = self._reply()
        except WorkerExited as error:
            self.close()
            # The usual cause: a script that builds a Trainer at import time. `spawn` re-imports the script in
            # the worker, which then refuses to start a process of its own (its traceback is on stderr).
            raise RuntimeError(
                f"{error} while starting; a script must build its Trainer under `if __name__ == '__main__':`, "
                "or train with env_worker = false (--env-worker off)"
            ) from None
        except BaseException:
            self.close()
            raise
        self._action_dtype = np.int64 if discrete else np.float32
        self.success_key, self.score_keys = self.layout.success_key, self.layout.score_keys

    @property
    def num_groups(self) -> int:
        return len(self.sizes)

    def _exited(self) -> WorkerExited:
        self._process.join(1.0)
        return WorkerExited(f"the trials worker process exited (code {self._process.exitcode})")

    def _send(self, message: bytes) -> None:
        try:
            self._conn.send_bytes(message)
        except OSError:  # a broken pipe: the worker is gone
            raise self._exited() from None

    def _receive(self) -> bytes:
        try:
            return receive(self._conn)
        except (EOFError, OSError):
            raise self._exited() from None

    @staticmethod
    def _checked(message: bytes) -> bytes:
        if message[:1] == ERROR:
            raise RuntimeError(f"the trials worker process failed: {message[1:].decode()}")
        return message

    def _reply(self) -> Any:
        return pickle.loads(self._checked(self._receive())[1:])

    def _call(self, command: str, *args: Any) -> Any:
        self._drain()
        self._send(CALL + pickle.dumps((command, args)))
        return self._reply()

    def _drain(self, timeout: float | None = None) -> None:
        """Receive the replies of steps sent and not waited for (a rollout stopped between the two); with
        `timeout`, give up when a reply takes longer than that."""
        while self._waiting:
            if timeout is not None and not self._conn.poll(timeout):
                return
            self._receive()
            self._waiting.pop(0)  # after the reply is read: an interrupt before leaves it to drain later

    def reset(self, seed: int) -> list[TrialTokens]:
        """Start a new trial in every env of every group; the task and reset streams depend on `seed` alone."""
        return self._call("reset", seed)

    def step_async(self, group: int, actions: np.ndarray) -> None:
        if group in self._waiting:
            raise RuntimeError(f"group {group} already has a step in flight")
        actions = np.ascontiguousarray(actions, dtype=self._action_dtype)
        if actions.shape[0] != self.sizes[group]:
            raise ValueError(
                f"group {group} has {self.sizes[group]} envs, got actions of shape {actions.shape}"
            )
        self._send(STEP + bytes((group,)) + actions.tobytes())
        self._waiting.append(group)

    def step_wait(self, group: int) -> tuple[TrialTokens, TrialStepResult]:
        """Group `group`'s next tokens and step result; the result's `info` holds only the scene's success and
        score keys (what a rollout reads)."""
        if not self._waiting or self._waiting[0] != group:
            raise RuntimeError(f"group {group}'s step is not the next reply (in flight: {self._waiting})")
        message = self._receive()
        self._waiting.pop(0)
        return self.layout.decode(self._checked(message), self.sizes[group])

    def set_task_overrides(self, overrides: Task) -> None:
        """As `Trials.set_task_overrides`, in every group."""
        self._call("set_task_overrides", dict(overrides))

    def close(self) -> None:
        if self._process.is_alive():
            try:
                self._drain(timeout=5.0)
                self._send(CALL + pickle.dumps(("close", ())))
            except (EOFError, OSError, RuntimeError):
                pass
            self._process.join(5.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._conn.close()
