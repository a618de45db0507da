"""The Episode signals panel: a real widget (offscreen) fed real players' steps, read back through its legends."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QLabel

from agents.config import resolve_config
from agents.evaluation import load_policy
from agents.player import Player, PlayerStep
from agents.pretrained import find_pretrained
from agents.trainer import initial_agent
from app.signals_panel import SignalsPanel
from scenes.registry import make_scene, scene_class, scene_ids


def plots(panel: SignalsPanel) -> list[pg.PlotItem]:
    layout = panel.findChild(pg.GraphicsLayoutWidget).ci
    return [layout.getItem(row, 0) for row in range(layout.layout.rowCount()) if layout.getItem(row, 0)]


def curves(panel: SignalsPanel) -> dict[str, Any]:
    """Every plot's named curves: name -> the item drawn."""
    return {item.name(): item for plot in plots(panel) for item in plot.listDataItems() if item.name()}


def drawn(panel: SignalsPanel, name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = curves(panel)[name].getData()
    return np.asarray(x), np.asarray(y)


def caption(panel: SignalsPanel) -> str:
    """What the panel's text says: its caption and its legend line (what a user reads the plots by)."""
    return "\n".join(label.text() for label in panel.findChildren(QLabel))


def make_panel(qtbot: Any, scene_id: str, steps_per_trial: int) -> SignalsPanel:
    panel = SignalsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    panel.show()
    scene = scene_class(scene_id)
    panel.set_scene(scene.episode_signals, scene.task_params, steps_per_trial)
    return panel


def test_the_panel_follows_an_edit_the_target_jumps_and_the_edit_is_marked(qtbot: Any) -> None:
    shipped = find_pretrained("halfcheetah-vel", "trmrl", "fast")
    assert shipped is not None
    policy = load_policy(shipped.path)
    player = Player(policy.scene, policy.agent, task={"target_velocity": 0.5}, seed=0, deterministic=True)
    panel = make_panel(qtbot, "halfcheetah-vel", policy.scene.steps_per_trial)
    edit_at = 120
    try:
        for index in range(200):
            if index == edit_at:
                player.set_task(target_velocity=2.5)
            panel.observe(player.step())
            if index in (60, 199):
                panel.refresh()  # as the window's panel tick: mid-trial, then once more
    finally:
        player.close()
    assert panel.drawn_marks(0) == ([0], [edit_at])
    x, target = drawn(panel, "target_velocity (target)")
    assert x.tolist() == list(range(200))
    assert (target[:edit_at] == 0.5).all() and (target[edit_at:] == 2.5).all()
    _, velocity = drawn(panel, "forward velocity (m/s)")
    error = np.abs(velocity - target)
    assert error[edit_at : edit_at + 5].mean() > 1.0 and error[-40:].mean() < 0.2  # it adapts, on the plot
    names = set(curves(panel))
    assert {"reward", "reward_forward", "reward_ctrl"} <= names
    assert all(name in caption(panel) for name in names)  # the legend names every curve
    _, reward = drawn(panel, "reward")
    np.testing.assert_allclose(reward, drawn(panel, "reward_forward")[1] + drawn(panel, "reward_ctrl")[1])
    assert "|forward velocity − target_velocity|" in caption(panel)
    assert len(plots(panel)) == 2  # tracked and reward: no events, no other task parameter


def darkroom_player(agent: str) -> Player:
    config = resolve_config("darkroom", agent, "fast", overrides={"scene_options": {"trial_steps": 60}})
    scene = make_scene(config.scene, **config.scene_options)
    return Player(scene, initial_agent(config, scene), task={"goal_x": 4, "goal_y": 4}, seed=1, label=agent)


def test_two_lanes_draw_both_agents_and_name_the_second(qtbot: Any) -> None:
    player = darkroom_player("mlp")
    player.attach_partner(darkroom_player("rl2"))
    panel = make_panel(qtbot, "darkroom", 60)
    panel.set_lanes(["mlp", "rl2"])
    steps: list[PlayerStep] = []
    try:
        for index in range(50):
            if index == 30:
                player.set_task(goal_x=5)
            steps.append(player.step())
            panel.observe(steps[-1])
    finally:
        player.close()
    panel.refresh()
    partner = [step.partner for step in steps]
    assert all(p is not None for p in partner)
    lane_1 = panel.lane(1)
    np.testing.assert_array_equal(lane_1.series("reward"), [p.reward for p in partner if p is not None])
    assert panel.drawn_marks(0) == panel.drawn_marks(1) == ([0, 20, 40], [30])  # one edit reached both
    assert {"reward", "reward — rl2", "goal_x", "goal_y"} <= set(curves(panel))
    np.testing.assert_array_equal(drawn(panel, "reward — rl2")[1], lane_1.series("reward"))
    # The legend gives each task parameter's value; the caption says which agent is which.
    text = caption(panel)
    assert "goal_x = 5 cell" in text and "goal_y = 4 cell" in text and "dotted and hollow: rl2" in text
    # One lane again: the partner's steps are not drawn.
    panel.set_lanes(["mlp"])
    panel.observe(steps[0])
    panel.refresh()
    assert "reward — rl2" not in curves(panel) and "reward — rl2" not in caption(panel)


@pytest.mark.parametrize("scene_id", scene_ids())
def test_every_scene_gets_its_plots_from_its_declarations(qtbot: Any, scene_id: str) -> None:
    scene = scene_class(scene_id)
    panel = make_panel(qtbot, scene_id, 100)
    has_values = any(s.kind == "value" for s in scene.episode_signals)
    has_events = any(s.kind == "event" for s in scene.episode_signals)
    targets = {s.target for s in scene.episode_signals}
    others = [p for p in scene.task_params if p.kind != "choice" and p.name not in targets]
    assert len(plots(panel)) >= 1 + has_values + has_events + bool(others)
    labels = set(curves(panel))
    for signal in scene.episode_signals:
        if signal.kind == "value":
            assert any(name.startswith(signal.label) for name in labels)
