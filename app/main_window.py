"""The main window: the viewport in the centre, the panels and run controls in docks, two worker threads.

The window holds no learning or physics: `app.trainer_worker.TrainerWorker` runs the Trainer in a child
process (read by one thread) and `app.player_worker.PlayerWorker` runs the Player (env, renderer, camera,
video writer) in another thread. The GUI thread paints the newest frame the player published (one pending
wake-up at most, nothing queues), records the steps up to it into the memory timeline, and redraws the
heavier panels on a slower timer.

This module assembles the window, decides what the player watches and closes the window; each other job
has its own module: the player's output on screen (`app.player_display`), training
(`app.training_controller`), runs and checkpoints on disk (`app.run_files`), screenshots and recordings
(`app.media_controller`), task edits (`app.task_edits`), the session's binding to the controls
(`app.session_binding`), the docks' layout (`app.dock_layout`) and the keys (`app.shortcuts`).
"""

from __future__ import annotations

import csv
import functools
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from agents.config import PRESETS, TrainConfig
from agents.events import TrainingInfo
from agents.player import COMPARE_DIVIDER_PX, PlayerStep
from agents.pretrained import find_pretrained
from agents.registry import AGENTS
from agents.run_log import read_metrics
from app import qt_compat  # noqa: F401  (before any Qt call)
from app.attention import AttentionPanel
from app.banner import Banner
from app.compare_controller import CompareController
from app.curves import CurvesPanel
from app.dock_layout import (
    add_dock,
    restore_window_layout,
    save_window_layout,
    size_docks_for_first_run,
    tab_docks_for_first_run,
)
from app.gui_thread_gc import GuiThreadGarbageCollector
from app.handover import error_text
from app.media_controller import MediaController
from app.memory_panel import MemoryPanel
from app.memory_timeline import MemoryTimeline
from app.player_display import FIRST_RENDER_SIZE, AgentPanels, PlayerDisplay
from app.player_factories import architecture_key, fresh_player, pretrained_player
from app.player_worker import PlayerInfo, PlayerWorker, RecordingState
from app.run_controls import RunControls
from app.run_files import RunFiles
from app.session import SPEEDS, Session
from app.session_binding import bind_session, send_player_settings, show_check
from app.shortcuts import install_shortcuts
from app.signals_panel import SignalsPanel
from app.task_editor import TaskEditor
from app.task_edits import TaskEdits
from app.trainer_worker import TrainerWorker
from app.training_controller import TrainingController
from app.viewport import Viewport
from scenes.registry import SCENES, scene_class

ORGANIZATION = "Engram"
APPLICATION = "Engram"
# Closing waits this long at most for the trainer and the player to end together (then the newest finished
# iteration is saved from here and the window goes; the process waits for the rest out of sight). Measured on a
# loaded 2-core machine, fast TrMRL on halfcheetah-vel with 16 envs: both ended 2.2 s after the close.
CLOSE_TIMEOUT_S = 3.0


def _refresh_rate(widget: QWidget) -> float:
    """Frames/s of the screen `widget` is on (the player renders no more: a frame the screen never shows is CPU
    taken from training); 60 where the platform does not say (offscreen and Xvfb report 60)."""
    screen = widget.screen()
    rate = screen.refreshRate() if screen is not None else 0.0
    return rate if rate >= 1.0 else 60.0


