"""The apartment (`Apartment`): rooms, doors, furniture and target objects on the occupancy grid, a pure function of
the layout seed and the scene options, and geodesic distances over that grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.errors import UserError
from scenes.objnav.mjcf import apartment_mjcf
from scenes.objnav.spec import _FURNITURE_TINTS, CATEGORIES, CELL, FREE, FURNITURE, OBJECT, WALL

ROOM_SIZES = (3.0, 3.5, 4.0, 4.5)  # m
DOOR_CELLS = 4  # 1 m doorways
EXTRA_DOOR_PROBABILITY = 0.3  # doors beyond the spanning tree


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
            raise UserError(f"moved_object must be -1 or in [0, {len(self.objects) - 1}], got {index}")
        if self.objects[index].cell == cell:
            return
        if not self.can_stand(cell, skip=index, agent=agent):
            raise UserError(
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
        """The apartment as MJCF (`scenes.objnav.mjcf.apartment_mjcf`)."""
        return apartment_mjcf(self)
