"""Following a run directory that another process is writing (a torchrun job, a headless `train`). Qt-free.

The window polls it: `new_rows` returns the metrics rows appended since the last call (reading only the bytes
added, so a long run's metrics.csv is not re-parsed every poll), and `new_checkpoint` returns the newest
`latest.pt` once per write (the trainer replaces it atomically, so a changed file is a whole one). A
metrics.csv that is another file than before (a resume rewrites it atomically, keeping the rows up to its
checkpoint) or that shrank is read again from the top and its rows reported anew.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from agents.checkpoints import CheckpointError, load_checkpoint
from agents.run_log import metric_values


class RunFollower:
    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.metrics_path = self.run_dir / "metrics.csv"
        self.checkpoint_path = self.run_dir / "checkpoints" / "latest.pt"
        self._offset = 0
        self._file_id: tuple[int, int] | None = None
        self._header: list[str] | None = None
        self._checkpoint_stamp: tuple[int, int] | None = None
        self.restarted = False  # the last `new_rows` began again from the top (the run was resumed)

    def new_rows(self) -> list[dict[str, float]]:
        """Rows appended since the last call (whole lines only: a row being written waits for the next)."""
        self.restarted = False
        try:
            stat = self.metrics_path.stat()
        except FileNotFoundError:
            return []
        file_id = (stat.st_dev, stat.st_ino)
        if self._file_id is not None and (file_id != self._file_id or stat.st_size < self._offset):
            self._offset, self._header, self.restarted = 0, None, True  # rewritten by a resume
        self._file_id = file_id
        with self.metrics_path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        lines = complete.decode("utf-8", errors="replace").splitlines()
        if self._header is None and lines:
            self._header = next(csv.reader([lines[0]]))
            lines = lines[1:]
        if not lines or self._header is None:
            return []
        return [
            metric_values(row)
            for row in csv.DictReader(io.StringIO("\n".join(lines)), fieldnames=self._header)
        ]

    def new_checkpoint(self) -> dict[str, Any] | None:
        """The latest checkpoint if it was written since the last call; None if unchanged, absent or unusable
        (a file caught mid-replace is read at the next poll)."""
        try:
            stat = self.checkpoint_path.stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._checkpoint_stamp:
            return None
        try:
            payload = load_checkpoint(self.checkpoint_path)
        except CheckpointError:
            return None
        self._checkpoint_stamp = stamp
        return payload
