"""Gridworld scenes from in-context RL: Dark-Key-To-Door (AMAGO / Memo) and Dark Room (Algorithm Distillation).

Both are 9×9 rooms whose reward locations are invisible: the agent observes only its own cell (plus, in
Dark-Key-To-Door, whether it holds the key and the time in the episode), so it has to find the hidden cells
by exploring and remember them across the episodes of a trial.

The simulation lives once, in the vectorised batch classes (`DarkKeyToDoorBatch`, `DarkroomBatch`): one
object steps N environments with NumPy array operations and lookup tables, no Python loop over envs. The
single Gymnasium environments (`DarkKeyToDoorEnv`, `DarkroomEnv`) are thin wrappers around a batch of one,
so the single-env and batched dynamics cannot drift apart.

Sources checked (line numbers are of these commits):
- AMAGO, github.com/UT-Austin-RPL/amago @ 2d85600c, `amago/envs/builtin/toy_gym.py`, class `RoomKeyDoor`
  (lines 164-291) and `examples/05_dark_key_door.py`.
- Memo's AMAGO fork, github.com/Memory-icrl/memo @ 9e7044f2, `amago/envs/builtin/room_key_door.py`
  (lines 1-105) and `examples/03_dark_key_to_door.py` (the configuration the Memo paper ran: 9×9, 50-step
  episodes, 500-step trials).
- Algorithm Distillation (Laskin et al. 2022, arXiv 2210.14215), Section 5, Dark Room paragraph: "The room
  size is 9 × 9, the possible actions are one step left, right, up, down, and no-op, the episode length is 20,
  and the agent resets at the center of the map ... Dark Room where the agent receives r = 1 every time the
  goal is reached". (Read as quoted in a public re-implementation; the paper's appendix was not readable
  here, so AD's exact train/test goal split is not reproduced, see `TEST_FRACTION`.)
- CORL's toymeta (github.com/corl-team/toy-meta-gym @ 14059341, `src/toymeta/`): registers Dark Room
  9×9 with a centre start and no termination at the goal, which agrees with AD.

Conventions shared by both scenes
---------------------------------
Cells are (x, y) with x the column (0 = left) and y the row (0 = top), both in 0..8; cell index = 9·y + x.
Actions are AMAGO's displacement list `dirs = [[0,-1], [-1,0], [0,1], [1,0], [0,0]]` (toy_gym.py line 243,
room_key_door.py line 68) applied to (x, y), clipped to the room (moving into a wall leaves the agent in
place):

    | action | (dx, dy) | on screen |
    |--------|----------|-----------|
    | 0      | (0, -1)  | up        |
    | 1      | (-1, 0)  | left      |
    | 2      | (0, +1)  | down      |
    | 3      | (+1, 0)  | right     |
    | 4      | (0, 0)   | stay      |

Episode bookkeeping: `t` counts the steps taken in the current episode (0 after reset, k after the k-th
step). An episode is truncated on the step where `t` reaches the episode length (Gymnasium `TimeLimit`
semantics: `truncated` may be True together with `terminated`). There is no auto-reset: after an env's
episode ended, stepping it again raises `RuntimeError` until the caller resets it (`BatchEnv` contract in
scenes/base.py). A freshly built batch is already in its reset state, so it can be stepped at once.
The dynamics are deterministic (the agent start is part of the task), so `reset(seed=...)` only seeds the
Gymnasium `np_random` for API compatibility; replaying the same actions reproduces an episode exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import gymnasium as gym
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
    check_env_ids,
    check_env_index,
    check_not_ended,
    splitmix64,
    validate_task,
)

GRID = 9
NUM_CELLS = GRID * GRID
NUM_ACTIONS = 5
CENTER_CELL = (GRID // 2) * GRID + GRID // 2  # (4, 4): AD's Dark Room start ("resets at the center")

# AMAGO's action order (toy_gym.py line 243): (dx, dy) per action.
ACTION_DELTAS: np.ndarray = np.array([[0, -1], [-1, 0], [0, 1], [1, 0], [0, 0]], dtype=np.int64)
ACTION_NAMES: tuple[str, ...] = ("up", "left", "down", "right", "stay")

# Share of all task configurations held out for the "test" split. AD evaluates on held-out tasks, but its
# exact split was not available here; 20 % is our choice, applied identically to both scenes.
TEST_FRACTION = 0.2


def _cell_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y of every cell and the successor cell of every (action, cell), flattened as action·81 + cell.

    One gather from a 405-entry table replaces per-env branching on the action, which is what makes `step`
    a handful of array operations."""
    cells = np.arange(NUM_CELLS, dtype=np.int64)
    xs, ys = cells % GRID, cells // GRID
    nx = np.clip(xs[None, :] + ACTION_DELTAS[:, 0:1], 0, GRID - 1)
    ny = np.clip(ys[None, :] + ACTION_DELTAS[:, 1:2], 0, GRID - 1)
    return xs, ys, (ny * GRID + nx).reshape(-1)


