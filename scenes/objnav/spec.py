"""What every part of objnav-apartment agrees on: units, camera, reward and action constants, the occupancy codes,
the object categories and colours, the task parameters and options, and the observation layout."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenes.base import TIME_HORIZON, TRIAL_STEPS_MAX, TaskParam

CELL = 0.25  # m: occupancy-grid resolution, equal to the forward step
FORWARD = 0.25  # m
HEADINGS = 12  # 30° turns
CAMERA_HEIGHT = 0.88  # m, Habitat ObjectNav's camera height
CAMERA_FOVY = 79.0  # degrees, Habitat ObjectNav's HFOV (square images: vertical = horizontal)
SUCCESS_DISTANCE = 1.5  # m
SUCCESS_REWARD = 2.5  # Habitat ObjectNav's success reward
STEP_PENALTY = 0.01
MIN_START_DISTANCE = 1.0  # m of geodesic distance between an episode's start and its goal


@dataclass(frozen=True)
class EpisodeRules:
    """How an episode ends and what it pays, beyond the distance term `d_prev - d` both rule sets share.

    `stop_ends_episode`: Habitat ObjectNav's rule (stop ends the episode, success is judged then); without it,
    stop is a no-op and arriving (goal within SUCCESS_DISTANCE and in view) succeeds and ends the episode.
    `turn_reward_distance`: within this geodesic distance (m) of the goal, turning towards the nearest goal
    instance pays its change in angle (radians); None: no such term.
    """

    stop_ends_episode: bool
    success_reward: float
    step_penalty: float
    turn_reward_distance: float | None


EPISODE_RULES: dict[str, EpisodeRules] = {
    # Habitat ObjectNav (habitat-lab's objectnav task: success 2.5, slack -0.01, distance-to-goal reward).
    "objectnav": EpisodeRules(True, SUCCESS_REWARD, STEP_PENALTY, None),
    # Memo's official ExtObjNav configs (memo/configs/tasks/obj_nav_hssd.yaml, baseline/nav2obj_hssd_*.yaml;
    # docs/reference/extobjnav-rules.md): success_reward 10, slack_reward -0.005, must_call_stop False with
    # end_on_success True, dist_reward 1, angle_dist_reward 1 within turn_reward_dist 3 m, bad_term_pen 0.
    # In trials of many episodes this matters: where stop ends an episode, stopping at once re-draws the start,
    # and a policy can farm the distance term's first step of every episode (docs/results.md, objnav-long).
    "extobjnav": EpisodeRules(False, 10.0, 0.005, 3.0),
}
MAX_DEPTH = 5.0  # m, depth observations are clipped here and scaled to [0, 1]
GPS_SCALE = 0.1
NEAR, FAR = 0.05, 30.0  # m: every apartment model's frustum (statistic extent 10 × znear / zfar in mjcf.py)
ACTIONS: tuple[str, ...] = ("stop", "forward", "turn_left", "turn_right")
STOP, FORWARD_ACTION, TURN_LEFT, TURN_RIGHT = range(4)
ROOM_LAYOUTS: tuple[str, ...] = ("1x1", "1x2", "2x2", "2x3", "3x3")

# Occupancy codes.
FREE, WALL, FURNITURE, OBJECT = 0, 1, 2, 3


@dataclass(frozen=True)
class Category:
    """A target-object category: one MuJoCo primitive of a distinct shape and colour."""

    name: str
    geom: str  # MuJoCo geom type
    size: tuple[float, ...]  # MuJoCo geom size
    rgba: tuple[float, float, float, float]
    height: float  # z of the geom's centre, m

    @property
    def colour(self) -> np.ndarray:
        return (np.asarray(self.rgba[:3]) * 255).astype(np.uint8)


CATEGORIES: tuple[Category, ...] = (
    Category("ball", "sphere", (0.22,), (0.90, 0.15, 0.12, 1), 0.22),
    Category("crate", "box", (0.22, 0.22, 0.22), (0.85, 0.55, 0.15, 1), 0.22),
    Category("barrel", "cylinder", (0.2, 0.3), (0.15, 0.35, 0.90, 1), 0.3),
    Category("lamp", "capsule", (0.08, 0.5), (0.98, 0.95, 0.55, 1), 0.58),
    Category("melon", "ellipsoid", (0.3, 0.2, 0.2), (0.20, 0.75, 0.25, 1), 0.2),
    Category("vase", "cylinder", (0.1, 0.3), (0.62, 0.20, 0.78, 1), 0.3),
    Category("pillar", "box", (0.1, 0.1, 0.65), (0.10, 0.80, 0.85, 1), 0.65),
    Category("puck", "cylinder", (0.3, 0.05), (0.95, 0.25, 0.65, 1), 0.05),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
ANY_GOAL = "any"

_ROOM_TINTS = np.array(
    [
        (0.72, 0.62, 0.50),
        (0.55, 0.62, 0.70),
        (0.62, 0.70, 0.56),
        (0.74, 0.58, 0.58),
        (0.66, 0.62, 0.74),
        (0.74, 0.72, 0.54),
        (0.56, 0.70, 0.70),
        (0.70, 0.66, 0.62),
        (0.60, 0.58, 0.52),
    ]
)
_FURNITURE_TINTS = ((0.45, 0.30, 0.20), (0.35, 0.35, 0.38), (0.55, 0.42, 0.30), (0.30, 0.25, 0.22))


def heading_vector(heading: int) -> np.ndarray:
    angle = heading * 2 * math.pi / HEADINGS
    return np.array([math.cos(angle), math.sin(angle)])


# -------------------------------------------------------------------------------------------------------------
# Task parameters and options
# -------------------------------------------------------------------------------------------------------------

CAMERA_RESOLUTIONS: tuple[int, ...] = (16, 32, 64, 128, 256)
IMAGE_SIZES: tuple[int, ...] = (16, 32, 64, 128)
MAX_OBJECTS = 20

OBJNAV_TASK_PARAMS: tuple[TaskParam, ...] = (
    TaskParam(
        "layout_seed", "int", "which procedurally generated apartment", low=0, high=2**31 - 1, default=0
    ),
    TaskParam(
        "goal_category",
        "choice",
        '"any": a new goal category every episode; a category: that goal for every episode from now on',
        choices=(ANY_GOAL, *CATEGORY_NAMES),
        default=ANY_GOAL,
    ),
    TaskParam(
        "camera_resolution",
        "choice",
        "resolution the head camera renders at, resampled to the observation size",
        unit="px",
        choices=CAMERA_RESOLUTIONS,
        default=64,
    ),
    TaskParam(
        "moved_object",
        "int",
        "index of the object to move (-1: none)",
        low=-1,
        high=MAX_OBJECTS - 1,
        default=-1,
    ),
    TaskParam("moved_x", "float", "x of the moved object", unit="m", low=0.0, high=15.0, default=0.0),
    TaskParam("moved_y", "float", "y of the moved object", unit="m", low=0.0, high=15.0, default=0.0),
)

OBJNAV_OPTIONS: tuple[TaskParam, ...] = (
    TaskParam("rooms", "choice", "rooms per apartment (rows x columns)", choices=ROOM_LAYOUTS, default="2x3"),
    TaskParam("objects", "int", "target objects per apartment", low=2, high=MAX_OBJECTS, default=15),
    TaskParam(
        "image_size",
        "choice",
        "side of the observed camera image",
        unit="px",
        choices=IMAGE_SIZES,
        default=64,
    ),
    TaskParam("depth", "choice", "add a depth channel to the image", choices=(False, True), default=False),
    TaskParam("episode_length", "int", "step limit of an episode", low=10, high=500, default=500),
    TaskParam(
        "rules",
        "choice",
        "episode rules: objectnav (stop ends an episode) or extobjnav (arriving succeeds; Memo's official config)",
        choices=tuple(EPISODE_RULES),
        default="objectnav",
    ),
    TaskParam(
        "trial_steps", "int", "steps per trial (episodes in one apartment)", low=10, high=32768, default=1024
    ),
    TRIAL_STEPS_MAX,
    TIME_HORIZON,
)


def camera_image_shape(image_size: int, depth: bool) -> tuple[int, int, int]:
    """(H, W, C) of the head-camera image an observation begins with (`Scene.image_shape`)."""
    return (image_size, image_size, 4 if depth else 3)


def observation_size(image_size: int, depth: bool, num_goals: int = len(CATEGORIES)) -> int:
    """Length of the flat observation: image, GPS 2, compass 2, goal one-hot."""
    return math.prod(camera_image_shape(image_size, depth)) + 4 + num_goals
