"""Trial statistics against hand-computed values: returns per episode-in-trial, success, and scores (SPL)."""

from __future__ import annotations

import pytest
import torch

from agents.base import TokenBatch
from agents.rollout import Rollout
from agents.statistics import trial_statistics


def hand_rollout() -> Rollout:
    """Two trials of 6 steps. Trial 0: episodes of 2, 3, 1 steps; trial 1: episodes of 4, 2 steps."""
    episode_index = torch.tensor([[0, 0, 1, 1, 1, 2], [0, 0, 0, 0, 1, 1]])
    rewards = torch.tensor([[1.0, 0.0, 0.5, 0.5, 2.0, -1.0], [0.0, 0.0, 0.0, 3.0, 1.0, 1.0]])
    success = torch.tensor([[0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 1]], dtype=torch.bool)
    spl = torch.tensor([[0.0, 0.8, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.0, 1.0]])
    zeros = torch.zeros(2, 6)
    episode_end = torch.zeros(2, 6, dtype=torch.bool)
    episode_end[0, [1, 4, 5]] = True
    episode_end[1, [3, 5]] = True
    starts = torch.zeros(2, 6, dtype=torch.bool)
    starts[:, 0] = True
    tokens = TokenBatch(zeros[..., None], zeros[..., None], zeros, zeros, starts, starts)
    trial_end = torch.zeros(2, 6, dtype=torch.bool)
    trial_end[:, -1] = True
    return Rollout(
        tokens=tokens,
        actions=zeros,
        log_probs=zeros,
        values=zeros,
        rewards=rewards,
        episode_end=episode_end,
        trial_end=trial_end,
        episode_index=episode_index,
        success=success,
        trial_length=6,
        scores={"spl": spl},
    )


def test_trial_statistics_match_hand_computed_values() -> None:
    stats = trial_statistics(hand_rollout(), num_episodes=3)
    assert stats["trial_return"] == pytest.approx((3.0 + 5.0) / 2)
    assert stats["episodes_per_trial"] == pytest.approx(2.5)
    assert stats["episode_return/0"] == pytest.approx((1.0 + 3.0) / 2)
    assert stats["episode_return/1"] == pytest.approx((3.0 + 2.0) / 2)
    assert stats["episode_return/2"] == pytest.approx(-1.0)  # only trial 0 reached a third episode
    # Five episodes, three succeeded; SPL per episode 0.8, 0, 0, 0.5, 1.0.
    assert stats["success_rate"] == pytest.approx(3 / 5)
    assert stats["success/0"] == pytest.approx(1.0) and stats["success/1"] == pytest.approx(0.5)
    assert stats["spl"] == pytest.approx((0.8 + 0.5 + 1.0) / 5)
    assert stats["spl/0"] == pytest.approx((0.8 + 0.5) / 2)
    assert stats["spl/1"] == pytest.approx(0.5) and stats["spl/2"] == pytest.approx(0.0)
