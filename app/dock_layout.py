"""The window's docks and their layout: adding a dock, the first-run sizes, and the window's geometry and dock
layout kept between launches (QSettings)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

FIRST_RUN_SIZE = (1600, 1000)  # the window's size when no geometry was saved
# Raised whenever docks are added or regrouped: a layout saved by an older window left the new docks wherever
# Qt put them (a signals dock split beside the curves, the Memory dock out of its tab), so it is not restored.
LAYOUT_VERSION = 2


def add_dock(
    window: QMainWindow, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea
) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock-{name}")  # saveState / restoreState identify docks by name
    dock.setWidget(widget)
    window.addDockWidget(area, dock)
    return dock


def tab_docks_for_first_run(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The first-run tab groups, made once the window is shown: tabbed before, Qt (6.12) left the second
    group's first tab bar behind, drawn where the group had been (over the task editor) for good."""
    # The episode signals in front of the training curves: adapting to an edit is what the window opens on.
    window.tabifyDockWidget(docks["curves"], docks["signals"])
    # A tab behind the timeline: one click away, and hidden (no probes, no memory handed over) until then.
    # Tabbed into the timeline's place (the second dock joins the first's), the timeline's tab in front.
    window.tabifyDockWidget(docks["timeline"], docks["memory"])
    docks["timeline"].raise_()


def size_docks_for_first_run(window: QMainWindow, docks: dict[str, QDockWidget], controls: QWidget) -> None:
    """The first-run layout: the viewport gets the most room (docks only get sizes once shown). `controls`:
    the run controls' form, shown whole."""
    width, height = window.width(), window.height()
    window.resizeDocks(
        [docks["controls"], docks["attention"]],
        [max(340, width // 5), max(420, round(width * 0.3))],
        Qt.Orientation.Horizontal,
    )
    window.resizeDocks([docks["curves"]], [max(240, round(height * 0.3))], Qt.Orientation.Vertical)
    controls_height = controls.sizeHint().height() + 60  # the whole form (and the title bar), no scrolling
    window.resizeDocks(
        [docks["controls"], docks["task"]],
        [controls_height, max(height - controls_height, 150)],
        Qt.Orientation.Vertical,
    )
    window.resizeDocks(
        [docks["attention"], docks["timeline"]],
        [round(height * 0.45), round(height * 0.55)],
        Qt.Orientation.Vertical,
    )


def restore_window_layout(window: QMainWindow, settings: QSettings) -> bool:
    """The geometry and dock layout saved at the last close; False when there was no dock layout to restore
    (the first-run sizes are then due once the window is shown)."""
    geometry, state = settings.value("window/geometry"), settings.value("window/state")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    else:
        window.resize(*FIRST_RUN_SIZE)
    return isinstance(state, QByteArray) and window.restoreState(state, LAYOUT_VERSION)


def save_window_layout(window: QMainWindow, settings: QSettings) -> None:
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState(LAYOUT_VERSION))
