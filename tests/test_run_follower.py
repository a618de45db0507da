"""Following a run directory that a trainer is writing: new metrics rows once each, the newest checkpoint
once per write, and a resume's rewritten metrics.csv read again from the top. Real trainer, real files."""

from __future__ import annotations

from pathlib import Path

from agents.config import resolve_config
from agents.run_log import read_metrics
from agents.trainer import Trainer
from app.run_follower import RunFollower

BANDIT = {"num_envs": 8, "scene_options": {"variant": "one-good"}, "checkpoint_every": 2}


def test_rows_and_checkpoints_arrive_once_each_as_the_trainer_writes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    follower = RunFollower(run)
    assert follower.new_rows() == [] and follower.new_checkpoint() is None  # nothing written yet
    trainer = Trainer(resolve_config("bandit", "mlp", "fast", overrides=BANDIT), run)
    seen: list[dict[str, float]] = []
    for _ in range(3):
        trainer.iterate()
        seen += follower.new_rows()
    assert [row["iteration"] for row in seen] == [1.0, 2.0, 3.0]
    assert follower.new_rows() == []
    payload = follower.new_checkpoint()  # latest.pt of iteration 2 (every 2nd; the 1st is also written)
    assert payload is not None and payload["counters"]["iteration"] == 2
    assert follower.new_checkpoint() is None  # unchanged since
    trainer.iterate()
    assert follower.new_checkpoint()["counters"]["iteration"] == 4
    trainer.iterate()  # row 5 is written, then the process "dies" before checkpointing it
    assert [row["iteration"] for row in follower.new_rows()] == [4.0, 5.0]
    trainer.close()

    # The resume from iteration 4 rewrites metrics.csv without row 5, then appends its own iterations.
    resumed = Trainer.from_run(run)
    resumed.iterate()
    resumed.close()
    rows = follower.new_rows()
    assert follower.restarted and [row["iteration"] for row in rows] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [row["iteration"] for row in read_metrics(run / "metrics.csv")] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_rewritten_metrics_file_is_read_again_from_the_top(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    path = run / "metrics.csv"
    path.write_text("iteration,env_steps,trial_return\n1,80,5.0\n2,160,6.0\n3,240,7.0\n")
    follower = RunFollower(run)
    assert [r["iteration"] for r in follower.new_rows()] == [1.0, 2.0, 3.0]
    path.write_text("iteration,env_steps,trial_return\n1,80,5.0\n2,160,6.")  # a resume from 2, mid-write
    rows = follower.new_rows()
    assert follower.restarted and [r["iteration"] for r in rows] == [1.0]  # the half-written row waits
    with path.open("a") as handle:
        handle.write("5\n3,240,9.0\n")
    assert [(r["iteration"], r["trial_return"]) for r in follower.new_rows()] == [(2.0, 6.5), (3.0, 9.0)]
