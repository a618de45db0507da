"""Rollouts from real scenes and real agents: what `step` did while acting is what `evaluate` recomputes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny import SMALL_AGENTS
from torch.distributions import Categorical, Independent, Normal

from agents import make_agent
from agents.rollout import collect_rollout, packed_copy, sample_action, token_batch
from scenes import make_scene
from scenes.trials import Trials


@pytest.mark.parametrize("agent_name", list(SMALL_AGENTS))
@pytest.mark.parametrize("scene_id", ["halfcheetah-vel", "dark-key-to-door"])
def test_acting_log_probs_and_values_equal_evaluate_over_the_stored_trials(
    scene_id: str, agent_name: str
) -> None:
    torch.manual_seed(0)
    scene = make_scene(scene_id)
    trials = Trials(scene, num_envs=3, seed=0, steps_per_trial=25)
    agent = make_agent(
        agent_name,
        trials.observation_space.shape[0],
        scene.action_kind,
        trials.action_dim,
        **SMALL_AGENTS[agent_name],
    )
    tokens = trials.reset()
    rollout, tokens = collect_rollout(trials, agent, tokens, num_trials=2)
    assert rollout.rewards.shape == (3, 50) and tokens.trial_start.all()
    assert rollout.trial_end[:, 24].all() and rollout.trial_end[:, 49].all() and rollout.trial_end.sum() == 6
    assert rollout.tokens.trial_start[:, 0].all() and rollout.tokens.trial_start[:, 25].all()
    out = agent.evaluate(rollout.tokens, rollout.mask)
    torch.testing.assert_close(out.dist.log_prob(rollout.actions), rollout.log_probs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.values, rollout.values, atol=1e-5, rtol=1e-5)
    # Rewards are the env's: the stored previous-reward token of step t+1 is the reward of step t.
    inside = ~rollout.trial_end[:, :-1]
    torch.testing.assert_close(rollout.tokens.prev_reward[:, 1:][inside], rollout.rewards[:, :-1][inside])
    trials.close()


def test_a_rollout_must_start_at_a_trial_start() -> None:
    scene = make_scene("darkroom")
    trials = Trials(scene, num_envs=2, seed=0)
    agent = make_agent("mlp", 2, "discrete", 5)
    trials.reset()
    tokens, _ = trials.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="trial start"):
        collect_rollout(trials, agent, tokens)


def test_the_device_copy_of_a_step_is_exact_and_noise_sampling_draws_the_policy() -> None:
    """Off the CPU a step's tokens and draws travel in one packed copy (`packed_copy`, run here to the CPU)
    and actions come from those draws: exact round trip, and the policy's own distribution."""
    trials = Trials(make_scene("dark-key-to-door"), 3, seed=0)
    tokens = trials.reset(seed=0)
    tokens, _ = trials.step(np.array([1, 2, 3]))
    trials.close()
    batch = token_batch(tokens, with_task=True)
    noise = torch.randn(3, 4)
    copied, copied_noise = packed_copy(batch, torch.device("cpu"), noise)
    for name in ("obs", "prev_action", "prev_reward", "prev_done", "episode_start", "trial_start", "task"):
        original, moved = getattr(batch, name), getattr(copied, name)
        assert moved.dtype == original.dtype and torch.equal(moved, original), name
    assert torch.equal(copied_noise, noise)

    normal = Independent(Normal(torch.tensor([[0.5, -1.0]]), torch.tensor([[2.0, 0.1]])), 1)
    drawn = sample_action(normal, None, noise=torch.tensor([[1.0, -2.0]]))
    assert torch.allclose(drawn, torch.tensor([[2.5, -1.2]]))
    probs = torch.tensor([0.1, 0.6, 0.3])
    uniform = torch.rand(20_000, generator=torch.Generator().manual_seed(0))
    actions = sample_action(Categorical(probs=probs.expand(20_000, 3)), None, noise=uniform)
    frequencies = torch.bincount(actions, minlength=3).float() / 20_000
    assert torch.allclose(frequencies, probs, atol=0.01)
