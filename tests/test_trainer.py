"""The Trainer on real scenes and real agents: run directories, exact resume, control from another thread,
training-distribution edits, the non-finite guard, and configs."""

from __future__ import annotations

import copy
import csv
import dataclasses
import math
import threading
import time
from pathlib import Path

import pytest
import torch
from tiny import TINY_MEMO

import agents.trainer as trainer_module
from agents.checkpoints import CheckpointError
from agents.config import config_from_dict, load_config_file, resolve_config
from agents.ppo import make_optimizer, ppo_update
from agents.rollout import collect_rollout
from agents.run_log import new_run_dir
from agents.trainer import Trainer, initial_agent
from scenes.errors import UserError


def tiny_config(**overrides: object):
    """Memo (with segment jitter: the rollout's options must reach the update) on short Darkroom trials."""
    values = {
        "num_envs": 4,
        "checkpoint_every": 1,
        "agent_config": TINY_MEMO,
        "ppo": {"minibatch_steps": 100, "update_epochs": 2},
        "total_steps": 10_000,
        **overrides,
    }
    return resolve_config("darkroom", "memo", "fast", overrides=values)


def test_run_directory_layout_metrics_and_resolved_config(tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(), tmp_path / "run")
    first = trainer.iterate()
    trainer.iterate()
    trainer.close()
    run = tmp_path / "run"
    assert (run / "checkpoints" / "latest.pt").is_file() and (run / "checkpoints" / "best.pt").is_file()
    assert (run / "videos").is_dir() and any((run / "tensorboard").iterdir())
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [int(r["iteration"]) for r in rows] == [1, 2]
    assert float(rows[0]["trial_return"]) == pytest.approx(first["trial_return"])
    assert first["env_steps"] == 4 * 400 and "episode_return/19" in rows[0] and "success/0" in rows[0]
    # The resolved config spells out the agent's every hyper-parameter and rebuilds the same config.
    saved = load_config_file(run / "config.toml")
    assert saved["agent_config"]["summary_length"] == 2 and saved["agent_config"]["norm"] == "layer"
    assert config_from_dict(saved, "config.toml").to_dict() == trainer.config.to_dict()


def test_resume_continues_bit_for_bit(tmp_path: Path) -> None:
    straight = Trainer(tiny_config(), tmp_path / "straight")
    expected = [straight.iterate() for _ in range(3)]
    straight.close()

    first = Trainer(tiny_config(), tmp_path / "resumed")
    first.iterate()
    first.iterate()
    first.close()
    resumed = Trainer.from_run(tmp_path / "resumed")
    assert resumed.iteration == 2 and resumed.env_steps == 2 * 1600
    third = resumed.iterate()
    resumed.close()

    for key in ("trial_return", "policy_loss", "value_loss", "approx_kl", "entropy"):
        assert third[key] == expected[2][key], key
    for name, tensor in straight.agent.state_dict().items():
        assert torch.equal(tensor, resumed.agent.state_dict()[name]), name
    rows = list(csv.DictReader((tmp_path / "resumed" / "metrics.csv").open()))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]


def test_observation_statistics_follow_the_rollouts_and_resume_exactly(tmp_path: Path) -> None:
    """The MuJoCo fast preset standardises observations: after each iteration the statistics are those of every
    observation collected so far, and they are part of the checkpoint (resume continues bit for bit)."""
    values = {"num_envs": 2, "checkpoint_every": 1, "ppo": {"update_epochs": 1}}
    config = resolve_config("halfcheetah-vel", "mlp", "fast", overrides=values)
    assert config.agent_config["normalize_observations"] and config.ppo.policy_lr == 3e-4
    assert (
        resolve_config("halfcheetah-vel", "trmrl", "paper").to_dict()["agent_config"][
            "normalize_observations"
        ]
        is False
    )  # the paper preset stays the papers' (garage does not normalise)
    seen = []
    straight = Trainer(config, tmp_path / "straight")
    straight.events.metrics.connect(lambda _: None)
    original = straight.agent.obs_normalizer.update
    straight.agent.obs_normalizer.update = lambda obs: (seen.append(obs.clone()), original(obs))[1]
    expected = [straight.iterate() for _ in range(2)]
    straight.close()
    everything = torch.cat([obs.reshape(-1, obs.shape[-1]) for obs in seen]).double()
    stats = straight.agent.obs_normalizer
    assert stats.count.item() == 2 * 2 * 400
    torch.testing.assert_close(stats.mean, everything.mean(dim=0))
    torch.testing.assert_close(stats.var, everything.var(dim=0, correction=0))

    first = Trainer(config, tmp_path / "resumed")
    first.iterate()
    first.close()
    resumed = Trainer.from_run(tmp_path / "resumed")
    second = resumed.iterate()
    resumed.close()
    assert second["trial_return"] == expected[1]["trial_return"]
    for name, tensor in straight.agent.state_dict().items():
        assert torch.equal(tensor, resumed.agent.state_dict()[name]), name


