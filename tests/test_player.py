"""The Player on real scenes and the shipped pretrained agent: the task asked for is the task acted on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.evaluation import load_policy
from agents.player import Player
from agents.pretrained import find_pretrained


def test_the_requested_task_is_the_task_of_the_first_step() -> None:
    """`record --set` and the headless demo start a Player on a task: the first trial must not run on a
    random one (the first trial's tasks are drawn before the player pins its own)."""
    shipped = find_pretrained("halfcheetah-vel", "trmrl", "fast")
    assert shipped is not None
    torch.set_num_threads(1)
    policy = load_policy(shipped.path)
    player = Player(policy.scene, policy.agent, task={"target_velocity": 0.5}, seed=0, deterministic=True)
    assert player.task == {"target_velocity": 0.5} == player.env.task
    fps = round(player.frame_rate)
    steps = [player.step() for _ in range(5 * fps)]
    player.set_task(target_velocity=2.5)
    steps += [player.step() for _ in range(5 * fps)]
    player.close()
    assert steps[0].task == {"target_velocity": 0.5} and steps[-1].task == {"target_velocity": 2.5}
    velocity = np.array([step.info["x_velocity"] for step in steps])
    # The pretrained TrMRL tracks either target within 0.02-0.04 m/s once it has found it (1 s in).
    assert velocity[fps : 5 * fps].mean() == pytest.approx(0.5, abs=0.05)
    assert velocity[6 * fps :].mean() == pytest.approx(2.5, abs=0.1)
