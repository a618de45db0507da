"""What a trained agent's memory knows, per trial step: held-out linear probes from its memory to each task
parameter (agents/memory_probe.py), over trials as long as its training trial or longer.

For each of `--trials` test tasks the agent acts one trial (sampled actions, inference settings) with traces on;
the memory vector read at each step is
* `readout`: the newest token's final-layer output (the recurrent state for RL²), what the policy reads;
* `summary` (Memo / RMT): the newest summary written so far, flattened (zeros before the first write) — the
  vector docs/reference/memo.md's audit probed to find Memo's writer failing past its training trial.
A ridge regression per step, fit on 4/5 of the trials and scored on the rest (5 folds), gives R² per task
parameter; the table averages it over bins of steps. `--categorical key_x,key_y` adds the held-out accuracy of a
ridge classifier for the cell those parameters name together (the audit's measure: "decodes the key's cell"),
with chance (the most common cell's share) in the header. `--transfer-from 400:500` adds, per parameter, the R²
of one probe fit on those steps and read at every step: whether the memory keeps the code it had there.

Run: `python bench/probe_memory.py --checkpoint assets/pretrained/dark-key-to-door-memo.pt [--multiple 2]
[--trials 512] [--vector summary] [--bin 100] [--stride 4] [--categorical key_x,key_y]`.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.evaluation import load_policy
from agents.memory_probe import ridge_probe_accuracy, ridge_probe_r2, ridge_probe_transfer_r2
from agents.rollout import act
from scenes.trials import Trials


def memory_vectors(
    checkpoint: str, multiple: int, trials: int, vector: str, seed: int
) -> tuple[np.ndarray, list]:
    """(trials, steps, features) memory vectors and the trials' tasks."""
    base = load_policy(checkpoint)
    steps = base.scene.steps_per_trial * multiple
    policy = load_policy(checkpoint, {"trial_steps": steps} if multiple != 1 else None)
    agent, scene = policy.agent, policy.scene
    batch = Trials(scene, trials, seed=seed, split="test")  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(seed)
    try:
        tokens = batch.reset()
        tasks = batch.tasks()
        state = agent.initial_state(trials, **agent.rollout_options(None, training=False))
        newest_summary: torch.Tensor | None = None
        vectors = []
        for _ in range(batch.steps_per_trial):
            _, out, action, _ = act(agent, tokens, state, generator, trace=True)
            state, trace = out.state, out.trace
            assert trace is not None
            if vector == "summary":
                if trace.events:
                    newest_summary = trace.events[-1].summary.flatten(1)
                if newest_summary is None:
                    width = agent.spec.summary_length * agent.spec.d_model  # type: ignore[attr-defined]
                    vectors.append(np.zeros((trials, width), dtype=np.float32))
                else:
                    vectors.append(newest_summary.float().numpy())
            else:
                assert trace.memory is not None
                vectors.append(trace.memory.float().numpy())
            tokens, _ = batch.step(action.numpy())
    finally:
        batch.close()
    return np.stack(vectors, axis=1), tasks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True, help="a checkpoint or run directory")
    parser.add_argument(
        "--multiple", type=int, default=1, help="trial length as a multiple of the training trial"
    )
    parser.add_argument("--trials", type=int, default=512, help="test tasks, one trial each")
    parser.add_argument("--vector", choices=("readout", "summary"), default="readout")
    parser.add_argument("--bin", type=int, default=100, help="steps per row of the table")
    parser.add_argument("--stride", type=int, default=1, help="probe every k-th step (each stands for k)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--categorical",
        action="append",
        default=[],
        help="task parameters naming one category together (e.g. key_x,key_y: the key's cell); repeatable",
    )
    parser.add_argument(
        "--transfer-from",
        default=None,
        help="START:END: also score one probe fit on these trial steps at every step (the code kept or not)",
    )
    args = parser.parse_args()
    fit_steps = None
    if args.transfer_from is not None:
        try:
            start, end = (int(part) for part in args.transfer_from.split(":"))
            fit_steps = range(start, end)
        except ValueError:
            parser.error(f"--transfer-from {args.transfer_from!r}: expected START:END, e.g. 400:500")
    torch.set_num_threads(1)
    memory, tasks = memory_vectors(args.checkpoint, args.multiple, args.trials, args.vector, args.seed)
    names = [
        name
        for name, value in tasks[0].items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    names = [name for name in names if len({task[name] for task in tasks}) > 1]
    # One probe per probed step fits every parameter at once; --stride probes every k-th step (the summary
    # changes only at writes, and its vector is l_sum x d wide).
    targets = np.array([[task[name] for name in names] for task in tasks], dtype=np.float64)
    r2 = np.repeat(ridge_probe_r2(memory[:, :: args.stride], targets), args.stride, axis=0)
    r2 = r2[: memory.shape[1]]
    columns = [f"R² {name}" for name in names]
    if fit_steps is not None:
        if not fit_steps or fit_steps.start < 0 or fit_steps.stop > memory.shape[1]:
            parser.error(
                f"--transfer-from {args.transfer_from}: not within the {memory.shape[1]} trial steps"
            )
        strided = range(fit_steps.start // args.stride, -(-fit_steps.stop // args.stride))
        transfer = ridge_probe_transfer_r2(memory[:, :: args.stride], targets, strided)
        transfer = np.repeat(transfer, args.stride, axis=0)[: memory.shape[1]]
        r2 = np.concatenate([r2, transfer], axis=1)
        columns += [f"R² {name}, fit at {args.transfer_from}" for name in names]
    for group in args.categorical:
        keys = group.split(",")
        unknown = [key for key in keys if key not in tasks[0]]
        if unknown:
            parser.error(
                f"--categorical {group}: no task parameter {unknown[0]!r} (known: {', '.join(tasks[0])})"
            )
        labels = np.unique([tuple(task[key] for key in keys) for task in tasks], axis=0, return_inverse=True)[
            1
        ]
        chance = np.bincount(labels.ravel()).max() / len(tasks)
        accuracy = ridge_probe_accuracy(memory[:, :: args.stride], labels.ravel())
        r2 = np.concatenate([r2, np.repeat(accuracy, args.stride)[: memory.shape[1], None]], axis=1)
        columns.append(f"accuracy {group} (chance {chance:.2f})")
    print(
        f"<!-- bench/probe_memory.py, {date.today()}, {platform.machine()}: {args.checkpoint}, {args.vector}, "
        f"{args.trials} test trials of {memory.shape[1]} steps ({args.multiple}x training), stride {args.stride} -->\n"
    )
    print("| trial steps | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for start in range(0, memory.shape[1], args.bin):
        cells = [f"{value:.2f}" for value in r2[start : start + args.bin].mean(0)]
        print(f"| {start}-{min(start + args.bin, memory.shape[1]) - 1} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
