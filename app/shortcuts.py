"""The window's keyboard shortcuts, as in MuJoCo's viewer: Space play / pause, → step, Backspace reset,
Ctrl+P screenshot, Ctrl+R record, + and - speed, Ctrl+Q quit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut

if TYPE_CHECKING:  # the window imports this module to install its shortcuts
    from app.main_window import MainWindow


def install_shortcuts(window: MainWindow) -> None:
    """The shortcuts, application-wide: they act whichever dock or widget has the focus (each is
    the window's child: Qt keeps it)."""
    for keys, slot in (
        (Qt.Key.Key_Space, window.toggle_player),
        (Qt.Key.Key_Right, window.step_player),
        (Qt.Key.Key_Backspace, window.reset_player),
        (QKeySequence("Ctrl+P"), window.media.take_screenshot),
        (QKeySequence("Ctrl+R"), window.media.toggle_recording),
        (QKeySequence("Ctrl+Q"), window.close),  # Quit: the same as closing the window (training saves)
        (Qt.Key.Key_Plus, window.faster),
        (Qt.Key.Key_Equal, window.faster),
        (Qt.Key.Key_Minus, window.slower),
    ):
        shortcut = QShortcut(QKeySequence(keys), window)
        shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        shortcut.activated.connect(slot)
