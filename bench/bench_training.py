"""Training throughput on halfcheetah-vel (issue 4's speed targets), printed as tables.

1. Rollout env-steps/s of TrMRL over `--envs` envs, at the paper's MuJoCo size and at the fast preset's (the
   size every result and pretrained agent here uses), against the raw batched env rate (the same envs stepped
   with random actions, resets included, in this process) measured in the same run. Target >= 0.5. Also
   against the same serial envs replaying each preset's rollout (its actions, no agent): a policy's actions
   cost the physics more than random ones, so that is the env's own share of the rollout. Each
   rollout runs both ways: serially in this process, and with the envs in a worker process stepping one
   half of them while the agent acts for the other (`train --env-worker on`).
   `--repeats` rounds alternate every measurement; the table shows medians (the machines are shared).
   `--busy` keeps one core busy with a spinning process meanwhile (another user of the machine).
   `--other-scenes` also times rollouts with and without the env worker on Meta-World and navigation (at most
   3 rounds each: a Meta-World rollout takes about 25 s).
2. End-to-end env-steps/s (rollout + PPO update, whole iterations) for TrMRL with the paper preset, TrMRL with
   the fast preset, and a plain MLP agent with the same PPO settings as the fast preset; ratios to the MLP.

3. `--ranks 1,2`: end-to-end env-steps/s of Memo on Dark-Key-To-Door and TrMRL on halfcheetah-vel (fast
   presets, their envs per rank) on 1 rank and on 2 ranks of 1 thread each, launched by torchrun with the gloo
   backend, in one run; the share of the update spent in its collectives (gradient all-reduces and stop checks,
   waits for the slower rank included). Only this table is printed with --ranks.

Run: `python bench/bench_training.py [--envs 20] [--iterations 2] [--threads 1] [--repeats 5] [--busy]
[--other-scenes]`, or `python bench/bench_training.py --ranks 1,2 [--iterations 3] [--repeats 2]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")

from agents.config import resolve_config
from agents.rollout import Rollout
from agents.trainer import Trainer
from scenes.registry import make_scene
from scenes.trials import Trials

SCENE = "halfcheetah-vel"
OTHER_SCENES = (("metaworld-ml1", "trmrl"), ("objnav-apartment", "memo"))
RANK_CASES = (("dark-key-to-door", "memo"), ("halfcheetah-vel", "trmrl"))


def rank_worker(scene: str, agent: str, iterations: int, output: str) -> None:
    """One rank of a `--ranks` measurement (started by torchrun): a warm-up iteration, then `iterations`
    timed ones; rank 0 writes their totals to `output` as JSON."""
    from agents import distributed

    ranks = distributed.init_from_environment(torch.device("cpu"))
    config = resolve_config(scene, agent, "fast")
    trainer = Trainer(config, None, log=False)
    trainer.iterate()
    rows = [trainer.iterate() for _ in range(iterations)]
    trainer.close()
    # The all-reduces themselves, apart from waiting for the slower rank: each timed right after a barrier, so
    # both ranks enter together. An update makes, per minibatch, one of the gradient (+ loss and stop request)
    # and one of the advantage moments (3 numbers).
    gradient = sum(p.numel() for p in trainer.agent.parameters())
    alone = {"gradient": 0.0, "moments": 0.0}
    for name, size in (("gradient", gradient + 2), ("moments", 3)) if ranks.world_size > 1 else ():
        buffer, times = torch.zeros(size), []
        for _ in range(30):
            torch.distributed.barrier()
            start = time.perf_counter()
            torch.distributed.all_reduce(buffer)
            times.append(time.perf_counter() - start)
        alone[name] = statistics.median(times)
    trials_per_minibatch = max(1, round(config.ppo.minibatch_steps / trainer.trials.steps_per_trial))
    minibatches = math.ceil(config.num_envs / trials_per_minibatch) * config.ppo.update_epochs
    if ranks.is_main:
        steps = rows[-1]["env_steps"] - rows[0]["env_steps"] + rows[0]["env_steps"] / rows[0]["iteration"]
        totals = {key: sum(m[key] for m in rows) for key in ("rollout_s", "update_s", "sync_s")}
        all_reduce_s = iterations * minibatches * (alone["gradient"] + alone["moments"])
        Path(output).write_text(
            json.dumps({"steps": steps, "parameters": gradient, "all_reduce_s": all_reduce_s, **totals})
        )
    distributed.shutdown()


def ranks_table(rank_counts: list[int], cases: list[tuple[str, str]], iterations: int, repeats: int) -> None:
    """Section 3: every (case, ranks) measured in alternating rounds; medians."""
    import tempfile

    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "rank0.json"
        for _ in range(repeats):
            for scene, agent in cases:
                for count in rank_counts:
                    command = [
                        *(sys.executable, "-m", "torch.distributed.run", "--standalone"),
                        f"--nproc_per_node={count}",
                        __file__,
                        *("--rank-worker", scene, agent, str(iterations), str(output)),
                    ]
                    subprocess.run(
                        command, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
                    )
                    row = json.loads(output.read_text())
                    results.setdefault((f"{agent}, {scene}", count), []).append(row)
                    # Each measurement as it finishes, so a run cut short still leaves its numbers.
                    rate = row["steps"] / (row["rollout_s"] + row["update_s"])
                    print(
                        f"{agent}, {scene}, {count} ranks: {rate:,.0f} env-steps/s",
                        file=sys.stderr,
                        flush=True,
                    )
    print(
        f"medians of {repeats} rounds of {iterations} iterations after a warm-up; 1 torch thread per rank\n"
    )
    print(
        "| agent, scene (fast preset) | ranks | env steps/s | vs 1 rank | rollout s | update s "
        "| collectives s (share of update) | of which all-reduces alone | gradient |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (case, count), rows in results.items():
        rate = statistics.median(r["steps"] / (r["rollout_s"] + r["update_s"]) for r in rows)
        one = results[case, rank_counts[0]]
        base = statistics.median(r["steps"] / (r["rollout_s"] + r["update_s"]) for r in one)
        update = statistics.median(r["update_s"] for r in rows)
        sync = statistics.median(r["sync_s"] for r in rows)
        alone = statistics.median(r["all_reduce_s"] for r in rows) if count > 1 else 0.0
        print(
            f"| {case} | {count} | {rate:,.0f} | {rate / base:.2f}x | {statistics.median(r['rollout_s'] for r in rows):.2f} "
            f"| {update:.2f} | {sync:.3f} ({sync / update:.1%}) | {alone:.3f} ({alone / update:.1%}) "
            f"| {rows[0]['parameters'] * 4 / 1e6:.2f} MB |"
        )


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


def replay_rate(trainer: Trainer, rollout: Rollout) -> float:
    """Env steps/s of the trainer's own (serial) envs stepped through `rollout` again with its actions and no
    agent: the env's share of that rollout. The trajectory is the same one (same seed, same actions), which
    the rewards confirm; a policy's actions cost the physics more than uniform random ones (more time on
    the ground, more contacts), so this is the tighter reference."""
    assert isinstance(trainer.trials, Trials), "replay in the serial trainer's envs"
    actions = rollout.actions.numpy()
    rewards = np.empty(rollout.rewards.shape, dtype=np.float32)
    trainer.trials.reset(seed=0)
    start = time.perf_counter()
    for t in range(actions.shape[1]):
        _, result = trainer.trials.step(actions[:, t])
        rewards[:, t] = result.reward
    elapsed = time.perf_counter() - start
    assert np.array_equal(rewards, rollout.rewards.numpy()), "the replay left the rollout's trajectory"
    return rewards.size / elapsed


def rollout_rate(trainer: Trainer) -> float:
    start = time.perf_counter()
    rollout = trainer.collect(seed=0)
    return rollout.rewards.numel() / (time.perf_counter() - start)


def rollout_name(size: str, worker: bool) -> str:
    return f"TrMRL rollout ({size} preset), {'env worker' if worker else 'serial'}"


def replay_name(size: str) -> str:
    return f"raw batched env, replaying the {size}-preset serial rollout's actions"


def alternated(measures: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Each measure once to warm up (first-call allocations, kernel selection), then `repeats` rounds of all of
    them in turn: a slow spell of the shared machine then hits every measure of a round alike."""
    for measure in measures.values():
        measure()
    rates: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(repeats):
        for name, measure in measures.items():
            rates[name].append(measure())
    return rates


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
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the rollout measurements")
    parser.add_argument(
        "--other-scenes", action="store_true", help="also time the env worker on Meta-World and navigation"
    )
    parser.add_argument(
        "--busy",
        action="store_true",
        help="keep one core busy with another process (its own session) while timing the rollouts",
    )
    parser.add_argument("--ranks", help="e.g. 1,2: only the table of 1 rank vs 2 ranks (torchrun, gloo)")
    parser.add_argument(
        "--rank-agents", default="memo,trmrl", help="with --ranks: which cases, by agent (default memo,trmrl)"
    )
    parser.add_argument("--rank-worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_worker:
        scene, agent, iterations, output = args.rank_worker
        rank_worker(scene, agent, int(iterations), output)
        return
    if args.ranks:
        print(
            f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}\n"
        )
        cases = [case for case in RANK_CASES if case[1] in args.rank_agents.split(",")]
        ranks_table([int(n) for n in args.ranks.split(",")], cases, args.iterations, args.repeats)
        return
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
    rollout_trainers = {
        (size, worker): Trainer(
            resolve_config(SCENE, "trmrl", size, overrides=overrides | {"env_worker": worker})
        )
        for size in ("paper", "fast")
        for worker in (False, True)
    }
    measures: dict[str, Callable[[], float]] = {
        "raw batched env, random actions": lambda: raw_env_rate(args.envs, 400)
    }
    for size in ("paper", "fast"):
        serial = rollout_trainers[size, False]
        measures[replay_name(size)] = partial(replay_rate, serial, serial.collect(seed=0))
    for (size, worker), trainer in rollout_trainers.items():
        measures[rollout_name(size, worker)] = partial(rollout_rate, trainer)
    # A spinning process in a session of its own, like a second run started from another terminal.
    busy = (
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        if args.busy
        else None
    )
    try:
        rates = alternated(measures, args.repeats)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    print(
        f"medians of {args.repeats} rounds (ratio: to the raw env rate of the same round; range in brackets)\n"
    )
    print("| measure | env steps/s | ratio to raw env, random actions | ratio to the replay |")
    print("|---|---:|---:|---:|")

    def ratio(values: list[float], references: list[float]) -> str:
        r = [rate / reference for rate, reference in zip(values, references, strict=True)]
        return f"**{statistics.median(r):.2f}** ({min(r):.2f}-{max(r):.2f})"

    random_actions = rates["raw batched env, random actions"]
    replay_of = {rollout_name(size, worker): replay_name(size) for size, worker in rollout_trainers}
    for name, values in rates.items():
        replayed = ratio(values, rates[replay_of[name]]) if name in replay_of else ""
        print(f"| {name} | {statistics.median(values):,.0f} | {ratio(values, random_actions)} | {replayed} |")
    print()
    for trainer in rollout_trainers.values():
        trainer.close()

    if args.other_scenes:
        print("| scene, agent (fast preset) | rollout serial | rollout with env worker | speed-up |")
        print("|---|---:|---:|---:|")
        for scene, agent in OTHER_SCENES:
            pair = {
                worker: Trainer(resolve_config(scene, agent, "fast", overrides={"env_worker": worker}))
                for worker in (False, True)
            }
            # At most 3 rounds: a Meta-World rollout is 10 envs x one 5,000-step trial (25 s here).
            rounds = min(args.repeats, 3)
            rates = alternated({str(w): partial(rollout_rate, t) for w, t in pair.items()}, rounds)
            speedups = [w / s for s, w in zip(rates["False"], rates["True"], strict=True)]
            print(
                f"| {scene}, {agent} ({pair[True].config.num_envs} envs) | {statistics.median(rates['False']):,.0f} "
                f"| {statistics.median(rates['True']):,.0f} | **{statistics.median(speedups):.2f}x** "
                f"({min(speedups):.2f}-{max(speedups):.2f}) |"
            )
            for trainer in pair.values():
                trainer.close()
        print()

    results = {name: end_to_end(trainer, args.iterations) for name, trainer in trainers.items()}
    mlp = results["mlp (fast PPO)"][0]
    print("| agent (preset) | end-to-end env steps/s | rollout s / iter | update s / iter | vs MLP |")
    print("|---|---:|---:|---:|---:|")
    for name, (rate, rollout_s, update_s) in results.items():
        worker = "env worker" if configs[name].env_worker else "serial"  # the preset's choice
        print(f"| {name}, {worker} | {rate:,.0f} | {rollout_s:.2f} | {update_s:.2f} | {rate / mlp:.2f} |")
    for trainer in trainers.values():
        trainer.close()


if __name__ == "__main__":
    main()
