"""Meta-World ML1 / ML10 / ML45 scenes against real metaworld 3.x and real MuJoCo (no mocks).

Where a check needs a reference, it comes from outside the scene: a raw Meta-World env built here from
Meta-World's own benchmark objects, or a reward formula re-implemented here from Meta-World's source.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")  # headless: before mujoco picks a GL backend

import gymnasium as gym
import metaworld
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metaworld.env_dict import ALL_V3_ENVIRONMENTS, ML10_V3, ML45_V3

from scenes.base import EnvList, TaskEnv
from scenes.metaworld_ml import MetaWorldML1, MetaWorldML10, MetaWorldML45
from scenes.registry import make_scene, register_gym_envs

SEED = 0  # the scenes' default task_seed


# ---------------------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def reach() -> MetaWorldML1:
    return make_scene("metaworld-ml1")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def push() -> MetaWorldML1:
    return make_scene("metaworld-ml1", env_name="push-v3")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def ml10() -> MetaWorldML10:
    return make_scene("metaworld-ml10")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def ml1_reference() -> Callable[[str], metaworld.ML1]:
    """Meta-World's own ML1 benchmark objects (built once per env name, ≈1 s each)."""
    cache: dict[str, metaworld.ML1] = {}

    def get(env_name: str) -> metaworld.ML1:
        if env_name not in cache:
            cache[env_name] = metaworld.ML1(env_name, seed=SEED)
        return cache[env_name]

    return get


@pytest.fixture
def make() -> Iterator[Callable[..., TaskEnv]]:
    """`make(scene, task)` -> env, closed (renderers freed) at the end of the test."""
    made: list[TaskEnv] = []

    def factory(scene: Any, task: dict[str, Any] | None = None, render_mode: str | None = None) -> TaskEnv:
        env = scene.make_env(task, render_mode=render_mode)
        made.append(env)
        return env

    yield factory
    for env in made:
        env.close()


def raw_env(env_name: str, task: metaworld.Task) -> Any:
    """A plain Meta-World env on `task`, the way Meta-World's docs set one up."""
    env = ALL_V3_ENVIRONMENTS[env_name]()
    env.set_task(task)
    return env


def tcp_center(env: TaskEnv) -> np.ndarray:
    data = env.metaworld_env.data  # type: ignore[attr-defined]
    return (data.site("rightEndEffector").xpos + data.site("leftEndEffector").xpos) / 2.0


def goal_of(task: dict[str, Any]) -> np.ndarray:
    return np.array([task["goal_x"], task["goal_y"], task["goal_z"]])


def reach_reward(tcp: np.ndarray, goal: np.ndarray) -> float:
    """reach-v3's dense reward, re-implemented from Meta-World's source (SawyerReachEnvV3.compute_reward, v2
    reward function): 10 * tolerance(|tcp - goal|, bounds=(0, 0.05), margin=|hand_init_pos - goal|,
    sigmoid="long_tail", value_at_margin=0.1), with hand_init_pos = (0, 0.6, 0.2)."""
    distance = float(np.linalg.norm(tcp - goal))
    margin = float(np.linalg.norm(np.array([0.0, 0.6, 0.2]) - goal))
    if distance <= 0.05:
        return 10.0
    if margin == 0.0:
        return 0.0
    # long_tail: 1 / ((x * s)^2 + 1) with s = sqrt(1 / value_at_margin - 1) = 3, x = distance beyond bound / margin
    x = (distance - 0.05) / margin
    return 10.0 / ((3.0 * x) ** 2 + 1.0)


def random_actions(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n, 4)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Scene metadata and options


@pytest.mark.parametrize("scene_cls", [MetaWorldML1, MetaWorldML10, MetaWorldML45])
def test_trmrl_trial_settings(scene_cls: type) -> None:
    assert scene_cls.episode_length == 500
    assert scene_cls.episodes_per_trial == 10
    assert scene_cls.action_kind == "continuous"
    assert scene_cls.splits == ("train", "test")
    scene = scene_cls()
    assert scene.steps_per_trial == 5000
    described = scene.describe()
    assert described["episodes_per_trial"] == 10
    assert {p["name"] for p in described["task_params"]} >= {"task_index", "goal_x", "goal_y", "goal_z"}


