"""Checkpoints on real files: round trip, atomic replacement, and clear errors for unusable files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agents.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from agents.config import resolve_config
from agents.trainer import build_agent, load_weights
from scenes.registry import make_scene

ROOT = Path(__file__).resolve().parents[1]


def payload(step: int) -> dict:
    model = torch.nn.Linear(3, 2)
    return {
        "scene": "halfcheetah-vel",
        "agent": "trmrl",
        "config": {"scene": "halfcheetah-vel", "agent": "trmrl"},
        "model": model.state_dict(),
        "counters": {"env_steps": step},
        "rng": {"torch": torch.get_rng_state(), "numpy": {"state": 12345678901234567890, "inc": 7}},
    }


def test_round_trip_keeps_weights_and_counters(tmp_path: Path) -> None:
    original = payload(100)
    path = save_checkpoint(tmp_path / "checkpoints" / "latest.pt", original)
    loaded = load_checkpoint(path, expect_scene="halfcheetah-vel", expect_agent="trmrl")
    assert loaded["counters"] == {"env_steps": 100}
    assert loaded["rng"]["numpy"]["state"] == 12345678901234567890
    for name, tensor in original["model"].items():
        assert torch.equal(loaded["model"][name], tensor)
    assert load_checkpoint(tmp_path)["counters"]["env_steps"] == 100  # a run directory resolves to latest


def test_a_crash_mid_write_leaves_the_previous_checkpoint_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_checkpoint(tmp_path / "latest.pt", payload(1))
    real_save = torch.save

    def crash_halfway(obj: object, f: object) -> None:
        real_save(obj, f)
        f.truncate(10)  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_halfway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, payload(2))
    monkeypatch.undo()
    assert load_checkpoint(path)["counters"]["env_steps"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]  # no temporary file left behind


@pytest.mark.parametrize("missing", ["config", "model"])
def test_a_tagged_checkpoint_without_config_or_weights_is_a_one_line_error(
    tmp_path: Path, missing: str
) -> None:
    # Issue 20 item 3: `eval` and `train --resume` ended in a KeyError traceback on such a file.
    damaged = {key: value for key, value in payload(1).items() if key != missing}
    path = save_checkpoint(tmp_path / "checkpoints" / "latest.pt", damaged)
    with pytest.raises(CheckpointError, match=f"has no usable {missing}") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    for argv in (["eval", "--checkpoint", str(path)], ["train", "--resume", str(tmp_path)]):
        result = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *argv], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("engram:") and f"no usable {missing}" in result.stderr


def test_truncated_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "latest.pt", payload(1))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_wrong_agent_scene_foreign_and_missing_files(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "latest.pt", payload(1))
    with pytest.raises(
        CheckpointError, match="made for agent 'trmrl' on scene 'halfcheetah-vel', not agent 'memo'"
    ):
        load_checkpoint(path, expect_agent="memo")
    with pytest.raises(
        CheckpointError, match="on scene 'halfcheetah-vel', not agent 'trmrl' on scene 'darkroom'"
    ):
        load_checkpoint(path, expect_scene="darkroom")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not an Engram checkpoint"):
        load_checkpoint(foreign)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(text)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_weights_of_another_shape_are_a_one_line_error() -> None:
    """The player (GUI) and `eval` rebuild an agent through build_agent + load_weights: weights saved with
    other sizes are refused in one line naming the source and the mismatching tensor."""
    scene = make_scene("bandit")
    small = build_agent(
        resolve_config(scene="bandit", agent="memo", overrides={"agent_config": {"d_model": 32}}), scene
    )
    agent = build_agent(resolve_config(scene="bandit", agent="memo"), scene)
    with pytest.raises(
        ValueError, match=r"^checkpoint x\.pt does not match its config: size mismatch"
    ) as info:
        load_weights(agent, small.state_dict(), "checkpoint x.pt")
    assert "\n" not in str(info.value)
    load_weights(small, small.state_dict(), "checkpoint x.pt")
