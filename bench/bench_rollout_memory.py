"""Heap held by one long-trial rollout: process RSS growth against the bytes of the rollout's tensors.

A rollout of FCT (the whole-cache baseline, whose per-step attention temporaries grow by one key each step) on
Dark-Key-To-Door, 32 envs, one trial of each length, in a fresh process per row so each starts from a clean
heap. Before the rollout's step records were preallocated, the heap grew quadratically with trial length
(docs/benchmarks.md, "Long trials and the heap").

    python bench/bench_rollout_memory.py [--steps 1000,2000,4000] [--envs 32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def measure(steps: int, envs: int) -> dict[str, float]:
    """One rollout in this process: RSS growth and the rollout's tensor bytes, in MB."""
    import dataclasses

    import torch

    from agents import make_agent
    from agents.rollout import _STEP_TENSORS, collect_rollout
    from scenes import make_scene
    from scenes.trials import Trials

    torch.manual_seed(0)
    torch.set_num_threads(1)
    scene = make_scene("dark-key-to-door")
    trials = Trials(scene, num_envs=envs, seed=0, steps_per_trial=steps)
    agent = make_agent("fct", trials.observation_space.shape[0], scene.action_kind, trials.action_dim)
    tokens = trials.reset()
    before = rss_mb()
    rollout, _ = collect_rollout(trials, agent, tokens, training=False)
    grown = rss_mb() - before
    trials.close()
    tensors = [getattr(rollout.tokens, f.name) for f in dataclasses.fields(rollout.tokens)]
    tensors += [getattr(rollout, name) for name in _STEP_TENSORS] + list(rollout.scores.values())
    held = sum(t.numel() * t.element_size() for t in tensors if t is not None) / 2**20
    return {"steps": steps, "envs": envs, "rss_growth_mb": grown, "rollout_mb": held}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", default="1000,2000,4000", help="trial lengths, comma-separated")
    parser.add_argument("--envs", type=int, default=32)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a row, run in a child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.envs)))
        return
    print("| trial steps | envs | RSS growth (MB) | rollout tensors (MB) |")
    print("|---:|---:|---:|---:|")
    for steps in (int(s) for s in args.steps.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(steps), "--envs", str(args.envs)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {steps} | {row['envs']} | {row['rss_growth_mb']:.0f} | {row['rollout_mb']:.1f} |", flush=True
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