def test_ml1_env_name_is_an_option_over_all_ml1_envs() -> None:
    option = {p.name: p for p in MetaWorldML1.option_params}["env_name"]
    assert list(option.choices) == list(metaworld.ML1.ENV_NAMES)
    assert make_scene("metaworld-ml1").options["env_name"] == "reach-v3"
    assert make_scene("metaworld-ml1", env_name="pick-place-v3").options["env_name"] == "pick-place-v3"
    with pytest.raises(ValueError, match="env_name"):
        make_scene("metaworld-ml1", env_name="reach-v2")


def test_ml45_scene_builds_no_env_until_used() -> None:
    # A seed no other test uses, so the shared per-process task catalog starts empty.
    scene = make_scene("metaworld-ml45", task_seed=987_654)
    scene.describe()
    catalog = scene.catalog  # type: ignore[attr-defined]
    assert catalog._tasks == {} and catalog._scratch == {}


# ---------------------------------------------------------------------------------------------------------------
# Spaces, faithfulness to Meta-World, rewards


@pytest.mark.parametrize("scene_name", ["reach", "push"])
def test_spaces_and_hidden_goal(scene_name: str, request: pytest.FixtureRequest, make: Callable) -> None:
    env = make(request.getfixturevalue(scene_name))
    assert env.action_space.shape == (4,) and env.action_space.dtype == np.float32
    assert np.all(env.action_space.low == -1.0) and np.all(env.action_space.high == 1.0)
    assert env.observation_space.shape == (39,)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (39,) and obs.dtype == np.float64
    for action in random_actions(20, seed=2):
        obs, reward, terminated, truncated, info = env.step(action)
        assert obs.shape == (39,) and env.observation_space.contains(obs)
        assert 0.0 <= reward <= 10.0 and isinstance(reward, float)
        assert not terminated and not truncated
        assert isinstance(info["success"], bool)
        assert {"near_object", "grasp_reward", "in_place_reward", "obj_to_target"} <= set(info)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.float32))
    # ML benchmarks hide the goal: it is what the agent must infer from rewards.
    assert np.all(obs[36:39] == 0.0)
    assert np.any(goal_of(env.task) != 0.0)


@pytest.mark.parametrize(
    ("env_name", "split"), [("reach-v3", "train"), ("reach-v3", "test"), ("push-v3", "test")]
)
def test_unedited_env_is_bit_identical_to_metaworld(
    env_name: str, split: str, ml1_reference: Callable, make: Callable
) -> None:
    """Same Meta-World task (from metaworld.ML1 itself), same actions -> same observations, rewards, infos."""
    benchmark = ml1_reference(env_name)
    index = 7
    reference_task = (benchmark.train_tasks if split == "train" else benchmark.test_tasks)[index]
    reference = raw_env(env_name, reference_task)
    env = make(make_scene("metaworld-ml1", env_name=env_name), {"split": split, "task_index": index})

    ref_obs, _ = reference.reset()
    obs, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs, ref_obs)
    np.testing.assert_array_equal(goal_of(env.task), reference._target_pos)
    for action in random_actions(40, seed=4):
        ref_obs, ref_reward, _, _, ref_info = reference.step(action)
        obs, reward, _, _, info = env.step(action)
        np.testing.assert_array_equal(obs, ref_obs)
        assert reward == ref_reward
        assert info == {**ref_info, "success": bool(ref_info["success"])}
    reference.close()


def test_ml1_train_and_test_tasks_are_metaworlds_and_differ(
    reach: MetaWorldML1, ml1_reference: Callable
) -> None:
    benchmark = ml1_reference("reach-v3")

    def rand_vecs(tasks: list) -> np.ndarray:
        return np.array([pickle.loads(t.data)["rand_vec"] for t in tasks])

    train = rand_vecs(reach.catalog.tasks("reach-v3", "train"))
    test = rand_vecs(reach.catalog.tasks("reach-v3", "test"))
    np.testing.assert_array_equal(train, rand_vecs(benchmark.train_tasks))
    np.testing.assert_array_equal(test, rand_vecs(benchmark.test_tasks))
    assert train.shape == test.shape == (50, 6)
    assert not any(np.any(np.all(test == row, axis=1)) for row in train)  # no task in both splits

    rng = np.random.default_rng(5)
    for split in ("train", "test"):
        task = reach.sample_task(rng, split)  # type: ignore[arg-type]
        assert task["split"] == split and 0 <= task["task_index"] < 50
    with pytest.raises(ValueError, match="splits"):
        reach.sample_task(rng, "ood")  # type: ignore[arg-type]


