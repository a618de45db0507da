"""Before the window: a missing xcb library is one line naming it and its package, not Qt's abort."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import PySide6
import pytest

from app.gui import XCB_LIBRARIES, missing_libraries, platform_is_xcb, xcb_problem

QT = Path(PySide6.__file__).parent / "Qt"
XCB_PLUGIN_FILES = (QT / "plugins" / "platforms" / "libqxcb.so", QT / "lib" / "libQt6XcbQpa.so.6")


def test_missing_libraries_are_named_with_the_packages_that_install_them() -> None:
    absent = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}

    def load(soname: str) -> None:
        if soname in absent:
            raise OSError(f"{soname}: cannot open shared object file")

    missing = missing_libraries(XCB_LIBRARIES, load)
    assert missing == {"libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1"}
    assert xcb_problem(missing) == (
        "engram: the Qt xcb plugin cannot load: missing libxcb-icccm.so.4, libxcb-keysyms.so.1; "
        "install: apt-get install libxcb-icccm4 libxcb-keysyms1"
    )
    assert xcb_problem(missing_libraries(XCB_LIBRARIES, lambda soname: None)) is None


def test_only_an_xcb_platform_is_checked() -> None:
    linux = sys.platform.startswith("linux")
    assert platform_is_xcb({"DISPLAY": ":0"}) == linux
    assert platform_is_xcb({"QT_QPA_PLATFORM": "xcb"}) == linux
    assert not platform_is_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not platform_is_xcb({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"})


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("ldd") is None, reason="Linux, ldd")
def test_the_list_is_what_the_plugin_links_and_the_check_agrees_with_ldd() -> None:
    """Every system library the two plugin files need is in the list (a library PySide6 ships is not), and
    ctypes finds missing exactly what ldd reports "not found"."""
    needed: set[str] = set()
    not_found: set[str] = set()
    for path in XCB_PLUGIN_FILES:
        for line in subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, check=True
        ).stdout.splitlines():
            name, _, where = line.strip().partition(" => ")
            if name.startswith(("libxcb", "libxkb", "libX11", "libEGL", "libGL.", "libfontconfig", "libfreetype",
                                "libdbus", "libglib")):  # fmt: skip
                needed.add(name)
                if where.startswith("not found"):
                    not_found.add(name)
    assert needed <= set(XCB_LIBRARIES)
    assert set(missing_libraries(XCB_LIBRARIES)) == not_found
