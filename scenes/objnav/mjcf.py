"""An apartment written as a MuJoCo model (MJCF): primitive boxes merged for few draw calls, the agent's head
camera and the objects as mocap bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scenes.objnav.spec import (
    _FURNITURE_TINTS,
    _ROOM_TINTS,
    CAMERA_FOVY,
    CAMERA_HEIGHT,
    CATEGORIES,
    CELL,
    FAR,
    NEAR,
    WALL,
)

if TYPE_CHECKING:
    from scenes.objnav.layout import Apartment

_WALL_RGBA = "0.86 0.85 0.82 1"


def apartment_mjcf(apartment: Apartment) -> str:
    """The apartment as MJCF: primitive geoms only (see `CameraTiles`); the agent and the objects are
    mocap bodies, so moving them needs no recompilation."""
    cx, cy = apartment.width / 2, apartment.height / 2
    parts = [
        f'<geom type="box" pos="{cx} {cy} -0.06" size="{cx} {cy} 0.05" rgba="0.4 0.4 0.4 1"/>',
        f'<geom type="box" pos="{cx} {cy} 2.45" size="{cx} {cy} 0.05" rgba="0.93 0.93 0.92 1"/>',
    ]
    for k, (x0, y0, x1, y1) in enumerate(apartment.rooms):
        r, g, b = _ROOM_TINTS[(apartment.seed + k) % len(_ROOM_TINTS)]
        parts.append(_box(x0, y0, x1, y1, 0.0, -0.01, f"{r} {g} {b} 1"))
    for x0, y0, x1, y1, h, tint in apartment.furniture:
        r, g, b = _FURNITURE_TINTS[tint]
        parts.append(_box(x0, y0, x1, y1, 0.0, h, f"{r} {g} {b} 1"))
    for x0, y0, x1, y1 in _wall_runs(apartment):
        parts.append(_box(x0, y0, x1, y1, 0.0, 2.4, _WALL_RGBA))
    bodies = []
    for k, obj in enumerate(apartment.objects):
        cat = CATEGORIES[obj.category]
        x, y = (obj.cell[0] + 0.5) * CELL, (obj.cell[1] + 0.5) * CELL
        bodies.append(
            f'<body name="object{k}" mocap="true" pos="{x} {y} {cat.height}">'
            f'<geom name="object{k}" type="{cat.geom}" size="{" ".join(map(str, cat.size))}" '
            f'rgba="{" ".join(map(str, cat.rgba))}"/></body>'
        )
    return (
        f'<mujoco model="apartment-{apartment.seed}">'
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


def _wall_runs(apartment: Apartment) -> list[tuple[int, int, int, int]]:
    """Wall cells merged into as few boxes as possible (draw calls are what software GL pays for):
    horizontal runs along each horizontal wall line, then what is left as vertical runs."""
    wall = apartment.static == WALL
    runs = []
    covered = np.zeros_like(wall)
    for y in apartment.wall_y:
        runs += [(x0, int(y), x1, int(y)) for x0, x1 in _runs(wall[y])]
        covered[y] = wall[y]
    rest = wall & ~covered
    for x in range(apartment.nx):
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
