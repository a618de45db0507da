"""PPO learns: a tiny deterministic task improves within seconds, for a sequence agent and for the MLP.

The task is the two-armed bandit with one arm that always pays and one that never does (ten pulls per
trial). A memoryless agent can only learn an arm that is fixed across tasks; a meta-learner learns, in
context, to try an arm and switch once if it paid nothing (optimum 9.5 of 10).
"""

from __future__ import annotations

import pytest

from agents.config import resolve_config
from agents.trainer import Trainer


def train(
    agent: str, iterations: int, agent_config: dict, fixed_task: dict | None = None, ppo: dict | None = None
) -> list[dict]:
    overrides = {"num_envs": 64, "scene_options": {"variant": "one-good"}, "agent_config": agent_config}
    config = resolve_config("bandit", agent, "fast", overrides=overrides | {"ppo": ppo or {}})
    trainer = Trainer(config, None)
    if fixed_task:
        trainer.set_task_overrides(**fixed_task)
    history = [trainer.iterate() for _ in range(iterations)]
    trainer.close()
    return history


def mean(history: list[dict], key: str) -> float:
    return sum(m[key] for m in history) / len(history)


def test_a_sequence_agent_learns_to_explore_then_exploit_in_context() -> None:
    history = train("rl2", 90, {"hidden_size": 32})
    early, late = history[:5], history[-10:]
    assert mean(early, "trial_return") == pytest.approx(5.0, abs=1.0)  # random arm choices
    assert mean(late, "trial_return") > 8.5
    # In context: the last pull of a trial is better than the first, which can only be a coin flip.
    assert mean(late, "episode_return/9") > 0.9 and mean(late, "episode_return/0") < 0.7
    assert mean(late, "success_rate") > 0.85


def test_the_mlp_learns_a_fixed_arm_but_cannot_learn_in_context() -> None:
    history = train("mlp", 40, {}, fixed_task={"p_arm0": 0.0, "p_arm1": 1.0})
    assert mean(history[:3], "trial_return") < 7.0
    assert mean(history[-5:], "trial_return") > 9.5
    # The good arm drawn per trial: with no memory, every pull stays a coin flip, however long it trains
    # (the same 40 iterations RL² needs about 30 of to pass 8.5 above).
    late = train("mlp", 40, {})[-10:]
    assert mean(late, "trial_return") == pytest.approx(5.0, abs=0.6)
    assert mean(late, "episode_return/0") == pytest.approx(0.5, abs=0.1)
    assert mean(late, "episode_return/9") == pytest.approx(0.5, abs=0.1)


def test_minibatches_of_single_steps_drawn_across_trials_train_too() -> None:
    """`minibatch_unit = "step"` (TrMRL's code): 64-step minibatches mix the 64 tasks' trials."""
    history = train(
        "mlp",
        40,
        {},
        fixed_task={"p_arm0": 0.0, "p_arm1": 1.0},
        ppo={"minibatch_unit": "step", "minibatch_steps": 64},
    )
    assert mean(history[:3], "trial_return") < 7.0
    assert mean(history[-5:], "trial_return") > 9.5


def test_step_minibatches_need_an_agent_with_a_bounded_window() -> None:
    with pytest.raises(ValueError, match=r"minibatch_unit = 'step' needs .*trmrl, mlp.*memo's memory spans"):
        resolve_config("bandit", "memo", "fast", overrides={"ppo": {"minibatch_unit": "step"}})
    with pytest.raises(ValueError, match=r"minibatch_unit must be one of \('trial', 'step'\), got 'row'"):
        resolve_config("bandit", "mlp", "fast", overrides={"ppo": {"minibatch_unit": "row"}})


def test_a_bfloat16_update_follows_the_float32_one_and_cpu_runs_refuse_it() -> None:
    """`--ppo-option amp=bf16` (CUDA only in training): the same update with its forward passes in bfloat16
    autocast, run here through CPU autocast, moves the weights the way the float32 update does."""
    import torch

    from agents.ppo import PPOConfig, make_optimizer, ppo_update
    from agents.rollout import collect_rollout
    from agents.trainer import initial_agent
    from scenes.registry import make_scene
    from scenes.trials import Trials

    tiny = {"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "segment_length": 20, "summary_length": 2}
    config = resolve_config("darkroom", "memo", "fast", overrides={"num_envs": 4, "agent_config": tiny})
    scene = make_scene("darkroom")
    agent = initial_agent(config, scene)
    trials = Trials(scene, 4, seed=0)
    rollout = collect_rollout(trials, agent, trials.reset(seed=0), 1, torch.Generator().manual_seed(0))[0]
    trials.close()
    initial = {k: v.clone() for k, v in agent.state_dict().items()}

    def delta(amp: str) -> tuple[torch.Tensor, dict]:
        agent.load_state_dict(initial)
        ppo = PPOConfig(**{**config.ppo.__dict__, "amp": amp, "update_epochs": 1})
        stats = ppo_update(agent, make_optimizer(agent, ppo), rollout, ppo, torch.Generator().manual_seed(1))
        moved = [(agent.state_dict()[k] - initial[k]).flatten().float() for k in initial]
        return torch.cat(moved), stats

    full, stats32 = delta("off")
    half, stats16 = delta("bf16")
    assert stats16["nan_skipped"] == 0 and half.norm() > 0
    assert torch.nn.functional.cosine_similarity(full, half, dim=0) > 0.9
    assert stats16["value_loss"] == pytest.approx(stats32["value_loss"], rel=0.05)
    config.ppo.amp = "bf16"
    with pytest.raises(ValueError, match=r"ppo\.amp = 'bf16' is for CUDA devices; this run's device is cpu"):
        Trainer(config, None)
