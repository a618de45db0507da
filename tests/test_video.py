"""MP4 recordings on real files through the shipped FFmpeg: what a killed recording leaves is playable and
recovered by the next recording in its folder; a recording in progress is never taken for a dead one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scenes.video import VideoWriter, read_video, recover_partial_videos

ROOT = Path(__file__).resolve().parents[1]


def frame(i: int) -> np.ndarray:
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, (i * 3) % 64] = 255  # a moving bar: every frame differs
    return image


def test_a_killed_recording_is_playable_and_recovered_by_the_next_one(tmp_path: Path) -> None:
    code = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
import numpy as np
from scenes.video import VideoWriter
writer = VideoWriter({str(tmp_path / "demo.mp4")!r}, 20, (64, 48))
for i in range(10_000):
    image = np.zeros((48, 64, 3), np.uint8); image[:, (i * 3) % 64] = 255
    writer.write(image)
    if i == 60:
        print("written", flush=True)
    time.sleep(0.005)
"""
    # Its own process group, so kill -9 takes FFmpeg too (nothing gets to finish the file).
    recording = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert recording.stdout is not None and recording.stdout.readline().strip() == "written"
    time.sleep(1.0)
    os.killpg(recording.pid, signal.SIGKILL)
    recording.wait()
    partial = tmp_path / ".demo.partial.mp4"
    assert partial.is_file() and not (tmp_path / "demo.mp4").exists()

    with VideoWriter(tmp_path / "next.mp4", 20, (64, 48)) as writer:  # the next recording in the folder
        assert (tmp_path / "demo-recovered.mp4").is_file() and not partial.exists()
        for i in range(5):
            writer.write(frame(i))
    frames, meta = read_video(tmp_path / "demo-recovered.mp4")
    assert len(frames) >= 40 and meta["fps"] == 20  # all but the last second or so of ~2 s recorded
    assert len(read_video(tmp_path / "next.mp4")[0]) == 5


def test_a_recording_in_progress_is_not_recovered(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "live.mp4", 20, (64, 48))
    for i in range(30):
        writer.write(frame(i))
    assert recover_partial_videos(tmp_path) == []
    with VideoWriter(tmp_path / "other.mp4", 20, (64, 48)) as other:
        other.write(frame(0))
    for i in range(30, 40):
        writer.write(frame(i))
    assert len(read_video(writer.close())[0]) == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.mp4", "other.mp4"]