def test_reach_reward_matches_independent_formula(reach: MetaWorldML1, make: Callable) -> None:
    env = make(reach, reach.sample_task(np.random.default_rng(11), "train"))
    env.reset(seed=0)
    goal = goal_of(env.task)
    # Random actions, then a straight drive to the goal, so the check covers far, near and solved states.
    for action in random_actions(30, seed=12):
        _, reward, _, _, info = env.step(action)
        tcp = tcp_center(env)
        assert reward == pytest.approx(reach_reward(tcp, goal), rel=1e-9, abs=1e-12)
        assert info["success"] == (np.linalg.norm(tcp - goal) <= 0.05)
    solved = False
    for _ in range(120):
        direction = np.clip((goal - tcp_center(env)) * 50.0, -1.0, 1.0)
        _, reward, _, _, info = env.step(np.append(direction, -1.0).astype(np.float32))
        assert reward == pytest.approx(reach_reward(tcp_center(env), goal), rel=1e-9, abs=1e-12)
        solved = solved or info["success"]
    assert solved and reward == 10.0


# ---------------------------------------------------------------------------------------------------------------
# Task edits


def test_goal_edit_mid_episode_changes_reach_reward_and_success(reach: MetaWorldML1, make: Callable) -> None:
    env = make(reach, {"split": "train", "task_index": 3})
    env.reset(seed=0)
    for action in random_actions(10, seed=13):
        env.step(action)
    old_goal = goal_of(env.task)
    new_goal = old_goal + np.array([-0.15, -0.1, 0.1])
    env.set_task(goal_x=new_goal[0], goal_y=new_goal[1], goal_z=new_goal[2])
    assert env.task["task_index"] == 3 and env.task["split"] == "train"
    _, reward, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert reward == pytest.approx(reach_reward(tcp_center(env), new_goal), rel=1e-9)
    assert reward != pytest.approx(reach_reward(tcp_center(env), old_goal), rel=1e-3)
    assert not info["success"]

    # Put the goal where the gripper is: the very next step is a success with the maximal reward.
    tcp = tcp_center(env)
    env.set_task(goal_x=tcp[0], goal_y=tcp[1], goal_z=tcp[2])
    _, reward, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert info["success"] and reward == 10.0


def test_goal_edit_moves_push_success(push: MetaWorldML1, make: Callable) -> None:
    env = make(push, {"split": "train", "task_index": 0})
    obs, _ = env.reset(seed=0)
    obs, _, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert not info["success"]
    block = obs[4:7].copy()
    env.set_task(goal_x=block[0], goal_y=block[1], goal_z=block[2])
    obs, reward, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    # push-v3: success iff |object - goal| <= 0.05, and the reward is 10 once solved (Meta-World's definition).
    assert info["success"] and reward == 10.0 and info["obj_to_target"] <= 0.05
    env.set_task(goal_y=block[1] + 0.2)
    obs, reward, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert not info["success"] and reward < 10.0
    assert info["obj_to_target"] == pytest.approx(np.linalg.norm(obs[4:7] - goal_of(env.task)), rel=1e-9)


def test_task_index_edit_applies_goal_now_and_objects_at_reset(
    reach: MetaWorldML1, ml1_reference: Callable, make: Callable
) -> None:
    benchmark = ml1_reference("reach-v3")
    env = make(reach, {"split": "train", "task_index": 0})
    env.reset(seed=0)
    env.step(np.zeros(4, dtype=np.float32))
    obs_before, _, _, _, _ = env.step(np.zeros(4, dtype=np.float32))

    env.set_task(task_index=9)
    reference = raw_env("reach-v3", benchmark.train_tasks[9])
    ref_obs, _ = reference.reset()
    # The goal is task 9's at once (as Meta-World's own reset onto task 9 places it) ...
    np.testing.assert_array_equal(goal_of(env.task), reference._target_pos)
    obs, reward, _, _, _ = env.step(np.zeros(4, dtype=np.float32))
    assert reward == pytest.approx(reach_reward(tcp_center(env), reference._target_pos), rel=1e-9)
    # ... the object stays where it was until the next reset ...
    # (it settles by < 1 mm at episode start), far from where task 9 puts it.
    assert np.linalg.norm(obs[4:7] - obs_before[4:7]) < 1e-3
    assert np.linalg.norm(obs[4:7] - ref_obs[4:7]) > 0.01
    # ... which then starts task 9 exactly as Meta-World does.
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, ref_obs)

    # Switching split (ML1) picks the test task's goal; an explicit goal in the same edit wins.
    env.set_task(split="test", goal_z=0.25)
    assert env.task["goal_z"] == 0.25
    assert env.task["goal_x"] == reset_goal("reach-v3", benchmark.test_tasks[9])[0]
    reference.close()


