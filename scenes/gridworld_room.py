"""The 9×9 room both gridworld scenes are played in: how cells are numbered and how the agent moves.

The gridworld dynamics (scenes/gridworld_envs.py) and their drawing (scenes/gridworld_render.py) both read
these tables, so the geometry is defined once. File and line citations (toy_gym.py, room_key_door.py) refer
to the AMAGO and Memo commits listed in scenes/gridworld.py.

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
"""

from __future__ import annotations

import numpy as np

GRID = 9
NUM_CELLS = GRID * GRID
NUM_ACTIONS = 5
CENTER_CELL = (GRID // 2) * GRID + GRID // 2  # (4, 4): AD's Dark Room start ("resets at the center")

# AMAGO's action order (toy_gym.py line 243): (dx, dy) per action.
ACTION_DELTAS: np.ndarray = np.array([[0, -1], [-1, 0], [0, 1], [1, 0], [0, 0]], dtype=np.int64)
ACTION_NAMES: tuple[str, ...] = ("up", "left", "down", "right", "stay")


def _cell_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y of every cell and the successor cell of every (action, cell), flattened as action·81 + cell.

    One gather from a 405-entry table replaces per-env branching on the action, which is what makes `step`
    a handful of array operations."""
    cells = np.arange(NUM_CELLS, dtype=np.int64)
    xs, ys = cells % GRID, cells // GRID
    nx = np.clip(xs[None, :] + ACTION_DELTAS[:, 0:1], 0, GRID - 1)
    ny = np.clip(ys[None, :] + ACTION_DELTAS[:, 1:2], 0, GRID - 1)
    return xs, ys, (ny * GRID + nx).reshape(-1)


CELL_X, CELL_Y, NEXT_CELL = _cell_tables()


def cell_of(x: int, y: int) -> int:
    return int(y) * GRID + int(x)
