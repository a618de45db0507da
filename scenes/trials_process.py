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

The worker is started with `spawn` and exits when its pipe closes, so it never outlives its parent; starting,
commands, errors and shutdown are `scenes.worker_pipe`'s, and this module adds the step messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from scenes.base import Task
from scenes.registry import make_scene
from scenes.trials import Trials, TrialStepResult, TrialTokens
from scenes.worker_pipe import CLOSE_TIMEOUT_S, WorkerExited, WorkerPipe

# How long a side polls its pipe before it blocks on it. On an idle machine polling made the overlapped
# rollout 1.27x faster than serial, against 1.0x when blocking at once (the sleeping side's wake-up costs as
# much as the overlap gains) and 1.10x when polling 0.5 ms. With another busy process it is the other way round
# (0.35x, 0.55x, 0.44x of serial): the poll takes the core the other side needs. The worker is for a machine to
# itself, so it polls; polling is bounded so an idle worker (during the PPO update) sleeps.
POLL_BEFORE_BLOCKING_S = 0.005

# This protocol's message tag (beside worker_pipe's CALL and ERROR): to the worker, the group number (1 byte) and
# the actions' bytes; back, a StepLayout message.
STEP = b"S"


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


class _Groups:
    """The worker's side: every group's `Trials`, served by `worker_pipe.serve` (the public methods are the
    commands; `answer` answers the STEP messages)."""

    def __init__(self, scene_id: str, scene_options: dict[str, Any], sizes: list[int], seed: int) -> None:
        scene = make_scene(scene_id, **scene_options)
        seeds = np.random.SeedSequence(seed).spawn(len(sizes))
        self.sizes = sizes
        self.groups = [
            Trials(scene, size, seed=int(s.generate_state(1)[0]))
            for size, s in zip(sizes, seeds, strict=True)
        ]
        self.layout = StepLayout.of(self.groups[0])
        # One message per group, rewritten in place and resent at every step.
        self.messages = [bytearray(STEP + bytes(self.layout.size(size) - len(STEP))) for size in sizes]
        self.views = [
            self.layout.views(message, size) for message, size in zip(self.messages, sizes, strict=True)
        ]
        self.action_dtype = np.int64 if self.groups[0].discrete else np.float32

    def describe(self) -> tuple[int, StepLayout, bool]:
        return self.groups[0].steps_per_trial, self.layout, self.groups[0].discrete

    def answer(self, message: bytes) -> bytearray:
        if message[:1] != STEP:
            raise ValueError(f"unknown message tag {message[:1]!r}")
        group = message[1]
        actions = np.frombuffer(message, dtype=self.action_dtype, offset=2)
        step = self.groups[group].step(actions.reshape(self.sizes[group], -1))
        self.layout.fill(self.views[group], *step)
        return self.messages[group]

    def reset(self, seed: int) -> list[TrialTokens]:
        children = np.random.SeedSequence(seed).spawn(len(self.groups))
        return [trials.reset(seed=child) for trials, child in zip(self.groups, children, strict=True)]

    def set_task_overrides(self, overrides: Task) -> None:
        for trials in self.groups:
            trials.set_task_overrides(overrides)

    def close(self) -> None:
        for trials in self.groups:
            trials.close()


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
        self._pipe = WorkerPipe(
            functools.partial(_Groups, scene_id, dict(scene_options), self.sizes, seed),
            name=f"engram-trials-{scene_id}",
            label="the trials worker process",
            poll_s=POLL_BEFORE_BLOCKING_S,
        )
        self._waiting: list[int] = []  # groups whose step was sent and not yet received, in order
        try:
            self._pipe.reply()  # built
            self.steps_per_trial, self.layout, discrete = self._pipe.call("describe")
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

    def _call(self, command: str, *args: Any) -> Any:
        self._drain()
        return self._pipe.call(command, *args)

    def _drain(self, timeout: float | None = None) -> None:
        """Receive the replies of steps sent and not waited for (a rollout stopped between the two); with
        `timeout`, give up when a reply takes longer than that."""
        while self._waiting:
            if timeout is not None and not self._pipe.wait(timeout):
                return
            self._pipe.receive()
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
        self._pipe.send(STEP + bytes((group,)) + actions.tobytes())
        self._waiting.append(group)

    def step_wait(self, group: int) -> tuple[TrialTokens, TrialStepResult]:
        """Group `group`'s next tokens and step result; the result's `info` holds only the scene's success and
        score keys (what a rollout reads)."""
        if not self._waiting or self._waiting[0] != group:
            raise RuntimeError(f"group {group}'s step is not the next reply (in flight: {self._waiting})")
        message = self._pipe.receive()
        self._waiting.pop(0)
        return self.layout.decode(self._pipe.checked(message), self.sizes[group])

    def set_task_overrides(self, overrides: Task) -> None:
        """As `Trials.set_task_overrides`, in every group."""
        self._call("set_task_overrides", dict(overrides))

    def close(self) -> None:
        if self._pipe.alive:
            # Read the replies of steps in flight first: a worker blocked on sending one would not read CLOSE.
            with contextlib.suppress(WorkerExited):
                self._drain(timeout=CLOSE_TIMEOUT_S)
        self._pipe.close()
