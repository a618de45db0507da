"""Training from the window: the Train / Pause / Resume / Stop buttons, the trainer's state and progress in the
run panel and the status bar, its metrics in the curves, and ending it when the window closes.

The Trainer runs in a child process behind `app.trainer_worker.TrainerWorker`; this starts one from the
session's training plan and shows what it reports. No learning happens here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from agents.checkpoints import save_checkpoint
from agents.events import TrainingInfo
from app.banner import Banner
from app.curves import CurvesPanel
from app.player_worker import PlayerWorker
from app.run_controls import RunControls
from app.session import Session
from app.trainer_worker import TrainerWorker


def curves_run_id(run_dir: Path) -> str:
    """A run's key in the curves panel: the same directory, however it was reached, is one run."""
    return str(Path(run_dir).resolve())


class TrainingController(QObject):
    """Starts, pauses, resumes and stops the window's trainer and shows its state.

    `status_label`: the status bar's training label (the run panel's label shows the same text). `player`:
    takes the weights of each finished iteration. `is_closing`: whether the window has begun closing (reports
    arriving after that are not shown)."""

    state_changed = Signal(str)  # the text both training labels now show
    run_started = Signal(object)  # TrainingInfo: the trainer is built and its run directory chosen
    failed = Signal(str)  # the trainer's error, for the window to say

    def __init__(
        self,
        session: Session,
        runs_root: Path,
        *,
        controls: RunControls,
        status_label: QLabel,
        curves: CurvesPanel,
        banner: Banner,
        status_bar: QStatusBar,
        player: PlayerWorker,
        is_closing: Callable[[], bool],
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runs_root = runs_root
        self._controls = controls
        self._status_label = status_label
        self._curves = curves
        self._banner = banner
        self._status_bar = status_bar
        self._player = player
        self._is_closing = is_closing
        self.worker: TrainerWorker | None = None
        self._state = "idle"
        self.progress = ""  # the newest iteration's numbers, "" before the first
        self._building = "creating the envs"  # what building the trainer involves, for the state text
        controls.train_button.clicked.connect(self.train)
        controls.train_pause_button.clicked.connect(self.pause)
        controls.train_resume_button.clicked.connect(self.resume)
        controls.train_stop_button.clicked.connect(self.stop)
        self._show(self._state)
        self._update_buttons()

    def active(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    def train(self) -> None:
        """Start training: continue the opened run, or from the opened checkpoint, or a new run."""
        if self.active() or self._is_closing():
            return
        try:
            plan = self._session.training_plan(self._runs_root)
        except ValueError as error:
            self._banner.show_message(str(error))
            return
        self._building = plan.building
        worker = TrainerWorker(plan.make, on_weights=self._player.offer_weights)
        worker.started.connect(self._on_started)
        worker.metrics.connect(self._on_metrics)
        worker.status.connect(self._on_status)
        worker.message.connect(self._on_message)
        worker.failed.connect(self.failed)
        worker.finished.connect(self._on_finished)
        if self._session.training_overrides:
            worker.set_task_overrides(self._session.training_overrides)
        self.worker = worker
        self.progress = ""
        # Spawning the process and importing torch there take seconds (with the build, 24 s to a running trainer
        # on a loaded 2-core machine): the state says what is being waited for.
        self._show("starting the training process (importing torch)…")
        worker.start()
        self._update_buttons()

    def pause(self) -> None:
        if self.active():
            assert self.worker is not None
            self.worker.pause()
            self._update_buttons()

    def resume(self) -> None:
        if self.active():
            assert self.worker is not None
            self.worker.resume()
            self._update_buttons()

    def stop(self) -> None:
        if self.active():
            assert self.worker is not None
            self.worker.stop()
            self._show("stopping at the next env step…")

    # ---------------------------------------------------------------------------------------- closing

    def request_stop(self) -> None:
        """The window is closing: ask the trainer to end without waiting (a paused one too: its gate wakes on a
        stop); `join_or_save_latest` then waits."""
        if self.worker is not None:
            self.worker.stop()

    def join_or_save_latest(self, timeout: float) -> bool:
        """Wait up to `timeout` for the trainer to end; True if it did (or there was none).

        Stopping waits for a PPO update in progress (the Trainer stops between env steps, or after the update).
        If that outlasts `timeout`, the newest finished iteration is saved as the run's `latest` now, so
        killing the process while the update finishes loses nothing."""
        trainer = self.worker
        if trainer is None or trainer.join(timeout):
            return True
        snapshot = trainer.snapshot()
        info = trainer.info
        if snapshot is not None and info is not None and info.run_dir is not None:
            path = save_checkpoint(info.run_dir / "checkpoints" / "latest.pt", snapshot)
            print(
                f"engram: saved iteration {snapshot['counters']['iteration']} to {path}; "
                "waiting for the PPO update in progress to finish",
                file=sys.stderr,
            )
        return False

    # ---------------------------------------------------------------------------- the trainer's reports

    def _on_started(self, info: TrainingInfo) -> None:
        if self._is_closing():
            return
        self._session.training_started(info.run_dir)
        if info.run_dir is not None:
            self._curves.add_run(curves_run_id(info.run_dir), info.run_dir.name)
        run = f"{info.config.agent} on {info.config.scene} ({info.config.preset}) → {info.run_dir}"
        for label in (self._controls.training_label, self._status_label):
            label.setToolTip(run)
        self.run_started.emit(info)
        self._update_buttons()

    def _on_metrics(self, metrics: dict[str, float]) -> None:
        if self._is_closing() or self.worker is None or self.worker.info is None:
            return
        run_dir = self.worker.info.run_dir
        if run_dir is not None:
            self._curves.append(curves_run_id(run_dir), metrics)
        self.progress = (
            f"iteration {int(metrics['iteration'])} · {int(metrics['env_steps']):,} env steps · "
            f"{metrics['sps']:,.0f} env-steps/s · return {metrics['trial_return']:.3g}"
        )
        self._show(self._state)

    def _on_status(self, status: str) -> None:
        """The trainer's own states ("running", "paused", "stopped", ...), and "building" from its process."""
        if self._is_closing():
            return
        self._show(f"building the trainer ({self._building})…" if status == "building" else status)
        self._update_buttons()

    def _on_message(self, text: str) -> None:
        if not self._is_closing():
            self._status_bar.showMessage(text, 5000)

    def _on_finished(self, reason: str) -> None:
        if self._is_closing():
            return
        if self.worker is not None:
            self.worker.join(5.0)
        self._show(reason)
        self._update_buttons()

    def _show(self, state: str) -> None:
        """The one place the training state is shown: the run panel and the status bar read the same text."""
        self._state = state
        text = f"training: {state}" + (f" · {self.progress}" if self.progress else "")
        self._controls.training_label.setText(text)
        self._status_label.setText(text)
        self.state_changed.emit(text)

    def _update_buttons(self) -> None:
        c = self._controls
        active = self.active()
        paused = active and self.worker is not None and self.worker.paused
        c.train_button.setEnabled(not active)
        c.train_pause_button.setEnabled(active and not paused)
        c.train_resume_button.setEnabled(active and paused)
        c.train_stop_button.setEnabled(active)
        for box in (c.scene_box, c.agent_box, c.preset_box, c.open_checkpoint_button):
            box.setEnabled(not active)
