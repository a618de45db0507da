"""The simulator side, inside a worker process: one habitat_sim.Simulator, its scenes (goal instances and view
points derived at load) and its episodes (`HabitatEpisodes`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scenes.base import Task
from scenes.errors import UserError
from scenes.objnav import ANY_GOAL, CAMERA_FOVY, CAMERA_HEIGHT, FORWARD, HEADINGS, MIN_START_DISTANCE
from scenes.objnav_habitat.mapping import (
    GoalInstance,
    assemble_observation,
    compose_frame,
    goal_instances,
    goal_reached,
    heading_quaternion,
    is_view_point,
    min_goal_pixels,
    planar_heading,
    spl,
    step_reward,
    view_point_candidates,
)
from scenes.objnav_habitat.spec import (
    AGENT_RADIUS,
    CATEGORY_SETS,
    DATASET_ENV,
    MAX_VIEW_POINTS,
    START_TRIES,
    TOPDOWN_METRES_PER_PIXEL,
    TURN_DEGREES,
    check_task,
    habitat_action,
    scene_file_missing,
)


@dataclass
class _SceneData:
    """What is derived from a loaded scene once: goal instances, their view points, navmesh bounds."""

    index: int
    instances: list[GoalInstance]
    view_points: dict[int, list[np.ndarray]]  # category -> snapped navigable points
    bounds: tuple[np.ndarray, np.ndarray]
    topdown: np.ndarray | None = None

    @property
    def present(self) -> list[int]:
        return sorted(k for k, points in self.view_points.items() if points)


class HabitatEpisodes:
    """One habitat-sim simulator and its episodes: what one env of `HabitatObjNavBatch` does, in its worker.

    Never executed on the development machines (the package docstring, "What was run here")."""

    def __init__(
        self,
        scenes: Sequence[str],
        dataset: str,
        options: Mapping[str, Any],
        task: Task,
        seed: int | None = None,
    ) -> None:
        import habitat_sim  # lazy: this class only exists where habitat-sim does

        self.hs = habitat_sim
        self.scenes, self.dataset = tuple(scenes), dataset
        self.categories = CATEGORY_SETS[str(options["categories"])]
        self.image_size = int(options["image_size"])
        self.depth = bool(options["depth"])
        self.episode_length = int(options["episode_length"])
        self.gpu_device_id = int(options["gpu_device_id"])
        self.min_pixels = min_goal_pixels(self.image_size)
        self.rng = np.random.default_rng(seed)
        self.sim: Any = None
        self.config: Any = None
        self.task: Task = dict(task)
        check_task(self.task, len(self.scenes), self.categories)
        self.scene = self._load(int(self.task["scene_index"]), self._fixed_goal(self.task))
        self.goal = 0
        self.observations: dict[str, Any] = {}
        self.steps, self.ended = 0, False
        self.distance = self.start_distance = self.path_length = 0.0
        self.reset(None)

    # -- scenes --------------------------------------------------------------------------------------------
    def _configuration(self, scene_id: str) -> Any:
        hs = self.hs
        sim_cfg = hs.SimulatorConfiguration()
        sim_cfg.scene_id = scene_id
        sim_cfg.scene_dataset_config_file = self.dataset
        sim_cfg.enable_physics = False  # kinematic navigation: the navmesh is the only collision model needed
        sim_cfg.allow_sliding = True
        sim_cfg.gpu_device_id = self.gpu_device_id
        # A navmesh built for this agent's radius and height (habitat-sim recomputes it when these differ from
        # the scene's stored navmesh).
        sim_cfg.navmesh_settings = hs.NavMeshSettings()
        sim_cfg.navmesh_settings.set_defaults()
        sim_cfg.navmesh_settings.agent_radius = AGENT_RADIUS
        sim_cfg.navmesh_settings.agent_height = CAMERA_HEIGHT

        def camera(uuid: str, kind: Any) -> Any:
            spec = hs.CameraSensorSpec()
            spec.uuid = uuid
            spec.sensor_type = kind
            spec.sensor_subtype = hs.SensorSubType.PINHOLE
            spec.resolution = [self.image_size, self.image_size]
            spec.position = [0.0, CAMERA_HEIGHT, 0.0]
            spec.hfov = CAMERA_FOVY  # square images: horizontal = vertical
            return spec

        sensors = [camera("rgb", hs.SensorType.COLOR), camera("semantic", hs.SensorType.SEMANTIC)]
        if self.depth:
            sensors.append(camera("depth", hs.SensorType.DEPTH))
        agent = hs.agent.AgentConfiguration(
            height=CAMERA_HEIGHT,
            radius=AGENT_RADIUS,
            sensor_specifications=sensors,
            action_space={
                "move_forward": hs.agent.ActionSpec("move_forward", hs.agent.ActuationSpec(amount=FORWARD)),
                "turn_left": hs.agent.ActionSpec("turn_left", hs.agent.ActuationSpec(amount=TURN_DEGREES)),
                "turn_right": hs.agent.ActionSpec("turn_right", hs.agent.ActuationSpec(amount=TURN_DEGREES)),
            },
        )
        return hs.Configuration(sim_cfg, [agent])

    def _load(self, index: int, required_goal: int | None) -> _SceneData:
        """Load scene `index` (a new simulator or a reconfigured one) and derive its goals. If the scene cannot
        serve (no annotation, no reachable goal, not `required_goal`), the previous scene is loaded back and
        ValueError raised."""
        scene_id = self.scenes[index]
        if scene_file_missing(scene_id):
            raise UserError(f"scene file {scene_id!r} (scene_index {index}) does not exist")
        if self.dataset != "default" and not Path(self.dataset).exists():
            raise UserError(f"scene dataset config {self.dataset!r} (${DATASET_ENV}) does not exist")
        previous, saved_state = self.config, None
        config = self._configuration(scene_id)
        if self.sim is None:
            self.sim = self.hs.Simulator(config)
        else:
            saved_state = self._agent_state()
            self.sim.reconfigure(config)
        self.config = config
        try:
            data = self._derive(index)
            if not data.present:
                raise UserError(
                    f"scene {scene_id!r} has no object with a navigable view point among the {len(self.categories)} goal categories "
                    f"({', '.join(self.categories)}); objnav-habitat needs semantic annotations (MP3D, HM3D-Semantics, HSSD)"
                )
            if required_goal is not None and required_goal not in data.present:
                raise UserError(
                    f"goal_category {self.categories[required_goal]!r} is not in scene {scene_id!r} (present: "
                    f"{', '.join(self.categories[k] for k in data.present)})"
                )
        except Exception:
            if previous is not None:
                # Back to the scene and pose before the edit (reconfigure re-creates the agents).
                self.sim.reconfigure(previous)
                self.config = previous
                self.sim.get_agent(0).set_state(saved_state)
                self.observations = self.sim.get_sensor_observations()
            raise
        return data

    def _derive(self, index: int) -> _SceneData:
        objects = []
        for obj in self.sim.semantic_scene.objects:
            if obj is None or obj.category is None:  # MP3D annotations have gaps
                continue
            box = obj.aabb  # magnum Range3D: min / max properties (center() is a method)
            objects.append((obj.category.name(), obj.semantic_id, np.asarray(box.min), np.asarray(box.max)))
        instances = goal_instances(objects, self.categories)
        pathfinder = self.sim.pathfinder
        view_points: dict[int, list[np.ndarray]] = {k: [] for k in range(len(self.categories))}
        for instance in instances:
            kept: dict[tuple[int, int, int], np.ndarray] = {}
            for candidate in view_point_candidates(instance.lower, instance.upper):
                point = np.asarray(pathfinder.snap_point(candidate.astype(np.float32)), dtype=np.float64)
                if np.isfinite(point).all() and is_view_point(point, instance.lower, instance.upper):
                    kept.setdefault(tuple(np.round(point / 0.05).astype(int)), point)  # 5 cm dedupe
            points = list(kept.values())
            if len(points) > MAX_VIEW_POINTS:
                points = [points[i] for i in np.linspace(0, len(points) - 1, MAX_VIEW_POINTS).astype(int)]
            view_points[instance.category] += points
        lower, upper = (np.asarray(b, dtype=np.float64) for b in pathfinder.get_bounds())
        return _SceneData(index, instances, view_points, (lower, upper))

    def _fixed_goal(self, task: Mapping[str, Any]) -> int | None:
        goal = task["goal_category"]
        return None if goal == ANY_GOAL else self.categories.index(goal)

    # -- geometry --------------------------------------------------------------------------------------------
    def _agent_state(self) -> Any:
        return self.sim.get_agent(0).get_state()

    def _rotation_wxyz(self, rotation: Any) -> tuple[float, float, float, float]:
        if hasattr(rotation, "w"):  # numpy-quaternion, what AgentState holds after get_state()
            return (rotation.w, rotation.x, rotation.y, rotation.z)
        x, y, z, w = rotation  # habitat's coefficient order
        return (w, x, y, z)

    def _geodesic(self, position: np.ndarray, goal: int) -> float:
        path = self.hs.MultiGoalShortestPath()
        path.requested_start = np.asarray(position, dtype=np.float32)
        path.requested_ends = [np.asarray(p, dtype=np.float32) for p in self.scene.view_points[goal]]
        if not self.sim.pathfinder.find_path(path):
            return math.inf
        return float(path.geodesic_distance)

    def _place(self, position: np.ndarray, angle: float) -> None:
        from habitat_sim.utils.common import quat_from_coeffs

        w, x, y, z = heading_quaternion(angle)
        agent = self.sim.get_agent(0)
        state = agent.get_state()
        state.position = np.asarray(position, dtype=np.float32)
        state.rotation = quat_from_coeffs([x, y, z, w])
        agent.set_state(state)
        self.observations = self.sim.get_sensor_observations()

    def _random_start(self, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """A navigable point at least MIN_START_DISTANCE of geodesic distance from the goal (any point with a
        path if none is found in START_TRIES draws)."""
        pathfinder = self.sim.pathfinder
        pathfinder.seed(int(rng.integers(2**31 - 1)))  # the navmesh sampler follows the episode's seed
        fallback: tuple[np.ndarray, float] | None = None
        for _ in range(START_TRIES):
            point = np.asarray(pathfinder.get_random_navigable_point(), dtype=np.float64)
            if not np.isfinite(point).all():
                continue
            distance = self._geodesic(point, self.goal)
            if math.isfinite(distance):
                if distance >= MIN_START_DISTANCE:
                    return point, distance
                fallback = fallback or (point, distance)
        if fallback is None:
            raise RuntimeError(
                f"no navigable start in scene {self.scenes[self.scene.index]!r} has a path to a "
                f"{self.categories[self.goal]!r}"
            )
        return fallback

    # -- episodes ----------------------------------------------------------------------------------------------
    def reset(self, seed: int | None) -> np.ndarray:
        rng = self.rng if seed is None else np.random.default_rng(seed)
        fixed = self._fixed_goal(self.task)
        present = self.scene.present
        self.goal = int(rng.choice(present)) if fixed is None else fixed
        position, distance = self._random_start(rng)
        self._place(position, int(rng.integers(HEADINGS)) * 2 * math.pi / HEADINGS)
        self.steps, self.ended, self.path_length = 0, False, 0.0
        self.distance = self.start_distance = distance
        return self.observe()

    def observe(self) -> np.ndarray:
        state = self._agent_state()
        return assemble_observation(
            np.asarray(self.observations["rgb"]),
            np.asarray(self.observations["depth"]) if self.depth else None,
            state.position,
            self._rotation_wxyz(state.rotation),
            self.goal,
            len(self.categories),
            self.scene.bounds,
        )

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.ended:
            raise RuntimeError("the episode ended; reset before the next step")
        key = habitat_action(action)
        success, collided = False, False
        if key is None:  # stop: judged from the current pose and its semantic image
            position = np.asarray(self._agent_state().position, dtype=np.float64)
            success = goal_reached(
                position,
                np.asarray(self.observations["semantic"]),
                self.scene.instances,
                self.goal,
                self.min_pixels,
            )
        else:
            before = np.asarray(self._agent_state().position, dtype=np.float64)
            self.observations = self.sim.step(key)
            collided = bool(self.observations.get("collided", False))
            after = np.asarray(self._agent_state().position, dtype=np.float64)
            self.path_length += float(np.linalg.norm(after - before))
        self.steps += 1
        position = np.asarray(self._agent_state().position, dtype=np.float64)
        distance = self._geodesic(position, self.goal)
        reward = step_reward(self.distance, distance, success)
        self.distance = distance
        terminated = key is None
        truncated = self.steps >= self.episode_length
        self.ended = terminated or truncated
        info = {
            "success": success,
            "spl": spl(success, self.start_distance, self.path_length) if self.ended else 0.0,
            "collided": collided,
            "distance_to_goal": distance,
            "goal": self.goal,
        }
        return self.observe(), reward, terminated, truncated, info

    def set_task(self, task: Task) -> None:
        """Apply a validated task (the parent checked the schema, the scene list and the category set)."""
        fixed = self._fixed_goal(task)
        if int(task["scene_index"]) != self.scene.index:
            # As objnav-apartment's layout edit: new scene, random navigable point, same heading, episode goes on.
            angle = planar_heading(self._rotation_wxyz(self._agent_state().rotation))
            # _load raises, with the previous scene loaded back, if the new one cannot serve this task.
            self.scene = self._load(int(task["scene_index"]), fixed)
            self.task = dict(task)
            if fixed is not None or self.goal not in self.scene.present:
                self.goal = fixed if fixed is not None else int(self.rng.choice(self.scene.present))
            position, distance = self._random_start(self.rng)
            self._place(position, angle)
            self.distance, self.start_distance, self.path_length = distance, distance, 0.0
            return
        if fixed is not None and fixed not in self.scene.present:
            raise UserError(
                f"goal_category {task['goal_category']!r} is not in scene {self.scenes[self.scene.index]!r} "
                f"(present: {', '.join(self.categories[k] for k in self.scene.present)})"
            )
        self.task = dict(task)
        if fixed is not None:
            self.goal = fixed
            # An edit pays no reward by itself: the next step's progress is measured from the new goal.
            self.distance = self._geodesic(np.asarray(self._agent_state().position, dtype=np.float64), fixed)

    def goal_name(self) -> str:
        return self.categories[self.goal]

    def render_frame(self, width: int, height: int) -> np.ndarray:
        """The head camera beside a top-down navmesh map with the goal's instances (white) and the agent."""
        state = self._agent_state()
        lower = self.scene.bounds[0]
        if self.scene.topdown is None:
            navigable = np.asarray(
                self.sim.pathfinder.get_topdown_view(TOPDOWN_METRES_PER_PIXEL, float(state.position[1]))
            )
            self.scene.topdown = np.where(navigable[..., None], 170, 50).astype(np.uint8).repeat(3, axis=-1)
        image = self.scene.topdown.copy()
        rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]

        def pixel(point: Sequence[float]) -> tuple[float, float]:
            # habitat's top-down view: rows follow z, columns x, from the navmesh's lower corner.
            metres = (point[2] - lower[2], point[0] - lower[0])
            return metres[0] / TOPDOWN_METRES_PER_PIXEL, metres[1] / TOPDOWN_METRES_PER_PIXEL

        for instance in self.scene.instances:
            if instance.category == self.goal:
                (r0, c0), (r1, c1) = pixel(instance.lower), pixel(instance.upper)
                image[(rows >= r0) & (rows <= r1) & (cols >= c0) & (cols <= c1)] = 255
        r, c = pixel(state.position)
        image[(rows - r) ** 2 + (cols - c) ** 2 <= 36] = (230, 60, 40)
        return compose_frame(np.asarray(self.observations["rgb"])[..., :3], image, width, height)

    def close(self) -> None:
        if self.sim is not None:
            self.sim.close()
            self.sim = None
