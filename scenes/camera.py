"""A mouse-driven MuJoCo camera for one env, in the MuJoCo viewer's conventions (orbit, pan, zoom, track).

Pure MuJoCo, no Qt: the thread that owns the env's renderer (the app's player thread) calls it with drags as
fractions of the view's height and zoom in wheel notches, as MuJoCo's `mjv_moveCamera` takes them.
"""

from __future__ import annotations

import inspect
from typing import Any

import mujoco
import numpy as np


def mujoco_handles(env: Any) -> tuple[mujoco.MjModel, mujoco.MjData] | None:
    """The model and data a MuJoCo scene's env renders, or None for scenes drawn without MuJoCo."""
    model, data = getattr(env, "model", None), getattr(env, "data", None)
    if isinstance(model, mujoco.MjModel) and isinstance(data, mujoco.MjData):
        return model, data
    inner = getattr(env, "metaworld_env", None)  # Meta-World: the active sub-env (it changes with env_name)
    if inner is not None and isinstance(getattr(inner, "model", None), mujoco.MjModel):
        return inner.model, inner.data
    return None


class UserCamera:
    """The user's camera of one env (used from the thread that renders the env).

    Until the first gesture the scene's own camera is used (a tracking camera for locomotion). The first
    gesture copies it (`default_camera()` when the env has one, else MuJoCo's default free camera); orbit and
    zoom keep tracking the body, a pan turns the camera free at the point it looks at. `reset` returns to the
    scene's camera.
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self.camera: mujoco.MjvCamera | None = None
        self._scene: mujoco.MjvScene | None = None
        self._scene_model: mujoco.MjModel | None = None
        render = getattr(env, "render_frame", None)
        self.supported = (
            mujoco_handles(env) is not None
            and render is not None
            and "camera" in inspect.signature(render).parameters
        )

    def render(self, width: int, height: int) -> np.ndarray:
        if self.camera is not None and self.supported:
            return self.env.render_frame(width, height, camera=self.camera)
        return self.env.render_frame(width, height)

    def reset(self) -> None:
        self.camera = None

    def orbit(self, dx: float, dy: float) -> None:
        self._move(mujoco.mjtMouse.mjMOUSE_ROTATE_V, dx, dy)

    def pan(self, dx: float, dy: float) -> None:
        camera = self._camera()
        if camera is not None and camera.type == mujoco.mjtCamera.mjCAMERA_TRACKING:
            camera.type = mujoco.mjtCamera.mjCAMERA_FREE  # keeps the lookat it had while tracking
        self._move(mujoco.mjtMouse.mjMOUSE_MOVE_V, dx, dy)

    def zoom(self, notches: float) -> None:
        self._move(mujoco.mjtMouse.mjMOUSE_ZOOM, 0.0, -0.05 * notches)  # the MuJoCo viewer's step per notch

    def set_tracking(self, on: bool) -> None:
        """Follow the scene camera's body (if it tracks one) or stay where the camera is."""
        camera = self._camera()
        default = self._default()
        if camera is None or default is None:
            return
        if on and default.type == mujoco.mjtCamera.mjCAMERA_TRACKING:
            camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            camera.trackbodyid = default.trackbodyid
        elif not on:
            camera.type = mujoco.mjtCamera.mjCAMERA_FREE

    def _default(self) -> mujoco.MjvCamera | None:
        handles = mujoco_handles(self.env)
        if handles is None:
            return None
        make = getattr(self.env, "default_camera", None)
        if callable(make):
            return make()
        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(handles[0], camera)
        return camera

    def _camera(self) -> mujoco.MjvCamera | None:
        if not self.supported:
            return None
        if self.camera is None:
            self.camera = self._default()
        return self.camera

    def _move(self, action: int, dx: float, dy: float) -> None:
        camera = self._camera()
        handles = mujoco_handles(self.env)
        if camera is None or handles is None:
            return
        model, data = handles
        if self._scene is None or self._scene_model is not model:
            self._scene, self._scene_model = mujoco.MjvScene(model, maxgeom=1), model
        # Places the scene's camera for this camera, which mjv_moveCamera reads to pan in the view plane.
        mujoco.mjv_updateCamera(model, data, camera, self._scene)
        mujoco.mjv_moveCamera(model, action, dx, dy, self._scene, camera)
