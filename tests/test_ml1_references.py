"""The ML1 reach reference policies of bench/ml1_references.py, run through real Trials on real Meta-World.

Each check can fail: the hill climber must find a goal the centre policy cannot reach, the centre policy's
noise must be the only thing sampling changes, and the hill climber must act on its 5-token window alone.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")  # headless: before mujoco picks a GL backend

import numpy as np
import pytest

from scenes.base import Scene
from scenes.trials import Trials, TrialTokens

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import ml1_references as refs

EPISODE = 500


@pytest.fixture(scope="module")
def scene() -> Scene:
    return refs.ml1_scene("metaworld-ml1-reach")


@pytest.fixture(scope="module")
def policies(scene: Scene) -> dict[str, refs.ReferencePolicy]:
    return refs.reference_policies(scene)


@pytest.fixture(scope="module")
def far_task(scene: Scene, policies: dict[str, refs.ReferencePolicy]) -> int:
    """The train task whose goal lies farthest from the goal-box centre (≈ 10-15 cm: the centre policy misses)."""
    centre = policies["centre"].centre
    goals = [np.array(scene.catalog.goal("reach-v3", "train", i)) for i in range(refs.TASKS_PER_ENV)]
    return int(np.argmax([np.linalg.norm(goal - centre) for goal in goals]))


def one_episode(scene: Scene, policy: refs.ReferencePolicy, task_index: int) -> tuple[float, bool]:
    """499 steps of an episode on a train task (the 500th ends it, and the env resets): the distance from the
    gripper's centre to the goal after them (what Meta-World's success measures) and whether any step
    succeeded."""
    trials = Trials(scene, 1, seed=1, split="train", steps_per_trial=EPISODE)
    goal = scene.catalog.task_dict_goal("reach-v3", "train", task_index)
    trials.set_task_overrides({"split": "train", "task_index": task_index, **goal})
    succeeded = False
    try:
        tokens = trials.reset()
        policy.reset(1)
        for _ in range(EPISODE - 1):
            tokens, result = trials.step(policy.act(tokens, None))
            succeeded |= bool(result.info["success"][0])
        assert tokens.step_in_episode[0] == EPISODE - 1 and trials.tasks()[0]["task_index"] == task_index
        gripper = trials.batch.envs[0].metaworld_env.tcp_center  # type: ignore[attr-defined]
        return float(np.linalg.norm(gripper - np.array(list(goal.values())))), succeeded
    finally:
        trials.close()


def test_the_hill_climber_finds_a_far_goal_the_centre_policy_misses(
    scene: Scene, policies: dict[str, refs.ReferencePolicy], far_task: int
) -> None:
    centre, centre_succeeded = one_episode(scene, policies["centre"], far_task)
    climber, climber_succeeded = one_episode(scene, policies["hill-climber"], far_task)
    assert centre > 0.08 and not centre_succeeded  # parked at the centre, outside the 5 cm success radius
    assert climber < 0.05 and climber < centre / 2 and climber_succeeded


def test_success_is_a_share_of_the_episodes_counted(
    scene: Scene, policies: dict[str, refs.ReferencePolicy]
) -> None:
    # 3 trials of 2 episodes (500 steps, then 100) on tasks 48, 49, 0: the order wraps around the 50 tasks.
    result = refs.run_trials(
        scene, policies["centre"], "test", 3, 1, steps_per_trial=EPISODE + 100, first_task=48
    )
    assert (result["trials"], result["task_indices"], result["episodes"]) == (3, [48, 49, 0], 6)
    assert 0.0 <= result["success_rate"] <= 1.0
    assert result["success_rate"] * 6 == pytest.approx(round(result["success_rate"] * 6))
    assert len(result["success_per_episode_in_trial"]) == 2
    assert all(0.0 <= s <= 1.0 for s in result["success_per_episode_in_trial"])


def test_sampling_adds_the_noise_and_nothing_else(
    scene: Scene, policies: dict[str, refs.ReferencePolicy]
) -> None:
    noisy, plain = policies["centre-noise"], policies["centre"]
    assert (noisy.actions, plain.actions) == ("sampled: mean + N(0, 0.8²)", "deterministic")
    run = {"split": "train", "trials": 1, "seed": 1, "steps_per_trial": 200}
    mean_only = refs.run_trials(scene, noisy, **run, sampled=False)
    assert mean_only == refs.run_trials(
        scene, plain, **run
    )  # its deterministic action is the centre policy's
    sampled = refs.run_trials(scene, noisy, **run)
    assert sampled["sampled"] and not mean_only["sampled"]
    assert sampled["trial_return"] != mean_only["trial_return"]
    # A deterministic policy's sampled run is its deterministic run.
    assert refs.run_trials(scene, plain, **run, sampled=True)["trial_return"] == mean_only["trial_return"]


def test_the_hill_climber_acts_on_its_window_alone(scene: Scene) -> None:
    trials = Trials(scene, 1, seed=1, split="train", steps_per_trial=EPISODE)
    climber = refs.WindowHillClimber()
    history: list[TrialTokens] = []
    try:
        tokens = trials.reset()
        for _ in range(8):  # still far from any goal: the window's fit, not the ceiling, decides
            history.append(tokens)
            action = climber.act(tokens, None)
            tokens, _ = trials.step(action)
    finally:
        trials.close()
    # A fresh climber shown only the last 5 tokens, with the true task hidden, takes the same action.
    fresh = refs.WindowHillClimber()
    for token in history[-5:]:
        replayed = fresh.act(dataclasses.replace(token, task=np.full_like(token.task, np.nan)), None)
    np.testing.assert_array_equal(replayed, action)
    # Shown the last 4 only, it has lost one step of its window: a different fit, a different move.
    shorter = refs.WindowHillClimber()
    for token in history[-4:]:
        fewer = shorter.act(token, None)
    assert not np.array_equal(fewer, action)