def reset_goal(env_name: str, task: metaworld.Task) -> np.ndarray:
    """Where Meta-World's own reset onto `task` puts the goal."""
    reference = raw_env(env_name, task)
    reference.reset()
    goal = np.array(reference._target_pos, copy=True)
    reference.close()
    return goal


BAD_ML1_EDITS: list[tuple[dict[str, Any], str]] = [
    ({"goal_x": 5.0}, "goal_x"),
    ({"goal_z": -1.0}, "goal_z"),
    ({"goal_y": "far"}, "goal_y"),
    ({"goal_x": math.nan}, "goal_x"),
    ({"task_index": 50}, "task_index"),
    ({"task_index": -1}, "task_index"),
    ({"task_index": 1.5}, "task_index"),
    ({"split": "validation"}, "split"),
    ({"speed": 1.0}, "speed"),
    ({"goal_x": 0.0, "task_index": 99}, "task_index"),  # one bad value: nothing of the edit applies
]


@pytest.mark.parametrize(("edit", "named"), BAD_ML1_EDITS)
def test_bad_edits_are_rejected_and_change_nothing(
    reach: MetaWorldML1, make: Callable, edit: dict[str, Any], named: str
) -> None:
    env = make(reach, {"split": "train", "task_index": 2})
    env.reset(seed=0)
    before = env.task
    target_before = np.array(env.metaworld_env._target_pos, copy=True)
    with pytest.raises(ValueError, match=named):
        env.set_task(**edit)
    assert env.task == before
    np.testing.assert_array_equal(env.metaworld_env._target_pos, target_before)


def test_bad_ml10_env_name_is_rejected_with_the_valid_choices(ml10: MetaWorldML10, make: Callable) -> None:
    env = make(ml10, {"env_name": "reach-v3", "task_index": 0})
    before = env.task
    with pytest.raises(ValueError, match=r"env_name.*pick-place-v3"):
        env.set_task(env_name="assembly-v3")  # an ML45 env, not in ML10
    with pytest.raises(ValueError, match="env_name"):
        ml10.make_env({"env_name": "reach-v2", "task_index": 0})
    assert env.task == before and env.metaworld_env.__class__.__name__ == "SawyerReachEnvV3"


@pytest.fixture(scope="module")
def shared_reach_env(reach: MetaWorldML1) -> Iterator[TaskEnv]:
    # One env for all hypothesis examples (building one per example would cost 0.1 s each).
    env = reach.make_env({"split": "train", "task_index": 1})
    yield env
    env.close()


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.floats(0.2, 1.2))
def test_goal_y_edits_accept_exactly_the_documented_range(
    reach: MetaWorldML1, shared_reach_env: TaskEnv, value: float
) -> None:
    env = shared_reach_env
    param = {p.name: p for p in reach.task_params}["goal_y"]
    before = env.task
    if math.isfinite(value) and param.low <= value <= param.high:
        env.set_task(goal_y=value)
        assert env.task["goal_y"] == value and env.metaworld_env._target_pos[1] == value
        env.set_task(**before)
    else:
        with pytest.raises(ValueError, match=r"goal_y.*\[-?[0-9.]+, [0-9.]+\] m"):
            env.set_task(goal_y=value)
    assert env.task == before


def test_make_env_fills_the_goal_of_a_partial_task(
    reach: MetaWorldML1, ml1_reference: Callable, make: Callable
) -> None:
    env = make(reach, {"split": "test", "task_index": 4})
    np.testing.assert_array_equal(
        goal_of(env.task), reset_goal("reach-v3", ml1_reference("reach-v3").test_tasks[4])
    )
    with pytest.raises(ValueError, match="missing"):
        reach.make_env({"goal_x": 0.0})


# ---------------------------------------------------------------------------------------------------------------
# Determinism, truncation


