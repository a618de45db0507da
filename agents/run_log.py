"""A run directory's files besides checkpoints: its layout, config.toml, metrics.csv and TensorBoard. Qt-free.

```
runs/<scene>-<agent>-<time>/
  config.toml    the fully resolved config (agents/config.py)
  metrics.csv    one row per iteration: METRIC_KEYS, the scene's score keys, per-episode-index columns
  tensorboard/   the same numbers against env steps
  checkpoints/   latest.pt, best.pt (written by the Trainer)
  videos/        recordings
```
The Trainer owns one `RunLog` on rank 0; `read_metrics` reads a run back (the GUI's curves, `bench/results.py`).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import IO

from tensorboardX import SummaryWriter

from agents.checkpoints import write_atomically
from agents.config import TrainConfig, write_config
from agents.statistics import episodes_in_trial
from scenes.base import Scene

METRIC_KEYS = (
    "iteration",
    "env_steps",
    "time_s",
    "trial_return",
    "episodes_per_trial",
    "success_rate",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "update_epochs",
    "nan_skipped",
    "sps",
    "rollout_s",
    "update_s",
    "sync_s",
)


def metric_columns(scene: Scene) -> list[str]:
    """metrics.csv's columns for a run on `scene`: METRIC_KEYS, its score keys, then per episode index k the
    return, success (where the scene has one) and each score."""
    episodes = range(episodes_in_trial(scene))
    columns = [*METRIC_KEYS, *scene.score_keys, *(f"episode_return/{k}" for k in episodes)]
    if scene.success_key is not None:
        columns += [f"success/{k}" for k in episodes]
    for key in scene.score_keys:
        columns += [f"{key}/{k}" for k in episodes]
    return columns


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """A metrics.csv (a run's, or a pretrained agent's copy) as one dict of numbers per iteration; empty cells
    (a column an iteration did not log) and non-numeric ones are left out."""
    with Path(path).open(newline="") as f:
        return [metric_values(row) for row in csv.DictReader(f)]


def metric_values(row: dict[str, str]) -> dict[str, float]:
    """One metrics.csv row as numbers; empty and non-numeric cells left out."""
    values = {}
    for key, text in row.items():
        if key is None or text in (None, ""):
            continue
        try:
            values[key] = float(text)
        except ValueError:
            continue
    return values


def new_run_dir(config: TrainConfig, root: str | Path = "runs") -> Path:
    """Create and return `<root>/<scene>-<agent>-<time>/`, with a suffix if that name is taken. Created here,
    not at the first iteration, so two runs started within a second (a loop over seeds) never share one."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{config.scene}-{config.agent}-{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")


class RunLog:
    """Writes a run directory's metrics.csv and TensorBoard rows; opened at the run's first iteration."""

    def __init__(self, run_dir: Path, columns: list[str]) -> None:
        self.run_dir = run_dir
        self.columns = columns
        self._csv_file: IO[str] | None = None
        self._csv: csv.DictWriter[str] | None = None
        self._tb: SummaryWriter | None = None

    def open(self, config: TrainConfig, iteration: int) -> None:
        """Create the layout, remove checkpoint temporaries a killed write left, write config.toml and open
        metrics.csv / TensorBoard to append after `iteration` (the checkpoint's, on a resume). Idempotent."""
        if self._csv_file is not None:
            return
        for sub in ("checkpoints", "videos", "tensorboard"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        for stale in (self.run_dir / "checkpoints").glob(".*.tmp"):  # a write killed mid-way (kill -9)
            with suppress(OSError):
                stale.unlink()
        write_config(config, self.run_dir / "config.toml")
        path = self.run_dir / "metrics.csv"
        kept: list[dict[str, str]] = []
        if path.exists():  # a resume: keep rows up to the checkpoint, drop any written after it
            with path.open(newline="") as f:
                kept = [row for row in csv.DictReader(f) if int(row["iteration"]) <= iteration]
        # The kept rows are rewritten atomically (a crash here must not lose the run's history), then appended to.
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=self.columns, extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(kept)
        write_atomically(path, lambda handle: handle.write(text.getvalue().encode()))
        self._csv_file = path.open("a", newline="")
        self._csv = csv.DictWriter(self._csv_file, fieldnames=self.columns, extrasaction="ignore", restval="")
        self._tb = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=iteration + 1)

    def write(self, metrics: dict[str, float]) -> None:
        """One iteration's row (floats written exactly, by repr) and its finite numbers to TensorBoard."""
        assert self._csv_file is not None and self._csv is not None and self._tb is not None, "open() first"
        self._csv.writerow({k: repr(v) if isinstance(v, float) else v for k, v in metrics.items()})
        self._csv_file.flush()
        for key, value in metrics.items():
            if (
                key not in ("iteration", "env_steps")
                and isinstance(value, int | float)
                and math.isfinite(value)
            ):
                self._tb.add_scalar(key, value, global_step=int(metrics["env_steps"]))
        self._tb.flush()

    def close(self) -> None:
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = self._csv = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
