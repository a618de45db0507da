"""objnav-habitat, the optional habitat-sim backend: registry and CLI without habitat-sim, the one-line
missing-backend error, and the pure functions that map habitat-sim's arrays and poses onto objnav-apartment's
observation layout, checked against values computed by hand. The one test of the real simulator is skipped where
habitat-sim is missing (it could not be installed on the development machines)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import main
from scenes import gym_id, make_scene, scene_class, scene_ids
from scenes import objnav as apartment
from scenes.base import validate_task
from scenes.objnav_habitat import (
    CATEGORY_SETS,
    DEFAULT_SCENE,
    HABITAT_ACTIONS,
    HABITAT_MISSING,
    SCENES_ENV,
    GoalInstance,
    HabitatUnavailableError,
    ObjNavHabitat,
    assemble_observation,
    box_distance_xz,
    category_index,
    check_task,
    compose_frame,
    goal_instances,
    goal_one_hot,
    goal_reached,
    habitat_action,
    heading_quaternion,
    is_view_point,
    min_goal_pixels,
    observation_size,
    parse_scene_list,
    planar_heading,
    planar_position,
    rotate_vector,
    scene_file_missing,
    spl,
    split_indices,
    step_reward,
    view_point_candidates,
)
from scenes.objnav_habitat.batch import _close_workers, _gather, _start_worker

ROOT = Path(__file__).resolve().parents[1]
HABITAT_INSTALLED = importlib.util.find_spec("habitat_sim") is not None
# `main.py` arguments that train on objnav-habitat; the run directory follows `--out`.
TRAIN_ON_HABITAT = ("train", "--scene", "objnav-habitat", "--agent", "mlp", "--preset", "default", "--out")
OBJECTNAV_8 = CATEGORY_SETS["objectnav-8"]


def yaw(degrees: float) -> tuple[float, float, float, float]:
    """(w, x, y, z) of a rotation by `degrees` about habitat's up axis +y, written out by hand."""
    half = math.radians(degrees) / 2
    return (math.cos(half), 0.0, math.sin(half), 0.0)


@pytest.fixture
def no_habitat(monkeypatch: pytest.MonkeyPatch) -> None:
    """habitat-sim absent even where it is installed: a None entry in sys.modules makes `import habitat_sim`
    raise ModuleNotFoundError, which is what a machine without it does."""
    monkeypatch.setitem(sys.modules, "habitat_sim", None)


# --------------------------------------------------------------------------------------------- registry, CLI
def test_registry_lists_the_scene_and_importing_it_does_not_import_habitat() -> None:
    assert "objnav-habitat" in scene_ids()
    assert scene_ids().index("objnav-habitat") == scene_ids().index("objnav-apartment") + 1
    assert scene_class("objnav-habitat") is ObjNavHabitat
    code = (
        "import sys; from scenes import make_scene; s = make_scene('objnav-habitat'); s.describe(); "
        "s.sample_task(__import__('numpy').random.default_rng(0)); print('habitat_sim' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False"


def test_scene_schema_and_tasks_work_without_habitat(
    no_habitat: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCENES_ENV, raising=False)
    scene = make_scene("objnav-habitat")
    described = scene.describe()
    assert described["image_shape"] == [64, 64, 3] and described["steps_per_trial"] == 1024
    assert scene.scenes == (DEFAULT_SCENE,) and scene.dataset == "default"
    task = scene.default_task()
    assert task == {"scene_index": 0, "goal_category": "any"}
    assert validate_task(scene.task_params, {}, task) == task
    assert scene.task_split(task) == "train"
    # The default category set keeps objnav-apartment's vector layout; the others change the one-hot's size.
    assert observation_size(64, False, len(OBJECTNAV_8)) == apartment.observation_size(64, False)
    assert observation_size(32, True, len(OBJECTNAV_8)) == apartment.observation_size(32, True)
    assert make_scene("objnav-apartment").image_shape == scene.image_shape
    assert (
        observation_size(64, False, len(CATEGORY_SETS["hm3d-6"])) == apartment.observation_size(64, False) - 2
    )
    assert make_scene("objnav-habitat", depth=True, image_size=32).image_shape == (32, 32, 4)
    with pytest.raises(ValueError, match="objnav-habitat option 'categories' must be one of"):
        make_scene("objnav-habitat", categories="coco")


def test_missing_habitat_is_one_clear_error_and_other_scenes_still_work(no_habitat: None) -> None:
    scene = make_scene("objnav-habitat")
    for make in (
        lambda: scene.make_env(),
        lambda: scene.make_batch(2, [scene.default_task()] * 2),
        lambda: gym.make(gym_id("objnav-habitat")),
    ):
        with pytest.raises(HabitatUnavailableError) as caught:
            make()
        assert str(caught.value) == HABITAT_MISSING
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, RuntimeError)
    assert "\n" not in HABITAT_MISSING
    for part in (
        "habitat-sim, which is not installed",
        "conda-only",
        "conda install habitat-sim -c conda-forge -c aihabitat",
        "https://github.com/facebookresearch/habitat-sim#installation",
        "objnav-apartment runs the same task everywhere",
    ):
        assert part in HABITAT_MISSING

    env = make_scene("bandit").make_env()
    env.reset(seed=0)
    assert env.step(0)[0] is not None
    env.close()
    nav = make_scene("objnav-apartment", image_size=16, rooms="1x1", objects=2).make_env()
    obs, _ = nav.reset(seed=0)
    assert obs.shape == (apartment.observation_size(16, False),)
    assert nav.step(1)[0].shape == obs.shape
    nav.close()


