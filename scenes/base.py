"""What every scene is: a task distribution with a typed parameter schema, and environments whose task can be
edited at any time, also mid-episode.

A *scene* (`Scene`) is the task distribution of a meta-RL benchmark (HalfCheetahVel, Dark-Key-To-Door, ...).
Its environments are plain Gymnasium environments with two additions (`TaskEnv`):

- `set_task(**params)` validates every value against the schema first and only then applies them, so a bad
  edit raises `ValueError` naming the valid range and leaves the current task untouched. It takes effect on
  the next `step`, also mid-episode, which is what lets a user watch an agent adapt in context.
- `render_frame(width, height)` returns an RGB `uint8` array of the requested size.

Batches of environments (`BatchEnv`) are what the trial wrapper and the trainer step: the gridworlds implement
them natively in NumPy; MuJoCo scenes use `EnvList`, a plain synchronous loop (on 2 cores a subprocess vector
env is IPC-bound and slower, see docs/reference/landscape.md).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, cast

import gymnasium as gym
import numpy as np

from scenes.errors import UserError

ParamKind = Literal["float", "int", "choice"]
SignalKind = Literal["value", "event"]
Split = Literal["train", "test", "ood"]
Task = dict[str, Any]


@dataclass(frozen=True)
class TaskParam:
    """One editable task parameter: what the task editor draws and what `set_task` validates against."""

    name: str
    kind: ParamKind
    doc: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    default: Any = None

    def __post_init__(self) -> None:
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"choice parameter {self.name!r} needs choices")
        if self.kind in ("float", "int") and (self.low is None or self.high is None):
            raise ValueError(f"{self.kind} parameter {self.name!r} needs low and high")

    def describe_range(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        unit = f" {self.unit}" if self.unit else ""
        return f"in [{self.low:g}, {self.high:g}]{unit}"

    def validate(self, value: Any, what: str = "task parameter") -> Any:
        """Return `value` coerced to this parameter's type, or raise ValueError saying what is valid.

        Values arrive from command lines and text fields ("2.5", "-1"), from code (NumPy scalars) and from
        fuzzers: anything but one number, bool or string (None, a list, an array) is refused, and so is a
        bool where a number is meant (True is not a velocity)."""
        where = f"{what} {self.name!r} must be {self.describe_range()}"
        refused = UserError(f"{where}, got {_shown(value)}")
        if not isinstance(value, str | bool | int | float | np.bool_ | np.integer | np.floating):
            raise refused
        is_bool = isinstance(value, bool | np.bool_)
        if self.kind == "choice":
            for choice in self.choices:
                if isinstance(choice, bool):  # True / False, or their spelling in any case
                    if (is_bool and bool(value) is choice) or str(value).lower() == str(choice).lower():
                        return choice
                elif is_bool:
                    continue
                elif (
                    value == choice
                    or str(value) == str(choice)  # "1" for 1
                    or (_number(choice) is not None and _number(value) == _number(choice))  # 1.0 for 1
                ):
                    return choice
            raise refused
        number = None if is_bool else _number(value)
        # Numeric kinds always have both bounds (checked in __post_init__).
        low, high = cast(float, self.low), cast(float, self.high)
        if number is None or not (low <= number <= high):
            raise refused
        if self.kind == "int":
            if number != int(number):
                raise UserError(f"{where} and an integer, got {_shown(value)}")
            return int(number)
        return number + 0.0  # -0.0 becomes 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind, "doc": self.doc, "unit": self.unit}
        if self.kind == "choice":
            out["choices"] = list(self.choices)
        else:
            out["low"], out["high"] = self.low, self.high
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class EpisodeSignal:
    """A per-step quantity the task is about, read from the step's `info` and plotted over the trial by the
    Episode signals panel: what the agent should track (a velocity, a distance to the goal) or what it should
    make happen (a key picked up). The reward, its `reward_*` terms and the numeric task parameters are
    plotted for every scene; a scene declares only these.

    `info_key`: the info entry, one scalar per env. `target`: the task parameter the quantity should equal,
    plotted beside it, so the gap is the tracking error. `kind`: "value" is drawn as a curve, "event" (a
    boolean) as a mark at each step where it is true."""

    info_key: str
    label: str
    unit: str = ""
    target: str | None = None
    kind: SignalKind = "value"

    def as_dict(self) -> dict[str, Any]:
        return {
            "info_key": self.info_key,
            "label": self.label,
            "unit": self.unit,
            "target": self.target,
            "kind": self.kind,
        }


def _number(value: str | int | float | np.bool_ | np.number) -> float | None:
    """`value` as a finite float, or None (not a number; NaN, ±inf, or an int too large for a float)."""
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _shown(value: Any) -> str:
    """`value` for an error message: on one line and short, whatever it is (a 10**400, an array)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else f"{text[:57]}..."


