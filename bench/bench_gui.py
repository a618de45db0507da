"""The desktop app's speed targets (issue 5), printed as a table.

1. Headless: the Trainer alone in this process (no window), whole iterations for about `--seconds`, before
   the window's runs and again after them; the ratios below are to the mean of the two (the host's speed
   drifts by 10-20% over minutes).
2. The window, with the same training run started from its Train button and the player watching at
   `--speed` in a 640×480 viewport, for about `--seconds`:
   - viewport frames/s (frames painted) at the app's render cap, the screen's refresh rate (60 offscreen and
     under Xvfb): at most 60 by construction, so this row shows what the pacing loses;
   - event-loop latency p50 / p95 (lateness of a 10 ms precise QTimer; target p95 <= 50 ms),
   - training env-steps/s, and its ratio to the headless rate (target >= 0.8).
3. The window again with the render cap lifted and the player at `--uncapped-speed` (x8: 160 steps/s of
   halfcheetah-vel, more than the viewport can show): the frames/s the viewport sustains while training
   (target >= 60), with that run's training ratio.

4. With `--compare B`: the window in compare mode (issue 23), training off, two agents in lockstep at `--speed`
   in two 640×480 viewports with every dock open (the partner's attention and timeline, the episode signals):
   frames/s of each viewport (target >= 50) and the event-loop latency p95 (target <= 50 ms). Only this part
   runs with `--compare-only`.

Env-steps/s are whole iterations (rollout + PPO update) from the trainer's own metrics, the first one
(warm-up) dropped. Run under a real X server or offscreen, with software GL as the targets assume:
`xvfb-run -a python bench/bench_gui.py` or `QT_QPA_PLATFORM=offscreen python bench/bench_gui.py`
[--scene halfcheetah-vel] [--agent trmrl] [--preset fast] [--num-envs N] [--env-worker on|off] [--seconds 60]
[--speed 4|max] [--uncapped-speed 8] [--no-panels] [--compare rl2 [--compare-only]].
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")
if not os.environ.get("DISPLAY"):  # under xvfb-run or a desktop: the real X window (xcb)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from agents.config import resolve_config
from agents.run_log import new_run_dir
from agents.trainer import Trainer
from app import qt_compat  # noqa: F401  (before any Qt call)
from app.gui import GUI_SWITCH_INTERVAL_S
from app.gui_thread_gc import delete_window

PROBE_MS = 10
UNCAPPED_FPS = 1e6  # the player's render cap in the uncapped run: in effect none


def headless_sps(config_args: dict, seconds: float, root: Path) -> tuple[float, int]:
    config = resolve_config(**config_args)
    trainer = Trainer(config, new_run_dir(config, root / "headless"))
    rates = []
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds or len(rates) < 3:
            rates.append(trainer.iterate()["sps"])
    finally:
        trainer.close()
    return float(np.mean(rates[1:])), len(rates)


class Sampler:
    """While `measuring`: the lateness of a 10 ms precise timer (the event loop's latency, seconds) and
    `sample()` every 500 ms (the viewports' frames/s)."""

    def __init__(self, sample: Callable[[], Any]) -> None:
        from PySide6.QtCore import QElapsedTimer, Qt, QTimer

        self.measuring = False
        self.lateness: list[float] = []
        self.samples: list[Any] = []
        self._clock = QElapsedTimer()
        self._last = 0.0
        self._probe = QTimer()
        self._probe.setTimerType(Qt.TimerType.PreciseTimer)
        self._probe.setInterval(PROBE_MS)
        self._probe.timeout.connect(self._on_probe)
        self._sampler = QTimer()
        self._sampler.setInterval(500)
        self._sampler.timeout.connect(lambda: self.measuring and self.samples.append(sample()))
        self._clock.start()
        self._probe.start()
        self._sampler.start()

    def _on_probe(self) -> None:
        now = self._clock.nsecsElapsed() / 1e9
        if self.measuring:
            self.lateness.append(max(0.0, now - self._last - PROBE_MS / 1000))
        self._last = now

    def stop(self) -> tuple[float, float]:
        """Stop; the latency's p50 and p95 in ms."""
        self._probe.stop()
        self._sampler.stop()
        late_ms = 1000 * np.asarray(self.lateness or [0.0])
        return float(np.percentile(late_ms, 50)), float(np.percentile(late_ms, 95))


def gui_run(
    config_args: dict,
    seconds: float,
    speed: float | None,
    root: Path,
    panels: bool = True,
    uncapped: bool = False,
) -> dict[str, float]:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(str(root / "bench.ini"), QSettings.Format.IniFormat)
    overrides = config_args.get("overrides") or {}
    window = MainWindow(
        config_args["scene"],
        config_args["agent"],
        config_args["preset"],
        settings=settings,
        runs_root=root / "gui",
        config_overrides=overrides,
    )
    window.resize(1600, 1000)
    window.viewport.setFixedSize(640, 480)
    if not panels:
        for name in ("attention", "timeline", "signals"):
            window.docks[name].hide()
    window.show()
    window.set_speed(speed)
    if uncapped:
        window.player_worker.max_render_fps = UNCAPPED_FPS

    rates: list[float] = []
    started = [0.0]

    def on_metrics(metrics: dict) -> None:
        rates.append(float(metrics["sps"]))
        if len(rates) == 1:  # warm-up iteration done: measure from now on
            sampler.measuring = True
            started[0] = time.perf_counter()
        elif time.perf_counter() - started[0] >= seconds and len(rates) >= 3:
            app.quit()

    def start() -> None:
        window.play()
        window.train()
        window.trainer_worker.metrics.connect(on_metrics)

    sampler = Sampler(window.viewport.fps)
    QTimer.singleShot(1000, start)
    app.exec()
    p50, p95 = sampler.stop()
    fps = sampler.samples
    frame = window.viewport.grab_frame()
    player_steps = window.player_worker.steps
    cap = window.player_worker.max_render_fps
    window.close()
    if window.wait_for_workers():
        delete_window(window)  # its Qt objects now, not in the collector's order (app/gui_thread_gc.py)
    return {
        "fps": float(np.mean(fps)) if fps else 0.0,
        "p50": p50,
        "p95": p95,
        "sps": float(np.mean(rates[1:])) if len(rates) > 1 else float("nan"),
        "iterations": len(rates),
        "frame": f"{frame.shape[1]}x{frame.shape[0]}" if frame is not None else "none",
        "player_steps": player_steps,
        "cap": cap,
    }


def compare_run(config_args: dict, seconds: float, speed: float | None, root: Path, compare: str) -> dict:
    """The window in compare mode with training off: both viewports' frames/s and the event-loop latency."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(str(root / "compare.ini"), QSettings.Format.IniFormat)
    window = MainWindow(
        config_args["scene"],
        config_args["agent"],
        config_args["preset"],
        settings=settings,
        runs_root=root / "compare",
        config_overrides=config_args.get("overrides") or {},
        compare=compare,
    )
    window.resize(2600, 1300)  # two 640x480 viewports and every dock (Xvfb: -screen 0 2600x1300x24)
    window.viewport.setFixedSize(640, 480)
    window.partner_viewport.setFixedSize(640, 480)
    window.show()
    window.set_speed(speed)
    sampler = Sampler(lambda: (window.viewport.fps(), window.partner_viewport.fps()))

    def start() -> None:
        if not window.compare.comparing:  # still loading the agents: wait for both
            QTimer.singleShot(500, start)
            return
        window.play()
        QTimer.singleShot(3000, lambda: setattr(sampler, "measuring", True))  # after a warm-up
        QTimer.singleShot(round((3 + seconds) * 1000), app.quit)

    QTimer.singleShot(1000, start)
    app.exec()
    p50, p95 = sampler.stop()
    frames = [window.viewport.grab_frame(), window.partner_viewport.grab_frame()]
    labels = (window.player_info().label, window.player_info().partner) if window.player_info() else ("", "")
    window.close()
    if window.wait_for_workers():
        delete_window(window)  # its Qt objects now, not in the collector's order (app/gui_thread_gc.py)
    rates = np.asarray(sampler.samples or [(0.0, 0.0)])
    return {
        "fps": (float(rates[:, 0].mean()), float(rates[:, 1].mean())),
        "p50": p50,
        "p95": p95,
        "frames": [f"{f.shape[1]}x{f.shape[0]}" if f is not None else "none" for f in frames],
        "labels": labels,
    }


def print_table(rows: list[tuple[str, str, str, bool]]) -> None:
    print(f"| {'measure':<32} | {'value':<28} | {'target':<9} | ok  |")
    print(f"|{'-' * 34}|{'-' * 30}|{'-' * 11}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<32} | {value:<28} | {target:<9} | {'yes' if ok else 'NO':<3} |")


def compare_rows(result: dict, speed: str) -> list[tuple[str, str, str, bool]]:
    a, b = result["fps"]
    return [
        (
            f"compare: frames/s, {result['labels'][0]}",
            f"{a:.1f} ({result['frames'][0]}, x{speed})",
            ">= 50",
            a >= 50,
        ),
        (f"compare: frames/s, {result['labels'][1]}", f"{b:.1f} ({result['frames'][1]})", ">= 50", b >= 50),
        ("compare: event-loop latency p50", f"{result['p50']:.1f} ms", "", True),
        ("compare: event-loop latency p95", f"{result['p95']:.1f} ms", "<= 50 ms", result["p95"] <= 50),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scene", default="halfcheetah-vel")
    parser.add_argument("--agent", default="trmrl")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--num-envs", type=int, help="trials stepped in parallel (default: the preset's)")
    parser.add_argument(
        "--env-worker",
        choices=("on", "off"),
        help="step the training envs in a worker (default: the preset's)",
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="measuring time per part (whole iterations)"
    )
    parser.add_argument(
        "--speed", default="4", help="player speed: a multiple of the env's frame rate, or max"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=GUI_SWITCH_INTERVAL_S,
        help=f"sys.setswitchinterval during the GUI run, as run_gui sets it (default {GUI_SWITCH_INTERVAL_S})",
    )
    parser.add_argument(
        "--uncapped-speed", type=float, default=8.0, help="player speed of the run without a render cap"
    )
    parser.add_argument("--compare", metavar="B", help="also measure compare mode, with this second agent")
    parser.add_argument("--compare-only", action="store_true", help="measure compare mode only")
    parser.add_argument(
        "--no-panels",
        action="store_true",
        help="hide the attention, memory-timeline and episode-signals docks (what the panels cost the viewport)",
    )
    args = parser.parse_args()
    speed = None if args.speed == "max" else float(args.speed)
    overrides: dict = {"num_envs": args.num_envs} if args.num_envs else {}
    if args.env_worker:
        overrides["env_worker"] = args.env_worker == "on"
    config_args = {"scene": args.scene, "agent": args.agent, "preset": args.preset, "overrides": overrides}

    print(
        f"# GUI speed: {args.agent} on {args.scene} ({args.preset}), player at {args.speed}, "
        f"GIL switch interval {args.switch_interval * 1000:g} ms in the GUI run"
        f"{', attention, timeline and signals docks hidden' if args.no_panels else ''}"
    )
    print(
        f"# {platform.node()} · {os.cpu_count()} CPUs · Qt platform {os.environ.get('QT_QPA_PLATFORM') or 'xcb'} · "
        f"MUJOCO_GL={os.environ['MUJOCO_GL']} · load average {os.getloadavg()[0]:.1f}"
    )
    if args.compare_only:
        if not args.compare:
            parser.error("--compare-only needs --compare B")
        with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
            sys.setswitchinterval(args.switch_interval)
            result = compare_run(config_args, args.seconds, speed, Path(tmp), args.compare)
        print_table(compare_rows(result, args.speed))
        return 0
    with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
        root = Path(tmp)
        before, n_before = headless_sps(config_args, args.seconds, root)
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(args.switch_interval)
        gui = gui_run(config_args, args.seconds, speed, root, panels=not args.no_panels)
        free = gui_run(
            config_args, args.seconds, args.uncapped_speed, root, panels=not args.no_panels, uncapped=True
        )
        compared = compare_run(config_args, args.seconds, speed, root, args.compare) if args.compare else None
        sys.setswitchinterval(switch_interval)
        after, n_after = headless_sps(config_args, args.seconds, root)
    base = (before + after) / 2
    ratio, free_ratio = gui["sps"] / base, free["sps"] / base
    rows = [
        (f"viewport frames/s, {gui['cap']:g} cap", f"{gui['fps']:.1f} ({gui['frame']})", "", True),
        ("event-loop latency p50", f"{gui['p50']:.1f} ms", "", True),
        ("event-loop latency p95", f"{gui['p95']:.1f} ms", "<= 50 ms", gui["p95"] <= 50),
        (
            "training env-steps/s headless",
            f"{before:,.0f} / {after:,.0f} ({n_before}, {n_after} it.)",
            "",
            True,
        ),
        ("training env-steps/s with GUI", f"{gui['sps']:,.0f} ({gui['iterations']} iterations)", "", True),
        ("ratio GUI / headless", f"{ratio:.2f}", ">= 0.8", ratio >= 0.8),
        (
            "viewport frames/s, uncapped",
            f"{free['fps']:.1f} (x{args.uncapped_speed:g})",
            ">= 60",
            free["fps"] >= 60,
        ),
        ("event-loop latency p95, uncapped", f"{free['p95']:.1f} ms", "<= 50 ms", free["p95"] <= 50),
        ("ratio GUI / headless, uncapped", f"{free_ratio:.2f}", ">= 0.8", free_ratio >= 0.8),
    ]
    if compared is not None:
        rows += compare_rows(compared, args.speed)
    print_table(rows)
    print(f"(player steps taken: {gui['player_steps']} capped, {free['player_steps']} uncapped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
