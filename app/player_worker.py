"""The player thread behind the window: it owns the Player, steps it, renders it, and records what it shows.

`PlayerWorker`'s thread builds and owns the `agents.player.Player`, so its environment, its MuJoCo renderer
(GL contexts belong to one thread), the mouse-driven camera (`scenes.camera.UserCamera`) and the video writer.
The GUI thread talks to it through public methods that queue bound calls of the worker's private methods
(`set_speed` queues `_set_speed`), run in the player thread in the order sent, and through a few newest-wins
slots (weights from training, the panel image to composite into a recording). The player publishes what it
shows through a `PlayerOutbox` (app/handover.py) and emits `frame_ready` only when the outbox was empty.

Qt signals of this QObject are emitted from the player thread; their receivers (the window's methods) live in
the GUI thread, so Qt queues the calls into it.
"""

from __future__ import annotations

import dataclasses
import functools
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal

from agents.config import TrainConfig
from agents.cpu_affinity import lower_thread_priority
from agents.memory_watch import TrialRecorder
from agents.player import COMPARE_DIVIDER_PX, Player, PlayerStep, side_by_side
from app import qt_compat  # noqa: F401  (before any Qt call)
from app.handover import (
    THREAD_PREFIX,
    NewestSlot,
    PlayerOutbox,
    PlayerView,
    StepRecord,
    error_text,
    lite_trace,
    published_step,
)
from app.player_factories import PlayerFactory, architecture_key, attach_compared, source_label
from scenes.base import Task, TaskParam
from scenes.camera import UserCamera
from scenes.errors import UserError
from scenes.video import VideoWriter

PLAYER_NICE = 5  # how much lower than the event loop's the player thread's (and its renderer's) priority is

P = ParamSpec("P")


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
    label: str = ""  # the agent, for the viewport's caption
    partner: str | None = None  # compare mode: the other agent's label


@dataclass(frozen=True)
class RecordingState:
    active: bool
    path: Path | None
    frames: int
    size: tuple[int, int] | None = None  # (width, height) of the video


