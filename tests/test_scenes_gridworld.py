"""Dark-Key-To-Door and Dark Room: dynamics against an independent pure-Python reference, task edits,
splits, rendering, and the single-env / batch agreement."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from scenes import gym_id, make_scene
from scenes.gridworld import DARKROOM_SPLITS, DKTD_SPLITS, DarkKeyToDoor, Darkroom
from scenes.gridworld_envs import DarkKeyToDoorBatch, DarkroomBatch

UP, LEFT, DOWN, RIGHT, STAY = range(5)
# Written out again, independently of scenes/gridworld_room.py: AMAGO's `dirs` (toy_gym.py line 243).
DIRS = {UP: (0, -1), LEFT: (-1, 0), DOWN: (0, 1), RIGHT: (1, 0), STAY: (0, 0)}


def dktd_task(key: tuple[int, int], door: tuple[int, int], start: tuple[int, int]) -> dict[str, int]:
    return {
        "key_x": key[0],
        "key_y": key[1],
        "door_x": door[0],
        "door_y": door[1],
        "start_x": start[0],
        "start_y": start[1],
    }


class RefKeyDoor:
    """One Dark-Key-To-Door env in plain Python, written from AMAGO's RoomKeyDoor description."""

    H = 50

    def __init__(self, task: dict[str, int]) -> None:
        self.set_task(task)
        self.reset()

    def set_task(self, task: dict[str, int]) -> None:
        self.key = (task["key_x"], task["key_y"])
        self.door = (task["door_x"], task["door_y"])
        self.start = (task["start_x"], task["start_y"])

    def reset(self) -> np.ndarray:
        self.pos, self.has_key, self.t = self.start, False, 0
        return self.obs()

    def obs(self) -> np.ndarray:
        x, y = self.pos
        return np.array([x / 9, y / 9, float(self.has_key), self.t / self.H], dtype=np.float32)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, bool]]:
        dx, dy = DIRS[action]
        self.pos = (min(max(self.pos[0] + dx, 0), 8), min(max(self.pos[1] + dy, 0), 8))
        self.t += 1
        reward, terminated, got_key, got_door = 0.0, False, False, False
        if self.has_key and self.pos == self.door:
            reward, terminated, got_door = 1.0, True, True
        elif not self.has_key and self.pos == self.key:
            reward, got_key, self.has_key = 1.0, True, True
        truncated = self.t >= self.H
        info = {"reached_key": got_key, "reached_door": got_door, "has_key": self.has_key}
        return self.obs(), reward, terminated, truncated, info


class RefDarkroom:
    """One AD Dark Room env in plain Python: centre start, +1 on every step on the goal, 20 steps."""

    H = 20

    def __init__(self, goal: tuple[int, int]) -> None:
        self.goal = goal
        self.reset()

    def reset(self) -> np.ndarray:
        self.pos, self.t = (4, 4), 0
        return np.array([self.pos[0] / 9, self.pos[1] / 9], dtype=np.float32)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, bool]]:
        dx, dy = DIRS[action]
        self.pos = (min(max(self.pos[0] + dx, 0), 8), min(max(self.pos[1] + dy, 0), 8))
        self.t += 1
        on_goal = self.pos == self.goal
        obs = np.array([self.pos[0] / 9, self.pos[1] / 9], dtype=np.float32)
        return obs, float(on_goal), False, self.t >= self.H, {"on_goal": on_goal}


def random_dktd_task(rng: np.random.Generator) -> dict[str, int]:
    c = rng.integers(0, 9, size=6)
    return dktd_task((int(c[0]), int(c[1])), (int(c[2]), int(c[3])), (int(c[4]), int(c[5])))


# --------------------------------------------------------------------------------------------------------
# Spaces, reset, scripted rewards
# --------------------------------------------------------------------------------------------------------


def test_spaces_reset_and_scene_metadata() -> None:
    dktd, room = make_scene("dark-key-to-door"), make_scene("darkroom")
    assert (dktd.episode_length, dktd.steps_per_trial, dktd.action_kind) == (50, 500, "discrete")
    assert (room.episode_length, room.steps_per_trial, room.action_kind) == (20, 400, "discrete")
    assert [p["name"] for p in dktd.describe()["task_params"]] == [
        "key_x",
        "key_y",
        "door_x",
        "door_y",
        "start_x",
        "start_y",
    ]

    env = dktd.make_env(dktd_task((1, 1), (7, 7), (3, 5)))
    assert env.action_space == gym.spaces.Discrete(5)
    assert isinstance(env.observation_space, gym.spaces.Box) and env.observation_space.shape == (4,)
    obs, info = env.reset(seed=3)
    assert obs.dtype == np.float32 and obs in env.observation_space and info == {}
    np.testing.assert_array_equal(obs, np.float32([3 / 9, 5 / 9, 0.0, 0.0]))

    renv = room.make_env({"goal_x": 0, "goal_y": 0})
    obs, _ = renv.reset()
    assert renv.action_space == gym.spaces.Discrete(5) and renv.observation_space.shape == (2,)
    np.testing.assert_array_equal(obs, np.float32([4 / 9, 4 / 9]))  # AD: reset at the centre


