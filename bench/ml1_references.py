"""Reference policies for Meta-World ML1 reach, run through Engram's own trials: what TrMRL's success rates
are to be read against (issue 21: the paper's 100% on ML1 reach, and what an agent that does not search gets).

    MUJOCO_GL=egl python bench/ml1_references.py [--scene metaworld-ml1-reach] [--trials 50] [--seed 1]
                                                 [--policies centre,centre-noise,hill-climber] [--json FILE]

Three policies, each a small class below whose docstring says what it knows (none knows the goal):

- `centre`: fly the hand to the centre of the goal box (the env's `goal_space`, the box every task's goal is
  drawn from) and stop there; deterministic.
- `centre-noise`: the same mean action plus Gaussian noise of std 0.8, sampled every step; a Gaussian policy
  whose mean does not search, scored the way TrMRL's official code scores its sampled actions.
- `hill-climber`: follows the reward uphill, seeing only what TrMRL's 5-token window holds (hand positions and
  rewards of at most the last 5 steps of the current episode), nothing else carried between steps.

Every trial is one task and 10 episodes of 500 steps (the scene's own trials, `scenes.trials.Trials`, as the
agents are trained and evaluated), and success is scored by `agents.statistics.trial_statistics`, as `main.py
eval` scores an agent: an episode succeeds if Meta-World's `success` flag is set at any of its steps (what
TrMRL's code does with `env_infos['success'].any()`), averaged over every episode of every trial. `--trials N`
runs N trials per split on tasks 0, 1, ..., N-1 (mod 50), so the default 50 covers every train and every test
task once. Prints a markdown table; `--json FILE` writes the same numbers, with each trial's task (bench/results.py's
report shows docs/results/ml1-reach-references.json, written with `--json` and every other option at its default).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import sys
import time
from collections import deque
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")  # headless: before mujoco picks a GL backend

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scenes.base import Scene, Split  # noqa: E402
from scenes.metaworld_ml import TASKS_PER_ENV  # noqa: E402
from scenes.registry import make_scene  # noqa: E402
from scenes.trials import Trials, TrialTokens  # noqa: E402

ML1_PREFIX = "metaworld-ml1-"
BATCH_ENVS = 25  # trials stepped side by side (Meta-World envs step one after another; this bounds memory)
HAND = slice(0, 3)  # the hand position in Meta-World's observation (the scene's "Observation Space")
# Meta-World's dense rewards lie in [0, 10] and are 10 once the task is solved (the scene's "Rewards").
REWARD_CEILING = 10.0
SCORING = "an episode succeeds if `success` is set at any of its steps (TrMRL's `success.any()`)"


def ml1_scene(scene_id: str) -> Scene:
    """`metaworld-ml1-reach` (or `-push`, ...) as the metaworld-ml1 scene on that v3 env; `metaworld-ml1` is
    the scene's default env, reach-v3."""
    if scene_id == "metaworld-ml1":
        return make_scene(scene_id)
    if not scene_id.startswith(ML1_PREFIX):
        raise SystemExit(
            f"{scene_id}: the reference policies move the hand only, which is a policy for ML1 reach; "
            f"give {ML1_PREFIX}<env> (e.g. {ML1_PREFIX}reach)"
        )
    return make_scene("metaworld-ml1", env_name=scene_id.removeprefix(ML1_PREFIX) + "-v3")


def goal_box_centre(scene: Scene) -> np.ndarray:
    """The centre of the box the env draws every task's goal from (Meta-World's `goal_space`, part of the env's
    definition: the same for all 100 tasks), read from a fresh env of the scene."""
    env = scene.make_env()
    try:
        space = env.metaworld_env.goal_space  # type: ignore[attr-defined]
        return (np.asarray(space.low, dtype=np.float64) + np.asarray(space.high, dtype=np.float64)) / 2
    finally:
        env.close()


# ------------------------------------------------------------------------------------------------ policies


class ReferencePolicy:
    """A policy over the tokens an agent gets from `Trials` (`act` sees one step's `TrialTokens` for every env).

    `mean_action` is its deterministic action; with `noise_std` > 0, sampled actions add Gaussian noise of that
    std (a Gaussian policy, like the agents'). Actions are clipped to [-1, 1] by `Trials`, as the agents' are.
    """

    knows: ClassVar[str]  # for the table: what the policy reads
    noise_std: float = 0.0

    def reset(self, num_envs: int) -> None:
        """Forget everything (a new batch of trials)."""

    def mean_action(self, tokens: TrialTokens) -> np.ndarray:
        raise NotImplementedError

    def act(self, tokens: TrialTokens, rng: np.random.Generator | None) -> np.ndarray:
        """The action for every env: the mean action, plus noise when `rng` is given (sampled actions)."""
        mean = self.mean_action(tokens)
        if rng is None or self.noise_std == 0:
            return mean
        return mean + rng.normal(0.0, self.noise_std, size=mean.shape)

    @property
    def sampled(self) -> bool:
        return self.noise_std > 0

    @property
    def actions(self) -> str:
        return f"sampled: mean + N(0, {self.noise_std:g}²)" if self.sampled else "deterministic"


