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

How a Meta-World task becomes an Engram task dict (the schema the GUI's task editor draws):

- `env_name` (ML10 / ML45; in ML1 it is a scene option) and `task_index` pick one of Meta-World's `Task`
  objects; in ML1 `split` says whether `task_index` indexes the train or the test tasks (ML10 / ML45: an
  environment belongs to exactly one split). `task_index` edits apply the new task's goal at once; the object
  positions of a task are physical state and change at the next reset. `env_name` edits swap the MuJoCo model
  at once (see `_MetaWorldTaskEnv`).
- `goal_x`, `goal_y`, `goal_z` are Meta-World's `_target_pos`: the point the reward and `info["success"]`
  measure against. They move the goal immediately (next step's reward and success), and the goal marker with it.

Everything is built lazily and cached: an environment's 50 tasks are drawn the first time that environment is
used (≈0.5 s), so making the ML45 scene costs nothing until one of its 50 environments is touched.
"""

from __future__ import annotations

import functools
import threading
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

import gymnasium as gym
import mujoco
import numpy as np

from scenes.base import Scene, Split, Task, TaskEnv, TaskParam, validate_task
from scenes.rendering import FrameRenderer, Marker

try:
    import metaworld
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS, ML10_V3, ML45_V3
    from metaworld.sawyer_xyz_env import SawyerXYZEnv
    from metaworld.types import Task as MetaWorldTask
except ImportError as error:  # an optional backend: say how to get it (see scenes/registry.py)
    raise ImportError(
        "the metaworld-* scenes need Meta-World 3.x: pip install 'metaworld>=3.0,<4' (it pins mujoco==3.3.0)"
    ) from error

EPISODE_LENGTH = 500  # Meta-World's `SawyerXYZEnv.max_path_length`; the env itself truncates there.
TASKS_PER_ENV = 50  # Meta-World's `_N_GOALS`: every benchmark draws 50 goal / object variations per env.
ALL_ENV_NAMES: tuple[str, ...] = tuple(ALL_V3_ENVIRONMENTS)  # == metaworld.ML1.ENV_NAMES
ML10_TRAIN: tuple[str, ...] = tuple(ML10_V3["train"])
ML10_TEST: tuple[str, ...] = tuple(ML10_V3["test"])
ML45_TRAIN: tuple[str, ...] = tuple(ML45_V3["train"])
ML45_TEST: tuple[str, ...] = tuple(ML45_V3["test"])

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
# Identity parameters pick a Meta-World Task; an edit naming one of them defaults the goal to that Task's goal.
_IDENTITY_NAMES = ("env_name", "split", "task_index")


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
# Tasks: Meta-World's Task objects and their goals, drawn lazily per (env, split) and shared between scenes.


class _TaskCatalog:
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
                    self._scratch[env_name] = ALL_V3_ENVIRONMENTS[env_name]()
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
def _catalog(benchmark: str, task_seed: int) -> _TaskCatalog:
    """One catalog per (benchmark, seed) per process, shared by every scene instance: the registry makes a new
    scene for every `gym.make`, and tasks are expensive to draw."""
    if benchmark.startswith("ML1:"):
        env_name = benchmark.removeprefix("ML1:")
        return _TaskCatalog((env_name,), (env_name,), _ml1_seed(task_seed))
    if benchmark == "ML10":
        return _TaskCatalog(ML10_TRAIN, ML10_TEST, _per_env_seed(task_seed))
    if benchmark == "ML45":
        return _TaskCatalog(ML45_TRAIN, ML45_TEST, _per_env_seed(task_seed))
    raise ValueError(f"unknown Meta-World benchmark {benchmark!r}")


# ----------------------------------------------------------------------------------------------------------------
# Rendering


def _camera() -> mujoco.MjvCamera:
    # A free camera rather than Meta-World's named ones ("corner", "corner2", "corner3" render upside down or
    # crop the table, "topview" hides heights): this one shows the arm, the table and the goal in every env.
    # (Meta-World renders nothing by default, so there is no camera of theirs to be faithful to.)
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    camera.lookat[:] = (0.0, 0.6, 0.1)
    camera.distance = 1.75
    camera.azimuth = 150.0
    camera.elevation = -30.0
    return camera


def _goal_marker(goal: np.ndarray) -> Marker:
    # Translucent yellow, a colour no Meta-World env uses for its own goal sites (red, green, blue).
    return Marker(
        "sphere",
        start=(float(goal[0]), float(goal[1]), float(goal[2])),
        size=0.025,
        rgba=(1.0, 0.85, 0.0, 0.55),
    )


# ----------------------------------------------------------------------------------------------------------------
# Environments


class _MetaWorldTaskEnv(TaskEnv):
    """A Meta-World v3 environment behind Engram's task schema (see the scene classes for the full spec).

    It owns one Meta-World env per env name it has been on (constructed lazily, kept for switching back) and a
    `FrameRenderer` (one `mujoco.Renderer` per frame size) for the active env. Render from the thread that owns
    the env (GL contexts belong to one thread).

    Task edits:
    - goal_x / goal_y / goal_z: `_target_pos` and the env's goal site(s) move at once; the next step's reward and
      success use the new goal, and a frame rendered before that step already shows it.
    - task_index / split: the new task's goal applies at once (unless the same edit names goal values); its object
      positions apply at the next reset.
    - env_name (ML10 / ML45): the MuJoCo model is swapped at once: the arm and objects jump to the new env's
      initial state for task_index, and the episode's step count carries over, so truncation stays at step 500.
      (Deferring the swap to the next reset would leave `task` describing an env that is not the one running.)

    The observation space is Meta-World's own: hand and goal positions are bounded, object positions and
    quaternions are (-inf, inf), and the three goal slots are [0, 0] because Meta-World hides the goal (the
    agent must find it). So `check_env` warns about infinite bounds and equal bounds, as expected.
    """

    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    # render_fps: Meta-World's.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 80}  # type: ignore[misc]

    def __init__(
        self,
        catalog: _TaskCatalog,
        task: Mapping[str, Any],
        env_name: str | None = None,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (480, 480),
    ) -> None:
        super().__init__(task, render_mode, render_size)
        self._catalog = catalog
        self._fixed_env_name = env_name  # ML1: the env is a scene option, not a task parameter
        self._envs: dict[str, SawyerXYZEnv] = {}
        self._frames: FrameRenderer | None = None
        self._camera = _camera()
        self._mw = self._make_active(self._env_name(self._task))
        # Copies, so the spaces stay the same objects when ML10 / ML45 swap envs (all v3 envs share them).
        mw_obs = cast(gym.spaces.Box, self._mw.observation_space)  # Meta-World's are Boxes
        self.observation_space = gym.spaces.Box(mw_obs.low, mw_obs.high, dtype=np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)
        # Reset now so the env renders and steps correctly even before the caller's first reset().
        self._reset_active()

    # -- task bookkeeping --------------------------------------------------------------------------------------

    def _env_name(self, task: Mapping[str, Any]) -> str:
        return self._fixed_env_name if self._fixed_env_name is not None else task["env_name"]

    def _split(self, task: Mapping[str, Any]) -> Split:
        return task["split"] if "split" in task else self._catalog.split_of(task["env_name"])

    def _metaworld_task(self, task: Mapping[str, Any]) -> MetaWorldTask:
        return self._catalog.task(self._env_name(task), self._split(task), task["task_index"])

    def set_task(self, **params: Any) -> None:
        """Change the task; see the class docstring for when each parameter takes effect. An edit naming
        env_name, split or task_index sets the goal coordinates it does not name to that task's own goal."""
        if any(name in params for name in _IDENTITY_NAMES):
            # Validate first, so a bad env_name / task_index raises its schema error before any lookup.
            candidate = validate_task(self.task_params, self._task, params)
            own_goal = self._catalog.task_dict_goal(
                self._env_name(candidate), self._split(candidate), candidate["task_index"]
            )
            params = {**own_goal, **params}
        super().set_task(**params)

    def _apply_task(self, task: Task) -> None:
        # Called by TaskEnv.set_task after validation and before the task is stored.
        env_name = self._env_name(task)
        if self._mw is not self._envs.get(env_name):
            steps_done = self._mw.curr_path_length
            self._close_frames()  # a renderer belongs to one MjModel
            self._mw = self._make_active(env_name)
            self._mw.set_task(self._metaworld_task(task))
            self._mw.reset()
            # Meta-World truncates at curr_path_length == 500: carry the count so the episode still ends there.
            self._mw.curr_path_length = steps_done
        self._place_goal(task)

    def _make_active(self, env_name: str) -> SawyerXYZEnv:
        if env_name not in self._envs:
            self._envs[env_name] = ALL_V3_ENVIRONMENTS[env_name]()
        return self._envs[env_name]

    def _place_goal(self, task: Mapping[str, Any]) -> None:
        """Make `_target_pos` the task's goal, and move the goal site(s) that Meta-World itself placed there."""
        mw = self._mw
        goal = np.array([task[name] for name in GOAL_NAMES], dtype=np.float64)
        old = np.asarray(mw._target_pos, dtype=np.float64)
        # When the goal is unchanged, keep Meta-World's own array: in some envs it is a live view (basketball:
        # the goal site's xpos).
        if not np.array_equal(old, goal):
            for site_id in range(mw.model.nsite):
                # Meta-World's resets write the target into the goal site's model position (reach's red ball,
                # push's green one); a site that holds the old target is the goal marker and moves with it.
                if np.allclose(mw.model.site_pos[site_id], old, rtol=0.0, atol=1e-9):
                    mw.model.site_pos[site_id] = goal
            # A new array, never an in-place write: `_target_pos` can be a view into the task's rand_vec.
            mw._target_pos = goal
        # Recompute world positions of bodies and sites from qpos, so a frame rendered before the next step shows
        # the goal site where it now is (Meta-World's push / sweep resets leave it where the last episode had it
        # until the first step). mj_step recomputes all of these from qpos anyway: replay stays bit-identical.
        mujoco.mj_kinematics(mw.model, mw.data)

    # -- Gymnasium API -----------------------------------------------------------------------------------------

    def _reset_active(self) -> np.ndarray:
        self._mw.set_task(self._metaworld_task(self._task))
        obs, _ = self._mw.reset()
        # The task's goal may have been edited; the observation hides the goal (zeros), so `obs` is unaffected.
        self._place_goal(self._task)
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode of the current task. Meta-World's initial state is a deterministic function of the
        task (its rand_vec), so `seed` changes nothing in the simulation; it seeds `self.np_random` and, as
        Meta-World recommends (its reset ignores `seed`), the Meta-World env's own RNG via `env.seed`."""
        super().reset(seed=seed)
        if seed is not None:
            self._mw.seed(seed)
        return self._reset_active(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (4,):  # Meta-World only asserts the length
            raise ValueError(f"action must have shape (4,), got {action.shape}")
        obs, reward, terminated, truncated, info = self._mw.step(action)
        info = dict(info)
        # Meta-World reports success as 0.0 / 1.0; a bool says what it is (means of it are still success rates).
        info["success"] = bool(info["success"])
        return obs, float(reward), bool(terminated), bool(truncated), info

    @property
    def metaworld_env(self) -> SawyerXYZEnv:
        """The active Meta-World env, for inspection (tests, debugging). Writing to it bypasses the task schema."""
        return self._mw

    # -- rendering ---------------------------------------------------------------------------------------------

    def default_camera(self) -> mujoco.MjvCamera:
        """A fresh copy of the camera `render_frame` uses by default (the GUI's mouse camera starts from it)."""
        return _camera()

    def render_frame(
        self, width: int = 480, height: int = 480, camera: mujoco.MjvCamera | int | str | None = None
    ) -> np.ndarray:
        """An RGB frame from the default free camera (or `camera`: an MjvCamera, or a Meta-World camera name
        such as "topview"), with a marker at the goal the reward uses: several envs have no visible goal site
        (buttons, handles, shelf-place), and in others the site belongs to a moving body. Meta-World's own
        renders have no such marker."""
        if self._frames is None:
            # FrameRenderer's fast mode also drops the models' 4x multisampling (3x faster on llvmpipe).
            self._frames = FrameRenderer(self._mw.model, self._mw.data)
        goal = np.asarray(self._mw._target_pos, dtype=np.float64)
        return self._frames.render(
            width, height, self._camera if camera is None else camera, [_goal_marker(goal)]
        )

    def _close_frames(self) -> None:
        if self._frames is not None:
            self._frames.close()
            self._frames = None

    def close(self) -> None:
        self._close_frames()
        for env in self._envs.values():
            env.close()


def _env_name_param(train: Sequence[str], test: Sequence[str], benchmark: str) -> TaskParam:
    return TaskParam(
        "env_name",
        "choice",
        f"the Meta-World environment ({len(train)} {benchmark} train envs, then {len(test)} held-out test envs; "
        "an edit swaps the model at once)",
        choices=(*train, *test),
        default=train[0],
    )


class _ML1TaskEnv(_MetaWorldTaskEnv):
    task_params: ClassVar[tuple[TaskParam, ...]] = (SPLIT_PARAM, TASK_INDEX_PARAM, *GOAL_PARAMS)


class _ML10TaskEnv(_MetaWorldTaskEnv):
    task_params: ClassVar[tuple[TaskParam, ...]] = (
        _env_name_param(ML10_TRAIN, ML10_TEST, "ML10"),
        TASK_INDEX_PARAM,
        *GOAL_PARAMS,
    )


class _ML45TaskEnv(_MetaWorldTaskEnv):
    task_params: ClassVar[tuple[TaskParam, ...]] = (
        _env_name_param(ML45_TRAIN, ML45_TEST, "ML45"),
        TASK_INDEX_PARAM,
        *GOAL_PARAMS,
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
    _env_class: ClassVar[type[_MetaWorldTaskEnv]]

    @property
    def catalog(self) -> _TaskCatalog:
        return _catalog(self._benchmark_key(), self.options["task_seed"])

    @abstractmethod
    def _benchmark_key(self) -> str:
        """The `_catalog` key: "ML1:<env>", "ML10" or "ML45"."""

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
    task_params: ClassVar[tuple[TaskParam, ...]] = _ML1TaskEnv.task_params
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
    _env_class: ClassVar[type[_MetaWorldTaskEnv]] = _ML1TaskEnv

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
    task_params: ClassVar[tuple[TaskParam, ...]] = _ML10TaskEnv.task_params
    option_params: ClassVar[tuple[TaskParam, ...]] = (_task_seed_param(),)
    _env_class: ClassVar[type[_MetaWorldTaskEnv]] = _ML10TaskEnv

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
    task_params: ClassVar[tuple[TaskParam, ...]] = _ML45TaskEnv.task_params
    option_params: ClassVar[tuple[TaskParam, ...]] = (_task_seed_param(),)
    _env_class: ClassVar[type[_MetaWorldTaskEnv]] = _ML45TaskEnv

    def _benchmark_key(self) -> str:
        return "ML45"


__all__ = ["MetaWorldML1", "MetaWorldML10", "MetaWorldML45"]
