"""The error banner above the viewport, where the window says what failed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.theme import ERROR


class Banner(QFrame):
    """A dismissable line above the viewport saying what failed in a worker; the app stays usable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet(f"#errorBanner {{ background: {ERROR}; }} QLabel {{ color: white; }}")
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._dismiss = QPushButton("Dismiss")
        self._dismiss.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._dismiss)
        self.hide()

    def show_message(self, text: str) -> None:
        self._label.setText(text)
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self._label.text()
