"""`main.py` as a user runs it: a real subprocess, real exit codes, nothing but one line on stderr for errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenes import scene_ids
from scenes.video import read_video

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env or {**os.environ, "MUJOCO_GL": "egl"},
    )


def test_help_lists_the_command_line_contract() -> None:
    result = run("--help")
    assert result.returncode == 0
    # The command list: one line per sub-command, its name first (a word in the prose would not count).
    listed = [
        line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ") and line.strip()
    ]
    assert listed == ["gui", "train", "eval", "record", "scenes", "agents"]
    assert (
        "xvfb-run -a python main.py gui" in result.stdout and "python main.py train --scene" in result.stdout
    )


def test_scenes_json_lists_every_scene_with_its_schema() -> None:
    result = run("scenes", "--json")
    assert result.returncode == 0, result.stderr
    listed = {scene["id"]: scene for scene in json.loads(result.stdout)}
    assert list(listed) == scene_ids()
    vel = listed["halfcheetah-vel"]
    assert vel["gym_id"] == "engram/halfcheetah-vel-v0" and vel["splits"] == ["train", "test", "ood"]
    assert vel["task_params"] == [
        {
            "name": "target_velocity",
            "type": "float",
            "doc": "forward velocity to run at",
            "unit": "m/s",
            "low": 0.0,
            "high": 4.0,
        }
    ]
    assert listed["halfcheetah-dir"]["task_params"][0]["choices"] == [-1, 1]
    assert listed["ant-dir"]["options"][0]["default"] == "paper"
    for scene in listed.values():
        assert scene["task_params"], scene["id"]
        assert scene["steps_per_trial"] >= scene["episode_length"]


def test_scenes_text_listing() -> None:
    result = run("scenes")
    assert result.returncode == 0, result.stderr
    assert (
        "halfcheetah-vel" in result.stdout
        and "target_velocity" in result.stdout
        and "[0, 4] m/s" in result.stdout
    )


def test_no_display_says_so_in_one_line_and_runs_the_headless_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--scene", "bandit", "--agent", "mlp", "--demo-seconds", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    assert "no display found" in first and "headless demo" in first and "xvfb-run" in first
    assert "Traceback" not in result.stderr
    video = tmp_path / result.stdout.strip()
    assert video.is_file() and video.parent.name == "videos" and video.is_relative_to(tmp_path / "runs")
    frames, meta = read_video(video)
    assert len(frames) == round(10 * meta["fps"])  # 10 s at the env's frame rate
    assert (video.parents[1] / "checkpoints" / "latest.pt").is_file()


def test_the_headless_demo_shows_the_pretrained_agent_where_one_ships(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--scene", "dark-key-to-door", "--agent", "memo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the pretrained memo" in result.stderr and "training" not in result.stderr
    video = tmp_path / result.stdout.strip()
    frames, meta = read_video(video)
    assert len(frames) == round(10 * meta["fps"])
    assert not (video.parents[1] / "checkpoints").exists()  # nothing was trained


@pytest.mark.parametrize(
    "args",
    [("train", "--scene", "nope", "--agent", "trmrl"), ("eval", "--checkpoint", "missing.pt")],
)
def test_commands_fail_with_one_line_not_a_traceback(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_debug_adds_the_traceback_to_a_user_error() -> None:
    result = run("train", "--scene", "nope", "--agent", "trmrl", "--debug")
    assert result.returncode == 2 and "Traceback" in result.stderr and "UserError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("engram: unknown scene 'nope'")


def test_a_bug_is_a_traceback_not_a_user_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An internal ValueError (here: one raised inside `scenes`) is not bad input: it keeps its traceback,
    where before every ValueError became one `engram:` line that looked like the user's mistake."""
    import main
    import scenes

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(scenes, "scene_ids", broken)
    with pytest.raises(ValueError, match="internal invariant"):
        main.main(["scenes"])
    assert "engram:" not in capsys.readouterr().err


def test_agents_json_lists_every_agent_with_documented_hyperparameters() -> None:
    result = run("agents", "--json")
    assert result.returncode == 0, result.stderr
    agents = {agent["name"]: agent for agent in json.loads(result.stdout)}
    assert set(agents) == {"trmrl", "memo", "fct", "rmt", "rl2", "mlp"}
    trmrl = {hp["name"]: hp for hp in agents["trmrl"]["hyperparameters"]}
    assert trmrl["wm_size"]["default"] == 5 and trmrl["n_layers"]["default"] == 4
    assert all(hp["doc"] for agent in agents.values() for hp in agent["hyperparameters"])