class PlayerWorker(QObject):
    """Owns the Player in its own thread; steps it at `frame_rate × speed` and renders what the GUI shows."""

    frame_ready = Signal()
    ready = Signal(object)  # PlayerInfo
    task_changed = Signal(object, bool)  # the env's task; True when it is the user's edit taking effect
    task_rejected = Signal(str, str)  # the env's message, and the parameter it names ("" if none)
    playing_changed = Signal(bool)
    recording_changed = Signal(object)  # RecordingState
    failed = Signal(str)
    compare_dropped = Signal(str)  # compare mode ended: the agent to compare could not join (the reason)

    def __init__(
        self, render_size: tuple[int, int] = (640, 480), max_render_fps: float = 60.0, seed: int = 0
    ) -> None:
        super().__init__()
        self.seed = seed
        self.max_render_fps = max_render_fps
        self._commands: queue.SimpleQueue[functools.partial[None]] = queue.SimpleQueue()
        self._weights: NewestSlot[tuple[int, dict[str, torch.Tensor], tuple[Any, ...]]] = NewestSlot()
        self._side: np.ndarray | None = None  # the newest panel image for recordings (set by the GUI)
        self._outbox = PlayerOutbox()
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
        self._factory: PlayerFactory | None = None  # what built the player (compare mode rebuilds it)
        self._compare: str | None = None
        self._partner_camera: UserCamera | None = None  # compare mode: the other agent's view
        self._playing = False
        self._pending_steps = 0
        self._period = 1.0 / 20.0
        self._speed: float | None = 1.0
        self._size = render_size
        self._follow = False
        self._deterministic = False
        self._trace = True
        self._record_memory = False
        self._memory = TrialRecorder()
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
        self._stopping = False

    # ------------------------------------------------------------------------------ GUI-thread interface

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def request_stop(self) -> None:
        """The thread finishes any recording, closes the player (env and renderer) and ends; `join` waits."""
        self._send(self._end_thread)

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def build(self, factory: PlayerFactory) -> None:
        """Replace the player by `factory()`, called in the player thread (a recording in progress ends); in
        compare mode with the compared agent acting beside it."""
        self._send(self._build, factory)

    def set_compare(self, compare: str | None) -> None:
        """Compare mode: the agent `compare` names (agents/compare.py) acts beside the player from a new trial,
        for this player and every one built later; None ends compare mode. If it cannot join (a checkpoint of
        another scene), the player goes on alone and `compare_dropped` says why."""
        self._send(self._set_compare, compare)

    def play(self) -> None:
        self._send(self._set_playing, True)

    def pause(self) -> None:
        self._send(self._set_playing, False)

    def toggle(self) -> None:
        self._send(self._toggle)

    def step(self, count: int = 1) -> None:
        """Take `count` steps now (and pause)."""
        self._send(self._step, count)

    def reset(self) -> None:
        self._send(self._reset)

    def set_task(self, params: dict[str, Any]) -> None:
        """Edit the watched episode's task from the next step; answered by task_changed or task_rejected."""
        self._send(self._set_task, dict(params))

    def unpin_task(self) -> None:
        """Later trials draw their task from the scene's distribution again (an edit pins it)."""
        self._send(self._unpin_task)

    def set_speed(self, speed: float | None) -> None:
        """A multiple of the env's frame rate, or None for as fast as possible."""
        self._send(self._set_speed, speed)

    def set_deterministic(self, on: bool) -> None:
        self._send(self._set_deterministic, bool(on))

    def set_follow(self, on: bool) -> None:
        """Take the newest training weights offered (at the next trial start, as Player.load_weights does)."""
        self._send(self._set_follow, bool(on))

    def set_trace(self, on: bool) -> None:
        """Compute the agent's trace (attention, memory) each step; the panels need it."""
        self._send(self._set_trace, bool(on))

    def set_record_memory(self, on: bool) -> None:
        """Hand over each whole trial's memory vectors (the Memory dock; traces must be on too)."""
        self._send(self._set_record_memory, bool(on))

    def set_render_size(self, width: int, height: int) -> None:
        self._send(self._set_render_size, (max(2, int(width) // 2 * 2), max(2, int(height) // 2 * 2)))

    # The camera, for a MuJoCo scene (others ignore it): drags in fractions of the view's height, as the
    # viewport's signals carry them.
    def orbit_camera(self, dx: float, dy: float) -> None:
        self._send(self._move_camera, UserCamera.orbit, dx, dy)

    def pan_camera(self, dx: float, dy: float) -> None:
        self._send(self._move_camera, UserCamera.pan, dx, dy)

    def zoom_camera(self, notches: float) -> None:
        self._send(self._move_camera, UserCamera.zoom, notches)

    def reset_camera(self) -> None:
        """Back to the scene's own camera."""
        self._send(self._move_camera, UserCamera.reset)

    def track_camera(self, on: bool) -> None:
        """Follow the scene camera's body, or stay where the camera is."""
        self._send(self._move_camera, UserCamera.set_tracking, bool(on))

    def start_recording(self, path: str | Path, panels_width: int = 0) -> None:
        """Record every step from now on into an MP4 at the env's frame rate, with the panel image (see
        `set_panel_image`) composited in a strip `panels_width` wide right of the frame when non-zero."""
        self._send(self._start_recording, Path(path), int(panels_width) // 2 * 2)

    def stop_recording(self) -> None:
        self._send(self._finish_recording)

    def set_panel_image(self, image: np.ndarray | None) -> None:
        """The newest (H, panels_width, 3) uint8 image of the panels, composited into recorded frames."""
        self._side = image

    def offer_weights(
        self, iteration: int, state_dict: dict[str, torch.Tensor], architecture: tuple[Any, ...]
    ) -> None:
        """Newest training weights (any thread); taken when following training, at a safe point, by a
        player whose agent has this `architecture_key` (others ignore them)."""
        self._weights.put((iteration, state_dict, architecture))
        self._send(self._wake)  # a paused player takes them now (applied at its next trial start)

    def take(self) -> PlayerView | None:
        """The newest frame and step, and the steps up to it (GUI thread, after frame_ready)."""
        return self._outbox.take()

    def recording_size(self) -> tuple[int, int] | None:
        return self._record_size

    def _send(self, command: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run `command(*args, **kwargs)` in the player thread, after the commands sent before it."""
        self._commands.put(functools.partial(command, *args, **kwargs))

    # -------------------------------------------------------------------------------------- player thread

    def _main(self) -> None:
        # The player acts one token at a time, like a rollout (agents/rollout.py): more torch intra-op threads
        # only add synchronisation, and their idle workers spin. Measured with the window open: a second
        # thread's spinning cost half a core and 10-15 frames/s. Training runs in its own process, so this
        # process-wide setting touches nothing else.
        torch.set_num_threads(1)
        # While a run trains, the window's threads share the cores the trainer leaves them (one of two here):
        # at equal priority a 10 ms timer waited behind this thread's renders (event-loop p95 38-55 ms). The
        # event loop comes first; nice 5 keeps most of compare mode's frame rate (docs/benchmarks.md).
        lower_thread_priority(PLAYER_NICE)
        try:
            while not self._stopping:
                self._wait_for_commands(self._timeout())
                if self._stopping:
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
            self._run_command(command)
            if self._stopping:
                return
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return

    def _run_command(self, command: functools.partial[None]) -> None:
        try:
            command()
        except Exception as error:  # named after the command: "player (start recording): ..."
            self._fail(f"player ({command.func.__name__.strip('_').replace('_', ' ')})", error)

    def _fail(self, where: str, error: BaseException) -> None:
        traceback.print_exc()
        if self._playing:
            self._playing = False
            self.playing_changed.emit(False)
        self._pending_steps = 0
        self._view_dirty = False
        self.failed.emit(error_text(where, error))

    # commands: what the public methods above queue, run in the player thread ------------------------------

    def _wake(self) -> None:
        pass  # `_advance` runs after every batch of commands

    def _end_thread(self) -> None:
        self._stopping = True

    def _set_compare(self, compare: str | None) -> None:
        if compare == self._compare:
            return
        self._compare = compare
        if self._factory is not None:
            self._build(self._factory)

    def _build(self, factory: PlayerFactory) -> None:
        # Built before the old player closes: if this fails (a bad checkpoint), the old one keeps running.
        try:
            player, config, payload, source = factory()
        except Exception as error:
            self._fail(f"loading {getattr(factory, 'description', 'the agent')}", error)
            return
        if self._compare is not None:
            try:
                attach_compared(player, config, self._compare, self.seed)
            except UserError as error:  # the agent to compare does not fit this player: it goes on alone
                self._compare = None
                self.compare_dropped.emit(str(error))
            except Exception as error:
                player.close()
                self._fail(f"loading {self._compare} to compare", error)
                return
        self._factory = factory
        self._finish_recording()
        self._close_player()
        self._outbox.clear_trial()
        player.deterministic = self._deterministic
        self._player = player
        self._architecture = architecture_key(config)
        self._camera = UserCamera(player.env)
        self._partner_camera = None if player.partner is None else UserCamera(player.partner.env)
        self._info = PlayerInfo(
            config=config,
            task_params=tuple(player.scene.task_params),
            task=dict(player.task),
            frame_rate=player.frame_rate,
            steps_per_trial=player.scene.steps_per_trial,
            camera=self._camera.supported,
            checkpoint=payload,
            source=source,
            label=f"{config.agent} ({source_label(source)})",  # the watched player is built unlabelled
            partner=None if player.partner is None else player.partner.label,
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

    def _toggle(self) -> None:
        self._set_playing(not self._playing)

    def _set_playing(self, on: bool) -> None:
        if on and not self._playing:
            self._next_step = time.monotonic()
        if self._playing and not on:
            self._view_dirty = True  # show the step the player paused on, even if it was not rendered
        if on != self._playing:
            self._playing = on
            self.playing_changed.emit(on)

    def _step(self, count: int) -> None:
        self._set_playing(False)
        self._pending_steps += max(0, int(count))

    def _reset(self) -> None:
        if self._player is None:
            return
        self._player.reset()
        self._episode_start = True
        self._last_step = None
        self._outbox.clear_trial()
        self._emit_task_if_changed(edited=False)
        self._view_dirty = True
        self._render_credit = max(self._render_credit, 1.0)

    def _set_task(self, params: dict[str, Any]) -> None:
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

    def _unpin_task(self) -> None:
        if self._player is not None:
            self._player.unpin_task()

    def _set_speed(self, speed: float | None) -> None:
        self._speed = speed
        self._apply_speed()

    def _apply_speed(self) -> None:
        rate = self._player.frame_rate if self._player is not None else 20.0
        self._period = 0.0 if self._speed is None else 1.0 / (rate * self._speed)
        self._next_step = time.monotonic()

    def _set_deterministic(self, on: bool) -> None:
        if self._player is not None:
            self._player.deterministic = on
        self._deterministic = on

    def _set_follow(self, on: bool) -> None:
        self._follow = on

    def _set_trace(self, on: bool) -> None:
        self._trace = on

    def _set_record_memory(self, on: bool) -> None:
        self._record_memory = on

    def _set_render_size(self, size: tuple[int, int]) -> None:
        if size != self._size:
            self._size = size
            self._view_dirty = True

    def _move_camera(self, move: Callable[..., None], *args: Any) -> None:
        """`move(camera, *args)`: one of UserCamera's methods."""
        if self._camera is None or not self._camera.supported:
            return
        move(self._camera, *args)
        if self._partner_camera is not None:  # compare mode: both views move together
            move(self._partner_camera, *args)
        self._view_dirty = True

    def _start_recording(self, path: Path, panels_width: int) -> None:
        self._finish_recording()
        if self._player is None:
            raise RuntimeError("nothing to record: no player is running")
        width, height = self._size
        self._record_panels = panels_width
        views = 1 if self._partner_camera is None else 2  # compare mode records both, side by side
        size = (views * width + (views - 1) * COMPARE_DIVIDER_PX + panels_width, height)
        self._writer = VideoWriter(path, self._player.frame_rate, size)
        self._record_size = (width, height)
        self.recording_frames = 0
        self.recording_changed.emit(RecordingState(True, self._writer.path, 0, size))
        # The first frame: the state on screen when recording started.
        self._render_and_publish(record=True)

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
        self._camera = self._partner_camera = None
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
            self._take_step(player)
            stepped = True
            self._view_dirty = True
            self._render_credit = max(self._render_credit, 1.0)  # a single step is always shown
        elif self._playing and now >= self._next_step:
            self._take_step(player)
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

    def _take_step(self, player: Player) -> None:
        step = player.step(trace=self._trace)
        self.steps += 1
        new_trial = step.step_in_trial == 0
        partner = step.partner
        self._outbox.add(
            StepRecord(
                step.step_in_trial,
                lite_trace(step.trace),
                self._episode_start,
                new_trial,
                played=dataclasses.replace(
                    step,
                    trace=None,
                    partner=None if partner is None else dataclasses.replace(partner, trace=None),
                ),
                partner_trace=None if partner is None else lite_trace(partner.trace),
            )
        )
        self._episode_start = step.episode_end
        self._last_step = step
        if self._record_memory:
            trial = self._memory.observe(step)
            if trial is not None:
                self._outbox.add_trial(trial)
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
        partner_frame = None if self._partner_camera is None else self._partner_camera.render(width, height)
        if record and self._writer is not None:
            both = frame if partner_frame is None else side_by_side(frame, partner_frame)
            self._writer.write(self._composite(both))
            self.recording_frames = self._writer.frames
        step = self._last_step
        if step is not None:
            step = published_step(step)
        self._earn_render_credit(time.monotonic())
        self._render_credit = max(0.0, self._render_credit - 1.0)
        if partner_frame is not None:
            partner_frame = np.ascontiguousarray(partner_frame)
        if self._outbox.publish(np.ascontiguousarray(frame), step, self.steps, partner_frame):
            self.frame_ready.emit()

    def _composite(self, frame: np.ndarray) -> np.ndarray:
        if not self._record_panels:
            return frame
        height = frame.shape[0]
        side = self._side
        if side is None or side.shape != (height, self._record_panels, 3):
            side = np.zeros((height, self._record_panels, 3), dtype=np.uint8)
        return np.concatenate([frame, side], axis=1)
