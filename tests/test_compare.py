"""Compare mode without a window: two agents in lockstep on one task sequence, and what `--compare` accepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tiny import TINY_MEMO

from agents.checkpoints import save_checkpoint
from agents.compare import compared_agent, default_compare
from agents.config import TrainConfig, resolve_config
from agents.hud import hud_lines
from agents.player import COMPARE_DIVIDER_PX, Player, PlayerStep
from agents.trainer import initial_agent
from scenes.errors import UserError
from scenes.registry import make_scene
from scenes.video import read_video

TRIAL_STEPS = 20


def darkroom_config(agent: str) -> TrainConfig:
    options = {"scene_options": {"trial_steps": TRIAL_STEPS}}
    if agent == "memo":
        options["agent_config"] = TINY_MEMO
    return resolve_config("darkroom", agent, "fast", overrides=options)


def darkroom_player(agent: str, seed: int) -> Player:
    config = darkroom_config(agent)
    scene = make_scene(config.scene, **config.scene_options)
    return Player(scene, initial_agent(config, scene), seed=seed, label=agent)


def play(player: Player, steps: int, edit_at: int, goal: tuple[int, int]) -> list[PlayerStep]:
    taken = []
    for index in range(steps):
        if index == edit_at:
            player.set_task(goal_x=goal[0], goal_y=goal[1])
        taken.append(player.step(trace=True))
    return taken


def test_two_agents_act_in_lockstep_on_one_task_sequence_and_each_edit() -> None:
    torch.set_num_threads(1)
    steps, edit_at = int(3.5 * TRIAL_STEPS), TRIAL_STEPS + 7  # an edit inside the second trial
    # The independent reference: the first agent alone, same seed and edit.
    alone = play(darkroom_player("memo", seed=5), steps, edit_at, goal=(3, 4))
    paired = darkroom_player("memo", seed=5)
    paired.attach_partner(darkroom_player("rl2", seed=5))
    together = play(paired, steps, edit_at, goal=(3, 4))
    partner_steps = [step.partner for step in together]
    assert all(p is not None for p in partner_steps)
    for solo, step, partner in zip(alone, together, partner_steps, strict=True):
        assert partner is not None
        # Same trial step and task at every step: the edit reached both at once, later trials share tasks.
        assert (partner.step_in_trial, partner.trial_end, partner.task) == (
            step.step_in_trial,
            step.trial_end,
            step.task,
        )
        # The partner does not disturb the first agent: it acts exactly as it does alone.
        assert (step.reward, step.task, step.info) == (solo.reward, solo.task, solo.info)
        assert torch.equal(step.trace.memory, solo.trace.memory)
    tasks = [(step.task["goal_x"], step.task["goal_y"]) for step in together]
    assert tasks[edit_at] == (3, 4) != tasks[edit_at - 1] and tasks[-1] == (3, 4)  # pinned for later trials
    assert partner_steps[0].trace is not None and partner_steps[0].trace.memory is not None
    # Both agents really act: their memories are not one another's.
    assert partner_steps[-1].trace.memory.shape != together[-1].trace.memory.shape or not torch.equal(
        partner_steps[-1].trace.memory, together[-1].trace.memory
    )
    # `record --hud` in compare mode: the task they share, and each agent's episode return by its label.
    lines = hud_lines(paired, together[-1])
    assert lines[0] == "goal_x=3  goal_y=4" and "memo " in lines[-1] and "rl2 " in lines[-1]
    frame = paired.render(64, 48)
    assert frame.shape == (48, 2 * 64 + COMPARE_DIVIDER_PX, 3)
    assert np.array_equal(frame[:, :64], paired.env.render_frame(64, 48))
    assert np.array_equal(frame[:, -64:], paired.partner.env.render_frame(64, 48))
    paired.reset()
    assert paired.partner.tokens.step_in_trial == 0 and paired.partner.task == paired.task
    paired.deterministic = True
    assert paired.partner.deterministic
    paired.close()


def test_a_partner_must_start_with_the_player() -> None:
    player = darkroom_player("memo", seed=0)
    other_seed = darkroom_player("rl2", seed=1)
    assert other_seed.task != player.task
    with pytest.raises(UserError, match="first tasks differ"):
        player.attach_partner(other_seed)
    moved = darkroom_player("rl2", seed=0)
    moved.step()
    with pytest.raises(ValueError, match="start of a trial"):
        player.attach_partner(moved)
    assert player.partner is None


def test_compare_takes_an_agent_a_checkpoint_or_a_run_of_the_same_scene(tmp_path: Path) -> None:
    cheetah = resolve_config("halfcheetah-vel", "trmrl", "fast")
    shipped = compared_agent("rl2", cheetah)
    assert shipped.label == "rl2 (pretrained)" and shipped.config.agent == "rl2"
    untrained = compared_agent("fct", cheetah)
    assert untrained.label == "fct (untrained)"
    assert default_compare("halfcheetah-vel", "trmrl") == "rl2"
    assert default_compare("halfcheetah-vel", "rl2") == "trmrl"
    config = darkroom_config("rl2")
    scene = make_scene(config.scene, **config.scene_options)
    agent = initial_agent(config, scene)
    path = tmp_path / "darkroom.pt"
    save_checkpoint(
        path, {"scene": "darkroom", "agent": "rl2", "config": config.to_dict(), "model": agent.state_dict()}
    )
    assert compared_agent(str(path), darkroom_config("memo")).label == "rl2 (darkroom.pt)"
    # A new agent plays the watched agent's scene options: the same tasks, the same trial length.
    assert compared_agent("mlp", darkroom_config("memo")).config.scene_options["trial_steps"] == TRIAL_STEPS
    with pytest.raises(
        UserError, match=r"^--compare: .*darkroom.pt holds a rl2 agent of darkroom, not of bandit$"
    ):
        compared_agent(str(path), resolve_config("bandit", "mlp", "fast"))
    with pytest.raises(UserError, match=r"^--compare expects an agent"):
        compared_agent("no-such-thing", darkroom_config("memo"))


def test_record_compare_writes_both_agents_side_by_side(tmp_path: Path) -> None:
    """`record --compare` alone: the other agent shipped for the scene, in the right half of every frame."""
    import main

    out = tmp_path / "both.mp4"
    checkpoint = str(
        Path(__file__).resolve().parents[1] / "assets" / "pretrained" / "halfcheetah-vel-trmrl.pt"
    )
    argv = ["record", "--checkpoint", checkpoint, "--out", str(out), "--seconds", "0.5", "--size", "64x48"]
    assert main.main([*argv, "--compare", "--edit-at", "0.2:target_velocity=2.5"]) == 0
    frames, meta = read_video(out)
    assert len(frames) == 10 and meta["size"] == (2 * 64 + COMPARE_DIVIDER_PX, 48)
    left, right = frames[-1][:, :64].astype(int), frames[-1][:, -64:].astype(int)
    assert left.std() > 5 and right.std() > 5 and np.abs(left - right).mean() > 1  # two cheetahs, two poses
