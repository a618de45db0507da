"""The two-armed bandit (RL² §5.1, k = 2): schema and registry, Bernoulli payouts, seeding, task edits, trials
of one-pull episodes, rendering, and the Gymnasium checker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from scenes import gym_id, make_scene, scene_ids
from scenes.bandit import BanditBatch, BanditEnv, TwoArmedBandit
from scenes.trials import Trials

ROOT = Path(__file__).resolve().parents[1]
ONE_GOOD_ARM0 = {"p_arm0": 1.0, "p_arm1": 0.0}

# Colours of the picture, written out again (see scenes/bandit.py): bar fill, gold rim, lamps.
FILL, HIGHLIGHT = (88, 168, 255), (255, 206, 64)
LAMP_PAID, LAMP_UNPAID = (96, 210, 118), (128, 132, 144)


def _has_colour(frame: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    return bool((frame == np.array(rgb, dtype=np.uint8)).all(axis=-1).any())


# --------------------------------------------------------------------------------------------------------
# Schema, options, registry, command line
# --------------------------------------------------------------------------------------------------------


def test_schema_options_and_registry() -> None:
    scene = make_scene("bandit")
    assert isinstance(scene, TwoArmedBandit) and "bandit" in scene_ids()
    assert (scene.episode_length, scene.episodes_per_trial, scene.steps_per_trial) == (1, 10, 10)
    assert scene.action_kind == "discrete" and scene.options == {"pulls": 10, "variant": "uniform"}
    described = scene.describe()
    assert described["gym_id"] == "engram/bandit-v0" and described["splits"] == ["train", "test"]
    assert [(p["name"], p["type"], p["low"], p["high"]) for p in described["task_params"]] == [
        ("p_arm0", "float", 0.0, 1.0),
        ("p_arm1", "float", 0.0, 1.0),
    ]
    options = {p["name"]: p for p in described["options"]}
    assert options["pulls"]["default"] == 10 and (options["pulls"]["low"], options["pulls"]["high"]) == (
        2,
        1000,
    )
    assert options["variant"]["choices"] == ["uniform", "one-good"]

    longer = make_scene("bandit", pulls=100, variant="one-good")
    assert longer.steps_per_trial == longer.episodes_per_trial == 100
    assert longer.describe()["episodes_per_trial"] == 100
    assert make_scene("bandit", pulls="20").options["pulls"] == 20  # values from command lines
    for bad in ({"pulls": 1}, {"pulls": 1001}, {"pulls": 2.5}, {"variant": "two-good"}, {"arms": 3}):
        with pytest.raises(ValueError, match="bandit option"):
            make_scene("bandit", **bad)

    env = scene.make_env()
    assert isinstance(env, BanditEnv) and env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space == gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.tolist() == [1.0] and info == {}
    assert isinstance(scene.make_batch(3, [ONE_GOOD_ARM0] * 3), BanditBatch)


def test_scenes_json_on_the_command_line_lists_the_bandit() -> None:
    result = subprocess.run(
        [sys.executable, "main.py", "scenes", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    listed = {scene["id"]: scene for scene in json.loads(result.stdout)}
    bandit = listed["bandit"]
    assert bandit["title"] == "Two-armed bandit" and bandit["action"] == "discrete"
    assert (bandit["episode_length"], bandit["episodes_per_trial"], bandit["steps_per_trial"]) == (1, 10, 10)
    assert [p["name"] for p in bandit["task_params"]] == ["p_arm0", "p_arm1"]
    assert [p["name"] for p in bandit["options"]] == ["pulls", "variant"]


def test_sample_task_per_variant() -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):  # the same distribution: RL² evaluates on freshly drawn bandits
        uniform = np.array([list(make_scene("bandit").sample_task(rng, split).values()) for _ in range(4000)])
        assert uniform.min() >= 0.0 and uniform.max() <= 1.0
        np.testing.assert_allclose(uniform.mean(axis=0), [0.5, 0.5], atol=0.02)
        np.testing.assert_allclose(uniform.std(axis=0), [12**-0.5] * 2, atol=0.02)  # U[0, 1]
        assert abs(np.corrcoef(uniform.T)[0, 1]) < 0.05  # drawn independently
        one_good = [make_scene("bandit", variant="one-good").sample_task(rng, split) for _ in range(2000)]
        assert all(sorted(t.values()) == [0.0, 1.0] for t in one_good)
        assert abs(np.mean([t["p_arm0"] for t in one_good]) - 0.5) < 0.04  # which arm: 50/50
    with pytest.raises(ValueError, match="splits"):
        make_scene("bandit").sample_task(rng, "ood")


# --------------------------------------------------------------------------------------------------------
# Payouts and seeding
# --------------------------------------------------------------------------------------------------------


def test_one_good_rewards_are_deterministic() -> None:
    batch = make_scene("bandit", variant="one-good").make_batch(
        4, [ONE_GOOD_ARM0, ONE_GOOD_ARM0, {"p_arm0": 0.0, "p_arm1": 1.0}, {"p_arm0": 0.0, "p_arm1": 1.0}]
    )
    rng = np.random.default_rng(3)
    for _ in range(200):
        batch.reset(np.arange(4), seeds=rng.integers(0, 2**31 - 1, size=4).tolist())
        obs, reward, terminated, truncated, info = batch.step(np.array([0, 1, 1, 0]))
        np.testing.assert_array_equal(reward, [1.0, 0.0, 1.0, 0.0])
        np.testing.assert_array_equal(info["optimal"], [True, False, True, False])
        assert terminated.all() and not truncated.any()  # every pull is one episode
        assert obs.shape == (4, 1) and obs.dtype == np.float32 and (obs == 1.0).all()
        assert reward.dtype == np.float64


def test_uniform_payout_rates_match_the_probabilities() -> None:
    probs = [(0.3, 0.8), (0.05, 0.5), (0.65, 0.65)]
    n = 600  # 200 envs per task, half pulling each arm
    tasks = [{"p_arm0": p0, "p_arm1": p1} for p0, p1 in probs for _ in range(n // len(probs))]
    batch = make_scene("bandit").make_batch(n, tasks)
    actions = np.tile([0, 1], n // 2)
    batch.reset(np.arange(n), seeds=list(range(n)))  # fixed seeds: this test cannot flake
    rewards = []
    for _ in range(50):
        _, reward, _, _, info = batch.step(actions)
        rewards.append(reward)
        batch.reset(np.arange(n))  # no seeds: each env's Generator continues
    rates = np.mean(rewards, axis=0).reshape(len(probs), -1, 2).mean(axis=1)  # (task, arm)
    # 5,000 pulls per (task, arm): the standard error is at most 0.007.
    np.testing.assert_allclose(rates, probs, atol=0.025)
    # Ties count as optimal; otherwise the arm with the larger p is.
    np.testing.assert_array_equal(
        info["optimal"].reshape(len(probs), -1, 2)[:, 0], [[False, True], [False, True], [True, True]]
    )


def test_same_seeds_same_rewards_and_unseeded_resets_continue_the_stream() -> None:
    tasks = [{"p_arm0": 0.5, "p_arm1": 0.5}] * 8
    actions = np.random.default_rng(0).integers(0, 2, size=(100, 8))

    def rollout(seeds: list[int], reseed_every_pull: bool) -> np.ndarray:
        batch = BanditBatch(8, tasks)
        batch.reset(np.arange(8), seeds=seeds)
        out = []
        for k, a in enumerate(actions):
            out.append(batch.step(a)[1])
            batch.reset(np.arange(8), seeds=[s + k + 1 for s in seeds] if reseed_every_pull else None)
        return np.array(out)

    seeds = list(range(10, 18))
    for reseed in (False, True):
        first = rollout(seeds, reseed)
        np.testing.assert_array_equal(first, rollout(seeds, reseed))
        assert not np.array_equal(first, rollout([s + 100 for s in seeds], reseed))
        assert 0.35 < first.mean() < 0.65

    env = make_scene("bandit").make_env({"p_arm0": 0.5, "p_arm1": 0.5})

    def single(seed: int) -> list[float]:
        env.reset(seed=seed)
        rewards = []
        for a in actions[:, 0]:
            rewards.append(env.step(int(a))[1])
            env.reset()
        return rewards

    assert single(4) == single(4) and single(4) != single(5)


# --------------------------------------------------------------------------------------------------------
# Task edits
# --------------------------------------------------------------------------------------------------------


def test_set_task_applies_at_the_next_pull() -> None:
    env = make_scene("bandit").make_env(ONE_GOOD_ARM0)
    env.reset(seed=0)
    assert env.step(0)[1] == 1.0
    env.reset()
    env.set_task(p_arm0=0.0, p_arm1=1.0)  # after the reset, before the pull: this pull already
    assert env.step(0)[1:3] == (0.0, True)
    assert env.task == {"p_arm0": 0.0, "p_arm1": 1.0}
    env.reset()
    assert env.step(1)[1] == 1.0

    # Mid-trial, through Trials: the next pull pays by the new task and the task tokens follow.
    trials = Trials(make_scene("bandit", variant="one-good", pulls=6), num_envs=2, seed=0)
    trials.reset()
    for _ in range(3):
        trials.step(np.zeros(2, dtype=np.int64))
    trials.set_task(1, p_arm0=1.0, p_arm1=0.0)
    trials.set_task(0, p_arm0=0.0, p_arm1=1.0)
    tokens, result = trials.step(np.zeros(2, dtype=np.int64))
    np.testing.assert_array_equal(result.reward, [0.0, 1.0])
    np.testing.assert_array_equal(tokens.task, [[0.0, 1.0], [1.0, 0.0]])
    trials.close()


@pytest.mark.parametrize(
    "edit",
    [
        {"p_arm0": 1.5},
        {"p_arm1": -0.1},
        {"p_arm0": float("nan")},
        {"p_arm0": "high"},
        {"p_arm0": None},
        {"p_arm2": 0.5},
        {"p_arm0": 0.2, "p_arm1": 2.0},  # one valid and one bad value: nothing may change
    ],
)
def test_bad_edits_raise_and_leave_the_task_unchanged(edit: dict[str, Any]) -> None:
    env = make_scene("bandit").make_env(ONE_GOOD_ARM0)
    batch = make_scene("bandit").make_batch(2, [ONE_GOOD_ARM0, ONE_GOOD_ARM0])
    env.reset(seed=0)
    message = r"unknown task parameter" if "p_arm2" in edit else r"must be in \[0, 1\]"
    with pytest.raises(ValueError, match=message):
        env.set_task(**edit)
    with pytest.raises(ValueError, match=message):
        batch.set_task(1, **edit)
    assert env.task == ONE_GOOD_ARM0 and batch.get_task(1) == ONE_GOOD_ARM0
    assert env.step(0)[1] == 1.0  # still the old task


def test_batch_checks_and_no_auto_reset() -> None:
    batch = BanditBatch(3, [ONE_GOOD_ARM0] * 3)
    for bad in (np.array([0, 1]), np.array([0, 1, 2]), np.array([0, -1, 1]), np.array([0.5, 1.0, 0.0])):
        with pytest.raises(ValueError):
            batch.step(bad)
    batch.step(np.array([0.0, 1.0, 1.0]))  # integral floats are fine
    np.testing.assert_array_equal(batch.ended, [True, True, True])
    batch.reset(np.array([0, 1]))
    with pytest.raises(RuntimeError, match="2"):  # env 2 was not reset; the message names it
        batch.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(IndexError):
        batch.reset(np.array([3]))
    with pytest.raises(IndexError):
        batch.set_task(3, p_arm0=0.5)
    with pytest.raises(ValueError, match="one seed per env"):
        batch.reset(np.array([0, 1]), seeds=[1])
    assert batch.reset(np.array([], dtype=np.int64)).shape == (0, 1)
    with pytest.raises(ValueError, match="missing"):
        BanditBatch(1, [{"p_arm0": 0.5}])
    with pytest.raises(ValueError, match="one task per env"):
        BanditBatch(2, [ONE_GOOD_ARM0])


# --------------------------------------------------------------------------------------------------------
# Trials: every pull is an episode
# --------------------------------------------------------------------------------------------------------


def test_trials_of_one_pull_episodes() -> None:
    pulls = 5
    trials = Trials(make_scene("bandit", variant="one-good", pulls=pulls), num_envs=4, seed=1)
    assert trials.steps_per_trial == pulls and trials.discrete and trials.action_dim == 2
    tokens = trials.reset()
    assert tokens.obs.shape == (4, 1) and tokens.trial_start.all() and not tokens.prev_action.any()
    first_tasks = trials.tasks()
    rng = np.random.default_rng(0)
    for t in range(1, pulls + 1):
        actions = rng.integers(0, 2, size=4)
        tokens, result = trials.step(actions)
        assert result.episode_end.all() and result.terminated.all()  # every pull ends its episode
        p = np.array([[task["p_arm0"], task["p_arm1"]] for task in first_tasks])
        np.testing.assert_array_equal(result.reward, p[np.arange(4), actions])  # one-good: deterministic
        np.testing.assert_array_equal(result.info["optimal"], result.reward == 1.0)
        assert result.trial_end == (t == pulls)
        if t < pulls:
            assert tokens.episode_start.all() and not tokens.trial_start.any()
            assert (tokens.prev_done == 1).all() and (tokens.episode_index == t).all()
            assert (tokens.step_in_episode == 0).all() and tokens.step_in_trial == t
            np.testing.assert_array_equal(tokens.prev_action, np.eye(2, dtype=np.float32)[actions])
            np.testing.assert_array_equal(tokens.prev_reward, result.reward)
            assert trials.tasks() == first_tasks
    # The trial ended on the last pull: the next token starts a new trial from zeros.
    assert tokens.trial_start.all() and tokens.step_in_trial == 0 and (tokens.episode_index == 0).all()
    assert not tokens.prev_reward.any() and not tokens.prev_done.any()
    trials.close()


def _mean_trial_return(policy: str, pulls: int = 10, num_envs: int = 256, num_trials: int = 4) -> float:
    """Mean trial return on one-good of a random policy, or of win-stay / lose-shift (the optimal one)."""
    trials = Trials(make_scene("bandit", variant="one-good", pulls=pulls), num_envs=num_envs, seed=7)
    tokens = trials.reset()
    rng = np.random.default_rng(1234)  # not 7: the same stream as the tasks would correlate actions with them
    returns, total = [], np.zeros(num_envs)
    for _ in range(num_trials * pulls):
        if policy == "random":
            actions = rng.integers(0, 2, size=num_envs)
        else:  # start on arm 0; after a pull, keep the arm if it paid, else switch
            last = tokens.prev_action.argmax(axis=1)
            actions = np.where(tokens.trial_start, 0, np.where(tokens.prev_reward > 0, last, 1 - last))
        tokens, result = trials.step(actions)
        total += result.reward
        if result.trial_end:
            returns.append(total.copy())
            total[:] = 0.0
    trials.close()
    assert len(returns) == num_trials
    return float(np.mean(returns))


def test_random_policy_earns_half_and_the_in_context_policy_nearly_all() -> None:
    # Random: Binomial(10, 1/2) per trial, mean 5; over 1,024 trials the standard error is 0.05.
    assert abs(_mean_trial_return("random") - 5.0) < 0.25
    # Win-stay / lose-shift earns 10 or 9 (a wasted first pull half the time): mean 9.5.
    assert abs(_mean_trial_return("win-stay-lose-shift") - 9.5) < 0.1


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(64, 64), (480, 480), (640, 480), (480, 640), (17, 9)])
def test_render_frame_sizes_and_pulled_arm(size: tuple[int, int]) -> None:
    width, height = size
    env = make_scene("bandit").make_env(ONE_GOOD_ARM0)
    env.reset(seed=0)
    before = env.render_frame(width, height)
    assert before.shape == (height, width, 3) and before.dtype == np.uint8
    assert _has_colour(before, FILL) and not _has_colour(before, HIGHLIGHT)  # no pull yet
    env.step(0)
    paid = env.render_frame(width, height)
    assert _has_colour(paid, HIGHLIGHT) and _has_colour(paid, LAMP_PAID)
    env.reset()  # the picture keeps showing the pull that just happened
    np.testing.assert_array_equal(env.render_frame(width, height), paid)
    env.step(1)
    unpaid = env.render_frame(width, height)
    assert _has_colour(unpaid, LAMP_UNPAID) and not _has_colour(unpaid, LAMP_PAID)
    assert not np.array_equal(paid, unpaid)


def test_bars_fill_to_the_probabilities() -> None:
    env = make_scene("bandit").make_env({"p_arm0": 0.25, "p_arm1": 0.75})
    frame = env.render_frame(480, 480)
    filled = (frame == np.array(FILL, dtype=np.uint8)).all(axis=-1)
    left, right = filled[:, :240].sum(axis=0).max(), filled[:, 240:].sum(axis=0).max()
    assert right == pytest.approx(3 * left, abs=2)
    env.set_task(p_arm0=0.0)
    frame = env.render_frame(480, 480)
    assert not (frame[:, :240] == np.array(FILL, dtype=np.uint8)).all(axis=-1).any()
    batch = make_scene("bandit").make_batch(2, [ONE_GOOD_ARM0, {"p_arm0": 0.0, "p_arm1": 0.75}])
    np.testing.assert_array_equal(batch.render_frame(1, 120, 90), env.render_frame(120, 90))
    for bad in ((0, 10), (10, -1), (10.5, 10)):
        with pytest.raises(ValueError):
            env.render_frame(*bad)


# --------------------------------------------------------------------------------------------------------
# Gymnasium
# --------------------------------------------------------------------------------------------------------


def test_gymnasium_checker_and_registry() -> None:
    check_env(make_scene("bandit").make_env(render_mode="rgb_array"), skip_render_check=True)  # no spec here
    made = gym.make(gym_id("bandit"), render_mode="rgb_array")
    check_env(made.unwrapped)
    obs, _ = made.reset(seed=0)
    assert obs in made.observation_space and made.render().shape == (480, 480, 3)
    _, reward, terminated, truncated, info = made.step(0)
    assert reward in (0.0, 1.0) and terminated and not truncated and isinstance(info["optimal"], bool)
    made.close()
    one_good = gym.make(gym_id("bandit"), variant="one-good", task=ONE_GOOD_ARM0)
    one_good.reset(seed=0)
    assert one_good.step(0)[1] == 1.0
    with pytest.warns(UserWarning, match="render_mode"):
        assert make_scene("bandit").make_env().render() is None
