"""Screenshots and video recordings from the window: where they go, the Record button and the REC status, and
the panel strip the recording composites beside each frame.

The player thread writes the video (app.player_worker); this starts and stops it and keeps the strip it
composites up to date.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QLabel, QStatusBar, QWidget

from agents.player import side_by_side
from app.banner import Banner
from app.handover import error_text
from app.media import panel_strip, save_png, timestamped
from app.player_worker import PlayerWorker, RecordingState
from app.run_controls import RunControls
from app.session import Session
from app.session_binding import show_check
from app.viewport import Viewport

PANEL_STRIP_RATIO = 0.9  # width of the recorded panel strip / frame height


class MediaController(QObject):
    """Takes screenshots of the viewport and records the player to MP4.

    `panels`: the panels composited beside recorded frames (when the session says so). `status_label`: the
    status bar's recording label. `render_height`: the height the player renders frames at now. `is_closing`:
    whether the window has begun closing. `window`: the folder dialog's parent, and this object's."""

    def __init__(
        self,
        session: Session,
        runs_root: Path,
        *,
        controls: RunControls,
        viewport: Viewport,
        partner_viewport: Viewport,
        player: PlayerWorker,
        panels: Sequence[QWidget],
        status_label: QLabel,
        status_bar: QStatusBar,
        banner: Banner,
        render_height: Callable[[], int],
        is_closing: Callable[[], bool],
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self._session = session
        self._runs_root = runs_root
        self._controls = controls
        self._viewport = viewport
        self._partner_viewport = partner_viewport  # compare mode: the screenshot holds both, as recordings do
        self._player = player
        self._panels = tuple(panels)
        self._status_label = status_label
        self._status_bar = status_bar
        self._banner = banner
        self._render_height = render_height
        self._is_closing = is_closing
        self._window = window
        self._state = RecordingState(False, None, 0)
        self._strip_width = 0  # width of the panel strip in the recording in progress
        player.recording_changed.connect(self._on_recording_changed)
        controls.record_button.clicked.connect(self.toggle_recording)
        controls.screenshot_button.clicked.connect(self.take_screenshot)
        controls.media_dir_button.clicked.connect(self._choose_media_dir)

    # ------------------------------------------------------------------------------- where media go

    def media_dir(self) -> Path:
        """Where screenshots and videos go: the chosen folder, else the run's videos/, else runs/media."""
        return self._session.media_target(self._runs_root)

    def set_media_dir(self, path: str | Path | None) -> None:
        self._session.media_dir = None if path is None else Path(path)

    def update_media_label(self, *_: object) -> None:
        """The run controls' line saying where media go (the session's change passes the new value: unused)."""
        path = self.media_dir()
        short = Path(*path.parts[-2:]) if len(path.parts) > 2 else path
        label = self._controls.media_label
        label.setText(f"media → …/{short}" if short != path else f"media → {path}")
        label.setToolTip(f"screenshots and videos go to {path}")

    def _choose_media_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self._window, "Output folder", str(self.media_dir()))
        if path:
            self.set_media_dir(path)

    def _file_prefix(self) -> str:
        return f"{self._session.scene}-{self._session.agent}"

    # -------------------------------------------------------------------------------------- screenshots

    def screenshot(self, path: str | Path | None = None) -> Path | None:
        """Save the frame on screen (at its rendered resolution) as PNG; returns the path."""
        frame = self._viewport.grab_frame()
        partner = self._partner_viewport.grab_frame() if self._partner_viewport.isVisible() else None
        if frame is not None and partner is not None and partner.shape == frame.shape:
            frame = side_by_side(frame, partner)
        if frame is None:
            self._status_bar.showMessage("no frame to save yet", 3000)
            return None
        if path is None:
            path = timestamped(self.media_dir(), self._file_prefix(), ".png")
        try:
            saved = save_png(frame, path)
        except OSError as error:
            self._banner.show_message(error_text("screenshot", error))
            return None
        self._status_bar.showMessage(f"screenshot saved: {saved}", 5000)
        return saved

    def take_screenshot(self) -> None:
        """The button's and the key's screenshot (a click's `checked` is no path)."""
        self.screenshot()

    # --------------------------------------------------------------------------------------- recordings

    @property
    def recording(self) -> RecordingState:
        return self._state

    def records_panels(self) -> bool:
        """Whether a recording in progress composites the panels (they need the player's traces then)."""
        return self._state.active and self._session.record_panels

    def start_recording(self, path: str | Path | None = None) -> Path:
        """Record the player from its next step to MP4 (at the env's frame rate); returns the path."""
        if path is None:
            path = timestamped(self.media_dir(), self._file_prefix(), ".mp4")
        height = self._render_height()
        panels = round(PANEL_STRIP_RATIO * height) // 2 * 2 if self._session.record_panels else 0
        self._strip_width = panels
        if panels:  # the strip the first frames get; refreshed with the panels from then on
            self._player.set_panel_image(panel_strip(self._panels, panels, height))
        self._player.start_recording(path, panels)
        self._state = RecordingState(True, Path(path), 0)
        self._show_record_button()
        return Path(path)

    def stop_recording(self) -> None:
        self._player.stop_recording()

    def toggle_recording(self) -> None:
        if self._state.active:
            self.stop_recording()
        else:
            self.start_recording()

    def refresh(self) -> None:
        """On the window's panel tick: the recording's panel strip and frame count (nothing when not recording)."""
        if not self._state.active:
            return
        size = self._player.recording_size()
        width = self._strip_width
        if size is not None and width:
            self._player.set_panel_image(panel_strip(self._panels, width, size[1]))
        name = self._state.path.name if self._state.path else ""
        self._status_label.setText(f"● REC {self._player.recording_frames} frames → {name}")

    def _on_recording_changed(self, state: RecordingState) -> None:
        self._state = state
        if self._is_closing():
            return
        self._show_record_button()
        if state.active:
            self._status_label.setText(f"● REC → {state.path}")
        else:
            self._status_label.setText("not recording")
            if state.path is not None:
                self._status_bar.showMessage(f"video saved: {state.path} ({state.frames} frames)", 8000)

    def _show_record_button(self) -> None:
        button = self._controls.record_button
        show_check(button, self._state.active)
        button.setText("Stop recording" if self._state.active else "Record")