class GoalBoxCentre(ReferencePolicy):
    """Flies the hand to the centre of the goal box and stays there: a policy that does not search.

    Knows: the goal-box centre (`goal_box_centre`: the env's `goal_space`, the same for every task, not the
    task's goal) and the hand position in the current observation. A proportional controller with gain 5, as
    Meta-World's own scripted reach policy (`SawyerReachV3Policy`, `move(..., p=5.0)`) flies to the goal it is
    given; gripper effort 0, as there.
    """

    knows: ClassVar[str] = "the goal box's centre (env's goal_space), the hand position"
    gain = 5.0

    def __init__(self, centre: np.ndarray, noise_std: float = 0.0) -> None:
        self.centre = np.asarray(centre, dtype=np.float64)
        self.noise_std = noise_std

    def mean_action(self, tokens: TrialTokens) -> np.ndarray:
        hand = tokens.obs[:, HAND].astype(np.float64)
        action = np.zeros((len(hand), 4))
        action[:, :3] = np.clip(self.gain * (self.centre - hand), -1.0, 1.0)
        return action


class WindowHillClimber(ReferencePolicy):
    """Climbs the reward using only what TrMRL's working memory holds: at most the last 5 tokens of the current
    episode (the official worker clears the window at every episode start), nothing else kept between steps.

    Knows, from those tokens only: the hand positions (observation) and the rewards that came with them (a
    token's previous reward was earned at the position the token observes; an episode's first token carries
    the last episode's reward, which is not used). Also the reward's ceiling, 10, which every Meta-World task
    pays once solved (a constant of the benchmark, not of a task). Not the goal, not the goal box.

    Each step it fits the reward's gradient over positions to the window (least squares on differences to the
    newest token), moves along it at full speed, and adds a probe of half that size along the axis the window
    has moved least on, so the next windows see every direction; at the ceiling it holds still. Deterministic.
    """

    knows: ClassVar[str] = "hand positions and rewards of its last <= 5 steps in this episode"
    window_size = 5
    probe = 0.5

    def __init__(self) -> None:
        self.windows: list[deque[tuple[np.ndarray, float | None]]] = []

    def reset(self, num_envs: int) -> None:
        self.windows = [deque(maxlen=self.window_size) for _ in range(num_envs)]

    def mean_action(self, tokens: TrialTokens) -> np.ndarray:
        if len(self.windows) != len(tokens.obs):
            self.reset(len(tokens.obs))
        actions = np.zeros((len(tokens.obs), 4))
        for i, window in enumerate(self.windows):
            if tokens.episode_start[i]:
                window.clear()
            reward = None if tokens.episode_start[i] else float(tokens.prev_reward[i])
            window.append((tokens.obs[i, HAND].astype(np.float64), reward))
            actions[i, :3] = self.move(window)
        return actions

    def move(self, window: deque[tuple[np.ndarray, float | None]]) -> np.ndarray:
        """The hand's move from one window alone (a function of its tokens: the policy has no other state)."""
        positions = np.stack([p for p, _ in window])
        newest_position, newest_reward = window[-1]
        if newest_reward is not None and newest_reward >= REWARD_CEILING:
            return np.zeros(3)
        scored = [(p, r) for p, r in window if r is not None]
        gradient = np.zeros(3)
        if len(scored) >= 2:
            assert newest_reward is not None  # only an episode's first token has none, and it is alone then
            steps = np.stack([p - newest_position for p, _ in scored[:-1]])
            gains = np.array([r - newest_reward for _, r in scored[:-1]])
            gradient = np.linalg.lstsq(steps, gains, rcond=None)[0]  # the minimum-norm fit when too few steps
        norm = float(np.linalg.norm(gradient))
        move = gradient / norm if norm > 0 else np.zeros(3)
        axis = int(np.argmin(np.ptp(positions, axis=0)))
        move[axis] += self.probe * (1.0 if gradient[axis] >= 0 else -1.0)
        return np.clip(move, -1.0, 1.0)


def reference_policies(scene: Scene) -> dict[str, ReferencePolicy]:
    centre = goal_box_centre(scene)
    return {
        "centre": GoalBoxCentre(centre),
        "centre-noise": GoalBoxCentre(centre, noise_std=0.8),
        "hill-climber": WindowHillClimber(),
    }


# ----------------------------------------------------------------------------------------------- the trials


