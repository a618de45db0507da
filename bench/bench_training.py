"""Training throughput on halfcheetah-vel (issue 4's speed targets), printed as tables.

1. Rollout env-steps/s of TrMRL over `--envs` envs, at the paper's MuJoCo size and at the fast preset's (the
   size every result and pretrained agent here uses), against the raw batched env rate (the same envs stepped
   with random actions, resets included) measured in the same run, before and after. Target >= 0.5.
2. End-to-end env-steps/s (rollout + PPO update, whole iterations) for TrMRL with the paper preset, TrMRL with
   the fast preset, and a plain MLP agent with the same PPO settings as the fast preset; ratios to the MLP.

Run: `python bench/bench_training.py [--envs 20] [--iterations 2] [--threads 1]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")

from agents.config import resolve_config
from agents.rollout import collect_rollout
from agents.trainer import Trainer
from scenes.registry import make_scene

SCENE = "halfcheetah-vel"


def raw_env_rate(num_envs: int, steps: int) -> float:
    """Env steps/s of the batched env alone: random actions, episode resets as they come."""
    scene = make_scene(SCENE)
    rng = np.random.default_rng(0)
    batch = scene.make_batch(num_envs, [scene.sample_task(rng) for _ in range(num_envs)])
    batch.reset(np.arange(num_envs), seeds=list(range(num_envs)))
    space = batch.single_action_space
    actions = rng.uniform(space.low, space.high, size=(steps, num_envs, *space.shape)).astype(np.float32)
    start = time.perf_counter()
    for t in range(steps):
        _, _, terminated, truncated, _ = batch.step(actions[t])
        ended = np.flatnonzero(np.asarray(terminated) | np.asarray(truncated))
        if ended.size:
            batch.reset(ended, seeds=list(range(ended.size)))
    elapsed = time.perf_counter() - start
    batch.close()
    return num_envs * steps / elapsed


def rollout_rate(trainer: Trainer) -> float:
    tokens = trainer.trials.reset(seed=0)
    start = time.perf_counter()
    rollout, _ = collect_rollout(trainer.trials, trainer.agent, tokens, generator=trainer.generator)
    return rollout.rewards.numel() / (time.perf_counter() - start)


def end_to_end(trainer: Trainer, iterations: int) -> tuple[float, float, float]:
    """(env steps/s, rollout seconds, update seconds) per iteration, averaged over `iterations`."""
    rows = [trainer.iterate() for _ in range(iterations)]
    rollout_s = sum(m["rollout_s"] for m in rows) / iterations
    update_s = sum(m["update_s"] for m in rows) / iterations
    steps = rows[0]["env_steps"]
    return steps / (rollout_s + update_s), rollout_s, update_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--envs", type=int, default=20, help="envs (tasks per batch; TrMRL paper: 20)")
    parser.add_argument("--iterations", type=int, default=2, help="iterations timed per agent")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads of the update (TrainConfig default 1)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{args.threads} threads, {SCENE}, {args.envs} envs\n"
    )

    overrides = {"num_envs": args.envs, "torch_threads": args.threads}
    configs = {
        "trmrl paper": resolve_config(SCENE, "trmrl", "paper", overrides=overrides),
        "trmrl fast": resolve_config(SCENE, "trmrl", "fast", overrides=overrides),
        "mlp (fast PPO)": resolve_config(SCENE, "mlp", "fast", overrides=overrides),
    }
    trainers = {name: Trainer(config, None) for name, config in configs.items()}

    for name in trainers:
        rollout_rate(trainers[name])  # warm-up: first-call allocations and kernel selection
    before = raw_env_rate(args.envs, 400)
    rollouts = {name: rollout_rate(trainers[name]) for name in ("trmrl paper", "trmrl fast")}
    raw = (before + raw_env_rate(args.envs, 400)) / 2  # the env rate around the rollouts
    print("| measure | env steps/s | ratio |")
    print("|---|---:|---:|")
    print(f"| raw batched env, random actions | {raw:,.0f} | 1.00 |")
    for name, rollout in rollouts.items():
        print(f"| TrMRL rollout ({name.split()[1]} preset) | {rollout:,.0f} | {rollout / raw:.2f} |")
    print()

    results = {name: end_to_end(trainer, args.iterations) for name, trainer in trainers.items()}
    mlp = results["mlp (fast PPO)"][0]
    print("| agent (preset) | end-to-end env steps/s | rollout s / iter | update s / iter | vs MLP |")
    print("|---|---:|---:|---:|---:|")
    for name, (rate, rollout_s, update_s) in results.items():
        print(f"| {name} | {rate:,.0f} | {rollout_s:.2f} | {update_s:.2f} | {rate / mlp:.2f} |")
    for trainer in trainers.values():
        trainer.close()


if __name__ == "__main__":
    main()
