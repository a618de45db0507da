"""`run_gui`: the desktop app's entry point (`python main.py gui ...` calls it).

MuJoCo picks its GL backend when `mujoco` is first imported: the player renders offscreen in its own
thread, which needs EGL (GLFW contexts want the main thread), so set `MUJOCO_GL=egl` before anything imports
mujoco. This module does it for callers that import it first.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import functools
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app import qt_compat  # noqa: F401  (before any Qt call)
from app.main_window import APPLICATION, ORGANIZATION, MainWindow

DEFAULT_SCREENSHOT_DELAY_S = 5.0
# The GIL hand-over interval while the window runs (CPython's default is 5 ms). Painting a pyqtgraph panel
# calls back into Python dozens of times, and each call back waits for the GIL while the player thread
# computes; a shorter interval keeps the window responsive (bench/bench_gui.py, measured when the trainer was
# a third thread: event-loop latency p95 51 -> 41 ms, viewport 36 -> 44 frames/s on 2 busy cores).
GUI_SWITCH_INTERVAL_S = 0.001


def run_gui(
    scene: str | None = None,
    agent: str | None = None,
    checkpoint: str | None = None,
    screenshot: str | None = None,
    quit_after: float | None = None,
    *,
    preset: str | None = None,
    train: bool = False,
    settings: QSettings | None = None,
    runs_root: str | Path = "runs",
    config_overrides: dict[str, Any] | None = None,
) -> int:
    """Open the window and run the event loop; returns the exit code.

    `scene` / `agent` / `preset` None: the last ones used (else halfcheetah-vel / trmrl / fast).
    `checkpoint`: a checkpoint file or run directory to watch. `screenshot`: after `quit_after` seconds (5 if
    not given) save the whole window there as PNG, then close. `quit_after` alone closes after that long
    (finite and >= 0: `main.py gui` checks it).
    `train`: start training at once (smoke tests, README screenshots).
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    window = MainWindow(
        scene,
        agent,
        preset,
        checkpoint,
        settings=settings,
        runs_root=runs_root,
        config_overrides=config_overrides,
    )
    window.show()
    if train:
        QTimer.singleShot(0, window.train)
    outcome = {"code": 0}
    if screenshot is not None or quit_after is not None:
        delay = quit_after if quit_after is not None else DEFAULT_SCREENSHOT_DELAY_S
        QTimer.singleShot(round(delay * 1000), functools.partial(_finish, window, screenshot, outcome))

    previous_hook = sys.excepthook
    sys.excepthook = functools.partial(_show_exception, window, previous_hook)
    try:
        app.exec()
    finally:
        sys.excepthook = previous_hook
        sys.setswitchinterval(previous_interval)
        # Closes the workers even if the loop ended without a close event; a PPO update in progress is
        # waited for (its iteration is already saved), so the run's files end consistent.
        if not window.shutdown() and not window.wait_for_workers():
            outcome["code"] = outcome["code"] or 1
    return outcome["code"]


def _finish(window: MainWindow, screenshot: str | None, outcome: dict[str, int]) -> None:
    if screenshot is not None:
        try:
            path = window.save_window_image(screenshot)
            print(f"engram: screenshot saved to {path}", file=sys.stderr)
        except OSError as error:
            print(f"engram: {error}", file=sys.stderr)
            outcome["code"] = 1
    window.close()
    QApplication.quit()


def _show_exception(
    window: MainWindow,
    previous: Any,
    kind: type[BaseException],
    error: BaseException,
    tb: TracebackType | None,
) -> None:
    """An exception escaping a GUI slot: print it and show it in the window, which stays usable."""
    traceback.print_exception(kind, error, tb)
    try:
        window.banner.show_message(f"{kind.__name__}: {error}")
    except RuntimeError:  # the window is gone
        previous(kind, error, tb)
