"""Training and acting on a device (issue 19): env-steps/s end to end and step latency, printed as tables.

1. End-to-end env-steps/s (whole iterations: rollout with the envs on the CPU and the agent on the device, then
   the PPO update on the device) for Memo and FCT on Dark-Key-To-Door at each of `--envs` (the issue asks for
   256 to 4,096 on a GPU), and TrMRL on halfcheetah-vel at its preset's 16 envs; fast presets; one warm-up
   iteration, then `--iterations` timed. With more envs the minibatches grow with the batch, so that an epoch
   keeps the fast preset's 8 minibatches (32 envs x 500 steps / 2,000): what a GPU user sets, rather than
   thousands of tiny minibatches. With CUDA, the peak memory the device held.
2. Incremental `step` latency for 16 envs at a Dark-Key-To-Door trial's context (500 steps) on the device, per
   agent: the median and maximum over the last 100 steps (with CUDA, synchronised every step).
3. With CUDA, the kernels that ran each agent's attention in a training forward and backward (from
   torch.profiler), to show that SDPA took a fused kernel rather than its math fallback.
4. With CUDA, TrMRL's two equal window-attention paths (`agents/trmrl.py`, `_attention`: SDPA, and the broadcast form
   that the CPU crossover `WINDOW_ATTENTION_MIN_PAIRS` picks for large batches), each forced on the device:
   end-to-end halfcheetah-vel as in table 1, and one training forward + backward over 64 trials of 1,000
   steps at the paper's MuJoCo size (the shape of a large update).

    python bench/bench_device.py --device cuda                       # the GPU run (the issue's sizes)
    python bench/bench_device.py --device cpu --envs 16 --iterations 1   # a smoke run here
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")

import torch

import agents.trmrl as trmrl
from agents import TokenBatch, make_agent
from agents.config import resolve_config
from agents.devices import resolve_device
from agents.rollout import act, collect_rollout
from agents.trainer import Trainer, initial_agent
from scenes.registry import make_scene
from scenes.trials import Trials

LATENCY_ENVS = 16
LATENCY_CONTEXT = 500
# The fast preset's minibatches per epoch on Dark-Key-To-Door: 32 envs x 500 steps / 2,000-step minibatches.
MINIBATCHES_PER_EPOCH = 8


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def end_to_end(
    scene: str, agent: str, num_envs: int, device: torch.device, iterations: int
) -> dict[str, float]:
    config = resolve_config(scene, agent, "fast", overrides={"num_envs": num_envs, "device": str(device)})
    if "trial_steps" in config.scene_options:  # the gridworld rows; TrMRL keeps its preset's 16 envs
        batch = num_envs * config.scene_options["trial_steps"] * config.trials_per_iteration
        config.ppo.minibatch_steps = max(config.ppo.minibatch_steps, batch // MINIBATCHES_PER_EPOCH)
    trainer = Trainer(config, None, log=False)
    try:
        trainer.iterate()  # warm-up: allocator, kernels, caches
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        rows = [trainer.iterate() for _ in range(iterations)]
    finally:
        trainer.close()
    rollout_s = sum(m["rollout_s"] for m in rows)
    update_s = sum(m["update_s"] for m in rows)
    steps = rows[-1]["env_steps"] - rows[0]["env_steps"] + rows[0]["env_steps"] / rows[0]["iteration"]
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {
        "sps": steps / (rollout_s + update_s),
        "rollout_s": rollout_s,
        "update_s": update_s,
        "peak_gib": peak,
    }


def step_latency(agent_name: str, device: torch.device) -> tuple[float, float]:
    """Median and maximum ms per `step` of 16 envs over the last 100 of 500 steps of one trial."""
    config = resolve_config("dark-key-to-door", agent_name, "fast", overrides={"num_envs": LATENCY_ENVS})
    scene = make_scene(config.scene, **config.scene_options)
    trials = Trials(scene, LATENCY_ENVS, seed=0)
    agent = initial_agent(config, scene, trials).to(device)
    generator = torch.Generator().manual_seed(0)
    tokens = trials.reset(seed=0)
    state = agent.initial_state(LATENCY_ENVS)
    times = []
    for t in range(LATENCY_CONTEXT):
        synchronize(device)
        start = time.perf_counter()
        _, out, action, _ = act(agent, tokens, state, generator)
        synchronize(device)
        times.append(time.perf_counter() - start)
        state = out.state
        tokens, _ = trials.step(action.cpu().numpy())
        assert t == LATENCY_CONTEXT - 1 or not tokens.trial_start.any()
    trials.close()
    last = [1000 * s for s in times[-100:]]
    return statistics.median(last), max(last)


def attention_kernels(agent_name: str, device: torch.device) -> str:
    """The CUDA kernels with attention in their name (flash, fmha, efficient, cudnn) that one training forward
    and backward of `agent_name` ran on 16 Dark-Key-To-Door trials of 500 steps."""
    config = resolve_config("dark-key-to-door", agent_name, "fast", overrides={"num_envs": LATENCY_ENVS})
    scene = make_scene(config.scene, **config.scene_options)
    trials = Trials(scene, LATENCY_ENVS, seed=0)
    agent = initial_agent(config, scene, trials).to(device)
    rollout = collect_rollout(trials, agent, trials.reset(seed=0), 1, torch.Generator().manual_seed(0))[0]
    trials.close()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as profile:
        agent.evaluate(rollout.tokens, rollout.mask, **rollout.options).values.sum().backward()
        synchronize(device)
    names = {event.key for event in profile.key_averages()}
    marks = ("flash", "fmha", "efficient", "attention", "cudnn_sdp", "sdpa")
    found = sorted(n for n in names if any(m in n.lower() for m in marks))
    return "; ".join(name[:90] for name in found) or "none (math fallback: plain matmuls and softmax)"


def trmrl_forward_backward_ms(device: torch.device, repeats: int = 5) -> float:
    """Median ms of one `evaluate` forward + backward of TrMRL (paper MuJoCo size) over 64 x 1,000 steps."""
    torch.manual_seed(0)
    agent = make_agent("trmrl", 20, "continuous", 6, preset="mujoco").to(device)
    batch, steps = 64, 1000
    trial_start = torch.zeros(batch, steps, dtype=torch.bool)
    trial_start[:, 0] = True
    episode_start = trial_start.clone()
    episode_start[:, ::200] = True
    columns = (
        torch.randn(batch, steps, 20),
        torch.randn(batch, steps, 6),
        torch.randn(batch, steps),
        (episode_start & ~trial_start).float(),
        episode_start,
        trial_start,
    )
    tokens = TokenBatch(*(column.to(device) for column in columns))
    mask = torch.ones(batch, steps, dtype=torch.bool, device=device)
    times = []
    for _ in range(repeats + 1):
        synchronize(device)
        start = time.perf_counter()
        agent.evaluate(tokens, mask).values.sum().backward()
        synchronize(device)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times[1:])


def trmrl_attention_paths(device: torch.device) -> None:
    """Section 4: each of TrMRL's attention paths forced through the module's crossover."""
    saved = trmrl.WINDOW_ATTENTION_MIN_PAIRS
    print(
        "\n| TrMRL window attention | env steps/s, halfcheetah-vel, 16 envs | update s | fwd + bwd ms, 64 x 1,000 steps |"
    )
    print("|---|---:|---:|---:|")
    try:
        for label, pairs in (("broadcast (window_attention)", 0), ("SDPA", sys.maxsize)):
            trmrl.WINDOW_ATTENTION_MIN_PAIRS = pairs
            row = end_to_end("halfcheetah-vel", "trmrl", 16, device, 2)
            ms = trmrl_forward_backward_ms(device)
            print(f"| {label} | {row['sps']:,.0f} | {row['update_s']:.2f} | {ms:.1f} |", flush=True)
    finally:
        trmrl.WINDOW_ATTENTION_MIN_PAIRS = saved


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument(
        "--envs", default="256,1024,4096", help="Dark-Key-To-Door env counts (default 256,1024,4096)"
    )
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per row after a warm-up")
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine()
    )
    print(f"# {device} ({name}), {os.cpu_count()} CPU cores, torch {torch.__version__}\n")
    print("| agent, scene (fast preset) | envs | env steps/s | rollout s | update s | peak device GiB |")
    print("|---|---:|---:|---:|---:|---:|")
    cases = [("dark-key-to-door", agent, int(n)) for n in args.envs.split(",") for agent in ("memo", "fct")]
    cases.append(("halfcheetah-vel", "trmrl", 16))
    for scene, agent, num_envs in cases:
        row = end_to_end(scene, agent, num_envs, device, args.iterations)
        print(
            f"| {agent}, {scene} | {num_envs} | {row['sps']:,.0f} | {row['rollout_s']:.2f} | {row['update_s']:.2f} "
            f"| {'–' if device.type != 'cuda' else format(row['peak_gib'], '.2f')} |",
            flush=True,
        )
    print(f"\n| agent | step ms, {LATENCY_ENVS} envs at {LATENCY_CONTEXT} steps of context: median | max |")
    print("|---|---:|---:|")
    for agent in ("memo", "fct", "rmt", "rl2", "mlp", "trmrl"):
        median, worst = step_latency(agent, device)
        print(f"| {agent} | {median:.2f} | {worst:.2f} |", flush=True)
    if device.type == "cuda":
        print("\n| agent | attention kernels in a training forward + backward |\n|---|---|")
        for agent in ("memo", "fct", "rmt", "trmrl"):
            print(f"| {agent} | {attention_kernels(agent, device)} |", flush=True)
        # On the CPU the crossover is the measured one; the large forward + backward takes minutes there.
        trmrl_attention_paths(device)


if __name__ == "__main__":
    main()
