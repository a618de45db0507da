"""The CUDA path (issue 19), where torch sees a GPU: a lent device machine runs this file (CI has no GPU, so
every test here skips). What acting on the GPU records is what the GPU's `evaluate` recomputes; the GPU's
PPO update equals the CPU's on the same rollout (an independent check of the whole device path); a bfloat16
update follows the float32 one; attention runs in SDPA's fused kernels; checkpoints move between devices;
torchrun trains with nccl."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from tiny import SMALL_AGENTS, TINY_MEMO, TINY_TRMRL
from torch.nn.attention import SDPBackend, sdpa_kernel

from agents import make_agent
from agents.config import resolve_config
from agents.ppo import PPOConfig, make_optimizer, ppo_update
from agents.rollout import collect_rollout
from agents.trainer import Trainer, initial_agent
from scenes import make_scene
from scenes.trials import Trials

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (CI has none)")

ROOT = Path(__file__).resolve().parents[1]
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def full_float32() -> Iterator[None]:
    """TF32 matmuls (10-bit mantissas) would put ~1e-3 between the GPU's numbers and the CPU's."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def small_agent(name: str, scene_id: str, trials: Trials):
    torch.manual_seed(0)
    scene = make_scene(scene_id)
    return make_agent(
        name, trials.observation_space.shape[0], scene.action_kind, trials.action_dim, **SMALL_AGENTS[name]
    )


@pytest.mark.parametrize("agent_name", list(SMALL_AGENTS))
@pytest.mark.parametrize("scene_id", ["halfcheetah-vel", "dark-key-to-door"])
def test_acting_on_the_gpu_equals_evaluate_there(scene_id: str, agent_name: str) -> None:
    trials = Trials(make_scene(scene_id), num_envs=3, seed=0, steps_per_trial=25)
    agent = small_agent(agent_name, scene_id, trials).to(CUDA)
    rollout, _ = collect_rollout(trials, agent, trials.reset(), num_trials=2, generator=torch.Generator())
    trials.close()
    assert rollout.log_probs.device.type == "cuda" and rollout.tokens.obs.device.type == "cuda"
    assert rollout.rewards.shape == (3, 50) and rollout.trial_end.sum() == 6
    with torch.no_grad():
        out = agent.evaluate(rollout.tokens, rollout.mask)
    torch.testing.assert_close(out.dist.log_prob(rollout.actions), rollout.log_probs, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.values, rollout.values, atol=1e-4, rtol=1e-4)