def test_scripted_path_key_once_then_door_terminates() -> None:
    env = DarkKeyToDoor().make_env(dktd_task(key=(2, 4), door=(6, 4), start=(4, 4)))
    env.reset()
    rewards = []
    for action in (LEFT, LEFT):  # (4,4) -> (3,4) -> (2,4) = key
        obs, r, term, trunc, info = env.step(action)
        rewards.append(r)
    assert rewards == [0.0, 1.0] and info == {"reached_key": True, "reached_door": False, "has_key": True}
    assert obs[2] == 1.0 and not term and not trunc
    # Revisiting the key (leave, come back, stand on it) pays nothing more.
    for action in (UP, DOWN, STAY):
        _, r, term, _, info = env.step(action)
        assert r == 0.0 and not term and not info["reached_key"]
    total = 0.0
    for action in (RIGHT, RIGHT, RIGHT, RIGHT):  # (2,4) -> (6,4) = door
        obs, r, term, trunc, info = env.step(action)
        total += r
    assert total == 1.0 and term and not trunc and info["reached_door"]
    np.testing.assert_array_equal(obs, np.float32([6 / 9, 4 / 9, 1.0, 9 / 50]))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(STAY)
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, np.float32([4 / 9, 4 / 9, 0.0, 0.0]))  # key is gone again


def test_door_without_key_pays_nothing_and_key_on_door_needs_a_second_step() -> None:
    env = DarkKeyToDoor().make_env(dktd_task(key=(0, 0), door=(5, 4), start=(4, 4)))
    env.reset()
    _, r, term, _, _ = env.step(RIGHT)  # onto the door without the key
    assert (r, term) == (0.0, False)

    # key == door is allowed (AMAGO draws them independently): key on arrival, door on a later step there.
    same = DarkKeyToDoor().make_env(dktd_task(key=(5, 4), door=(5, 4), start=(4, 4)))
    same.reset()
    _, r1, term1, _, info1 = same.step(RIGHT)
    _, r2, term2, _, info2 = same.step(STAY)
    assert (r1, term1, info1["reached_key"]) == (1.0, False, True)
    assert (r2, term2, info2["reached_door"]) == (1.0, True, True)


def test_start_on_key_needs_a_step_to_collect() -> None:
    env = DarkKeyToDoor().make_env(dktd_task(key=(4, 4), door=(0, 0), start=(4, 4)))
    obs, _ = env.reset()
    assert obs[2] == 0.0  # standing on the key at reset does not collect it
    _, r, _, _, _ = env.step(STAY)
    assert r == 1.0


def test_truncation_at_episode_length() -> None:
    env = DarkKeyToDoor().make_env(dktd_task(key=(0, 0), door=(8, 8), start=(4, 4)))
    env.reset()
    for k in range(1, 51):
        obs, r, term, trunc, _ = env.step(STAY)
        assert r == 0.0 and not term and trunc == (k == 50)
        assert obs[3] == np.float32(k / 50)
    with pytest.raises(RuntimeError):
        env.step(STAY)

    room = Darkroom().make_env({"goal_x": 4, "goal_y": 4})  # goal on the start cell
    room.reset()
    results = [room.step(STAY) for _ in range(20)]
    # AD's Dark Room pays on every step on the goal and never terminates; the episode is 20 steps.
    assert [r for _, r, _, _, _ in results] == [1.0] * 20
    assert [term for _, _, term, _, _ in results] == [False] * 20
    assert [trunc for _, _, _, trunc, _ in results] == [False] * 19 + [True]
    with pytest.raises(RuntimeError):
        room.step(STAY)


def test_darkroom_reward_only_on_goal() -> None:
    room = Darkroom().make_env({"goal_x": 6, "goal_y": 4})
    room.reset()
    rewards = [room.step(a)[1] for a in (RIGHT, RIGHT, STAY, LEFT, RIGHT, UP)]
    assert rewards == [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]


