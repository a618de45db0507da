"""The batched trial wrapper on real MuJoCo scenes: tokens, episode and trial boundaries, task edits."""

from __future__ import annotations

import numpy as np
import pytest

from scenes import make_scene
from scenes.trials import Trials, task_vector


def test_first_tokens_start_a_trial_from_zeros() -> None:
    trials = Trials(make_scene("halfcheetah-vel"), num_envs=3, seed=0)
    tokens = trials.reset()
    assert tokens.obs.shape == (3, 17) and tokens.obs.dtype == np.float32
    assert tokens.prev_action.shape == (3, 6) and not tokens.prev_action.any()
    assert not tokens.prev_reward.any() and not tokens.prev_done.any()
    assert tokens.trial_start.all() and tokens.episode_start.all()
    assert tokens.task.shape == (3, 1)
    np.testing.assert_allclose(tokens.task[:, 0], [t["target_velocity"] for t in trials.tasks()])
    trials.close()


def test_episode_and_trial_boundaries_follow_rl2() -> None:
    scene = make_scene("halfcheetah-dir")
    trials = Trials(scene, num_envs=2, seed=1)
    assert trials.steps_per_trial == 2 * 200
    tokens = trials.reset()
    first_tasks = trials.tasks()
    rng = np.random.default_rng(0)
    for t in range(1, 2 * 200 + 1):
        actions = rng.uniform(-2, 2, (2, 6))  # out of range on purpose: clipped before the env sees it
        tokens, result = trials.step(actions)
        if t < 200:
            assert not result.episode_end.any() and not tokens.episode_start.any()
            np.testing.assert_array_equal(tokens.prev_action, np.clip(actions, -1, 1).astype(np.float32))
            np.testing.assert_array_equal(tokens.prev_reward, result.reward)
            assert (tokens.episode_index == 0).all() and (tokens.step_in_episode == t).all()
        elif t == 200:  # time limit: a new episode of the SAME task; previous action/reward carried over
            assert result.episode_end.all() and not result.trial_end
            assert tokens.episode_start.all() and not tokens.trial_start.any()
            assert (tokens.prev_done == 1).all() and (tokens.episode_index == 1).all()
            np.testing.assert_array_equal(tokens.prev_reward, result.reward)
            assert (tokens.step_in_episode == 0).all() and tokens.step_in_trial == 200
            assert trials.tasks() == first_tasks
        elif t < 400:
            assert not result.episode_end.any() and (tokens.episode_index == 1).all()
    assert result.trial_end and result.episode_end.all()
    assert tokens.trial_start.all() and tokens.step_in_trial == 0
    assert not tokens.prev_action.any() and not tokens.prev_reward.any() and not tokens.prev_done.any()
    trials.close()


def test_early_termination_starts_another_episode_inside_the_trial() -> None:
    trials = Trials(make_scene("ant-dir"), num_envs=2, seed=2, steps_per_trial=30)
    trials.reset()
    ant = trials.batch.envs[1]
    qpos, qvel = ant.data.qpos.copy(), ant.data.qvel.copy()
    qpos[2] = 1.5  # lift env 1's torso out of the healthy range: it terminates this step
    ant.sim.unwrapped.set_state(qpos, qvel)
    tokens, result = trials.step(np.zeros((2, 8)))
    assert result.terminated.tolist() == [False, True] and result.episode_end.tolist() == [False, True]
    assert tokens.episode_start.tolist() == [False, True] and tokens.episode_index.tolist() == [0, 1]
    assert tokens.step_in_episode.tolist() == [1, 0] and not result.trial_end
    for _ in range(28):
        tokens, result = trials.step(np.zeros((2, 8)))
    assert not result.trial_end
    tokens, result = trials.step(np.zeros((2, 8)))
    assert result.trial_end and tokens.trial_start.all()
    trials.close()


def test_task_edit_mid_trial_applies_at_the_next_step() -> None:
    scene = make_scene("halfcheetah-vel")
    trials = Trials(scene, num_envs=2, seed=3)
    tokens = trials.reset()
    for _ in range(5):
        earlier = tokens
        tokens, _ = trials.step(np.zeros((2, 6)))
    env = trials.batch.envs[0]
    before = earlier.task.copy()
    trials.set_task(0, target_velocity=3.9)
    assert tokens.task[0, 0] == pytest.approx(3.9)  # the pending tokens: the agent's next input
    np.testing.assert_array_equal(earlier.task, before)  # a step already taken keeps the task it had
    x_before = env.data.qpos[0]
    tokens, result = trials.step(np.zeros((2, 6)))
    velocity = (env.data.qpos[0] - x_before) / 0.05
    assert result.reward[0] == pytest.approx(-abs(velocity - 3.9), abs=1e-5)
    with pytest.raises(ValueError, match=r"\[0, 4\] m/s"):
        trials.set_task(1, target_velocity=-1)
    with pytest.raises(ValueError, match="env_id"):
        trials.set_task(2, target_velocity=1)
    assert trials.tasks()[0] == {"target_velocity": 3.9}
    trials.close()


def test_seeded_trials_replay_exactly_and_new_trials_draw_new_tasks() -> None:
    def run(seed: int) -> tuple[list[dict], np.ndarray]:
        trials = Trials(make_scene("halfcheetah-vel"), num_envs=2, seed=seed, steps_per_trial=10)
        observations = [trials.reset().obs]
        tasks = trials.tasks()
        for _ in range(10):
            observations.append(trials.step(np.full((2, 6), 0.3))[0].obs)
        tasks += trials.tasks()
        trials.close()
        return tasks, np.stack(observations)

    tasks_a, obs_a = run(5)
    tasks_b, obs_b = run(5)
    assert tasks_a == tasks_b
    np.testing.assert_array_equal(obs_a, obs_b)
    assert tasks_a[:2] != tasks_a[2:]  # the trial boundary at step 10 drew fresh tasks
    assert run(6)[0] != tasks_a


