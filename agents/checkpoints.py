"""Checkpoints that never corrupt what was there before, and that say clearly when they cannot be used.

A checkpoint is one `torch.save`d dict: a format tag, what it was made for (scene, agent), the resolved config,
model and optimiser state, RNG states and counters. It is written to a temporary file in the same folder,
flushed to disk, then renamed over the old one (`os.replace` is atomic on POSIX and Windows), so a crash or a
full disk mid-write leaves the previous checkpoint intact. Loading uses `weights_only=True`: a checkpoint is
data, never code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from scenes.errors import UserError

FORMAT = "engram-checkpoint-v1"
# What every use of a checkpoint reads (eval, record, the player, `train --resume`), and its type.
REQUIRED_KEYS: dict[str, type] = {"scene": str, "agent": str, "config": dict, "model": dict}


class CheckpointError(UserError):
    """A checkpoint that cannot be used here: missing, truncated, not Engram's, or made for something else."""


def write_atomically(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write a file through `write(handle)` into a temporary file beside `path`, flush it to disk, then rename
    it over `path`: a crash or a full disk mid-write leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write `payload` (plus the format tag) to `path`; the old file stays intact until the end."""
    return write_atomically(path, lambda handle: torch.save({"format": FORMAT, **payload}, handle))


def load_checkpoint(
    path: str | Path, expect_scene: str | None = None, expect_agent: str | None = None
) -> dict[str, Any]:
    """Read a checkpoint; raise `CheckpointError` with one clear sentence if it cannot be used."""
    path = Path(path)
    if path.is_dir():  # a run directory or its checkpoints/ folder: take the latest checkpoint in it
        candidates = [path / "checkpoints" / "latest.pt", path / "latest.pt"]
        path = next((c for c in candidates if c.is_file()), candidates[0])
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (
        Exception
    ) as error:  # a damaged file fails anywhere in unpickling: KeyError, EOFError, zip errors...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted ({reason[:120]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an Engram checkpoint ({FORMAT})")
    missing = [key for key in REQUIRED_KEYS if not isinstance(payload.get(key), REQUIRED_KEYS[key])]
    if missing:
        raise CheckpointError(f"checkpoint {path} has no usable {' / '.join(missing)} (damaged or hand-made)")
    made_for = (payload.get("scene"), payload.get("agent"))
    wanted = (expect_scene or made_for[0], expect_agent or made_for[1])
    if made_for != wanted:
        raise CheckpointError(
            f"checkpoint {path} was made for agent {made_for[1]!r} on scene {made_for[0]!r}, "
            f"not agent {wanted[1]!r} on scene {wanted[0]!r}"
        )
    return payload
