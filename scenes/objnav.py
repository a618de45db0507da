"""Multi-object navigation in procedurally generated MuJoCo apartments (`objnav-apartment`).

Memo's headline benchmark is ExtObjNav (ReLIC, Elawady et al. 2024; Memo §5): a robot in a photo-realistic
Habitat house is given one object category after another and must find an instance of each, many episodes in the
same house, so an agent that remembers what it saw in earlier episodes finds later goals faster. habitat-sim
cannot be installed everywhere (docs/reference/landscape.md), so this scene rebuilds the task's structure
from MuJoCo primitives and runs on any machine; `scenes/objnav_habitat.py` speaks to habitat-sim where it is
installed, with the same observations and actions.

## Apartment (`Apartment`, a pure function of the layout seed and the scene options)
A grid of `rooms` (rows × columns) rectangular rooms, each 3-4.5 m a side, on an occupancy grid of 0.25 m cells
(the forward step). Walls are one cell thick; neighbouring rooms are joined by 1 m doorways along a random
spanning tree of the room graph (so every room is reachable) plus some extra doors. Each room gets a floor tint
(a place cue) and up to two furniture boxes; 10-20 target objects (`objects`) from 8 categories of distinct shape
and colour (`CATEGORIES`) stand on the floor, each blocking a 3×3-cell (0.75 m) footprint. Furniture and objects
are only placed where every free cell stays reachable from every other (checked by BFS).

## Agent, observation, actions
A head camera 0.88 m above the floor with a 79° field of view (Habitat ObjectNav's), on a base with a 0.25 m
forward step and 30° turns. The observation is one flat float32 vector (`Scene.image_shape` layout):

    | entries       | value                                                         |
    |---------------|---------------------------------------------------------------|
    | S·S·C         | head camera image, HWC, RGB / 255 (C = 4 adds depth / 5 m)    |
    | 2             | GPS: (x, y) in the apartment frame, metres / 10               |
    | 2             | compass: (sin, cos) of the heading                            |
    | 8             | goal category one-hot                                         |

Actions, `Discrete(4)` in Habitat's order: 0 stop, 1 forward 0.25 m, 2 turn left 30°, 3 turn right 30°. A
forward step into a wall, furniture or an object leaves the agent where it was (`collided` in info).

## Reward and success
`r = (d_prev - d) + 2.5·success - 0.01` with d the geodesic distance in metres from the agent's cell to the
nearest free cell next to an instance of the goal category (4-connected BFS over the occupancy grid, cached per
category). Stop ends the episode; it succeeds if an instance of the goal category is within 1.5 m of the agent
and in view: inside the camera's field of view with the first thing a ray from the camera meets (`mj_ray`) being
that object. Episodes last at most `episode_length` (500) steps.

## Trials (ExtObjNav-style)
A trial is `trial_steps` steps in ONE apartment; every episode starts at a random free cell facing a random way
with a new goal category drawn from those present (task `goal_category = "any"`), so what the agent saw in
earlier episodes helps it find later goals. Per-episode success and SPL are in `info` (`success`, `spl` on the
step that ends the episode).

## Task parameters (editable mid-episode)
`layout_seed` (a new apartment: the agent is placed at a random free cell), `goal_category` ("any" or a category
present in the apartment; a fixed category holds for every later episode of the trial), `camera_resolution` (the
resolution the camera renders at, resampled to the observation's `image_size`: a sensor edit the agent sees
in-context), and `moved_object` / `moved_x` / `moved_y` (object `moved_object` stands at (x, y) m instead of
where the layout put it; -1 moves none). Edits that cannot apply (an occupied spot, a category absent from the
apartment, a move that would cut off part of the apartment) raise `ValueError` and change nothing. A goal edit
re-bases `d_prev`, so the edit itself pays no reward.

## Deviations from ExtObjNav (Habitat, HSSD scenes, Fetch robot)
Primitive shapes instead of scanned furniture; a square 64×64 camera (ExtObjNav: 256×256) by default; no
look-up/down actions; no sliding along walls; success radius 1.5 m (ReLIC/Memo: 2 m); the geodesic distance is
4-connected on 0.25 m cells, so it overestimates diagonal paths by up to √2; GPS and compass are in the apartment
frame, not relative to the episode's start pose; trials of 1,024 steps by default (ExtObjNav trains on 4,096).

## Rendering speed
Software GL's cost is about 1 ms per frame whatever the size (draw calls and read-back, not pixels), so the
apartments are built to few draw calls (walls merged into long boxes, no meshes, shadows or multisampling)
and every env's camera renders through one GL context (`scenes.rendering.CameraTiles`): ≈700-1,000 frames/s
for 16-64 envs at 64×64 on 2 cores (bench/bench_scenes.py, docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import gymnasium as gym
import mujoco
import numpy as np

from scenes.base import (
    TIME_HORIZON,
    TRIAL_STEPS_MAX,
    BatchOfOneEnv,
    Scene,
    Split,
    Task,
    TaskParam,
    check_discrete_actions,
    check_not_ended,
    splitmix64,
    validate_task,
)
from scenes.rendering import CameraTiles

CELL = 0.25  # m: occupancy-grid resolution, equal to the forward step
FORWARD = 0.25  # m
HEADINGS = 12  # 30° turns
CAMERA_HEIGHT = 0.88  # m, Habitat ObjectNav's camera height
CAMERA_FOVY = 79.0  # degrees, Habitat ObjectNav's HFOV (square images: vertical = horizontal)
SUCCESS_DISTANCE = 1.5  # m
SUCCESS_REWARD = 2.5  # Habitat ObjectNav's success reward
STEP_PENALTY = 0.01
MIN_START_DISTANCE = 1.0  # m of geodesic distance between an episode's start and its goal
MAX_DEPTH = 5.0  # m, depth observations are clipped here and scaled to [0, 1]
GPS_SCALE = 0.1
NEAR, FAR = 0.05, 30.0  # m: every apartment model's frustum (statistic extent 10 × znear / zfar below)
ROOM_SIZES = (3.0, 3.5, 4.0, 4.5)  # m
DOOR_CELLS = 4  # 1 m doorways
EXTRA_DOOR_PROBABILITY = 0.3  # doors beyond the spanning tree
TEST_SALT = 0x0B1A7
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
_WALL_RGBA = "0.86 0.85 0.82 1"


def grid_distances(passable: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """4-connected BFS distance, in cells, from the nearest source to every passable cell (inf if unreachable).

    A wavefront over whole arrays: one NumPy pass per distance step instead of a Python queue per cell."""
    distance = np.full(passable.shape, np.inf)
    frontier = sources & passable
    seen = frontier.copy()
    step = 0
    while frontier.any():
        distance[frontier] = step
        grown = np.zeros_like(frontier)
        grown[1:] |= frontier[:-1]
        grown[:-1] |= frontier[1:]
        grown[:, 1:] |= frontier[:, :-1]
        grown[:, :-1] |= frontier[:, 1:]
        frontier = grown & passable & ~seen
        seen |= frontier
        step += 1
    return distance


def _dilate8(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    out = mask.copy()
    for _ in range(radius):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
        out = grown
    return out


def _connected(passable: np.ndarray) -> bool:
    cells = np.argwhere(passable)
    if not len(cells):
        return False
    seed = np.zeros_like(passable)
    seed[tuple(cells[0])] = True
    return bool(np.isfinite(grid_distances(passable, seed)[passable]).all())


@dataclass
class PlacedObject:
    category: int  # index into CATEGORIES
    cell: tuple[int, int]  # (ix, iy) of the footprint's centre cell


class Apartment:
    """One procedurally generated apartment: occupancy grid, rooms, walls, furniture and target objects.

    The grid is indexed [iy, ix]; cell (ix, iy) spans [ix·CELL, (ix+1)·CELL) × [iy·CELL, (iy+1)·CELL) metres.
    Objects can be moved (`move_object`); everything else is fixed by (seed, rows, cols, num_objects).
    """

    def __init__(self, seed: int, rows: int, cols: int, num_objects: int) -> None:
        self.seed, self.rows, self.cols = seed, rows, cols
        rng = np.random.default_rng([seed, rows, cols, num_objects])
        widths = [round(float(s) / CELL) for s in rng.choice(ROOM_SIZES, cols)]
        heights = [round(float(s) / CELL) for s in rng.choice(ROOM_SIZES, rows)]
        # Wall lines sit between rooms and around the apartment.
        self.wall_x = np.concatenate([[0], np.cumsum(np.add(widths, 1))]).astype(int)
        self.wall_y = np.concatenate([[0], np.cumsum(np.add(heights, 1))]).astype(int)
        self.nx, self.ny = int(self.wall_x[-1]) + 1, int(self.wall_y[-1]) + 1
        self.static = np.zeros((self.ny, self.nx), dtype=np.int8)
        self.static[:, self.wall_x] = WALL
        self.static[self.wall_y, :] = WALL
        self.room_of = np.full((self.ny, self.nx), -1, dtype=np.int64)
        self.rooms: list[tuple[int, int, int, int]] = []  # (x0, y0, x1, y1) interior cells, inclusive
        for r in range(rows):
            for c in range(cols):
                x0, x1 = self.wall_x[c] + 1, self.wall_x[c + 1] - 1
                y0, y1 = self.wall_y[r] + 1, self.wall_y[r + 1] - 1
                self.rooms.append((int(x0), int(y0), int(x1), int(y1)))
                self.room_of[y0 : y1 + 1, x0 : x1 + 1] = len(self.rooms) - 1
        self.doors = np.zeros_like(self.static, dtype=bool)
        self._make_doors(rng)
        self.room_of[self.doors] = -1
        self.furniture: list[tuple[int, int, int, int, float, int]] = []  # x0, y0, x1, y1, height, tint
        self._place_furniture(rng)
        self.objects: list[PlacedObject] = []
        self._place_objects(rng, num_objects)
        self.initial_cells = [o.cell for o in self.objects]
        self._fields: dict[int, np.ndarray] = {}

    # -- generation --------------------------------------------------------------------------------------
    def _make_doors(self, rng: np.random.Generator) -> None:
        edges = []
        for r in range(self.rows):
            for c in range(self.cols):
                if c + 1 < self.cols:
                    edges.append((r * self.cols + c, r * self.cols + c + 1))
                if r + 1 < self.rows:
                    edges.append((r * self.cols + c, (r + 1) * self.cols + c))
        order = rng.permutation(len(edges))
        parent = list(range(len(self.rooms)))

        def root(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for k in order:  # randomised Kruskal: a spanning tree joins every room, extra doors add loops
            a, b = edges[k]
            ra, rb = root(a), root(b)
            if ra != rb or rng.random() < EXTRA_DOOR_PROBABILITY:
                parent[ra] = rb
                self._cut_door(a, b, rng)

    def _cut_door(self, a: int, b: int, rng: np.random.Generator) -> None:
        ax0, ay0, ax1, ay1 = self.rooms[a]
        if b == a + 1:  # east neighbour: a gap in the vertical wall at x = ax1 + 1
            start = ay0 + 1 + int(rng.integers(0, ay1 - ay0 - DOOR_CELLS))
            self.doors[start : start + DOOR_CELLS, ax1 + 1] = True
        else:  # south neighbour: a gap in the horizontal wall at y = ay1 + 1
            start = ax0 + 1 + int(rng.integers(0, ax1 - ax0 - DOOR_CELLS))
            self.doors[ay1 + 1, start : start + DOOR_CELLS] = True
        self.static[self.doors] = FREE

    def _place_furniture(self, rng: np.random.Generator) -> None:
        keep_clear = _dilate8(self.doors, 3)
        for room, (x0, y0, x1, y1) in enumerate(self.rooms):
            for _ in range(int(rng.integers(0, 3))):
                w, h = int(rng.integers(2, 6)), int(rng.integers(2, 5))
                if rng.random() < 0.5:
                    w, h = h, w
                fx = int(rng.integers(x0, max(x0, x1 - w + 1) + 1))
                fy = int(rng.integers(y0, max(y0, y1 - h + 1) + 1))
                region = (slice(fy, fy + h), slice(fx, fx + w))
                if fx + w - 1 > x1 or fy + h - 1 > y1:
                    continue
                if (self.static[region] != FREE).any() or keep_clear[region].any():
                    continue
                trial = self.static.copy()
                trial[region] = FURNITURE
                if _connected(trial == FREE):
                    self.static = trial
                    height = float(rng.uniform(0.45, 0.8))
                    self.furniture.append(
                        (fx, fy, fx + w - 1, fy + h - 1, height, room % len(_FURNITURE_TINTS))
                    )

    def _place_objects(self, rng: np.random.Generator, num_objects: int) -> None:
        if num_objects >= len(CATEGORIES):
            extra = rng.integers(0, len(CATEGORIES), num_objects - len(CATEGORIES))
            categories = np.concatenate([np.arange(len(CATEGORIES)), extra])
        else:
            categories = rng.choice(len(CATEGORIES), num_objects, replace=False)
        keep_clear = _dilate8(self.doors, 2)
        for category in rng.permutation(categories):
            for _ in range(64):
                x0, y0, x1, y1 = self.rooms[int(rng.integers(len(self.rooms)))]
                cell = (int(rng.integers(x0 + 1, x1)), int(rng.integers(y0 + 1, y1)))
                if not keep_clear[cell[1], cell[0]] and self.can_stand(cell):
                    self.objects.append(PlacedObject(int(category), cell))
                    break

    def copy(self) -> Apartment:
        """An apartment whose objects can move independently of this one (the fixed layout is shared)."""
        twin = Apartment.__new__(Apartment)
        twin.__dict__.update(self.__dict__)
        twin.objects = [PlacedObject(o.category, o.cell) for o in self.objects]
        twin._fields = dict(self._fields)
        return twin

    # -- occupancy ---------------------------------------------------------------------------------------
    @property
    def width(self) -> float:
        return self.nx * CELL

    @property
    def height(self) -> float:
        return self.ny * CELL

    def occupancy(self, skip: int = -1) -> np.ndarray:
        """The grid with object footprints (object `skip` left out)."""
        grid = self.static.copy()
        for k, obj in enumerate(self.objects):
            if k != skip:
                x, y = obj.cell
                grid[y - 1 : y + 2, x - 1 : x + 2] = OBJECT
        return grid

    @property
    def passable(self) -> np.ndarray:
        return self.occupancy() == FREE

    def can_stand(self, cell: tuple[int, int], skip: int = -1, agent: tuple[int, int] | None = None) -> bool:
        """Whether an object's 3×3 footprint fits at `cell` (object `skip` removed first) with every free
        cell still reachable from every other, and not on top of the agent's cell."""
        x, y = cell
        if not (1 <= x < self.nx - 1 and 1 <= y < self.ny - 1):
            return False
        grid = self.occupancy(skip)
        footprint = (slice(y - 1, y + 2), slice(x - 1, x + 2))
        if (grid[footprint] != FREE).any():
            return False
        if agent is not None and abs(agent[0] - x) <= 1 and abs(agent[1] - y) <= 1:
            return False
        grid[footprint] = OBJECT
        return _connected(grid == FREE)

    def move_object(self, index: int, cell: tuple[int, int], agent: tuple[int, int] | None = None) -> None:
        if not 0 <= index < len(self.objects):
            raise ValueError(f"moved_object must be -1 or in [0, {len(self.objects) - 1}], got {index}")
        if self.objects[index].cell == cell:
            return
        if not self.can_stand(cell, skip=index, agent=agent):
            raise ValueError(
                f"moved_object {index} cannot stand at moved_x, moved_y = ({(cell[0] + 0.5) * CELL:.2f}, "
                f"{(cell[1] + 0.5) * CELL:.2f}) m: "
                "that spot is outside the rooms, occupied, under the agent, or would cut off part of the apartment"
            )
        self.objects[index].cell = cell
        self._fields.clear()

    def restore_objects(self) -> None:
        if any(o.cell != c for o, c in zip(self.objects, self.initial_cells, strict=True)):
            for obj, cell in zip(self.objects, self.initial_cells, strict=True):
                obj.cell = cell
            self._fields.clear()

    def categories_present(self) -> list[int]:
        return sorted({o.category for o in self.objects})

    def distance_field(self, category: int) -> np.ndarray:
        """Geodesic distance in metres from every cell to the nearest free cell next to an instance of
        `category` (cached until an object moves)."""
        if category not in self._fields:
            grid = self.occupancy()
            goal = np.zeros_like(grid, dtype=bool)
            for obj in self.objects:
                if obj.category == category:
                    x, y = obj.cell
                    goal[y - 1 : y + 2, x - 1 : x + 2] = True
            self._fields[category] = grid_distances(grid == FREE, _dilate8(goal)) * CELL
        return self._fields[category]

    # -- MuJoCo ------------------------------------------------------------------------------------------
    def mjcf(self) -> str:
        """The apartment as MJCF: primitive geoms only (see `CameraTiles`); the agent and the objects are
        mocap bodies, so moving them needs no recompilation."""
        cx, cy = self.width / 2, self.height / 2
        parts = [
            f'<geom type="box" pos="{cx} {cy} -0.06" size="{cx} {cy} 0.05" rgba="0.4 0.4 0.4 1"/>',
            f'<geom type="box" pos="{cx} {cy} 2.45" size="{cx} {cy} 0.05" rgba="0.93 0.93 0.92 1"/>',
        ]
        for k, (x0, y0, x1, y1) in enumerate(self.rooms):
            r, g, b = _ROOM_TINTS[(self.seed + k) % len(_ROOM_TINTS)]
            parts.append(_box(x0, y0, x1, y1, 0.0, -0.01, f"{r} {g} {b} 1"))
        for x0, y0, x1, y1, h, tint in self.furniture:
            r, g, b = _FURNITURE_TINTS[tint]
            parts.append(_box(x0, y0, x1, y1, 0.0, h, f"{r} {g} {b} 1"))
        for x0, y0, x1, y1 in self._wall_runs():
            parts.append(_box(x0, y0, x1, y1, 0.0, 2.4, _WALL_RGBA))
        bodies = []
        for k, obj in enumerate(self.objects):
            cat = CATEGORIES[obj.category]
            x, y = (obj.cell[0] + 0.5) * CELL, (obj.cell[1] + 0.5) * CELL
            bodies.append(
                f'<body name="object{k}" mocap="true" pos="{x} {y} {cat.height}">'
                f'<geom name="object{k}" type="{cat.geom}" size="{" ".join(map(str, cat.size))}" '
                f'rgba="{" ".join(map(str, cat.rgba))}"/></body>'
            )
        return (
            f'<mujoco model="apartment-{self.seed}">'
            f'<statistic extent="10" center="{cx} {cy} 1"/>'
            '<visual><global offwidth="64" offheight="64"/><quality shadowsize="0" offsamples="0"/>'
            f'<map znear="{NEAR / 10}" zfar="{FAR / 10}"/>'
            '<headlight ambient="0.45 0.45 0.45" diffuse="0.35 0.35 0.35" specular="0 0 0"/></visual>'
            "<worldbody>"
            f'<light directional="true" pos="{cx} {cy} 5" dir="0.3 0.2 -1" diffuse="0.45 0.45 0.45" '
            'specular="0 0 0" castshadow="false"/>' + "".join(parts) + '<body name="agent" mocap="true">'
            f'<camera name="head" pos="0 0 {CAMERA_HEIGHT}" xyaxes="0 -1 0 0 0 1" fovy="{CAMERA_FOVY}"/>'
            "</body>" + "".join(bodies) + "</worldbody></mujoco>"
        )

    def _wall_runs(self) -> list[tuple[int, int, int, int]]:
        """Wall cells merged into as few boxes as possible (draw calls are what software GL pays for):
        horizontal runs along each horizontal wall line, then what is left as vertical runs."""
        wall = self.static == WALL
        runs = []
        covered = np.zeros_like(wall)
        for y in self.wall_y:
            runs += [(x0, int(y), x1, int(y)) for x0, x1 in _runs(wall[y])]
            covered[y] = wall[y]
        rest = wall & ~covered
        for x in range(self.nx):
            runs += [(int(x), y0, int(x), y1) for y0, y1 in _runs(rest[:, x])]
        return runs


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of every run of True in a 1-D mask."""
    padded = np.concatenate([[False], line, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _box(x0: int, y0: int, x1: int, y1: int, z0: float, z1: float, rgba: str) -> str:
    """A box geom covering cells x0..x1, y0..y1 (inclusive) from height z0 to z1."""
    hx, hy, hz = (x1 - x0 + 1) * CELL / 2, (y1 - y0 + 1) * CELL / 2, abs(z1 - z0) / 2
    return (
        f'<geom type="box" pos="{x0 * CELL + hx} {y0 * CELL + hy} {(z0 + z1) / 2}" '
        f'size="{hx} {hy} {hz}" rgba="{rgba}"/>'
    )


def heading_vector(heading: int) -> np.ndarray:
    angle = heading * 2 * math.pi / HEADINGS
    return np.array([math.cos(angle), math.sin(angle)])


def _quat(heading: int) -> np.ndarray:
    angle = heading * 2 * math.pi / HEADINGS
    return np.array([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)])


def _resample(image: np.ndarray, size: int) -> np.ndarray:
    """Square `image` (r, r, ...) to (size, size, ...): box average down, pixel repeat up (powers of two)."""
    r = image.shape[0]
    if r == size:
        return image
    if r > size:
        f = r // size
        return image.reshape(size, f, size, f, *image.shape[2:]).mean(axis=(1, 3))
    f = size // r
    return image.repeat(f, axis=0).repeat(f, axis=1)


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


# -------------------------------------------------------------------------------------------------------------
# The batch
# -------------------------------------------------------------------------------------------------------------


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
            checked = validate_task(self.task_params, {}, task)
            missing = [p.name for p in self.task_params if p.name not in checked]
            if missing:
                raise ValueError(f"task {i} is missing parameter(s): {', '.join(missing)}")
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
            raise ValueError(
                f"goal_category {goal!r} is not in the apartment of layout_seed {task['layout_seed']} "
                f"(present: {names})"
            )
        if task["moved_object"] >= len(env.apartment.objects):
            raise ValueError(
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
        env.start_distance = env.distance
        self._sync_agent(env)

    def _place_agent(self, env: _Env, rng: np.random.Generator) -> None:
        """A random free cell at least MIN_START_DISTANCE from the goal (any reachable cell if none is)."""
        field = env.apartment.distance_field(env.goal)
        passable = env.apartment.passable & np.isfinite(field)
        candidates = np.argwhere(passable & (field >= MIN_START_DISTANCE))
        if not len(candidates):
            candidates = np.argwhere(passable)
        iy, ix = candidates[int(rng.integers(len(candidates)))]
        env.position = np.array([(ix + 0.5) * CELL, (iy + 0.5) * CELL])
        env.distance = float(field[iy, ix])
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
        for i, (env, action) in enumerate(zip(self._envs, a, strict=True)):
            success = False
            if action == STOP:
                success = self.goal_in_view(i, SUCCESS_DISTANCE)
                terminated[i] = True
            elif action == FORWARD_ACTION:
                info["collided"][i] = not self._forward(env)
            else:
                env.heading = (env.heading + (1 if action == TURN_LEFT else -1)) % HEADINGS
            self._sync_agent(env)
            env.steps += 1
            distance = self._goal_distance(env)
            reward[i] = env.distance - distance + SUCCESS_REWARD * success - STEP_PENALTY
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

    def goal_in_view(self, env_id: int, max_distance: float) -> bool:
        """Whether an instance of env `env_id`'s goal category is within `max_distance` m, inside the camera's
        field of view, and the first thing a ray from the camera to its centre meets."""
        env = self._envs[env_id]
        assert env.position is not None
        eye = np.array([env.position[0], env.position[1], CAMERA_HEIGHT])
        forward = heading_vector(env.heading)
        hit = np.zeros(1, dtype=np.int32)
        for k, obj in enumerate(env.apartment.objects):
            if obj.category != env.goal:
                continue
            centre = env.data.mocap_pos[k + 1]
            offset = centre[:2] - env.position
            planar = float(np.linalg.norm(offset))
            if planar > max_distance:
                continue
            angle = math.degrees(math.acos(np.clip(offset @ forward / max(planar, 1e-9), -1.0, 1.0)))
            if angle > CAMERA_FOVY / 2:
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
            raise ValueError(f"({x:.2f}, {y:.2f}) m is not a free cell of this apartment")
        env.position, env.heading = np.array([x, y], dtype=np.float64), int(heading) % HEADINGS
        env.distance = self._goal_distance(env)
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
            old.distance = self._goal_distance(old)  # an edit pays no reward by itself
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
        """Walls, furniture, objects (the goal category ringed), the path so far and the agent's pose."""
        env = self._envs[env_id]
        apt = env.apartment
        grid = apt.occupancy()
        cells = np.empty((apt.ny, apt.nx, 3), dtype=np.uint8)
        tint = (_ROOM_TINTS[(apt.seed + np.maximum(apt.room_of, 0)) % len(_ROOM_TINTS)] * 200).astype(
            np.uint8
        )
        cells[:] = np.where((apt.room_of >= 0)[..., None], tint, 150)
        cells[grid == WALL] = (40, 42, 50)
        cells[grid == FURNITURE] = (110, 80, 60)
        for obj in apt.objects:
            x, y = obj.cell
            if obj.category == env.goal:
                cells[y - 1 : y + 2, x - 1 : x + 2] = 255
            cells[y, x] = CATEGORIES[obj.category].colour
        scale = max(1, min(width // apt.nx, height // apt.ny))
        image = cells.repeat(scale, axis=0).repeat(scale, axis=1)
        px_per_m = scale / CELL
        path = np.asarray(env.path or [], dtype=np.float64).reshape(-1, 2)[:-1]
        fill_discs(image, path * px_per_m, max(1.0, scale * 0.15), (250, 250, 250))
        if env.position is not None:
            fill_discs(image, env.position[None] * px_per_m, scale * 0.8, (20, 20, 20))
            tip = env.position + 0.4 * heading_vector(env.heading)
            along = np.linspace(0, 1, 4 * scale)[:, None]
            heading_line = (env.position + along * (tip - env.position)) * px_per_m
            fill_discs(image, heading_line, max(1.0, scale * 0.3), (255, 220, 40))
        image = image[::-1]  # y up, as seen from above
        out = np.full((height, width, 3), 16, dtype=np.uint8)
        h, w = min(height, image.shape[0]), min(width, image.shape[1])
        top, left = (height - h) // 2, (width - w) // 2
        out[top : top + h, left : left + w] = image[:h, :w]
        return out

    def close(self) -> None:
        self._tiles.close()


# -------------------------------------------------------------------------------------------------------------
# Single env and scene
# -------------------------------------------------------------------------------------------------------------


def fill_discs(image: np.ndarray, centres: np.ndarray, radius: float, colour: tuple[int, int, int]) -> None:
    """Set every pixel (x right, y down) within `radius` of any of the (N, 2) `centres` to `colour`: the pixels a
    distance test over the whole image per centre selects, testing only each disc's bounding box (a 500-point
    path on a 320x320 map drew in ~0.4 s that way)."""
    if len(centres) == 0:
        return
    reach = int(np.ceil(radius)) + 1
    offsets = np.arange(-reach, reach + 1)
    base = np.floor(centres).astype(np.int64)
    xs = base[:, 0, None, None] + offsets[None, None, :]  # (N, 1, K)
    ys = base[:, 1, None, None] + offsets[None, :, None]  # (N, K, 1)
    inside = (xs - centres[:, 0, None, None]) ** 2 + (ys - centres[:, 1, None, None]) ** 2 <= radius**2
    inside &= (xs >= 0) & (xs < image.shape[1]) & (ys >= 0) & (ys < image.shape[0])
    xs, ys = np.broadcast_arrays(xs, ys)
    image[ys[inside], xs[inside]] = colour


class ObjNavEnv(BatchOfOneEnv):
    """One apartment navigation environment: a batch of one, so single and batched dynamics are one code."""

    task_params = OBJNAV_TASK_PARAMS
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}
    draws_batch_seed: ClassVar[bool] = True

    def __init__(
        self, task: Mapping[str, Any], options: Mapping[str, Any], render_mode: str | None = None
    ) -> None:
        super().__init__(task, render_mode, render_size=(640, 320))
        self._attach(ObjNavBatch(1, [self._task], options))


class ObjectNavigationScene(Scene):
    """What both navigation backends (this MuJoCo apartment and objnav-habitat) share: episodes, trials,
    actions, success / SPL reporting and the image layout chosen by the `image_size` / `depth` options."""

    episode_length: ClassVar[int] = 500
    trial_steps: ClassVar[int | None] = 1024
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "discrete"
    success_key: ClassVar[str | None] = "success"
    score_keys: ClassVar[tuple[str, ...]] = ("spl",)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return camera_image_shape(int(self.options["image_size"]), bool(self.options["depth"]))


class ObjNavApartment(ObjectNavigationScene):
    """Multi-object navigation in a procedural MuJoCo apartment (specification in the module docstring)."""

    id: ClassVar[str] = "objnav-apartment"
    title: ClassVar[str] = "Multi-object navigation (MuJoCo apartment)"
    paper: ClassVar[str] = (
        "Gupta et al. 2025, Memo (NeurIPS 2025), ExtObjNav from Elawady et al. 2024, ReLIC; rebuilt in MuJoCo"
    )
    task_params: ClassVar[tuple[TaskParam, ...]] = OBJNAV_TASK_PARAMS
    option_params: ClassVar[tuple[TaskParam, ...]] = OBJNAV_OPTIONS

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        split = self.check_split(split)
        while True:
            seed = int(rng.integers(0, 2**31 - 1))
            if self.task_split({"layout_seed": seed}) == split:
                break
        return {
            "layout_seed": seed,
            "goal_category": ANY_GOAL,
            "camera_resolution": int(self.options["image_size"]),
            "moved_object": -1,
            "moved_x": 0.0,
            "moved_y": 0.0,
        }

    def task_split(self, task: Mapping[str, Any]) -> Split:
        """Layout seeds are split once by a fixed hash: one in five apartments is held out for testing."""
        hashed = splitmix64(np.array([int(task["layout_seed"]) ^ TEST_SALT], dtype=np.uint64))[0]
        return "test" if int(hashed) % 5 == 0 else "train"

    def make_env(self, task: Mapping[str, Any] | None = None, render_mode: str | None = None) -> ObjNavEnv:
        return ObjNavEnv(self.default_task() if task is None else task, self.options, render_mode=render_mode)

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> ObjNavBatch:
        return ObjNavBatch(num_envs, tasks, self.options)