@pytest.mark.parametrize("scene_name", ["reach", "push"])
def test_seeded_replay_is_deterministic(
    scene_name: str, request: pytest.FixtureRequest, make: Callable
) -> None:
    scene = request.getfixturevalue(scene_name)
    task = scene.sample_task(np.random.default_rng(21), "train")
    actions = random_actions(80, seed=22)

    def rollout(env: TaskEnv) -> tuple[np.ndarray, np.ndarray]:
        observations, rewards = [env.reset(seed=5)[0]], []
        for t, action in enumerate(actions):
            if t == 40:  # a mid-episode goal edit is part of what must replay identically
                env.set_task(goal_x=task["goal_x"] + 0.05)
            obs, reward, _, _, _ = env.step(action)
            observations.append(obs)
            rewards.append(reward)
        env.set_task(**task)
        return np.array(observations), np.array(rewards)

    env = make(scene, task)
    first = rollout(env)
    second = rollout(env)
    fresh = rollout(make(scene, task))
    for run in (second, fresh):
        np.testing.assert_array_equal(run[0], first[0])
        np.testing.assert_array_equal(run[1], first[1])


def test_truncates_itself_at_500_steps(reach: MetaWorldML1, make: Callable) -> None:
    env = make(reach)
    env.reset(seed=0)
    zero = np.zeros(4, dtype=np.float32)
    for t in range(1, 501):
        _, _, terminated, truncated, _ = env.step(zero)
        assert not terminated
        assert truncated == (t == 500), t
    with pytest.raises(ValueError, match="reset"):  # Meta-World refuses to step a finished episode
        env.step(zero)
    env.reset(seed=0)
    assert env.step(zero)[3] is False


# ---------------------------------------------------------------------------------------------------------------
# ML10 / ML45 splits and env switching


def test_ml10_splits_are_metaworlds(ml10: MetaWorldML10) -> None:
    train, test = ml10.catalog.env_names("train"), ml10.catalog.env_names("test")
    assert list(train) == list(ML10_V3["train"]) and len(train) == 10
    assert list(test) == list(ML10_V3["test"]) and len(test) == 5
    assert not set(train) & set(test)
    env_param = {p.name: p for p in ml10.task_params}["env_name"]
    assert set(env_param.choices) == set(train) | set(test)
    rng = np.random.default_rng(1)
    assert ml10.sample_task(rng, "train")["env_name"] in train
    assert ml10.sample_task(rng, "test")["env_name"] in test


def test_ml10_tasks_and_goals_come_from_metaworld_resets(ml10: MetaWorldML10) -> None:
    # door-open's goal is derived from where the task puts the door: the catalog must agree with Meta-World.
    tasks = ml10.catalog.tasks("door-open-v3", "train")
    rand_vecs = np.array([pickle.loads(t.data)["rand_vec"] for t in tasks])
    assert len(np.unique(rand_vecs, axis=0)) == 50
    reference = raw_env("door-open-v3", tasks[17])
    reference.reset()
    np.testing.assert_array_equal(ml10.catalog.goal("door-open-v3", "train", 17), reference._target_pos)
    reference.close()


def test_ml10_env_switch_mid_episode_is_immediate_and_keeps_the_step_count(
    ml10: MetaWorldML10, make: Callable
) -> None:
    env = make(ml10, {"env_name": "drawer-open-v3", "task_index": 2})  # a test env
    env.reset(seed=0)
    zero = np.zeros(4, dtype=np.float32)
    for _ in range(100):
        env.step(zero)
    env.set_task(env_name="reach-v3")
    assert env.task["env_name"] == "reach-v3" and env.task["task_index"] == 2
    assert type(env.metaworld_env).__name__ == "SawyerReachEnvV3"
    np.testing.assert_array_equal(goal_of(env.task), ml10.catalog.goal("reach-v3", "train", 2))
    frame = env.render_frame(64, 48)
    assert frame.shape == (48, 64, 3) and frame.std() > 5.0
    _, reward, _, _, _ = env.step(zero)
    assert reward == pytest.approx(reach_reward(tcp_center(env), goal_of(env.task)), rel=1e-9)
    for t in range(102, 501):
        _, _, _, truncated, _ = env.step(zero)
        assert truncated == (t == 500), t


