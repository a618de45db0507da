"""The window's worker threads without a window: the player's outbox, the player's command queue, and the
trainer relay turning each event record of the training process into its Qt signal."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MUJOCO_GL", "egl")

import pickle
import threading
import typing
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from test_trainer import tiny_config
from tiny import TINY_MEMO

from agents.base import StepTrace
from agents.checkpoints import save_checkpoint
from agents.config import resolve_config
from agents.events import Failed, Finished, Message, Metrics, Started, Status, TrainerEvent, TrainingInfo
from agents.memory_watch import MemoryTrial
from agents.player import COMPARE_DIVIDER_PX
from agents.trainer import initial_agent
from app.handover import TRIALS_KEPT, PlayerOutbox, StepRecord
from app.player_factories import architecture_key, fresh_player
from app.player_worker import PLAYER_NICE, PlayerWorker
from app.trainer_worker import TrainerWorker
from scenes.registry import make_scene
from scenes.video import read_video

WAIT_MS = 20_000


def test_outbox_hands_over_the_newest_frame_and_the_steps_up_to_it() -> None:
    def record(step: int, new_trial: bool = False) -> StepRecord:
        return StepRecord(step, StepTrace(cache_tokens=step, cache_bytes=0), step == 0, new_trial)

    box = PlayerOutbox()
    assert box.take() is None
    box.add(record(0, new_trial=True))
    box.add(record(1))
    frame = np.zeros((2, 2, 3), np.uint8)
    assert box.publish(frame, None, steps=2)  # empty before: wake the GUI
    box.add(record(2))
    assert not box.publish(frame, None, steps=3)  # a wake-up is pending already: none more
    box.add(record(3))  # taken by the step shown next, not this one
    view = box.take()
    assert [r.step for r in view.records] == [0, 1, 2] and view.frames == 2 and view.steps == 3
    assert box.take() is None
    box.add(record(0, new_trial=True))  # a new trial drops the unshown steps of the last one
    box.publish(frame, None, steps=5)
    assert [r.step for r in box.take().records] == [0]


def test_outbox_hands_over_whole_trials_until_a_reset() -> None:
    box = PlayerOutbox()
    trials = [MemoryTrial({"goal": g}, np.zeros((3, 2), np.float32), None) for g in range(TRIALS_KEPT + 2)]
    for trial in trials:
        box.add_trial(trial)
    box.publish(None, None, steps=1)
    assert box.take().trials == trials[2:]  # the GUI fell behind: the oldest went
    box.add_trial(trials[0])
    box.clear_trial()  # a reset or a new player
    box.publish(None, None, steps=2)
    assert box.take().trials == []


def test_the_player_hands_over_each_whole_trial_memory_while_asked(qtbot: Any) -> None:
    worker = PlayerWorker()
    infos: list[Any] = []
    worker.ready.connect(infos.append)
    worker.start()
    trials: list[MemoryTrial] = []
    try:
        worker.build(fresh_player(tiny_config(), seed=0))
        qtbot.waitUntil(lambda: bool(infos), timeout=WAIT_MS)
        steps = infos[0].steps_per_trial
        if hasattr(os, "getpriority"):  # the event loop's thread comes first (PLAYER_NICE)
            player_nice = os.getpriority(os.PRIO_PROCESS, worker._thread.native_id or 0)
            assert player_nice == min(
                os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + PLAYER_NICE, 19
            )
        worker.set_render_size(64, 48)  # each single step is rendered; the subject here is the memory
        worker.set_speed(None)
        worker.set_record_memory(True)
        worker.step(2 * steps)  # two whole trials (the first step opens the first)

        def taken() -> bool:
            view = worker.take()
            trials.extend([] if view is None else view.trials)
            return len(trials) == 2

        qtbot.waitUntil(taken, timeout=WAIT_MS)
    finally:
        worker.request_stop()
        assert worker.join(10)
    width = TINY_MEMO["d_model"]
    assert all(trial.readout.shape == (steps, width) for trial in trials)
    assert all(trial.summary is not None and trial.summary.shape[0] == steps for trial in trials)
    assert set(trials[0].task) == set(infos[0].task)


def test_compare_mode_steps_renders_edits_and_records_both_agents_together(
    qtbot: Any, tmp_path: Path
) -> None:
    worker = PlayerWorker(render_size=(64, 48))
    infos: list[Any] = []
    dropped: list[str] = []
    views: list[Any] = []
    recordings: list[Any] = []
    worker.ready.connect(infos.append)
    worker.compare_dropped.connect(dropped.append)
    worker.recording_changed.connect(recordings.append)
    worker.frame_ready.connect(lambda: views.append(worker.take()))
    worker.start()
    try:
        worker.set_compare("rl2")  # no rl2 ships for darkroom: an untrained one
        worker.build(fresh_player(tiny_config(), seed=0))
        qtbot.waitUntil(lambda: bool(infos), timeout=WAIT_MS)
        assert infos[0].partner == "rl2 (untrained)" and infos[0].label.startswith("memo")
        worker.start_recording(tmp_path / "both.mp4")
        worker.step(5)
        qtbot.waitUntil(lambda: worker.steps == 5, timeout=WAIT_MS)  # the queue's commands go before steps
        worker.set_task({"goal_x": 2, "goal_y": 6})
        worker.step(5)
        qtbot.waitUntil(lambda: worker.steps == 10, timeout=WAIT_MS)
        worker.stop_recording()
        qtbot.waitUntil(lambda: len(recordings) == 2, timeout=WAIT_MS)
        shown = [view for view in views if view is not None and view.step is not None]
        last = shown[-1].step
        assert last.partner is not None and last.partner.step_in_trial == last.step_in_trial == 9
        assert last.task == last.partner.task == {"goal_x": 2, "goal_y": 6}
        assert shown[-1].partner_frame.shape == shown[-1].frame.shape == (48, 64, 3)
        records = [record for view in views if view is not None for record in view.records]
        assert [r.played.partner.step_in_trial for r in records] == list(range(10))
        assert all(r.partner_trace is not None for r in records)
        frames, _ = read_video(recordings[-1].path)
        assert len(frames) == 11 and frames[0].shape == (48, 2 * 64 + COMPARE_DIVIDER_PX, 3)
        # A checkpoint of another scene cannot join: the player goes on alone, and says why in one line.
        other = tmp_path / "bandit.pt"
        config = resolve_config("bandit", "rl2", "fast")
        agent = initial_agent(config, make_scene("bandit"))
        save_checkpoint(
            other,
            {"scene": "bandit", "agent": "rl2", "config": config.to_dict(), "model": agent.state_dict()},
        )
        worker.set_compare(str(other))
        qtbot.waitUntil(lambda: len(infos) == 2, timeout=WAIT_MS)
        assert infos[1].partner is None
        assert dropped == [f"--compare: {other} holds a rl2 agent of bandit, not of darkroom"]
    finally:
        worker.request_stop()
        assert worker.join(10)


def test_a_player_command_that_raises_is_reported_by_its_name_and_the_thread_goes_on(
    qtbot: Any, tmp_path: Path
) -> None:
    worker = PlayerWorker()
    failures: list[str] = []
    rejections: list[tuple[str, str]] = []
    worker.failed.connect(failures.append)
    worker.task_rejected.connect(lambda message, name: rejections.append((message, name)))
    worker.start()
    try:
        # No player is built yet: recording raises, in the player thread.
        worker.start_recording(tmp_path / "nothing.mp4")
        worker.set_task({"goal": 1})  # answered after it: the thread still takes commands
        qtbot.waitUntil(lambda: bool(failures and rejections), timeout=WAIT_MS)
    finally:
        worker.request_stop()
        assert worker.join(10)
    assert failures == ["player (start recording): RuntimeError: nothing to record: no player is running"]
    assert rejections == [("no player is running yet", "")]


def trainer_events() -> list[TrainerEvent]:
    """One record of every kind, as a run sends them."""
    config = tiny_config()
    info = TrainingInfo(
        config, Path("runs/example"), iteration=0, env_steps=0, total_steps=config.total_steps
    )
    model = {"weight": torch.arange(3.0)}
    return [
        Status("building"),
        Started(info, {"counters": {"iteration": 0}, "model": model}),
        Metrics({"iteration": 1.0, "trial_return": 2.5}, {"counters": {"iteration": 1}, "model": model}),
        Status("paused"),
        Message("checkpoint saved: runs/example/checkpoints/latest.pt"),
        Failed("ValueError: a bad edit\nTraceback (most recent call last): ..."),
        Finished("stopped"),
    ]


def relay(events: list[Any]) -> tuple[TrainerWorker, dict[str, list[Any]], list[tuple[int, tuple[Any, ...]]]]:
    """What a trainer worker (never started: no process) emits for `events`, and the weights it hands on."""
    weights: list[tuple[int, tuple[Any, ...]]] = []
    worker = TrainerWorker(lambda: None, on_weights=lambda it, _, arch: weights.append((it, arch)))
    emitted: dict[str, list[Any]] = defaultdict(list)
    for name in ("started", "metrics", "status", "message", "failed", "finished"):
        getattr(worker, name).connect(lambda value, name=name: emitted[name].append(value))
    worker._relay(events)
    return worker, emitted, weights


def test_every_trainer_event_survives_the_pipe_and_reaches_its_signal(qtbot: Any) -> None:
    events = trainer_events()
    assert {type(e) for e in events} == set(typing.get_args(TrainerEvent))  # every kind is covered
    received = [pickle.loads(pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL)) for e in events]
    assert [type(e) for e in received] == [type(e) for e in events]
    assert torch.equal(received[2].payload["model"]["weight"], torch.arange(3.0))

    worker, emitted, weights = relay(received)

    info = received[1].info
    assert emitted["started"] == [info] and worker.info == info
    assert emitted["metrics"] == [{"iteration": 1.0, "trial_return": 2.5}]
    assert emitted["status"] == ["building", "paused"]
    assert emitted["message"] == ["checkpoint saved: runs/example/checkpoints/latest.pt"]
    assert emitted["failed"] == ["training: ValueError: a bad edit"]  # one banner line
    assert emitted["finished"] == ["stopped"] and worker.reason == "stopped"
    assert weights == [(0, architecture_key(info.config)), (1, architecture_key(info.config))]
    assert worker.snapshot() is received[2].payload


def test_an_unknown_or_malformed_event_is_reported_and_the_rest_are_relayed(qtbot: Any) -> None:
    events: list[Any] = [
        ("status", "running"),  # the old tuple protocol: not a record
        Metrics({"iteration": 1.0}, {}),  # a payload without counters or weights
        Status("running"),
    ]
    worker, emitted, weights = relay(events)
    assert emitted["failed"] == [
        "training event: TypeError: not a trainer event: ('status', 'running')",
        "training event: KeyError: 'counters'",
    ]
    assert emitted["status"] == ["running"] and emitted["metrics"] == [] and weights == []
    assert worker.snapshot() is None
    assert emitted["finished"] == ["failed"]  # the events ended without saying why: the run failed