def validate_task(
    params: Sequence[TaskParam],
    current: Mapping[str, Any],
    edits: Mapping[str, Any],
    what: str = "task parameter",
) -> Task:
    """Return `current` updated with `edits`, every value validated; raise before changing anything."""
    by_name = {p.name: p for p in params}
    unknown = [name for name in edits if name not in by_name]
    if unknown:
        valid = ", ".join(by_name) or "(none)"
        raise UserError(f"unknown {what}(s) {', '.join(map(repr, unknown))}; valid: {valid}")
    task = dict(current)
    for name, value in edits.items():
        task[name] = by_name[name].validate(value, what)
    return task


def validate_full_task(params: Sequence[TaskParam], task: Mapping[str, Any], name: str = "task") -> Task:
    """A whole task: every value validated and no parameter left out (`name` says which task in the error)."""
    checked = validate_task(params, {}, task)
    missing = [p.name for p in params if p.name not in checked]
    if missing:
        raise UserError(f"{name} is missing parameter(s): {', '.join(missing)}")
    return checked


def splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays (array arithmetic wraps modulo 2**64 without warnings).

    Used instead of a NumPy Generator permutation so a held-out set is a pure function of the
    configuration index and cannot move if NumPy ever changes a sampling algorithm."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class TaskEnv(gym.Env):
    """A Gymnasium environment whose task is a dict of schema-checked parameters, editable at any time."""

    task_params: ClassVar[tuple[TaskParam, ...]] = ()
    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 20}  # type: ignore[misc]

    def __init__(
        self,
        task: Mapping[str, Any],
        render_mode: str | None = None,
        render_size: tuple[int, int] = (480, 480),
    ) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self._task: Task = validate_full_task(self.task_params, task)
        self.render_mode = render_mode
        self.render_size = render_size

    @property
    def task(self) -> Task:
        return dict(self._task)

    def set_task(self, **params: Any) -> None:
        """Change the task; takes effect on the next `step`, also mid-episode."""
        new_task = validate_task(self.task_params, self._task, params)
        self._apply_task(new_task)
        self._task = new_task

    def _apply_task(self, task: Task) -> None:
        """Hook for environments that must change simulator state when the task changes (e.g. a goal marker)."""

    @abstractmethod
    def render_frame(self, width: int = 480, height: int = 480) -> np.ndarray:
        """An RGB uint8 array of shape (height, width, 3)."""

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """Gymnasium's render: a `render_size` frame in "rgb_array" mode; None (as Gymnasium) without a mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; use render_frame(width, height)")
            return None
        return self.render_frame(*self.render_size)


class BatchEnv(Protocol):
    """Many environments stepped together. Resets are explicit (no auto-reset): the trial wrapper decides
    whether an ended episode is followed by another episode of the same task or by a new task."""

    # Read-only (properties) so that implementations may declare narrower spaces (Box, Discrete).
    @property
    def num_envs(self) -> int: ...

    @property
    def single_observation_space(self) -> gym.Space: ...

    @property
    def single_action_space(self) -> gym.Space: ...

    def reset(self, env_ids: np.ndarray, seeds: Sequence[int] | None = None) -> np.ndarray:
        """Reset the listed envs; return their first observations, shape (len(env_ids), *obs_shape)."""

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every env: observations, rewards, terminated, truncated (each batched), and an info dict."""

    def set_task(self, env_id: int, **params: Any) -> None: ...

    def get_task(self, env_id: int) -> Task: ...

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray: ...

    def close(self) -> None: ...


