"""Pretrained agents shipped in `assets/pretrained/`, so the playground shows a trained agent at first launch.

`assets/pretrained/manifest.toml` lists each checkpoint with how it was made (the command, the commit, the
steps and wall-clock) and the evaluation it reached. Its `check` table is a small evaluation, repeated by
tests/test_pretrained.py, that the checkpoint must still reach within `tolerance`; `bench/results.py export`
writes the entries from a finished run, so no number in the manifest is typed by hand.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenes.errors import UserError

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "assets" / "pretrained"
MANIFEST = "manifest.toml"


@dataclass(frozen=True)
class PretrainedAgent:
    """One shipped checkpoint and what it is known to do."""

    scene: str
    agent: str
    preset: str
    path: Path
    command: str
    commit: str
    env_steps: int
    check: dict[str, Any]  # split, trials, seed, deterministic, trial_return, tolerance
    evaluation: dict[str, Any]  # the larger evaluation reported in docs/results.md

    @property
    def metrics_path(self) -> Path:
        """The training run's metrics.csv, shipped beside the checkpoint (the GUI draws its curves)."""
        return metrics_file(self.path)


def metrics_file(checkpoint: Path) -> Path:
    return checkpoint.with_name(f"{checkpoint.stem}.metrics.csv")


def pretrained_agents(directory: Path = PRETRAINED_DIR) -> list[PretrainedAgent]:
    """Every entry of the manifest in `directory` (none if there is no manifest)."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return []
    try:
        entries = tomllib.loads(manifest.read_text())["agent"]
        return [
            PretrainedAgent(
                scene=entry["scene"],
                agent=entry["agent"],
                preset=entry["preset"],
                path=directory / entry["file"],
                command=entry["command"],
                commit=entry["commit"],
                env_steps=int(entry["env_steps"]),
                check=dict(entry["check"]),
                evaluation=dict(entry.get("evaluation", {})),
            )
            for entry in entries
        ]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise UserError(f"{manifest} is malformed ({type(error).__name__}: {error})") from None


def find_pretrained(
    scene: str, agent: str, preset: str, directory: Path = PRETRAINED_DIR
) -> PretrainedAgent | None:
    """The shipped checkpoint for (scene, agent, preset) whose file is present, if any."""
    for entry in pretrained_agents(directory):
        if (entry.scene, entry.agent, entry.preset) == (scene, agent, preset) and entry.path.is_file():
            return entry
    return None
