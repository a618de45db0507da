"""Multi-object navigation in Habitat scenes through habitat-sim (`objnav-habitat`, an optional backend).

The same task as `objnav-apartment` (scenes/objnav/: ExtObjNav from ReLIC, Elawady et al. 2024, the navigation
benchmark of Memo, Gupta et al. 2025), in photo-realistic scanned or synthetic houses rendered by habitat-sim. The
observation layout, the actions, the reward, the success rule, the trial structure and the info keys are those of
`objnav-apartment`, so every agent that runs there runs here. habitat-sim is imported lazily: listing this scene,
reading its schema and drawing tasks work without it; making an environment without it raises
`HabitatUnavailableError` with one line saying how to get it.

## What was run here
habitat-sim could not be installed on the development machines (it is conda-only upstream; the PyPI entries are
stale or pure-Python shells; docs/reference/landscape.md), so the simulator path of this module
(`HabitatEpisodes`, the worker processes, `HabitatObjNavBatch`, `ObjNavHabitatEnv`) was written against
habitat-sim 0.3.x's documented and source-level API but has never been executed here. What the tests run is
everything around it: the pure mapping functions (observation assembly from synthetic RGB / depth arrays and a
pose, category mapping and one-hot, SPL, reward, action mapping, success geometry, frame composition, scene
lists and splits), the schema, the missing-backend message through `make_env`, `make_batch` and `main.py`, and
the worker-process plumbing up to the point where a spawned worker fails to import habitat-sim and reports it.
tests/test_scenes_objnav_habitat.py also holds a test of the real simulator, skipped where habitat-sim is
missing; run it where it is installed (with the MP3D example scene downloaded) before trusting this backend.

## Getting habitat-sim and scenes
    conda install habitat-sim -c conda-forge -c aihabitat      (headless: add `headless`)
    python -m habitat_sim.utils.datasets_download --uids mp3d_example_scene --data-path data/
Scenes need semantic annotations (goal instances come from `sim.semantic_scene.objects`): MP3D (`.house`),
HM3D-Semantics, HSSD (hssd-hab). `ENGRAM_HABITAT_SCENES` lists the scenes (scene files or scene ids of a dataset,
separated by os.pathsep like PATH; default: the MP3D example scene `DEFAULT_SCENE`), `ENGRAM_HABITAT_DATASET`
the scene dataset config file (`SimulatorConfiguration.scene_dataset_config_file`, default "default"). They are
read when the scene is made, and are environment variables rather than scene options because a scene option is
a number or a choice (`TaskParam`), which a list of paths is not.

## Observation, actions (exactly objnav-apartment's layout)
One flat float32 vector: the head camera image HWC, RGB / 255 (`depth` option: a 4th channel, depth / 5 m,
clipped) | GPS 2 | compass 2 | goal one-hot. The camera is 0.88 m above the floor with a 79° field of view,
rendered at `image_size`² by habitat-sim. GPS is (x, -z) in the scene frame seen from above (habitat is y-up,
forward is -z), offset to the navmesh's lower corner so it is non-negative like the apartment's, in metres / 10.
The compass is (sin a, cos a) of the heading a measured counter-clockwise from +x in that frame, so a forward
step moves GPS along (cos a, sin a) as in the apartment. Actions: 0 stop, 1 `move_forward` 0.25 m,
2 `turn_left` 30°, 3 `turn_right` 30° (`HABITAT_ACTIONS`).

## Goal categories and the one-hot size (decided here)
Object categories of a scene's semantic annotation are mapped by name (normalised, with aliases such as couch ->
sofa and tv -> tv_monitor; `category_index`) onto the category set chosen by the `categories` option:
- "objectnav-8" (default): Habitat ObjectNav's six HM3D categories plus table and cabinet. Its one-hot has 8
  entries, the size of objnav-apartment's, so at the same `image_size` and `depth` the two scenes' observation
  vectors have the same length and layout and one agent network accepts both (slot k names a different object
  in each: the layout transfers, not the meaning).
- "hm3d-6" (Habitat's HM3D ObjectNav) and "mp3d-21" (Habitat's MP3D ObjectNav): their one-hot sizes, 6 and
  21, differ from the apartment's 8, so an agent built for one scene does not take the other's observations.
Objects of other categories are scenery.

## Episodes, reward, success (ExtObjNav-style trials)
A trial is `trial_steps` steps in ONE scene; every episode starts at a random navigable point at least 1 m of
geodesic distance from its goal, facing one of the 12 headings, with a new goal category drawn from those with a
reachable instance (task `goal_category = "any"`). Goal instances are the scene's semantic objects of that
category; their view points are navmesh points within 1.5 m (horizontally) of the object's bounding box and on
its floor. `r = (d_prev - d) + 2.5·success - 0.01` with d the geodesic distance to the nearest view point
(`MultiGoalShortestPath`). Stop ends the episode and succeeds if the agent is within 1.5 m of a goal instance's
box and that instance covers at least `min_goal_pixels` of the semantic sensor's image (Memo's rule: 10 pixels of
a 256² head camera, scaled). Episodes last at most `episode_length` (500) steps; `info` carries `success`,
`spl`, `collided`, `distance_to_goal` and `goal` as in objnav-apartment.

## Task parameters
`scene_index` (which of the listed scenes; an edit loads the new scene, places the agent at a random navigable
point and keeps the episode going) and `goal_category` ("any" or a category of the chosen set that the scene
has; an edit applies at once and re-bases d_prev, so the edit pays no reward). Edits that cannot apply raise
`ValueError` and change nothing (a scene that lacks the goal category is unloaded again). The apartment's
`camera_resolution` and object moves have no counterpart: habitat-sim's sensors are fixed when the simulator is
configured and a scanned scene's objects are part of its mesh.

## Processes
habitat-sim supports one `Simulator` per process (habitat-sim issues #1292, #1741), so every environment, even a
single one, runs its simulator in its own spawned worker process; the batch steps them in parallel over pipes.

## Deviations from ExtObjNav (ReLIC / Memo)
ReLIC's episodes place YCB objects (20 categories) on HSSD receptacles for a Fetch robot, with success within
2 m of an object that shows at least 10 pixels in a panoptic sensor, reward 2 for success and -0.005 per step
(Memo's memo/configs/tasks/smallObjNavBase.yaml, memo/tasks/measures.py `PddlTaskSuccess.sees_object`,
memo/tasks/pddl_multi_task.py `robot_at_threshold = 2`). Here: the scene's own annotated objects, a cylinder agent
(radius 0.18 m, Habitat ObjectNav's), episodes generated on the fly rather than read from a dataset file,
objnav-apartment's radius (1.5 m) and reward, no look-up/down actions, sliding along walls allowed (habitat-sim's
default; the apartment does not slide), GPS and compass in the scene frame rather than relative to the start.

## Sources followed (API read, code written here)
habitat-sim 0.3.3: `src_python/habitat_sim/utils/settings.py` (`make_cfg`: SimulatorConfiguration, CameraSensorSpec,
AgentConfiguration, ActionSpec/ActuationSpec, NavMeshSettings), `simulator.py` (`step` returns the observations
with "collided"; `reconfigure`), `agent/agent.py` (AgentState, `set_state`), `utils/common.py`
(`quat_from_coeffs`, [x, y, z, w]), `src/esp/bindings/ShortestPathBindings.cpp` (PathFinder, MultiGoalShortestPath),
`SceneBindings.cpp` (SemanticObject `semantic_id`, `aabb`, `category.name()`), `Mp3dSemanticScene.cpp` (MP3D's
`name()` is the mpcat40 name); magnum's `Range3D` binding (`min` / `max` are properties, `center()` a method);
habitat-lab's ObjectNav category lists for HM3D and MP3D.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import multiprocessing
import os
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from scenes.base import (
    BatchOfOneEnv,
    Split,
    Task,
    TaskParam,
    check_discrete_actions,
    check_not_ended,
    validate_task,
)
from scenes.objnav import (
    ACTIONS,
    ANY_GOAL,
    CAMERA_FOVY,
    CAMERA_HEIGHT,
    FORWARD,
    FORWARD_ACTION,
    GPS_SCALE,
    HEADINGS,
    IMAGE_SIZES,
    MAX_DEPTH,
    MIN_START_DISTANCE,
    STEP_PENALTY,
    STOP,
    SUCCESS_DISTANCE,
    SUCCESS_REWARD,
    TURN_LEFT,
    TURN_RIGHT,
    ObjectNavigationScene,
    camera_image_shape,
    observation_size,
)

HABITAT_INSTALL_URL = "https://github.com/facebookresearch/habitat-sim#installation"
HABITAT_MISSING = (
    "objnav-habitat needs habitat-sim, which is not installed: it is conda-only "
    f"(conda install habitat-sim -c conda-forge -c aihabitat; see {HABITAT_INSTALL_URL}); "
    "objnav-apartment runs the same task everywhere without it"
)
SCENES_ENV = "ENGRAM_HABITAT_SCENES"
DATASET_ENV = "ENGRAM_HABITAT_DATASET"
DEFAULT_SCENE = "data/scene_datasets/mp3d_example/17DRP5sb8fy/17DRP5sb8fy.glb"
MAX_SCENES = 10_000  # bound of the scene_index schema; the real bound is the length of the scene list

# habitat-sim's action keys in objnav-apartment's action order (stop is the episode's business, not the sim's).
_HABITAT_KEYS = {STOP: None, FORWARD_ACTION: "move_forward", TURN_LEFT: "turn_left", TURN_RIGHT: "turn_right"}
HABITAT_ACTIONS: tuple[str | None, ...] = tuple(_HABITAT_KEYS[a] for a in range(len(ACTIONS)))
TURN_DEGREES = 360.0 / HEADINGS  # 30°
AGENT_RADIUS = 0.18  # m, Habitat ObjectNav's agent (the navmesh is recomputed for it)
VIEW_DROP = (
    1.5  # m: a view point may lie this far below an object's box bottom (a TV on a wall) and not above it
)
VIEW_SPACING = 0.5  # m between candidate view points around an object
MAX_VIEW_POINTS = 32  # per instance: enough for the nearest-goal geodesic, cheap for MultiGoalShortestPath
GOAL_PIXEL_FRACTION = 10 / (256 * 256)  # Memo's 10 pixels of a 256² head camera
START_TRIES = 200
Vector = Sequence[float] | np.ndarray  # a point or direction: a list, a tuple or a NumPy array
TOPDOWN_METRES_PER_PIXEL = 0.05
GPS_HIGH = 5.0  # GPS bound of the observation space: 50 m houses

CATEGORY_SETS: dict[str, tuple[str, ...]] = {
    "objectnav-8": ("chair", "bed", "plant", "toilet", "tv_monitor", "sofa", "table", "cabinet"),
    "hm3d-6": ("chair", "bed", "plant", "toilet", "tv_monitor", "sofa"),
    "mp3d-21": (
        "chair", "table", "picture", "cabinet", "cushion", "sofa", "bed", "chest_of_drawers", "plant", "sink",
        "toilet", "stool", "towel", "tv_monitor", "shower", "bathtub", "counter", "fireplace", "gym_equipment",
        "seating", "clothes",
    ),
}  # fmt: skip
ALL_CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(c for names in CATEGORY_SETS.values() for c in names))
# Raw annotation names (HM3D, HSSD, Gibson) for the ObjectNav names (MP3D's mpcat40 names match directly).
CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "sofa": ("couch",),
    "tv_monitor": ("tv", "television", "monitor", "tv_screen"),
    "plant": ("potted_plant", "houseplant", "plant_pot"),
    "table": ("dining_table", "coffee_table", "side_table", "kitchen_table", "end_table"),
    "cabinet": ("kitchen_cabinet", "cupboard", "filing_cabinet"),
    "chair": ("armchair", "office_chair", "dining_chair"),
    "chest_of_drawers": ("dresser", "drawers"),
    "picture": ("painting", "picture_frame", "poster"),
    "bathtub": ("tub", "bath"),
}


class HabitatUnavailableError(ValueError, RuntimeError):
    """habitat-sim is missing or does not import. A ValueError so `main.py` reports it as one line (it prints
    ValueError and CommandError as `engram: <message>`), and a RuntimeError by meaning."""


def require_habitat() -> None:
    """Import habitat-sim here (never at module import) or raise `HabitatUnavailableError`."""
    try:
        importlib.import_module("habitat_sim")
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and error.name == "habitat_sim":
            raise HabitatUnavailableError(HABITAT_MISSING) from None
        raise HabitatUnavailableError(
            f"objnav-habitat: habitat-sim is installed but does not import ({error}); reinstall it with conda "
            f"(see {HABITAT_INSTALL_URL}); objnav-apartment runs the same task everywhere without it"
        ) from None


# -------------------------------------------------------------------------------------------------------------
# Pure mapping functions (tested without habitat-sim)
# -------------------------------------------------------------------------------------------------------------


def habitat_action(action: int) -> str | None:
    """habitat-sim's action key for one of `ACTIONS` (None for stop, which the simulator never sees)."""
    if isinstance(action, bool) or not 0 <= int(action) < len(ACTIONS) or int(action) != action:
        raise ValueError(f"action must be an integer in [0, {len(ACTIONS)}), got {action!r}")
    return HABITAT_ACTIONS[int(action)]