CELL_X, CELL_Y, _NEXT_CELL = _cell_tables()


def cell_of(x: int, y: int) -> int:
    return int(y) * GRID + int(x)


# ---------------------------------------------------------------------------------------------------------
# Train / test splits
# ---------------------------------------------------------------------------------------------------------


def make_splits(num_configs: int, salt: int, test_fraction: float = TEST_FRACTION) -> dict[str, np.ndarray]:
    """A fixed, disjoint train/test partition of configuration ids 0..num_configs-1 (each sorted).

    The configurations are ordered by a salted hash and the first `round(test_fraction · n)` are held out."""
    ids = np.arange(num_configs, dtype=np.uint64)
    order = np.argsort(splitmix64(ids ^ np.uint64(salt)), kind="stable")
    num_test = round(test_fraction * num_configs)
    return {"train": np.sort(order[num_test:]), "test": np.sort(order[:num_test])}


# Dark-Key-To-Door configuration id = key_cell · 81 + door_cell (all 81² = 6561 pairs, key == door included,
# as AMAGO draws key and door independently). Dark Room configuration id = goal_cell (81 goals).
DKTD_SPLITS = make_splits(NUM_CELLS * NUM_CELLS, salt=0xD1C7D)
DARKROOM_SPLITS = make_splits(NUM_CELLS, salt=0xDA12C)


# ---------------------------------------------------------------------------------------------------------
# Rendering (pure NumPy, any size)
# ---------------------------------------------------------------------------------------------------------

_LETTERBOX = np.array([16, 17, 22], dtype=np.uint8)
_WALL = np.array([92, 94, 108], dtype=np.uint8)
_FLOOR = np.array([30, 33, 44], dtype=np.uint8)
_GRID_LINE = np.array([48, 52, 68], dtype=np.uint8)
_KEY = np.array([236, 190, 52], dtype=np.uint8)
_KEY_TINT = np.array([66, 58, 30], dtype=np.uint8)
_KEY_TAKEN = np.array([92, 84, 60], dtype=np.uint8)
_DOOR = np.array([214, 118, 66], dtype=np.uint8)
_DOOR_TINT = np.array([66, 40, 32], dtype=np.uint8)
_GOAL = np.array([96, 210, 118], dtype=np.uint8)
_GOAL_TINT = np.array([30, 62, 40], dtype=np.uint8)
_AGENT = np.array([88, 168, 255], dtype=np.uint8)
_AGENT_WITH_KEY = np.array([255, 206, 64], dtype=np.uint8)
_AGENT_RIM = np.array([240, 244, 255], dtype=np.uint8)

_WALL_CELLS = 0.5  # wall thickness around the room, in cells


