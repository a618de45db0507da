"""`train` -> `eval` -> `record` from the command line on a small budget, with real MuJoCo and a real MP4."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import main
from agents.config import PRESETS
from scenes.video import read_video

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "MUJOCO_GL": "egl", "PYTHONUNBUFFERED": "1"}


def engram(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def test_train_eval_record_end_to_end(tmp_path: Path) -> None:
    run = tmp_path / "run"
    # One iteration: 2 envs x one 400-step HalfCheetahVel trial.
    trained = engram(
        "train",
        "--scene",
        "halfcheetah-vel",
        "--agent",
        "trmrl",
        "--steps",
        "800",
        "--num-envs",
        "2",
        "--threads",
        "2",
        "--env-worker",
        "on",
        "--ppo-option",
        "minibatch_unit=step",  # single steps from across trials, as TrMRL's code draws them
        "--ppo-option",
        "minibatch_steps=200",
        "--out",
        str(run),
    )
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.strip() == str(run)
    assert (run / "checkpoints" / "latest.pt").is_file() and (run / "config.toml").is_file()
    resolved = (run / "config.toml").read_text()
    assert "torch_threads = 2" in resolved and 'minibatch_unit = "step"' in resolved
    assert "env_worker = true" in resolved  # the two envs stepped in a worker process, one per group
    assert "done at 800 env steps" in trained.stderr

    evaluated = engram("eval", "--checkpoint", str(run), "--episodes", "2", "--split", "ood", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert (result["scene"], result["agent"], result["split"], result["trials"]) == (
        "halfcheetah-vel",
        "trmrl",
        "ood",
        2,
    )
    assert len(result["episode_return"]) == 2 and result["success_rate"] is None
    curves = result["adaptation_curve"]
    assert curves["bin_steps"] == 20 and [len(c) for c in curves["episodes"]] == [10, 10]
    # The bins of an episode add up to its return (mean over the same trials).
    assert sum(curves["episodes"][0]) == pytest.approx(result["episode_return"][0], rel=1e-6)

    video = run / "videos" / "demo.mp4"
    recorded = engram(
        "record", "--checkpoint", str(run), "--out", str(video), "--seconds", "2", "--size", "320x240",
        "--set", "target_velocity=1.0", "--edit-at", "1:target_velocity=2.5",
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    frames, meta = read_video(video)
    assert len(frames) == 40 and meta["fps"] == 20 and meta["size"] == (320, 240)  # 2 s at the env's 20 fps
    assert not list(video.parent.glob(".*partial*"))
    # The edit at 1 s is marked: frames 20..39 carry the border, frames before it do not.
    border = np.array([255, 196, 0])
    assert np.abs(frames[25][2, 160].astype(int) - border).max() < 40
    assert np.abs(frames[10][2, 160].astype(int) - border).max() > 60


def test_bad_record_and_train_arguments_are_one_line_errors(tmp_path: Path) -> None:
    missing = engram("record", "--checkpoint", str(tmp_path), "--out", str(tmp_path / "x.mp4"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("scene = ")
    config = engram("train", "--config", str(bad))
    assert config.returncode == 2 and "not valid TOML" in config.stderr and config.stderr.count("\n") == 1
    preset = engram("train", "--scene", "bandit", "--agent", "mlp", "--preset", "paper")
    assert preset.returncode == 2 and "preset 'paper' is not defined" in preset.stderr
    steps = engram("train", "--scene", "bandit", "--agent", "memo", "--ppo-option", "minibatch_unit=step")
    assert steps.returncode == 2 and "memo's memory spans the trial" in steps.stderr
    assert steps.stderr.count("\n") == 1


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "main.py", "train", "--scene", "bandit", "--agent", "mlp", "--steps", "100000000", "--out", str(run)],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    metrics = run / "metrics.csv"
    deadline = time.monotonic() + 120
    while (not metrics.exists() or len(metrics.read_text().splitlines()) < 3) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "stopped at" in stderr and "Traceback" not in stderr
    payload = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    done = payload["counters"]["env_steps"]
    assert done >= 2 * 640
    resumed = engram("train", "--resume", str(run), "--steps", str(done + 640))
    assert resumed.returncode == 0, resumed.stderr
    assert f"done at {done + 640:,} env steps" in resumed.stderr


def test_the_cli_offers_the_engines_presets() -> None:
    assert main.preset_names() == list(PRESETS)


def test_eval_runs_longer_trials_and_streaming_caches_and_refuses_bad_options(tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = engram(
        "train", "--scene", "dark-key-to-door", "--agent", "memo", "--steps", "1000", "--num-envs", "2",
        "--agent-option", "segment_length=32", "--out", str(run),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    longer = engram(
        "eval", "--checkpoint", str(run), "--episodes", "2", "--option", "trial_steps=1000",
        "--agent-option", "stream_window=96", "--window-steps", "300", "--json",
    )  # fmt: skip
    assert longer.returncode == 0, longer.stderr
    result = json.loads(longer.stdout)
    assert result["steps_per_trial"] == 1000 and len(result["episode_return"]) == 20  # 50-step episodes
    windows = result["return_per_window"]
    assert windows["window_steps"] == 300 and len(windows["mean"]) == 4  # 300, 300, 300, 100 steps
    assert sum(windows["mean"]) == pytest.approx(result["trial_return"]["mean"], abs=1e-5)
    for flag, text, message in (
        ("--agent-option", "stream_window=wide", "expects int"),
        ("--agent-option", "d_model=32", "with the options given does not match its config"),
        ("--option", "trial_steps=5", "trial_steps"),
    ):
        bad = engram("eval", "--checkpoint", str(run), "--episodes", "1", flag, text)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and message in bad.stderr, bad.stderr


def test_train_refuses_to_overwrite_or_ignore_and_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    assert main.main(["train", "--scene", "bandit", "--agent", "mlp", "--out", str(taken)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in taken.iterdir()] == ["notes.txt"] and (taken / "notes.txt").read_text() == "mine"
    # A path that cannot be a directory: the OS's reason in one line, before any work.
    assert (
        main.main(["train", "--scene", "bandit", "--agent", "mlp", "--out", str(taken / "notes.txt" / "run")])
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Not a directory" in err and "training" not in err
    # --resume would drop these silently: they are refused by name, also when their value is 0.
    refused = ["--seed", "0", "--num-envs", "4", "--env-worker", "off"]
    assert main.main(["train", "--resume", str(taken), *refused]) == 2
    assert "drop --seed/--num-envs/--env-worker" in capsys.readouterr().err


def test_record_refuses_an_output_that_is_not_an_mp4_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = str(ROOT / "assets" / "pretrained" / "halfcheetah-vel-trmrl.pt")
    for out, message in ((tmp_path / "clip.txt", "must end in .mp4"), (tmp_path, "is a directory")):
        assert main.main(["record", "--checkpoint", checkpoint, "--out", str(out), "--seconds", "1"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []  # nothing written, no partial file


def test_without_a_display_gui_refuses_window_flags_and_demos_a_given_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    shot = tmp_path / "shot.png"
    assert main.main(["gui", "--screenshot", str(shot), "--quit-after", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--screenshot/--quit-after need the window" in err and "xvfb-run" in err
    assert not shot.exists() and not (tmp_path / "runs").exists()
    # --checkpoint: the demo records that agent (a bandit MLP here), not the default pretrained TrMRL.
    trained = engram(
        "train", "--scene", "bandit", "--agent", "mlp", "--steps", "640", "--out", str(tmp_path / "run")
    )
    assert trained.returncode == 0, trained.stderr
    assert main.main(["--checkpoint", str(tmp_path / "run")]) == 0
    out, err = capsys.readouterr()
    video = tmp_path / out.strip()
    assert f"the agent in {tmp_path / 'run'}" in err
    assert video.parents[2] == tmp_path / "runs" and video.parents[1].name.startswith("bandit-mlp-")
    frames, meta = read_video(video)
    assert len(frames) == round(main.DEMO_VIDEO_SECONDS * meta["fps"])
