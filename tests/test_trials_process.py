"""Trials in a worker process (`env_worker`): each group is exactly a plain `Trials`, the overlapped rollout
is what the agent's `evaluate` recomputes and what the plain envs replay, a stopped rollout leaves nothing
behind, and a dead worker is a clear error."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from agents import make_agent
from agents.config import resolve_config
from agents.rollout import Rollout, RolloutCut, collect_rollout, collect_rollout_overlapped
from agents.trainer import Trainer
from scenes import make_scene
from scenes.trials import Trials, TrialTokens
from scenes.trials_process import TrialsProcess, WorkerExited, group_sizes

ROOT = Path(__file__).resolve().parents[1]


def plain_groups(scene_id: str, options: dict, sizes: list[int], seed: int) -> list[Trials]:
    """Plain Trials reset the way the worker resets its groups (one child SeedSequence each)."""
    scene = make_scene(scene_id, **options)
    groups = [Trials(scene, size) for size in sizes]
    for trials, child in zip(groups, np.random.SeedSequence(seed).spawn(len(sizes)), strict=True):
        trials.reset(seed=child)
    return groups


def assert_tokens_equal(got: TrialTokens, expected: TrialTokens) -> None:
    for field in dataclasses.fields(TrialTokens):
        np.testing.assert_array_equal(getattr(got, field.name), getattr(expected, field.name), field.name)


def test_group_sizes() -> None:
    assert group_sizes(5, 2) == [3, 2] and group_sizes(4, 2) == [2, 2] and group_sizes(1, 1) == [1]
    with pytest.raises(ValueError, match="num_groups"):
        group_sizes(1, 2)


@pytest.mark.parametrize("scene_id", ["halfcheetah-vel", "darkroom"])
def test_every_group_steps_exactly_as_a_plain_trials_batch(scene_id: str) -> None:
    options = {"trial_steps": 30} if scene_id == "darkroom" else {}
    process = TrialsProcess(scene_id, options, num_envs=5, seed=3)
    try:
        assert process.sizes == [3, 2]
        first = process.reset(11)
        plain = plain_groups(scene_id, options, process.sizes, 11)
        rng = np.random.default_rng(0)
        for g, trials in enumerate(plain):
            assert_tokens_equal(first[g], trials._tokens)  # type: ignore[arg-type]
        # Past a trial end, so the next trial's task draw is compared too.
        for _ in range(process.steps_per_trial + 5):
            for g, trials in enumerate(plain):
                space = trials.action_space
                actions = np.stack([space.sample() for _ in range(trials.num_envs)])
                if trials.discrete:
                    actions = rng.integers(0, trials.action_dim, size=trials.num_envs)
                process.step_async(g, actions)
                tokens, result = process.step_wait(g)
                expected_tokens, expected = trials.step(actions)
                assert_tokens_equal(tokens, expected_tokens)
                np.testing.assert_array_equal(result.reward, expected.reward)
                np.testing.assert_array_equal(result.episode_end, expected.episode_end)
                assert result.trial_end == expected.trial_end
                keys = [k for k in (trials.scene.success_key, *trials.scene.score_keys) if k is not None]
                assert sorted(result.info) == sorted(keys)  # only what a rollout reads crosses the pipe
                for key in keys:
                    np.testing.assert_array_equal(result.info[key], expected.info[key])
    finally:
        process.close()
    for trials in plain:
        trials.close()


def test_the_overlapped_rollout_replays_in_plain_envs_and_equals_evaluate() -> None:
    torch.manual_seed(0)
    scene_id, options = "dark-key-to-door", {"trial_steps": 40}
    process = TrialsProcess(scene_id, options, num_envs=5, seed=0)
    plain = plain_groups(scene_id, options, process.sizes, 7)
    agent = make_agent(
        "memo", 4, "discrete", 5,
        d_model=16, n_layers=2, n_heads=2, d_ff=32, segment_length=6, summary_length=2, segment_jitter=0.0,
    )  # fmt: skip
    assert agent.obs_dim == plain[0].observation_space.shape[0] and plain[0].action_dim == 5
    try:
        rollout, next_tokens = collect_rollout_overlapped(
            process, agent, process.reset(7), num_trials=2, generator=torch.Generator().manual_seed(0)
        )
    finally:
        process.close()
    assert rollout.rewards.shape == (5, 80) and all(t.trial_start.all() for t in next_tokens)
    assert rollout.trial_end[:, 39].all() and rollout.trial_end[:, 79].all()
    # Each group kept its own memory: what acting computed is what evaluate recomputes over the rows.
    out = agent.evaluate(rollout.tokens, rollout.mask)
    torch.testing.assert_close(out.dist.log_prob(rollout.actions), rollout.log_probs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.values, rollout.values, atol=1e-5, rtol=1e-5)
    # Rows 0-2 are group 0's envs, rows 3-4 group 1's: replaying their actions in plain envs gives the same
    # observations and rewards.
    rows = 0
    for trials in plain:
        envs = slice(rows, rows + trials.num_envs)
        for t in range(80):
            np.testing.assert_array_equal(rollout.tokens.obs[envs, t].numpy(), trials._tokens.obs)  # type: ignore[union-attr]
            _, result = trials.step(rollout.actions[envs, t].numpy())
            np.testing.assert_array_equal(rollout.rewards[envs, t].numpy(), result.reward)
        rows += trials.num_envs
        trials.close()


@pytest.mark.parametrize("cut_after", [None, 7])
def test_with_one_group_the_overlapped_rollout_is_the_serial_one_to_the_bit(cut_after: int | None) -> None:
    """The serial loop is the reference path: the overlapped one, given one group, the same seeds and the same
    generator, gives identical tensors (Memo's jittered segment length drawn from it too), and a rollout cut
    by `on_step` (the straggler cutoff) cuts both at the same step with the same bootstrap values."""
    scene_id, options = "dark-key-to-door", {"trial_steps": 20}
    small = {"d_model": 16, "n_layers": 2, "n_heads": 2, "d_ff": 32, "segment_length": 6, "summary_length": 2}
    agent = make_agent("memo", 4, "discrete", 5, **small)  # segment length jittered: drawn per rollout

    def cutter() -> Callable[[], None]:
        steps = 0

        def on_step() -> None:
            nonlocal steps
            steps += 1
            if cut_after is not None and steps > cut_after:
                raise RolloutCut

        return on_step

    trials = Trials(make_scene(scene_id, **options), 3)
    tokens = trials.reset(seed=np.random.SeedSequence(5).spawn(1)[0])  # as the worker resets its one group
    serial, serial_next = collect_rollout(
        trials, agent, tokens, generator=torch.Generator().manual_seed(2), on_step=cutter()
    )
    trials.close()
    process = TrialsProcess(scene_id, options, num_envs=3, seed=0, num_groups=1)
    try:
        overlapped, (overlapped_next,) = collect_rollout_overlapped(
            process, agent, process.reset(5), generator=torch.Generator().manual_seed(2), on_step=cutter()
        )
    finally:
        process.close()
    assert serial.rewards.shape == (3, 20 if cut_after is None else cut_after)
    assert serial.cut == (cut_after is not None) and serial.options == overlapped.options
    for field in dataclasses.fields(Rollout):
        got, expected = getattr(overlapped, field.name), getattr(serial, field.name)
        if field.name == "tokens":
            got, expected = vars(got), vars(expected)
        if field.name in ("tokens", "scores"):
            assert got.keys() == expected.keys(), field.name
            for key, value in expected.items():
                assert torch.equal(got[key], value) if value is not None else got[key] is None, key
        elif isinstance(expected, torch.Tensor):
            assert got.dtype == expected.dtype and torch.equal(got, expected), field.name
        else:
            assert got == expected, field.name
    assert_tokens_equal(overlapped_next, serial_next)


def test_a_stopped_rollout_leaves_the_worker_ready_and_reproducible() -> None:
    process = TrialsProcess("darkroom", {"trial_steps": 20}, num_envs=4, seed=0)
    agent = make_agent("rl2", 2, "discrete", 5, hidden_size=8)
    steps = 0

    def stop_after_five() -> None:
        nonlocal steps
        steps += 1
        if steps > 5:
            raise KeyboardInterrupt

    try:
        first, _ = collect_rollout_overlapped(
            process, agent, process.reset(1), generator=torch.Generator().manual_seed(0)
        )
        with pytest.raises(KeyboardInterrupt):
            collect_rollout_overlapped(process, agent, process.reset(1), on_step=stop_after_five)
        again, _ = collect_rollout_overlapped(  # both groups' steps were still in flight: drained by reset
            process, agent, process.reset(1), generator=torch.Generator().manual_seed(0)
        )
    finally:
        process.close()
    torch.testing.assert_close(again.actions, first.actions)
    torch.testing.assert_close(again.rewards, first.rewards)


def test_task_overrides_reach_every_group_and_a_dead_worker_is_a_clear_error() -> None:
    process = TrialsProcess("darkroom", {}, num_envs=3, seed=0)
    try:
        process.set_task_overrides({"goal_x": 2, "goal_y": 6})
        for tokens in process.reset(5):
            assert (tokens.task == np.array([2, 6], dtype=np.float32)).all()
        # Ctrl-C reaches the worker too (one process group): it ignores it; the parent decides when to stop.
        os.kill(process._pipe.process.pid, signal.SIGINT)
        assert len(process.reset(5)) == 2 and process._pipe.alive
        process._pipe.process.kill()
        process._pipe.process.join()
        with pytest.raises(WorkerExited, match="trials worker process exited"):
            process.reset(5)
    finally:
        process.close()


def test_a_trainer_with_the_env_worker_resumes_bit_for_bit(tmp_path: Path) -> None:
    def config():
        return resolve_config(
            "darkroom",
            "rl2",
            "fast",
            overrides={
                "num_envs": 3,
                "env_worker": True,
                "checkpoint_every": 1,
                "agent_config": {"hidden_size": 8},
                "scene_options": {"trial_steps": 40},
                "ppo": {"minibatch_steps": 40, "update_epochs": 1},
            },
        )

    straight = Trainer(config(), tmp_path / "straight")
    expected = [straight.iterate() for _ in range(2)]
    straight.close()
    first = Trainer(config(), tmp_path / "resumed")
    first.iterate()
    first.close()
    resumed = Trainer.from_run(tmp_path / "resumed")
    assert isinstance(resumed.trials, TrialsProcess) and resumed.config.env_worker
    second = resumed.iterate()
    resumed.close()
    for key in ("trial_return", "policy_loss", "value_loss", "entropy"):
        assert second[key] == expected[1][key], key


def test_no_preset_turns_the_env_worker_on() -> None:
    # It loses 2-6x when another process competes for the cores (docs/benchmarks.md): opt-in only.
    for scene, agent in (
        ("halfcheetah-vel", "trmrl"),
        ("metaworld-ml1", "trmrl"),
        ("objnav-apartment", "memo"),
    ):
        for preset in ("fast", "paper"):
            assert not resolve_config(scene, agent, preset).env_worker, (scene, preset)


def test_a_script_without_a_main_guard_is_told_what_to_do(tmp_path: Path) -> None:
    script = tmp_path / "train_at_import.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from scenes.trials_process import TrialsProcess\nTrialsProcess('darkroom', {}, num_envs=2)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "under `if __name__ == '__main__':`" in done.stderr.strip().splitlines()[-1]


def test_train_says_in_one_line_when_its_worker_is_killed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [sys.executable, "main.py", "train", "--scene", "darkroom", "--agent", "rl2", "--env-worker", "on",
               "--steps", "100000000", "--agent-option", "hidden_size=8", "--out", str(run)]  # fmt: skip
    train = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "metrics.csv").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        children = Path(f"/proc/{train.pid}/task/{train.pid}/children").read_text().split()
        assert children, "the worker process"
        for child in children:
            os.kill(int(child), signal.SIGKILL)
        _, stderr = train.communicate(timeout=60)
    finally:
        train.kill()
    assert train.returncode == 1
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("engram: the trials worker process exited (code -9)"), stderr[-2000:]
    assert "Traceback" not in stderr and (run / "config.toml").is_file()
