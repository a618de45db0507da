"""Rollout collection: whole trials of a `Trials` batch, acted on by an agent's incremental `step`.

A rollout holds `num_trials` complete trials per env, so it begins at a trial start and ends at a trial end:
the PPO update can re-run `evaluate` over each stored row (it needs sequences that begin at a trial start)
and GAE needs no bootstrap value (see `agents.advantages`). Kept separate from the update so that a
distributed trainer can later wrap only the update (design.md, scale-out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.base import Agent, TokenBatch
from scenes.trials import Trials, TrialTokens


def token_batch(tokens: TrialTokens, with_task: bool = False) -> TokenBatch:
    """The agent's tensors for one step of a `Trials` batch."""
    return TokenBatch(
        obs=torch.from_numpy(tokens.obs),
        prev_action=torch.from_numpy(tokens.prev_action),
        prev_reward=torch.from_numpy(tokens.prev_reward),
        prev_done=torch.from_numpy(tokens.prev_done),
        episode_start=torch.from_numpy(tokens.episode_start),
        trial_start=torch.from_numpy(tokens.trial_start),
        task=torch.from_numpy(tokens.task) if with_task else None,
    )


@dataclass
class Rollout:
    """(B, T) tensors of whole trials: the agent's inputs and what it did and got."""

    tokens: TokenBatch  # inputs at each step, (B, T, ...)
    actions: Tensor  # (B, T, act_dim) float, or (B, T) long for discrete actions
    log_probs: Tensor  # (B, T) log-probability of the action under the acting policy
    values: Tensor  # (B, T) value estimate at acting time
    rewards: Tensor  # (B, T)
    episode_end: Tensor  # (B, T) bool: the step ended an episode
    trial_end: Tensor  # (B, T) bool: the step ended a trial
    episode_index: Tensor  # (B, T) episode number within the trial

    @property
    def mask(self) -> Tensor:
        """Every stored step is valid (whole trials, no padding)."""
        return torch.ones_like(self.trial_end)


def collect_rollout(
    trials: Trials, agent: Agent, tokens: TrialTokens, num_trials: int = 1
) -> tuple[Rollout, TrialTokens]:
    """Act for `num_trials` whole trials from `tokens` (which must start a trial); return the rollout and
    the tokens that start the next trial. Memory is rebuilt from the trial start, so no agent state is
    carried between rollouts."""
    if not tokens.trial_start.all():
        raise ValueError(
            "a rollout must begin at a trial start (pass the tokens of Trials.reset or a trial end)"
        )
    with_task = agent.task_dim > 0
    state: Any = agent.initial_state(trials.num_envs)
    steps = num_trials * trials.steps_per_trial
    inputs: list[TokenBatch] = []
    actions, log_probs, values, rewards, episode_end, trial_end, episode_index = ([] for _ in range(7))
    for _ in range(steps):
        batch = token_batch(tokens, with_task)
        with torch.inference_mode():
            out = agent.step(batch, state)
            action = out.dist.sample()
            log_probs.append(out.dist.log_prob(action))
        state = out.state
        inputs.append(batch)
        actions.append(action)
        values.append(out.value)
        episode_index.append(torch.from_numpy(tokens.episode_index))
        tokens, result = trials.step(action.numpy())
        rewards.append(torch.from_numpy(result.reward))
        episode_end.append(torch.from_numpy(result.episode_end))
        trial_end.append(torch.full((trials.num_envs,), result.trial_end))

    def stack(parts: list[Tensor]) -> Tensor:
        return torch.stack(parts, dim=1).clone()  # clone: out of inference mode, usable in autograd

    input_names = ("obs", "prev_action", "prev_reward", "prev_done", "episode_start", "trial_start")
    rollout = Rollout(
        tokens=TokenBatch(
            **{name: stack([getattr(b, name) for b in inputs]) for name in input_names},
            task=stack([b.task for b in inputs]) if with_task else None,  # type: ignore[misc]
        ),
        actions=stack(actions),
        log_probs=stack(log_probs),
        values=stack(values),
        rewards=stack(rewards),
        episode_end=stack(episode_end),
        trial_end=stack(trial_end),
        episode_index=stack(episode_index),
    )
    assert bool(rollout.trial_end[:, -1].all()) and np.all(tokens.trial_start)
    return rollout, tokens
