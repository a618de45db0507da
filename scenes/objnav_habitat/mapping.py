"""Pure functions from habitat-sim's arrays and poses to objnav-apartment's observation, reward, success and
viewer frame (tested without habitat-sim): quaternions and headings, GPS, observation assembly, reward and SPL,
goal instances and their view points, the success rule, frame composition."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from scenes.objnav import GPS_SCALE, MAX_DEPTH, STEP_PENALTY, SUCCESS_DISTANCE, SUCCESS_REWARD
from scenes.objnav_habitat.spec import GOAL_PIXEL_FRACTION, VIEW_DROP, VIEW_SPACING, Vector, category_index


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