def normalise_category(name: str) -> str:
    """'Potted Plant' -> 'potted_plant': annotation names differ in case and separators between datasets."""
    return "_".join(name.strip().lower().replace("-", " ").replace("/", " ").split())


def category_index(raw_name: str, categories: Sequence[str]) -> int:
    """Index of an annotation name in `categories` (directly or through `CATEGORY_ALIASES`), -1 if none."""
    name = normalise_category(raw_name)
    for k, category in enumerate(categories):
        if name == category or name in CATEGORY_ALIASES.get(category, ()):
            return k
    return -1


def goal_one_hot(goal: int, size: int) -> np.ndarray:
    if not 0 <= goal < size:
        raise ValueError(f"goal must be in [0, {size}), got {goal}")
    out = np.zeros(size, dtype=np.float32)
    out[goal] = 1.0
    return out


def rotate_vector(quaternion_wxyz: Vector, vector: Vector) -> np.ndarray:
    """`vector` rotated by the unit quaternion (w, x, y, z): v + w·t + u × t with t = 2 u × v."""
    w, x, y, z = (float(c) for c in quaternion_wxyz)
    u, v = np.array([x, y, z]), np.asarray(vector, dtype=np.float64)
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def planar_heading(quaternion_wxyz: Vector) -> float:
    """The heading in the top-down frame (x, -z), radians counter-clockwise from +x. Habitat looks along -z, so
    the identity rotation faces +y of that frame: pi/2."""
    forward = rotate_vector(quaternion_wxyz, (0.0, 0.0, -1.0))
    return math.atan2(-forward[2], forward[0])


