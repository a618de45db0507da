"""MuJoCo locomotion task distributions of TrMRL (ICML 2022, §5) in the PEARL / MAML conventions.

All four are built on Gymnasium's `HalfCheetah-v5` / `Ant-v5` (same XML models, frame skip 5, dt 0.05 s, reset
noise 0.1). The Gymnasium env does the physics and the observation; this module replaces its reward with the
meta-RL task's reward and adds the 200-step time limit. Observations are Gymnasium v5's (HalfCheetah 17-d:
qpos[1:], qvel; Ant 105-d: qpos[2:], qvel, clipped external contact forces of the 13 bodies).

Deviation from the official TrMRL code (garage's mujoco-py envs): garage's HalfCheetah observation also holds the
torso's centre of mass (20-d), and its Ant observation holds contact forces of 14 bodies, world body included
(111-d). We keep Gymnasium v5's observations, which drop those always-uninformative or position-leaking entries.

Task splits: TrMRL (garage's RL² sampler) draws meta-train and meta-test tasks afresh from the same
distribution, so `train` and `test` are the same distribution here (drawn with different generators by the
callers); `ood` exists where the paper evaluates out of distribution (HalfCheetahVel, v* ∈ [3, 4]).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import mujoco
import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.spaces import Box

from scenes.base import EpisodeSignal, Scene, Split, Task, TaskEnv, TaskParam
from scenes.rendering import FrameRenderer, Marker, tracking_camera

TRMRL = "Melo, Transformers are Meta-Reinforcement Learners, ICML 2022"
EPISODE_LENGTH = 200


class LocomotionEnv(TaskEnv):
    """A Gymnasium MuJoCo env with a task-dependent reward (`task_reward`) and a 200-step time limit.

    `info` carries every reward term (`reward_*`), `x_velocity`, `y_velocity`, `x_position`, `y_position`, and
    the task's own measures (`task_measures`: the velocity along the goal direction, the distance to the goal).

    The observation space is unbounded, (-inf, inf) per entry, as Gymnasium's own MuJoCo envs declare it:
    positions and velocities have no physical bound, so `check_env`'s infinite-bounds warnings are expected.
    """

    torso = "torso"
    camera_distance = 4.0

    def __init__(
        self,
        sim: MujocoEnv,
        task: Mapping[str, Any],
        episode_length: int = EPISODE_LENGTH,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (480, 480),
    ) -> None:
        super().__init__(task, render_mode, render_size)
        self.sim = sim
        # float32 observations: what the agents consume; Gymnasium's MuJoCo envs declare float64.
        self.observation_space = Box(-np.inf, np.inf, sim.observation_space.shape, np.float32)
        self.action_space = sim.action_space
        self.episode_length = episode_length
        self.elapsed_steps = 0
        self._frames: FrameRenderer | None = None

    @property
    def model(self) -> mujoco.MjModel:
        return cast(MujocoEnv, self.sim.unwrapped).model

    @property
    def data(self) -> mujoco.MjData:
        return cast(MujocoEnv, self.sim.unwrapped).data

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.elapsed_steps = 0
        obs, info = self.sim.reset(seed=seed, options=options)
        return obs.astype(np.float32), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.float64)
        obs, _, terminated, _, sim_info = self.sim.step(action)
        measured = sim_info | self.task_measures(sim_info)
        reward_terms = self.task_reward(measured, action)
        # Gymnasium's own reward terms (its forward reward, its weights) are replaced, not mixed in.
        info = {k: v for k, v in measured.items() if not k.startswith("reward_")} | reward_terms
        self.elapsed_steps += 1
        truncated = self.elapsed_steps >= self.episode_length
        return obs.astype(np.float32), float(sum(reward_terms.values())), bool(terminated), truncated, info

    def task_measures(self, info: Mapping[str, Any]) -> dict[str, float]:
        """What the task is about, measured after the step (added to `info`, read by `task_reward` and plotted
        by the Episode signals panel); none by default."""
        return {}

    def task_reward(self, info: Mapping[str, Any], action: np.ndarray) -> dict[str, float]:
        """The task's reward terms (named `reward_*`) from `info` with the task's measures; the step reward is
        their sum."""
        raise NotImplementedError

    def markers(self) -> list[Marker]:
        """Task cues drawn into frames (the target direction or goal); physics never sees them."""
        return []

    def default_camera(self) -> mujoco.MjvCamera:
        return tracking_camera(self.model, self.data, self.torso, self.camera_distance)

    def render_frame(
        self, width: int = 480, height: int = 480, camera: mujoco.MjvCamera | None = None
    ) -> np.ndarray:
        if self._frames is None:
            self._frames = FrameRenderer(self.model, self.data)
        return self._frames.render(width, height, camera or self.default_camera(), self.markers())

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()
            self._frames = None
        self.sim.close()


def _torso_xyz(env: LocomotionEnv) -> np.ndarray:
    return env.data.body(env.torso).xpos.copy()


class HalfCheetahVelEnv(LocomotionEnv):
    """HalfCheetahVel (TrMRL §5.2; PEARL `half_cheetah_vel.py`): run at a target forward velocity.

    Reward: −|v_x − v*| − 0.05‖a‖², with v_x the torso's forward velocity over one step (m/s).
    Episode end: never terminates; truncated after 200 steps.
    """

    task_params = (TaskParam("target_velocity", "float", "forward velocity to run at", "m/s", 0.0, 4.0),)
    ctrl_cost_weight = 0.05

    def __init__(self, task: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(HalfCheetahEnv(), task, **kwargs)

    def task_reward(self, info: Mapping[str, Any], action: np.ndarray) -> dict[str, float]:
        return {
            "reward_forward": -abs(float(info["x_velocity"]) - self._task["target_velocity"]),
            "reward_ctrl": -self.ctrl_cost_weight * float(np.sum(np.square(action))),
        }

    def markers(self) -> list[Marker]:
        # An arrow along +x whose length is the target velocity (1 m per m/s), above the torso.
        x, y, z = _torso_xyz(self)
        length = self._task["target_velocity"]
        return [Marker("arrow", (x, y, z + 0.6), (x + length, y, z + 0.6), 0.05)] if length > 0 else []


class HalfCheetahDirEnv(HalfCheetahVelEnv):
    """HalfCheetahDir (TrMRL §5.2; PEARL `half_cheetah_dir.py`): run forward or backward.

    Reward: dir·v_x − 0.05‖a‖², dir ∈ {−1, +1}. Episode end: truncated after 200 steps.
    """

    task_params = (TaskParam("direction", "choice", "+1 runs forward (+x), −1 backward", choices=(-1, 1)),)

    def task_measures(self, info: Mapping[str, Any]) -> dict[str, float]:
        return {"velocity_along_direction": self._task["direction"] * float(info["x_velocity"])}

    def task_reward(self, info: Mapping[str, Any], action: np.ndarray) -> dict[str, float]:
        return {
            "reward_forward": float(info["velocity_along_direction"]),
            "reward_ctrl": -self.ctrl_cost_weight * float(np.sum(np.square(action))),
        }

    def markers(self) -> list[Marker]:
        x, y, z = _torso_xyz(self)
        return [Marker("arrow", (x, y, z + 0.6), (x + self._task["direction"], y, z + 0.6), 0.05)]


class AntDirEnv(LocomotionEnv):
    """AntDir (TrMRL §5.2; MAML / ProMP `ant_rand_direc_2d`): walk in the direction at angle g.

    Reward: v_xy·(cos g, sin g) − 0.5‖a‖² − 5e-4‖clip(cfrc_ext, −1, 1)‖² + 1 (survive).
    Episode end: terminated when the torso height leaves [0.2, 1.0] m (or the state is not finite);
    truncated after 200 steps.
    """

    task_params = (
        TaskParam(
            "goal_angle", "float", "direction to walk in, counter-clockwise from +x", "rad", -math.pi, math.pi
        ),
    )
    camera_distance = 6.0

    def __init__(self, task: Mapping[str, Any], terminate_when_unhealthy: bool = True, **kwargs: Any) -> None:
        # Ant-v5's own terms match PEARL/MAML's: ctrl 0.5, contact 5e-4 = 0.5·1e-3, healthy z in [0.2, 1].
        super().__init__(AntEnv(terminate_when_unhealthy=terminate_when_unhealthy), task, **kwargs)

    def task_measures(self, info: Mapping[str, Any]) -> dict[str, float]:
        angle = self._task["goal_angle"]
        velocity = math.cos(angle) * float(info["x_velocity"]) + math.sin(angle) * float(info["y_velocity"])
        return {"velocity_along_direction": velocity}

    def task_reward(self, info: Mapping[str, Any], action: np.ndarray) -> dict[str, float]:
        return {
            "reward_forward": float(info["velocity_along_direction"]),
            "reward_ctrl": float(info["reward_ctrl"]),
            "reward_contact": float(info["reward_contact"]),
            "reward_survive": float(info["reward_survive"]),
        }

    def markers(self) -> list[Marker]:
        x, y, _ = _torso_xyz(self)
        angle = self._task["goal_angle"]
        return [
            Marker("arrow", (x, y, 1.2), (x + 1.5 * math.cos(angle), y + 1.5 * math.sin(angle), 1.2), 0.08)
        ]


class AntGoalEnv(LocomotionEnv):
    """AntGoal (PEARL `ant_goal.py`; TrMRL's side branch): walk to a goal position on a disc of radius 3 m.

    Reward: −‖xy − goal‖₁ − 0.1‖a‖² − 5e-4‖clip(cfrc_ext, −1, 1)‖² (PEARL uses the L1 distance, "happy, not
    suicidal", and no survive bonus). Episode end: as PEARL, never terminates; truncated after 200 steps.
    """

    task_params = (
        TaskParam("goal_x", "float", "goal position, x", "m", -3.0, 3.0),
        TaskParam("goal_y", "float", "goal position, y", "m", -3.0, 3.0),
    )
    camera_distance = 9.0
    ctrl_cost_weight = 0.1

    def __init__(self, task: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(AntEnv(terminate_when_unhealthy=False, healthy_reward=0.0), task, **kwargs)

    def task_measures(self, info: Mapping[str, Any]) -> dict[str, float]:
        # The torso position is the free joint's qpos[0:2] after the step. PEARL reads get_body_com("torso"),
        # the same point as computed at the start of the last physics substep (MuJoCo updates kinematics
        # before integrating), a difference of one 0.01 s substep we do not reproduce.
        distance = abs(float(info["x_position"]) - self._task["goal_x"]) + abs(
            float(info["y_position"]) - self._task["goal_y"]
        )
        return {"distance_to_goal": distance}

    def task_reward(self, info: Mapping[str, Any], action: np.ndarray) -> dict[str, float]:
        return {
            "reward_goal": -float(info["distance_to_goal"]),
            "reward_ctrl": -self.ctrl_cost_weight * float(np.sum(np.square(action))),
            "reward_contact": float(info["reward_contact"]),
        }

    def markers(self) -> list[Marker]:
        return [Marker("sphere", (self._task["goal_x"], self._task["goal_y"], 0.3), size=0.25)]


@dataclass
class LocomotionScene(Scene):
    """Shared factory for the four locomotion scenes: 2 episodes of 200 steps per trial (TrMRL Table 3)."""

    env_class: ClassVar[type[LocomotionEnv]]
    paper: ClassVar[str] = TRMRL
    episode_length: ClassVar[int] = EPISODE_LENGTH
    episodes_per_trial: ClassVar[int | None] = 2

    def make_env(
        self, task: Mapping[str, Any] | None = None, render_mode: str | None = None
    ) -> LocomotionEnv:
        # Each concrete env takes (task, **kwargs); LocomotionEnv's own __init__ also takes the simulator.
        make = cast(Callable[..., LocomotionEnv], self.env_class)
        return make(self.default_task() if task is None else task, render_mode=render_mode)


@dataclass
class HalfCheetahVel(LocomotionScene):
    id: ClassVar[str] = "halfcheetah-vel"
    title: ClassVar[str] = "HalfCheetah, target velocity"
    task_params = HalfCheetahVelEnv.task_params
    episode_signals = (EpisodeSignal("x_velocity", "forward velocity", "m/s", target="target_velocity"),)
    splits: ClassVar[tuple[Split, ...]] = ("train", "test", "ood")
    env_class = HalfCheetahVelEnv

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        # v* ~ U[0, 3] for meta-train and meta-test; OOD evaluation v* ~ U[3, 4] (TrMRL §5.4).
        low, high = (3.0, 4.0) if self.check_split(split) == "ood" else (0.0, 3.0)
        return {"target_velocity": float(rng.uniform(low, high))}


@dataclass
class HalfCheetahDir(LocomotionScene):
    id: ClassVar[str] = "halfcheetah-dir"
    title: ClassVar[str] = "HalfCheetah, forward or backward"
    task_params = HalfCheetahDirEnv.task_params
    episode_signals = (EpisodeSignal("velocity_along_direction", "velocity along the direction", "m/s"),)
    env_class = HalfCheetahDirEnv

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        self.check_split(split)
        return {"direction": int(rng.choice((-1, 1)))}


@dataclass
class AntDir(LocomotionScene):
    """`variant="paper"` draws g ∈ {−1, +1} and uses it as an angle in radians, as the official code's
    AntDir does (two directions 2 rad apart, not opposite ones); `variant="random-2d"` draws g ~ U[−π, π]."""

    id: ClassVar[str] = "ant-dir"
    title: ClassVar[str] = "Ant, walking direction"
    task_params = AntDirEnv.task_params
    episode_signals = (EpisodeSignal("velocity_along_direction", "velocity along goal_angle", "m/s"),)
    option_params: ClassVar[tuple[TaskParam, ...]] = (
        TaskParam(
            "variant",
            "choice",
            "paper: angle ±1 rad as the official code; random-2d: angle U[−π, π]",
            choices=("paper", "random-2d"),
            default="paper",
        ),
    )
    env_class = AntDirEnv

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        self.check_split(split)
        if self.options["variant"] == "paper":
            return {"goal_angle": float(rng.choice((-1.0, 1.0)))}
        return {"goal_angle": float(rng.uniform(-math.pi, math.pi))}


@dataclass
class AntGoal(LocomotionScene):
    id: ClassVar[str] = "ant-goal"
    title: ClassVar[str] = "Ant, walk to a goal"
    paper: ClassVar[str] = "Rakelly et al., PEARL, ICML 2019 (TrMRL side branch)"
    task_params = AntGoalEnv.task_params
    episode_signals = (EpisodeSignal("distance_to_goal", "L1 distance to the goal", "m"),)
    env_class = AntGoalEnv

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        # Uniform on the disc of radius 3 (PEARL: r = 3·sqrt(U), angle U[0, 2π]).
        self.check_split(split)
        angle = rng.uniform(0.0, 2.0 * math.pi)
        radius = 3.0 * math.sqrt(rng.uniform())
        return {"goal_x": radius * math.cos(angle), "goal_y": radius * math.sin(angle)}