class _Canvas:
    """An RGB image with a 9×9 room (plus wall) letterboxed into it; draws in cell coordinates.

    Every pixel is mapped to continuous room coordinates through its centre, so the picture is correct at
    any size and aspect ratio (cells are square, the spare margin is letterboxed)."""

    def __init__(self, width: int, height: int) -> None:
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"render {name} must be a positive integer, got {value!r}")
        self.width, self.height = int(width), int(height)
        span = GRID + 2 * _WALL_CELLS
        self.scale = min(self.width, self.height) / span  # pixels per cell
        self.ox = (self.width - span * self.scale) / 2 + _WALL_CELLS * self.scale  # pixel x of the room edge
        self.oy = (self.height - span * self.scale) / 2 + _WALL_CELLS * self.scale
        self.u = (np.arange(self.width) + 0.5 - self.ox) / self.scale  # room x of each pixel column
        self.v = (np.arange(self.height) + 0.5 - self.oy) / self.scale  # room y of each pixel row
        self.img = np.empty((self.height, self.width, 3), dtype=np.uint8)
        self.img[:] = _LETTERBOX
        # Lines thinner than a pixel would vanish or alias at small sizes: keep them at least ~1 px.
        self.px = 1.0 / self.scale

    def _window(self, lo: float, hi: float) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """Pixels whose centres may fall in the room square [lo, hi)² and their room coordinates."""
        x0 = max(0, int(np.floor(self.ox + lo * self.scale)))
        x1 = min(self.width, int(np.ceil(self.ox + hi * self.scale)) + 1)
        y0 = max(0, int(np.floor(self.oy + lo * self.scale)))
        y1 = min(self.height, int(np.ceil(self.oy + hi * self.scale)) + 1)
        return slice(y0, y1), slice(x0, x1), self.u[None, x0:x1], self.v[y0:y1, None]

    def room(self) -> None:
        rows, cols, u, v = self._window(-_WALL_CELLS, GRID + _WALL_CELLS)
        region = self.img[rows, cols]
        inside_wall = (
            (u >= -_WALL_CELLS) & (u < GRID + _WALL_CELLS) & (v >= -_WALL_CELLS) & (v < GRID + _WALL_CELLS)
        )
        region[inside_wall] = _WALL
        floor = (u >= 0) & (u < GRID) & (v >= 0) & (v < GRID)
        region[floor] = _FLOOR
        # A pixel is on a grid line when a cell boundary lies in (its centre - w, its centre]: every line is
        # then exactly round(w / px) pixels wide wherever it falls, instead of vanishing between pixel
        # centres at fractional scales.
        w = max(0.03, self.px)
        lines = (np.floor(u) != np.floor(u - w)) | (np.floor(v) != np.floor(v - w))
        if self.scale >= 4:  # below ~4 px per cell, 1-px lines would cover most of the floor
            region[floor & lines] = _GRID_LINE

    def cell(self, cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(view of the cell's pixels, local x in [0, 1), local y in [0, 1)) for drawing inside one cell."""
        cx, cy = int(CELL_X[cell]), int(CELL_Y[cell])
        x0 = max(0, int(np.floor(self.ox + cx * self.scale)))
        x1 = min(self.width, int(np.ceil(self.ox + (cx + 1) * self.scale)) + 1)
        y0 = max(0, int(np.floor(self.oy + cy * self.scale)))
        y1 = min(self.height, int(np.ceil(self.oy + (cy + 1) * self.scale)) + 1)
        a = self.u[None, x0:x1] - cx
        b = self.v[y0:y1, None] - cy
        inside = (a >= 0) & (a < 1) & (b >= 0) & (b < 1)
        return self.img[y0:y1, x0:x1], np.where(inside, a, -9.0), np.where(inside, b, -9.0)

    def tint(self, cell: int, colour: np.ndarray) -> None:
        view, a, b = self.cell(cell)
        # Inset so the grid lines stay visible around a tinted cell.
        inset = max(0.04, self.px)
        view[(a >= inset) & (a < 1 - inset) & (b >= inset) & (b < 1 - inset)] = colour

    def key(self, cell: int, colour: np.ndarray) -> None:
        view, a, b = self.cell(cell)
        w = max(0.07, self.px)
        ring = np.hypot(a - 0.32, b - 0.5)
        bow = np.abs(ring - 0.15) < w / 2 + 0.02
        shaft = (a >= 0.45) & (a <= 0.85) & (np.abs(b - 0.5) < w / 2 + 0.01)
        teeth = ((np.abs(a - 0.69) < w / 2) | (np.abs(a - 0.81) < w / 2)) & (b >= 0.5) & (b <= 0.67)
        view[bow | shaft | teeth] = colour

    def door(self, cell: int) -> None:
        view, a, b = self.cell(cell)
        w = max(0.07, self.px)
        box = (a >= 0.24) & (a <= 0.76) & (b >= 0.12) & (b <= 0.9)
        hollow = (a >= 0.24 + w) & (a <= 0.76 - w) & (b >= 0.12 + w) & (b <= 0.9 - w)
        knob = np.hypot(a - 0.62, b - 0.54) < max(0.055, self.px)
        view[(box & ~hollow) | knob] = _DOOR

    def goal(self, cell: int) -> None:
        view, a, b = self.cell(cell)
        w = max(0.07, self.px)
        r = np.hypot(a - 0.5, b - 0.5)
        view[(np.abs(r - 0.3) < w / 2) | (r < max(0.1, self.px))] = _GOAL

    def agent(self, cell: int, colour: np.ndarray) -> None:
        view, a, b = self.cell(cell)
        r = np.hypot(a - 0.5, b - 0.5)
        # At a few pixels per cell a 0.3-cell disc may contain no pixel centre; grow it to stay visible.
        radius = min(0.5, max(0.3, 0.75 * self.px))
        if self.scale >= 5:  # the light rim separates the agent from the glyph under it, when there is room
            view[r < radius + max(0.06, self.px)] = _AGENT_RIM
        view[r < radius] = colour


# ---------------------------------------------------------------------------------------------------------
# Vectorised batches
# ---------------------------------------------------------------------------------------------------------


def _cell_param(name: str, doc: str) -> TaskParam:
    return TaskParam(name, "int", doc, unit="cell", low=0, high=GRID - 1)


DKTD_TASK_PARAMS: tuple[TaskParam, ...] = (
    _cell_param("key_x", "Key column (0 = left). Invisible to the agent."),
    _cell_param("key_y", "Key row (0 = top). Invisible to the agent."),
    _cell_param("door_x", "Door column (0 = left). Invisible to the agent."),
    _cell_param("door_y", "Door row (0 = top). Invisible to the agent."),
    _cell_param(
        "start_x", "Agent start column, the same for every episode of the task (AMAGO); applies at reset."
    ),
    _cell_param(
        "start_y", "Agent start row, the same for every episode of the task (AMAGO); applies at reset."
    ),
)

DARKROOM_TASK_PARAMS: tuple[TaskParam, ...] = (
    _cell_param("goal_x", "Goal column (0 = left). Invisible to the agent."),
    _cell_param("goal_y", "Goal row (0 = top). Invisible to the agent."),
)


class _GridBatch(ABC):
    """What both gridworld batches share: agent cells, step counters, ended flags, action checks, resets,
    task edits and rendering. Subclasses hold their task arrays and implement `step` and `_observe`."""

    task_params: ClassVar[tuple[TaskParam, ...]]
    episode_length: ClassVar[int]
    obs_dim: ClassVar[int]
    single_observation_space: gym.spaces.Box  # set by each subclass's __init__

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if len(tasks) != num_envs:
            raise ValueError(f"need one task per env: got {len(tasks)} tasks for {num_envs} envs")
        self.num_envs = int(num_envs)
        self.single_action_space = gym.spaces.Discrete(NUM_ACTIONS)
        self._cell = np.zeros(self.num_envs, dtype=np.int64)
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._ended = np.zeros(self.num_envs, dtype=bool)
        self._alloc_task_arrays()
        names = [p.name for p in self.task_params]
        for i, task in enumerate(tasks):
            checked = validate_task(self.task_params, {}, task)
            missing = [name for name in names if name not in checked]
            if missing:
                raise ValueError(f"task {i} is missing parameter(s): {', '.join(missing)}")
            self._write_task(i, checked)
        self.reset(np.arange(self.num_envs))

    # -- subclass hooks ---------------------------------------------------------------------------------
    @abstractmethod
    def _alloc_task_arrays(self) -> None:
        """Create the (num_envs,) task and per-scene state arrays."""

    @abstractmethod
    def _write_task(self, env_id: int, task: Task) -> None:
        """Store one validated, complete task into the arrays."""

    @abstractmethod
    def _start_cells(self, ids: np.ndarray) -> np.ndarray:
        """Where the listed envs begin an episode."""

    @abstractmethod
    def _reset_extra(self, ids: np.ndarray) -> None:
        """Clear per-scene episode state of the listed envs on reset (e.g. has_key)."""

    @abstractmethod
    def _observe(self, ids: np.ndarray) -> np.ndarray:
        """Observations of the listed envs."""

    @abstractmethod
    def get_task(self, env_id: int) -> Task:
        """Env `env_id`'s current task, read back from the arrays."""

    @abstractmethod
    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every env (see the subclasses for the returned arrays)."""

    @abstractmethod
    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """An RGB uint8 image (height, width, 3) of env `env_id`."""

    # -- shared machinery -------------------------------------------------------------------------------
    @property
    def ended(self) -> np.ndarray:
        """Which envs finished their episode and must be reset before the next `step` (a copy)."""
        return self._ended.copy()

    @property
    def elapsed_steps(self) -> np.ndarray:
        """Steps taken in each env's current episode (a copy)."""
        return self._t.copy()

    def _move(self, actions: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Validate, move every agent and count the step: returns the new cells and step counters."""
        a = check_discrete_actions(actions, self.num_envs, NUM_ACTIONS)
        check_not_ended(self._ended)
        cell = _NEXT_CELL[a * NUM_CELLS + self._cell]
        t = self._t + 1
        self._cell, self._t = cell, t
        return cell, t

    def reset(self, env_ids: np.ndarray | Sequence[int], seeds: Sequence[int] | None = None) -> np.ndarray:
        """Reset the listed envs to the start of an episode of their current task; return their observations.

        `seeds` is accepted for the `BatchEnv` interface and checked for length; the dynamics use no
        randomness (the start cell is part of the task), so it changes nothing."""
        ids = check_env_ids(env_ids, self.num_envs)
        if seeds is not None and len(seeds) != len(ids):
            raise ValueError(f"need one seed per env id: got {len(seeds)} seeds for {len(ids)} envs")
        self._cell[ids] = self._start_cells(ids)
        self._t[ids] = 0
        self._ended[ids] = False
        self._reset_extra(ids)
        return self._observe(ids)

    def set_task(self, env_id: int, **params: Any) -> None:
        """Edit env `env_id`'s task; all values are validated before anything changes. Takes effect on the
        next `step`, also mid-episode (a moved start applies at the next reset)."""
        i = check_env_index(env_id, self.num_envs)
        new_task = validate_task(self.task_params, self.get_task(i), params)
        self._write_task(i, new_task)

    def close(self) -> None:
        """The batch is plain NumPy arrays, so there is nothing to release; every env is marked ended so a
        closed batch is not stepped by mistake (a reset revives it)."""
        self._ended[:] = True


def _dktd_task(key: int, door: int, start: int) -> Task:
    """A Dark-Key-To-Door task dict from flat cell indices (row-major, cell = y * GRID + x)."""
    return {
        "key_x": key % GRID,
        "key_y": key // GRID,
        "door_x": door % GRID,
        "door_y": door // GRID,
        "start_x": start % GRID,
        "start_y": start // GRID,
    }


def _dktd_obs_table(episode_length: int) -> np.ndarray:
    """Every possible observation, indexed by (t · 2 + has_key) · 81 + cell.

    Values are computed in float64 and rounded once to float32, exactly like AMAGO's `obs()` (toy_gym.py
    lines 268-277), so a step is a single gather instead of four column writes."""
    t, k, c = np.meshgrid(np.arange(episode_length + 1), np.arange(2), np.arange(NUM_CELLS), indexing="ij")
    columns = [CELL_X[c] / GRID, CELL_Y[c] / GRID, k.astype(np.float64), t / episode_length]
    return np.stack(columns, axis=-1).astype(np.float32).reshape(-1, 4)


class DarkKeyToDoorBatch(_GridBatch):
    """`num_envs` Dark-Key-To-Door environments stepped together with array operations (see
    `DarkKeyToDoor` for the specification). Env i starts on tasks[i]."""

    task_params = DKTD_TASK_PARAMS
    episode_length = 50
    obs_dim = 4
    _OBS: ClassVar[np.ndarray] = _dktd_obs_table(50)

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> None:
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(4,), dtype=np.float32)
        super().__init__(num_envs, tasks)

    def _alloc_task_arrays(self) -> None:
        n = self.num_envs
        self._key = np.zeros(n, dtype=np.int64)
        self._door = np.zeros(n, dtype=np.int64)
        self._start = np.zeros(n, dtype=np.int64)
        self._has_key = np.zeros(n, dtype=bool)

    def _write_task(self, env_id: int, task: Task) -> None:
        # key == door is allowed: AMAGO draws them independently (toy_gym.py lines 233-242). The agent then
        # collects the key on arrival and opens the door on a later step that ends on the same cell
        # (e.g. "stay"), because the door check uses has_key from before the step (lines 257-262).
        self._key[env_id] = cell_of(task["key_x"], task["key_y"])
        self._door[env_id] = cell_of(task["door_x"], task["door_y"])
        # A moved start does not teleport the agent: it is where the *next* episode begins.
        self._start[env_id] = cell_of(task["start_x"], task["start_y"])
        # has_key is deliberately untouched: an agent already holding the key keeps it when the key moves.

    def _start_cells(self, ids: np.ndarray) -> np.ndarray:
        return self._start[ids]

    def _reset_extra(self, ids: np.ndarray) -> None:
        self._has_key[ids] = False

    def _observe(self, ids: np.ndarray) -> np.ndarray:
        return self._OBS[(self._t[ids] * 2 + self._has_key[ids]) * NUM_CELLS + self._cell[ids]]

    def get_task(self, env_id: int) -> Task:
        i = check_env_index(env_id, self.num_envs)
        key, door, start = int(self._key[i]), int(self._door[i]), int(self._start[i])
        return _dktd_task(key, door, start)

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every env. Returns obs (N, 4) float32, reward (N,) float64, terminated (N,), truncated (N,)
        and info {"reached_key", "reached_door", "has_key"}: (N,) bool arrays."""
        cell, t = self._move(actions)
        had_key = self._has_key
        # Door before key, both against has_key from *before* the step, as AMAGO's if/elif (lines 257-262):
        # the key and the door can never both pay on one step.
        reached_door = had_key & (cell == self._door)
        reached_key = ~had_key & (cell == self._key)
        has_key = had_key | reached_key
        self._has_key = has_key
        reward = (reached_key | reached_door).astype(np.float64)
        terminated = reached_door
        truncated = t >= self.episode_length
        self._ended = terminated | truncated
        obs = self._OBS[(t * 2 + has_key) * NUM_CELLS + cell]
        info = {"reached_key": reached_key, "reached_door": reached_door, "has_key": has_key.copy()}
        return obs, reward, terminated, truncated, info

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """The room as the viewer sees it: key and door drawn (tinted cells, outlined glyphs) although the
        agent cannot see them; the agent turns gold while it holds the key, and the key glyph fades."""
        i = check_env_index(env_id, self.num_envs)
        canvas = _Canvas(width, height)
        canvas.room()
        has_key = bool(self._has_key[i])
        key, door = int(self._key[i]), int(self._door[i])
        canvas.tint(door, _DOOR_TINT)
        if not has_key:  # once collected, the key's cell loses its tint and the glyph fades
            canvas.tint(key, _KEY_TINT)
        canvas.door(door)
        canvas.key(key, _KEY_TAKEN if has_key else _KEY)
        canvas.agent(int(self._cell[i]), _AGENT_WITH_KEY if has_key else _AGENT)
        return canvas.img


class DarkroomBatch(_GridBatch):
    """`num_envs` Dark Room environments stepped together with array operations (see `Darkroom`)."""

    task_params = DARKROOM_TASK_PARAMS
    episode_length = 20
    obs_dim = 2
    _OBS: ClassVar[np.ndarray] = np.stack([CELL_X / GRID, CELL_Y / GRID], axis=-1).astype(np.float32)

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> None:
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        super().__init__(num_envs, tasks)

    def _alloc_task_arrays(self) -> None:
        self._goal = np.zeros(self.num_envs, dtype=np.int64)

    def _write_task(self, env_id: int, task: Task) -> None:
        self._goal[env_id] = cell_of(task["goal_x"], task["goal_y"])

    def _start_cells(self, ids: np.ndarray) -> np.ndarray:
        return np.full(len(ids), CENTER_CELL, dtype=np.int64)

    def _reset_extra(self, ids: np.ndarray) -> None:
        """Dark Room has no episode state besides the agent cell and the step counter."""
        return None

    def _observe(self, ids: np.ndarray) -> np.ndarray:
        return self._OBS[self._cell[ids]]

    def get_task(self, env_id: int) -> Task:
        goal = int(self._goal[check_env_index(env_id, self.num_envs)])
        return {"goal_x": goal % GRID, "goal_y": goal // GRID}

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every env. Returns obs (N, 2) float32, reward (N,) float64, terminated (N,) (always False),
        truncated (N,) and info {"on_goal"}: (N,) bool."""
        cell, t = self._move(actions)
        on_goal = cell == self._goal
        reward = on_goal.astype(np.float64)
        # AD's Dark Room pays "every time the goal is reached" and never ends an episode early.
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = t >= self.episode_length
        self._ended = truncated
        return self._OBS[cell], reward, terminated, truncated, {"on_goal": on_goal}

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """The room with the (invisible to the agent) goal drawn as a green target."""
        i = check_env_index(env_id, self.num_envs)
        canvas = _Canvas(width, height)
        canvas.room()
        goal = int(self._goal[i])
        canvas.tint(goal, _GOAL_TINT)
        canvas.goal(goal)
        canvas.agent(int(self._cell[i]), _AGENT)
        return canvas.img


# ---------------------------------------------------------------------------------------------------------
# Single Gymnasium environments: a batch of one
# ---------------------------------------------------------------------------------------------------------


class _GridEnv(BatchOfOneEnv):
    """A gridworld as a Gymnasium env: a batch of one."""

    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 8}  # type: ignore[misc]
    batch_class: ClassVar[type[_GridBatch]]

    def __init__(self, task: Mapping[str, Any], render_mode: str | None = None) -> None:
        super().__init__(task, render_mode)
        self._attach(self.batch_class(1, [self._task]))


class DarkKeyToDoorEnv(_GridEnv):
    """One Dark-Key-To-Door environment (specification in `DarkKeyToDoor`)."""

    task_params = DKTD_TASK_PARAMS
    batch_class = DarkKeyToDoorBatch


class DarkroomEnv(_GridEnv):
    """One Dark Room environment (specification in `Darkroom`)."""

    task_params = DARKROOM_TASK_PARAMS
    batch_class = DarkroomBatch


# ---------------------------------------------------------------------------------------------------------
# Scenes
# ---------------------------------------------------------------------------------------------------------


def _trial_steps_option(default: int) -> TaskParam:
    return TaskParam(
        "trial_steps", "int", "steps per trial (episodes on one task)", low=10, high=32768, default=default
    )


class DarkKeyToDoor(Scene):
    """Dark-Key-To-Door, as AMAGO and Memo run it (after Algorithm Distillation).

    ## Description
    A 9×9 room holds an invisible key and an invisible door. Within an episode the agent must walk onto the
    key and then onto the door. A trial is 500 steps of back-to-back episodes on one task, so an agent that
    remembers where it found the key and the door can open the door many times. Mean 500-step trial return
    on this implementation (2,000 trials): random policy 2.5 (std 2.6), a scripted agent that knows key and
    door (greedy path) 100.2 (std 51). docs/reference/memo.md lists 88.9 for the scripted agent: that
    was measured on AMAGO's env, which spends one extra step per episode on its reset (see Deviations);
    with that step added the same scripted agent scores 88.6 in simulation.

    ## Action space
    `Discrete(5)`: 0 up (y-1), 1 left (x-1), 2 down (y+1), 3 right (x+1), 4 stay; AMAGO's order
    (toy_gym.py line 243). Moves into a wall leave the agent in place.

    ## Observation space
    `Box(0, 1, (4,), float32)`, AMAGO's dark observation (toy_gym.py line 272):

        | index | value                     | range               |
        |-------|---------------------------|---------------------|
        | 0     | x / 9                     | 0, 1/9, ..., 8/9    |
        | 1     | y / 9                     | 0, 1/9, ..., 8/9    |
        | 2     | has_key (1.0 or 0.0)      | {0, 1}              |
        | 3     | t / H, t = steps taken in | 0, 1/50, ..., 1     |
        |       | this episode, H = 50      |                     |

    ## Reward
    `r = 1[reached_key] + 1[reached_door]` where, with `has_key` taken from before the step and `cell` the
    agent's cell after it, `reached_door = has_key and cell == door` and `reached_key = not has_key and
    cell == key` (toy_gym.py lines 257-262). The key therefore pays once per episode (revisits pay nothing),
    the door only with the key, and never both on one step. `info` carries `reached_key`, `reached_door`
    and `has_key` (after the step).

    ## Starting state
    The agent starts every episode of a task on the task's start cell, with no key and t = 0. AMAGO draws the
    start at random once per task and keeps it for all episodes of that task (`generate_task` draws
    start/key/goal, `reset_same_task` puts the agent back on `self.start`: toy_gym.py lines 215-242; the
    same in Memo's fork, room_key_door.py lines 38-65, where `reset(new_task=False)` keeps the start). So the
    start is part of the task here (`start_x`, `start_y`), drawn uniformly by `sample_task`.

    ## Episode end
    Terminated on reaching the door with the key. Truncated when t reaches 50. Both can be True on the 50th
    step (Gymnasium `TimeLimit` semantics). No auto-reset (see the module docstring).

    ## Task parameters
    `key_x`, `key_y`, `door_x`, `door_y`, `start_x`, `start_y`: integers 0..8. key == door is allowed, as in
    AMAGO, which draws them independently. `set_task` applies immediately: a moved key or door counts from
    the next step; an agent already holding the key keeps it; a moved start applies from the next reset.

    ## Trial
    `trial_steps = 500` (Memo's `--meta_horizon 500`, examples/03_dark_key_to_door.py line 16; AMAGO's
    `meta_rollout_horizon` default 500), filled with as many episodes as fit. The `trial_steps` option
    lengthens it, to evaluate memory past the training context.

    ## Splits
    All 81² (key, door) pairs are split once, by a fixed salted hash, into train (5249) and test (1312,
    `TEST_FRACTION` = 20 %). `sample_task(rng, split)` draws a pair from the split and a uniform start.

    ## Deviations
    - Memo's fork checks `truncated = self.t >= self.H` before incrementing t (room_key_door.py lines 78-79),
      so its episodes last 51 steps and its final t/H is 1.02; we truncate after exactly 50 steps, as
      AMAGO's current version does (toy_gym.py lines 263-264).
    - AMAGO's current version spends one extra step per episode on a "soft reset" that ignores the action
      and pays 0 (toy_gym.py lines 249-252); here the caller resets explicitly and no step is wasted, as in
      Memo's fork whose wrapper resets inside the ending step.
    - AMAGO's own example defaults to an 8×8 room (examples/05_dark_key_door.py, `--room_size 8`); Memo and
      AD use 9×9, which we follow.
    - AD's test split of key/door configurations was not available here; ours is a documented 20 % hold-out.
    - AMAGO's appendix comparison with AD (and its AD replication, jakegrigsby/algorithm_distillation) used a
      fixed start cell; the main-text version, which Memo runs, uses random starts per task, as here.
    """

    id: ClassVar[str] = "dark-key-to-door"
    success_key: ClassVar[str | None] = "reached_door"
    title: ClassVar[str] = "Dark-Key-To-Door (9×9)"
    paper: ClassVar[str] = (
        "Laskin et al. 2022, In-context RL with Algorithm Distillation (arXiv 2210.14215); as run by AMAGO "
        "(Grigsby et al. 2024) and Memo (Gupta et al. 2025)"
    )
    task_params: ClassVar[tuple[TaskParam, ...]] = DKTD_TASK_PARAMS
    episode_length: ClassVar[int] = DarkKeyToDoorBatch.episode_length
    trial_steps: ClassVar[int | None] = 500
    # Longer trials test memory past the training context (Memo §5: evaluation at 2-8x the training trial).
    option_params: ClassVar[tuple[TaskParam, ...]] = (_trial_steps_option(500), TRIAL_STEPS_MAX, TIME_HORIZON)
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "discrete"

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        configs = DKTD_SPLITS[self.check_split(split)]
        key, door = divmod(int(configs[rng.integers(len(configs))]), NUM_CELLS)
        start = int(rng.integers(NUM_CELLS))
        return _dktd_task(key, door, start)

    def task_split(self, task: Mapping[str, Any]) -> Split:
        """Which split a task's (key, door) pair belongs to (the start cell does not matter)."""
        t = validate_task(self.task_params, {}, task)
        config = cell_of(t["key_x"], t["key_y"]) * NUM_CELLS + cell_of(t["door_x"], t["door_y"])
        return "test" if np.isin(config, DKTD_SPLITS["test"]) else "train"

    def make_env(
        self, task: Mapping[str, Any] | None = None, render_mode: str | None = None
    ) -> DarkKeyToDoorEnv:
        return DarkKeyToDoorEnv(self.default_task() if task is None else task, render_mode=render_mode)

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> DarkKeyToDoorBatch:
        return DarkKeyToDoorBatch(num_envs, tasks)


class Darkroom(Scene):
    """Dark Room, as in Algorithm Distillation (Laskin et al. 2022, Section 5).

    ## Description
    A 9×9 room with one invisible goal cell. The agent knows only its own position and has to find the goal
    from the reward, then come back to it in later episodes of the trial.

    ## Action space
    `Discrete(5)`: AD's "one step left, right, up, down, and no-op", in the same index order as
    Dark-Key-To-Door (0 up, 1 left, 2 down, 3 right, 4 stay); AD does not fix an order.

    ## Observation space
    `Box(0, 1, (2,), float32)`: (x / 9, y / 9). AD gives the agent only its own (x, y); we scale it like
    the Dark-Key-To-Door observation.

    ## Reward
    `r = 1[cell == goal]` on every step that ends on the goal ("r = 1 every time the goal is reached"), so
    staying on the goal keeps paying. `info["on_goal"]` is the same indicator.

    ## Starting state
    The centre cell (4, 4) at every reset ("the agent resets at the center of the map").

    ## Episode end
    Never terminated (AD does not end the episode at the goal; CORL's toymeta registers Dark-Room-9x9 with
    `terminate_on_goal=False`). Truncated after 20 steps (AD's episode length).

    ## Task parameters
    `goal_x`, `goal_y`: integers 0..8 (81 goals, the centre included). `set_task` moves the goal for the
    next step.

    ## Trial
    `trial_steps = 400`, i.e. 20 episodes of 20 steps. AD evaluates in-context improvement across many
    episodes rather than a fixed trial; 20 episodes is our choice: enough for a memory agent to sweep the
    room (an optimal sweep takes several 20-step episodes) and then exploit the goal for most of the trial.

    ## Splits
    The 81 goals are split once, by a fixed salted hash, into 65 train and 16 test goals (20 %).

    ## Deviations
    - Observation scaled to [0, 1) (AD: raw coordinates).
    - AD's held-out goal set was not available here; ours is a documented 20 % hold-out.
    """

    id: ClassVar[str] = "darkroom"
    success_key: ClassVar[str | None] = "on_goal"
    title: ClassVar[str] = "Dark Room (9×9)"
    paper: ClassVar[str] = "Laskin et al. 2022, In-context RL with Algorithm Distillation (arXiv 2210.14215)"
    task_params: ClassVar[tuple[TaskParam, ...]] = DARKROOM_TASK_PARAMS
    episode_length: ClassVar[int] = DarkroomBatch.episode_length
    trial_steps: ClassVar[int | None] = 400
    option_params: ClassVar[tuple[TaskParam, ...]] = (_trial_steps_option(400), TRIAL_STEPS_MAX, TIME_HORIZON)
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "discrete"

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        goals = DARKROOM_SPLITS[self.check_split(split)]
        goal = int(goals[rng.integers(len(goals))])
        return {"goal_x": goal % GRID, "goal_y": goal // GRID}

    def task_split(self, task: Mapping[str, Any]) -> Split:
        t = validate_task(self.task_params, {}, task)
        return "test" if np.isin(cell_of(t["goal_x"], t["goal_y"]), DARKROOM_SPLITS["test"]) else "train"

    def make_env(self, task: Mapping[str, Any] | None = None, render_mode: str | None = None) -> DarkroomEnv:
        return DarkroomEnv(self.default_task() if task is None else task, render_mode=render_mode)

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> DarkroomBatch:
        return DarkroomBatch(num_envs, tasks)
