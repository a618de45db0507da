"""The player's memory trial by trial (agents/memory_watch.py): recorded from player steps, probed and embedded,
on synthetic memories whose answer is known."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.base import MemoryEvent, StepTrace
from agents.memory_watch import MIN_TRIALS, MemoryTrial, RecentTrials, TrialRecorder, numeric_params
from agents.player import PlayerStep

STEPS, FEATURES = 200, 16


def synthetic_trials(
    count: int, learned_at: int | None, seed: int = 0, summary: bool = False
) -> list[MemoryTrial]:
    """Trials whose memory holds `goal` along one direction from step `learned_at` on (None: never), plus a
    `speed` parameter the memory never holds, a constant `size` and a name."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=FEATURES)
    trials = []
    for _ in range(count):
        goal, speed = rng.uniform(-1, 1), rng.uniform(0, 2)
        memory = 0.3 * rng.normal(size=(STEPS, FEATURES))
        if learned_at is not None:
            memory[learned_at:] += goal * direction
        task = {"goal": goal, "speed": speed, "size": 3, "name": "arena"}
        trials.append(MemoryTrial(task, memory.astype(np.float32), memory.copy() if summary else None))
    return trials


def filled(trials: list[MemoryTrial], capacity: int = 64) -> RecentTrials:
    store = RecentTrials(capacity)
    for trial in trials:
        store.add(trial)
    return store


def test_a_memory_that_learns_the_task_decodes_from_that_step_and_noise_does_not() -> None:
    learned_at = 80
    curves = filled(synthetic_trials(48, learned_at)).probe()
    assert curves is not None and curves.trials == 48
    assert set(curves.r2) == {"goal", "speed"}  # the constant size and the name are no probe's target
    assert curves.steps[0] == 0 and curves.steps[-1] == STEPS - 1 and len(curves.steps) <= 24
    goal, speed = curves.r2["goal"], curves.r2["speed"]
    assert goal[curves.steps >= learned_at].min() > 0.8
    assert goal[curves.steps < learned_at].max() < 0.3
    assert speed.max() < 0.3


def test_the_probe_waits_for_enough_trials_and_the_store_keeps_the_newest() -> None:
    trials = synthetic_trials(70, 0)
    assert filled(trials[: MIN_TRIALS - 1]).probe() is None
    store = filled(trials)
    assert len(store) == 64
    other_agent = MemoryTrial(trials[0].task, np.zeros((STEPS, FEATURES + 1), np.float32), None)
    store.add(other_agent)  # another width: the old vectors cannot be compared with it
    assert len(store) == 1


def test_the_embedding_separates_tasks_and_colours_each_point() -> None:
    store = filled(synthetic_trials(20, 0, summary=True))
    assert store.has_summaries()
    for vector in ("readout", "summary"):
        embedded = store.embedding(vector, "goal")  # type: ignore[arg-type]
        assert embedded is not None
        probed = len(store.probed_steps())
        assert embedded.points.shape == (20 * probed, 2) and embedded.colour.shape == (20 * probed,)
        # The goal is the memory's main direction: the first component orders the points by it.
        assert abs(np.corrcoef(embedded.points[:, 0], embedded.colour)[0, 1]) > 0.9
        assert embedded.explained[0] > 0.5
    by_trial = store.embedding(colour_by="trial")
    by_step = store.embedding(colour_by="trial step")
    assert by_trial is not None and by_step is not None
    assert by_trial.colour[0] == 0 and by_trial.colour[-1] == 19 and by_step.colour[-1] == STEPS - 1


def test_numeric_params_skip_flags_names_and_constants() -> None:
    tasks: list[dict[str, Any]] = [
        {"x": 1.0, "n": 2, "on": True, "label": "a", "k": 4},
        {"x": 2.0, "n": 3, "on": False, "label": "b", "k": 4},
    ]
    assert numeric_params(tasks) == ["x", "n"]
    assert numeric_params([]) == []


def player_step(t: int, steps: int, task: dict[str, Any], trace: StepTrace | None) -> PlayerStep:
    return PlayerStep(
        reward=0.0,
        episode_return=0.0,
        trial_return=0.0,
        step_in_trial=t,
        episode_index=0,
        episode_end=t == steps - 1,
        trial_end=t == steps - 1,
        task=task,
        trace=trace,
    )


def memo_trace(t: int, write_every: int = 3) -> StepTrace:
    """Step t's read-out is t; a summary (2 tokens × 2) whose values are t is written every `write_every` steps."""
    events = []
    if t % write_every == write_every - 1:
        events.append(MemoryEvent(t, t // write_every, 2, torch.full((1, 2, 2), float(t))))
    return StepTrace(cache_tokens=t, cache_bytes=0, memory=torch.full((1, 4), float(t)), events=events)


def test_the_recorder_hands_over_whole_trials_with_the_newest_summary_at_each_step() -> None:
    recorder = TrialRecorder()
    task = {"goal": 0.5}
    handed = [recorder.observe(player_step(t, 7, task, memo_trace(t))) for t in range(7)]
    assert handed[:-1] == [None] * 6
    trial = handed[-1]
    assert trial is not None and trial.task == task
    np.testing.assert_array_equal(trial.readout[:, 0], np.arange(7))
    assert trial.summary is not None and trial.summary.shape == (7, 4)
    np.testing.assert_array_equal(trial.summary[:, 0], [0, 0, 2, 2, 2, 5, 5])  # zeros before the first write


def test_the_recorder_drops_a_trial_it_did_not_see_whole() -> None:
    recorder = TrialRecorder()
    task = {"goal": 0.5}
    traced = [memo_trace(t) for t in range(5)]
    untraced = [player_step(t, 5, task, None if t == 2 else traced[t]) for t in range(5)]
    assert [recorder.observe(step) for step in untraced][-1] is None  # traces were off for a step
    edited = [player_step(t, 5, task if t < 3 else {"goal": 0.9}, traced[t]) for t in range(5)]
    assert [recorder.observe(step) for step in edited][-1] is None  # the task was edited mid-trial
    late = [player_step(t, 5, task, traced[t]) for t in range(2, 5)]
    assert [recorder.observe(step) for step in late][-1] is None  # joined mid-trial
    whole = [recorder.observe(player_step(t, 5, task, traced[t])) for t in range(5)][-1]
    assert whole is not None and whole.summary is not None and whole.readout.shape == (5, 4)
    plain = StepTrace(cache_tokens=0, cache_bytes=0, memory=torch.zeros(1, 3))
    no_writes = [recorder.observe(player_step(t, 5, task, plain)) for t in range(5)][-1]
    assert no_writes is not None and no_writes.summary is None  # an agent without summaries