class BatchOfOneEnv(TaskEnv):
    """A Gymnasium env over a one-env `BatchEnv`, so single and batched dynamics are the same code (the
    gridworlds, the bandit and the navigation scenes simulate natively in batches). A subclass calls
    `super().__init__` and then `_attach(batch)` with its batch of one, built on `self.task`."""

    batch: BatchEnv
    # True for batches that keep no generator of their own across resets (the navigation scenes): once the env
    # has been seeded, every reset, unseeded ones included, gets a seed drawn from Gymnasium's `np_random`, so
    # `reset(seed=s)` then `reset()` repeats itself (Gymnasium's determinism contract, checked by check_env).
    draws_batch_seed: ClassVar[bool] = False

    def _attach(self, batch: BatchEnv) -> None:
        self.batch = batch
        self.observation_space = batch.single_observation_space
        self.action_space = batch.single_action_space

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.draws_batch_seed and (seed is not None or self._np_random is not None):
            seed = int(self.np_random.integers(2**31 - 1))
        obs = self.batch.reset(np.zeros(1, dtype=np.int64), None if seed is None else [seed])
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = np.asarray(action)
        if a.size != 1:
            space = self.action_space
            valid = f" in [0, {space.n})" if isinstance(space, gym.spaces.Discrete) else ""
            raise ValueError(f"expected one action{valid}, got {action!r}")
        obs, reward, terminated, truncated, info = self.batch.step(a.reshape(1))
        return (
            obs[0],
            float(reward[0]),
            bool(terminated[0]),
            bool(truncated[0]),
            {k: v[0].item() for k, v in info.items()},
        )

    def _apply_task(self, task: Task) -> None:
        self.batch.set_task(0, **task)

    def render_frame(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """Env 0's frame; `render_size` when no size is given."""
        default_width, default_height = self.render_size
        return self.batch.render_frame(
            0, default_width if width is None else width, default_height if height is None else height
        )

    def close(self) -> None:
        self.batch.close()


class EnvList:
    """`BatchEnv` over a list of `TaskEnv`s stepped one after another in this process."""

    def __init__(self, envs: Sequence[TaskEnv]) -> None:
        if not envs:
            raise ValueError("EnvList needs at least one environment")
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)

    def reset(self, env_ids: np.ndarray, seeds: Sequence[int] | None = None) -> np.ndarray:
        observations = []
        for k, i in enumerate(np.asarray(env_ids, dtype=np.int64)):
            obs, _ = self.envs[i].reset(seed=None if seeds is None else int(seeds[k]))
            observations.append(obs)
        shape = (0, *cast(tuple[int, ...], self.single_observation_space.shape))
        return np.stack(observations) if observations else np.zeros(shape, dtype=np.float32)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        results = [env.step(action) for env, action in zip(self.envs, actions, strict=True)]
        obs = np.stack([r[0] for r in results])
        reward = np.array([r[1] for r in results], dtype=np.float64)
        terminated = np.array([r[2] for r in results], dtype=bool)
        truncated = np.array([r[3] for r in results], dtype=bool)
        infos = [r[4] for r in results]
        batched = {key: np.array([info.get(key, np.nan) for info in infos]) for key in infos[0]}
        return obs, reward, terminated, truncated, batched

    def set_task(self, env_id: int, **params: Any) -> None:
        self.envs[env_id].set_task(**params)

    def get_task(self, env_id: int) -> Task:
        return self.envs[env_id].task

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        return self.envs[env_id].render_frame(width, height)

    def close(self) -> None:
        for env in self.envs:
            env.close()


