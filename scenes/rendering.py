"""Offscreen MuJoCo rendering to NumPy RGB frames of any requested size.

Why offscreen `mujoco.Renderer` and not an on-screen GL widget: MuJoCo's renderer needs a compatibility-profile
context and rebinds framebuffer 0, which fights Qt's own framebuffer; GL contexts also belong to one thread.
So the thread that owns an environment renders into NumPy here, and the GUI only paints the array
(../shared/reference/landscape.md). With software GL (EGL on llvmpipe) shadows, reflections and the skybox
dominate the cost, so they are off by default (≈5× faster frames on these machines), and so is multisample
anti-aliasing (Meta-World's models ask for 4×, another 3× in software GL).
"""

from __future__ import annotations

import atexit
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np


@dataclass(frozen=True)
class Marker:
    """A task cue drawn into the frame but not into the physics (a goal sphere, a direction arrow)."""

    kind: str  # "sphere" or "arrow"
    start: tuple[float, float, float]
    end: tuple[float, float, float] | None = None  # arrow tip
    size: float = 0.1
    rgba: tuple[float, float, float, float] = (0.95, 0.35, 0.1, 0.8)


def tracking_camera(
    model: mujoco.MjModel, body: str, distance: float, elevation: float = -20.0
) -> mujoco.MjvCamera:
    """A camera that follows `body`, like Gymnasium's default MuJoCo camera for locomotion."""
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    camera.trackbodyid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    camera.distance = distance
    camera.elevation = elevation
    camera.azimuth = 90.0
    return camera


# Renderers still open at interpreter exit must be closed while EGL is alive; otherwise their __del__ runs
# after `mujoco.egl`'s own exit hook terminated the display and prints "EGLError" tracebacks. Exit hooks run
# last-registered-first, so ours is registered after the first GL context exists (mujoco.egl registered then).
_OPEN_RENDERERS: weakref.WeakSet[FrameRenderer] = weakref.WeakSet()
_exit_hook_registered = False


def _close_open_renderers() -> None:
    for renderer in list(_OPEN_RENDERERS):
        renderer.close()


class FrameRenderer:
    """Renders one model/data pair at any size; one `mujoco.Renderer` is kept per size in use."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, fast: bool = True) -> None:
        self.model = model
        self.data = data
        self.fast = fast
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        if fast:
            model.vis.quality.shadowsize = 0
            model.vis.quality.offsamples = 0
        _OPEN_RENDERERS.add(self)

    def _renderer(self, width: int, height: int) -> mujoco.Renderer:
        key = (width, height)
        if key not in self._renderers:
            # The offscreen buffer must be at least as large as the frame asked for.
            self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, width)
            self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, height)
            renderer = mujoco.Renderer(self.model, height=height, width=width)
            global _exit_hook_registered
            if not _exit_hook_registered:
                atexit.register(_close_open_renderers)
                _exit_hook_registered = True
            if self.fast:
                for flag in (
                    mujoco.mjtRndFlag.mjRND_SHADOW,
                    mujoco.mjtRndFlag.mjRND_REFLECTION,
                    mujoco.mjtRndFlag.mjRND_SKYBOX,
                ):
                    renderer.scene.flags[flag] = False
            self._renderers[key] = renderer
        return self._renderers[key]

    def render(
        self,
        width: int,
        height: int,
        camera: mujoco.MjvCamera | int | str = -1,
        markers: Sequence[Marker] = (),
    ) -> np.ndarray:
        if width < 1 or height < 1:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        renderer = self._renderer(int(width), int(height))
        renderer.update_scene(self.data, camera=camera)
        for marker in markers:
            _add_marker(renderer.scene, marker)
        return renderer.render()

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()


def _add_marker(scene: mujoco.MjvScene, marker: Marker) -> None:
    if scene.ngeom >= scene.maxgeom:
        return
    geom = scene.geoms[scene.ngeom]
    rgba = np.asarray(marker.rgba, dtype=np.float32)
    if marker.kind == "sphere":
        mujoco.mjv_initGeom(
            geom,
            mujoco.mjtGeom.mjGEOM_SPHERE,
            np.full(3, marker.size),
            np.asarray(marker.start, dtype=np.float64),
            np.eye(3).flatten(),
            rgba,
        )
    elif marker.kind == "arrow":
        assert marker.end is not None, "an arrow marker needs an end point"
        mujoco.mjv_initGeom(geom, mujoco.mjtGeom.mjGEOM_ARROW, np.zeros(3), np.zeros(3), np.zeros(9), rgba)
        mujoco.mjv_connector(
            geom,
            mujoco.mjtGeom.mjGEOM_ARROW,
            marker.size,
            np.asarray(marker.start, dtype=np.float64),
            np.asarray(marker.end, dtype=np.float64),
        )
    else:
        raise ValueError(f"unknown marker kind {marker.kind!r}")
    geom.category = mujoco.mjtCatBit.mjCAT_DECOR
    scene.ngeom += 1
