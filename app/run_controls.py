"""The run-controls dock: scene / agent / preset pickers, training and watching buttons, files and media.

Only widgets: the window connects them. Buttons are attributes so tests click the real ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.session import SPEEDS, speed_label

PICK_FILE_TO_COMPARE = "checkpoint or run…"


def _button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    return button


class RunControls(QWidget):
    def __init__(
        self,
        scenes: Iterable[str],
        agents: Iterable[str],
        presets: Iterable[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.scene_box = QComboBox()
        self.scene_box.addItems(list(scenes))
        self.scene_box.setToolTip("the task distribution to train and watch on")
        self.agent_box = QComboBox()
        self.agent_box.addItems(list(agents))
        self.agent_box.setToolTip("the agent architecture")
        self.preset_box = QComboBox()
        self.preset_box.addItems(list(presets))
        self.preset_box.setToolTip(
            "hyper-parameters: fast (learns within minutes on a laptop), paper (the papers' settings), "
            "default (CleanRL's PPO defaults)"
        )

        self.train_button = _button("Train", "start training (continues an opened run or checkpoint)")
        self.train_pause_button = _button("Pause", "pause training at the next env step")
        self.train_resume_button = _button("Resume", "resume training")
        self.train_stop_button = _button("Stop", "stop training; the run's latest checkpoint is saved")
        self.training_label = QLabel("not training")
        self.training_label.setWordWrap(True)

        self.play_button = _button("Play", "run the watched agent (Space)")
        self.pause_button = _button("Pause", "pause the watched agent (Space)")
        self.step_button = _button("Step", "one step (→)")
        self.reset_button = _button("Reset", "start a new trial: memory cleared (Backspace)")
        self.unpin_button = _button(
            "Unpin task", "an applied edit pins the task for later trials; draw them from the scene again"
        )
        self.speed_box = QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(speed_label(speed), speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip(
            "steps per second as a multiple of the env's frame rate, or as fast as possible"
        )
        self.deterministic_check = QCheckBox("Deterministic actions")
        self.deterministic_check.setToolTip("act with the policy's mode instead of sampling")
        self.follow_check = QCheckBox("Follow training")
        self.follow_check.setToolTip("take the newest training weights at the start of each trial")
        self.track_check = QCheckBox("Camera tracks the body")
        self.track_check.setToolTip(
            "MuJoCo scenes: drag to orbit, right-drag to pan, wheel to zoom, double-click to reset"
        )
        self.track_check.setChecked(True)
        self.compare_box = QComboBox()
        self.compare_box.setToolTip(
            "compare mode: a second agent acts beside this one in lockstep, on the same tasks and edits"
        )

        self.open_checkpoint_button = _button("Open checkpoint…", "watch the agent stored in a checkpoint")
        self.save_checkpoint_button = _button(
            "Save checkpoint…", "save the newest training iteration (or the opened checkpoint)"
        )
        self.open_run_button = _button(
            "Open run…", "a run directory: its curves, and its latest checkpoint in the player"
        )
        self.record_button = _button(
            "Record", "record the watched agent to MP4 at the env's frame rate (Ctrl+R)"
        )
        self.record_button.setCheckable(True)
        self.screenshot_button = _button("Screenshot", "save the frame on screen as PNG (Ctrl+P)")
        self.record_panels_check = QCheckBox("Panels in video")
        self.record_panels_check.setToolTip(
            "composite the attention heatmap and memory timeline beside the frame"
        )
        self.record_panels_check.setChecked(True)
        self.media_dir_button = _button("Output folder…", "where screenshots and videos go")
        self.media_label = QLabel()
        self.media_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )  # long paths clip

        run = QGroupBox("Run")
        form = QFormLayout()
        form.addRow("Scene", self.scene_box)
        form.addRow("Agent", self.agent_box)
        form.addRow("Preset", self.preset_box)
        train_buttons = QGridLayout()
        train_buttons.addWidget(self.train_button, 0, 0)
        train_buttons.addWidget(self.train_pause_button, 0, 1)
        train_buttons.addWidget(self.train_resume_button, 1, 0)
        train_buttons.addWidget(self.train_stop_button, 1, 1)
        run_layout = QVBoxLayout(run)
        run_layout.addLayout(form)
        run_layout.addLayout(train_buttons)
        run_layout.addWidget(self.training_label)

        watch = QGroupBox("Watch")
        watch_buttons = QGridLayout()
        watch_buttons.addWidget(self.play_button, 0, 0)
        watch_buttons.addWidget(self.pause_button, 0, 1)
        watch_buttons.addWidget(self.step_button, 1, 0)
        watch_buttons.addWidget(self.reset_button, 1, 1)
        watch_buttons.addWidget(self.unpin_button, 2, 0, 1, 2)
        speed_form = QFormLayout()
        speed_form.addRow("Speed", self.speed_box)
        speed_form.addRow("Compare with", self.compare_box)
        watch_layout = QVBoxLayout(watch)
        watch_layout.addLayout(watch_buttons)
        watch_layout.addLayout(speed_form)
        watch_layout.addWidget(self.deterministic_check)
        watch_layout.addWidget(self.follow_check)
        watch_layout.addWidget(self.track_check)

        files = QGroupBox("Files")
        file_buttons = QGridLayout()
        file_buttons.addWidget(self.open_checkpoint_button, 0, 0)
        file_buttons.addWidget(self.save_checkpoint_button, 0, 1)
        file_buttons.addWidget(self.open_run_button, 1, 0)
        file_buttons.addWidget(self.media_dir_button, 1, 1)
        file_buttons.addWidget(self.record_button, 2, 0)
        file_buttons.addWidget(self.screenshot_button, 2, 1)
        files_layout = QVBoxLayout(files)
        files_layout.addLayout(file_buttons)
        files_layout.addWidget(self.record_panels_check)
        files_layout.addWidget(self.media_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(run)
        layout.addWidget(watch)
        layout.addWidget(files)
        layout.addStretch(1)

    def speed(self) -> float | None:
        return self.speed_box.currentData()

    def set_compare_choices(self, choices: list[tuple[str, str | None]], current: str | None) -> None:
        """The compare picker's (label, what `--compare` takes) items, `current` selected (signals blocked: it
        shows the session, it is not the user choosing). The last item opens a file dialog."""
        box = self.compare_box
        box.blockSignals(True)
        box.clear()
        for label, spec in choices:
            box.addItem(label, spec)
        if current is not None and box.findData(current) < 0:
            box.addItem(current, current)  # a checkpoint or run opened to compare
        box.addItem(PICK_FILE_TO_COMPARE, PICK_FILE_TO_COMPARE)
        box.setCurrentIndex(max(0, box.findData(current)))
        box.blockSignals(False)
