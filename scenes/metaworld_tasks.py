"""Meta-World tasks as Engram task dicts: the task schema and the lazily drawn catalog of Meta-World `Task`s.

How a Meta-World task becomes an Engram task dict (the schema the GUI's task editor draws):

- `env_name` (ML10 / ML45; in ML1 it is a scene option) and `task_index` pick one of Meta-World's `Task`
  objects; in ML1 `split` says whether `task_index` indexes the train or the test tasks (ML10 / ML45: an
  environment belongs to exactly one split). `task_index` edits apply the new task's goal at once; the object
  positions of a task are physical state and change at the next reset. `env_name` edits swap the MuJoCo model
  at once (see `MetaWorldTaskEnv` in scenes/metaworld_env.py).
- `goal_x`, `goal_y`, `goal_z` are Meta-World's `_target_pos`: the point the reward and `info["success"]`
  measure against. They move the goal immediately (next step's reward and success), and the goal marker with it.

Everything is built lazily and cached: an environment's 50 tasks are drawn the first time that environment is
used (≈0.5 s), so making the ML45 scene costs nothing until one of its 50 environments is touched.

This is the one module that imports `metaworld` at run time, so a missing install is explained here, whichever
Meta-World module is imported first.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

import numpy as np

from scenes.base import Split, Task, TaskParam

try:
    import metaworld
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS, ML10_V3, ML45_V3
    from metaworld.sawyer_xyz_env import SawyerXYZEnv
    from metaworld.types import Task as MetaWorldTask
except ImportError as error:  # an optional backend: say how to get it (see scenes/registry.py)
    raise ImportError(
        "the metaworld-* scenes need Meta-World 3.x: pip install 'metaworld>=3.0,<4' (it pins mujoco==3.3.0)"
    ) from error

TASKS_PER_ENV = 50  # Meta-World's `_N_GOALS`: every benchmark draws 50 goal / object variations per env.
ALL_ENV_NAMES: tuple[str, ...] = tuple(ALL_V3_ENVIRONMENTS)  # == metaworld.ML1.ENV_NAMES
ML10_TRAIN: tuple[str, ...] = tuple(ML10_V3["train"])
ML10_TEST: tuple[str, ...] = tuple(ML10_V3["test"])
ML45_TRAIN: tuple[str, ...] = tuple(ML45_V3["train"])
ML45_TEST: tuple[str, ...] = tuple(ML45_V3["test"])

# ----------------------------------------------------------------------------------------------------------------
# The task schema

# The goal range of the schema is the box Meta-World bounds the hand position to in observations. Every goal of
# every task of every v3 env lies inside it (checked for task_seed 0: all 50 envs x 50 tasks). Meta-World draws a task's goal
# from a smaller per-env `goal_space`; we allow the whole box because (1) ML10 / ML45 switch envs, so one static
# range must serve them all, (2) some envs' goal_space has zero width on an axis (bin-picking, hammer, sweep-into
# use one goal for all 50 tasks), which would make the slider useless, and (3) moving a goal out of the training
# distribution is an experiment a meta-RL playground is for.
_GOAL_BOX = SawyerXYZEnv._HAND_SPACE
_AXIS_DOC = {
    "x": "left (-) / right (+) of the robot base",
    "y": "distance in front of the robot base (the table spans y ≈ 0.4 .. 1.0)",
    "z": "height above the table top (z = 0)",
}
GOAL_PARAMS: tuple[TaskParam, ...] = tuple(
    TaskParam(
        f"goal_{axis}",
        "float",
        # One line for the editor's tooltip; the environment's docstring says when each edit applies.
        f"goal {axis}, {_AXIS_DOC[axis]}: where the gripper / object must go (applies at the next step)",
        unit="m",
        low=float(_GOAL_BOX.low[i]),
        high=float(_GOAL_BOX.high[i]),
    )
    for i, axis in enumerate("xyz")
)
GOAL_NAMES: tuple[str, ...] = tuple(p.name for p in GOAL_PARAMS)
TASK_INDEX_PARAM = TaskParam(
    "task_index",
    "int",
    f"which of Meta-World's {TASKS_PER_ENV} goal / object variations (goal at once, objects at the next reset)",
    low=0,
    high=TASKS_PER_ENV - 1,
    default=0,
)
SPLIT_PARAM = TaskParam(
    "split",
    "choice",
    "whether task_index points into Meta-World's ML1 train or test tasks (applies like task_index)",
    choices=("train", "test"),
    default="train",
)


def _env_name_param(train: Sequence[str], test: Sequence[str], benchmark: str) -> TaskParam:
    return TaskParam(
        "env_name",
        "choice",
        f"the Meta-World environment ({len(train)} {benchmark} train envs, then {len(test)} held-out test envs; "
        "an edit swaps the model at once)",
        choices=(*train, *test),
        default=train[0],
    )


# The task schema of each benchmark: what picks the Meta-World Task, then the goal.
ML1_TASK_PARAMS: tuple[TaskParam, ...] = (SPLIT_PARAM, TASK_INDEX_PARAM, *GOAL_PARAMS)
ML10_TASK_PARAMS: tuple[TaskParam, ...] = (
    _env_name_param(ML10_TRAIN, ML10_TEST, "ML10"),
    TASK_INDEX_PARAM,
    *GOAL_PARAMS,
)
ML45_TASK_PARAMS: tuple[TaskParam, ...] = (
    _env_name_param(ML45_TRAIN, ML45_TEST, "ML45"),
    TASK_INDEX_PARAM,
    *GOAL_PARAMS,
)


# ----------------------------------------------------------------------------------------------------------------
# Tasks: Meta-World's Task objects and their goals, drawn lazily per (env, split) and shared between scenes.


def new_env(env_name: str) -> SawyerXYZEnv:
    """A fresh Meta-World v3 env by name, with no task set yet (Meta-World requires `set_task` before `reset`)."""
    return ALL_V3_ENVIRONMENTS[env_name]()


class TaskCatalog:
    """The Meta-World `Task`s of one benchmark instance, with the goal (`_target_pos`) each one resets to.

    Meta-World's `ML10(seed)` / `ML45(seed)` constructors build every environment of the benchmark and reset each
    50 times, drawing all goals from ONE global-RNG stream (≈8 s / ≈30 s on 2 cores). We instead draw each
    environment's 50 tasks separately, with Meta-World's own procedure (`CustomML([env], [], seed)`), the first
    time the environment is used. Deviation: for ML10 / ML45 the tasks follow the same distribution as
    `ML10(seed)` / `ML45(seed)` but are different draws (the per-env seed is derived from `task_seed` and the
    env). For ML1 the tasks are exactly `metaworld.ML1(env_name, seed=task_seed)`'s (train: seed, test: seed + 1).
    """

    def __init__(
        self,
        train_envs: Sequence[str],
        test_envs: Sequence[str],
        seed_for: Callable[[str, Split], int],
    ) -> None:
        self.train_envs = tuple(train_envs)
        self.test_envs = tuple(test_envs)
        self._seed_for = seed_for
        self._tasks: dict[tuple[str, Split], list[MetaWorldTask]] = {}
        self._goals: dict[tuple[str, Split, int], tuple[float, float, float]] = {}
        # One spare env per env name whose only job is resetting onto a task to read its goal: a live env cannot
        # be reset mid-episode just to look up where another task's goal is.
        self._scratch: dict[str, SawyerXYZEnv] = {}
        # The GUI thread (task editor) and the trainer's thread may both look tasks up.
        self._lock = threading.RLock()

    def env_names(self, split: Split) -> tuple[str, ...]:
        return self.train_envs if split == "train" else self.test_envs

    def split_of(self, env_name: str) -> Split:
        """The split an env belongs to (ML10 / ML45: train and test envs are disjoint)."""
        return "train" if env_name in self.train_envs else "test"

    def tasks(self, env_name: str, split: Split) -> list[MetaWorldTask]:
        with self._lock:
            key = (env_name, split)
            if key not in self._tasks:
                # CustomML is Meta-World's public way to run its `_make_tasks` on a chosen set of envs; with seed
                # given it saves and restores NumPy's global RNG, so drawing tasks does not disturb anyone else.
                benchmark = metaworld.CustomML([env_name], [], seed=self._seed_for(env_name, split))
                tasks = list(benchmark.train_tasks)
                assert len(tasks) == TASKS_PER_ENV, f"{env_name}: {len(tasks)} tasks"
                self._tasks[key] = tasks
            return self._tasks[key]

    def task(self, env_name: str, split: Split, index: int) -> MetaWorldTask:
        return self.tasks(env_name, split)[index]

    def goal(self, env_name: str, split: Split, index: int) -> tuple[float, float, float]:
        """Where `_target_pos` is after a reset onto that task (env-specific: some envs derive it from the
        randomised object, e.g. a button's pressed position), found by resetting a scratch env onto it."""
        with self._lock:
            key = (env_name, split, index)
            if key not in self._goals:
                task = self.task(env_name, split, index)
                if env_name not in self._scratch:
                    self._scratch[env_name] = new_env(env_name)
                scratch = self._scratch[env_name]
                scratch.set_task(task)
                scratch.reset()
                x, y, z = (float(v) for v in np.asarray(scratch._target_pos))
                self._goals[key] = (x, y, z)
            return self._goals[key]

    def task_dict_goal(self, env_name: str, split: Split, index: int) -> Task:
        return dict(zip(GOAL_NAMES, self.goal(env_name, split, index), strict=True))


def _ml1_seed(task_seed: int) -> Callable[[str, Split], int]:
    # Exactly metaworld.ML1(env_name, seed): train tasks from seed, test tasks from seed + 1.
    return lambda env_name, split: task_seed if split == "train" else task_seed + 1


def _per_env_seed(task_seed: int) -> Callable[[str, Split], int]:
    # Stable across processes and Python versions (no hash()): mix the seed with the env's position in Meta-World's
    # fixed list of the 50 v3 envs. Train and test envs are disjoint, so the split needs no part in it (Meta-World's
    # ML10 / ML45 also use one seed for both splits).
    def seed_for(env_name: str, split: Split) -> int:
        sequence = np.random.SeedSequence([task_seed, ALL_ENV_NAMES.index(env_name)])
        return int(sequence.generate_state(1)[0])

    return seed_for


@functools.cache
def benchmark_catalog(benchmark: str, task_seed: int) -> TaskCatalog:
    """One catalog per (benchmark, seed) per process, shared by every scene instance: the registry makes a new
    scene for every `gym.make`, and tasks are expensive to draw."""
    if benchmark.startswith("ML1:"):
        env_name = benchmark.removeprefix("ML1:")
        return TaskCatalog((env_name,), (env_name,), _ml1_seed(task_seed))
    if benchmark == "ML10":
        return TaskCatalog(ML10_TRAIN, ML10_TEST, _per_env_seed(task_seed))
    if benchmark == "ML45":
        return TaskCatalog(ML45_TRAIN, ML45_TEST, _per_env_seed(task_seed))
    raise ValueError(f"unknown Meta-World benchmark {benchmark!r}")