def test_train_command_reports_the_missing_backend_in_one_line(
    no_habitat: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    assert main.main([*TRAIN_ON_HABITAT, str(run_dir)]) == main.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.err == f"engram: {HABITAT_MISSING}\n"
    assert not run_dir.exists()


@pytest.mark.skipif(HABITAT_INSTALLED, reason="habitat-sim is installed here")
def test_main_py_without_habitat_prints_one_line_and_lists_every_scene(tmp_path: Path) -> None:
    env = {**os.environ, "MUJOCO_GL": "egl"}
    args = [*TRAIN_ON_HABITAT, str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == main.EXIT_USAGE
    assert result.stderr.splitlines() == [f"engram: {HABITAT_MISSING}"]
    assert "Traceback" not in result.stderr

    listing = subprocess.run(
        [sys.executable, "main.py", "scenes"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )
    assert listing.returncode == 0, listing.stderr
    listed = [line.split()[0] for line in listing.stdout.splitlines() if line and not line.startswith(" ")]
    assert listed == scene_ids()
    as_json = subprocess.run(
        [sys.executable, "main.py", "scenes", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    habitat = next(s for s in json.loads(as_json.stdout) if s["id"] == "objnav-habitat")
    assert [p["name"] for p in habitat["task_params"]] == ["scene_index", "goal_category"]


@pytest.mark.skipif(HABITAT_INSTALLED, reason="habitat-sim is installed here")
def test_worker_processes_report_errors_through_the_pipe_and_exit() -> None:
    """The process plumbing for real: spawned workers import this module, fail to import habitat-sim (absent
    here) and say so through their pipe; `_gather` reads every answer before raising the first error."""
    options = dict(make_scene("objnav-habitat").options)
    task = {"scene_index": 0, "goal_category": "any"}
    workers = [_start_worker(i, (DEFAULT_SCENE,), "default", options, task, seed=i) for i in range(2)]
    try:
        with pytest.raises(
            RuntimeError,
            match="env 0: its habitat-sim process failed: ModuleNotFoundError: No module named 'habitat_sim'",
        ):
            _gather(workers)
        for env_id, worker in enumerate(workers):
            worker.process.join(30)
            assert worker.process.exitcode == 0
            with pytest.raises(
                RuntimeError, match=rf"env {env_id}: its habitat-sim process exited \(code 0\)"
            ):
                worker.call("reset", None)
    finally:
        _close_workers(workers)
    assert workers == []


# ----------------------------------------------------------------------------------------- pure mapping functions
def test_actions_map_onto_habitat_keys_in_the_apartments_order() -> None:
    assert apartment.ACTIONS == ("stop", "forward", "turn_left", "turn_right")
    assert HABITAT_ACTIONS == (None, "move_forward", "turn_left", "turn_right")
    assert [habitat_action(a) for a in range(4)] == [None, "move_forward", "turn_left", "turn_right"]
    assert habitat_action(np.int64(2)) == "turn_left"
    for bad in (-1, 4, 1.5, True):
        with pytest.raises(ValueError, match=r"action must be an integer in \[0, 4\)"):
            habitat_action(bad)  # type: ignore[arg-type]


def test_quaternions_headings_and_gps() -> None:
    # 90° about +y turns +x into -z (right-handed, y up).
    np.testing.assert_allclose(rotate_vector(yaw(90), (1, 0, 0)), (0, 0, -1), atol=1e-12)
    # Habitat looks along -z; in the top-down frame (x, -z) that is +y: 90° from +x.
    assert planar_heading((1, 0, 0, 0)) == pytest.approx(math.pi / 2)
    assert math.degrees(planar_heading(yaw(30))) == pytest.approx(120)  # turn_left adds 30°
    assert math.degrees(planar_heading(yaw(-90))) == pytest.approx(0, abs=1e-9)  # three turn_rights: +x
    for angle in (0.0, 1.0, 2.5, -3.0):
        assert planar_heading(heading_quaternion(angle)) == pytest.approx(angle)
    # A forward step at yaw 30°: habitat moves 0.25 m along (-sin 30°, 0, -cos 30°); in the top-down frame
    # that is 0.25 m at 120°, the compass's direction, as in objnav-apartment.
    start, step = np.array([1.0, 0.2, -2.0]), 0.25 * np.array([-0.5, 0.0, -math.sqrt(3) / 2])
    lower, upper = (-3.0, 0.0, -5.0), (4.0, 3.0, 1.0)
    np.testing.assert_allclose(planar_position(start, lower, upper), (4.0, 3.0))
    moved = planar_position(start + step, lower, upper) - planar_position(start, lower, upper)
    np.testing.assert_allclose(
        moved, 0.25 * np.array([math.cos(math.radians(120)), math.sin(math.radians(120))])
    )


def test_observation_assembly_from_synthetic_sensor_arrays() -> None:
    rgba = np.array(
        [[[255, 0, 0, 255], [0, 255, 0, 255]], [[0, 0, 255, 255], [51, 102, 153, 0]]], dtype=np.uint8
    )
    depth = np.array([[0.0, 2.5], [5.0, 10.0]], dtype=np.float32)
    bounds = ((-3.0, 0.0, -5.0), (4.0, 3.0, 1.0))
    obs = assemble_observation(rgba, depth, (1.0, 0.2, -2.0), yaw(30), 2, 8, bounds)
    image = [1, 0, 0, 0,  0, 1, 0, 0.5,  0, 0, 1, 1,  0.2, 0.4, 0.6, 1]  # fmt: skip
    gps = [0.4, 0.3]  # (1 - -3, 1 - -2) m / 10
    compass = [math.sin(math.radians(120)), math.cos(math.radians(120))]
    one_hot = [0, 0, 1, 0, 0, 0, 0, 0]
    assert obs.dtype == np.float32 and obs.shape == (observation_size(2, True, 8),)
    np.testing.assert_allclose(obs, image + gps + compass + one_hot, atol=1e-6)
    without_depth = assemble_observation(rgba[..., :3], None, (1.0, 0.2, -2.0), yaw(30), 2, 8, bounds)
    np.testing.assert_allclose(without_depth[:12], [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 0.4, 0.6], atol=1e-6)
    assert without_depth.shape == (observation_size(2, False, 8),)
    with pytest.raises(ValueError, match="rgb must be"):
        assemble_observation(np.zeros((2, 3, 3), np.uint8), None, (0, 0, 0), (1, 0, 0, 0), 0, 8, bounds)


def test_category_mapping_and_one_hot() -> None:
    assert category_index("chair", OBJECTNAV_8) == 0
    assert category_index("Couch", OBJECTNAV_8) == 5  # HM3D / HSSD say couch, ObjectNav says sofa
    assert category_index("tv", OBJECTNAV_8) == 4
    assert category_index("Potted Plant", OBJECTNAV_8) == 2
    assert category_index("kitchen-cabinet", OBJECTNAV_8) == 7
    assert category_index("chest_of_drawers", CATEGORY_SETS["mp3d-21"]) == 7  # MP3D's mpcat40 name
    assert category_index("table", CATEGORY_SETS["hm3d-6"]) == -1
    assert category_index("lamp", OBJECTNAV_8) == -1
    instances = goal_instances(
        [
            ("sofa", 3, (0, 0, 0), (2, 1, 1)),
            ("lamp", 4, (0, 0, 0), (1, 1, 1)),
            ("TV", 9, (1, 1, 1), (2, 2, 2)),
        ],
        OBJECTNAV_8,
    )
    assert instances == [
        GoalInstance(5, 3, (0.0, 0.0, 0.0), (2.0, 1.0, 1.0)),
        GoalInstance(4, 9, (1.0, 1.0, 1.0), (2.0, 2.0, 2.0)),
    ]
    np.testing.assert_array_equal(goal_one_hot(3, 6), [0, 0, 0, 1, 0, 0])
    with pytest.raises(ValueError, match="goal must be in"):
        goal_one_hot(6, 6)


def test_reward_and_spl_by_hand() -> None:
    assert step_reward(5.0, 4.75, False) == pytest.approx(0.24)  # 0.25 m closer, minus the step penalty
    assert step_reward(1.2, 1.2, True) == pytest.approx(2.49)
    assert step_reward(4.0, 4.25, False) == pytest.approx(-0.26)
    assert step_reward(math.inf, 3.0, False) == pytest.approx(-0.01)  # no path: no progress term
    assert spl(True, 4.0, 5.0) == pytest.approx(0.8)
    assert spl(True, 4.0, 3.0) == 1.0
    assert spl(False, 4.0, 5.0) == 0.0
    assert spl(True, math.inf, 3.0) == 0.0


def test_success_geometry_and_visibility() -> None:
    lower, upper = (0.0, 0.2, 0.0), (1.0, 1.0, 1.0)
    assert box_distance_xz((3.0, 0.0, 0.5), lower, upper) == pytest.approx(2.0)
    assert box_distance_xz((2.0, 0.0, 3.0), lower, upper) == pytest.approx(math.sqrt(5))
    assert box_distance_xz((0.5, 9.0, 0.5), lower, upper) == 0.0
    assert is_view_point((2.0, 0.1, 0.5), lower, upper)  # 1 m away, on the floor below the box's bottom
    assert not is_view_point((2.6, 0.1, 0.5), lower, upper)  # 1.6 m > 1.5 m
    assert not is_view_point((2.0, -1.5, 0.5), lower, upper)  # a floor below
    assert not is_view_point((2.0, 3.0, 0.5), lower, upper)  # a floor above
    assert (min_goal_pixels(64), min_goal_pixels(128), min_goal_pixels(256)) == (1, 3, 10)

    semantic = np.zeros((4, 4), dtype=np.uint32)
    semantic[1, 2] = 7
    sofa = GoalInstance(5, 7, lower, upper)
    near, far = (2.0, 0.1, 0.5), (3.0, 0.1, 0.5)
    assert goal_reached(near, semantic, [sofa], 5, 1)
    assert not goal_reached(near, semantic, [sofa], 5, 2)  # too few pixels of it in view
    assert not goal_reached(far, semantic, [sofa], 5, 1)
    assert not goal_reached(near, semantic, [sofa], 0, 1)  # another goal
    assert not goal_reached(near, np.zeros_like(semantic), [sofa], 5, 1)  # not in view

    points = view_point_candidates((0.0, 0.3, 0.0), (1.0, 1.0, 2.0))
    assert points.shape == (9 * 11, 3)  # x in [-1.5, 2.5], z in [-1.5, 3.5], 0.5 m apart
    np.testing.assert_allclose(points[0], (-1.5, 0.3, -1.5))
    np.testing.assert_allclose(points[-1], (2.5, 0.3, 3.5))


def test_scene_lists_splits_and_task_checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert parse_scene_list(None) == (DEFAULT_SCENE,)
    assert parse_scene_list(os.pathsep.join(["a.glb", " b ", ""])) == ("a.glb", "b")
    assert split_indices("train", 1) == split_indices("test", 1) == [0]
    assert (split_indices("train", 3), split_indices("test", 3)) == ([0, 1], [2])
    assert split_indices("test", 10) == [4, 9]

    monkeypatch.setenv(SCENES_ENV, os.pathsep.join(f"s{i}.glb" for i in range(6)))
    scene = make_scene("objnav-habitat")
    rng = np.random.default_rng(0)
    train = {scene.sample_task(rng, "train")["scene_index"] for _ in range(200)}
    test = {scene.sample_task(rng, "test")["scene_index"] for _ in range(50)}
    assert (train, test) == ({0, 1, 2, 3, 5}, {4})
    assert scene.task_split({"scene_index": 4}) == "test" and scene.task_split({"scene_index": 5}) == "train"

    check_task({"scene_index": 5, "goal_category": "sofa"}, 6, OBJECTNAV_8)
    with pytest.raises(ValueError, match=r"scene_index must be in \[0, 5\] for the 6 scene"):
        check_task({"scene_index": 6, "goal_category": "any"}, 6, OBJECTNAV_8)
    with pytest.raises(ValueError, match="goal_category must be 'any' or one of chair, bed"):
        check_task({"scene_index": 0, "goal_category": "towel"}, 6, OBJECTNAV_8)
    check_task({"scene_index": 0, "goal_category": "towel"}, 6, CATEGORY_SETS["mp3d-21"])

    existing = tmp_path / "scene.glb"
    existing.write_bytes(b"")
    assert scene_file_missing(str(tmp_path / "missing.glb")) and not scene_file_missing(str(existing))
    assert not scene_file_missing("102344049")  # a scene id inside a dataset config, not a file


def test_viewer_frame_layout() -> None:
    ego = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [9, 9, 9]]], dtype=np.uint8)
    topdown = np.arange(4 * 8 * 3, dtype=np.uint8).reshape(4, 8, 3)
    frame = compose_frame(ego, topdown, 640, 320)
    assert frame.shape == (320, 640, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame[0, 0], ego[0, 0])
    np.testing.assert_array_equal(frame[319, 319], ego[1, 1])
    # The 4x8 map scales by 40 to 160x320, centred vertically in the right half.
    np.testing.assert_array_equal(frame[80, 320], topdown[0, 0])
    np.testing.assert_array_equal(frame[239, 639], topdown[3, 7])
    np.testing.assert_array_equal(frame[79, 320], (16, 16, 16))


# ------------------------------------------------------------------------------------------------ the real thing
@pytest.mark.skipif(not HABITAT_INSTALLED, reason="habitat-sim not installed (conda-only)")
def test_real_simulator_episode_edits_and_batch() -> None:
    if SCENES_ENV not in os.environ and not (ROOT / DEFAULT_SCENE).exists():
        pytest.skip(
            "the MP3D example scene is missing: python -m habitat_sim.utils.datasets_download "
            "--uids mp3d_example_scene --data-path data/"
        )
    scene = make_scene("objnav-habitat", image_size=32, episode_length=20, trial_steps=60)
    env = scene.make_env(render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=0)
        pixels = 32 * 32 * 3
        assert obs.shape == (observation_size(32, False, 8),) and obs.dtype == np.float32
        assert obs[:pixels].min() >= 0.0 and obs[:pixels].max() <= 1.0
        assert obs[pixels + 4 :].sum() == 1.0
        angle = math.atan2(obs[pixels + 2], obs[pixels + 3])
        obs, reward, terminated, truncated, info = env.step(2)  # turn left 30°
        assert math.atan2(obs[pixels + 2], obs[pixels + 3]) == pytest.approx(
            math.remainder(angle + math.radians(30), 2 * math.pi), abs=1e-3
        )
        assert set(info) == {"success", "spl", "collided", "distance_to_goal", "goal"}
        assert not terminated and reward == pytest.approx(-0.01, abs=1e-4)  # turning makes no progress
        obs, reward, terminated, truncated, info = env.step(1)
        goal = scene.categories[info["goal"]]
        env.set_task(goal_category=goal)
        assert env.task["goal_category"] == goal
        obs, reward, terminated, truncated, info = env.step(0)
        assert terminated and not truncated
        assert env.render_frame(640, 320).shape == (320, 640, 3)
    finally:
        env.close()
    batch = scene.make_batch(2, [scene.default_task()] * 2)
    try:
        batch.reset(np.arange(2), seeds=[1, 2])
        obs, reward, terminated, truncated, info = batch.step(np.array([1, 3]))
        assert obs.shape == (2, observation_size(32, False, 8)) and info["goal"].shape == (2,)
        with pytest.raises(ValueError, match="scene_index must be in"):
            batch.set_task(0, scene_index=len(scene.scenes))
    finally:
        batch.close()