# --------------------------------------------------------------------------------------------------------
# Reference comparison: 64 envs × 500 steps with resets and mid-episode edits
# --------------------------------------------------------------------------------------------------------


def test_dktd_batch_matches_reference_with_resets_and_edits() -> None:
    rng = np.random.default_rng(7)
    n, steps = 64, 500
    tasks = [random_dktd_task(rng) for _ in range(n)]
    # Plant some key == door and start == key tasks: the corner cases must match too.
    tasks[0] = dktd_task((3, 3), (3, 3), (2, 3))
    tasks[1] = dktd_task((5, 5), (0, 8), (5, 5))
    batch = DarkKeyToDoor().make_batch(n, tasks)
    refs = [RefKeyDoor(t) for t in tasks]
    obs = batch.reset(np.arange(n), seeds=list(range(n)))
    np.testing.assert_array_equal(obs, np.stack([r.reset() for r in refs]))
    # A policy biased towards "stay" and one direction reaches keys and doors more often than uniform noise.
    probs = np.array([0.2, 0.15, 0.2, 0.15, 0.3])
    seen = {"key": 0, "door": 0, "trunc": 0, "edit": 0}
    for _ in range(steps):
        for i in np.flatnonzero(rng.random(n) < 0.01):  # mid-episode edits on both sides
            new = random_dktd_task(rng)
            batch.set_task(int(i), **new)
            refs[i].set_task(new)
            seen["edit"] += 1
        actions = rng.choice(5, size=n, p=probs)
        obs, reward, term, trunc, info = batch.step(actions)
        expected = [ref.step(int(a)) for ref, a in zip(refs, actions, strict=True)]
        np.testing.assert_array_equal(obs, np.stack([e[0] for e in expected]))
        np.testing.assert_array_equal(reward, [e[1] for e in expected])
        np.testing.assert_array_equal(term, [e[2] for e in expected])
        np.testing.assert_array_equal(trunc, [e[3] for e in expected])
        for name in ("reached_key", "reached_door", "has_key"):
            np.testing.assert_array_equal(info[name], [e[4][name] for e in expected])
        assert obs.dtype == np.float32 and reward.shape == (n,) and term.dtype == bool
        seen["key"] += int(info["reached_key"].sum())
        seen["door"] += int(info["reached_door"].sum())
        seen["trunc"] += int(trunc.sum())
        done = np.flatnonzero(term | trunc)
        if done.size:
            obs0 = batch.reset(done)
            np.testing.assert_array_equal(obs0, np.stack([refs[i].reset() for i in done]))
    # The comparison exercised every branch, not only empty rooms.
    assert all(count > 10 for count in seen.values()), seen


def test_darkroom_batch_matches_reference() -> None:
    rng = np.random.default_rng(11)
    n = 64
    goals = [(int(x), int(y)) for x, y in rng.integers(0, 9, size=(n, 2))]
    goals[0] = (4, 4)
    batch = Darkroom().make_batch(n, [{"goal_x": x, "goal_y": y} for x, y in goals])
    refs = [RefDarkroom(g) for g in goals]
    np.testing.assert_array_equal(batch.reset(np.arange(n)), np.stack([r.reset() for r in refs]))
    paid = 0
    for _ in range(500):
        actions = rng.integers(0, 5, size=n)
        obs, reward, term, trunc, info = batch.step(actions)
        expected = [ref.step(int(a)) for ref, a in zip(refs, actions, strict=True)]
        np.testing.assert_array_equal(obs, np.stack([e[0] for e in expected]))
        np.testing.assert_array_equal(reward, [e[1] for e in expected])
        np.testing.assert_array_equal(info["on_goal"], [e[4]["on_goal"] for e in expected])
        assert not term.any()
        np.testing.assert_array_equal(trunc, [e[3] for e in expected])
        paid += int(reward.sum())
        done = np.flatnonzero(trunc)
        if done.size:
            np.testing.assert_array_equal(batch.reset(done), np.stack([refs[i].reset() for i in done]))
    assert paid > 50


# --------------------------------------------------------------------------------------------------------
# Task edits
# --------------------------------------------------------------------------------------------------------


