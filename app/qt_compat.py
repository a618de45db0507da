"""Work-arounds for the Qt binding in use; imported by `app` and by every module that starts Qt."""

from __future__ import annotations

import ctypes
import sys

# PySide6 6.12 built for the stable ABI returns these singletons without taking a reference in places:
# every call of a void C++ method (`QRectF.setLeft`, `QTimer.setInterval`...) steals one reference from
# None, and every `Signal.emit()` steals one from True (its return value). From CPython 3.12 on these
# objects are immortal (PEP 683) and nothing happens; on 3.11 their counts fall to zero within seconds to
# minutes of a window redrawing plots and emitting signals, and the interpreter aborts ("Fatal Python
# error: none_dealloc" / "bool_dealloc"). Measured here: pyqtgraph's `PlotDataItem.setData` steals about
# 200 references from None and 9 from True per call.
SINGLETONS = (None, True, False)
EXTRA_REFERENCES = 1 << 40  # years of redrawing at any plausible rate


def keep_singletons_alive() -> None:
    """Give None, True and False 2**40 extra references: immortal in practice, as from 3.12 on.

    Only on a release build of CPython < 3.12 (whose object header starts with the reference count), and
    once per process."""
    if (
        sys.implementation.name != "cpython"
        or sys.version_info >= (3, 12)
        or hasattr(sys, "gettotalrefcount")  # a debug build: another object header
        or sys.getrefcount(None) > EXTRA_REFERENCES  # done already (e.g. by a second copy of this module)
    ):
        return
    for obj in SINGLETONS:
        ctypes.c_ssize_t.from_address(id(obj)).value += EXTRA_REFERENCES


keep_singletons_alive()
