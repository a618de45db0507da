"""Distributed training on CPU with the gloo backend, each rank a real process on localhost (as torchrun starts
them): gradient averaging checked against one process updating on all ranks' trials, identical weights
across ranks, one run directory, torchrun launches as one machine and as two, ranks stopped and killed."""

from __future__ import annotations

import csv
import functools
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tiny import TINY_MEMO, TINY_TRMRL

import agents.ppo
from agents.config import resolve_config
from agents.ppo import PPOConfig, make_optimizer, ppo_update
from agents.rollout import collect_rollout, concat_rollouts
from agents.trainer import initial_agent
from scenes.registry import make_scene
from scenes.trials import Trials

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "rank_worker.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_env(rank: int, world_size: int, port: int) -> dict[str, str]:
    """The variables torchrun sets for one rank."""
    return {
        **os.environ,
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(world_size),
        "LOCAL_WORLD_SIZE": str(world_size),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "OMP_NUM_THREADS": "1",
        "MUJOCO_GL": "egl",
    }


def start_ranks(
    argv: list[str], world_size: int, cwd: Path, cpus: list[set[int]] | None = None
) -> list[subprocess.Popen]:
    """`world_size` ranks of `argv`, rank r pinned to `cpus[r]` if given."""
    port = free_port()
    return [
        subprocess.Popen(
            [sys.executable, *argv],
            cwd=cwd,
            env=rank_env(rank, world_size, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=None if cpus is None else functools.partial(os.sched_setaffinity, 0, cpus[rank]),
        )
        for rank in range(world_size)
    ]


def finish(processes: list[subprocess.Popen], timeout: float = 240) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            # Every process's last words, not only the first one's: a hang is usually another rank's story.
            tails = [p.communicate()[1][-2000:] for p in processes]
            raise AssertionError(f"a process outlived {timeout:g} s; stderr tails: {tails}") from None
        results.append((process.returncode, out, err))
    return results


def paired_order(per_rank: int):
    """The order one process visits when it stands for two ranks that each drew `randperm(units / 2)` with the
    same generator and took `per_rank` units per minibatch: minibatch k holds rank 0's k-th chunk (rows of the
    first rollout) and rank 1's (the second rollout's, offset by half)."""

    def order(units: int, generator: torch.Generator | None) -> torch.Tensor:
        half = units // 2
        local = torch.randperm(half, generator=generator)
        chunks = [local[start : start + per_rank] for start in range(0, half, per_rank)]
        return torch.cat([torch.cat([chunk, chunk + half]) for chunk in chunks])

    return order


CASES = {
    # Memo on whole-trial minibatches (its segment jitter drawn per rollout), normalised advantages.
    "memo-trials": (
        "darkroom",
        "memo",
        {"agent_config": TINY_MEMO},
        {"minibatch_steps": 800, "update_epochs": 2, "minibatch_unit": "trial"},
    ),
    # TrMRL on MuJoCo with single-step minibatches and the running observation standardisation.
    "trmrl-steps": (
        "halfcheetah-vel",
        "trmrl",
        {"agent_config": TINY_TRMRL},
        {"minibatch_steps": 100, "update_epochs": 2, "minibatch_unit": "step"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_two_ranks_update_as_one_process_on_both_ranks_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    scene_id, agent_id, overrides, ppo = CASES[case]
    config = resolve_config(scene_id, agent_id, "fast", overrides={"num_envs": 4, **overrides})
    scene = make_scene(config.scene, **config.scene_options)
    agent = initial_agent(config, scene)
    if agent.obs_normalizer is not None:  # statistics that are not the identity, as after a few iterations
        warmup = Trials(scene, 2, seed=9)
        agent.obs_normalizer.update(torch.from_numpy(warmup.reset(seed=9).obs) * 3 + 1)
        warmup.close()
    initial = {k: v.clone() for k, v in agent.state_dict().items()}
    rollouts = []
    for rank in range(2):  # each rank's envs and tasks; one generator seed so Memo's segment draw is shared
        trials = Trials(scene, 4, seed=100 + rank)
        rollouts.append(
            collect_rollout(trials, agent, trials.reset(seed=rank), 1, torch.Generator().manual_seed(3))[0]
        )
        trials.close()
    ppo_values = {**PPOConfig().__dict__, **config.ppo.__dict__, **ppo}
    torch.save(
        {
            "config": config.to_dict(),
            "initial": initial,
            "rollouts": rollouts,
            "ppo": ppo_values,
            "order_seed": 7,
        },
        tmp_path / "input.pt",
    )
    results = finish(start_ranks([str(WORKER), "update", "input.pt", "output.pt"], 2, tmp_path))
    assert all(code == 0 for code, _, _ in results), [err[-2000:] for _, _, err in results]
    output = torch.load(tmp_path / "output.pt", weights_only=False)
    rank0, rank1 = output["weights"]
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), f"ranks differ in {name}"

    # The independent check: one process, both rollouts, minibatches twice the size, in the ranks' order.
    both = concat_rollouts(rollouts)
    reference = PPOConfig(**{**ppo_values, "minibatch_steps": 2 * ppo_values["minibatch_steps"]})
    per_rank = ppo["minibatch_steps"]
    if ppo["minibatch_unit"] == "trial":
        per_rank //= both.trial_length
        # Whole trials, and more than one minibatch per epoch.
        assert per_rank * both.trial_length == ppo["minibatch_steps"] and per_rank < 4
    monkeypatch.setattr(agents.ppo, "minibatch_order", paired_order(per_rank))
    agent.load_state_dict(initial)
    optimizer = make_optimizer(agent, config.ppo)
    diagnostics = ppo_update(agent, optimizer, both, reference, torch.Generator().manual_seed(7))
    if agent.obs_normalizer is not None:
        agent.obs_normalizer.update(both.tokens.obs)
    changed = 0
    for name, tensor in agent.state_dict().items():
        torch.testing.assert_close(rank0[name], tensor, rtol=0, atol=1e-5, msg=f"{case}: {name}")
        changed += int(not torch.equal(tensor, initial[name]))
    assert changed > len(initial) // 2  # the update moved the weights (a no-op would also "match")
    for key in ("policy_loss", "value_loss", "explained_variance"):
        assert output["diagnostics"][key] == pytest.approx(diagnostics[key], rel=1e-3, abs=1e-5), key


def test_two_ranks_keep_identical_weights_over_several_iterations(tmp_path: Path) -> None:
    """... and the process group is freed at shutdown, its threads with it (each rank exits 3 if not)."""
    config = resolve_config(
        "darkroom",
        "memo",
        "fast",
        overrides={
            "num_envs": 3,
            "agent_config": TINY_MEMO,
            "ppo": {"minibatch_steps": 100, "update_epochs": 2},
        },
    )
    torch.save({"config": config.to_dict(), "iterations": 3}, tmp_path / "config.pt")
    results = finish(start_ranks([str(WORKER), "trainer", "config.pt", "output.pt"], 2, tmp_path))
    assert all(code == 0 for code, _, _ in results), [err[-2000:] for _, _, err in results]
    output = torch.load(tmp_path / "output.pt", weights_only=False)
    rank0, rank1 = output["weights"]
    assert all(torch.equal(rank0[name], rank1[name]) for name in rank0)
    steps_per_rank = 3 * 400  # Darkroom's 400-step trials x 3 envs
    assert [m["env_steps"] for m in output["history"]] == [2 * steps_per_rank * (i + 1) for i in range(3)]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to make one rank the straggler")
@pytest.mark.parametrize(
    ("agent", "unit"),
    [
        ("memo", "trial"),
        pytest.param("mlp", "step", marks=pytest.mark.slow),
    ],  # the second case: make test-all
)
def test_the_straggler_cutoff_cuts_the_slow_ranks_rollout(tmp_path: Path, agent: str, unit: str) -> None:
    """ppo.sync_fraction 0.4 of 2 ranks: once one rank has its rollout, the other (sharing its core with a
    spinning process) cuts its own short, past a quarter of it; the update still gives both ranks the same
    weights (with single-step minibatches the cut rank's last minibatches are empty)."""
    ppo = {"minibatch_steps": 100 if unit == "step" else 400, "minibatch_unit": unit, "sync_fraction": 0.4}
    overrides = {"num_envs": 3, "ppo": {**ppo, "update_epochs": 1}}
    if agent == "memo":
        overrides["agent_config"] = TINY_MEMO
    config = resolve_config("darkroom", agent, "fast", overrides=overrides)
    torch.save({"config": config.to_dict(), "iterations": 4}, tmp_path / "config.pt")
    cores = sorted(os.sched_getaffinity(0))[:2]
    spinner = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"],
        preexec_fn=functools.partial(os.sched_setaffinity, 0, {cores[1]}),
    )
    try:
        ranks = start_ranks(
            [str(WORKER), "trainer", "config.pt", "output.pt"], 2, tmp_path, [{cores[0]}, {cores[1]}]
        )
        results = finish(ranks)
    finally:
        spinner.kill()
        spinner.wait()
    assert all(code == 0 for code, _, _ in results), [err[-2000:] for _, _, err in results]
    output = torch.load(tmp_path / "output.pt", weights_only=False)
    rank0, rank1 = output["weights"]
    assert all(torch.equal(rank0[name], rank1[name]) for name in rank0)
    steps = [int(m["env_steps"]) for m in output["history"]]
    added = [b - a for a, b in zip([0, *steps], steps, strict=False)]
    whole = 3 * 400  # one rank's trials
    assert all(whole + whole // 4 <= n <= 2 * whole for n in added) and any(n < 2 * whole for n in added), (
        added
    )
    assert all(
        math.isfinite(m["trial_return"]) and math.isfinite(m["policy_loss"]) for m in output["history"]
    )


def read_metrics(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


TRAIN = ["train", "--scene", "bandit", "--agent", "mlp", "--num-envs", "32", "--steps", "3200"]


def test_torchrun_on_one_machine_writes_one_run_directory(tmp_path: Path) -> None:
    port = free_port()
    command = [
        *TORCHRUN,
        "--nproc_per_node=2",
        f"--master_port={port}",
        str(ROOT / "main.py"),
        *TRAIN,
        "--out",
        "run",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    assert result.stdout.strip().splitlines()[-1] == "run"  # the run directory printed once, by rank 0
    rows = read_metrics(run)
    # 32 envs x 10 pulls per rank per iteration: every row counts both ranks' steps.
    assert [int(r["env_steps"]) for r in rows] == [640 * (i + 1) for i in range(len(rows))]
    assert int(rows[-1]["env_steps"]) >= 3200
    config = (run / "config.toml").read_text()
    assert "world_size = 2" in config and 'device = "cpu"' in config
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "latest.pt"]


def test_two_torchrun_launches_as_two_machines(tmp_path: Path) -> None:
    """Two `torchrun --nnodes=2` launches on localhost, each in its own directory as on its own machine:
    they rendezvous, train to the end, and only node 0's directory holds the run."""
    port = free_port()
    nodes = []
    for node in (0, 1):
        home = tmp_path / f"node{node}"
        home.mkdir()
        command = [
            *TORCHRUN,
            "--nnodes=2",
            "--nproc_per_node=1",
            f"--node_rank={node}",
            "--master_addr=127.0.0.1",
            f"--master_port={port}",
            str(ROOT / "main.py"),
            *TRAIN,
            "--out",
            "run",
        ]
        nodes.append(
            subprocess.Popen(command, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    results = finish(nodes)
    assert all(code == 0 for code, _, _ in results), [err[-2000:] for _, _, err in results]
    assert int(read_metrics(tmp_path / "node0" / "run")[-1]["env_steps"]) >= 3200
    assert not (tmp_path / "node1" / "run").exists()


def wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)


def test_sigterm_on_one_rank_stops_both_with_one_checkpoint(tmp_path: Path) -> None:
    ranks = start_ranks([str(ROOT / "main.py"), *TRAIN[:-1], "10000000", "--out", "run"], 2, tmp_path)
    wait_for(tmp_path / "run" / "checkpoints" / "latest.pt")  # written after the first iteration
    ranks[1].send_signal(signal.SIGTERM)
    (code0, out0, err0), (code1, _, err1) = finish(ranks, timeout=60)
    assert code0 == 0 and code1 == 0, (err0[-2000:], err1[-2000:])
    assert "engram: stopped at" in err0 and out0.strip() == "run"
    rows = read_metrics(tmp_path / "run")
    latest = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=False)
    assert latest["counters"]["iteration"] == int(rows[-1]["iteration"])
    assert len(latest["rank_generators"]) == 2


def test_a_killed_rank_ends_the_other_with_one_line_and_the_run_resumes_on_one_rank(tmp_path: Path) -> None:
    ranks = start_ranks([str(ROOT / "main.py"), *TRAIN[:-1], "10000000", "--out", "run"], 2, tmp_path)
    wait_for(tmp_path / "run" / "checkpoints" / "latest.pt")
    ranks[1].kill()
    start = time.monotonic()
    (code0, _, err0), _ = finish(ranks, timeout=120)
    assert code0 == 1 and time.monotonic() - start < 60
    lines = [line for line in err0.splitlines() if line.startswith("engram: rank")]
    assert len(lines) == 1 and "Traceback" not in err0, err0[-3000:]
    assert "rank(s) 1 ended without a word" in lines[0] and "--resume" in lines[0]

    resumed = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "train", "--resume", "run", "--steps", "8000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "MUJOCO_GL": "egl"},
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = read_metrics(tmp_path / "run")
    steps = [int(r["env_steps"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] >= 8000
    assert "world_size = 1" in (tmp_path / "run" / "config.toml").read_text()
    # One rank now: each iteration adds one rank's 320 steps where the two-rank rows added 640.
    assert steps[-1] - steps[-2] == 320


@pytest.mark.parametrize(
    "command",
    [
        TRAIN,
        ["eval", "--checkpoint", str(ROOT / "assets" / "pretrained" / "halfcheetah-vel-trmrl.pt")],
        [
            "record",
            "--checkpoint",
            str(ROOT / "assets" / "pretrained" / "halfcheetah-vel-trmrl.pt"),
            "--out",
            "x.mp4",
        ],
        ["gui"],
    ],
    ids=["train", "eval", "record", "gui"],
)
def test_cuda_asked_for_on_a_machine_without_it_is_one_line(tmp_path: Path, command: list[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *command, "--device", "cuda"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "MUJOCO_GL": "egl"},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("engram: --device cuda: this machine has no CUDA")
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written