class MainWindow(QMainWindow):
    """The playground window; see the module docstring.

    `scene`, `agent`, `preset`: the starting choices (None: the last ones used, from QSettings, else the
    defaults). `checkpoint`: a checkpoint file or run directory to open. `settings`: where choices and the
    dock layout persist (tests pass an INI file). `runs_root`: where new training runs go.
    `config_overrides`: TrainConfig values on top of the preset (tests and benchmarks use small runs; `device`
    is where runs started here train, `gui --device`). The player acts on the CPU: one env's steps are
    latency-bound, and the CPU answers them sooner than a GPU would.
    """

    _needs_default_layout: bool  # set by _restore: lay the docks out on the first show

    training_state_changed = Signal(str)  # the text both training labels now show

    def __init__(
        self,
        scene: str | None = None,
        agent: str | None = None,
        preset: str | None = None,
        checkpoint: str | Path | None = None,
        *,
        settings: QSettings | None = None,
        runs_root: str | Path = "runs",
        config_overrides: dict[str, Any] | None = None,
        seed: int = 0,
        compare: str | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Engram")
        self.settings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)
        self.runs_root = Path(runs_root)
        # What the user has chosen and opened, and the player's settings: the Qt-free model the widgets show.
        self.session = Session(config_overrides=dict(config_overrides or {}))
        self._closed = False
        # Before any worker thread starts: cyclic garbage (Qt objects among it) is collected on this thread only.
        self._garbage_collector = GuiThreadGarbageCollector(self)
        self._player_info: PlayerInfo | None = None
        self._player_key: tuple[Any, ...] | None = None

        # ---------------------------------------------------------------------------------- widgets
        self.viewport = Viewport()
        self.partner_viewport = Viewport()  # compare mode's second agent, beside the first
        self.banner = Banner()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.banner)
        views = QHBoxLayout()
        views.setSpacing(COMPARE_DIVIDER_PX)
        views.addWidget(self.viewport, 1)
        views.addWidget(self.partner_viewport, 1)
        central_layout.addLayout(views, 1)
        self.setCentralWidget(central)

        self.curves = CurvesPanel()
        self.attention = AttentionPanel()
        self.timeline = MemoryTimeline()
        self.partner_attention = AttentionPanel()
        self.partner_timeline = MemoryTimeline()
        self.memory = MemoryPanel()
        self.signals = SignalsPanel()
        self.task_editor = TaskEditor()
        self.controls = RunControls(SCENES, AGENTS, PRESETS)
        controls_scroll = QScrollArea()
        controls_scroll.setWidget(self.controls)
        controls_scroll.setWidgetResizable(True)
        controls_scroll.setFrameShape(QFrame.Shape.NoFrame)
        task_scroll = QScrollArea()
        task_scroll.setWidget(self.task_editor)
        task_scroll.setWidgetResizable(True)
        task_scroll.setFrameShape(QFrame.Shape.NoFrame)
        task_scroll.setMinimumWidth(330)  # the editor's three buttons side by side

        left, right, bottom = (
            Qt.DockWidgetArea.LeftDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.docks: dict[str, QDockWidget] = {
            "controls": add_dock(self, "controls", "Run controls", controls_scroll, left),
            "task": add_dock(self, "task", "Task editor", task_scroll, left),
            "attention": add_dock(self, "attention", "Attention", self.attention, right),
            "timeline": add_dock(self, "timeline", "Memory timeline", self.timeline, right),
            "curves": add_dock(self, "curves", "Training curves", self.curves, bottom),
            "memory": add_dock(self, "memory", "Memory", self.memory, right),
            "signals": add_dock(self, "signals", "Episode signals", self.signals, bottom),
            "partner_attention": add_dock(
                self, "partner_attention", "Attention", self.partner_attention, right
            ),
            "partner_timeline": add_dock(
                self, "partner_timeline", "Memory timeline", self.partner_timeline, right
            ),
        }
        # Compare mode: each agent's panels one above the other, the watched agent's first.
        for name in ("attention", "timeline"):
            self.splitDockWidget(self.docks[name], self.docks[f"partner_{name}"], Qt.Orientation.Vertical)
        # The docks' tab groups are made when the window is first shown (tab_docks_for_first_run).
        self.setCorner(Qt.Corner.BottomLeftCorner, left)
        self.setCorner(Qt.Corner.BottomRightCorner, right)

        self._training_status = QLabel()
        self._player_status = QLabel("player: starting")
        self._recording_status = QLabel("not recording")
        for label in (self._training_status, self._player_status, self._recording_status):
            label.setContentsMargins(6, 0, 6, 0)
        self.statusBar().addWidget(self._training_status, 1)
        self.statusBar().addWidget(self._player_status, 1)
        self.statusBar().addPermanentWidget(self._recording_status)

        # ---------------------------------------------------------------------------------- player
        self.player_worker = PlayerWorker(
            render_size=FIRST_RENDER_SIZE, max_render_fps=_refresh_rate(self), seed=seed
        )
        worker = self.player_worker
        worker.ready.connect(self._on_player_ready)
        worker.playing_changed.connect(self._on_playing_changed)
        worker.failed.connect(self._on_worker_failed)
        self._playing = False
        worker.start()

        # ------------------------------------------------------------------- the other jobs, wired
        self.training = TrainingController(
            self.session,
            self.runs_root,
            controls=self.controls,
            status_label=self._training_status,
            curves=self.curves,
            banner=self.banner,
            status_bar=self.statusBar(),
            player=worker,
            is_closing=self.is_closing,
            parent=self,
        )
        self.training.state_changed.connect(self.training_state_changed)
        self.training.run_started.connect(self._on_training_started)
        self.training.failed.connect(self._on_worker_failed)
        self.run_files = RunFiles(
            self.session,
            self.runs_root,
            controls=self.controls,
            training=self.training,
            curves=self.curves,
            player=worker,
            player_info=self.player_info,
            player_status=self._player_status,
            status_bar=self.statusBar(),
            banner=self.banner,
            is_closing=self.is_closing,
            window=self,
        )
        self.media = MediaController(
            self.session,
            self.runs_root,
            controls=self.controls,
            viewport=self.viewport,
            partner_viewport=self.partner_viewport,
            player=worker,
            panels=(self.attention, self.timeline, self.signals),
            status_label=self._recording_status,
            status_bar=self.statusBar(),
            banner=self.banner,
            # Read when a recording starts; the display, built next, needs this controller to see recordings.
            render_height=lambda: self.display.render_size[1],
            is_closing=self.is_closing,
            window=self,
        )
        self.display = PlayerDisplay(
            self.session,
            player=worker,
            panels=AgentPanels(
                self.viewport, self.attention, self.docks["attention"], self.timeline, self.docks["timeline"]
            ),
            partner=AgentPanels(
                self.partner_viewport,
                self.partner_attention,
                self.docks["partner_attention"],
                self.partner_timeline,
                self.docks["partner_timeline"],
            ),
            memory=self.memory,
            memory_dock=self.docks["memory"],
            signals=self.signals,
            signals_dock=self.docks["signals"],
            media=self.media,
            player_status=self._player_status,
            is_closing=self.is_closing,
            parent=self,
        )
        self.task_edits = TaskEdits(
            self.session,
            editor=self.task_editor,
            player=worker,
            player_info=self.player_info,
            training=self.training,
            status_bar=self.statusBar(),
            is_closing=self.is_closing,
            parent=self,
        )
        self.compare = CompareController(
            self.session,
            controls=self.controls,
            player=worker,
            viewport=self.viewport,
            partner_viewport=self.partner_viewport,
            panel_docks=(self.docks["attention"], self.docks["timeline"]),
            partner_docks=(self.docks["partner_attention"], self.docks["partner_timeline"]),
            signals=self.signals,
            banner=self.banner,
            window=self,
        )
        bind_session(self.session, self.controls, worker, self.media.update_media_label)
        c = self.controls
        c.scene_box.currentIndexChanged.connect(self._on_choice_changed)
        c.agent_box.currentIndexChanged.connect(self._on_choice_changed)
        c.preset_box.currentIndexChanged.connect(self._on_choice_changed)
        c.play_button.clicked.connect(self.play)
        c.pause_button.clicked.connect(self.pause_player)
        c.step_button.clicked.connect(self.step_player)
        c.reset_button.clicked.connect(self.reset_player)
        c.unpin_button.clicked.connect(worker.unpin_task)
        c.track_check.toggled.connect(worker.track_camera)
        for viewport in (self.viewport, self.partner_viewport):  # compare mode: both views move together
            viewport.orbit.connect(worker.orbit_camera)
            viewport.pan.connect(worker.pan_camera)
            viewport.pan.connect(self._on_pan)
            viewport.zoom.connect(worker.zoom_camera)
            viewport.camera_reset.connect(self._on_camera_reset)
        install_shortcuts(self)

        # ------------------------------------------------------------------------- restore & start
        self._restore(scene, agent, preset)
        self.compare.compare_with(compare)  # before the first player is built: it is built with its partner
        self._on_playing_changed(False)
        self.media.update_media_label()
        if checkpoint is not None:
            self.open_checkpoint(checkpoint)
        else:
            self._rebuild_player()

    # ------------------------------------------------------------------------------------- building

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._needs_default_layout:
            self._needs_default_layout = False
            tab_docks_for_first_run(self, self.docks)
            # The window as context: a call still pending when the window goes is dropped.
            QTimer.singleShot(
                0, self, functools.partial(size_docks_for_first_run, self, self.docks, self.controls)
            )

    def _restore(self, scene: str | None, agent: str | None, preset: str | None) -> None:
        unknown = self.session.restore(self.settings, scene, agent, preset)
        if unknown:
            self.banner.show_message(f"unknown choice(s) {', '.join(unknown)}; using defaults")
        send_player_settings(self.session, self.player_worker)
        self._needs_default_layout = not restore_window_layout(self, self.settings)

    def _save_settings(self) -> None:
        save_window_layout(self, self.settings)
        self.session.save(self.settings)
        self.settings.sync()

    def session_config(self) -> TrainConfig | None:
        """The config the session's choices describe; None (and a banner) if invalid."""
        try:
            return self.session.config()
        except ValueError as error:
            self.banner.show_message(str(error))
            return None

    def _rebuild_player(self) -> None:
        config = self.session_config()
        if config is None:
            return
        self._player_key = architecture_key(config)
        self._player_status.setText("player: loading…")
        # A shipped pretrained agent for these choices is what a new user should see first (assets/pretrained).
        try:
            shipped = find_pretrained(config.scene, config.agent, config.preset)
        except ValueError as error:  # a damaged manifest: say so, and show the untrained agent
            self.banner.show_message(str(error))
            shipped = None
        seed = self.player_worker.seed
        if shipped is not None:
            self._show_pretrained_curves(shipped.metrics_path, f"pretrained {config.agent} on {config.scene}")
        self.player_worker.build(
            fresh_player(config, seed) if shipped is None else pretrained_player(shipped.path, config, seed)
        )

    def _show_pretrained_curves(self, metrics_path: Path, label: str) -> None:
        """How the shipped agent was trained, as a run in the curves panel (once per window)."""
        run_id = f"pretrained:{metrics_path.name}"
        if self.curves.has_run(run_id) or not metrics_path.is_file():
            return
        try:
            rows = read_metrics(metrics_path)
        except (OSError, csv.Error) as error:
            self.banner.show_message(error_text(f"reading {metrics_path}", error))
            return
        self.curves.add_run(run_id, label)
        for row in rows:
            self.curves.append(run_id, row)

    def _on_choice_changed(self) -> None:
        """A user's choice in a picker (the session's own changes update the pickers silently)."""
        if self.training.active():
            return
        c = self.controls
        self.session.choose(c.scene_box.currentText(), c.agent_box.currentText(), c.preset_box.currentText())
        self.run_files.stop_following()
        self._rebuild_player()

    def _on_training_started(self, info: TrainingInfo) -> None:
        """This window's trainer reports its run's metrics itself: an opened run is no longer followed. The
        player watches the run's agent: rebuilt with the run's architecture and weights if it has another."""
        self.run_files.stop_following()
        if architecture_key(info.config) != self._player_key:
            trainer = self.training.worker
            snapshot = trainer.snapshot() if trainer is not None else None
            weights = snapshot["model"] if snapshot is not None else None
            self._player_key = architecture_key(info.config)
            self.player_worker.build(fresh_player(info.config, self.player_worker.seed, weights, "training"))

    # ------------------------------------------------------------------------- what the window does
    # gui.py, the benchmarks and the tests drive the window through these; each job's module does the work.

    @property
    def trainer_worker(self) -> TrainerWorker | None:
        return self.training.worker

    def training_active(self) -> bool:
        return self.training.active()

    def train(self) -> None:
        self.training.train()

    def stop_training(self) -> None:
        self.training.stop()

    def open_checkpoint(self, path: str | Path) -> None:
        self.run_files.open_checkpoint(path)

    def open_run(self, run_dir: str | Path) -> None:
        self.run_files.open_run(run_dir)

    def save_checkpoint(self, path: str | Path) -> Path | None:
        return self.run_files.save_checkpoint(path)

    def media_dir(self) -> Path:
        return self.media.media_dir()

    def screenshot(self, path: str | Path | None = None) -> Path | None:
        return self.media.screenshot(path)

    @property
    def recording(self) -> RecordingState:
        return self.media.recording

    def start_recording(self, path: str | Path | None = None) -> Path:
        return self.media.start_recording(path)

    def last_step(self) -> PlayerStep | None:
        return self.display.last_step()

    def shown_steps(self) -> int:
        return self.display.shown_steps()

    def save_window_image(self, path: str | Path) -> Path:
        """The whole window as PNG (for the README and smoke tests)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.display.refresh(both=True)  # the panels show the step in the viewport
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path

    # ------------------------------------------------------------------------------------- watching

    def play(self) -> None:
        self.player_worker.play()

    def pause_player(self) -> None:
        self.player_worker.pause()

    def toggle_player(self) -> None:
        self.player_worker.toggle()

    def step_player(self) -> None:
        self.player_worker.step()

    def reset_player(self) -> None:
        self.player_worker.reset()

    def set_speed(self, speed: float | None) -> None:
        self.session.speed = speed

    def faster(self) -> None:
        self.session.speed = SPEEDS[min(SPEEDS.index(self.session.speed) + 1, len(SPEEDS) - 1)]

    def slower(self) -> None:
        self.session.speed = SPEEDS[max(SPEEDS.index(self.session.speed) - 1, 0)]

    def _on_pan(self) -> None:
        show_check(self.controls.track_check, False)  # a pan frees the camera (UserCamera)

    def _on_camera_reset(self) -> None:
        self.player_worker.reset_camera()
        show_check(self.controls.track_check, True)

    def _on_playing_changed(self, playing: bool) -> None:
        self._playing = playing
        c = self.controls
        c.play_button.setEnabled(not playing)
        c.pause_button.setEnabled(playing)

    @property
    def playing(self) -> bool:
        return self._playing

    def player_info(self) -> PlayerInfo | None:
        return self._player_info

    def _on_player_ready(self, info: PlayerInfo) -> None:
        if self._closed:
            return
        self._player_info = info
        self._player_key = architecture_key(info.config)
        self.display.begin_player(info.steps_per_trial, comparing=info.partner is not None)
        scene = scene_class(info.config.scene)
        self.signals.set_scene(scene.episode_signals, info.task_params, info.steps_per_trial)
        self.compare.show_player(info)
        self.task_editor.set_schema(info.task_params, info.task)
        self.session.show_config(info.config)
        self.controls.track_check.setEnabled(info.camera)
        if info.checkpoint is not None:
            self.session.opened_checkpoint(info.checkpoint)
        self._player_status.setText(f"player: {info.config.agent} on {info.config.scene} ({info.source})")
        if info.source.startswith("pretrained"):
            self.play()  # a trained agent acting is what the window opens with

    # ---------------------------------------------------------------------------------------- errors

    def _on_worker_failed(self, message: str) -> None:
        print(f"engram: {message}", file=sys.stderr)
        if not self._closed:
            self.banner.show_message(message)

    # --------------------------------------------------------------------------------------- closing

    def is_closing(self) -> bool:
        """Whether `shutdown` has begun: the workers' reports arriving from then on are not shown."""
        return self._closed

    def threads_alive(self) -> list[str]:
        names = []
        if self.player_worker.is_alive():
            names.append("player")
        if self.trainer_worker is not None and self.trainer_worker.is_alive():
            names.append("trainer")
        return names

    def shutdown(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Stop training (the Trainer saves `latest` when its loop ends), finish any recording, close the
        player; join both threads. Returns True when both ended within `timeout`, which bounds the whole wait.

        A PPO update in progress that outlasts `timeout` has the newest finished iteration saved now
        (`TrainingController.join_or_save_latest`); `wait_for_workers` waits for the update."""
        if self._closed:
            return not self.threads_alive()
        self._closed = True
        self.display.stop()
        # Both are asked before either is waited for, and both waits share one deadline: closing takes the
        # slower of the two, not their sum, and at most `timeout`.
        self.training.request_stop()
        self.player_worker.request_stop()
        deadline = time.monotonic() + timeout
        player_done = self.player_worker.join(timeout)
        trainer_done = self.training.join_or_save_latest(max(0.0, deadline - time.monotonic()))
        if not player_done:
            print(f"engram: the player thread did not end within {timeout:g} s", file=sys.stderr)
        if player_done and trainer_done:
            self._garbage_collector.stop()  # no other thread left to collect Qt objects in
        return player_done and trainer_done

    def wait_for_workers(self, timeout: float | None = None) -> bool:
        """After `shutdown`: wait for the trainer's update in progress to end (its loop then saves)."""
        if self.trainer_worker is not None:
            self.trainer_worker.join(timeout)
        done = not self.threads_alive()
        if done:
            self._garbage_collector.stop()
        return done

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._save_settings()
            self.hide()  # gone from the screen while the workers wind down
            self.shutdown()
        event.accept()
