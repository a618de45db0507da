"""Locomotion scenes on real MuJoCo: spaces, rewards recomputed from simulator state, mid-episode task edits,
validation, seeded replay, rendering and the time limit."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from scenes import gym_id, make_scene
from scenes.locomotion import LocomotionEnv

LOCOMOTION = ["halfcheetah-vel", "halfcheetah-dir", "ant-dir", "ant-goal"]
DT = 0.05  # frame skip 5 × MuJoCo timestep 0.01 (Gymnasium v5 models)


def make(scene_id: str, **task: float) -> LocomotionEnv:
    scene = make_scene(scene_id)
    env = scene.make_env({**scene.default_task(), **task})
    env.reset(seed=0)
    return env


def independent_reward(scene_id: str, env: LocomotionEnv, action: np.ndarray) -> float:
    """Step `env` and recompute the paper's reward from simulator state before/after and the contact
    forces, without looking at the env's reward or info. Velocities as the papers' envs measure them:
    HalfCheetah from the root slide joint, Ant from the torso body frame (MuJoCo's xpos)."""
    qpos_before, xpos_before = env.data.qpos[:2].copy(), env.data.body("torso").xpos[:2].copy()
    env.step(action)
    qpos_after, xpos_after = env.data.qpos[:2].copy(), env.data.body("torso").xpos[:2].copy()
    vx, vy = (xpos_after - xpos_before) / DT
    if scene_id.startswith("halfcheetah"):
        vx = (qpos_after[0] - qpos_before[0]) / DT
    task = env.task
    if scene_id == "halfcheetah-vel":
        return -abs(vx - task["target_velocity"]) - 0.05 * float(np.sum(action**2))
    if scene_id == "halfcheetah-dir":
        return task["direction"] * vx - 0.05 * float(np.sum(action**2))
    contact = 5e-4 * float(np.sum(np.clip(env.data.cfrc_ext, -1.0, 1.0) ** 2))
    if scene_id == "ant-dir":
        g = task["goal_angle"]
        return vx * math.cos(g) + vy * math.sin(g) - 0.5 * float(np.sum(action**2)) - contact + 1.0
    assert scene_id == "ant-goal"
    l1 = abs(qpos_after[0] - task["goal_x"]) + abs(qpos_after[1] - task["goal_y"])
    return -l1 - 0.1 * float(np.sum(action**2)) - contact


@pytest.mark.parametrize("scene_id", LOCOMOTION)
def test_spaces_and_gym_registration(scene_id: str) -> None:
    env = gym.make(gym_id(scene_id))
    obs, _ = env.reset(seed=1)
    expected_obs = 17 if scene_id.startswith("halfcheetah") else 105
    expected_act = 6 if scene_id.startswith("halfcheetah") else 8
    assert obs.shape == (expected_obs,) and obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    assert env.action_space.shape == (expected_act,)
    obs, reward, _, _, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs) and isinstance(reward, float)
    assert math.isclose(reward, sum(v for k, v in info.items() if k.startswith("reward_")), rel_tol=1e-9)
    env.close()


@pytest.mark.parametrize("scene_id", LOCOMOTION)
def test_reward_matches_independent_computation(scene_id: str) -> None:
    rng = np.random.default_rng(0)
    env, twin = make(scene_id), make(scene_id)
    for _ in range(15):
        action = rng.uniform(-1, 1, env.action_space.shape)
        expected = independent_reward(scene_id, twin, action)
        _, reward, terminated, _, _ = env.step(action)
        assert reward == pytest.approx(expected, abs=1e-9)
        if terminated:
            break
    env.close()
    twin.close()


EDITS = {
    "halfcheetah-vel": {"target_velocity": 3.5},
    "halfcheetah-dir": {"direction": -1},
    "ant-dir": {"goal_angle": -2.5},
    "ant-goal": {"goal_x": -2.0, "goal_y": 2.5},
}


@pytest.mark.parametrize("scene_id", LOCOMOTION)
def test_mid_episode_set_task_changes_reward_at_next_step(scene_id: str) -> None:
    rng = np.random.default_rng(1)
    env, twin = make(scene_id), make(scene_id)
    for _ in range(10):  # mid-episode, both envs in the same state
        action = rng.uniform(-1, 1, env.action_space.shape)
        env.step(action)
        twin.step(action)
    env.set_task(**EDITS[scene_id])
    twin.set_task(**EDITS[scene_id])
    action = rng.uniform(-1, 1, env.action_space.shape)
    unedited = make(scene_id)
    unedited.sim.unwrapped.set_state(env.data.qpos.copy(), env.data.qvel.copy())
    _, reward, *_ = env.step(action)
    _, reward_before_edit, *_ = unedited.step(action)
    assert reward == pytest.approx(independent_reward(scene_id, twin, action), abs=1e-9)
    assert reward != pytest.approx(reward_before_edit, abs=1e-6)
    assert env.task == {**make_scene(scene_id).default_task(), **EDITS[scene_id]}
    for e in (env, twin, unedited):
        e.close()


BAD_EDITS = {
    "halfcheetah-vel": [
        ({"target_velocity": 4.5}, r"\[0, 4\] m/s"),
        ({"target_velocity": "fast"}, "got 'fast'"),
    ],
    "halfcheetah-dir": [({"direction": 0}, "one of -1, 1"), ({"direction": 2}, "one of -1, 1")],
    "ant-dir": [({"goal_angle": 4.0}, r"\[-3.14159, 3.14159\] rad"), ({"goal_angle": float("nan")}, "nan")],
    "ant-goal": [
        ({"goal_x": 1.0, "goal_y": 3.5}, "goal_y"),
        ({"goal": 1.0}, "unknown task parameter.*goal_x"),
    ],
}