CASES = {
    "memo-trials": ("darkroom", "memo", {"agent_config": TINY_MEMO}, {"minibatch_steps": 400}),
    "fct-trials": ("darkroom", "fct", {"agent_config": SMALL_AGENTS["fct"]}, {"minibatch_steps": 400}),
    "trmrl-steps": (
        "halfcheetah-vel",
        "trmrl",
        {"agent_config": TINY_TRMRL},
        {"minibatch_steps": 100, "minibatch_unit": "step"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_gpu_update_equals_the_cpu_update_on_the_same_rollout(case: str) -> None:
    """One rollout collected on the CPU; the same weights updated on each device with the same minibatch
    order: the weights after it, and the diagnostics, agree to float32 reduction-order differences."""
    scene_id, agent_id, overrides, ppo_overrides = CASES[case]
    config = resolve_config(scene_id, agent_id, "fast", overrides={"num_envs": 4, **overrides})
    scene = make_scene(config.scene, **config.scene_options)
    cpu_agent = initial_agent(config, scene)
    trials = Trials(scene, 4, seed=0)
    rollout = collect_rollout(trials, cpu_agent, trials.reset(seed=0), 1, torch.Generator().manual_seed(0))[0]
    trials.close()
    gpu_agent = copy.deepcopy(cpu_agent).to(CUDA)
    ppo = PPOConfig(**{**config.ppo.__dict__, **ppo_overrides, "update_epochs": 2})
    initial = {k: v.clone() for k, v in cpu_agent.state_dict().items()}
    stats_cpu = ppo_update(
        cpu_agent, make_optimizer(cpu_agent, ppo), rollout, ppo, torch.Generator().manual_seed(7)
    )
    stats_gpu = ppo_update(
        gpu_agent, make_optimizer(gpu_agent, ppo), rollout.to(CUDA), ppo, torch.Generator().manual_seed(7)
    )
    moved = 0
    for name, expected in cpu_agent.state_dict().items():
        got = gpu_agent.state_dict()[name]
        assert got.device.type == "cuda", name
        torch.testing.assert_close(got.cpu(), expected, rtol=0, atol=2e-4, msg=f"{case}: {name}")
        moved += int(not torch.equal(expected, initial[name]))
    assert moved > len(initial) // 2
    for key in ("policy_loss", "value_loss", "entropy"):
        assert stats_gpu[key] == pytest.approx(stats_cpu[key], rel=1e-3, abs=1e-5), key


def test_a_bfloat16_update_on_the_gpu_follows_the_float32_one() -> None:
    config = resolve_config(
        "darkroom", "memo", "fast", overrides={"num_envs": 8, "agent_config": TINY_MEMO, "device": "cuda"}
    )
    scene = make_scene("darkroom")
    agent = initial_agent(config, scene).to(CUDA)
    trials = Trials(scene, 8, seed=0)
    rollout = collect_rollout(trials, agent, trials.reset(seed=0), 1, torch.Generator().manual_seed(0))[0]
    trials.close()
    initial = {k: v.clone() for k, v in agent.state_dict().items()}

    def delta(amp: str) -> tuple[torch.Tensor, dict[str, float]]:
        agent.load_state_dict(initial)
        ppo = PPOConfig(**{**config.ppo.__dict__, "amp": amp, "update_epochs": 1})
        stats = ppo_update(agent, make_optimizer(agent, ppo), rollout, ppo, torch.Generator().manual_seed(1))
        return torch.cat([(agent.state_dict()[k] - initial[k]).flatten().float() for k in initial]), stats

    full, stats32 = delta("off")
    half, stats16 = delta("bf16")
    assert stats16["nan_skipped"] == 0 and half.norm() > 0
    assert torch.nn.functional.cosine_similarity(full, half, dim=0) > 0.9
    assert stats16["value_loss"] == pytest.approx(stats32["value_loss"], rel=0.05)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("agent_name", ["trmrl", "memo", "rmt", "fct"])
def test_attention_runs_in_a_fused_kernel(agent_name: str, dtype: torch.dtype) -> None:
    """With SDPA's math fallback forbidden, the training forward and the cached step still run: every
    attention call of the agent finds a fused CUDA kernel (flash, memory-efficient or cuDNN)."""
    trials = Trials(make_scene("dark-key-to-door"), num_envs=4, seed=0, steps_per_trial=40)
    agent = small_agent(agent_name, "dark-key-to-door", trials).to(CUDA)
    rollout, _ = collect_rollout(trials, agent, trials.reset(), generator=torch.Generator())
    trials.close()
    fused = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION]
    with sdpa_kernel(fused), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
        out = agent.evaluate(rollout.tokens, rollout.mask)
        out.values.sum().backward()
        with torch.no_grad():
            state = agent.initial_state(4)
            for t in range(5):
                state = agent.step(rollout.tokens.index((slice(None), t)), state).state
    assert torch.isfinite(out.values).all()


def test_a_gpu_run_resumes_on_the_cpu(tmp_path: Path) -> None:
    config = resolve_config(
        "darkroom",
        "memo",
        "fast",
        overrides={"num_envs": 4, "total_steps": 800, "agent_config": TINY_MEMO, "device": "cuda"},
    )
    trainer = Trainer(config, tmp_path / "run")
    try:
        trainer.run()
        assert next(trainer.agent.parameters()).device.type == "cuda"
        gpu_weights = {k: v.cpu() for k, v in trainer.agent.state_dict().items()}
    finally:
        trainer.close()
    assert 'device = "cuda:0"' in (tmp_path / "run" / "config.toml").read_text()
    resumed = Trainer.from_run(tmp_path / "run", total_steps=1600, log=False, device="cpu")
    try:
        for name, tensor in resumed.agent.state_dict().items():
            assert tensor.device.type == "cpu" and torch.equal(tensor, gpu_weights[name]), name
        resumed.run()
        assert resumed.env_steps >= 1600
    finally:
        resumed.close()


def test_torchrun_trains_on_the_gpu_with_nccl(tmp_path: Path) -> None:
    """One rank per GPU this machine has (nccl refuses two ranks on one GPU)."""
    ranks = torch.cuda.device_count()
    command = [
        *(sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={ranks}", "--master_port=29533"),
        *(str(ROOT / "main.py"), "train", "--scene", "bandit", "--agent", "mlp", "--num-envs", "32"),
        *("--steps", "3200", "--device", "cuda", "--out", "run"),
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    config = (tmp_path / "run" / "config.toml").read_text()
    assert f"world_size = {ranks}" in config and 'device = "cuda:0"' in config
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["best.pt", "latest.pt"]
