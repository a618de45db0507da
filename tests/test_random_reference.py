"""bench/random_reference.py: uniformly random actions through a scene's own trials, checked against levels
known independently of it (a fair coin between two arms; docs/reference/memo.md's random Dark-Key-To-Door)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import math

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import random_reference


def test_random_pulls_pick_the_better_arm_half_the_time() -> None:
    row = random_reference.random_reference("bandit", {}, trials=200, split="test", seed=0)
    assert row["steps_per_trial"] == 10 and row["episodes_per_trial"] == 10  # one pull per episode
    assert row["success_rate"] == pytest.approx(0.5, abs=0.04)  # 2,000 pulls: 4 standard deviations


def test_random_dark_key_to_door_scores_the_papers_random_level() -> None:
    # docs/reference/memo.md: uniform random scores 2.5 per 500-step trial on these machines.
    row = random_reference.random_reference("dark-key-to-door", {}, trials=64, split="test", seed=1)
    assert 1.0 < row["trial_return"] < 4.0 and 0 <= row["success_rate"] < 0.1


def test_a_continuous_scene_without_success_runs_whole_trials() -> None:
    row = random_reference.random_reference("halfcheetah-vel", {}, trials=2, split="test", seed=0)
    assert row["success_rate"] is None and row["steps_per_trial"] == 400
    assert math.isfinite(row["trial_return"]) and row["trial_return"] < 0  # random flailing misses the target


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--scene", "bandit", "--option", "arms=3"],
            "engram: unknown bandit option(s) 'arms'; valid: pulls, variant",
        ),
        (["--scene", "bandit", "--option", "pulls"], "engram: --option expects NAME=VALUE, got 'pulls'"),
        (["--scene", "bandit", "--trials", "0"], "engram: --trials must be at least 1, got 0"),
    ],
)
def test_bad_input_is_one_line_naming_it(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert random_reference.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n" and captured.out == ""
