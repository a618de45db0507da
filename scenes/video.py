"""MP4 writing with the FFmpeg that `imageio-ffmpeg` ships (no system FFmpeg needed).

Frames go to a temporary file next to the target (`.NAME.partial.mp4`), renamed over it when the writer
closes, so an interrupted recording never leaves a half-written file under the requested name. The MP4 is
fragmented (a fragment per second, at each keyframe): a recording whose process was killed (kill -9, power
loss) is playable up to its last second. Its partial file is recovered as `NAME-recovered.mp4` the next time a
recording starts in that folder; a writer holds a lock on its partial file, so a recording in progress (in
this process or another) is never taken for a dead one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import Any

import imageio_ffmpeg
import numpy as np

from scenes.errors import UserError

try:  # POSIX advisory locks; elsewhere only a recording's own earlier partial file is recovered
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PARTIAL_SUFFIX = ".partial.mp4"


def check_video_path(path: str | Path) -> Path:
    """`path` as a Path if a video can be written there: a file name ending in .mp4; ValueError otherwise."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a directory; name the .mp4 file to write in it")
    if path.suffix.lower() != ".mp4":
        raise UserError(f"videos are written as MP4: {path} must end in .mp4")
    return path


class VideoWriter:
    """H.264 / yuv420p MP4 (plays everywhere); frames are (H, W, 3) uint8 of one fixed, even size."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        width, height = size
        if width % 2 or height % 2:
            raise UserError(f"video size must be even for yuv420p, got {width}x{height}")
        self.path = check_video_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.fps = fps
        self.frames = 0
        self._tmp = self.path.with_name(f".{self.path.stem}{PARTIAL_SUFFIX}")
        recover_partial_videos(self.path.parent)
        self._tmp.touch()
        self._lock = self._tmp.open("rb")  # held while recording: see recover_partial_videos
        if fcntl is not None:
            fcntl.flock(self._lock, fcntl.LOCK_SH)
        self._writer: Any = imageio_ffmpeg.write_frames(
            str(self._tmp),
            size,
            fps=fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=7,
            macro_block_size=2,
            ffmpeg_log_level="error",
            # A keyframe every second, each starting a fragment: what a killed recording keeps.
            output_params=[
                "-g",
                str(max(1, round(fps))),
                "-movflags",
                "frag_keyframe+empty_moov+default_base_moof",
            ],
        )
        self._writer.send(None)  # start the generator (and the ffmpeg process)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.size[1], self.size[0], 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be ({self.size[1]}, {self.size[0]}, 3) uint8, got {frame.shape} {frame.dtype}"
            )
        self._writer.send(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            os.replace(self._tmp, self.path)
            self._lock.close()
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._tmp.unlink(missing_ok=True)
            self._lock.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None or kind is KeyboardInterrupt:
            self.close()  # an interrupted recording keeps what was recorded
        else:
            self.abort()


def recover_partial_videos(folder: str | Path) -> list[Path]:
    """Rename the partial files of dead recordings in `folder` to `NAME-recovered.mp4` (a number added if
    taken); returns the recovered paths. A partial file whose writer is alive is locked and left alone."""
    recovered = []
    for partial in Path(folder).glob(f".*{PARTIAL_SUFFIX}"):
        try:
            handle = partial.open("rb")
        except OSError:
            continue
        with handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # a recording in progress
                    continue
            stem = partial.name[1 : -len(PARTIAL_SUFFIX)]
            target = partial.with_name(f"{stem}-recovered.mp4")
            for n in range(2, 1000):
                if not target.exists():
                    break
                target = partial.with_name(f"{stem}-recovered-{n}.mp4")
            if partial.stat().st_size == 0:  # killed before the first frame: nothing to keep
                with contextlib.suppress(OSError):
                    partial.unlink()
                continue
            os.replace(partial, target)
            recovered.append(target)
    return recovered


def read_video(path: str | Path) -> tuple[list[np.ndarray], dict[str, Any]]:
    """All frames of a video and its metadata (fps, size) — used by tests to check what was written."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(buf, np.uint8).reshape(height, width, 3) for buf in reader]
    return frames, meta
