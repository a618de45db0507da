"""bench/results.py keeps each run's record files in git (docs/results/runs/) and reads them where the run
directory is gone, as on a new checkout: a real run archived, deleted, and read back the same."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.config import resolve_config
from agents.trainer import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import results


def test_a_run_read_back_from_its_record_once_its_directory_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "RESULTS", tmp_path / "runs" / "results")
    monkeypatch.setattr(results, "RECORDS", tmp_path / "docs" / "results" / "runs")
    run = results.RESULTS / "dktd-mlp-s0"
    config = resolve_config("bandit", "mlp", "fast", overrides={"num_envs": 8, "total_steps": 240})
    trainer = Trainer(config, run)
    trainer.run()
    trainer.close()
    (run / "eval-test.json").write_text(json.dumps({"trial_return": {"mean": 4.5, "std": 1.0}}))
    (results.RESULTS / "dktd-mlp-s0.commits").write_text("abc1234 train --scene bandit\n")
    rows = results.run_metrics(run)
    assert len(rows) == 3 and results.record_of(run) == run

    results.cmd_archive(None)  # type: ignore[arg-type]
    record = results.RECORDS / "dktd-mlp-s0"
    assert sorted(p.name for p in record.iterdir()) == [
        "commits",
        "config.toml",
        "eval-test.json",
        "metrics.csv",
    ]
    shutil.rmtree(run)
    (results.RESULTS / "dktd-mlp-s0.commits").unlink()
    assert results.record_of(run) == record
    assert results.run_metrics(results.record_of(run)) == rows
    assert json.loads((record / "eval-test.json").read_text())["trial_return"]["mean"] == 4.5
    assert results.run_commits(run) == "abc1234"


def test_records_are_not_ignored_by_git() -> None:
    """A record git ignores is lost with the checkout (a `runs/` pattern once matched docs/results/runs too)."""
    record = results.RECORDS.relative_to(results.ROOT) / "dktd-memo-s0" / "metrics.csv"
    check = subprocess.run(["git", "check-ignore", "-q", str(record)], cwd=results.ROOT)
    assert check.returncode == 1, f"git ignores {record}"


def test_an_arm_with_its_own_seeds_is_trained_and_reported_for_them() -> None:
    """`train`, `evaluate` and `report` take an arm's own seeds (a second seed of one arm) unless --seeds says."""
    experiment = results.EXPERIMENTS["ml1-reach"]
    default = results.selected(experiment, argparse.Namespace(arms=None, seeds=None))
    assert [(a.name, s) for a, s in default if a.name == "trmrl-spanepisodes"] == [
        ("trmrl-spanepisodes", 0),
        ("trmrl-spanepisodes", 1),
    ]
    assert sum(a.name == "trmrl" for a, _ in default) == len(experiment.seeds)
    only = results.selected(experiment, argparse.Namespace(arms=["trmrl-spanepisodes"], seeds=[1]))
    assert [(a.name, s) for a, s in only] == [("trmrl-spanepisodes", 1)]


def test_the_driver_stops_a_run_for_a_wall_clock_budget_only() -> None:
    """A run stops itself at its --steps; the driver's Ctrl-C is for a wall-clock experiment's minutes (sent at
    the step budget, it raced the run's own exit and once killed one, exit -2)."""
    at_its_steps = [{"env_steps": 2_000_000.0, "time_s": 3_700.0}]
    assert not results.minutes_spent(results.EXPERIMENTS["ml1-reach"], at_its_steps)
    wall_clock = results.EXPERIMENTS["dktd60"]
    assert results.minutes_spent(wall_clock, [{"env_steps": 1e6, "time_s": 3_600.0}])
    assert not results.minutes_spent(wall_clock, [{"env_steps": 1e6, "time_s": 3_599.0}])
    assert not results.minutes_spent(wall_clock, [])
