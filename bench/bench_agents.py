"""Agent step-latency and KV-cache benchmark; prints Markdown tables (results in docs/benchmarks.md).

    python bench/bench_agents.py            # full run (about 9 minutes on 2 CPU cores)
    python bench/bench_agents.py --quick    # contexts up to 4k, for a smoke test

1. Incremental `step` latency for a batch of 16 envs, 2 threads, at a gridworld-trial context (~500 steps).
   The agents are stepped in interleaved rounds, so a burst of load from other processes on the shared
   machine hits every row alike.
2. Memo vs the full-context transformer (FCT) at 1k / 4k / 16k / 32k steps of context: KV-cache size and
   per-step latency, batch 1, the small (gridworld-size) model with the paper's segments (l_seg 256,
   l_sum 32), plus both streaming modes (newest T = 2048 entries).
3. Memo at batch 16 over the same contexts, unbounded and streaming (T = 512, 1024), next to the floor set by
   memory bandwidth: the KV bytes a step must read (every held entry, every layer) divided by the rate at
   which this machine's 2 threads read memory (measured at the start of the run).

Every step is really taken (no synthetic cache fill). The agents of a table step their trials taking turns
of 64 steps. Latency per context is measured over the 256 steps just before it (so Memo's
figures include one segment end): median and maximum.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents import ActionKind, Agent, TokenBatch, make_agent

WINDOW = 256  # steps timed before each context checkpoint
TURN = 64  # steps an agent takes before the next one of its table takes its turn


@dataclass
class Env:
    obs_dim: int
    kind: ActionKind
    act_dim: int


CHEETAH = Env(20, "continuous", 6)  # HalfCheetah-Vel: 17-D obs + ours; 6 actions
METAWORLD = Env(39, "continuous", 4)
GRID = Env(4, "discrete", 5)  # Dark-Key-To-Door: (x, y, has_key, t), 5 actions


def tokens(env: Env, batch: int, trial_start: bool) -> TokenBatch:
    flag = torch.full((batch,), trial_start)
    return TokenBatch(
        torch.randn(batch, env.obs_dim),
        torch.zeros(batch, env.act_dim),
        torch.zeros(batch),
        torch.zeros(batch),
        flag,
        flag,
    )


class Stepper:
    """One agent stepping a batch of envs through a trial (its first token a trial start), timing each step."""

    def __init__(self, agent: Agent, env: Env, batch: int) -> None:
        self.agent = agent
        self.rest = tokens(env, batch, False)
        self.state = agent.step(tokens(env, batch, True), agent.initial_state(batch)).state
        self.times: list[float] = []

    def timed_steps(self, n: int) -> None:
        for _ in range(n):
            start = time.perf_counter()
            self.state = self.agent.step(self.rest, self.state).state
            self.times.append(time.perf_counter() - start)


Checkpoint = tuple[float, float, int, int]  # median ms, max ms, cache tokens, cache bytes


def run(
    agents: dict[str, Agent], env: Env, batch: int, checkpoints: list[int]
) -> dict[str, dict[int, Checkpoint]]:
    """Step every agent through one trial up to the last checkpoint, taking turns every `TURN` steps (so a
    burst of load from other processes hits them alike, while each turn runs with warm caches); per agent
    and checkpoint: median and max ms over the `WINDOW` steps before it, cache tokens and bytes."""
    steppers = {label: Stepper(agent, env, batch) for label, agent in agents.items()}
    results: dict[str, dict[int, Checkpoint]] = {label: {} for label in agents}
    last = max(checkpoints)
    for turn_start in range(2, last + 1, TURN):
        for label, stepper in steppers.items():
            # Contexts are the tokens in the trial once this step is taken.
            for context in range(turn_start, min(turn_start + TURN, last + 1)):
                if context not in checkpoints:
                    stepper.timed_steps(1)
                    continue
                # The checkpoint step reads the cache size; untimed.
                out = stepper.agent.step(stepper.rest, stepper.state, trace=True)
                stepper.state, trace = out.state, out.trace
                assert trace is not None
                recent = stepper.times[-WINDOW:]
                results[label][context] = (
                    statistics.median(recent) * 1e3,
                    max(recent) * 1e3,
                    trace.cache_tokens,
                    trace.cache_bytes,
                )
    return results


def latency_table(quick: bool) -> None:
    print("\n### Step latency, batch 16, 2 threads, ~500-step context\n")
    print("| agent | preset | env dims (obs / act) | median ms | p90 ms | max ms | env-steps/s |")
    print("|---|---|---|---|---|---|---|")
    # The bf16 row asks whether lower precision lifts TrMRL's fp32 matmul floor on this CPU (avx512_bf16):
    # the same weights in bfloat16, inference only.
    rows = [
        ("trmrl", "mujoco", CHEETAH, torch.float32),
        ("trmrl", "mujoco", CHEETAH, torch.bfloat16),
        ("trmrl", "metaworld", METAWORLD, torch.float32),
        ("memo", "gridworld", GRID, torch.float32),
        ("rmt", "gridworld", GRID, torch.float32),
        ("fct", "gridworld", GRID, torch.float32),
        ("rl2", None, GRID, torch.float32),
        ("mlp", None, GRID, torch.float32),
    ]
    steppers = []
    for name, preset, env, dtype in rows:
        torch.manual_seed(0)
        agent = make_agent(name, env.obs_dim, env.kind, env.act_dim, preset=preset).eval().to(dtype)
        steppers.append(Stepper(agent, env, 16))
    # Interleaved rounds: a burst of load from other processes on the shared cores hits every agent alike.
    for _ in range(4 if quick else 10):
        for stepper in steppers:
            stepper.timed_steps(50)
    for (name, preset, env, dtype), stepper in zip(rows, steppers, strict=True):
        times = sorted(stepper.times)
        median = statistics.median(times)
        label = (preset or "-") + (", bf16 weights" if dtype == torch.bfloat16 else "")
        print(
            f"| {name} | {label} | {env.obs_dim} / {env.act_dim} {env.kind} | {median * 1e3:.2f} | "
            f"{times[int(0.9 * len(times))] * 1e3:.2f} | {times[-1] * 1e3:.2f} | {16 / median:,.0f} |"
        )
    matmul_share(steppers[0], 200)


def matmul_share(stepper: Stepper, steps: int) -> None:
    """Where a TrMRL step's time goes, from torch.profiler: its matrix multiplies are a floor that no
    fusion of the other (small) ops can remove."""
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        stepper.timed_steps(steps)
    matmuls = [e for e in prof.key_averages() if e.key in ("aten::addmm", "aten::mm", "aten::bmm")]
    total_ms = sum(stepper.times[-steps:]) / steps * 1e3
    matmul_ms = sum(e.self_cpu_time_total for e in matmuls) / steps / 1e3
    mflop = sum(e.flops for e in matmuls) / steps / 1e6
    print(
        f"\nTrMRL (mujoco preset) under torch.profiler: {total_ms:.2f} ms per step, of which {matmul_ms:.2f} ms "
        f"in matrix multiplies ({mflop:.0f} MFLOP per step, {mflop / matmul_ms:.0f} GFLOP/s)."
    )


def read_bandwidth() -> float:
    """Bytes/s at which this process reads a 256 MB float32 tensor (a sum, best of 5): the speed limit of a
    step that must read its whole KV cache, which is far larger than the CPU caches at long contexts."""
    x = torch.ones(64 * 2**20)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - start)
    return x.numel() * x.element_size() / best


def context_table(quick: bool) -> None:
    checkpoints = [1024, 4096] if quick else [1024, 4096, 16384, 32768]
    segments = {"segment_length": 256, "summary_length": 32}
    configs = [
        ("fct", {}),
        ("memo", segments),
        ("fct", {"stream_window": 2048}),
        ("memo", {**segments, "stream_window": 2048}),
    ]
    print(
        "\n### Memo vs FCT by context, batch 1, gridworld-size model (d 128, 2 layers), "
        "l_seg 256 / l_sum 32\n"
    )
    print("| agent | context | KV tokens | KV MB | median ms / step | max ms / step |")
    print("|---|---|---|---|---|---|")
    agents = {}
    for name, overrides in configs:
        torch.manual_seed(0)
        label = name + (f" (stream T={overrides['stream_window']})" if "stream_window" in overrides else "")
        agents[label] = make_agent(
            name, GRID.obs_dim, GRID.kind, GRID.act_dim, preset="gridworld", **overrides
        ).eval()
    measured = run(agents, GRID, 1, checkpoints)
    for label, by_context in measured.items():
        for context, (median, peak, n_tokens, n_bytes) in by_context.items():
            print(
                f"| {label} | {context:,} | {n_tokens:,} | {n_bytes / 2**20:.2f} | {median:.3f} "
                f"| {peak:.2f} |"
            )
    print("\n| context | FCT KV / Memo KV | FCT ms / Memo ms (median) |")
    print("|---|---|---|")
    for context in checkpoints:
        fct, memo = measured["fct"][context], measured["memo"][context]
        print(f"| {context:,} | {fct[3] / memo[3]:.1f}x | {fct[0] / memo[0]:.2f}x |")

    bandwidth = read_bandwidth()
    print(
        f"\n### Memo at batch 16 (gridworld preset sizes, l_seg 256 / l_sum 32); memory read at "
        f"{bandwidth / 1e9:.1f} GB/s\n"
    )
    print(
        "| agent | context | KV tokens per env | KV MB (batch) | read floor ms | median ms / step "
        "| max ms / step |"
    )
    print("|---|---|---|---|---|---|---|")
    agents = {}
    for window in (0, 512, 1024):
        torch.manual_seed(0)
        agents[f"memo (stream T={window})" if window else "memo"] = make_agent(
            "memo",
            GRID.obs_dim,
            GRID.kind,
            GRID.act_dim,
            preset="gridworld",
            **segments,
            stream_window=window,
        ).eval()
    for label, by_context in run(agents, GRID, 16, checkpoints).items():
        for context, (median, peak, n_tokens, n_bytes) in by_context.items():
            print(
                f"| {label} | {context:,} | {n_tokens:,} | {n_bytes / 2**20:.1f} | "
                f"{n_bytes / bandwidth * 1e3:.2f} | {median:.3f} | {peak:.2f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="contexts up to 4k and shorter latency runs")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"# Agents benchmark — {datetime.date.today().isoformat()}")
    print(
        f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    # Other processes on the same 2 cores inflate every figure (and stall OpenMP threads): say how busy.
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    latency_table(args.quick)
    context_table(args.quick)
    print(f"\n(total {time.perf_counter() - start:.0f} s; load average at end: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
