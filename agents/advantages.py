"""Generalised advantage estimation over RL² trials (Schulman et al. 2016; Duan et al. 2016).

In-context meta-RL treats a whole trial as one long episode: discounting and GAE run across the episode
boundaries inside a trial (the agent is rewarded for exploring in episode 1 what pays off in episode 2) and
stop only at a trial end (TrMRL §4, garage `rl2.py`). Rollouts hold whole trials, so the last stored step is
a trial end and nothing needs bootstrapping, except in a rollout cut short by DD-PPO's straggler cutoff
(`ppo.sync_fraction`), which passes the value of the state after its last step, as DD-PPO bootstraps.
"""

from __future__ import annotations

import torch
from torch import Tensor


def trial_gae(
    rewards: Tensor,
    values: Tensor,
    trial_end: Tensor,
    gamma: float,
    gae_lambda: float,
    bootstrap: Tensor | None = None,
    bootstrap_trial_end: bool = False,
) -> tuple[Tensor, Tensor]:
    """Advantages and returns for (B, T) rollouts; `trial_end[b, t]` marks the last step of a trial.

    δ_t = r_t + γ V_{t+1} (1 − end_t) − V_t,   A_t = δ_t + γ λ (1 − end_t) A_{t+1},   R_t = A_t + V_t.
    `bootstrap` (B,): V_T after a rollout cut mid-trial; without it the last step must end a trial.
    `bootstrap_trial_end`: a trial end is a time limit, not a terminal state: δ there bootstraps from the value
    of the trial's last step (the official navigation trainer bootstraps at the end of its context from the
    state after it, which Engram's trial wrapper has already replaced by the next trial's first), while the
    advantage still does not flow from one trial into the next.
    """
    if rewards.shape != values.shape or rewards.shape != trial_end.shape or rewards.dim() != 2:
        raise ValueError(
            "rewards, values and trial_end must share one (B, T) shape, got "
            f"{tuple(rewards.shape)}, {tuple(values.shape)}, {tuple(trial_end.shape)}"
        )
    if bootstrap is None and not bool(trial_end[:, -1].all()):
        raise ValueError("a rollout must end at a trial end (trial_end[:, -1] all True) or pass bootstrap")
    continues = 1.0 - trial_end.to(values.dtype)
    after = (
        torch.zeros_like(values[:, :1]) if bootstrap is None else bootstrap.reshape(-1, 1).to(values.dtype)
    )
    next_values = torch.cat([values[:, 1:], after], dim=1)
    if bootstrap_trial_end:
        next_values = torch.where(trial_end.bool(), values, next_values)
        deltas = rewards + gamma * next_values - values
    else:
        deltas = rewards + gamma * next_values * continues - values
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in range(values.shape[1] - 1, -1, -1):
        running = deltas[:, t] + gamma * gae_lambda * continues[:, t] * running
        advantages[:, t] = running
    return advantages, advantages + values
