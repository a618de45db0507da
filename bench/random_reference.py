"""The level results are read against: uniformly random actions through a scene's own trials.

`python bench/random_reference.py --scene objnav-apartment --option trial_steps=4096 [--trials 16]
[--split test] [--seed 0]` prints the mean trial return (± std over trials), the success rate (episodes in
which any step succeeded) and the episodes per trial, scored as `main.py eval` scores an agent
(agents.statistics). docs/results.md quotes it where a run is to be judged by its distance from random
(issue 21.5: navigation on long trials).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")  # headless: before mujoco picks a GL backend

from main import parse_assignment
from scenes.errors import UserError
from scenes.registry import make_scene
from scenes.trials import Trials


def random_reference(
    scene_id: str, options: dict[str, str], trials: int, split: str, seed: int
) -> dict[str, Any]:
    """Mean trial return (and its std over trials), success rate and episodes per trial of `trials` trials of
    uniformly random actions."""
    import torch

    from agents.statistics import TrialOutcomes, episodes_in_trial, trial_statistics

    scene = make_scene(scene_id, **options)
    batch = Trials(scene, trials, seed=seed, split=scene.check_split(split))
    batch.action_space.seed(seed)
    rewards, episode_index, success = [], [], []
    try:
        tokens = batch.reset(seed=seed)
        for _ in range(batch.steps_per_trial):
            episode_index.append(tokens.episode_index.copy())
            actions = np.stack([np.asarray(batch.action_space.sample()) for _ in range(trials)])
            tokens, result = batch.step(actions)
            rewards.append(result.reward)
            if scene.success_key is not None:
                success.append(np.asarray(result.info[scene.success_key], dtype=bool))
    finally:
        batch.close()
    outcomes = TrialOutcomes(
        rewards=torch.from_numpy(np.stack(rewards, axis=1)),
        episode_index=torch.from_numpy(np.stack(episode_index, axis=1)),
        success=torch.from_numpy(np.stack(success, axis=1)) if success else None,
        scores={},
    )
    num_episodes = min(episodes_in_trial(scene), int(outcomes.episode_index.max()) + 1)
    stats = trial_statistics(outcomes, num_episodes)
    returns = outcomes.rewards.double().sum(dim=1)
    return {
        "trial_return": float(returns.mean()),
        "trial_return_std": float(returns.std()) if trials > 1 else 0.0,
        "success_rate": stats.get("success_rate"),
        "episodes_per_trial": stats["episodes_per_trial"],
        "steps_per_trial": batch.steps_per_trial,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scene", required=True)
    parser.add_argument("--option", action="append", default=[], help="scene option NAME=VALUE (repeatable)")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.trials < 1:
        return fail(f"--trials must be at least 1, got {args.trials}")
    try:
        options = dict(parse_assignment(option, "--option") for option in args.option)
        row = random_reference(args.scene, options, args.trials, args.split, args.seed)
    except UserError as error:  # a malformed --option, an unknown scene, option, value or split: as main.py
        return fail(str(error))
    success = "" if row["success_rate"] is None else f", success {row['success_rate']:.3f}"
    named = "".join(f" {name}={value}" for name, value in options.items())
    print(
        f"random on {args.scene}{named} ({args.split}, {args.trials} trials of {row['steps_per_trial']} "
        f"steps): trial return {row['trial_return']:.2f} ± {row['trial_return_std']:.2f}{success}, "
        f"{row['episodes_per_trial']:.1f} episodes per trial"
    )
    return 0


def fail(message: str) -> int:
    print(f"engram: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