def test_ml45_splits_and_a_held_out_env_steps(make: Callable) -> None:
    scene = make_scene("metaworld-ml45")
    train, test = scene.catalog.env_names("train"), scene.catalog.env_names("test")  # type: ignore[attr-defined]
    assert list(train) == list(ML45_V3["train"]) and len(train) == 45
    assert list(test) == list(ML45_V3["test"]) and len(test) == 5
    assert not set(train) & set(test) and set(train) | set(test) == set(ALL_V3_ENVIRONMENTS)
    env = make(scene, {"env_name": "bin-picking-v3", "task_index": 5})
    obs, _ = env.reset(seed=0)
    assert obs.shape == (39,) and np.all(obs[36:] == 0.0)
    for action in random_actions(10, seed=31):
        obs, reward, terminated, truncated, info = env.step(action)
        assert np.isfinite(reward) and not terminated and not truncated and not info["success"]


# ---------------------------------------------------------------------------------------------------------------
# Rendering and batches


def test_render_frame_is_a_real_picture_of_the_requested_size(reach: MetaWorldML1, make: Callable) -> None:
    env = make(reach, {"split": "train", "task_index": 0})
    env.reset(seed=0)
    frame = env.render_frame(96, 64)
    assert frame.shape == (64, 96, 3) and frame.dtype == np.uint8
    assert frame.std() > 10.0 and len(np.unique(frame.reshape(-1, 3), axis=0)) > 100
    # The goal marker moves with a goal edit, before any step.
    env.set_task(goal_x=-0.3, goal_y=0.5, goal_z=0.3)
    moved = env.render_frame(96, 64)
    assert np.abs(moved.astype(int) - frame.astype(int)).sum() > 0
    assert env.render_frame(320, 240).shape == (240, 320, 3)
    # The public default camera (where the GUI's mouse camera starts) is the one render_frame uses.
    assert np.array_equal(env.render_frame(96, 64, env.default_camera()), env.render_frame(96, 64))


# Gymnasium's passive checker warns about Meta-World's own observation Box: dims 36-38 (the hidden goal) have
# low == high == 0. We keep Meta-World's space as is.
@pytest.mark.filterwarnings("ignore:.*maximum and minimum values are equal")
def test_render_mode_and_gym_make(push: MetaWorldML1, make: Callable) -> None:
    assert make(push).render() is None  # Gymnasium: no render_mode, no frames from render()
    env = make(push, None, render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (480, 480, 3)

    register_gym_envs()
    made = gym.make("engram/metaworld-ml1-v0", env_name="push-v3", render_mode="rgb_array")
    try:
        obs, _ = made.reset(seed=0)
        assert obs.shape == (39,)
        made.unwrapped.set_task(goal_x=0.0)
        assert made.unwrapped.task["goal_x"] == 0.0
        made.step(made.action_space.sample())
        assert made.render().shape == (480, 480, 3)
    finally:
        made.close()


def test_goal_marker_is_drawn_for_envs_without_a_goal_site(ml10: MetaWorldML10, make: Callable) -> None:
    # button-press-topdown's goal is a point inside the button box: no Meta-World site marks it, only our marker.
    env = make(ml10, {"env_name": "button-press-topdown-v3", "task_index": 0})
    env.reset(seed=0)
    mw = env.metaworld_env
    assert not any(np.allclose(mw.model.site_pos[i], mw._target_pos) for i in range(mw.model.nsite))
    frame = env.render_frame(128, 96)
    env.set_task(goal_x=-0.2, goal_y=0.5, goal_z=0.1)  # moves no site, only the goal
    assert np.abs(env.render_frame(128, 96).astype(int) - frame.astype(int)).sum() > 0


def test_make_batch_is_an_envlist_on_the_given_tasks(ml10: MetaWorldML10) -> None:
    tasks = [{"env_name": "reach-v3", "task_index": i} for i in range(3)]  # goals filled in by make_env
    batch = ml10.make_batch(3, tasks)
    try:
        assert isinstance(batch, EnvList) and batch.num_envs == 3
        obs = batch.reset(np.arange(3), seeds=[0, 1, 2])
        assert obs.shape == (3, 39)
        obs, reward, _, _, info = batch.step(np.zeros((3, 4), dtype=np.float32))
        assert obs.shape == (3, 39) and reward.shape == (3,) and info["success"].shape == (3,)
        assert len({tuple(goal_of(batch.get_task(i))) for i in range(3)}) == 3  # three different tasks
        batch.set_task(1, goal_z=0.2)
        assert batch.get_task(1)["goal_z"] == 0.2
    finally:
        batch.close()