def test_set_task_mid_episode_moves_key_onto_next_cell() -> None:
    env = DarkKeyToDoor().make_env(dktd_task(key=(0, 0), door=(8, 8), start=(4, 4)))
    env.reset()
    env.step(RIGHT)  # at (5, 4)
    env.set_task(key_x=6, key_y=4)  # the cell the agent steps into next
    _, r, _, _, info = env.step(RIGHT)
    assert r == 1.0 and info["reached_key"]
    # Moving the key after it was collected does not take it away, and it cannot be collected twice.
    env.set_task(key_x=7, key_y=4)
    obs, r, _, _, info = env.step(RIGHT)
    assert r == 0.0 and info["has_key"] and obs[2] == 1.0
    # Moving the door onto the next cell pays and ends the episode at once.
    env.set_task(door_x=8, door_y=4)
    _, r, term, _, _ = env.step(RIGHT)
    assert r == 1.0 and term


def test_set_task_moves_goal_and_start_applies_at_reset() -> None:
    room = Darkroom().make_env({"goal_x": 0, "goal_y": 0})
    room.reset()
    room.set_task(goal_x=4, goal_y=3)
    assert room.step(UP)[1] == 1.0

    env = DarkKeyToDoor().make_env(dktd_task(key=(0, 0), door=(8, 8), start=(4, 4)))
    env.reset()
    obs_before, *_ = env.step(DOWN)
    env.set_task(start_x=1, start_y=2)
    obs_after, *_ = env.step(STAY)
    assert tuple(obs_after[:2]) == tuple(obs_before[:2])  # no teleport mid-episode
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs[:2], np.float32([1 / 9, 2 / 9]))


@pytest.mark.parametrize(
    "edit",
    [
        {"key_x": 9},
        {"door_y": -1},
        {"key_x": 2.5},
        {"start_x": "left"},
        {"key_x": None},
        {"colour": 3},
        {"key_x": 1, "door_x": 12},  # one valid and one bad value: nothing may change
    ],
)
def test_bad_edits_rejected_and_task_unchanged(edit: dict[str, Any]) -> None:
    task = dktd_task(key=(2, 4), door=(6, 4), start=(4, 4))
    env = DarkKeyToDoor().make_env(task)
    batch = DarkKeyToDoor().make_batch(2, [task, task])
    env.reset()
    env.step(LEFT)
    with pytest.raises(ValueError):
        env.set_task(**edit)
    with pytest.raises(ValueError):
        batch.set_task(1, **edit)
    assert env.task == task and batch.get_task(1) == task
    _, r, _, _, _ = env.step(LEFT)  # the key is still where it was
    assert r == 1.0


def test_bad_darkroom_edits_and_missing_parameters() -> None:
    room = Darkroom().make_env({"goal_x": 1, "goal_y": 2})
    for edit in ({"goal_x": 9}, {"goal_y": 0.5}, {"key_x": 1}):
        with pytest.raises(ValueError):
            room.set_task(**edit)
    assert room.task == {"goal_x": 1, "goal_y": 2}
    with pytest.raises(ValueError, match="missing"):
        DarkKeyToDoor().make_env({"key_x": 1, "key_y": 1, "door_x": 2, "door_y": 2})
    with pytest.raises(ValueError, match="missing"):
        DarkroomBatch(1, [{"goal_x": 3}])
    with pytest.raises(ValueError, match="one task per env"):
        DarkKeyToDoorBatch(2, [dktd_task((0, 0), (1, 1), (2, 2))])


def test_integral_values_are_coerced() -> None:
    env = DarkKeyToDoor().make_env(dktd_task(key=(2, 4), door=(6, 4), start=(4, 4)))
    env.set_task(key_x=3.0, key_y="4")
    assert env.task["key_x"] == 3 and isinstance(env.task["key_x"], int) and env.task["key_y"] == 4


# --------------------------------------------------------------------------------------------------------
# Stepping contract, determinism, single vs batch
# --------------------------------------------------------------------------------------------------------


def test_batch_action_validation_and_no_auto_reset() -> None:
    batch = DarkKeyToDoor().make_batch(3, [dktd_task((0, 0), (1, 1), (4, 4))] * 3)
    for bad in (np.array([0, 1]), np.array([0, 1, 5]), np.array([0, -1, 2]), np.array([0.5, 1.0, 2.0])):
        with pytest.raises(ValueError):
            batch.step(bad)
    batch.step(np.array([0.0, 1.0, 4.0]))  # integral floats are fine
    with pytest.raises(IndexError):
        batch.reset(np.array([3]))
    with pytest.raises(IndexError):
        batch.set_task(5, key_x=1)
    for _ in range(49):
        batch.step(np.full(3, STAY))
    np.testing.assert_array_equal(batch.ended, [True, True, True])
    with pytest.raises(RuntimeError, match="reset"):
        batch.step(np.full(3, STAY))
    batch.reset(np.array([0, 1]))
    with pytest.raises(RuntimeError, match="2"):  # env 2 still ended; the message names it
        batch.step(np.full(3, STAY))
    assert batch.reset(np.array([], dtype=np.int64)).shape == (0, 4)


