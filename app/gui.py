"""`run_gui`: the desktop app's entry point (`python main.py gui ...` calls it).

MuJoCo picks its GL backend when `mujoco` is first imported: the player renders offscreen in its own
thread, which needs EGL (GLFW contexts want the main thread), so set `MUJOCO_GL=egl` before anything imports
mujoco. This module does it for callers that import it first.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import ctypes
import functools
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from agents.checkpoints import load_checkpoint
from agents.compare import resolve_compare
from agents.config import config_from_dict
from app import qt_compat  # noqa: F401  (before any Qt call)
from app.gui_thread_gc import delete_window
from app.main_window import APPLICATION, ORGANIZATION, MainWindow
from app.session import Session

DEFAULT_SCREENSHOT_DELAY_S = 5.0
# The GIL hand-over interval while the window runs (CPython's default is 5 ms). Painting a pyqtgraph panel
# calls back into Python dozens of times, and each call back waits for the GIL while the player thread
# computes; a shorter interval keeps the window responsive (bench/bench_gui.py, measured when the trainer was
# a third thread: event-loop latency p95 51 -> 41 ms, viewport 36 -> 44 frames/s on 2 busy cores).
GUI_SWITCH_INTERVAL_S = 0.001

# The system libraries Qt's xcb platform plugin (PySide6's libqxcb.so and libQt6XcbQpa.so.6) links and does not
# ship, with the Debian / Ubuntu package of each (`ldd` of both, `dpkg -S`). A minimal image lacks some (a
# Debian 12 container with xvfb and xdotool installed lacked libxcb-icccm4 and libxcb-keysyms1), and Qt then
# aborts with "Could not load the Qt platform plugin xcb" and no word of which.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
}


def platform_is_xcb(environ: Mapping[str, str]) -> bool:
    """Whether Qt will load its xcb plugin: Linux, with QT_QPA_PLATFORM unset or xcb (a Wayland session tries
    wayland first; offscreen, minimal or vnc load nothing of X)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    return not (environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland")


def missing_libraries(
    libraries: Mapping[str, str], load: Callable[[str], object] = ctypes.CDLL
) -> dict[str, str]:
    """The libraries of `libraries` (soname -> package) that the dynamic loader cannot load here."""
    missing = {}
    for soname, package in libraries.items():
        try:
            load(soname)
        except OSError:
            missing[soname] = package
    return missing


def xcb_problem(missing: Mapping[str, str]) -> str | None:
    """One line naming the missing libraries and the apt-get line that installs them; None if none is."""
    if not missing:
        return None
    return (
        f"engram: the Qt xcb plugin cannot load: missing {', '.join(missing)}; "
        f"install: apt-get install {' '.join(dict.fromkeys(missing.values()))}"
    )


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
    device: str = "auto",
    compare: str | None = None,
) -> int:
    """Open the window and run the event loop; returns the exit code.

    `scene` / `agent` / `preset` None: the last ones used (else halfcheetah-vel / trmrl / fast).
    `checkpoint`: a checkpoint file or run directory to watch. `screenshot`: after `quit_after` seconds (5 if
    not given) save the whole window there as PNG, then close. `quit_after` alone closes after that long
    (finite and >= 0: `main.py gui` checks it).
    `train`: start training at once (smoke tests, README screenshots). `device`: where runs started from the
    window train (`--device`; the player acts on the CPU). `compare`: what `--compare` takes (agents/compare.py),
    checked before the window opens (UserError, one line).
    """
    if QApplication.instance() is None and platform_is_xcb(os.environ):
        problem = xcb_problem(missing_libraries(XCB_LIBRARIES))
        if problem:  # said here in one line: Qt would abort the process without naming the library
            print(problem, file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    if compare is not None:
        compare = resolve_compare(compare, *_watched(scene, agent, preset, checkpoint, settings))
    window = MainWindow(
        scene,
        agent,
        preset,
        checkpoint,
        settings=settings,
        runs_root=runs_root,
        config_overrides={"device": device, **(config_overrides or {})},
        compare=compare,
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
        if window.shutdown() or window.wait_for_workers():
            # Its Qt objects now, not in the collector's order at exit (app/gui_thread_gc.py).
            delete_window(window)
        else:
            outcome["code"] = outcome["code"] or 1
    return outcome["code"]


def _watched(
    scene: str | None,
    agent: str | None,
    preset: str | None,
    checkpoint: str | None,
    settings: QSettings | None,
) -> tuple[str, str]:
    """The scene and agent the window opens with (what `--compare` must fit): the checkpoint's, else the
    choices given or restored as the window restores them."""
    if checkpoint is not None:
        config = config_from_dict(load_checkpoint(checkpoint)["config"], f"the checkpoint {checkpoint}")
        return config.scene, config.agent
    session = Session()
    session.restore(
        settings if settings is not None else QSettings(ORGANIZATION, APPLICATION), scene, agent, preset
    )
    return session.scene, session.agent


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