def test_a_truncated_latest_checkpoint_is_refused_and_the_run_is_left_intact(tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(), tmp_path / "run")
    trainer.iterate()
    trainer.close()
    latest = tmp_path / "run" / "checkpoints" / "latest.pt"
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])
    before = tree_bytes(tmp_path / "run")
    with pytest.raises(CheckpointError, match="truncated or corrupted") as error:
        Trainer.from_run(tmp_path / "run")
    assert "\n" not in str(error.value)
    assert tree_bytes(tmp_path / "run") == before
    # The best checkpoint of the same run still loads.
    resumed_best = torch.load(tmp_path / "run" / "checkpoints" / "best.pt", weights_only=True)
    assert resumed_best["counters"]["iteration"] == 1


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` (TensorBoard's aside) and its exact contents."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "tensorboard" not in p.parts
    }


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda payload: payload["model"].pop(next(iter(payload["model"]))), "does not match its config"),
        (lambda payload: payload.pop("counters"), "has no 'counters'"),
        (lambda payload: payload["optimizer"]["param_groups"].append({}), "optimiser state does not match"),
    ],
)
def test_a_checkpoint_that_does_not_fit_is_a_one_line_error_and_the_run_is_left_intact(
    tmp_path: Path, damage, message: str
) -> None:
    trainer = Trainer(tiny_config(), tmp_path / "run")
    trainer.iterate()
    trainer.close()
    latest = tmp_path / "run" / "checkpoints" / "latest.pt"
    payload = torch.load(latest, weights_only=True)
    damage(payload)
    torch.save(payload, latest)
    before = tree_bytes(tmp_path / "run")
    with pytest.raises(CheckpointError, match=message) as error:
        Trainer.from_run(tmp_path / "run")
    assert "\n" not in str(error.value)
    assert tree_bytes(tmp_path / "run") == before


def test_a_run_killed_before_its_tenth_iteration_resumes_and_stale_temporaries_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20 items 5 and 6: `latest.pt` is written after the first iteration and every LATEST_EVERY_S of
    training, so a crash before the `checkpoint_every`-th iteration leaves a resumable run; temporaries that a
    kill mid-write left behind are removed when the run starts again."""
    run = tmp_path / "run"
    trainer = Trainer(tiny_config(checkpoint_every=10), run)
    trainer.iterate()  # then "killed": no close, no final save
    latest = run / "checkpoints" / "latest.pt"
    assert torch.load(latest, weights_only=True)["counters"]["iteration"] == 1
    trainer.iterate()
    assert torch.load(latest, weights_only=True)["counters"]["iteration"] == 1  # neither due nor overdue
    monkeypatch.setattr(trainer_module, "LATEST_EVERY_S", 0.0)
    trainer.iterate()
    assert torch.load(latest, weights_only=True)["counters"]["iteration"] == 3  # overdue by the clock
    trainer.close()
    stale = run / "checkpoints" / ".latest.pt.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    resumed = Trainer.from_run(run)
    resumed.iterate()
    resumed.close()
    assert not stale.exists() and resumed.iteration == 4


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path: Path) -> None:
    config = tiny_config()
    made = [new_run_dir(config, tmp_path) for _ in range(3)]
    assert len(set(made)) == 3 and all(path.is_dir() and path.parent == tmp_path for path in made)


def test_pause_resume_and_stop_from_another_thread(tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(total_steps=10**9), tmp_path / "run")
    statuses: list[str] = []
    trainer.events.status.connect(statuses.append)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(trainer.run()))
    worker.start()
    deadline = time.monotonic() + 60
    while trainer.iteration < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    trainer.pause()
    time.sleep(0.3)  # let the worker reach the gate
    held = (trainer.iteration, trainer.env_steps)
    time.sleep(0.5)
    assert (trainer.iteration, trainer.env_steps) == held and worker.is_alive()
    trainer.resume()
    while trainer.iteration < held[0] + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert trainer.iteration > held[0]
    stop_at = time.monotonic()
    trainer.stop()
    worker.join(timeout=30)
    assert not worker.is_alive() and time.monotonic() - stop_at < 10
    assert result == ["stopped"] and statuses[0] == "running" and statuses[-1] == "stopped"
    payload = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)
    assert payload["counters"]["iteration"] == trainer.iteration
    trainer.close()


def test_stop_during_the_update_restores_the_weights_and_resumes_bit_for_bit(tmp_path: Path) -> None:
    straight = Trainer(tiny_config(), None)
    expected = [straight.iterate() for _ in range(2)]
    straight.close()

    trainer = Trainer(tiny_config(), tmp_path / "run")
    trainer.iterate()
    weights = {k: v.clone() for k, v in trainer.agent.state_dict().items()}
    optimiser_steps = [s["step"].clone() for s in trainer.optimizer.state_dict()["state"].values()]
    evaluate = trainer.agent.evaluate
    calls = []

    def evaluate_then_stop(*args, **kwargs):  # a stop request arrives while the update is running
        calls.append(1)
        if len(calls) == 2:
            trainer.stop()
        return evaluate(*args, **kwargs)

    trainer.agent.evaluate = evaluate_then_stop
    assert trainer.run() == "stopped"
    assert len(calls) == 2  # the update did not run to its end (2 epochs x 4 minibatches)
    assert trainer.iteration == 1 and trainer.env_steps == 1600
    for name, tensor in trainer.agent.state_dict().items():
        assert torch.equal(tensor, weights[name]), name
    after = [s["step"] for s in trainer.optimizer.state_dict()["state"].values()]
    assert all(torch.equal(a, b) for a, b in zip(after, optimiser_steps, strict=True))
    trainer.close()
    resumed = Trainer.from_run(tmp_path / "run")
    second = resumed.iterate()
    resumed.close()
    for key in ("trial_return", "policy_loss", "value_loss", "approx_kl"):
        assert second[key] == expected[1][key], key


def test_training_distribution_edits_apply_from_the_next_iteration(tmp_path: Path) -> None:
    trainer = Trainer(tiny_config(), None)
    trainer.iterate()
    assert len({t["goal_x"] for t in trainer.trials.tasks()}) > 1
    trainer.set_task_overrides(goal_x=2)
    assert trainer.set_task_overrides(goal_y=7) == {
        "goal_x": 2,
        "goal_y": 7,
    }  # edits between iterations add up
    with pytest.raises(ValueError, match="goal_x"):
        trainer.set_task_overrides(goal_x=99)
    trainer.iterate()
    assert all((t["goal_x"], t["goal_y"]) == (2, 7) for t in trainer.trials.tasks())
    trainer.clear_task_overrides()
    trainer.iterate()
    assert len({(t["goal_x"], t["goal_y"]) for t in trainer.trials.tasks()}) > 1
    trainer.close()


def test_a_non_finite_update_is_skipped_and_the_last_good_weights_kept() -> None:
    trainer = Trainer(tiny_config(), None)
    tokens = trainer.trials.reset(seed=0)
    rollout, _ = collect_rollout(trainer.trials, trainer.agent, tokens, generator=trainer.generator)
    rollout.rewards[0, 5] = float("nan")
    optimizer = make_optimizer(trainer.agent, trainer.config.ppo)
    before = {k: v.clone() for k, v in trainer.agent.state_dict().items()}
    result = ppo_update(trainer.agent, optimizer, rollout, trainer.config.ppo)
    assert result["nan_skipped"] == 1.0
    for name, tensor in trainer.agent.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    assert not optimizer.state  # the optimiser's moments were rolled back too
    # The run keeps going: the next iteration trains normally.
    assert trainer.iterate()["nan_skipped"] == 0.0
    trainer.close()


def test_reward_scale_is_the_same_update_as_scaled_rewards() -> None:
    """ppo.reward_scale k on rewards r gives exactly the update of reward_scale 1 on rewards k·r."""
    trainer = Trainer(tiny_config(), None)
    tokens = trainer.trials.reset(seed=0)
    rollout, _ = collect_rollout(trainer.trials, trainer.agent, tokens, generator=trainer.generator)
    start = copy.deepcopy(trainer.agent.state_dict())
    weights = []
    for scale, rewards in ((0.25, rollout.rewards), (1.0, rollout.rewards * 0.25)):
        trainer.agent.load_state_dict(start)
        config = dataclasses.replace(trainer.config.ppo, reward_scale=scale)
        update = ppo_update(
            trainer.agent,
            make_optimizer(trainer.agent, config),
            dataclasses.replace(rollout, rewards=rewards),
            config,
            torch.Generator().manual_seed(3),
        )
        assert update["nan_skipped"] == 0.0
        weights.append(copy.deepcopy(trainer.agent.state_dict()))
    assert any(not torch.equal(weights[0][k], start[k]) for k in start)  # the update did something
    for name in start:
        assert torch.equal(weights[0][name], weights[1][name]), name
    trainer.close()


def test_config_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("num_envs = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config_file(bad)
    with pytest.raises(ValueError, match="unknown key 'num_env'"):
        resolve_config("darkroom", "mlp", file_values={"num_env": 3})
    with pytest.raises(ValueError, match=r"unknown key ppo.lr"):
        resolve_config("darkroom", "mlp", file_values={"ppo": {"lr": 3}})
    with pytest.raises(ValueError, match="num_envs in the command line expects int"):
        resolve_config("darkroom", "mlp", overrides={"num_envs": "4"})
    with pytest.raises(ValueError, match=r"ppo\.gamma"):
        resolve_config("darkroom", "mlp", overrides={"ppo": {"gamma": 2.0}})
    with pytest.raises(ValueError, match="preset 'paper' is not defined"):
        resolve_config("darkroom", "mlp", "paper")
    with pytest.raises(ValueError, match="unknown agent"):
        resolve_config("darkroom", "nope")
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        resolve_config("darkroom", "mlp", overrides={"agent_config": {"width": 3}})


def test_paper_preset_is_the_trmrl_table() -> None:
    config = resolve_config("halfcheetah-vel", "trmrl", "paper")
    ppo = config.ppo
    assert (config.num_envs, ppo.gamma, ppo.gae_lambda, ppo.clip_coef) == (20, 0.9, 0.8, 0.1)
    assert (ppo.policy_lr, ppo.value_lr, ppo.update_epochs, ppo.minibatch_steps) == (3e-5, 2.5e-4, 10, 256)
    assert (ppo.entropy_coef, ppo.max_grad_norm, ppo.normalize_advantages) == (0.0, 0.0, False)
    assert ppo.minibatch_unit == "step"  # 256 single steps per minibatch, as the official trainer draws them
    spec = config.to_dict()["agent_config"]
    assert (spec["d_model"], spec["n_heads"], spec["init_std"], spec["value_input"]) == (
        128,
        16,
        0.2,
        "separate",
    )
    meta = resolve_config("metaworld-ml1", "trmrl", "paper")
    assert (meta.num_envs, meta.ppo.minibatch_steps, meta.to_dict()["agent_config"]["d_model"]) == (
        25,
        32,
        32,
    )


def test_ant_goal_takes_ant_dirs_agent_settings_in_every_preset() -> None:
    """AntGoal has no settings of its own in the official code: the paper's Ant-Dir std and output gain."""
    for preset in ("fast", "paper", "default"):
        spec = resolve_config("ant-goal", "trmrl", preset).to_dict()["agent_config"]
        assert (spec["init_std"], spec["output_gain"]) == (0.5, 0.01), preset


def test_initial_agent_is_the_runs_first_agent_and_leaves_the_global_rng_alone() -> None:
    """The GUI's player shows an untrained agent through `initial_agent`: the weights a Trainer starts from."""
    config = tiny_config()
    trainer = Trainer(config, None)
    rng = torch.get_rng_state()
    again = initial_agent(config, trainer.scene)
    assert torch.equal(torch.get_rng_state(), rng)
    other_seed = initial_agent(dataclasses.replace(config, seed=config.seed + 1), trainer.scene)
    weights, same, different = (a.state_dict() for a in (trainer.agent, again, other_seed))
    assert all(torch.equal(weights[k], same[k]) for k in weights)
    assert not all(torch.equal(weights[k], different[k]) for k in weights)
    trainer.close()


def test_training_on_trials_of_varying_length_with_the_time_input(tmp_path: Path) -> None:
    """Issue 21's options together: trial lengths drawn per iteration, AMAGO's time input and a bootstrapped
    trial end, recorded in config.toml, and a resume that builds the same agent."""
    config = tiny_config(
        num_envs=2,
        scene_options={"trial_steps": 40, "trial_steps_max": 100, "time_horizon": 100},
        ppo={"minibatch_steps": 100, "update_epochs": 1, "bootstrap_trial_end": True},
    )
    trainer = Trainer(config, tmp_path / "run")
    history = [trainer.iterate() for _ in range(4)]
    trainer.close()
    added = [
        b["env_steps"] - a for a, b in zip([0, *[m["env_steps"] for m in history]], history, strict=False)
    ]
    assert all(80 <= n <= 200 and n % 2 == 0 for n in added) and len(set(added)) > 1
    text = (tmp_path / "run" / "config.toml").read_text()
    assert (
        "trial_steps_max = 100" in text
        and "time_horizon = 100" in text
        and "bootstrap_trial_end = true" in text
    )
    resumed = Trainer.from_run(tmp_path / "run")
    assert resumed.agent.obs_dim == trainer.agent.obs_dim == trainer.trials.observation_space.shape[0]
    resumed.close()


def test_std_annealing_reaches_its_std_at_two_thirds_of_the_run(tmp_path: Path) -> None:
    """TrMRL's --annealing_std: log-std shifted by a fixed amount per env step, log(min_std / init_std) in all
    by 2/3 of the run (the official rate). A learning rate of 1e-12 leaves the gradient's share out."""
    values = {
        "num_envs": 2,
        "total_steps": 3 * 800,  # three iterations of 2 trials x 400 steps
        "ppo": {"update_epochs": 1, "policy_lr": 1e-12, "value_lr": 1e-12, "anneal_std_to": 1e-6},
        "agent_config": {"init_std": 0.5},
    }
    config = resolve_config("halfcheetah-vel", "mlp", "fast", overrides=values)
    assert config.to_dict()["ppo"]["anneal_std_to"] == 1e-6  # recorded in config.toml
    trainer = Trainer(config, None, log=False)
    log_std = trainer.agent.policy.log_std
    start = math.log(0.5)
    assert torch.allclose(log_std, torch.full_like(log_std, start))
    trainer.iterate()
    assert torch.allclose(log_std, torch.full_like(log_std, start + 0.5 * math.log(1e-6 / 0.5)), atol=1e-6)
    trainer.iterate()
    assert torch.allclose(log_std, torch.full_like(log_std, math.log(1e-6)), atol=1e-6)
    trainer.close()
    with pytest.raises(
        UserError, match=r"^ppo\.anneal_std_to anneals a Gaussian policy's std; darkroom has discrete"
    ):
        Trainer(tiny_config(ppo={"anneal_std_to": 1e-6}), None, log=False)
    with pytest.raises(UserError, match=r"^ppo\.anneal_std_to = -1\.0 is out of range$"):
        resolve_config("darkroom", "mlp", overrides={"ppo": {"anneal_std_to": -1.0}})
