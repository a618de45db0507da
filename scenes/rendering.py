"""Offscreen MuJoCo rendering to NumPy RGB frames of any requested size.

Why offscreen `mujoco.Renderer` and not an on-screen GL widget: MuJoCo's renderer needs a compatibility-profile
context and rebinds framebuffer 0, which fights Qt's own framebuffer; GL contexts also belong to one thread.
So the thread that owns an environment renders into NumPy here, and the GUI only paints the array
(docs/reference/landscape.md). With software GL (EGL on llvmpipe) shadows, reflections and the skybox
dominate the cost, so they are off by default (≈5× faster frames on these machines), and so is multisample
anti-aliasing (Meta-World's models ask for 4×, another 3× in software GL).
"""

from __future__ import annotations

import atexit
import math
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
    model: mujoco.MjModel, data: mujoco.MjData, body: str, distance: float, elevation: float = -20.0
) -> mujoco.MjvCamera:
    """A camera that follows `body`, like Gymnasium's default MuJoCo camera for locomotion.

    It starts looking at the body's subtree centre of mass: MuJoCo moves a tracking camera's lookat only part of
    the way towards the body per update, so a camera made fresh for a frame with lookat at the origin fell
    further behind a running body every second (the cheetah left the video after a few seconds)."""
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    camera.trackbodyid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    camera.lookat[:] = data.subtree_com[camera.trackbodyid]
    camera.distance = distance
    camera.elevation = elevation
    camera.azimuth = 90.0
    return camera


# Renderers still open at interpreter exit must be closed while EGL is alive; otherwise their __del__ runs
# after `mujoco.egl`'s own exit hook terminated the display and prints "EGLError" tracebacks. Exit hooks run
# last-registered-first, so ours is registered after the first GL context exists (mujoco.egl registered then).
_OPEN_RENDERERS: weakref.WeakSet[FrameRenderer | CameraTiles] = weakref.WeakSet()
_exit_hook_registered = False


def _close_open_renderers() -> None:
    for renderer in list(_OPEN_RENDERERS):
        renderer.close()


def _register_exit_hook() -> None:
    """Call right after creating a GL context (see `_OPEN_RENDERERS`)."""
    global _exit_hook_registered
    if not _exit_hook_registered:
        atexit.register(_close_open_renderers)
        _exit_hook_registered = True


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
            _register_exit_hook()
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


_FAST_OFF = (
    mujoco.mjtRndFlag.mjRND_SHADOW,
    mujoco.mjtRndFlag.mjRND_REFLECTION,
    mujoco.mjtRndFlag.mjRND_SKYBOX,
)


class CameraTiles:
    """Renders one fixed camera of each of many models side by side into ONE offscreen buffer and reads it
    back with one `glReadPixels`: the batched head cameras of a navigation scene.

    Why not a `mujoco.Renderer` per env: frames/s come out the same (bench/bench_scenes.py, head-camera
    table: software GL pays about 1 ms of fixed cost per frame either way), but one GL context here serves
    every env and every apartment. A navigation trial brings a new apartment model to every env; here that
    costs a 2 ms `MjvScene`, where a Renderer per env would create a GL context and an `MjrContext` (24 ms)
    per env per trial, and hold N offscreen buffers instead of one. The single `MjrContext` is built from a
    template model, not from any rendered one: valid because the models hold primitive geoms only (no
    meshes, textures, height fields or skins, whose GPU buffers live in the context), checked in
    `scene_for`.
    """

    def __init__(self, width: int = 256, height: int = 256) -> None:
        self._size = (max(width, 64), max(height, 64))
        self._gl: mujoco.GLContext | None = None
        self._context: mujoco.MjrContext | None = None
        self._option = mujoco.MjvOption()
        self._perturb = mujoco.MjvPerturb()
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        _OPEN_RENDERERS.add(self)

    @staticmethod
    def scene_for(model: mujoco.MjModel) -> mujoco.MjvScene:
        """An `MjvScene` for `model` (one per model, reused across frames), fast flags set."""
        if model.nmesh or model.ntex or model.nhfield or model.nskin:
            raise ValueError(
                "CameraTiles renders primitive-only models (no meshes, textures, hfields, skins)"
            )
        scene = mujoco.MjvScene(model, maxgeom=model.ngeom + 16)
        for flag in _FAST_OFF:
            scene.flags[flag] = False
        return scene

    def _ensure(self, width: int, height: int) -> mujoco.MjrContext:
        """Make the GL context current in the calling thread; grow the offscreen buffer if needed."""
        if self._gl is None:
            self._gl = mujoco.GLContext(*self._size)
            self._gl.make_current()
            _register_exit_hook()
            template = mujoco.MjModel.from_xml_string(
                f'<mujoco><visual><global offwidth="{self._size[0]}" offheight="{self._size[1]}"/>'
                '<quality offsamples="0" shadowsize="0"/></visual></mujoco>'
            )
            self._context = mujoco.MjrContext(template, mujoco.mjtFontScale.mjFONTSCALE_100)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._gl.make_current()
        assert self._context is not None
        if width > self._size[0] or height > self._size[1]:
            self._size = (max(width, self._size[0]), max(height, self._size[1]))
            mujoco.mjr_resizeOffscreen(*self._size, self._context)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        return self._context

    def render(
        self,
        views: Sequence[tuple[mujoco.MjModel, mujoco.MjData, mujoco.MjvScene, int, int]],
        depth_range: tuple[float, float] | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Render every (model, data, scene, camera id, size) view as a size×size square; return per view the
        RGB uint8 (size, size, 3) image and, with `depth_range` = (near, far) of every model's frustum in
        metres, the metric depth (size, size) float32, both top row first."""
        if not views:
            return []
        slot = max(view[4] for view in views)
        columns = math.ceil(math.sqrt(len(views)))
        rows = math.ceil(len(views) / columns)
        context = self._ensure(columns * slot, rows * slot)
        for k, (model, data, scene, camera_id, size) in enumerate(views):
            self._camera.fixedcamid = camera_id
            mujoco.mjv_updateScene(
                model, data, self._option, self._perturb, self._camera, mujoco.mjtCatBit.mjCAT_ALL, scene
            )
            mujoco.mjr_render(
                mujoco.MjrRect((k % columns) * slot, (k // columns) * slot, size, size), scene, context
            )
        whole = mujoco.MjrRect(0, 0, columns * slot, rows * slot)
        rgb = np.empty((rows * slot, columns * slot, 3), dtype=np.uint8)
        depth = None if depth_range is None else np.empty((rows * slot, columns * slot), dtype=np.float32)
        mujoco.mjr_readPixels(rgb, depth, whole, context)
        if depth is not None:
            assert depth_range is not None
            depth = _metric_depth(depth, *depth_range)
        out = []
        for k, view in enumerate(views):
            size = view[4]
            x, y = (k % columns) * slot, (k // columns) * slot
            image = rgb[y : y + size, x : x + size][::-1]  # GL rows run bottom-up
            metric = None if depth is None else depth[y : y + size, x : x + size][::-1]
            out.append((image, metric))
        return out

    def close(self) -> None:
        if self._gl is not None:
            self._gl.make_current()
            if self._context is not None:
                self._context.free()
            self._gl.free()
        self._gl, self._context = None, None


def _metric_depth(buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """Window depth (MuJoCo 3's reversed-Z buffer) to metres, as `mujoco.Renderer` converts it."""
    c = -0.5 * (-(far + near) / (far - near)) - 0.5
    d = -0.5 * (-(2.0 * far * near) / (far - near))
    return (d / (buffer.astype(np.float64) + c)).astype(np.float32)
