"""Meta-World ML1 / ML10 / ML45 (metaworld 3.x, `-v3` tasks) as Engram scenes, as TrMRL evaluates them.

Meta-World (Yu et al., "Meta-World: A Benchmark and Evaluation for Multi-Task and Meta Reinforcement
Learning", CoRL 2019; the `metaworld` 3.x package, Farama-Foundation/Metaworld) is 50 manipulation tasks for a
simulated Sawyer arm. Its meta-RL benchmarks:

- ML1: one environment (e.g. `reach-v3`); 50 train tasks and 50 test tasks, each a different goal / object
  position ("parametric" variation) of that one environment.
- ML10: 10 train environments and 5 held-out test environments, 50 goal / object variations each.
- ML45: 45 train environments and 5 held-out test environments, 50 variations each.

TrMRL (Melo, ICML 2022) trains on the train tasks with 10 episodes of 500 steps per trial and reports the
success rate on train and test tasks (docs/reference/trmrl.md).

This module holds the scenes (the registry's entry: specification, task sampling, benchmark options). The task
schema and the lazily drawn catalog of Meta-World tasks are in scenes/metaworld_tasks.py; the environment that
runs them, applies task edits and renders is in scenes/metaworld_env.py.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from scenes.base import EpisodeSignal, Scene, Split, Task, TaskEnv, TaskParam, validate_task
from scenes.metaworld_env import MetaWorldTaskEnv, ML1TaskEnv, ML10TaskEnv, ML45TaskEnv
from scenes.metaworld_tasks import (
    ALL_ENV_NAMES,
    GOAL_NAMES,
    ML1_TASK_PARAMS,
    ML10_TASK_PARAMS,
    ML10_TEST,
    ML10_TRAIN,
    ML45_TASK_PARAMS,
    ML45_TEST,
    TASKS_PER_ENV,
    TaskCatalog,
    benchmark_catalog,
)

EPISODE_LENGTH = 500  # Meta-World's `SawyerXYZEnv.max_path_length`; the env itself truncates there.


def _task_seed_param() -> TaskParam:
    return TaskParam(
        "task_seed",
        "int",
        "seed of Meta-World's task generation (which 50 variations each environment gets)",
        low=0,
        high=2**31 - 2,  # np.random.seed takes < 2**32; ML1's test tasks use task_seed + 1
        default=0,
    )


# ----------------------------------------------------------------------------------------------------------------
# Scenes

_SPEC = """
    ## Action Space
    `Box(-1, 1, (4,), float32)`: 0-2 the hand's displacement (x, y, z), scaled by 1/100 m per step (the hand's
    mocap target is clipped to the env's hand box); 3 the gripper effort (-1 open, +1 closed).

    ## Observation Space
    `Box(39,) float64`, Meta-World's observation as is: 0-2 hand position, 3 gripper opening (0..1), 4-17 up to
    two objects' position (3) and quaternion (4), zero-padded; 18-35 the same 18 values one step earlier; 36-38
    the goal position, which the ML benchmarks zero out (`partially_observable=True`): the agent must find the
    goal from rewards, which is what makes these meta-RL tasks.

    ## Rewards
    Meta-World's own dense reward for each v3 env (its `reward_function_version="v2"`, the default), in [0, 10];
    10 once the task is solved. E.g. reach-v3: `10 * tolerance(|tcp - goal|, bounds=(0, 0.05),
    margin=|hand_init_pos - goal|, sigmoid="long_tail")`. `info` carries Meta-World's reward terms
    (near_object, grasp_success, grasp_reward, in_place_reward, obj_to_target, unscaled_reward) and `success`
    (bool; Meta-World's 0.0 / 1.0 as a bool), e.g. reach: |tcp - goal| <= 0.05, push: |object - goal| <= 0.05.

    ## Starting State
    The arm at Meta-World's hand start position, objects and goal where the task (its `rand_vec`) puts them: a
    deterministic function of the task; the reset seed changes nothing (Meta-World has no reset noise).

    ## Episode End
    Never terminates (Meta-World returns terminated=False, also on success); truncated=True at step 500
    (`max_path_length`), returned by the env itself. Stepping past it raises ValueError (Meta-World's rule).
    A trial is 10 episodes of the same task (TrMRL's Meta-World setting).

    ## Rendering
    `render_frame(w, h)`: offscreen `mujoco.Renderer` via scenes.rendering (one per size; shadows, reflections,
    skybox and multisampling off for software GL), a fixed free camera over arm and table, and a translucent
    yellow sphere at the goal. `render()` returns a `render_size` frame when `render_mode="rgb_array"`.
"""


@dataclass
class _MetaWorldScene(Scene):
    paper: ClassVar[str] = (
        "Melo, Transformers are Meta-Reinforcement Learners, ICML 2022 (Meta-World setting); "
        "Yu et al., Meta-World, CoRL 2019 (metaworld 3.x, v3 tasks)"
    )
    episode_length: ClassVar[int] = EPISODE_LENGTH
    splits: ClassVar[tuple[Split, ...]] = ("train", "test")
    # docs/reference/trmrl.md table: Meta-World ML1 / ML10 / ML45
    episodes_per_trial: ClassVar[int | None] = 10
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "continuous"
    success_key: ClassVar[str | None] = "success"
    # Meta-World's obj_to_target: the object's distance to the goal (the hand's on reach, which has no object).
    episode_signals: ClassVar[tuple[EpisodeSignal, ...]] = (
        EpisodeSignal("obj_to_target", "distance to the goal", "m"),
        EpisodeSignal("success", "success", kind="event"),
    )
    _env_class: ClassVar[type[MetaWorldTaskEnv]]

    @property
    def catalog(self) -> TaskCatalog:
        return benchmark_catalog(self._benchmark_key(), self.options["task_seed"])

    @abstractmethod
    def _benchmark_key(self) -> str:
        """The `benchmark_catalog` key: "ML1:<env>", "ML10" or "ML45"."""

    def _fixed_env_name(self) -> str | None:
        return None

    def make_env(self, task: Mapping[str, Any] | None = None, render_mode: str | None = None) -> TaskEnv:
        """An env on `task` (default: `default_task()`, a train task drawn with rng seed 0). Goal coordinates
        the task leaves out default to the named task's own goal, so `{"env_name": ..., "task_index": 3}` (ML1:
        `{"split": ..., "task_index": 3}`) is a full task."""
        task = self.default_task() if task is None else self._complete(task)
        return self._env_class(self.catalog, task, self._fixed_env_name(), render_mode=render_mode)

    def _complete(self, task: Mapping[str, Any]) -> Task:
        identity = [p for p in self._env_class.task_params if p.name not in GOAL_NAMES]
        # Validate what identifies the task first, so e.g. an unknown env_name raises its schema error.
        picked = validate_task(identity, {}, {k: v for k, v in task.items() if k not in GOAL_NAMES})
        if all(p.name in picked for p in identity):
            env_name = self._fixed_env_name() or picked["env_name"]
            split = picked.get("split") or self.catalog.split_of(env_name)
            return {**self.catalog.task_dict_goal(env_name, split, picked["task_index"]), **task}
        return dict(task)  # incomplete: TaskEnv names what is missing


@dataclass
class MetaWorldML1(_MetaWorldScene):
    __doc__ = (
        """Meta-World ML1: one manipulation env (scene option `env_name`, default reach-v3), 50 train and 50
    test goal / object variations of it.

    ## Description
    A Sawyer arm on a table. Each task is one of Meta-World's `Task`s for the env: a `rand_vec` that places the
    object(s) and the goal. Train and test tasks are the same env with different draws (metaworld.ML1: train
    tasks from `task_seed`, test tasks from `task_seed + 1`, exactly). TrMRL reports ML1 reach, push and
    pick-place.

    ## Task parameters
    - `split` (train | test) and `task_index` (0-49): which Meta-World task; edits apply its goal at once and
      its object positions at the next reset.
    - `goal_x`, `goal_y`, `goal_z` (m, within Meta-World's hand box): the goal the reward and success use;
      applies at the next step, also mid-episode.

    ## Options
    `env_name`: any of the 50 v3 envs (`make_scene("metaworld-ml1", env_name="push-v3")`); `task_seed`.
"""
        + _SPEC
    )

    id: ClassVar[str] = "metaworld-ml1"
    title: ClassVar[str] = "Meta-World ML1 (one env, goal / object variations)"
    task_params: ClassVar[tuple[TaskParam, ...]] = ML1_TASK_PARAMS
    option_params: ClassVar[tuple[TaskParam, ...]] = (
        TaskParam(
            "env_name",
            "choice",
            "the Meta-World v3 environment whose 50 + 50 goal / object variations are the tasks",
            choices=ALL_ENV_NAMES,
            default="reach-v3",
        ),
        _task_seed_param(),
    )
    _env_class: ClassVar[type[MetaWorldTaskEnv]] = ML1TaskEnv

    def _benchmark_key(self) -> str:
        return "ML1:" + self.options["env_name"]

    def _fixed_env_name(self) -> str | None:
        return self.options["env_name"]

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        split = self.check_split(split)
        index = int(rng.integers(TASKS_PER_ENV))
        goal = self.catalog.task_dict_goal(self.options["env_name"], split, index)
        return {"split": split, "task_index": index, **goal}


@dataclass
class _MetaWorldMultiEnvScene(_MetaWorldScene):
    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        split = self.check_split(split)
        env_names = self.catalog.env_names(split)
        env_name = env_names[int(rng.integers(len(env_names)))]
        index = int(rng.integers(TASKS_PER_ENV))
        return {
            "env_name": env_name,
            "task_index": index,
            **self.catalog.task_dict_goal(env_name, split, index),
        }


@dataclass
class MetaWorldML10(_MetaWorldMultiEnvScene):
    __doc__ = (
        f"""Meta-World ML10: 10 train envs, 5 held-out test envs, 50 goal / object variations each.

    ## Description
    Train envs: {", ".join(ML10_TRAIN)}. Test envs (never seen in training): {", ".join(ML10_TEST)}. A task is
    (env, variation); `sample_task(rng, split)` draws the env uniformly from the split, then the variation.
    Deviation: Meta-World's `ML10(seed)` draws all envs' variations from one RNG stream while building all 15
    envs (≈8 s); we draw each env's 50 with Meta-World's own procedure and a per-env seed when the env is first
    used (same distribution, different draws).

    ## Task parameters
    - `env_name`: any of the 15 envs; a mid-episode edit swaps the MuJoCo model at once (the arm and objects
      jump to the new env's initial state; the step count carries over).
    - `task_index` (0-49): which variation; its goal applies at once, its object positions at the next reset.
    - `goal_x`, `goal_y`, `goal_z` (m): the goal the reward and success use; applies at the next step.

    ## Options
    `task_seed`.
"""
        + _SPEC
    )

    id: ClassVar[str] = "metaworld-ml10"
    title: ClassVar[str] = "Meta-World ML10 (10 train envs, 5 test envs)"
    task_params: ClassVar[tuple[TaskParam, ...]] = ML10_TASK_PARAMS
    option_params: ClassVar[tuple[TaskParam, ...]] = (_task_seed_param(),)
    _env_class: ClassVar[type[MetaWorldTaskEnv]] = ML10TaskEnv

    def _benchmark_key(self) -> str:
        return "ML10"


@dataclass
class MetaWorldML45(_MetaWorldMultiEnvScene):
    __doc__ = (
        f"""Meta-World ML45: 45 train envs, 5 held-out test envs, 50 goal / object variations each.

    ## Description
    Test envs (never seen in training): {", ".join(ML45_TEST)}; every other v3 env is a train env. Same task
    dict and behaviour as metaworld-ml10. Envs are built lazily and cached: Meta-World's `ML45(seed)` builds
    all 50 envs and resets each 50 times (≈30 s on 2 cores); here an env costs ≈0.7 s the first time it is used.
    Deviation: per-env task draws, as in metaworld-ml10.

    ## Task parameters
    `env_name` (50 choices), `task_index` (0-49), `goal_x`, `goal_y`, `goal_z` (m): as in metaworld-ml10.

    ## Options
    `task_seed`.
"""
        + _SPEC
    )

    id: ClassVar[str] = "metaworld-ml45"
    title: ClassVar[str] = "Meta-World ML45 (45 train envs, 5 test envs)"
    task_params: ClassVar[tuple[TaskParam, ...]] = ML45_TASK_PARAMS
    option_params: ClassVar[tuple[TaskParam, ...]] = (_task_seed_param(),)
    _env_class: ClassVar[type[MetaWorldTaskEnv]] = ML45TaskEnv

    def _benchmark_key(self) -> str:
        return "ML45"


__all__ = ["MetaWorldML1", "MetaWorldML10", "MetaWorldML45"]
