"""Evaluating a trained agent with frozen weights (TrMRL §5.2's meta-evaluation): fresh tasks from a split,
whole trials, and the two views of adaptation — return per episode index within a trial, and reward per
20-step bin within each episode."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import Agent
from agents.checkpoints import load_checkpoint
from agents.config import TrainConfig, config_from_dict
from agents.rollout import collect_rollout, concat_rollouts
from agents.statistics import adaptation_curve, episodes_in_trial, trial_statistics
from agents.trainer import build_agent, load_weights
from scenes.base import Scene
from scenes.errors import UserError
from scenes.registry import make_scene
from scenes.trials import Trials

MAX_EVAL_ENVS = 32  # trials evaluated side by side; more are run in further batches


@dataclass
class Policy:
    """A checkpoint's agent with the scene and config it was trained for."""

    config: TrainConfig
    scene: Scene
    agent: Agent
    checkpoint: dict[str, Any]


def load_policy(
    path: str | Path,
    scene_options: Mapping[str, Any] | None = None,
    agent_options: Mapping[str, Any] | None = None,
    device: torch.device | None = None,
) -> Policy:
    """Rebuild the agent stored in a checkpoint (or a run directory's latest); one-line errors if it can't.

    `scene_options` / `agent_options` change the scene or agent hyper-parameters the policy runs with, e.g. a
    longer trial (`trial_steps`) or a streaming cache (`stream_window`) to test memory past the training
    context. Options that change the weights' shapes are refused when the weights are loaded. `device`: where
    the agent acts (the CPU by default); checkpoints from any device load on any other."""
    payload = load_checkpoint(path)
    stored = dict(payload["config"])
    stored["scene_options"] = {**stored.get("scene_options", {}), **(scene_options or {})}
    stored["agent_config"] = {**stored.get("agent_config", {}), **(agent_options or {})}
    config = config_from_dict(stored, f"the checkpoint {path}")
    scene = make_scene(config.scene, **config.scene_options)
    agent = build_agent(config, scene)
    changed = " with the options given" if scene_options or agent_options else ""
    load_weights(agent, payload["model"], f"checkpoint {path}{changed}")
    return Policy(config, scene, agent.to(device or torch.device("cpu")).eval(), payload)


def evaluate_policy(
    policy: Policy,
    split: str = "test",
    trials: int = 20,
    seed: int = 1,
    deterministic: bool = False,
    bin_steps: int = 20,
    window_steps: int | None = None,
) -> dict[str, Any]:
    """Run `trials` trials (one task each) from `split`; JSON-ready results.

    `episode_return[k]` / `success[k]`: mean over trials of episode k of the trial (the in-context curve);
    `return_per_window` (with `window_steps`): mean return over consecutive windows of the trial's steps, which
    shows whether an agent keeps its performance late in a trial longer than it was trained on;
    `adaptation_curve[k][j]`: mean reward summed over steps [j*bin_steps, (j+1)*bin_steps) of episode k.
    """
    scene = policy.scene
    scene.check_split(split)
    if trials < 1:
        raise UserError(f"--episodes must be at least 1, got {trials}")
    generator = torch.Generator().manual_seed(seed)
    rollouts = []
    remaining = trials
    batch_seed = seed
    while remaining > 0:
        n = min(remaining, MAX_EVAL_ENVS)
        batch = Trials(scene, n, seed=batch_seed, split=split)  # type: ignore[arg-type]
        try:
            tokens = batch.reset()
            rollout, _ = collect_rollout(
                batch, policy.agent, tokens, generator=generator, deterministic=deterministic, training=False
            )
        finally:
            batch.close()
        rollouts.append(rollout)
        remaining -= n
        batch_seed += 1
    rollout = concat_rollouts(rollouts)
    num_episodes = episodes_in_trial(scene)
    stats = trial_statistics(rollout, num_episodes)
    trial_returns = rollout.rewards.double().sum(dim=1)

    def clean(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 6)

    return {
        "scene": scene.id,
        "agent": policy.config.agent,
        "split": split,
        "trials": trials,
        "deterministic": deterministic,
        "env_steps_trained": int(policy.checkpoint["counters"]["env_steps"]),
        "steps_per_trial": rollout.trial_length,
        "trial_return": {
            "mean": clean(stats["trial_return"]),
            "std": clean(float(trial_returns.std(correction=0))),
        },
        "episode_return": [clean(stats[f"episode_return/{k}"]) for k in range(num_episodes)],
        "success_rate": clean(stats["success_rate"]) if "success_rate" in stats else None,
        "success": [clean(stats[f"success/{k}"]) for k in range(num_episodes)]
        if "success_rate" in stats
        else None,
        "scores": {
            key: {
                "mean": clean(stats[key]),
                "per_episode": [clean(stats[f"{key}/{k}"]) for k in range(num_episodes)],
            }
            for key in scene.score_keys
        },
        **(
            {
                "return_per_window": {
                    "window_steps": window_steps,
                    "mean": [
                        round(float(rewards.sum(dim=1).mean()), 6)
                        for rewards in rollout.rewards.double().split(window_steps, dim=1)
                    ],
                }
            }
            if window_steps
            else {}
        ),
        "adaptation_curve": {
            "bin_steps": bin_steps,
            "episodes": [
                [round(v, 6) for v in curve] for curve in adaptation_curve(rollout, num_episodes, bin_steps)
            ],
        },
    }


def format_report(result: dict[str, Any]) -> str:
    """The eval result as a few readable lines (the --json output is the full record)."""
    lines = [
        f"{result['agent']} on {result['scene']} ({result['split']} split, {result['trials']} trials, "
        f"{result['env_steps_trained']:,} env steps trained)",
        f"trial return     {result['trial_return']['mean']:.3f} ± {result['trial_return']['std']:.3f} (std)",
        "episode in trial "
        + "  ".join(f"{k}: {v:.3f}" for k, v in enumerate(result["episode_return"]) if v is not None),
    ]
    if result["success_rate"] is not None:
        lines.append(f"success rate     {result['success_rate']:.3f}")
    for key, score in result["scores"].items():
        if score["mean"] is not None:
            lines.append(f"{key:<16} {score['mean']:.3f} per episode")
    bins = result["adaptation_curve"]
    for k, curve in enumerate(bins["episodes"][:3]):
        if curve:
            shown = " ".join(f"{v:.2f}" for v in np.asarray(curve)[:10])
            lines.append(
                f"episode {k} reward per {bins['bin_steps']}-step bin: {shown}{' …' if len(curve) > 10 else ''}"
            )
    return "\n".join(lines)