@pytest.mark.parametrize("scene_id", LOCOMOTION)
def test_bad_edits_raise_and_leave_task_untouched(scene_id: str) -> None:
    env = make(scene_id)
    env.step(env.action_space.sample())
    before = env.task
    for edit, message in BAD_EDITS[scene_id]:
        with pytest.raises(ValueError, match=message):
            env.set_task(**edit)
        assert env.task == before
    env.close()


@pytest.mark.parametrize("scene_id", LOCOMOTION)
def test_seeded_replay_is_deterministic(scene_id: str) -> None:
    def rollout() -> tuple[np.ndarray, np.ndarray]:
        env = make_scene(scene_id).make_env()
        obs = [env.reset(seed=123)[0]]
        rewards = []
        rng = np.random.default_rng(7)
        for _ in range(30):
            o, r, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
            obs.append(o)
            rewards.append(r)
        env.close()
        return np.stack(obs), np.array(rewards)

    (obs_a, rew_a), (obs_b, rew_b) = rollout(), rollout()
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)


@pytest.mark.parametrize("scene_id", LOCOMOTION)
def test_rendered_frame_is_not_blank_at_requested_size(scene_id: str) -> None:
    env = make(scene_id)
    for width, height in [(97, 61), (320, 240)]:
        frame = env.render_frame(width, height)
        assert frame.shape == (height, width, 3) and frame.dtype == np.uint8
        assert frame.std() > 10 and len(np.unique(frame.reshape(-1, 3), axis=0)) > 50
    env.close()


def test_task_marker_is_drawn_and_follows_an_edit() -> None:
    env = make("ant-goal", goal_x=2.0, goal_y=0.0)
    with_goal_right = env.render_frame(160, 120).astype(int)
    env.set_task(goal_x=-2.0)
    with_goal_left = env.render_frame(160, 120).astype(int)
    assert np.abs(with_goal_right - with_goal_left).sum() > 1000
    env.close()


def test_time_limit_truncates_at_200_steps() -> None:
    env = make("halfcheetah-vel")
    for step in range(1, 201):
        _, _, terminated, truncated, _ = env.step(np.zeros(6))
        assert not terminated
        assert truncated == (step == 200)
    env.close()


def test_ant_dir_terminates_when_torso_leaves_healthy_range() -> None:
    env = make("ant-dir")
    qpos, qvel = env.data.qpos.copy(), env.data.qvel.copy()
    qpos[2] = 1.5  # torso above the healthy z range [0.2, 1.0]
    env.sim.unwrapped.set_state(qpos, qvel)
    _, _, terminated, truncated, _ = env.step(np.zeros(8))
    assert terminated and not truncated
    env.close()
    goal = make("ant-goal")  # PEARL's AntGoal never terminates
    goal.sim.unwrapped.set_state(qpos, qvel)
    assert not goal.step(np.zeros(8))[2]
    goal.close()


def test_task_distributions_follow_the_papers() -> None:
    rng = np.random.default_rng(0)
    vel = make_scene("halfcheetah-vel")
    train = [vel.sample_task(rng, "train")["target_velocity"] for _ in range(500)]
    ood = [vel.sample_task(rng, "ood")["target_velocity"] for _ in range(500)]
    assert min(train) >= 0 and max(train) <= 3 and max(train) > 2.9
    assert min(ood) >= 3 and max(ood) <= 4
    assert {make_scene("halfcheetah-dir").sample_task(rng)["direction"] for _ in range(50)} == {-1, 1}
    assert {make_scene("ant-dir").sample_task(rng)["goal_angle"] for _ in range(50)} == {-1.0, 1.0}
    angles = [make_scene("ant-dir", variant="random-2d").sample_task(rng)["goal_angle"] for _ in range(200)]
    assert min(angles) < -2.5 and max(angles) > 2.5
    goals = [make_scene("ant-goal").sample_task(rng) for _ in range(500)]
    radii = np.hypot([g["goal_x"] for g in goals], [g["goal_y"] for g in goals])
    assert radii.max() <= 3.0 and np.mean(radii < 3 / math.sqrt(2)) == pytest.approx(0.5, abs=0.08)
    with pytest.raises(ValueError, match="splits train, test; got 'ood'"):
        make_scene("ant-goal").sample_task(rng, "ood")
    with pytest.raises(ValueError, match=r"variant.*'paper', 'random-2d', got '3d'"):
        make_scene("ant-dir", variant="3d")


def test_the_default_camera_looks_at_the_body_wherever_it_has_run() -> None:
    """A camera made for a frame starts at the torso's centre of mass; before, it started at the origin and MuJoCo's
    tracking filter left a running cheetah behind, out of the video after a few seconds."""
    import mujoco

    env = make_scene("halfcheetah-vel").make_env()
    env.reset(seed=0)
    env.unwrapped.data.qpos[0] = 25.0  # the root slide joint: 25 m down the track
    mujoco.mj_forward(env.unwrapped.model, env.unwrapped.data)
    camera = env.unwrapped.default_camera()
    assert camera.lookat[0] == pytest.approx(env.unwrapped.data.subtree_com[camera.trackbodyid][0])
    assert camera.lookat[0] > 20
    env.close()
