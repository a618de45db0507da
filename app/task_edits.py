"""The task editor's edits, from the window: to the episode (the player applies them at its next step), to
training (the trainer's next iteration, or pinned for the next run), and the player's answers shown back in
the editor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStatusBar

from app.player_worker import PlayerInfo, PlayerWorker
from app.session import Session
from app.task_editor import TaskEditor
from app.training_controller import TrainingController
from scenes.base import validate_task


class TaskEdits(QObject):
    """Sends the task editor's edits where they apply and shows the player's task in the editor.

    `player_info`: what the player now watches (None before its first build); its task parameters check an
    edit for training before training starts. `is_closing`: whether the window has begun closing."""

    def __init__(
        self,
        session: Session,
        *,
        editor: TaskEditor,
        player: PlayerWorker,
        player_info: Callable[[], PlayerInfo | None],
        training: TrainingController,
        status_bar: QStatusBar,
        is_closing: Callable[[], bool],
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._editor = editor
        self._player = player
        self._player_info = player_info
        self._training = training
        self._status_bar = status_bar
        self._is_closing = is_closing
        editor.apply_to_episode.connect(player.set_task)
        editor.apply_to_training.connect(self._apply_to_training)
        player.task_changed.connect(self._on_task_changed)
        player.task_rejected.connect(self._on_task_rejected)

    def _on_task_changed(self, task: dict[str, Any], edited: bool) -> None:
        if self._is_closing():
            return
        if edited:
            self._editor.set_current(task)
            self._status_bar.showMessage(f"episode task: {task}", 5000)
        elif not self._editor.edits():  # a new trial's task; never clobber the user's edits
            self._editor.set_current(task)

    def _on_task_rejected(self, message: str, param: str) -> None:
        if not self._is_closing():
            self._editor.show_error(message, param or None)

    def _apply_to_training(self, params: dict[str, Any]) -> None:
        trainer = self._training.worker
        if self._training.active():
            assert trainer is not None
            try:
                overrides = trainer.set_task_overrides(params)
            except ValueError as error:
                self._editor.show_error(str(error))
                return
            self._status_bar.showMessage(
                f"training tasks: {overrides or params} from the next iteration", 5000
            )
            return
        info = self._player_info()
        if info is not None:
            try:
                validate_task(info.task_params, info.task, params, "training task")
            except ValueError as error:
                self._editor.show_error(str(error))
                return
        pinned = self._session.pin_training_task(params)
        self._status_bar.showMessage(f"training tasks: {pinned} when training starts", 5000)
