"""The Trainer in a child process (how the app trains): events in order, weights that match the checkpoint on
disk, task edits validated by the child's Trainer, a failing build reported in one line, and a run that saves
its checkpoint when the app's process dies."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from test_trainer import tiny_config

from agents.checkpoints import load_checkpoint
from agents.events import Failed, Finished, Metrics, Started, Status, TrainerEvent
from agents.trainer import Trainer
from agents.trainer_process import TrainerProcess

ROOT = Path(__file__).resolve().parents[1]


def test_events_arrive_in_order_and_the_last_payload_is_the_saved_checkpoint(tmp_path: Path) -> None:
    process = TrainerProcess(functools.partial(Trainer, tiny_config(), tmp_path / "run"), max_iterations=3)
    # Asked before the child has built its trainer: not waited for, applied once it is built.
    assert process.set_task_overrides({"goal_y": 7}, wait=False) is None
    process.start()
    answers: list[object] = []

    def edit_while_paused() -> None:
        process.pause()
        with pytest.raises(ValueError, match="goal_x"):
            process.set_task_overrides({"goal_x": 99})
        answers.append(process.set_task_overrides({"goal_x": 2}))
        process.resume()

    events: list[TrainerEvent] = []
    editor = threading.Thread(target=edit_while_paused)
    for event in process.events():
        events.append(event)
        if isinstance(event, Started):
            editor.start()
    editor.join()
    assert process.join(10)

    assert events[0] == Status("building")  # what the app shows while the trainer is built
    assert isinstance(events[1], Started) and events[-1] == Finished("iterations")
    assert not any(isinstance(e, Failed) for e in events)
    assert Status("paused") in events
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert [int(m.metrics["iteration"]) for m in metrics] == [1, 2, 3]
    assert answers == [{"goal_x": 2, "goal_y": 7}]

    info = events[1].info
    assert info.run_dir == tmp_path / "run" and info.iteration == 0
    last_payload = metrics[-1].payload
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")
    assert saved["counters"] == last_payload["counters"]
    assert saved["task_overrides"] == {"goal_x": 2, "goal_y": 7} == last_payload["task_overrides"]
    for name, tensor in saved["model"].items():
        assert torch.equal(tensor, last_payload["model"][name]), name


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux-only")
def test_the_child_runs_on_the_cores_it_is_given(tmp_path: Path) -> None:
    core = max(os.sched_getaffinity(0))
    process = TrainerProcess(
        functools.partial(Trainer, tiny_config(), None), max_iterations=100, cpus=frozenset({core})
    )
    process.start()
    for event in process.events():
        # After an iteration torch's, the listener's and the trainer's threads exist.
        if isinstance(event, Metrics):
            assert process.pid is not None
            threads = os.listdir(f"/proc/{process.pid}/task")
            assert len(threads) > 1 and all(os.sched_getaffinity(int(tid)) == {core} for tid in threads)
            process.stop()
            break
    assert process.join(10)


def test_ctrl_c_in_the_terminal_leaves_training_to_the_app(tmp_path: Path) -> None:
    process = TrainerProcess(functools.partial(Trainer, tiny_config(), None), max_iterations=2)
    process.start()
    events: list[TrainerEvent] = []
    for event in process.events():
        events.append(event)
        if isinstance(event, Started):
            assert process.pid is not None
            os.kill(process.pid, signal.SIGINT)
    assert sum(isinstance(e, Metrics) for e in events) == 2 and events[-1] == Finished("iterations")


def test_a_failing_build_is_one_failed_event_and_the_process_ends(tmp_path: Path) -> None:
    process = TrainerProcess(functools.partial(Trainer.from_run, tmp_path / "missing"))
    process.start()
    events = list(process.events())
    assert [type(e) for e in events] == [Status, Failed, Finished]
    assert events[1].error.startswith("CheckpointError:") and events[2] == Finished("failed")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(ValueError, match="training has ended"):
        process.set_task_overrides({"goal_x": 2})


PARENT = """
import functools, os, sys
sys.path[:0] = [{root!r}, {root!r} + "/tests"]
from agents.trainer import Trainer
from agents.events import Metrics
from agents.trainer_process import TrainerProcess
from test_trainer import tiny_config

if __name__ == "__main__":
    process = TrainerProcess(functools.partial(Trainer, tiny_config(total_steps=10**9, checkpoint_every=1000), {run!r}))
    process.start()
    for event in process.events():
        if isinstance(event, Metrics):
            print(process.pid, flush=True)
            os._exit(0)  # the app dies without stopping its trainer
"""


def test_when_the_app_dies_the_child_stops_and_saves_latest(tmp_path: Path) -> None:
    run = tmp_path / "run"
    script = tmp_path / "parent.py"
    script.write_text(PARENT.format(root=str(ROOT), run=str(run)))
    parent = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert parent.returncode == 0, parent.stderr
    child = int(parent.stdout.split()[-1])
    deadline = time.monotonic() + 60
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(child), "the orphaned trainer kept running"
    # Periodic checkpoints are 1000 iterations apart: this one was written by the stop.
    saved = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert saved["counters"]["iteration"] >= 1


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")


class FaultyTrainer(Trainer):
    """A Trainer that raises inside its third iteration's rollout, 50 env steps in (a fault inside a running
    trainer: a scene or agent bug met mid-run)."""

    def _gate(self) -> None:
        super()._gate()
        self.steps_in_iteration = getattr(self, "steps_in_iteration", 0) + 1
        if self.iteration == 2 and self.steps_in_iteration > 2 * self.trials.steps_per_trial + 50:
            raise RuntimeError("injected fault in the third iteration's rollout")


def test_an_exception_inside_the_running_trainer_is_one_failed_event_and_the_run_resumes(
    tmp_path: Path,
) -> None:
    """Issue 20 (faults): the exception ends training with one Failed line naming it; the iteration it hit is
    dropped whole and the last finished one saved (checkpoint_every is far away: only the first iteration's
    checkpoint was written before), so `--resume` continues from there with one metrics row per iteration."""
    run = tmp_path / "run"
    process = TrainerProcess(functools.partial(FaultyTrainer, tiny_config(checkpoint_every=1000), run))
    process.start()
    events = list(process.events())
    kinds = [type(e) for e in events if isinstance(e, Started | Metrics | Failed | Finished)]
    assert kinds == [Started, Metrics, Metrics, Failed, Finished], kinds
    failed = next(e for e in events if isinstance(e, Failed))
    assert failed.error == "RuntimeError: injected fault in the third iteration's rollout"
    assert events[-1] == Finished("failed")
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["counters"]["iteration"] == 2
    assert any(isinstance(e, Status) and e.status == "failed" for e in events)
    resumed = Trainer.from_run(run)
    assert resumed.iteration == 2
    resumed.iterate()
    resumed.close()
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == [1, 2, 3]
    # The same as a run that never met the fault, to the bit.
    reference = Trainer(tiny_config(checkpoint_every=1000), tmp_path / "reference")
    for _ in range(3):
        reference.iterate()
    reference.close()
    weights, expected = resumed.agent.state_dict(), reference.agent.state_dict()
    assert all(torch.equal(weights[name], expected[name]) for name in expected)