def heading_quaternion(angle: float) -> tuple[float, float, float, float]:
    """(w, x, y, z) of the yaw about +y that gives `planar_heading` = `angle` (the inverse of planar_heading)."""
    yaw = angle - math.pi / 2
    return (math.cos(yaw / 2), 0.0, math.sin(yaw / 2), 0.0)


def planar_position(position: Vector, lower: Vector, upper: Vector) -> np.ndarray:
    """(x, -z) of a habitat position, offset so the navmesh bounds' corner is (0, 0): non-negative like the
    apartment's GPS."""
    return np.array([position[0] - lower[0], upper[2] - position[2]], dtype=np.float64)


def assemble_observation(
    rgb: np.ndarray,
    depth: np.ndarray | None,
    position: Vector,
    rotation_wxyz: Vector,
    goal: int,
    num_goals: int,
    bounds: tuple[Vector, Vector],
) -> np.ndarray:
    """objnav-apartment's observation vector from habitat-sim's sensor arrays and the agent's pose.

    `rgb`: (S, S, 3 or 4) uint8 (habitat's colour sensor is RGBA; alpha is dropped); `depth`: (S, S) metres or
    None; `bounds`: the navmesh's (lower, upper) corners."""
    if rgb.ndim != 3 or rgb.shape[0] != rgb.shape[1] or rgb.shape[2] not in (3, 4):
        raise ValueError(f"rgb must be (S, S, 3 or 4), got {rgb.shape}")
    image = rgb[..., :3].astype(np.float32) / 255.0
    if depth is not None:
        depth = np.asarray(depth, dtype=np.float32).reshape(rgb.shape[:2])
        image = np.concatenate([image, np.clip(depth / MAX_DEPTH, 0.0, 1.0)[..., None]], axis=-1)
    angle = planar_heading(rotation_wxyz)
    return np.concatenate(
        [
            image.reshape(-1),
            planar_position(position, *bounds).astype(np.float32) * np.float32(GPS_SCALE),
            np.array([math.sin(angle), math.cos(angle)], dtype=np.float32),
            goal_one_hot(goal, num_goals),
        ]
    ).astype(np.float32)