# Options of scenes whose trials are a number of steps (the gridworlds, navigation), read by `scenes.trials.Trials`.
TRIAL_STEPS_MAX = TaskParam(
    "trial_steps_max",
    "int",
    "above trial_steps: each iteration's trials last a length drawn uniformly from [trial_steps, trial_steps_max] "
    "(Memo's summary writer then trains over more writes); 0 or not above: trial_steps",
    low=0,
    high=32768,
    default=0,
)
TIME_HORIZON = TaskParam(
    "time_horizon",
    "int",
    "H > 0: append the trial time t / H to every observation (AMAGO's time input; H the longest training "
    "trial, kept when evaluating on longer ones, where t / H passes 1); 0: off",
    low=0,
    high=1 << 20,
    default=0,
)


# -------------------------------------------------------------------------------------------- batch checks
# What every batched env checks before it steps or resets (the vectorised gridworlds and bandit, navigation).


def check_env_index(env_id: int, num_envs: int) -> int:
    if isinstance(env_id, bool) or not isinstance(env_id, int | np.integer):
        raise TypeError(f"env_id must be an integer, got {env_id!r}")
    if not 0 <= env_id < num_envs:
        raise IndexError(f"env_id {env_id} out of range for {num_envs} envs")
    return int(env_id)


def check_env_ids(env_ids: np.ndarray | Sequence[int], num_envs: int) -> np.ndarray:
    ids = np.asarray(env_ids)
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(f"env_ids must be a 1-D array of integers, got {env_ids!r}")
    ids = ids.astype(np.int64, copy=False)
    if ids.size and (ids.min() < 0 or ids.max() >= num_envs):
        raise IndexError(f"env_ids out of range for {num_envs} envs: {ids}")
    return ids


def check_discrete_actions(
    actions: np.ndarray | Sequence[int], num_envs: int, num_actions: int
) -> np.ndarray:
    """`actions` as (num_envs,) int64 in [0, num_actions); integral floats (a policy's argmax kept as float)
    are accepted, anything else is a ValueError. Checked explicitly: a negative action would silently index
    from the end of a lookup table."""
    a = np.asarray(actions)
    if a.shape != (num_envs,):
        raise ValueError(f"actions must have shape ({num_envs},), got {a.shape}")
    if a.dtype.kind not in "iu":
        as_int = a.astype(np.int64) if a.dtype.kind == "f" and np.isfinite(a).all() else None
        if as_int is None or not np.array_equal(as_int, a):
            raise ValueError(f"actions must be integers in [0, {num_actions}), got dtype {a.dtype}")
        a = as_int
    if a.min() < 0 or a.max() >= num_actions:
        raise ValueError(f"actions must be integers in [0, {num_actions}), got {a.min()}..{a.max()}")
    return a.astype(np.int64, copy=False)


def check_not_ended(ended: np.ndarray) -> None:
    """A batched env has no auto-reset: stepping an env whose episode ended is a caller's bug, named."""
    if ended.any():
        ids = np.flatnonzero(ended)
        shown = ", ".join(map(str, ids[:10])) + (" ..." if ids.size > 10 else "")
        raise RuntimeError(
            f"env(s) {shown} ended their episode and were not reset; BatchEnv has no auto-reset, "
            "call reset(env_ids) for them before the next step"
        )


