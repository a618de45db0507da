"""Python's cyclic garbage collection kept on the GUI thread while a window lives.

The collector runs in whichever thread happens to allocate when a threshold is crossed. A Qt object in a
reference cycle (pyqtgraph's plot items, a rebuilt panel, a closed window's widgets) collected in the trainer's
relay thread or the player thread is destroyed off the GUI thread: PySide then waits for the GIL inside Qt's
destructor while the GUI thread waits for Qt, and the window hangs (seen in CI: the relay thread stuck in
`QObject::~QObject` during an unpickle). As pyqtgraph's `GarbageCollector` does, automatic collection is off
while a window exists, and a timer on the GUI thread collects the generations whose thresholds were crossed.

A closed window left to the collector is the other hazard: the collector clears the Python side of its
pyqtgraph items in any order, and an item whose `__dict__` is already gone is still asked for its
`boundingRect` by Qt when its parent's C++ destructor detaches it (bench_gui's second window segfaulted in
that error path). `delete_window` deletes the C++ tree first, in Qt's own order, while every Python object
is still whole; what the collector frees afterwards holds no C++ object.
"""

from __future__ import annotations

import gc

import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

COLLECT_INTERVAL_MS = 1000

_windows_alive = 0  # automatic collection is back on when the last window's collector stops
_was_enabled = True


class GuiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        global _windows_alive, _was_enabled
        super().__init__(parent)
        if _windows_alive == 0:
            _was_enabled = gc.isenabled()
        _windows_alive += 1
        gc.disable()
        self._running = True
        self._timer = QTimer(self)
        self._timer.setInterval(COLLECT_INTERVAL_MS)
        self._timer.timeout.connect(self.collect)
        self._timer.start()

    def collect(self) -> None:
        """Collect what the automatic collector would have by now (the youngest generations first)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for index in range(3):
            if counts[index] > thresholds[index]:
                generation = index
            else:
                break
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        """The window is closing: collect now, here, and give collection back to Python after the last one."""
        global _windows_alive
        if not self._running:
            return
        self._running = False
        self._timer.stop()
        gc.collect()
        _windows_alive -= 1
        if _windows_alive == 0 and _was_enabled:
            gc.enable()


def delete_window(window: QWidget) -> None:
    """Delete a closed top-level window's Qt objects now, parents before children, on the GUI thread: what
    a process that opens several windows (benchmarks, tests) does before dropping one."""
    if shiboken6.isValid(window):
        shiboken6.delete(window)