def step_reward(previous_distance: float, distance: float, success: bool) -> float:
    """objnav-apartment's reward; no progress term while either distance is unknown (no path found)."""
    progress = previous_distance - distance if math.isfinite(previous_distance + distance) else 0.0
    return progress + SUCCESS_REWARD * float(success) - STEP_PENALTY


def spl(success: bool, shortest: float, path_length: float) -> float:
    """Success weighted by path length (Anderson et al. 2018), as objnav-apartment computes it."""
    if not success or not math.isfinite(shortest):
        return 0.0
    return shortest / max(shortest, path_length, 1e-9)


def box_distance_xz(point: Vector, lower: Vector, upper: Vector) -> float:
    """Horizontal (x, z) distance from `point` to the axis-aligned box [lower, upper] (0 inside it)."""
    dx = max(lower[0] - point[0], 0.0, point[0] - upper[0])
    dz = max(lower[2] - point[2], 0.0, point[2] - upper[2])
    return math.hypot(dx, dz)


def is_view_point(point: Vector, lower: Vector, upper: Vector) -> bool:
    """Whether an agent standing at `point` (navmesh height) is close enough to the box to succeed: within
    SUCCESS_DISTANCE horizontally, and on its floor (not above its top, at most VIEW_DROP below its bottom)."""
    on_floor = lower[1] - VIEW_DROP <= point[1] <= upper[1]
    return on_floor and box_distance_xz(point, lower, upper) <= SUCCESS_DISTANCE


