"""The live viewport: shows the newest frame the player rendered and turns mouse gestures into camera signals.

The player owns the camera (its thread owns the renderer), so the viewport only reports gestures, in the
MuJoCo viewer's conventions: left-drag orbits, right-drag (or shift + left-drag) pans, the wheel zooms and a
double-click resets the camera.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QWidget

_BACKGROUND = QColor(16, 16, 16)
_FPS_WINDOW_S = 1.0


class Viewport(QWidget):
    """Paints the newest RGB frame scaled to fit, keeping its aspect ratio (letterboxed), and an FPS readout.

    Drag deltas are in units of the shown frame's height (MuJoCo's `mjv_moveCamera` takes dx / height and
    dy / height), with y growing downwards; `zoom` is in wheel notches, positive when the wheel turns away
    from the user (zoom in; the MuJoCo viewer moves the camera by -0.05 per notch).
    """

    orbit = Signal(float, float)
    pan = Signal(float, float)
    zoom = Signal(float)
    camera_reset = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The frame is painted over the whole widget (bars included), so Qt need not clear it first.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._frame: np.ndarray | None = None  # keeps the buffer `_image` points into alive
        self._image = QImage()
        self._serial = 0  # frames set
        self._painted_serial = 0  # newest frame painted
        self._shown_at: deque[float] = deque()
        self._drag: str | None = None  # "orbit" or "pan" while a button is held
        self._last_pos = QPoint()
        self._caption = ""  # compare mode: which agent this view shows
        # Repaints the readout when frames stop arriving, so a paused player does not show a stale rate.
        self._fps_timer = QTimer(self)
        self._fps_timer.setInterval(500)
        self._fps_timer.timeout.connect(self._refresh_fps)
        self._fps_timer.start()

    # ------------------------------------------------------------------------------------------- frames

    def set_frame(self, frame: np.ndarray) -> None:
        """Show `frame` ((H, W, 3) uint8 RGB) at the next paint, replacing any frame not yet painted.

        The array is shown without a copy: the caller hands it over and must not write into it afterwards.
        """
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame must be an (H, W, 3) uint8 array, got {frame.shape} {frame.dtype}")
        frame = np.ascontiguousarray(frame)
        height, width, _ = frame.shape
        self._frame = frame
        self._image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        self._serial += 1
        self.update()

    def set_caption(self, text: str) -> None:
        """A label drawn at the top of the view (compare mode names the agent each viewport shows)."""
        if text != self._caption:
            self._caption = text
            self.update()

    def grab_frame(self) -> np.ndarray | None:
        """A copy of the frame on screen, at its own resolution (for screenshots); None before the first."""
        return None if self._frame is None else self._frame.copy()

    def frame_rect(self) -> QRect:
        """Where the frame is drawn: the largest rectangle of the frame's aspect ratio that fits, centred."""
        if self._image.isNull():
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        return QRect(QPoint(x, y), size)

    # ------------------------------------------------------------------------------------------ readout

    def fps(self) -> float:
        """Frames shown (painted) during the last second."""
        cutoff = time.monotonic() - _FPS_WINDOW_S
        while self._shown_at and self._shown_at[0] < cutoff:
            self._shown_at.popleft()
        return len(self._shown_at) / _FPS_WINDOW_S

    def _refresh_fps(self) -> None:
        if self._shown_at:
            self.update(self._fps_rect())

    def _fps_rect(self) -> QRect:
        return QRect(6, 6, 72, 20)

    # ---------------------------------------------------------------------------------------- painting

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 120)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        target = self.frame_rect()
        if target.isNull():
            painter.fillRect(self.rect(), _BACKGROUND)
        else:
            # Only the letterbox bars need clearing: the frame covers the rest.
            for bar in _bars(self.rect(), target):
                painter.fillRect(bar, _BACKGROUND)
            if target.size() != self._image.size():
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
            if self._painted_serial != self._serial:
                self._painted_serial = self._serial
                self._shown_at.append(time.monotonic())
        box = self._fps_rect()
        painter.fillRect(box, QColor(0, 0, 0, 150))
        painter.setPen(QColor(230, 230, 230))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, f"{self.fps():.0f} fps")
        if self._caption:
            caption = painter.fontMetrics().boundingRect(self._caption).adjusted(-8, -3, 8, 3)
            caption.moveTopLeft(QPoint(box.right() + 6, box.top()))
            caption.setHeight(box.height())
            painter.fillRect(caption, QColor(0, 0, 0, 150))
            painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, self._caption)
        painter.end()

    # ------------------------------------------------------------------------------------------- mouse

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if button == Qt.MouseButton.LeftButton:
            self._drag = "pan" if shift else "orbit"
        elif button == Qt.MouseButton.RightButton:
            self._drag = "pan"
        else:
            return super().mousePressEvent(event)
        self._last_pos = event.position().toPoint()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            return super().mouseMoveEvent(event)
        pos = event.position().toPoint()
        delta = pos - self._last_pos
        self._last_pos = pos
        scale = float(self.frame_rect().height() or self.height() or 1)
        dx, dy = delta.x() / scale, delta.y() / scale
        if dx or dy:
            (self.orbit if self._drag == "orbit" else self.pan).emit(dx, dy)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.camera_reset.emit()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.zoom.emit(notches)
        event.accept()


def _bars(outer: QRect, inner: QRect) -> list[QRect]:
    """The letterbox (or pillarbox) bars: `outer` minus the centred `inner`."""
    if inner.width() < outer.width():
        return [
            QRect(0, 0, inner.left(), outer.height()),
            QRect(inner.right() + 1, 0, outer.width() - inner.right() - 1, outer.height()),
        ]
    return [
        QRect(0, 0, outer.width(), inner.top()),
        QRect(0, inner.bottom() + 1, outer.width(), outer.height() - inner.bottom() - 1),
    ]
