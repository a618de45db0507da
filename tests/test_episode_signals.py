"""Episode signals without Qt: every scene's declarations against its real env's info, and the trial recorder fed
by real Players (the pretrained TrMRL adapting to an edit, a darkroom trial longer than the recorder's buffer)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.config import resolve_config
from agents.episode_signals import REWARD, TrialSignals
from agents.evaluation import load_policy
from agents.player import Player, PlayerStep
from agents.pretrained import find_pretrained
from agents.trainer import initial_agent
from scenes.registry import make_scene, scene_class, scene_ids

# Every scene this machine can build an env of (objnav-habitat needs habitat-sim: its declarations are checked
# without an env below).
STEPPED_SCENES = [s for s in scene_ids() if s != "objnav-habitat"]


@pytest.mark.parametrize("scene_id", scene_ids())
def test_declared_signals_name_task_parameters_and_kinds(scene_id: str) -> None:
    scene = scene_class(scene_id)
    params = {p.name: p for p in scene.task_params}
    assert scene.episode_signals, f"{scene_id} declares no episode signals"
    for signal in scene.episode_signals:
        assert signal.kind in ("value", "event") and signal.label
        if signal.target is not None:
            assert signal.kind == "value" and params[signal.target].kind == "float"
    keys = [s.info_key for s in scene.episode_signals]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("scene_id", STEPPED_SCENES)
def test_every_declared_signal_is_a_scalar_in_the_step_info(scene_id: str) -> None:
    """What the Player keeps of `info` is its scalars per env: a declared key must be one, from the first step."""
    scene = make_scene(scene_id)
    env = scene.make_env()
    try:
        env.reset(seed=0)
        env.action_space.seed(0)
        _, _, _, _, info = env.step(env.action_space.sample())
    finally:
        env.close()
    for signal in scene.episode_signals:
        value = np.asarray(info[signal.info_key])
        assert value.ndim == 0 and value.dtype.kind in "biuf", (signal.info_key, value)
    assert scene.describe()["episode_signals"][0]["info_key"] == scene.episode_signals[0].info_key


def play(player: Player, steps: int, edits: dict[int, dict[str, float]]) -> list[PlayerStep]:
    taken = []
    for index in range(steps):
        if index in edits:
            player.set_task(**edits[index])
        taken.append(player.step())
    return taken


def test_an_edit_is_marked_at_its_step_and_the_tracking_error_falls_after_it() -> None:
    """TrMRL's fast-adaptation plot, from the recorder: the target jumps at the edit, and the pretrained agent's
    velocity closes the gap within a few dozen steps."""
    shipped = find_pretrained("halfcheetah-vel", "trmrl", "fast")
    assert shipped is not None
    policy = load_policy(shipped.path)
    player = Player(policy.scene, policy.agent, task={"target_velocity": 0.5}, seed=0, deterministic=True)
    recorder = TrialSignals(policy.scene.episode_signals)
    edit_at = 250  # in the trial's second episode
    try:
        for step in play(player, 400, {edit_at: {"target_velocity": 2.5}}):
            recorder.observe(step)
    finally:
        player.close()
    assert recorder.episode_starts == [0, 200] and recorder.edits == [edit_at]
    steps = recorder.steps
    assert steps.tolist() == list(range(400))
    target = recorder.task_series("target_velocity")
    assert (target[:edit_at] == 0.5).all() and (target[edit_at:] == 2.5).all()
    error = np.abs(recorder.series("x_velocity") - target)
    assert error[edit_at : edit_at + 5].mean() > 1.0  # still running at 0.5 m/s
    assert error[edit_at + 60 :].mean() < 0.2  # adapted
    assert {REWARD, "reward_forward", "reward_ctrl", "x_velocity"} <= set(recorder.series_names())
    reward = recorder.series(REWARD)
    terms = recorder.series("reward_forward") + recorder.series("reward_ctrl")
    np.testing.assert_allclose(reward, terms, rtol=1e-6)  # the trial wrapper's rewards are float32
    assert recorder.task_names() == ["target_velocity"]


def darkroom_player(trial_steps: int) -> Player:
    config = resolve_config(
        "darkroom", "mlp", "fast", overrides={"scene_options": {"trial_steps": trial_steps}}
    )
    scene = make_scene(config.scene, **config.scene_options)
    return Player(scene, initial_agent(config, scene), task={"goal_x": 4, "goal_y": 3}, seed=3)


def test_a_trial_longer_than_the_buffer_is_thinned_and_its_marks_stay_exact() -> None:
    player = darkroom_player(trial_steps=200)
    signals = player.scene.episode_signals
    full, thinned = TrialSignals(signals), TrialSignals(signals, max_points=32)
    try:
        taken = play(player, 205, {90: {"goal_x": 5}})  # 200 steps and the next trial's first 5
    finally:
        player.close()
    for step in taken[:200]:
        full.observe(step)
        thinned.observe(step)
    # 200 steps in 32 rows: the stride doubled to 8, and each kept row is that step's own value.
    assert thinned.steps.tolist() == list(range(0, 200, 8))
    np.testing.assert_array_equal(thinned.series(REWARD), full.series(REWARD)[::8])
    np.testing.assert_array_equal(thinned.task_series("goal_x"), full.task_series("goal_x")[::8])
    assert thinned.episode_starts == full.episode_starts == list(range(0, 200, 20))
    assert thinned.edits == full.edits == [90]
    on_goal = [i for i, step in enumerate(taken[:200]) if step.info["on_goal"]]
    assert thinned.events["on_goal"] == full.events["on_goal"] == on_goal
    for step in taken[200:]:  # a new trial starts the recorder over
        thinned.observe(step)
    assert thinned.steps.tolist() == [0, 1, 2, 3, 4] and thinned.episode_starts == [0] and not thinned.edits
