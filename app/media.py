"""Frames in and out of Qt: PNG screenshots, and the panel strip composited into recordings (GUI thread)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

_STRIP_BACKGROUND = QColor(16, 16, 16)


def array_to_qimage(frame: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns a copy of the pixels."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    height, width, _ = frame.shape
    return QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage as an (H, W, 3) uint8 RGB array (a copy; rows may be padded in the QImage)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : 3 * width].reshape(height, width, 3).copy()


def save_png(frame: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The stub types format as bytes, but PySide6 refuses bytes here at runtime and takes the str "PNG".
    if not array_to_qimage(frame).save(str(path), "PNG"):  # type: ignore[call-overload]
        raise OSError(f"could not write {path}")
    return path


def panel_strip(widgets: Sequence[QWidget], width: int, height: int) -> np.ndarray:
    """The widgets as they look now, stacked top to bottom and scaled (aspect kept) into width × height."""
    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(_STRIP_BACKGROUND)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    cell = height // max(len(widgets), 1)
    for i, widget in enumerate(widgets):
        pixmap = widget.grab()
        if pixmap.isNull():
            continue
        size = pixmap.size().scaled(width, cell, Qt.AspectRatioMode.KeepAspectRatio)
        x = (width - size.width()) // 2
        y = i * cell + (cell - size.height()) // 2
        painter.drawPixmap(QRect(x, y, size.width(), size.height()), pixmap)
    painter.end()
    return qimage_to_array(image)


def timestamped(directory: str | Path, prefix: str, suffix: str) -> Path:
    """`directory/<prefix>-<YYYYmmdd-HHMMSS><suffix>`, made unique with a counter."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(directory) / f"{prefix}-{stamp}{suffix}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{prefix}-{stamp}-{n}{suffix}")
    return path