def test_deterministic_replay_with_seed() -> None:
    scene = DarkKeyToDoor()
    actions = np.random.default_rng(0).integers(0, 5, size=200)

    def rollout(seed: int) -> list[tuple[Any, ...]]:
        env = scene.make_env(scene.sample_task(np.random.default_rng(seed)))
        out: list[tuple[Any, ...]] = []
        obs, _ = env.reset(seed=seed)
        for a in actions:
            obs, r, term, trunc, info = env.step(int(a))
            out.append((obs.tobytes(), r, term, trunc, tuple(info.values())))
            if term or trunc:
                obs, _ = env.reset(seed=seed)
        return out

    assert rollout(5) == rollout(5)
    assert rollout(5) != rollout(6)  # different task, different trajectory


def test_make_env_and_make_batch_agree() -> None:
    for scene in (DarkKeyToDoor(), Darkroom()):
        rng = np.random.default_rng(2)
        tasks = [scene.sample_task(rng) for _ in range(5)]
        batch = scene.make_batch(5, tasks)
        envs = [scene.make_env(t) for t in tasks]
        np.testing.assert_array_equal(batch.reset(np.arange(5)), np.stack([e.reset()[0] for e in envs]))
        for _ in range(120):
            actions = rng.integers(0, 5, size=5)
            obs, reward, term, trunc, info = batch.step(actions)
            singles = [e.step(int(a)) for e, a in zip(envs, actions, strict=True)]
            np.testing.assert_array_equal(obs, np.stack([s[0] for s in singles]))
            np.testing.assert_array_equal(reward, [s[1] for s in singles])
            np.testing.assert_array_equal(term | trunc, [s[2] or s[3] for s in singles])
            for key in info:
                np.testing.assert_array_equal(info[key], [s[4][key] for s in singles])
            for i in np.flatnonzero(term | trunc):
                np.testing.assert_array_equal(batch.reset(np.array([i]))[0], envs[i].reset()[0])
        assert [batch.get_task(i) for i in range(5)] == [e.task for e in envs] == tasks


def test_gymnasium_checker_and_registry() -> None:
    for scene_id in ("dark-key-to-door", "darkroom"):
        made = gym.make(gym_id(scene_id), render_mode="rgb_array")
        check_env(made.unwrapped)  # through gym.make, so the checker can also try the other render modes
        obs, _ = made.reset(seed=0)
        assert obs in made.observation_space and made.render().shape == (480, 480, 3)
        made.close()
        with pytest.warns(UserWarning, match="render_mode"):
            assert make_scene(scene_id).make_env().render() is None  # Gymnasium: no render_mode, no frame
    with pytest.raises(ValueError, match="render_mode"):
        make_scene("darkroom").make_env(render_mode="human")


# --------------------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------------------


def test_splits_disjoint_complete_and_frozen() -> None:
    for splits, total in ((DKTD_SPLITS, 81 * 81), (DARKROOM_SPLITS, 81)):
        train, test = set(splits["train"].tolist()), set(splits["test"].tolist())
        assert not train & test and len(train | test) == total
        assert len(test) == round(0.2 * total)
    # The held-out set is part of the benchmark's definition: it must not move between versions.
    assert DKTD_SPLITS["test"][:5].tolist() == [10, 11, 15, 16, 25]
    assert DARKROOM_SPLITS["test"].tolist() == [0, 2, 8, 10, 12, 18, 30, 34, 49, 51, 54, 57, 58, 62, 76, 79]


def test_sample_task_respects_split() -> None:
    for scene in (DarkKeyToDoor(), Darkroom()):
        rng = np.random.default_rng(0)
        for split in ("train", "test"):
            tasks = [scene.sample_task(rng, split) for _ in range(300)]
            assert all(scene.task_split(t) == split for t in tasks)
            assert all(isinstance(v, int) and 0 <= v <= 8 for t in tasks for v in t.values())
        with pytest.raises(ValueError, match="splits"):
            scene.sample_task(rng, "ood")
    starts = {(t["start_x"], t["start_y"]) for t in (DarkKeyToDoor().sample_task(rng) for _ in range(500))}
    assert len(starts) > 60  # the start is drawn per task over the whole room, as in AMAGO


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------


