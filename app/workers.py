"""The two worker threads behind the window, and the newest-wins hand-overs between them and the GUI.

Ownership (design.md, "Threads"):
* `TrainerWorker` runs the `agents.trainer.Trainer` in a child process (`agents.trainer_process`: one GIL
  shared by trainer, player and event loop starved all three on 2 cores) and reads its events in a thread.
  After every iteration the child sends its checkpoint payload (weights, optimiser, counters: a consistent
  iteration boundary); the worker keeps it as the snapshot the GUI saves and hands the weights to the
  player, newest wins. The GUI thread only sends the Trainer's controls (`pause`, `resume`, `stop`,
  `set_task_overrides`).
* `PlayerWorker`'s thread builds and owns the `agents.player.Player`, so its environment, its MuJoCo renderer
  (GL contexts belong to one thread), the mouse-driven camera and the video writer. The GUI thread talks to
  it only through a command queue (set_task, reset, step, speed, camera moves, recording...) and a few
  newest-wins slots (weights from training, the panel image to composite into a recording).
* The player publishes (frame, step, the steps' memory records) into an outbox and emits `frame_ready` only
  when the outbox was empty, so at most one wake-up is ever pending: the GUI paints the newest frame and
  nothing queues up however fast the player runs.

Qt signals of these QObjects are emitted from the worker threads; their receivers (the window's methods)
live in the GUI thread, so Qt queues the calls into it.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import mujoco
import numpy as np
import torch
from PySide6.QtCore import QObject, Signal

from agents.base import StepTrace
from agents.checkpoints import load_checkpoint
from agents.config import TrainConfig, config_from_dict
from agents.player import Player, PlayerStep
from agents.trainer import Trainer, initial_agent, load_weights
from agents.trainer_process import TrainerProcess, TrainingInfo, pin_threads
from app import qt_compat  # noqa: F401  (before any Qt call)
from scenes.base import Task, TaskParam
from scenes.registry import make_scene
from scenes.video import VideoWriter

T = TypeVar("T")

SPEEDS: tuple[float | None, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, None)  # None: as fast as possible
THREAD_PREFIX = "engram-"


def speed_label(speed: float | None) -> str:
    return "max" if speed is None else f"×{speed:g}"


def error_text(where: str, error: BaseException) -> str:
    """One line for the window's banner: where, the exception type and its first line."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{where}: {type(error).__name__}{': ' + first if first else ''}"


