"""What a batch of trials achieved: returns per trial and per episode index within the trial, success rates,
and the within-episode adaptation curve (TrMRL's fast-adaptation plots).

The per-episode-index returns are the in-context learning curve: a meta-learner's episode 2 beats its
episode 1 on the same task, a memoryless agent's does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from agents.rollout import Rollout
from scenes.base import Scene

MAX_EPISODE_COLUMNS = 20  # per-episode-index statistics kept (trials with more episodes fold into the total)


def _per_episode(values: Tensor, episode_index: Tensor, num_episodes: int, reduce: str) -> Tensor:
    """(N, E) reduction of (N, L) per-step values by episode index (E = num_episodes, later ones dropped)."""
    index = episode_index.clamp_max(num_episodes)  # episodes past the cap go to a discarded column
    out = torch.zeros(values.shape[0], num_episodes + 1, dtype=values.dtype)
    out.scatter_reduce_(1, index, values, reduce=reduce, include_self=True)
    return out[:, :num_episodes]


@dataclass
class TrialOutcomes:
    """What each trial got, one CPU row per trial: everything `trial_statistics` reads. Small enough to
    gather from every rank of a distributed run, so its statistics pool all trials exactly."""

    rewards: Tensor  # (N, L)
    episode_index: Tensor  # (N, L)
    success: Tensor | None  # (N, L) bool, or None for a scene without a success flag
    scores: dict[str, Tensor]  # (N, L) per score key

    @classmethod
    def of(cls, rollout: Rollout) -> TrialOutcomes:
        """The rollout's whole trials (none from one cut short by the straggler cutoff: a partial trial's
        return would read as a worse one)."""
        if rollout.cut:

            def none(values: Tensor) -> Tensor:
                return values.new_zeros(0, rollout.trial_length).cpu()

            return cls(
                rewards=none(rollout.rewards),
                episode_index=none(rollout.episode_index),
                success=None if rollout.success is None else none(rollout.success),
                scores={key: none(values) for key, values in rollout.scores.items()},
            )
        trials = rollout.split_trials()
        return cls(
            rewards=trials.rewards.cpu(),
            episode_index=trials.episode_index.cpu(),
            success=None if trials.success is None else trials.success.cpu(),
            scores={key: values.cpu() for key, values in trials.scores.items()},
        )

    @classmethod
    def concat(cls, parts: list[TrialOutcomes]) -> TrialOutcomes:
        return cls(
            rewards=torch.cat([p.rewards for p in parts]),
            episode_index=torch.cat([p.episode_index for p in parts]),
            success=None if parts[0].success is None else torch.cat([p.success for p in parts]),  # type: ignore[misc]
            scores={key: torch.cat([p.scores[key] for p in parts]) for key in parts[0].scores},
        )


def trial_statistics(rollout: Rollout | TrialOutcomes, num_episodes: int) -> dict[str, float]:
    """Means over the rollout's trials: `trial_return`, `episode_return/k` for k < num_episodes (over trials
    that reached episode k), `episodes_per_trial`, and `success_rate` (share of episodes in which the
    scene's success flag was ever set) plus `success/k` where the scene has one; for every score key of the
    scene (`Scene.score_keys`, e.g. `spl`) its mean per episode and `<key>/k`."""
    trials = rollout if isinstance(rollout, TrialOutcomes) else TrialOutcomes.of(rollout)
    rewards = trials.rewards.double()
    index = trials.episode_index.long()
    stats: dict[str, float] = {"trial_return": float(rewards.sum(dim=1).mean())}
    episodes = index.max(dim=1).values + 1  # episodes started per trial
    stats["episodes_per_trial"] = float(episodes.double().mean())
    reached = torch.arange(num_episodes).unsqueeze(0) < episodes.unsqueeze(1)  # (N, E)
    returns = _per_episode(rewards, index, num_episodes, "sum")
    for k in range(num_episodes):
        stats[f"episode_return/{k}"] = (
            float(returns[reached[:, k], k].mean()) if reached[:, k].any() else math.nan
        )
    if trials.success is not None:
        all_success = _per_episode(trials.success.double(), index, int(index.max()) + 1, "amax")
        started = torch.arange(all_success.shape[1]).unsqueeze(0) < episodes.unsqueeze(1)
        stats["success_rate"] = float(all_success[started].mean())
        for k in range(num_episodes):
            column = all_success[:, k][reached[:, k]] if k < all_success.shape[1] else torch.zeros(0)
            stats[f"success/{k}"] = float(column.mean()) if column.numel() else math.nan
    for key, values in trials.scores.items():  # e.g. SPL: summed per episode, averaged like success
        per_episode = _per_episode(values.double(), index, int(index.max()) + 1, "sum")
        started = torch.arange(per_episode.shape[1]).unsqueeze(0) < episodes.unsqueeze(1)
        stats[key] = float(per_episode[started].mean())
        for k in range(num_episodes):
            column = per_episode[:, k][reached[:, k]] if k < per_episode.shape[1] else torch.zeros(0)
            stats[f"{key}/{k}"] = float(column.mean()) if column.numel() else math.nan
    return stats


def adaptation_curve(rollout: Rollout, num_episodes: int, bin_steps: int = 20) -> list[list[float]]:
    """Mean reward summed over `bin_steps`-step bins of each episode, per episode index (TrMRL Fig. 4: the
    return an agent collects in the first steps of a new task, and how fast it climbs).

    Returns one list per episode index k < num_episodes; bin j covers steps [j·bin, (j+1)·bin) of it.
    """
    trials = rollout.split_trials().to(torch.device("cpu"))
    length = trials.rewards.shape[1]
    steps = torch.arange(length)
    starts = torch.where(trials.tokens.episode_start.bool(), steps, 0).cummax(dim=1).values
    step_in_episode = steps - starts
    index = trials.episode_index.long()
    num_bins = math.ceil(length / bin_steps)
    curves: list[list[float]] = []
    for k in range(num_episodes):
        in_episode = index == k
        bins = (step_in_episode // bin_steps)[in_episode]
        if bins.numel() == 0:
            curves.append([])
            continue
        sums = torch.zeros(num_bins, dtype=torch.float64).index_add_(
            0, bins, trials.rewards[in_episode].double()
        )
        # Average over the trials whose episode k reached each bin.
        counts = torch.zeros(num_bins, dtype=torch.float64)
        first_of_bin = in_episode & (step_in_episode % bin_steps == 0)
        counts.index_add_(
            0,
            (step_in_episode // bin_steps)[first_of_bin],
            torch.ones(int(first_of_bin.sum()), dtype=torch.float64),
        )
        used = int(bins.max()) + 1
        curves.append((sums[:used] / counts[:used].clamp_min(1)).tolist())
    return curves


def episodes_in_trial(scene: Scene) -> int:
    """How many per-episode-index statistics to keep: the trial's nominal episode count, capped."""
    nominal = scene.episodes_per_trial or math.ceil(scene.steps_per_trial / scene.episode_length)
    return min(nominal, MAX_EPISODE_COLUMNS)