def test_task_sampler_can_be_replaced_for_the_next_trial() -> None:
    scene = make_scene("halfcheetah-vel")
    trials = Trials(scene, num_envs=2, seed=0, steps_per_trial=3)
    trials.reset()
    trials.set_task_sampler(lambda rng: {"target_velocity": 0.5})
    for _ in range(3):
        tokens, _ = trials.step(np.zeros((2, 6)))
    assert trials.tasks() == [{"target_velocity": 0.5}] * 2
    np.testing.assert_array_equal(tokens.task, [[0.5], [0.5]])
    trials.close()


def test_task_vector_encodes_non_numeric_choices_by_index() -> None:
    scene = make_scene("halfcheetah-dir")
    assert task_vector(scene, {"direction": -1}).tolist() == [-1.0]
    with pytest.raises(ValueError, match="num_envs"):
        Trials(scene, num_envs=0)
    with pytest.raises(ValueError, match="splits"):
        Trials(scene, num_envs=1, split="ood")


def test_gridworld_trials_one_hot_actions_and_step_based_trials() -> None:
    scene = make_scene("dark-key-to-door")
    trials = Trials(scene, num_envs=64, seed=4)
    assert trials.steps_per_trial == 500 and trials.discrete and trials.action_dim == 5
    tokens = trials.reset()
    rng = np.random.default_rng(0)
    episodes_seen = np.zeros(64, dtype=np.int64)
    for t in range(1, 501):
        actions = rng.integers(0, 5, size=64)
        tokens, result = trials.step(actions)
        if t < 500:
            np.testing.assert_array_equal(tokens.prev_action, np.eye(5, dtype=np.float32)[actions])
            episodes_seen = np.maximum(episodes_seen, tokens.episode_index)
    assert result.trial_end and tokens.trial_start.all()
    assert episodes_seen.min() >= 9  # 500 steps hold at least ten episodes of at most 50 steps
    trials.close()


def test_varying_trial_lengths_change_the_lengths_and_nothing_else() -> None:
    """`trial_steps_max`: each reset draws its trials' length in [trial_steps, trial_steps_max] from a stream
    of its own, so the tasks, env seeds and steps are those of the fixed-length run (issue 21 item 1)."""
    from scenes.registry import make_scene

    ranged = Trials(make_scene("dark-key-to-door", trial_steps=50, trial_steps_max=120), 4, seed=3)
    fixed = Trials(make_scene("dark-key-to-door", trial_steps=50), 4, seed=3)
    rng = np.random.default_rng(0)
    lengths = []
    for seed in range(8):
        tokens, reference = ranged.reset(seed=seed), fixed.reset(seed=seed)
        lengths.append(ranged.steps_per_trial)
        assert ranged.tasks() == fixed.tasks() and np.array_equal(tokens.obs, reference.obs)
        for _ in range(49):
            actions = rng.integers(0, 4, size=4)
            (tokens, result), (reference, expected) = ranged.step(actions), fixed.step(actions)
            assert np.array_equal(tokens.obs, reference.obs) and np.array_equal(
                result.reward, expected.reward
            )
        for _ in range(ranged.steps_per_trial - 50):  # the longer trial goes on where the fixed one ended
            tokens, result = ranged.step(rng.integers(0, 4, size=4))
        assert not result.trial_end
        tokens, result = ranged.step(rng.integers(0, 4, size=4))
        assert result.trial_end and tokens.trial_start.all()
    assert all(50 <= n <= 120 for n in lengths) and len(set(lengths)) > 4
    assert fixed.steps_per_trial == 50
    ranged.close()
    fixed.close()


def test_the_time_input_is_the_trial_time_over_the_longest_trial() -> None:
    """`time_horizon` H (AMAGO's time input): the last observation entry is t / H (issue 21 item 2)."""
    from scenes.registry import make_scene

    trials = Trials(make_scene("darkroom", trial_steps=30, trial_steps_max=40, time_horizon=40), 2, seed=0)
    plain = Trials(make_scene("darkroom", trial_steps=30, trial_steps_max=40), 2, seed=0)
    assert trials.observation_space.shape[0] == plain.observation_space.shape[0] + 1
    tokens, reference = trials.reset(seed=1), plain.reset(seed=1)
    for t in range(1, 2 * trials.steps_per_trial + 5):
        assert np.allclose(tokens.obs[:, -1], tokens.step_in_trial / 40) and np.array_equal(
            tokens.obs[:, :-1], reference.obs
        )
        assert tokens.step_in_trial == (t - 1) % trials.steps_per_trial
        actions = np.array([t % 5, (t + 2) % 5])
        (tokens, _), (reference, _) = trials.step(actions), plain.step(actions)
    trials.close()
    plain.close()


def test_a_sampler_set_before_the_first_reset_decides_the_first_trial() -> None:
    trials = Trials(make_scene("halfcheetah-vel"), num_envs=2, seed=0)
    trials.set_task_sampler(lambda rng: {"target_velocity": 0.5})
    tokens = trials.reset()
    assert trials.tasks() == [{"target_velocity": 0.5}] * 2
    np.testing.assert_array_equal(tokens.task, [[0.5], [0.5]])
    trials.close()
    fresh = Trials(make_scene("halfcheetah-vel"), num_envs=2, seed=0)
    fresh.set_task_overrides({"target_velocity": 2.5})
    fresh.reset()
    assert fresh.tasks() == [{"target_velocity": 2.5}] * 2
    fresh.close()
