"""Drawing the gridworld rooms for the viewer (pure NumPy, any frame size).

A frame shows what the agent cannot see, the key and door or the goal, so a user can follow what it has
found. The gridworld batches (scenes/gridworld_envs.py) call `draw_dark_key_to_door` and `draw_darkroom`
from their `render_frame`.
"""

from __future__ import annotations

import functools

import numpy as np

from scenes.errors import UserError
from scenes.gridworld_room import CELL_X, CELL_Y, GRID

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
                raise UserError(f"render {name} must be a positive integer, got {value!r}")
        self.width, self.height = int(width), int(height)
        span = GRID + 2 * _WALL_CELLS
        self.scale = min(self.width, self.height) / span  # pixels per cell
        self.ox = (self.width - span * self.scale) / 2 + _WALL_CELLS * self.scale  # pixel x of the room edge
        self.oy = (self.height - span * self.scale) / 2 + _WALL_CELLS * self.scale
        self.u = (np.arange(self.width) + 0.5 - self.ox) / self.scale  # room x of each pixel column
        self.v = (np.arange(self.height) + 0.5 - self.oy) / self.scale  # room y of each pixel row
        self.img = np.empty((self.height, self.width, 3), dtype=np.uint8)  # see with_room
        # Lines thinner than a pixel would vanish or alias at small sizes: keep them at least ~1 px.
        self.px = 1.0 / self.scale

    @classmethod
    def with_room(cls, width: int, height: int) -> _Canvas:
        """A canvas with the empty room drawn: a copy of the size's cached background, since the walls,
        floor and grid lines are most of a frame's work and never change between steps."""
        canvas = cls(width, height)
        np.copyto(canvas.img, _room_background(canvas.width, canvas.height))
        return canvas

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


@functools.lru_cache(maxsize=4)  # the viewport's size, a recording's size, and a resize or two
def _room_background(width: int, height: int) -> np.ndarray:
    canvas = _Canvas(width, height)
    canvas.img[:] = _LETTERBOX
    canvas.room()
    canvas.img.setflags(write=False)
    return canvas.img


def draw_dark_key_to_door(
    width: int, height: int, agent: int, key: int, door: int, has_key: bool
) -> np.ndarray:
    """A Dark-Key-To-Door room as the viewer sees it: key and door drawn (tinted cells, outlined glyphs)
    although the agent cannot see them; the agent turns gold while it holds the key, and the key glyph fades.
    `agent`, `key` and `door` are cell indices. Returns (height, width, 3) uint8."""
    canvas = _Canvas.with_room(width, height)
    canvas.tint(door, _DOOR_TINT)
    if not has_key:  # once collected, the key's cell loses its tint and the glyph fades
        canvas.tint(key, _KEY_TINT)
    canvas.door(door)
    canvas.key(key, _KEY_TAKEN if has_key else _KEY)
    canvas.agent(agent, _AGENT_WITH_KEY if has_key else _AGENT)
    return canvas.img


def draw_darkroom(width: int, height: int, agent: int, goal: int) -> np.ndarray:
    """A Dark Room with the (invisible to the agent) goal drawn as a green target. `agent` and `goal` are
    cell indices. Returns (height, width, 3) uint8."""
    canvas = _Canvas.with_room(width, height)
    canvas.tint(goal, _GOAL_TINT)
    canvas.goal(goal)
    canvas.agent(agent, _AGENT)
    return canvas.img