def view_point_candidates(lower: Vector, upper: Vector, spacing: float = VIEW_SPACING) -> np.ndarray:
    """(N, 3) grid of points around a box, SUCCESS_DISTANCE beyond it, at its bottom height, to be snapped onto
    the navmesh (habitat's ObjectNav datasets precompute such view points; here they are made at load time)."""
    reach = SUCCESS_DISTANCE
    xs = np.arange(lower[0] - reach, upper[0] + reach + 1e-9, spacing)
    zs = np.arange(lower[2] - reach, upper[2] + reach + 1e-9, spacing)
    gx, gz = np.meshgrid(xs, zs, indexing="ij")
    return np.stack([gx.ravel(), np.full(gx.size, float(lower[1])), gz.ravel()], axis=1)


@dataclass(frozen=True)
class GoalInstance:
    """One annotated object of a goal category: its semantic id (the semantic sensor's pixel value) and box."""

    category: int  # index into the category set
    semantic_id: int
    lower: tuple[float, ...]  # box min (x, y, z), habitat frame
    upper: tuple[float, ...]


def goal_instances(
    objects: Iterable[tuple[str, int, Vector, Vector]], categories: Sequence[str]
) -> list[GoalInstance]:
    """(category name, semantic id, box min, box max) of the scene's objects -> the instances of `categories`."""
    out = []
    for name, semantic_id, lower, upper in objects:
        k = category_index(name, categories)
        if k >= 0:
            out.append(GoalInstance(k, int(semantic_id), tuple(map(float, lower)), tuple(map(float, upper))))
    return out


def min_goal_pixels(resolution: int) -> int:
    return max(1, math.ceil(GOAL_PIXEL_FRACTION * resolution * resolution))


def goal_reached(
    position: Vector,
    semantic: np.ndarray,
    instances: Sequence[GoalInstance],
    goal: int,
    min_pixels: int,
) -> bool:
    """The success rule at stop: some instance of `goal` is within reach (`is_view_point`) and covers at least
    `min_pixels` of the semantic image taken at this pose."""
    for instance in instances:
        if instance.category != goal or not is_view_point(position, instance.lower, instance.upper):
            continue
        if int(np.count_nonzero(semantic == instance.semantic_id)) >= min_pixels:
            return True
    return False


def parse_scene_list(text: str | None) -> tuple[str, ...]:
    """`ENGRAM_HABITAT_SCENES`: scene files or ids separated by os.pathsep; empty or unset -> DEFAULT_SCENE."""
    scenes = tuple(s.strip() for s in (text or "").split(os.pathsep) if s.strip())
    return scenes or (DEFAULT_SCENE,)


def scene_file_missing(scene_id: str) -> bool:
    """Whether `scene_id` names a scene file (a path with a suffix) that does not exist. Checked before
    habitat-sim sees it: a missing scene can abort the simulator process instead of raising."""
    path = Path(scene_id)
    return bool(path.suffix) and not path.exists()


def split_indices(split: Split, num_scenes: int) -> list[int]:
    """Scene indices of a split: every fifth scene is held out for testing (the last one if there are fewer
    than five); a single scene serves both splits."""
    if num_scenes == 1:
        return [0]
    test = [i for i in range(num_scenes) if i % 5 == 4] or [num_scenes - 1]
    return test if split == "test" else [i for i in range(num_scenes) if i not in test]


def check_task(task: Mapping[str, Any], num_scenes: int, categories: Sequence[str]) -> None:
    """What the schema cannot know: the scene list's length and the category set of this scene's options."""
    if task["scene_index"] >= num_scenes:
        raise ValueError(
            f"scene_index must be in [0, {num_scenes - 1}] for the {num_scenes} scene(s) in ${SCENES_ENV}, "
            f"got {task['scene_index']}"
        )
    goal = task["goal_category"]
    if goal != ANY_GOAL and goal not in categories:
        raise ValueError(
            f"goal_category must be {ANY_GOAL!r} or one of {', '.join(categories)}, got {goal!r}"
        )


def nearest_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.arange(height) * image.shape[0] // max(height, 1)
    cols = np.arange(width) * image.shape[1] // max(width, 1)
    return image[rows][:, cols]