CHEETAH = str(ROOT / "assets" / "pretrained" / "halfcheetah-vel-trmrl.pt")
DKTD = str(ROOT / "assets" / "pretrained" / "dark-key-to-door-memo.pt")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("record", "--checkpoint", CHEETAH, "--out", "x.mp4", "--seconds", "nan"), "--seconds must be in (0, 3600], got nan"),
        (("record", "--checkpoint", CHEETAH, "--out", "x.mp4", "--seconds", "inf"), "--seconds must be in (0, 3600], got inf"),
        (("record", "--checkpoint", CHEETAH, "--out", "x.mp4", "--seed", "-1"), "--seed must be in [0, 4294967295], got -1"),
        (("record", "--checkpoint", CHEETAH, "--out", "x.mp4", "--seconds", "abc"), "argument --seconds: invalid float value: 'abc'"),
        (("eval", "--checkpoint", CHEETAH, "--seed", "-1"), "--seed must be in [0, 4294967295], got -1"),
        (("eval", "--checkpoint", CHEETAH, "--episodes", "nan"), "argument --episodes: invalid int value: 'nan'"),
        (("eval", "--checkpoint", CHEETAH, "--window-steps", "inf"), "argument --window-steps: invalid int value: 'inf'"),
        (("gui", "--quit-after", "nan"), "--quit-after must be in [0, 86400], got nan"),
        (("gui", "--quit-after=-inf"), "--quit-after must be in [0, 86400], got -inf"),
        (("gui", "--demo-seconds", "nan"), "--demo-seconds must be in (0, 86400], got nan"),
        (("gui", "--demo-seconds", "inf"), "--demo-seconds must be in (0, 86400], got inf"),
        (("train", "--scene", "bandit", "--agent", "mlp", "--seed", "-3"), "seed must be in [0, 4294967295], got -3"),
        (("train", "--scene", "bandit", "--agent", "mlp", "--steps", "1e9"), "argument --steps: invalid int value: '1e9'"),
        (("train", "--config", str(ROOT / "tests")), f"config file {ROOT / 'tests'} is a directory"),
        (("record", "--checkpoint", CHEETAH, "--out", "x.mp4", "--compare", DKTD), f"--compare: {DKTD} holds a memo agent of dark-key-to-door, not of halfcheetah-vel"),
        (("record", "--checkpoint", CHEETAH, "--out", "x.mp4", "--compare", "nobody"), "--compare expects an agent (trmrl, memo, fct, rmt, rl2, mlp) or a checkpoint file or run directory, got 'nobody'"),
        (("gui", "--checkpoint", CHEETAH, "--compare", DKTD), f"--compare: {DKTD} holds a memo agent of dark-key-to-door, not of halfcheetah-vel"),
        (("gui", "--scene", "bandit", "--agent", "mlp", "--compare"), "--compare: no other agent ships pretrained for bandit"),
    ],
)  # fmt: skip
def test_bad_flag_values_name_the_flag_and_the_value_in_one_line(
    args: tuple[str, ...],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """NaN passed every `<=` check (record --seconds nan failed later in int()); argparse printed its usage."""
    import main

    monkeypatch.chdir(tmp_path)  # nothing may be written; if it were, it lands here
    try:
        code = main.main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("engram: ") and err.count("\n") == 1 and named in err, err
    assert list(tmp_path.iterdir()) == []


def test_print_config_names_the_layer_of_every_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`train --print-config` (issue 22): a preset, a config file and a flag overriding both, each named."""
    import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text("num_envs = 4\n[ppo]\ngamma = 0.5\nclip_coef = 0.3\n")
    argv = ["train", "--scene", "halfcheetah-vel", "--agent", "trmrl", "--config", "mine.toml"]
    assert main.main([*argv, "--ppo-option", "clip_coef=0.25", "--print-config"]) == 0
    layers = {}
    for line in capsys.readouterr().out.splitlines():
        if " # " in line:
            setting, layer = line.split(" # ")
            layers[setting.split("=")[0].strip()] = (setting.split("=", 1)[1].strip(), layer)
    assert layers["scene"] == ('"halfcheetah-vel"', "the command line")
    assert layers["preset"] == ('"fast"', "default")
    assert layers["num_envs"] == ("4", "config file mine.toml")  # over the preset's 16
    assert layers["gamma"] == ("0.5", "config file mine.toml")  # over the preset's 0.9
    assert layers["clip_coef"] == ("0.25", "the command line")  # over the file's 0.3
    assert layers["policy_lr"] == ("0.0001", "presets.toml [fast | mujoco | trmrl]")
    assert layers["value_input"] == ('"shared"', "presets.toml [fast | halfcheetah-vel | trmrl]")
    assert layers["init_std"] == ("0.2", "agent preset 'halfcheetah-vel'")
    assert layers["wm_size"] == ("5", "agent default")
    assert layers["seed"] == ("0", "default")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]  # nothing run, nothing written
