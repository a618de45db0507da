"""Soak test of the desktop app (issue 20): the window trains and watches for `--minutes`, sampled every minute.

The window runs a training run started from its Train button while the player watches at `--speed` (x8
by default) in a 640x480 viewport, with every panel open. Every `--sample-seconds` it records:
- resident memory of the window's process and of the training process (RSS from /proc, MB),
- event-loop latency p95 over that interval (lateness of a 10 ms precise QTimer),
- viewport frames/s,
- training iterations received and the points the curves panel holds for them (it must keep every one).
It prints one row per sample and then the verdict against the targets: RSS growth < 50 MB over the run (from
the first sample, after warm-up), p95 event-loop latency <= 50 ms, and the curves keep every point.

Run under a real X server or offscreen, as the app runs: `xvfb-run -a python bench/soak_gui.py [--minutes 60]`
(or `QT_QPA_PLATFORM=offscreen`), [--scene halfcheetah-vel] [--agent trmrl] [--speed 8].
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")
if not os.environ.get("DISPLAY"):  # under xvfb-run or a desktop: the real X window (xcb)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from app import qt_compat  # noqa: F401  (before any Qt call)

PROBE_MS = 10
RSS_GROWTH_MB = 50.0
P95_MS = 50.0


def rss_mb(pid: int | None) -> float:
    """Resident set size of process `pid` in MB (nan if it is gone or has no /proc entry)."""
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def soak(args: argparse.Namespace, root: Path) -> list[dict[str, float]]:
    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui import GUI_SWITCH_INTERVAL_S
    from app.main_window import MainWindow

    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(
        args.scene,
        args.agent,
        args.preset,
        settings=QSettings(str(root / "soak.ini"), QSettings.Format.IniFormat),
        runs_root=root / "runs",
        config_overrides={"total_steps": 10**12},
    )
    window.resize(1600, 1000)
    window.viewport.setFixedSize(640, 480)
    window.show()
    window.set_speed(args.speed)

    clock = QElapsedTimer()
    lateness: list[float] = []
    fps: list[float] = []
    iterations = {"count": 0}
    samples: list[dict[str, float]] = []
    state = {"last": 0.0, "start": time.monotonic()}

    def probe() -> None:
        now = clock.nsecsElapsed() / 1e9
        lateness.append(max(0.0, now - state["last"] - PROBE_MS / 1000))
        state["last"] = now

    def on_metrics(metrics: dict) -> None:
        iterations["count"] += 1

    def sample() -> None:
        worker = window.trainer_worker
        run_id = str(worker.info.run_dir.resolve()) if worker is not None and worker.info is not None else ""
        points = len(window.curves.series(run_id, "trial_return")[0]) if window.curves.has_run(run_id) else 0
        late_ms = 1000 * np.asarray(lateness or [0.0])
        samples.append(
            {
                "minute": (time.monotonic() - state["start"]) / 60,
                "window_rss": rss_mb(os.getpid()),
                "trainer_rss": rss_mb(worker.pid if worker is not None else None),
                "p95_ms": float(np.percentile(late_ms, 95)),
                "fps": float(np.mean(fps)) if fps else 0.0,
                "iterations": iterations["count"],
                "curve_points": points,
            }
        )
        row = samples[-1]
        print(
            f"| {row['minute']:.1f} | {row['window_rss']:.0f} | {row['trainer_rss']:.0f} | {row['p95_ms']:.1f} "
            f"| {row['fps']:.0f} | {row['iterations']} | {row['curve_points']} |",
            flush=True,
        )
        lateness.clear()
        fps.clear()
        if time.monotonic() - state["start"] >= args.minutes * 60:
            app.quit()

    def start() -> None:
        window.play()
        window.train()
        window.trainer_worker.metrics.connect(on_metrics)

    probe_timer = QTimer()
    probe_timer.setTimerType(Qt.TimerType.PreciseTimer)
    probe_timer.setInterval(PROBE_MS)
    probe_timer.timeout.connect(probe)
    fps_timer = QTimer()
    fps_timer.setInterval(1000)
    fps_timer.timeout.connect(lambda: fps.append(window.viewport.fps()))
    sample_timer = QTimer()
    sample_timer.setInterval(round(args.sample_seconds * 1000))
    sample_timer.timeout.connect(sample)
    print(
        "| minute | window RSS MB | trainer RSS MB | event loop p95 ms | viewport fps | iterations | curve points |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    clock.start()
    for timer in (probe_timer, fps_timer, sample_timer):
        timer.start()
    QTimer.singleShot(1000, start)
    app.exec()
    for timer in (probe_timer, fps_timer, sample_timer):
        timer.stop()
    window.close()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--scene", default="halfcheetah-vel")
    parser.add_argument("--agent", default="trmrl")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--speed", type=float, default=8.0)
    args = parser.parse_args()
    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.environ.get('QT_QPA_PLATFORM') or 'xcb'}, {args.scene} / {args.agent} ({args.preset}), "
        f"player x{args.speed:g}, {args.minutes:g} min\n"
    )
    with tempfile.TemporaryDirectory() as scratch:
        samples = soak(args, Path(scratch))
    if len(samples) < 2:
        print("too few samples for a verdict")
        return 1
    first, last = samples[0], samples[-1]
    growth = (last["window_rss"] - first["window_rss"]) + (last["trainer_rss"] - first["trainer_rss"])
    worst_p95 = max(s["p95_ms"] for s in samples)
    kept = all(s["curve_points"] == s["iterations"] for s in samples)
    print()
    print(
        f"RSS growth (window + trainer, first to last sample): {growth:+.1f} MB (target < {RSS_GROWTH_MB:g})"
    )
    print(f"worst per-interval event-loop p95: {worst_p95:.1f} ms (target <= {P95_MS:g})")
    print(f"curves kept every point: {'yes' if kept else 'no'}")
    return 0 if growth < RSS_GROWTH_MB and worst_p95 <= P95_MS and kept else 1


if __name__ == "__main__":
    sys.exit(main())
