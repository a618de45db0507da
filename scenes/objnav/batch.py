"""The batch env (`ObjNavBatch`): N apartments stepped together, with their episodes, dynamics, reward and
success, observations (every env's camera in one pass) and mid-episode task edits."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np

from scenes.base import (
    Task,
    TaskParam,
    check_discrete_actions,
    check_not_ended,
    validate_full_task,
    validate_task,
)
from scenes.errors import UserError
from scenes.objnav.layout import Apartment
from scenes.objnav.raster import _resample, draw_top_down_map
from scenes.objnav.spec import (
    ACTIONS,
    ANY_GOAL,
    CAMERA_FOVY,
    CAMERA_HEIGHT,
    CATEGORIES,
    CATEGORY_NAMES,
    CELL,
    EPISODE_RULES,
    FAR,
    FORWARD,
    FORWARD_ACTION,
    GPS_SCALE,
    HEADINGS,
    MAX_DEPTH,
    MIN_START_DISTANCE,
    NEAR,
    OBJNAV_TASK_PARAMS,
    STOP,
    SUCCESS_DISTANCE,
    TURN_LEFT,
    camera_image_shape,
    heading_vector,
    observation_size,
)
from scenes.rendering import CameraTiles


def _quat(heading: int) -> np.ndarray:
    angle = heading * 2 * math.pi / HEADINGS
    return np.array([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)])


@dataclass
class _Env:
    """One environment's apartment, simulator state and episode."""

    apartment: Apartment
    model: mujoco.MjModel
    data: mujoco.MjData
    view: mujoco.MjvScene
    task: Task
    goal: int = 0
    position: np.ndarray | None = None  # (x, y) m
    heading: int = 0
    steps: int = 0
    ended: bool = False
    distance: float = 0.0  # geodesic distance to the goal before the next step
    start_distance: float = 0.0
    path_length: float = 0.0
    path: list[tuple[float, float]] | None = None
    goal_angle: float | None = None  # radians to the nearest goal instance at the last turn-reward step

    @property
    def cell(self) -> tuple[int, int]:
        assert self.position is not None
        return int(self.position[0] // CELL), int(self.position[1] // CELL)


def _pose(env: _Env) -> None:
    """Propagate mocap poses to bodies, geoms (for `mj_ray`) and cameras (for rendering)."""
    mujoco.mj_kinematics(env.model, env.data)
    mujoco.mj_camlight(env.model, env.data)


class ObjNavBatch:
    """`BatchEnv` of N apartments stepped together; every env's camera renders in one pass (`CameraTiles`)."""

    task_params: ClassVar[tuple[TaskParam, ...]] = OBJNAV_TASK_PARAMS

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]], options: Mapping[str, Any]) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if len(tasks) != num_envs:
            raise ValueError(f"need one task per env: got {len(tasks)} tasks for {num_envs} envs")
        self.num_envs = num_envs
        self.rows, self.cols = (int(n) for n in str(options["rooms"]).split("x"))
        self.num_objects = int(options["objects"])
        self.image_size = int(options["image_size"])
        self.depth = bool(options["depth"])
        self.episode_length = int(options["episode_length"])
        self.rules = EPISODE_RULES[str(options["rules"])]
        self.image_shape = camera_image_shape(self.image_size, self.depth)
        channels = self.image_shape[2]
        size = observation_size(self.image_size, self.depth)
        low = np.zeros(size, dtype=np.float32)
        high = np.ones(size, dtype=np.float32)
        gps = self.image_size * self.image_size * channels
        low[gps : gps + 2], high[gps : gps + 2] = 0.0, 15.0 * GPS_SCALE
        low[gps + 2 : gps + 4] = -1.0
        self.single_observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.single_action_space = gym.spaces.Discrete(len(ACTIONS))
        self._models: OrderedDict[int, tuple[Apartment, mujoco.MjModel, mujoco.MjvScene]] = OrderedDict()
        self._model_cache_size = max(32, 4 * num_envs)
        self._rng = np.random.default_rng(0)  # starts and edits without a reset seed stay reproducible
        self._tiles = CameraTiles()
        self._envs: list[_Env] = []
        for i, task in enumerate(tasks):
            checked = validate_full_task(self.task_params, task, f"task {i}")
            self._envs.append(self._build_env(checked))
        for i in range(num_envs):
            self._start_episode(i)

    # -- construction --------------------------------------------------------------------------------------
    def _layout(self, seed: int) -> tuple[Apartment, mujoco.MjModel, mujoco.MjvScene]:
        """The apartment of `seed` with its compiled model (LRU-cached: trials revisit layouts only by chance,
        but every env of a trial and every edit of one env would otherwise recompile)."""
        if seed in self._models:
            self._models.move_to_end(seed)
            return self._models[seed]
        apartment = Apartment(seed, self.rows, self.cols, self.num_objects)
        model = mujoco.MjModel.from_xml_string(apartment.mjcf())
        entry = (apartment, model, CameraTiles.scene_for(model))
        self._models[seed] = entry
        if len(self._models) > self._model_cache_size:
            self._models.popitem(last=False)
        return entry

    def _build_env(self, task: Task) -> _Env:
        base, model, view = self._layout(int(task["layout_seed"]))
        apartment = base.copy()
        env = _Env(apartment, model, mujoco.MjData(model), view, dict(task))
        self._check_task(env, task)
        self._apply_moves(env, task)
        return env

    def _check_task(self, env: _Env, task: Task) -> None:
        goal = task["goal_category"]
        present = env.apartment.categories_present()
        if goal != ANY_GOAL and CATEGORY_NAMES.index(goal) not in present:
            names = ", ".join(CATEGORY_NAMES[c] for c in present)
            raise UserError(
                f"goal_category {goal!r} is not in the apartment of layout_seed {task['layout_seed']} "
                f"(present: {names})"
            )
        if task["moved_object"] >= len(env.apartment.objects):
            raise UserError(
                f"moved_object must be -1 or in [0, {len(env.apartment.objects) - 1}] in the apartment of "
                f"layout_seed {task['layout_seed']}, "
                f"got {task['moved_object']}"
            )

    def _apply_moves(self, env: _Env, task: Task) -> None:
        """Put every object where `task` says (raises before changing anything if it cannot)."""
        index = int(task["moved_object"])
        apartment = env.apartment.copy()
        apartment.restore_objects()
        if index >= 0:
            cell = (int(task["moved_x"] // CELL), int(task["moved_y"] // CELL))
            apartment.move_object(index, cell, env.cell if env.position is not None else None)
        env.apartment = apartment
        for k, obj in enumerate(env.apartment.objects):
            env.data.mocap_pos[k + 1, :2] = ((obj.cell[0] + 0.5) * CELL, (obj.cell[1] + 0.5) * CELL)
            env.data.mocap_pos[k + 1, 2] = CATEGORIES[obj.category].height

    # -- episodes ----------------------------------------------------------------------------------------------
    def _start_episode(self, i: int, rng: np.random.Generator | None = None) -> None:
        env = self._envs[i]
        rng = rng or self._rng
        present = env.apartment.categories_present()
        goal = env.task["goal_category"]
        env.goal = int(rng.choice(present)) if goal == ANY_GOAL else CATEGORY_NAMES.index(goal)
        self._place_agent(env, rng)
        env.heading = int(rng.integers(HEADINGS))
        env.steps, env.ended, env.path_length = 0, False, 0.0
        self._measure_from_here(env)
        env.start_distance = env.distance
        self._sync_agent(env)

    def _measure_from_here(self, env: _Env) -> None:
        """Take the agent's current pose as the reference the next step's reward terms are differences from,
        as habitat-lab's measures do at reset (`reset_metric` runs `update_metric`): the distance, and inside
        the angle term's radius the angle (so the first step's turn pays, as in NamedNavToObjReward). Used at
        episode start and after an edit, which then pays nothing by itself."""
        env.distance = self._goal_distance(env)
        radius = self.rules.turn_reward_distance
        env.goal_angle = self._goal_angle(env) if radius is not None and env.distance < radius else None

    def _place_agent(self, env: _Env, rng: np.random.Generator) -> None:
        """A random free cell at least MIN_START_DISTANCE from the goal along the floor and farther than
        SUCCESS_DISTANCE from every goal instance, so no episode starts already arrived (any reachable cell if
        none is)."""
        field = env.apartment.distance_field(env.goal)
        passable = env.apartment.passable & np.isfinite(field)
        ys, xs = np.indices(passable.shape)
        far = np.ones_like(passable)
        for obj in env.apartment.objects:
            if obj.category == env.goal:
                dx, dy = (xs - obj.cell[0]) * CELL, (ys - obj.cell[1]) * CELL
                far &= np.hypot(dx, dy) > SUCCESS_DISTANCE
        candidates = np.argwhere(passable & (field >= MIN_START_DISTANCE) & far)
        if not len(candidates):
            candidates = np.argwhere(passable)
        iy, ix = candidates[int(rng.integers(len(candidates)))]
        env.position = np.array([(ix + 0.5) * CELL, (iy + 0.5) * CELL])
        env.path = [(float(env.position[0]), float(env.position[1]))]

    def _sync_agent(self, env: _Env) -> None:
        assert env.position is not None
        env.data.mocap_pos[0] = (env.position[0], env.position[1], 0.0)
        env.data.mocap_quat[0] = _quat(env.heading)
        _pose(env)

    def _goal_distance(self, env: _Env) -> float:
        x, y = env.cell
        return float(env.apartment.distance_field(env.goal)[y, x])

    # -- BatchEnv ----------------------------------------------------------------------------------------------
    def reset(self, env_ids: np.ndarray | Sequence[int], seeds: Sequence[int] | None = None) -> np.ndarray:
        ids = [int(i) for i in np.asarray(env_ids, dtype=np.int64)]
        if seeds is not None and len(seeds) != len(ids):
            raise ValueError(f"need one seed per env id: got {len(seeds)} seeds for {len(ids)} envs")
        for k, i in enumerate(ids):
            self._start_episode(i, None if seeds is None else np.random.default_rng(int(seeds[k])))
        return self._observe(ids)

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        a = check_discrete_actions(actions, self.num_envs, len(ACTIONS))
        check_not_ended(np.array([env.ended for env in self._envs]))
        n = self.num_envs
        reward = np.zeros(n, dtype=np.float32)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        info = {
            "success": np.zeros(n, dtype=bool),
            "spl": np.zeros(n, dtype=np.float32),
            "collided": np.zeros(n, dtype=bool),
            "distance_to_goal": np.zeros(n, dtype=np.float32),
            "goal": np.zeros(n, dtype=np.int64),
        }
        rules = self.rules
        for i, (env, action) in enumerate(zip(self._envs, a, strict=True)):
            success = False
            if action == STOP:
                if rules.stop_ends_episode:
                    success = self.goal_in_view(i, SUCCESS_DISTANCE)
                    terminated[i] = True
            elif action == FORWARD_ACTION:
                info["collided"][i] = not self._forward(env)
            else:
                env.heading = (env.heading + (1 if action == TURN_LEFT else -1)) % HEADINGS
            self._sync_agent(env)
            if not rules.stop_ends_episode:
                success = self.goal_in_view(i, SUCCESS_DISTANCE)
                terminated[i] = success
            env.steps += 1
            distance = self._goal_distance(env)
            reward[i] = env.distance - distance + rules.success_reward * success - rules.step_penalty
            if rules.turn_reward_distance is not None and distance < rules.turn_reward_distance:
                # As NamedNavToObjReward: the angle's first value inside the radius pays nothing; later
                # ones pay their decrease (the last value outside the radius is kept, as there).
                angle = self._goal_angle(env)
                reward[i] += (angle if env.goal_angle is None else env.goal_angle) - angle
                env.goal_angle = angle
            env.distance = distance
            truncated[i] = env.steps >= self.episode_length
            env.ended = bool(terminated[i] or truncated[i])
            info["success"][i] = success
            info["distance_to_goal"][i] = distance
            info["goal"][i] = env.goal
            if env.ended and success:
                info["spl"][i] = env.start_distance / max(env.start_distance, env.path_length, 1e-9)
        return self._observe(range(n)), reward, terminated, truncated, info

    def _forward(self, env: _Env) -> bool:
        """Move 0.25 m ahead unless the target cell, or a corner cut on the way, is blocked."""
        assert env.position is not None and env.path is not None
        target = env.position + FORWARD * heading_vector(env.heading)
        (x0, y0), (x1, y1) = env.cell, (int(target[0] // CELL), int(target[1] // CELL))
        passable = env.apartment.passable
        inside = 0 <= x1 < env.apartment.nx and 0 <= y1 < env.apartment.ny
        if not inside or not passable[y1, x1] or not (passable[y0, x1] and passable[y1, x0]):
            return False
        env.position = target
        env.path_length += FORWARD
        env.path.append((float(target[0]), float(target[1])))
        return True

    def _goal_angle(self, env: _Env) -> float:
        """Radians between the heading and the direction to the nearest instance of the goal category."""
        assert env.position is not None
        forward = heading_vector(env.heading)
        offsets = [
            env.data.mocap_pos[k + 1, :2] - env.position
            for k, obj in enumerate(env.apartment.objects)
            if obj.category == env.goal
        ]
        nearest = min(offsets, key=lambda offset: float(offset @ offset))
        planar = max(float(np.linalg.norm(nearest)), 1e-9)
        return math.acos(float(np.clip(nearest @ forward / planar, -1.0, 1.0)))

    def goal_in_view(self, env_id: int, max_distance: float) -> bool:
        """Whether an instance of env `env_id`'s goal category is within `max_distance` m, inside the camera's
        field of view, and the first thing a ray from the camera to its centre meets."""
        env = self._envs[env_id]
        assert env.position is not None
        eye = np.array([env.position[0], env.position[1], CAMERA_HEIGHT])
        forward = heading_vector(env.heading)
        half_view = math.tan(math.radians(CAMERA_FOVY / 2))
        hit = np.zeros(1, dtype=np.int32)
        for k, obj in enumerate(env.apartment.objects):
            if obj.category != env.goal:
                continue
            centre = env.data.mocap_pos[k + 1]
            offset = centre[:2] - env.position
            if float(np.linalg.norm(offset)) > max_distance:
                continue
            # The centre inside the level camera's square frustum: sideways and up/down alike (an object at
            # the agent's feet is below the image even when it lies straight ahead).
            depth = float(offset @ forward)
            sideways = float(offset @ np.array([-forward[1], forward[0]]))
            if depth <= 0 or max(abs(sideways), abs(float(centre[2]) - CAMERA_HEIGHT)) > depth * half_view:
                continue
            mujoco.mj_ray(env.model, env.data, eye, centre - eye, None, 1, -1, hit)
            if hit[0] >= 0 and env.model.geom_bodyid[hit[0]] == k + 2:  # bodies: world, agent, object0, ...
                return True
        return False

    def _observe(self, ids: Sequence[int] | range) -> np.ndarray:
        ids = list(ids)
        views = [
            (env.model, env.data, env.view, 0, int(env.task["camera_resolution"]))
            for env in (self._envs[i] for i in ids)
        ]
        frames = self._tiles.render(views, (NEAR, FAR) if self.depth else None)
        out = np.zeros((len(ids), self.single_observation_space.shape[0]), dtype=np.float32)
        pixels = self.image_size * self.image_size * self.image_shape[2]
        for row, (i, (rgb, depth)) in enumerate(zip(ids, frames, strict=True)):
            env = self._envs[i]
            image = rgb.astype(np.float32) / 255.0
            if depth is not None:
                image = np.concatenate([image, np.clip(depth / MAX_DEPTH, 0, 1)[..., None]], axis=-1)
            out[row, :pixels] = _resample(image, self.image_size).reshape(-1)
            assert env.position is not None
            angle = env.heading * 2 * math.pi / HEADINGS
            out[row, pixels : pixels + 2] = env.position * GPS_SCALE
            out[row, pixels + 2 : pixels + 4] = (math.sin(angle), math.cos(angle))
            out[row, pixels + 4 + env.goal] = 1.0
        return out

    # -- tasks -------------------------------------------------------------------------------------------------
    def get_task(self, env_id: int) -> Task:
        return dict(self._envs[env_id].task)

    def goal_category(self, env_id: int) -> str:
        """The current episode's goal (what "any" drew)."""
        return CATEGORY_NAMES[self._envs[env_id].goal]

    def apartment(self, env_id: int) -> Apartment:
        return self._envs[env_id].apartment

    def agent_pose(self, env_id: int) -> tuple[np.ndarray, int]:
        env = self._envs[env_id]
        assert env.position is not None
        return env.position.copy(), env.heading

    def place_agent(self, env_id: int, x: float, y: float, heading: int) -> np.ndarray:
        """Put env `env_id`'s agent at (x, y) m facing `heading` × 30° (0 = +x, counter-clockwise), mid-episode
        (scripted starts, tests); the move pays no reward. Returns the new observation."""
        env = self._envs[env_id]
        cell = (int(x // CELL), int(y // CELL))
        apt = env.apartment
        if not (0 <= cell[0] < apt.nx and 0 <= cell[1] < apt.ny) or not apt.passable[cell[1], cell[0]]:
            raise UserError(f"({x:.2f}, {y:.2f}) m is not a free cell of this apartment")
        env.position, env.heading = np.array([x, y], dtype=np.float64), int(heading) % HEADINGS
        self._measure_from_here(env)
        env.path = [(float(x), float(y))]
        self._sync_agent(env)
        return self._observe([env_id])[0]

    def set_task(self, env_id: int, **params: Any) -> None:
        """Edit env `env_id`'s task mid-episode; everything is checked before anything changes."""
        if not 0 <= env_id < self.num_envs:
            raise IndexError(f"env_id {env_id} out of range for {self.num_envs} envs")
        old = self._envs[env_id]
        task = validate_task(self.task_params, old.task, params)
        if task["layout_seed"] != old.task["layout_seed"]:
            env = self._build_env(task)  # raises before `old` changes
            env.goal = (
                old.goal if task["goal_category"] == ANY_GOAL else CATEGORY_NAMES.index(task["goal_category"])
            )
            if env.goal not in env.apartment.categories_present():
                env.goal = int(self._rng.choice(env.apartment.categories_present()))
            env.heading, env.steps, env.ended = old.heading, old.steps, old.ended
            self._place_agent(env, self._rng)
            self._measure_from_here(env)
            env.start_distance, env.path_length = env.distance, 0.0
            self._sync_agent(env)
            self._envs[env_id] = env
            return
        self._check_task(old, task)
        self._apply_moves(old, task)
        old.task = task
        if task["goal_category"] != ANY_GOAL:
            old.goal = CATEGORY_NAMES.index(task["goal_category"])
        if old.position is not None:
            self._measure_from_here(old)  # an edit pays no reward by itself
        _pose(old)

    # -- rendering ---------------------------------------------------------------------------------------------
    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """The head camera (left, square) beside the top-down map (right)."""
        env = self._envs[env_id]
        side = max(1, min(height, width // 2))
        ((ego, _),) = self._tiles.render([(env.model, env.data, env.view, 0, side)])
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        top = (height - side) // 2
        frame[top : top + side, :side] = ego
        if width - side > 0:
            frame[:, side:] = self.top_down_map(env_id, width - side, height)
        return frame

    def top_down_map(self, env_id: int, width: int, height: int) -> np.ndarray:
        """Walls, furniture, objects (the goal category ringed), the path so far and the agent's pose
        (`raster.draw_top_down_map`)."""
        env = self._envs[env_id]
        return draw_top_down_map(env.apartment, env.goal, env.path, env.position, env.heading, width, height)

    def close(self) -> None:
        self._tiles.close()
