"""`record --hud`: the overlay's text follows the player, and a recording with it differs from one without only
where the overlay is (real MP4s, read back)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import main
from agents.evaluation import load_policy
from agents.hud import draw_hud, hud_lines
from agents.player import Player
from scenes.video import read_video

ROOT = Path(__file__).resolve().parents[1]
CHEETAH = str(ROOT / "assets" / "pretrained" / "halfcheetah-vel-trmrl.pt")


def test_the_overlay_says_the_task_the_trial_step_and_the_episode_return() -> None:
    policy = load_policy(CHEETAH)
    player = Player(policy.scene, policy.agent, task={"target_velocity": 1.0}, seed=0)
    try:
        assert hud_lines(player, None) == ["target_velocity=1", "new trial"]
        player.step()
        step = player.step()
        player.set_task(target_velocity=2.5)  # what the next step runs on
        lines = hud_lines(player, step)
    finally:
        player.close()
    assert lines == [
        "target_velocity=2.5",
        "episode 0 · trial step 1",
        f"episode return {step.episode_return:.1f}",
    ]


def test_a_line_too_wide_for_the_frame_breaks_between_task_parameters() -> None:
    frame = np.zeros((240, 160, 3), dtype=np.uint8)
    one = draw_hud(frame, ["a=1"])
    many = draw_hud(frame, ["  ".join(f"parameter_{i}=0.5" for i in range(6))])
    shaded_rows = [int((image[:, 0] != 0).any(axis=1).sum()) for image in (one, many)]
    assert shaded_rows[1] >= 4 * shaded_rows[0]  # six parameters, one or two a line: a box several lines tall
    assert (frame == 0).all()  # drawn on a copy


def record(path: Path, *flags: str) -> list[np.ndarray]:
    args = ["record", "--checkpoint", CHEETAH, "--out", str(path), "--seconds", "1", "--size", "320x240"]
    assert main.main([*args, "--set", "target_velocity=1.5", *flags]) == 0
    frames, meta = read_video(path)
    assert len(frames) == 20 and meta["size"] == (320, 240)
    return frames


def test_record_hud_draws_the_overlay_top_left_and_nothing_else(tmp_path: Path) -> None:
    plain = record(tmp_path / "plain.mp4")
    hud = record(tmp_path / "hud.mp4", "--hud")
    for a, b in zip(plain, hud, strict=True):
        a, b = a.astype(int), b.astype(int)
        # The overlay (three lines of 10 px text at the top left) changes its corner...
        assert np.abs(a[6:40, 6:110] - b[6:40, 6:110]).mean() > 20
        # ...and leaves the rest of the frame as it was (the same seeded policy; MP4 coding noise only).
        assert np.abs(a[80:, 160:] - b[80:, 160:]).mean() < 2
