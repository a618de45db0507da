"""GAE across episodes inside a trial, never across trials, checked against direct sums."""

from __future__ import annotations

import pytest
import torch

from agents.advantages import trial_gae


def test_lambda_one_gives_discounted_returns_within_each_trial() -> None:
    torch.manual_seed(0)
    rewards, values = torch.randn(3, 12, dtype=torch.float64), torch.randn(3, 12, dtype=torch.float64)
    trial_end = torch.zeros(3, 12, dtype=torch.bool)
    trial_end[:, 5] = trial_end[:, 11] = True  # two trials of 6 steps per row
    _, returns = trial_gae(rewards, values, trial_end, gamma=0.9, gae_lambda=1.0)
    for b in range(3):
        for t in range(12):
            end = 5 if t <= 5 else 11
            expected = sum(0.9 ** (k - t) * rewards[b, k] for k in range(t, end + 1))
            assert returns[b, t].item() == pytest.approx(float(expected), abs=1e-12)


def test_lambda_zero_is_one_step_td_and_episode_ends_inside_a_trial_do_not_cut() -> None:
    rewards = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    values = torch.tensor([[0.5, -1.0, 2.0, 1.0]], dtype=torch.float64)
    trial_end = torch.tensor([[False, False, False, True]])
    advantages, _ = trial_gae(rewards, values, trial_end, gamma=0.5, gae_lambda=0.0)
    expected = [1 + 0.5 * -1.0 - 0.5, 2 + 0.5 * 2.0 + 1.0, 3 + 0.5 * 1.0 - 2.0, 4 - 1.0]
    assert advantages[0].tolist() == pytest.approx(expected)


def test_rollouts_must_end_on_a_trial_end_and_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="trial end"):
        trial_gae(torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 3, dtype=torch.bool), 0.9, 0.9)
    with pytest.raises(ValueError, match="one \\(B, T\\) shape"):
        trial_gae(torch.zeros(1, 3), torch.zeros(1, 4), torch.ones(1, 3, dtype=torch.bool), 0.9, 0.9)


def test_hand_computed_example_with_an_episode_boundary_inside_a_trial() -> None:
    # Trial 1 = steps 0..2 with an episode ending at step 0 (it must not cut GAE); trial 2 = step 3.
    # gamma = lambda = 0.5:  d2 = 2 - 0 = 2,  d1 = 0 + 0.5*0 - 1 = -1,  d0 = 1 + 0.5*1 - 0 = 1.5,  d3 = 1 - 2 = -1
    # A2 = 2,  A1 = -1 + 0.25*2 = -0.5,  A0 = 1.5 + 0.25*(-0.5) = 1.375,  A3 = -1 (nothing after a trial end)
    rewards = torch.tensor([[1.0, 0.0, 2.0, 1.0]], dtype=torch.float64)
    values = torch.tensor([[0.0, 1.0, 0.0, 2.0]], dtype=torch.float64)
    trial_end = torch.tensor([[False, False, True, True]])
    advantages, returns = trial_gae(rewards, values, trial_end, gamma=0.5, gae_lambda=0.5)
    assert advantages[0].tolist() == pytest.approx([1.375, -0.5, 2.0, -1.0])
    assert returns[0].tolist() == pytest.approx([1.375, 0.5, 2.0, 1.0])


def test_a_cut_rollout_bootstraps_and_a_bootstrapped_trial_end_is_a_time_limit() -> None:
    rewards = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    values = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    # Cut mid-trial (the straggler cutoff): the last step bootstraps from the value after it.
    cut, _ = trial_gae(rewards, values, torch.zeros(1, 3, dtype=torch.bool), 0.5, 0.0, torch.tensor([4.0]))
    assert cut[0].tolist() == pytest.approx([1 - 0.5 - 0.5, 2 + 1.0 + 1.0, 3 + 2.0 - 2.0])
    # A trial end at step 1 as a time limit: δ_1 bootstraps from V_1 itself; A_0 still stops at the end.
    trial_end = torch.tensor([[False, True, True]])
    limit, _ = trial_gae(rewards, values, trial_end, 0.5, 1.0, bootstrap_trial_end=True)
    terminal, _ = trial_gae(rewards, values, trial_end, 0.5, 1.0)
    assert limit[0, 1].item() == pytest.approx(2 + 0.5 * -1.0 + 1.0)
    assert terminal[0, 1].item() == pytest.approx(2 + 1.0)
    assert limit[0, 2].item() == pytest.approx(3 + 0.5 * 2.0 - 2.0)  # its own trial, bootstrapped alike
    assert limit[0, 0].item() == pytest.approx(1 + 0.5 * -1.0 - 0.5 + 0.5 * limit[0, 1].item())