def _has_colour(frame: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    return bool((frame == np.array(rgb, dtype=np.uint8)).all(axis=-1).any())


@pytest.mark.parametrize("size", [(480, 480), (97, 61), (61, 97), (300, 200), (31, 17)])
def test_render_frames_at_odd_sizes(size: tuple[int, int]) -> None:
    width, height = size
    env = DarkKeyToDoor().make_env(dktd_task(key=(2, 4), door=(6, 1), start=(4, 4)))
    env.reset()
    frame = env.render_frame(width, height)
    assert frame.shape == (height, width, 3) and frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) >= 5  # letterbox, wall, floor, door, agent at least
    agent, agent_with_key = (88, 168, 255), (255, 206, 64)
    assert _has_colour(frame, agent) and not _has_colour(frame, agent_with_key)
    assert _has_colour(frame, (214, 118, 66))  # the door is drawn although the agent cannot see it
    # Letterboxing: the spare margin of a non-square frame is background, the room stays square.
    if width > height:
        assert (frame[:, 0] == frame[0, 0]).all() and (frame[:, -1] == frame[0, 0]).all()
    env.step(LEFT)
    env.step(LEFT)  # collect the key: the agent changes colour
    frame = env.render_frame(width, height)
    assert _has_colour(frame, agent_with_key) and not _has_colour(frame, agent)


def test_render_agent_position_and_darkroom_goal() -> None:
    room = Darkroom().make_env({"goal_x": 0, "goal_y": 8})
    room.reset()
    frame = room.render_frame(100, 100)  # 10 px per cell, 5 px wall: cell (x, y) spans 5 + 10·x ... 15 + 10·x
    assert tuple(frame[50, 50]) == (88, 168, 255)  # agent disc centred on cell (4, 4)
    assert _has_colour(frame[85:95, 5:15], (96, 210, 118))  # goal target in the bottom-left cell
    assert not _has_colour(frame[:85], (96, 210, 118))
    room.step(RIGHT)
    frame = room.render_frame(100, 100)
    assert tuple(frame[50, 50]) != (88, 168, 255) and tuple(frame[50, 60]) == (88, 168, 255)
    batch = Darkroom().make_batch(2, [{"goal_x": 0, "goal_y": 8}] * 2)
    np.testing.assert_array_equal(
        batch.render_frame(1, 110, 110), Darkroom().make_env(batch.get_task(1)).render_frame(110, 110)
    )
    for bad in ((0, 10), (10, -1), (10.5, 10)):
        with pytest.raises(ValueError):
            room.render_frame(*bad)


# --------------------------------------------------------------------------------------------------------
# Property test
# --------------------------------------------------------------------------------------------------------

cells = st.tuples(st.integers(0, 8), st.integers(0, 8))


@settings(max_examples=150, deadline=None)
@given(
    key=cells,
    door=cells,
    start=cells,
    actions=st.lists(st.integers(0, 4), min_size=1, max_size=160),
    edits=st.lists(st.tuples(st.integers(0, 159), cells, cells), max_size=4),
)
def test_property_single_env_matches_reference(
    key: tuple[int, int],
    door: tuple[int, int],
    start: tuple[int, int],
    actions: list[int],
    edits: list[tuple[int, tuple[int, int], tuple[int, int]]],
) -> None:
    task = dktd_task(key, door, start)
    env, ref = DarkKeyToDoor().make_env(task), RefKeyDoor(task)
    env.reset()
    edit_at = {step: (k, d) for step, k, d in edits}
    episode_return, key_paid = 0.0, False
    for step, action in enumerate(actions):
        if step in edit_at:
            k, d = edit_at[step]
            env.set_task(key_x=k[0], key_y=k[1], door_x=d[0], door_y=d[1])
            ref.set_task(env.task)
        obs, r, term, trunc, info = env.step(action)
        e_obs, e_r, e_term, e_trunc, e_info = ref.step(action)
        np.testing.assert_array_equal(obs, e_obs)
        assert (r, term, trunc, info) == (e_r, e_term, e_trunc, e_info)
        assert obs in env.observation_space
        # Invariants: the door pays only after the key, at most 2 per episode.
        if info["reached_door"]:
            assert key_paid
        key_paid = key_paid or info["reached_key"]
        episode_return += r
        assert episode_return <= 2.0
        if term or trunc:
            env.reset()
            ref.reset()
            episode_return, key_paid = 0.0, False
