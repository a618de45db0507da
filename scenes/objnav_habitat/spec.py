"""What every part of objnav-habitat agrees on, none of it needing habitat-sim: the backend's install message,
the scene list's environment variables, units and limits, habitat-sim's action keys, the goal category sets and
how annotation names map onto them, scene lists and splits, and the task parameters and options."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenes.base import Split, TaskParam
from scenes.errors import UserError
from scenes.objnav import (
    ACTIONS,
    ANY_GOAL,
    FORWARD_ACTION,
    HEADINGS,
    IMAGE_SIZES,
    STOP,
    TURN_LEFT,
    TURN_RIGHT,
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


class HabitatUnavailableError(UserError, RuntimeError):
    """habitat-sim is missing or does not import. A `UserError` (installing it is the user's to do), so `main.py`
    reports it as one `engram:` line, and a RuntimeError by meaning."""


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
        raise UserError(
            f"scene_index must be in [0, {num_scenes - 1}] for the {num_scenes} scene(s) in ${SCENES_ENV}, "
            f"got {task['scene_index']}"
        )
    goal = task["goal_category"]
    if goal != ANY_GOAL and goal not in categories:
        raise UserError(f"goal_category must be {ANY_GOAL!r} or one of {', '.join(categories)}, got {goal!r}")


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