@dataclass
class Scene(ABC):
    """A task distribution. Subclasses set the class attributes and implement `sample_task` and the factories.

    `episodes_per_trial` / `trial_steps`: a trial is either a fixed number of episodes (RL² locomotion,
    Meta-World) or a fixed number of steps filled with as many episodes as fit (Dark-Key-To-Door).
    """

    id: ClassVar[str]
    title: ClassVar[str]
    paper: ClassVar[str]
    task_params: ClassVar[tuple[TaskParam, ...]]
    # What the task is about, per step, for the Episode signals panel (see EpisodeSignal).
    episode_signals: ClassVar[tuple[EpisodeSignal, ...]] = ()
    episode_length: ClassVar[int]
    splits: ClassVar[tuple[Split, ...]] = ("train", "test")
    episodes_per_trial: ClassVar[int | None] = None
    trial_steps: ClassVar[int | None] = None
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "continuous"
    # The step-info key that is true on a step that solves the task; an episode succeeds if any of its
    # steps does (Meta-World's success-rate convention). None: the scene reports returns only.
    success_key: ClassVar[str | None] = None
    # Step-info keys whose values, summed over an episode, are that episode's score (objnav's SPL, set on the
    # step that ends the episode); reported per episode-within-trial next to the success rate.
    score_keys: ClassVar[tuple[str, ...]] = ()
    # Scene options fix what cannot change inside a running environment (a Meta-World env class, a task
    # variant); they are chosen when the scene is made: `make_scene("ant-dir", variant="random-2d")`.
    option_params: ClassVar[tuple[TaskParam, ...]] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        defaults = {p.name: p.default for p in self.option_params}
        self.options = validate_task(self.option_params, defaults, self.options, f"{self.id} option")
        # A scene whose episodes or trials have an adjustable length declares it as an option of the same
        # name; the class value is then only its default.
        for name in ("episode_length", "trial_steps"):
            if name in self.options:
                setattr(self, name, int(self.options[name]))

    @abstractmethod
    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        """Draw one task from the given split."""

    @abstractmethod
    def make_env(self, task: Mapping[str, Any] | None = None, render_mode: str | None = None) -> TaskEnv:
        """One environment (time limit included) on `task`, or on `default_task()`. `render_mode` is
        Gymnasium's ("rgb_array" or None); `render_frame` works either way."""

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> BatchEnv:
        """`num_envs` environments, env i on tasks[i]. Vectorised scenes override this."""
        if len(tasks) != num_envs:
            raise ValueError(f"need one task per env: got {len(tasks)} tasks for {num_envs} envs")
        return EnvList([self.make_env(task) for task in tasks])

    @property
    def steps_per_trial(self) -> int:
        """Trials have a fixed length in steps, so a batch of trials stays in lockstep (fixed-shape rollout
        storage, batched KV caches). Episode-based trials last `episodes_per_trial * episode_length` steps;
        an episode that terminates early (a fallen Ant) is followed by another episode of the same task,
        where garage's RL² would end that trial early."""
        if self.trial_steps is not None:
            return self.trial_steps
        assert self.episodes_per_trial is not None, f"{self.id}: set episodes_per_trial or trial_steps"
        return self.episodes_per_trial * self.episode_length

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(height, width, channels) when observations begin with a camera image: the first H·W·C entries of
        the flat observation vector are the image in HWC order, values in [0, 1]; what follows is a plain
        vector. None for scenes whose observations are vectors only. Agents encode the image with a CNN
        (`agents/encoders.py`)."""
        return None

    def check_split(self, split: str) -> Split:
        if split not in self.splits:
            raise UserError(f"scene {self.id!r} has splits {', '.join(self.splits)}; got {split!r}")
        return split  # type: ignore[return-value]

    def default_task(self) -> Task:
        return self.sample_task(np.random.default_rng(0), "train")

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "paper": self.paper,
            "gym_id": gym_id(self.id),
            "action": self.action_kind,
            "episode_length": self.episode_length,
            "episodes_per_trial": self.episodes_per_trial,
            "steps_per_trial": self.steps_per_trial,
            "splits": list(self.splits),
            "success_key": self.success_key,
            "score_keys": list(self.score_keys),
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "options": [p.as_dict() for p in self.option_params],
            "task_params": [p.as_dict() for p in self.task_params],
            "episode_signals": [s.as_dict() for s in self.episode_signals],
        }


def gym_id(scene_id: str) -> str:
    return f"engram/{scene_id}-v0"
