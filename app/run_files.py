"""Runs and checkpoints on disk, from the window: opening a checkpoint file or a run directory into the player
and the curves, following an opened run while another process writes it, and saving a checkpoint."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QLabel, QStatusBar, QWidget

from agents.checkpoints import save_checkpoint
from agents.config import config_from_dict
from app.banner import Banner
from app.curves import CurvesPanel
from app.handover import error_text
from app.player_factories import architecture_key, checkpoint_player
from app.player_worker import PlayerInfo, PlayerWorker
from app.run_controls import RunControls
from app.run_follower import RunFollower
from app.session import Session
from app.training_controller import TrainingController, curves_run_id

FOLLOW_POLL_MS = 2000  # how often an opened run's files are read again (another process may be writing it)


class RunFiles(QObject):
    """Opens, follows and saves runs and checkpoints for the window.

    `training`: the window's trainer (while it trains, an opened run only adds curves, and Save saves its
    newest iteration). `player_status`: the status bar's player label. `player_info`: what the player now
    watches (None before its first build). `is_closing`: whether the window has begun closing. `window`: the
    file dialogs' parent, and this object's."""

    def __init__(
        self,
        session: Session,
        runs_root: Path,
        *,
        controls: RunControls,
        training: TrainingController,
        curves: CurvesPanel,
        player: PlayerWorker,
        player_info: Callable[[], PlayerInfo | None],
        player_status: QLabel,
        status_bar: QStatusBar,
        banner: Banner,
        is_closing: Callable[[], bool],
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self._session = session
        self._runs_root = runs_root
        self._training = training
        self._curves = curves
        self._player = player
        self._player_info = player_info
        self._player_status = player_status
        self._status_bar = status_bar
        self._banner = banner
        self._is_closing = is_closing
        self._window = window
        self._followed: RunFollower | None = None  # an opened run, read again every FOLLOW_POLL_MS
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(FOLLOW_POLL_MS)
        self._follow_timer.timeout.connect(self._poll_followed_run)
        self._follow_timer.start()
        controls.open_checkpoint_button.clicked.connect(self._choose_checkpoint)
        controls.save_checkpoint_button.clicked.connect(self._choose_save_path)
        controls.open_run_button.clicked.connect(self._choose_run)

    def open_checkpoint(self, path: str | Path) -> None:
        """Watch the agent in a checkpoint file (Train then continues from it), or open a run directory."""
        path = Path(path)
        if path.is_dir():
            self.open_run(path)
            return
        if self._training.active():
            self._banner.show_message("stop training before opening a checkpoint")
            return
        self._session.forget_opened()
        self.stop_following()
        self._player_status.setText(f"player: loading {path}…")
        self._player.build(checkpoint_player(path, self._player.seed))

    def open_run(self, run_dir: str | Path) -> None:
        """A past run: its metrics into the curves (overlaid), its latest checkpoint into the player (unless
        training is running: then only the curves); Train then continues that run."""
        run_dir = Path(run_dir)
        metrics_path = run_dir / "metrics.csv"
        checkpoints = [run_dir / "checkpoints" / name for name in ("latest.pt", "best.pt")]
        checkpoint = next((c for c in checkpoints if c.is_file()), None)
        if not metrics_path.is_file() and checkpoint is None:
            self._banner.show_message(f"{run_dir} is not a run directory (no metrics.csv, no checkpoints/)")
            return
        # Followed while the window is open: another process (a torchrun job, a headless `train`) may be
        # writing it; new rows join the curves and, with "Follow training", new checkpoints the player.
        self._curves.add_run(curves_run_id(run_dir), run_dir.name)
        self._followed = RunFollower(run_dir)
        self._poll_followed_run()
        if self._training.active():
            self._status_bar.showMessage(f"{run_dir.name}: curves added (training continues)", 5000)
            return
        if checkpoint is None:
            self._banner.show_message(f"{run_dir} has no checkpoint to watch")
            return
        self._session.opened_run(run_dir)
        self._player_status.setText(f"player: loading {checkpoint}…")
        self._player.build(checkpoint_player(checkpoint, self._player.seed))

    def stop_following(self) -> None:
        """Forget the opened run: the choices changed, another file was opened, or this window trains."""
        self._followed = None

    def save_checkpoint(self, path: str | Path) -> Path | None:
        """Save the newest finished training iteration (or the opened checkpoint) to `path`."""
        trainer = self._training.worker
        training = trainer.snapshot() if trainer is not None else None
        info = self._player_info()
        opened = info.checkpoint if info is not None else None
        payload = training if self._training.active() or opened is None else opened
        if payload is None:
            self._banner.show_message("nothing to save yet: train, or open a checkpoint first")
            return None
        try:
            saved = save_checkpoint(path, payload)
        except OSError as error:
            self._banner.show_message(error_text("saving the checkpoint", error))
            return None
        self._status_bar.showMessage(f"checkpoint saved: {saved}", 5000)
        return saved

    def _poll_followed_run(self) -> None:
        """New metrics rows of the opened run into the curves; its newest checkpoint to a player following
        training (ignored by one watching another architecture)."""
        follower = self._followed
        if follower is None or self._is_closing():
            return
        run_id = curves_run_id(follower.run_dir)
        try:
            rows = follower.new_rows()
        except (OSError, csv.Error) as error:
            self._banner.show_message(error_text(f"reading {follower.metrics_path}", error))
            self.stop_following()
            return
        if follower.restarted:
            self._curves.restart_run(run_id)
        for row in rows:
            self._curves.append(run_id, row)
        if self._session.follow and not self._training.active():
            payload = follower.new_checkpoint()
            if payload is not None:
                architecture = architecture_key(
                    config_from_dict(payload["config"], str(follower.checkpoint_path))
                )
                self._player.offer_weights(
                    int(payload["counters"]["iteration"]), payload["model"], architecture
                )

    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._window, "Open checkpoint", str(self._runs_root), "Engram checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.open_checkpoint(path)

    def _choose_save_path(self) -> None:
        run_dir = self._session.run_dir
        start = run_dir / "checkpoints" if run_dir is not None else self._runs_root
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save checkpoint", str(start / "saved.pt"), "Checkpoints (*.pt)"
        )
        if path:
            self.save_checkpoint(path)

    def _choose_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self._window, "Open run", str(self._runs_root))
        if path:
            self.open_run(path)