class NewestSlot(Generic[T]):
    """Holds one item; a new one replaces the old (newest wins). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self._full = False

    def put(self, item: T) -> bool:
        """Store `item`; True when the slot was empty (the consumer may need a wake-up)."""
        with self._lock:
            was_empty = not self._full
            self._item, self._full = item, True
            return was_empty

    def take(self) -> T | None:
        with self._lock:
            item, self._item, self._full = self._item, None, False
            return item

    def full(self) -> bool:
        return self._full


def clone_tensors(obj: Any) -> Any:
    """A copy of nested dicts / lists / tuples with every tensor detached and cloned (normal, not inference)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: clone_tensors(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clone_tensors(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(clone_tensors(v) for v in obj)
    return obj


def _clone_trace(trace: StepTrace | None) -> StepTrace | None:
    """The trace with its tensors copied: some are views of the agent's caches, which the next step rewrites."""
    if trace is None:
        return None
    attention = trace.attention
    if attention is not None:
        attention = dataclasses.replace(
            attention,
            weights=[w.detach().clone() for w in attention.weights],
            key_kind=attention.key_kind.clone(),
            key_time=attention.key_time.clone(),
            key_segment=attention.key_segment.clone(),
            valid=attention.valid.clone(),
        )
    return dataclasses.replace(
        trace,
        attention=attention,
        memory=None if trace.memory is None else trace.memory.detach().clone(),
        working_memory=None if trace.working_memory is None else trace.working_memory.detach().clone(),
        window_time=None if trace.window_time is None else trace.window_time.clone(),
        events=list(trace.events),
    )


def _lite_trace(trace: StepTrace | None) -> StepTrace | None:
    """What the memory timeline needs of a step it does not draw attention for: cache sizes and writes."""
    if trace is None:
        return None
    return StepTrace(
        cache_tokens=trace.cache_tokens, cache_bytes=trace.cache_bytes, events=list(trace.events)
    )


def architecture_key(config: TrainConfig) -> tuple[Any, ...]:
    """What decides whether weights of one config load into an agent of another."""
    data = config.to_dict()
    return (
        data["scene"],
        repr(sorted(data["scene_options"].items())),
        data["agent"],
        repr(sorted(data["agent_config"].items())),
    )


# ------------------------------------------------------------------------------------------------ player side


@dataclass(frozen=True)
class PlayerInfo:
    """What the window learns when the player thread has built a player."""

    config: TrainConfig
    task_params: tuple[TaskParam, ...]
    task: Task
    frame_rate: float
    steps_per_trial: int
    camera: bool  # a MuJoCo scene: the mouse moves its camera
    checkpoint: dict[str, Any] | None  # the payload the weights came from (None: new or training weights)
    source: str  # "new agent", "training", or a checkpoint path


@dataclass(frozen=True)
class StepRecord:
    """One player step as the memory timeline records it."""

    step: int  # trial step
    trace: StepTrace | None  # full (cloned) for a published step, else sizes and writes only
    episode_start: bool
    new_trial: bool


@dataclass
class PlayerView:
    """What the GUI takes from the outbox: the newest frame and step, and the steps up to it."""

    frame: np.ndarray | None
    step: PlayerStep | None
    records: list[StepRecord]
    cleared: bool  # the trial was reset: start the timeline over before these records
    frames: int  # frames published so far
    steps: int  # player steps taken when this view was published


@dataclass(frozen=True)
class RecordingState:
    active: bool
    path: Path | None
    frames: int
    size: tuple[int, int] | None = None  # (width, height) of the video


class _Outbox:
    """Player thread -> GUI: records accumulate (bounded by one trial), the frame and step are newest-wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[StepRecord] = []  # steps not yet shown
        self._ready: list[StepRecord] = []  # steps up to the published one
        self._frame: np.ndarray | None = None
        self._step: PlayerStep | None = None
        self._cleared = False
        self._full = False
        self._frames = 0
        self._steps = 0

    def add(self, record: StepRecord) -> None:
        with self._lock:
            if record.new_trial:
                self._pending.clear()
            self._pending.append(record)

    def clear_trial(self) -> None:
        with self._lock:
            self._pending.clear()
            self._ready.clear()
            self._step = None
            self._cleared = True

    def publish(self, frame: np.ndarray | None, step: PlayerStep | None, steps: int) -> bool:
        """Show `frame` and `step` (whose trace replaces the last pending record's); True: wake the GUI."""
        with self._lock:
            if self._pending and step is not None:
                last = self._pending[-1]
                self._pending[-1] = dataclasses.replace(last, trace=step.trace)
            if any(r.new_trial for r in self._pending):
                self._ready.clear()
            self._ready.extend(self._pending)
            self._pending.clear()
            if frame is not None:
                self._frame = frame
                self._frames += 1
            if step is not None:
                self._step = step
            self._steps = steps
            was_empty = not self._full
            self._full = True
            return was_empty

    def take(self) -> PlayerView | None:
        with self._lock:
            if not self._full:
                return None
            view = PlayerView(self._frame, self._step, self._ready, self._cleared, self._frames, self._steps)
            self._ready, self._frame, self._step, self._cleared, self._full = [], None, None, False, False
            return view


def _mujoco_handles(env: Any) -> tuple[mujoco.MjModel, mujoco.MjData] | None:
    """The model and data a MuJoCo scene's env renders, or None for scenes drawn without MuJoCo."""
    model, data = getattr(env, "model", None), getattr(env, "data", None)
    if isinstance(model, mujoco.MjModel) and isinstance(data, mujoco.MjData):
        return model, data
    inner = getattr(env, "metaworld_env", None)  # Meta-World: the active sub-env (it changes with env_name)
    if inner is not None and isinstance(getattr(inner, "model", None), mujoco.MjModel):
        return inner.model, inner.data
    return None


class UserCamera:
    """The mouse-driven MuJoCo camera of one env (player thread only), in the MuJoCo viewer's conventions.

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
            _mujoco_handles(env) is not None
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
        handles = _mujoco_handles(self.env)
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
        handles = _mujoco_handles(self.env)
        if camera is None or handles is None:
            return
        model, data = handles
        if self._scene is None or self._scene_model is not model:
            self._scene, self._scene_model = mujoco.MjvScene(model, maxgeom=1), model
        # Places the scene's camera for this camera, which mjv_moveCamera reads to pan in the view plane.
        mujoco.mjv_updateCamera(model, data, camera, self._scene)
        mujoco.mjv_moveCamera(model, action, dx, dy, self._scene, camera)


PlayerFactory = Callable[[], tuple[Player, TrainConfig, "dict[str, Any] | None", str]]


def fresh_player(
    config: TrainConfig,
    seed: int = 0,
    weights: dict[str, torch.Tensor] | None = None,
    source: str = "new agent",
) -> PlayerFactory:
    """A player of `config`'s agent: the weights a Trainer of this config starts from, or `weights`."""

    def build() -> tuple[Player, TrainConfig, dict[str, Any] | None, str]:
        scene = make_scene(config.scene, **config.scene_options)
        agent = initial_agent(config, scene)  # the untrained agent is the run's first one
        if weights is not None:
            load_weights(agent, weights, source)
        return Player(scene, agent, seed=seed), config, None, source

    build.description = f"{config.agent} on {config.scene}"  # type: ignore[attr-defined]
    return build


def checkpoint_player(path: str | Path, seed: int = 0) -> PlayerFactory:
    """A player of the agent stored in a checkpoint (or a run directory's latest checkpoint)."""

    def build() -> tuple[Player, TrainConfig, dict[str, Any] | None, str]:
        payload = load_checkpoint(path)
        config = config_from_dict(payload["config"], f"the checkpoint {path}")
        player, config, _, _ = fresh_player(config, seed, payload["model"], str(path))()
        return player, config, payload, str(path)

    build.description = f"checkpoint {path}"  # type: ignore[attr-defined]
    return build


def pretrained_player(path: str | Path, config: TrainConfig, seed: int = 0) -> PlayerFactory:
    """The shipped pretrained agent (agents/pretrained.py) for `config`, to watch at once. Train still starts a
    new run from scratch (no checkpoint payload is handed on); if the checkpoint's architecture is not the
    one `config` builds (overridden hyper-parameters), the untrained agent of `config` is shown instead."""

    def build() -> tuple[Player, TrainConfig, dict[str, Any] | None, str]:
        payload = load_checkpoint(path, config.scene, config.agent)
        stored = config_from_dict(payload["config"], f"the pretrained checkpoint {path}")
        if architecture_key(stored) != architecture_key(config):
            return fresh_player(config, seed)()
        source = f"pretrained, {int(payload['counters']['env_steps']):,} env steps"
        player, _, _, _ = fresh_player(stored, seed, payload["model"], f"pretrained checkpoint {path}")()
        return player, config, None, source

    build.description = f"pretrained {config.agent} on {config.scene}"  # type: ignore[attr-defined]
    return build


class PlayerWorker(QObject):
    """Owns the Player in its own thread; steps it at `frame_rate × speed` and renders what the GUI shows."""

    frame_ready = Signal()
    ready = Signal(object)  # PlayerInfo
    task_changed = Signal(object, bool)  # the env's task; True when it is the user's edit taking effect
    task_rejected = Signal(str, str)  # the env's message, and the parameter it names ("" if none)
    playing_changed = Signal(bool)
    recording_changed = Signal(object)  # RecordingState
    failed = Signal(str)

    def __init__(
        self, render_size: tuple[int, int] = (640, 480), max_render_fps: float = 60.0, seed: int = 0
    ) -> None:
        super().__init__()
        self.seed = seed
        self.max_render_fps = max_render_fps
        self._commands: queue.SimpleQueue[tuple[str, tuple[Any, ...]]] = queue.SimpleQueue()
        self._weights: NewestSlot[tuple[int, dict[str, torch.Tensor], tuple[Any, ...]]] = NewestSlot()
        self._side: np.ndarray | None = None  # the newest panel image for recordings (set by the GUI)
        self._outbox = _Outbox()
        self._thread = threading.Thread(target=self._main, name=f"{THREAD_PREFIX}player", daemon=True)

        # Read by the GUI (single attribute writes and reads are atomic under the GIL).
        self.steps = 0  # env steps taken by this player thread
        self.recording_frames = 0
        self.weights_iteration: int | None = None  # training iteration of the weights handed to the player

        # Player-thread state.
        self._player: Player | None = None
        self._info: PlayerInfo | None = None
        self._architecture: tuple[Any, ...] = ()
        self._camera: UserCamera | None = None
        self._playing = False
        self._pending_steps = 0
        self._period = 1.0 / 20.0
        self._speed: float | None = 1.0
        self._size = render_size
        self._follow = False
        self._deterministic = False
        self._trace = True
        self._view_dirty = False
        self._next_step = 0.0
        # Rendering is paced by a token bucket: `max_render_fps` credits per second (the window passes its
        # screen's refresh rate), up to 2 banked, one per frame; so 80 steps/s render 60 frames/s (3 steps
        # in 4), not every other step.
        self._render_credit = 2.0
        self._credit_time = 0.0
        self._episode_start = True
        self._last_task: Task | None = None
        self._last_step: PlayerStep | None = None
        self._writer: VideoWriter | None = None
        self._record_panels = 0  # width of the panel strip composited right of the frame (0: none)
        self._record_size: tuple[int, int] | None = None
        self._quit = False

    # ------------------------------------------------------------------------------ GUI-thread interface

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def request_stop(self) -> None:
        """The thread finishes any recording, closes the player (env and renderer) and ends; `join` waits."""
        self._send("quit")

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def build(self, factory: PlayerFactory) -> None:
        """Replace the player by `factory()`, called in the player thread (a recording in progress ends)."""
        self._send("build", factory)

    def play(self) -> None:
        self._send("play")

    def pause(self) -> None:
        self._send("pause")

    def toggle(self) -> None:
        self._send("toggle")

    def step(self, count: int = 1) -> None:
        """Take `count` steps now (and pause)."""
        self._send("step", count)

    def reset(self) -> None:
        self._send("reset")

    def set_task(self, params: dict[str, Any]) -> None:
        """Edit the watched episode's task from the next step; answered by task_changed or task_rejected."""
        self._send("set_task", dict(params))

    def unpin_task(self) -> None:
        """Later trials draw their task from the scene's distribution again (an edit pins it)."""
        self._send("unpin")

    def set_speed(self, speed: float | None) -> None:
        """A multiple of the env's frame rate, or None for as fast as possible."""
        self._send("speed", speed)

    def set_deterministic(self, on: bool) -> None:
        self._send("deterministic", bool(on))

    def set_follow(self, on: bool) -> None:
        """Take the newest training weights offered (at the next trial start, as Player.load_weights does)."""
        self._send("follow", bool(on))

    def set_trace(self, on: bool) -> None:
        """Compute the agent's trace (attention, memory) each step; the panels need it."""
        self._send("trace", bool(on))

    def set_render_size(self, width: int, height: int) -> None:
        self._send("size", (max(2, int(width) // 2 * 2), max(2, int(height) // 2 * 2)))

    def camera(self, action: str, *args: float) -> None:
        """ "orbit" (dx, dy), "pan" (dx, dy), "zoom" (notches), "reset" or "track" (on)."""
        self._send("camera", action, *args)

    def start_recording(self, path: str | Path, panels_width: int = 0) -> None:
        """Record every step from now on into an MP4 at the env's frame rate, with the panel image (see
        `set_panel_image`) composited in a strip `panels_width` wide right of the frame when non-zero."""
        self._send("record_start", Path(path), int(panels_width) // 2 * 2)

    def stop_recording(self) -> None:
        self._send("record_stop")

    def set_panel_image(self, image: np.ndarray | None) -> None:
        """The newest (H, panels_width, 3) uint8 image of the panels, composited into recorded frames."""
        self._side = image

    def offer_weights(
        self, iteration: int, state_dict: dict[str, torch.Tensor], architecture: tuple[Any, ...]
    ) -> None:
        """Newest training weights (any thread); taken when following training, at a safe point, by a
        player whose agent has this `architecture_key` (others ignore them)."""
        self._weights.put((iteration, state_dict, architecture))
        self._send("wake")  # a paused player takes them now (applied at its next trial start)

    def take(self) -> PlayerView | None:
        """The newest frame and step, and the steps up to it (GUI thread, after frame_ready)."""
        return self._outbox.take()

    def recording_size(self) -> tuple[int, int] | None:
        return self._record_size

    def _send(self, name: str, *args: Any) -> None:
        self._commands.put((name, args))

    # -------------------------------------------------------------------------------------- player thread

    def _main(self) -> None:
        # The player acts one token at a time, like a rollout (agents/rollout.py): more torch intra-op threads
        # only add synchronisation, and their idle workers spin. Measured with the window open: a second
        # thread's spinning cost half a core and 10-15 frames/s. Training runs in its own process, so this
        # process-wide setting touches nothing else.
        torch.set_num_threads(1)
        try:
            while not self._quit:
                self._wait_for_commands(self._timeout())
                if self._quit:
                    break
                try:
                    self._advance()
                except Exception as error:  # the app stays usable: show it, pause, keep the thread
                    self._fail("player", error)
        finally:
            self._finish_recording()
            self._close_player()

    def _timeout(self) -> float | None:
        """How long to wait for commands before the next thing to do (None: until a command arrives)."""
        if self._player is None:
            return None
        now = time.monotonic()
        due: list[float] = []
        if self._pending_steps:
            return 0.0
        if self._playing:
            due.append(self._next_step)
        if self._view_dirty:
            due.append(self._credit_time + max(0.0, 1.0 - self._render_credit) / self.max_render_fps)
        if not due:
            return None
        return max(0.0, min(due) - now)

    def _wait_for_commands(self, timeout: float | None) -> None:
        try:
            command = self._commands.get(timeout=timeout) if timeout != 0 else self._commands.get_nowait()
        except queue.Empty:
            return
        while True:
            self._run_command(*command)
            if self._quit:
                return
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return

    def _run_command(self, name: str, args: tuple[Any, ...]) -> None:
        try:
            getattr(self, f"_cmd_{name}")(*args)
        except Exception as error:
            self._fail(f"player ({name.replace('_', ' ')})", error)

    def _fail(self, where: str, error: BaseException) -> None:
        traceback.print_exc()
        if self._playing:
            self._playing = False
            self.playing_changed.emit(False)
        self._pending_steps = 0
        self._view_dirty = False
        self.failed.emit(error_text(where, error))

    # commands -------------------------------------------------------------------------------------------

    def _cmd_wake(self) -> None:
        pass  # `_advance` runs after every batch of commands

    def _cmd_quit(self) -> None:
        self._quit = True

    def _cmd_build(self, factory: PlayerFactory) -> None:
        # Built before the old player closes: if this fails (a bad checkpoint), the old one keeps running.
        try:
            player, config, payload, source = factory()
        except Exception as error:
            self._fail(f"loading {getattr(factory, 'description', 'the agent')}", error)
            return
        self._finish_recording()
        self._close_player()
        self._outbox.clear_trial()
        player.deterministic = self._deterministic
        self._player = player
        self._architecture = architecture_key(config)
        self._camera = UserCamera(player.env)
        self._info = PlayerInfo(
            config=config,
            task_params=tuple(player.scene.task_params),
            task=dict(player.task),
            frame_rate=player.frame_rate,
            steps_per_trial=player.scene.steps_per_trial,
            camera=self._camera.supported,
            checkpoint=payload,
            source=source,
        )
        self._apply_speed()
        self._episode_start = True
        self._last_task = dict(player.task)
        self._last_step = None
        self.weights_iteration = None
        self._weights.take()  # weights offered for the previous agent do not fit this one
        self.ready.emit(self._info)
        self._view_dirty = True
        self._render_credit = max(self._render_credit, 1.0)

    def _cmd_play(self) -> None:
        self._set_playing(True)

    def _cmd_pause(self) -> None:
        self._set_playing(False)

    def _cmd_toggle(self) -> None:
        self._set_playing(not self._playing)

    def _set_playing(self, on: bool) -> None:
        if on and not self._playing:
            self._next_step = time.monotonic()
        if self._playing and not on:
            self._view_dirty = True  # show the step the player paused on, even if it was not rendered
        if on != self._playing:
            self._playing = on
            self.playing_changed.emit(on)

    def _cmd_step(self, count: int) -> None:
        self._set_playing(False)
        self._pending_steps += max(0, int(count))

    def _cmd_reset(self) -> None:
        if self._player is None:
            return
        self._player.reset()
        self._episode_start = True
        self._last_step = None
        self._outbox.clear_trial()
        self._emit_task_if_changed(edited=False)
        self._view_dirty = True
        self._render_credit = max(self._render_credit, 1.0)

    def _cmd_set_task(self, params: dict[str, Any]) -> None:
        if self._player is None:
            self.task_rejected.emit("no player is running yet", "")
            return
        try:
            task = self._player.set_task(**params)
        except ValueError as error:  # the env refused: its task is unchanged
            message = str(error)
            named = next((name for name in params if name in message), "")
            self.task_rejected.emit(message, named)
            return
        self._last_task = dict(task)
        self.task_changed.emit(dict(task), True)
        self._view_dirty = True  # markers (goal, target arrow) move at once
        self._render_credit = max(self._render_credit, 1.0)

    def _cmd_unpin(self) -> None:
        if self._player is not None:
            self._player.unpin_task()

    def _cmd_speed(self, speed: float | None) -> None:
        self._speed = speed
        self._apply_speed()

    def _apply_speed(self) -> None:
        rate = self._player.frame_rate if self._player is not None else 20.0
        self._period = 0.0 if self._speed is None else 1.0 / (rate * self._speed)
        self._next_step = time.monotonic()

    def _cmd_deterministic(self, on: bool) -> None:
        if self._player is not None:
            self._player.deterministic = on
        self._deterministic = on

    def _cmd_follow(self, on: bool) -> None:
        self._follow = on

    def _cmd_trace(self, on: bool) -> None:
        self._trace = on

    def _cmd_size(self, size: tuple[int, int]) -> None:
        if size != self._size:
            self._size = size
            self._view_dirty = True

    def _cmd_camera(self, action: str, *args: float) -> None:
        if self._camera is None or not self._camera.supported:
            return
        if action == "reset":
            self._camera.reset()
        elif action == "track":
            self._camera.set_tracking(bool(args[0]))
        else:
            getattr(self._camera, action)(*args)
        self._view_dirty = True

    def _cmd_record_start(self, path: Path, panels_width: int) -> None:
        self._finish_recording()
        if self._player is None:
            raise RuntimeError("nothing to record: no player is running")
        width, height = self._size
        self._record_panels = panels_width
        size = (width + panels_width, height)
        self._writer = VideoWriter(path, self._player.frame_rate, size)
        self._record_size = (width, height)
        self.recording_frames = 0
        self.recording_changed.emit(RecordingState(True, self._writer.path, 0, size))
        # The first frame: the state on screen when recording started.
        self._render_and_publish(record=True)

    def _cmd_record_stop(self) -> None:
        self._finish_recording()

    def _finish_recording(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        self._record_size = None
        try:
            path = writer.close()
        except Exception as error:
            self.recording_changed.emit(RecordingState(False, None, writer.frames, writer.size))
            self.failed.emit(error_text("recording", error))
            return
        self.recording_changed.emit(RecordingState(False, path, writer.frames, writer.size))

    def _close_player(self) -> None:
        player, self._player = self._player, None
        self._camera = None
        if player is not None:
            try:
                player.close()
            except Exception as error:
                self.failed.emit(error_text("closing the player", error))

    # stepping -------------------------------------------------------------------------------------------

    def _advance(self) -> None:
        player = self._player
        if player is None:
            return
        if self._follow:
            offered = self._weights.take()
            if offered is not None:
                iteration, weights, architecture = offered
                if architecture == self._architecture:
                    player.load_weights(weights)  # taken at the next trial start
                    self.weights_iteration = iteration
        now = time.monotonic()
        stepped = False
        if self._pending_steps:
            self._pending_steps -= 1
            self._step(player)
            stepped = True
            self._view_dirty = True
            self._render_credit = max(self._render_credit, 1.0)  # a single step is always shown
        elif self._playing and now >= self._next_step:
            self._step(player)
            stepped = True
            # Keep the cadence, but never try to catch up more than one period after a stall.
            self._next_step = max(self._next_step + self._period, now - self._period)
        if self._writer is not None and stepped:
            self._render_and_publish(record=True)
        elif (stepped or self._view_dirty) and self._earn_render_credit(now) >= 1.0:
            self._render_and_publish(record=False)
        elif stepped:
            self._view_dirty = True  # rendered when the render cap allows

    def _earn_render_credit(self, now: float) -> float:
        self._render_credit = min(2.0, self._render_credit + (now - self._credit_time) * self.max_render_fps)
        self._credit_time = now
        return self._render_credit

    def _step(self, player: Player) -> None:
        step = player.step(trace=self._trace)
        self.steps += 1
        new_trial = step.step_in_trial == 0
        self._outbox.add(
            StepRecord(step.step_in_trial, _lite_trace(step.trace), self._episode_start, new_trial)
        )
        self._episode_start = step.episode_end
        self._last_step = step
        if step.task != self._last_task:
            self._last_task = dict(step.task)
            self.task_changed.emit(dict(step.task), False)

    def _emit_task_if_changed(self, edited: bool) -> None:
        if self._player is None:
            return
        task = self._player.task
        if task != self._last_task:
            self._last_task = dict(task)
            self.task_changed.emit(dict(task), edited)

    def _render_and_publish(self, record: bool) -> None:
        player, camera = self._player, self._camera
        if player is None or camera is None:
            return
        self._view_dirty = False  # before rendering: a render that raises is not retried in a loop
        width, height = self._record_size if self._writer is not None and self._record_size else self._size
        frame = camera.render(width, height)
        if record and self._writer is not None:
            self._writer.write(self._composite(frame))
            self.recording_frames = self._writer.frames
        step = self._last_step
        if step is not None:
            step = dataclasses.replace(step, trace=_clone_trace(step.trace), task=dict(step.task))
        self._earn_render_credit(time.monotonic())
        self._render_credit = max(0.0, self._render_credit - 1.0)
        if self._outbox.publish(np.ascontiguousarray(frame), step, self.steps):
            self.frame_ready.emit()

    def _composite(self, frame: np.ndarray) -> np.ndarray:
        if not self._record_panels:
            return frame
        height = frame.shape[0]
        side = self._side
        if side is None or side.shape != (height, self._record_panels, 3):
            side = np.zeros((height, self._record_panels, 3), dtype=np.uint8)
        return np.concatenate([frame, side], axis=1)


# ----------------------------------------------------------------------------------------------- trainer side


# The cores this process may use, read before any thread is pinned (affinity is per thread on Linux).
_ALL_CPUS = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()


@dataclass(frozen=True)
class CoreSplit:
    """Cores for the training process and for the window's threads (event loop, player, renderer) while a
    run trains. Left to the scheduler, the window's bursts (a software-GL frame rasterised on two threads,
    a panel repaint) preempt the single-threaded trainer on whichever core it is on and evict its caches;
    on 2 cores its speed with the window open swung between 0.67 and 0.93 of headless. With a core of its
    own it trained at 0.84-1.13 of headless while the viewport kept its rate (docs/benchmarks.md). An env
    worker the trainer starts (`env_worker`) shares the trainer's core."""

    trainer: frozenset[int]
    window: frozenset[int]

    @classmethod
    def for_this_machine(cls) -> CoreSplit | None:
        """The trainer on one core (its rollout and, by default, its update use one thread), the window on
        the others; None where affinity cannot be set or there is one core."""
        if len(_ALL_CPUS) < 2:
            return None
        cpus = sorted(_ALL_CPUS)
        return cls(frozenset(cpus[-1:]), frozenset(cpus[:-1]))


class TrainerWorker(QObject):
    """Runs a Trainer in a child process (`agents.trainer_process`) and relays its events from a reader
    thread; the GUI thread pauses, resumes, stops and edits."""

    started = Signal(object)  # TrainingInfo, once the trainer is built
    metrics = Signal(object)  # dict, after each iteration
    status = Signal(str)  # the trainer's: "running", "paused", "stopped", "done", ...
    message = Signal(str)
    failed = Signal(str)
    finished = Signal(str)  # why the loop ended: "done", "stopped", "iterations" or "failed"

    def __init__(
        self,
        make_trainer: Callable[[], Trainer],
        on_weights: Callable[[int, dict[str, torch.Tensor], tuple[Any, ...]], None] | None = None,
        max_iterations: int | None = None,
    ) -> None:
        super().__init__()
        self.cores = CoreSplit.for_this_machine()
        self._process = TrainerProcess(
            make_trainer, max_iterations, cpus=self.cores.trainer if self.cores else None
        )
        self._on_weights = on_weights
        self._pause_requested = False
        self._snapshot: dict[str, Any] | None = None
        self._architecture: tuple[Any, ...] = ()
        self.info: TrainingInfo | None = None
        self.reason: str | None = None
        self._thread = threading.Thread(target=self._main, name=f"{THREAD_PREFIX}trainer", daemon=True)

    # ------------------------------------------------------------------------------ GUI-thread interface

    def start(self) -> None:
        self._process.start()
        self._pin_window(True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def pid(self) -> int | None:
        """The training process's, once started."""
        return self._process.pid

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def pause(self) -> None:
        self._pause_requested = True
        self._process.pause()
        self._pin_window(False)  # a paused trainer leaves its core idle: the window may use it

    def resume(self) -> None:
        self._pause_requested = False
        self._pin_window(True)
        self._process.resume()

    def _pin_window(self, training: bool) -> None:
        if self.cores is not None:
            pin_threads(self.cores.window if training else _ALL_CPUS)

    def stop(self) -> None:
        """Ends at the next env step (or after the update in progress); the Trainer saves `latest` then."""
        self._process.stop()

    @property
    def paused(self) -> bool:
        return self._pause_requested

    def set_task_overrides(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """Fix training task parameters from the next iteration; ValueError (nothing changes) if invalid.
        Returns the overrides in force, or None while the trainer is still being built (applied once it is;
        a refusal then arrives as `failed`)."""
        return self._process.set_task_overrides(params, wait=self.info is not None)

    def snapshot(self) -> dict[str, Any] | None:
        """The checkpoint payload as of the newest finished iteration (a consistent copy), or None."""
        return self._snapshot

    # ------------------------------------------------------------------------------------- reader thread

    def _main(self) -> None:
        reason = "failed"
        for kind, value in self._process.events():
            if kind == "started":
                info, payload = value
                self._architecture = architecture_key(info.config)
                self._take_snapshot(payload)
                self.info = info
                self.started.emit(info)
            elif kind == "metrics":
                metrics, payload = value
                self._take_snapshot(payload)
                self.metrics.emit(metrics)
            elif kind == "status":
                self.status.emit(value)
            elif kind == "message":
                self.message.emit(value)
            elif kind == "failed":
                self.failed.emit(f"training: {value.strip().splitlines()[0]}")
            elif kind == "finished":
                reason = value
        self._pin_window(False)
        self.reason = reason
        self.finished.emit(reason)

    def _take_snapshot(self, payload: dict[str, Any]) -> None:
        self._snapshot = payload  # unpickled from the child: nobody else holds these tensors
        if self._on_weights is not None:
            counters = payload["counters"]
            self._on_weights(int(counters["iteration"]), payload["model"], self._architecture)
