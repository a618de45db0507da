"""The Meta-World environment behind Engram's task schema: one `TaskEnv` that runs Meta-World v3 envs, applies
task edits (goal, task, env swaps) and renders with a goal marker.

The schema and the catalog of Meta-World `Task`s it draws from are in scenes/metaworld_tasks.py; the scenes
that make these envs, with the full specification, in scenes/metaworld_ml.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

import gymnasium as gym
import mujoco
import numpy as np

from scenes.base import Split, Task, TaskEnv, TaskParam, validate_task
from scenes.metaworld_tasks import (
    GOAL_NAMES,
    ML1_TASK_PARAMS,
    ML10_TASK_PARAMS,
    ML45_TASK_PARAMS,
    TaskCatalog,
    new_env,
)
from scenes.rendering import FrameRenderer, Marker

if TYPE_CHECKING:
    # Types only: at run time Meta-World is imported by scenes.metaworld_tasks, which says how to install it
    # when it is missing.
    from metaworld.sawyer_xyz_env import SawyerXYZEnv
    from metaworld.types import Task as MetaWorldTask

# Identity parameters pick a Meta-World Task; an edit naming one of them defaults the goal to that Task's goal.
_IDENTITY_NAMES = ("env_name", "split", "task_index")


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


class MetaWorldTaskEnv(TaskEnv):
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
        catalog: TaskCatalog,
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
            self._envs[env_name] = new_env(env_name)
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


class ML1TaskEnv(MetaWorldTaskEnv):
    task_params: ClassVar[tuple[TaskParam, ...]] = ML1_TASK_PARAMS


class ML10TaskEnv(MetaWorldTaskEnv):
    task_params: ClassVar[tuple[TaskParam, ...]] = ML10_TASK_PARAMS


class ML45TaskEnv(MetaWorldTaskEnv):
    task_params: ClassVar[tuple[TaskParam, ...]] = ML45_TASK_PARAMS