def run_trials(
    scene: Scene,
    policy: ReferencePolicy,
    split: Split,
    trials: int,
    seed: int,
    sampled: bool | None = None,
    steps_per_trial: int | None = None,
    first_task: int = 0,
) -> dict[str, Any]:
    """Run `trials` trials of `split` (trial k on task first_task + k, mod 50) through `Trials` and score them as
    `main.py eval` does. `sampled`: draw the policy's noise (default: where it has any); `steps_per_trial`:
    shorter trials (tests).

    Returns the trials, their tasks and the episodes counted, the success rate over all episodes and per episode index in the
    trial, and the mean trial return."""
    import torch

    from agents.statistics import TrialOutcomes, episodes_in_trial, trial_statistics

    sampled = policy.sampled if sampled is None else sampled
    rounds = math.ceil(trials / BATCH_ENVS)
    num_envs = math.ceil(trials / rounds)
    env_name = scene.options["env_name"]
    catalog = scene.catalog  # type: ignore[attr-defined]
    drawn: list[int] = []  # task indices in the order trials start (batch i of a round is env i)
    next_task = itertools.count()  # Trials draws one more round of tasks as the last trial ends

    def task_in_order(rng: np.random.Generator) -> dict[str, Any]:
        index = (first_task + next(next_task)) % TASKS_PER_ENV
        drawn.append(index)
        return {"split": split, "task_index": index, **catalog.task_dict_goal(env_name, split, index)}

    batch = Trials(scene, num_envs, seed=seed, split=split, steps_per_trial=steps_per_trial)
    batch.set_task_sampler(task_in_order)
    rng = np.random.default_rng(seed) if sampled else None
    rewards, episode_index, success = [], [], []
    try:
        tokens = batch.reset()
        policy.reset(num_envs)
        for _ in range(rounds):
            trial_rewards, trial_index, trial_success = [], [], []
            for _ in range(batch.steps_per_trial):
                trial_index.append(tokens.episode_index.copy())
                actions = policy.act(tokens, rng)
                tokens, result = batch.step(actions)
                trial_rewards.append(result.reward)
                trial_success.append(np.asarray(result.info[scene.success_key], dtype=bool))
            rewards.append(np.stack(trial_rewards, axis=1))
            episode_index.append(np.stack(trial_index, axis=1))
            success.append(np.stack(trial_success, axis=1))
    finally:
        batch.close()
    outcomes = TrialOutcomes(
        rewards=torch.from_numpy(np.concatenate(rewards)[:trials]),
        episode_index=torch.from_numpy(np.concatenate(episode_index)[:trials]),
        success=torch.from_numpy(np.concatenate(success)[:trials]),
        scores={},
    )
    num_episodes = min(episodes_in_trial(scene), int(outcomes.episode_index.max()) + 1)
    stats = trial_statistics(outcomes, num_episodes)
    episodes = int((outcomes.episode_index.max(dim=1).values + 1).sum())
    return {
        "split": split,
        "trials": trials,
        "task_indices": drawn[:trials],
        "episodes": episodes,
        "sampled": sampled,
        "success_rate": stats["success_rate"],
        "success_per_episode_in_trial": [stats[f"success/{k}"] for k in range(num_episodes)],
        "trial_return": stats["trial_return"],
    }


def measure(
    scene: Scene, policies: dict[str, ReferencePolicy], trials: int, seed: int
) -> list[dict[str, Any]]:
    rows = []
    for name, policy in policies.items():
        started = time.perf_counter()
        row: dict[str, Any] = {"policy": name, "actions": policy.actions, "knows": policy.knows}
        for split in ("train", "test"):
            row[split] = run_trials(scene, policy, split, trials, seed)
        row["seconds"] = round(time.perf_counter() - started, 1)
        print(
            f"{name}: train {row['train']['success_rate']:.3f}, test {row['test']['success_rate']:.3f} "
            f"({row['seconds']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    lines = [
        f"<!-- {command}, {date.today()}, {platform.machine()}, {os.cpu_count()} cores -->",
        "",
        "| policy | knows | actions | train success | test success | trials x episodes per split |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        train, test = row["train"], row["test"]
        lines.append(
            f"| {row['policy']} | {row['knows']} | {row['actions']} | {train['success_rate']:.2f} | "
            f"{test['success_rate']:.2f} | {train['trials']} x {train['episodes'] // train['trials']} |"
        )
    lines += ["", f"Success: {SCORING}, over every episode of every trial."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scene", default="metaworld-ml1-reach", help="metaworld-ml1-<env> (default: reach)")
    parser.add_argument("--trials", type=int, default=50, help="trials per split, on tasks 0..N-1 (mod 50)")
    parser.add_argument("--seed", type=int, default=1, help="env and noise seed (main.py eval's default: 1)")
    parser.add_argument(
        "--policies", default="centre,centre-noise,hill-climber", help="comma-separated, from the default"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    if args.trials < 1:
        raise SystemExit("--trials must be at least 1")
    scene = ml1_scene(args.scene)
    available = reference_policies(scene)
    names = [n for n in args.policies.split(",") if n]
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SystemExit(f"unknown policies {unknown}; choose from {sorted(available)}")
    rows = measure(scene, {n: available[n] for n in names}, args.trials, args.seed)
    command = "python bench/ml1_references.py " + " ".join(sys.argv[1:])
    print(markdown(rows, command.strip()))
    if args.json:
        record = {
            "command": command.strip(),
            "date": str(date.today()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "scene": args.scene,
            "seed": args.seed,
            "scoring": SCORING,
            "rows": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