def fit_into(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """`image` scaled (nearest) to fit (height, width), centred on a dark background, aspect kept."""
    out = np.full((height, width, 3), 16, dtype=np.uint8)
    scale = min(height / image.shape[0], width / image.shape[1])
    h, w = max(1, int(image.shape[0] * scale)), max(1, int(image.shape[1] * scale))
    top, left = (height - h) // 2, (width - w) // 2
    out[top : top + h, left : left + w] = nearest_resize(image[..., :3], h, w)
    return out


def compose_frame(ego: np.ndarray, topdown: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """objnav-apartment's viewer layout: the head camera (left, square) beside the top-down map (right)."""
    side = max(1, min(height, width // 2 if topdown is not None else width))
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[:, :side] = fit_into(ego, height, side)
    if topdown is not None and width > side:
        frame[:, side:] = fit_into(topdown, height, width - side)
    return frame


# -------------------------------------------------------------------------------------------------------------
# Schema
# -------------------------------------------------------------------------------------------------------------

HABITAT_TASK_PARAMS: tuple[TaskParam, ...] = (
    TaskParam(
        "scene_index",
        "int",
        f"which scene: an index into ${SCENES_ENV} (default: the MP3D example scene)",
        low=0,
        high=MAX_SCENES - 1,
        default=0,
    ),
    TaskParam(
        "goal_category",
        "choice",
        '"any": a new goal category every episode; a category of the chosen set: that goal from now on',
        choices=(ANY_GOAL, *ALL_CATEGORIES),
        default=ANY_GOAL,
    ),
)

HABITAT_OPTIONS: tuple[TaskParam, ...] = (
    TaskParam(
        "categories",
        "choice",
        "goal category set; its size is the one-hot's (objectnav-8: the same 8 as objnav-apartment)",
        choices=tuple(CATEGORY_SETS),
        default="objectnav-8",
    ),
    TaskParam("image_size", "choice", "side of the camera image", unit="px", choices=IMAGE_SIZES, default=64),
    TaskParam("depth", "choice", "add a depth channel to the image", choices=(False, True), default=False),
    TaskParam("episode_length", "int", "step limit of an episode", low=10, high=500, default=500),
    TaskParam(
        "trial_steps", "int", "steps per trial (episodes in one scene)", low=10, high=32768, default=1024
    ),
    TaskParam("gpu_device_id", "int", "GPU that habitat-sim renders on", low=0, high=15, default=0),
)


# -------------------------------------------------------------------------------------------------------------
# The simulator side: one habitat_sim.Simulator and its episodes (runs inside a worker process)
# -------------------------------------------------------------------------------------------------------------


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

    Never executed on the development machines (module docstring, "What was run here")."""

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
            raise ValueError(f"scene file {scene_id!r} (scene_index {index}) does not exist")
        if self.dataset != "default" and not Path(self.dataset).exists():
            raise ValueError(f"scene dataset config {self.dataset!r} (${DATASET_ENV}) does not exist")
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
                raise ValueError(
                    f"scene {scene_id!r} has no object with a navigable view point among the {len(self.categories)} goal categories "
                    f"({', '.join(self.categories)}); objnav-habitat needs semantic annotations (MP3D, HM3D-Semantics, HSSD)"
                )
            if required_goal is not None and required_goal not in data.present:
                raise ValueError(
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
            raise ValueError(
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


# -------------------------------------------------------------------------------------------------------------
# Worker processes (one simulator each) and the batch
# -------------------------------------------------------------------------------------------------------------


def _serve(
    conn: Connection, scenes: tuple[str, ...], dataset: str, options: dict, task: Task, seed: int
) -> None:
    """A worker's loop: build the simulator, then answer (command, args) with ("ok", value) or ("error", kind,
    message), where kind "value" marks an edit that cannot apply (re-raised as ValueError by the parent)."""

    def error(exc: BaseException) -> tuple[str, str, str]:
        if isinstance(exc, ValueError):  # an edit or a scene that cannot serve: the user's message as it is
            return ("error", "value", str(exc))
        return ("error", "runtime", f"{type(exc).__name__}: {exc}")

    try:
        episodes = HabitatEpisodes(scenes, dataset, options, task, seed)
    except Exception as exc:
        conn.send(error(exc))
        conn.close()
        return
    conn.send(("ok", None))
    try:
        while True:
            try:
                command, args = conn.recv()
            except EOFError:  # the parent went away
                break
            if command == "close":
                break
            try:
                conn.send(("ok", getattr(episodes, command)(*args)))
            except Exception as exc:
                conn.send(error(exc))
    finally:
        episodes.close()
        conn.close()


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(
        self, env_id: int, scenes: tuple[str, ...], dataset: str, options: dict, task: Task, seed: int
    ) -> None:
        # spawn, not fork: a forked child inherits the parent's GL and CUDA state, which habitat-sim cannot use.
        context = multiprocessing.get_context("spawn")
        self.env_id = env_id
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, scenes, dataset, options, task, seed), daemon=True,
            name=f"objnav-habitat-{env_id}",
        )  # fmt: skip
        self.process.start()
        child.close()  # so that the child's death reaches the parent as EOF

    def _exited(self) -> RuntimeError:
        self.process.join(1.0)
        return RuntimeError(
            f"objnav-habitat env {self.env_id}: its habitat-sim process exited (code {self.process.exitcode})"
        )

    def send(self, command: str, *args: Any) -> None:
        try:
            self.conn.send((command, args))
        except (
            OSError
        ):  # a broken pipe: the process is gone (a crash inside habitat-sim, or it never started)
            raise self._exited() from None

    def receive(self) -> Any:
        try:
            status, *payload = self.conn.recv()
        except (EOFError, OSError):
            raise self._exited() from None
        if status == "ok":
            return payload[0]
        kind, message = payload
        if kind == "value":
            raise ValueError(message)
        raise RuntimeError(f"objnav-habitat env {self.env_id}: {message}")

    def call(self, command: str, *args: Any) -> Any:
        self.send(command, *args)
        return self.receive()

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):  # the child may be closing its end already
                self.conn.send(("close", ()))
            self.process.join(5.0)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(1.0)
        self.conn.close()


def _close_workers(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.close()
    workers.clear()


def _gather(workers: Sequence[_Worker]) -> list[Any]:
    """Receive one answer from each worker; raise the first error only after every answer is read, so no pipe is
    left holding a stale reply."""
    results, first_error = [], None
    for worker in workers:
        try:
            results.append(worker.receive())
        except Exception as exc:
            results.append(None)
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return results


class HabitatObjNavBatch:
    """`BatchEnv` of N habitat-sim environments, each in its own worker process, stepped in parallel."""

    task_params: ClassVar[tuple[TaskParam, ...]] = HABITAT_TASK_PARAMS

    def __init__(
        self,
        num_envs: int,
        tasks: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        scenes: Sequence[str],
        dataset: str,
    ) -> None:
        require_habitat()
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if len(tasks) != num_envs:
            raise ValueError(f"need one task per env: got {len(tasks)} tasks for {num_envs} envs")
        self.num_envs = num_envs
        self.scenes, self.dataset = tuple(scenes), dataset
        self.categories = CATEGORY_SETS[str(options["categories"])]
        self.image_size = int(options["image_size"])
        self.depth = bool(options["depth"])
        self.image_shape = camera_image_shape(self.image_size, self.depth)
        self._tasks: list[Task] = []
        for i, task in enumerate(tasks):
            checked = validate_task(self.task_params, {}, task)
            missing = [p.name for p in self.task_params if p.name not in checked]
            if missing:
                raise ValueError(f"task {i} is missing parameter(s): {', '.join(missing)}")
            check_task(checked, len(self.scenes), self.categories)
            self._tasks.append(checked)
        size = observation_size(self.image_size, self.depth, len(self.categories))
        low, high = np.zeros(size, dtype=np.float32), np.ones(size, dtype=np.float32)
        gps = int(np.prod(self.image_shape))
        high[gps : gps + 2] = GPS_HIGH
        low[gps + 2 : gps + 4] = -1.0
        self.single_observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.single_action_space = gym.spaces.Discrete(len(ACTIONS))
        self._ended = np.zeros(num_envs, dtype=bool)
        seeds = np.random.default_rng().integers(0, 2**31 - 1, num_envs)
        plain = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in options.items()}
        self._workers: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _close_workers, self._workers)
        try:
            for i, task in enumerate(self._tasks):
                self._workers.append(_Worker(i, self.scenes, dataset, plain, task, int(seeds[i])))
            _gather(self._workers)  # the scenes load in parallel
        except BaseException:
            self.close()
            raise

    def reset(self, env_ids: np.ndarray | Sequence[int], seeds: Sequence[int] | None = None) -> np.ndarray:
        ids = [int(i) for i in np.asarray(env_ids, dtype=np.int64)]
        if seeds is not None and len(seeds) != len(ids):
            raise ValueError(f"need one seed per env id: got {len(seeds)} seeds for {len(ids)} envs")
        for k, i in enumerate(ids):
            self._workers[i].send("reset", None if seeds is None else int(seeds[k]))
        observations = _gather([self._workers[i] for i in ids])
        self._ended[ids] = False
        if not observations:
            return np.zeros((0, *self.single_observation_space.shape), dtype=np.float32)
        return np.stack(observations).astype(np.float32)

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        a = check_discrete_actions(actions, self.num_envs, len(ACTIONS))
        check_not_ended(self._ended)
        for worker, action in zip(self._workers, a, strict=True):
            worker.send("step", int(action))
        results = _gather(self._workers)
        obs = np.stack([r[0] for r in results]).astype(np.float32)
        reward = np.array([r[1] for r in results], dtype=np.float32)
        terminated = np.array([r[2] for r in results], dtype=bool)
        truncated = np.array([r[3] for r in results], dtype=bool)
        self._ended = terminated | truncated
        dtypes = {
            "success": bool,
            "spl": np.float32,
            "collided": bool,
            "distance_to_goal": np.float32,
            "goal": np.int64,
        }
        info = {key: np.array([r[4][key] for r in results], dtype=dtype) for key, dtype in dtypes.items()}
        return obs, reward, terminated, truncated, info

    def get_task(self, env_id: int) -> Task:
        return dict(self._tasks[env_id])

    def set_task(self, env_id: int, **params: Any) -> None:
        """Edit env `env_id`'s task mid-episode; checked here first, then applied (or refused) by its worker."""
        if not 0 <= env_id < self.num_envs:
            raise IndexError(f"env_id {env_id} out of range for {self.num_envs} envs")
        task = validate_task(self.task_params, self._tasks[env_id], params)
        check_task(task, len(self.scenes), self.categories)
        self._workers[env_id].call("set_task", task)
        self._tasks[env_id] = task

    def goal_category(self, env_id: int) -> str:
        """The current episode's goal (what "any" drew)."""
        return str(self._workers[env_id].call("goal_name"))

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        return self._workers[env_id].call("render_frame", width, height)

    def close(self) -> None:
        self._finalizer()


# -------------------------------------------------------------------------------------------------------------
# Single env and scene
# -------------------------------------------------------------------------------------------------------------


class ObjNavHabitatEnv(BatchOfOneEnv):
    """One habitat-sim navigation environment: a batch of one (its simulator runs in a worker process)."""

    task_params = HABITAT_TASK_PARAMS
    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}  # type: ignore[misc]
    draws_batch_seed: ClassVar[bool] = True

    def __init__(
        self,
        task: Mapping[str, Any],
        options: Mapping[str, Any],
        scenes: Sequence[str],
        dataset: str,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(task, render_mode, render_size=(640, 320))
        self._attach(HabitatObjNavBatch(1, [self._task], options, scenes, dataset))


class ObjNavHabitat(ObjectNavigationScene):
    """Multi-object navigation in Habitat scenes (specification in the module docstring). Making the scene and
    drawing its tasks need no habitat-sim; `make_env` / `make_batch` do."""

    id: ClassVar[str] = "objnav-habitat"
    title: ClassVar[str] = "Multi-object navigation (Habitat scenes; needs habitat-sim)"
    paper: ClassVar[str] = (
        "Gupta et al. 2025, Memo (NeurIPS 2025), ExtObjNav from Elawady et al. 2024, ReLIC; habitat-sim backend"
    )
    task_params: ClassVar[tuple[TaskParam, ...]] = HABITAT_TASK_PARAMS
    option_params: ClassVar[tuple[TaskParam, ...]] = HABITAT_OPTIONS

    def __post_init__(self) -> None:
        super().__post_init__()
        # Read when the scene is made (see the module docstring, "Getting habitat-sim and scenes").
        self.scenes: tuple[str, ...] = parse_scene_list(os.environ.get(SCENES_ENV))
        self.dataset: str = os.environ.get(DATASET_ENV, "").strip() or "default"

    @property
    def categories(self) -> tuple[str, ...]:
        return CATEGORY_SETS[str(self.options["categories"])]

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        indices = split_indices(self.check_split(split), len(self.scenes))
        return {"scene_index": int(indices[int(rng.integers(len(indices)))]), "goal_category": ANY_GOAL}

    def task_split(self, task: Mapping[str, Any]) -> Split:
        """Every fifth listed scene is held out (`split_indices`); a single scene is a training scene."""
        if len(self.scenes) > 1 and int(task["scene_index"]) in split_indices("test", len(self.scenes)):
            return "test"
        return "train"

    def make_env(
        self, task: Mapping[str, Any] | None = None, render_mode: str | None = None
    ) -> ObjNavHabitatEnv:
        require_habitat()  # before the task is drawn or checked: the missing backend is the one error to show
        return ObjNavHabitatEnv(
            self.default_task() if task is None else task,
            self.options,
            self.scenes,
            self.dataset,
            render_mode,
        )

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> HabitatObjNavBatch:
        require_habitat()
        return HabitatObjNavBatch(num_envs, tasks, self.options, self.scenes, self.dataset)
