"""The display panels of app/: real widgets (offscreen), fed real agents' traces and real scenes' schemas."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from agents.base import KEY_SUMMARY, StepTrace, TokenBatch
from agents.memory_watch import MemoryTrial
from agents.registry import make_agent
from app.attention import ALL_HEADS, ALL_LAYERS, MEAN_HEADS, AttentionPanel
from app.curves import EPISODE_VIEW, CurvesPanel
from app.memory_panel import MemoryPanel
from app.memory_timeline import MemoryTimeline
from app.theme import nice_ceiling
from app.trace_view import attention_view, format_bytes
from app.viewport import Viewport

OBS, ACT, BATCH = 5, 3, 2
SMALL: dict[str, dict[str, Any]] = {
    "trmrl": {"d_model": 16, "n_heads": 4, "d_ff": 32, "n_layers": 3, "wm_size": 5},
    "memo": {
        "d_model": 16,
        "n_heads": 2,
        "d_ff": 32,
        "n_layers": 2,
        "segment_length": 6,
        "summary_length": 2,
    },
    "fct": {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 2},
}
SEGMENT, SUMMARY = 6, 2


def token(t: int, episode_length: int) -> TokenBatch:
    """Step t of one trial shared by the batch, with an episode start every `episode_length` steps."""
    g = torch.Generator().manual_seed(t)
    first = t == 0
    episode_start = t % episode_length == 0
    return TokenBatch(
        obs=torch.randn(BATCH, OBS, generator=g),
        prev_action=torch.randn(BATCH, ACT, generator=g) * (not first),
        prev_reward=torch.randn(BATCH, generator=g) * (not first),
        prev_done=torch.full((BATCH,), float(episode_start and not first)),
        episode_start=torch.full((BATCH,), episode_start),
        trial_start=torch.full((BATCH,), first),
    )


def traces(name: str, steps: int, episode_length: int = 1000) -> list[StepTrace]:
    torch.manual_seed(0)
    agent = make_agent(name, OBS, "continuous", ACT, **SMALL[name]).eval()
    state = agent.initial_state(BATCH)
    out = []
    for t in range(steps):
        step = agent.step(token(t, episode_length), state, trace=True)
        state = step.state
        out.append(step.trace)
    return out


@pytest.fixture(scope="module")
def trmrl_traces() -> list[StepTrace]:
    return traces("trmrl", 24, episode_length=10)


@pytest.fixture(scope="module")
def memo_traces() -> list[StepTrace]:
    return traces("memo", 20, episode_length=8)


@pytest.fixture(scope="module")
def fct_traces() -> list[StepTrace]:
    return traces("fct", 1200, episode_length=300)


# -------------------------------------------------------------------------------------------------- viewport


def solid_frame(height: int, width: int, rgb: tuple[int, int, int]) -> np.ndarray:
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = rgb
    return frame


def test_viewport_letterboxes_keeping_aspect_and_grabs_the_frame(qtbot: Any) -> None:
    viewport = Viewport()
    qtbot.addWidget(viewport)
    viewport.resize(400, 400)
    viewport.show()
    frame = solid_frame(100, 200, (200, 30, 40))
    viewport.set_frame(frame)
    assert viewport.frame_rect().getRect() == (0, 100, 400, 200)  # 2:1 letterboxed top and bottom
    viewport.resize(300, 90)
    rect = viewport.frame_rect()
    assert (rect.width(), rect.height()) == (180, 90) and rect.left() == 60  # pillarboxed
    shot = viewport.grab().toImage()
    assert QColor(shot.pixel(150, 45)).getRgb()[:3] == (200, 30, 40)
    assert QColor(shot.pixel(20, 45)).getRgb()[:3] == (16, 16, 16)
    grabbed = viewport.grab_frame()
    assert grabbed is not None and np.array_equal(grabbed, frame) and grabbed is not frame
    with pytest.raises(ValueError, match="uint8"):
        viewport.set_frame(frame.astype(np.float32))


def test_viewport_counts_frames_shown_and_toggles_the_readout(qtbot: Any) -> None:
    viewport = Viewport()
    qtbot.addWidget(viewport)
    viewport.resize(320, 240)
    with qtbot.waitExposed(viewport):
        viewport.show()
    frames = [solid_frame(480, 640, (i, i, i)) for i in range(5)]
    for frame in frames:
        viewport.set_frame(frame)
        viewport.repaint()
    viewport.repaint()  # a repaint without a new frame is not a frame shown
    assert viewport.fps() == 5


def test_viewport_mouse_gestures_emit_camera_signals(qtbot: Any) -> None:
    viewport = Viewport()
    qtbot.addWidget(viewport)
    viewport.resize(400, 300)
    viewport.show()
    viewport.set_frame(solid_frame(300, 400, (0, 0, 0)))
    got: dict[str, list[Any]] = {"orbit": [], "pan": [], "zoom": [], "reset": []}
    viewport.orbit.connect(lambda dx, dy: got["orbit"].append((dx, dy)))
    viewport.pan.connect(lambda dx, dy: got["pan"].append((dx, dy)))
    viewport.zoom.connect(lambda d: got["zoom"].append(d))
    viewport.camera_reset.connect(lambda: got["reset"].append(True))

    def drag(button: Qt.MouseButton, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        QTest.mousePress(viewport, button, modifier, QPoint(100, 100))
        QTest.mouseMove(viewport, QPoint(130, 70))
        QTest.mouseRelease(viewport, button, modifier, QPoint(130, 70))

    drag(Qt.MouseButton.LeftButton)
    assert got["orbit"] == [pytest.approx((0.1, -0.1))]  # in frame heights (300 px)
    drag(Qt.MouseButton.RightButton)
    drag(Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier)
    assert got["pan"] == [pytest.approx((0.1, -0.1))] * 2 and len(got["orbit"]) == 1

    wheel = QWheelEvent(
        QPointF(50, 50),
        QPointF(viewport.mapToGlobal(QPoint(50, 50))),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, wheel)
    assert got["zoom"] == [2.0]
    QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert got["reset"] == [True]


# ---------------------------------------------------------------------------------------------------- curves


def metrics(i: int, runs_offset: float = 0.0) -> dict[str, Any]:
    episodes = {f"episode_return/{k}": runs_offset + i * 0.01 * (k + 1) for k in range(3)}
    return {
        "iteration": i,
        "env_steps": (i + 1) * 1000,
        "trial_return": sum(episodes.values()),
        **episodes,
        "policy_loss": np.sin(i),
        "sps": np.float32(2500.0),
        "note": "not a number",
        "done": True,
    }


def test_curves_store_every_point_and_offer_every_numeric_key(qtbot: Any) -> None:
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.add_run("a", "memo")
    for i in range(5000):
        panel.append("a", metrics(i))
    panel.refresh()
    x, y = panel.series("a", "trial_return")
    assert len(x) == len(y) == 5000
    np.testing.assert_array_equal(x, np.arange(1, 5001) * 1000.0)
    offered = [panel._metric_box.itemText(i) for i in range(panel._metric_box.count())]
    assert offered[:4] == ["iteration", "env_steps", "trial_return", "episode_return/0"]
    assert {"policy_loss", "sps", EPISODE_VIEW} <= set(offered)
    assert "note" not in offered and "done" not in offered
    assert panel.selected_metric() == "trial_return"
    (curve,) = panel.plot_item().listDataItems()
    assert len(curve.xData) == 5000  # the item holds every point; down-sampling happens per paint only


def test_curves_overlay_runs_with_a_legend_and_smooth_only_the_display(qtbot: Any) -> None:
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.add_run("a", "memo")
    panel.add_run("b", "trmrl")
    rng = np.random.default_rng(0)
    for i in range(200):
        panel.append("a", {**metrics(i), "trial_return": rng.normal()})
        panel.append("b", {**metrics(i, runs_offset=1.0), "trial_return": 5 + rng.normal()})
    panel.refresh()
    legend = panel.plot_item().legend
    assert [label.text for _, label in legend.items] == ["memo", "trmrl"]
    pens = {item.opts["pen"].color().name() for item in panel.plot_item().listDataItems()}
    assert len(pens) == 2

    raw_before = panel.series("a", "trial_return")[1]
    panel.set_smoothing(0.9)
    panel.refresh()
    items = panel.plot_item().listDataItems()
    assert len(items) == 4  # a faint raw curve under each smoothed one
    smooth = next(i for i in items if i.name() == "memo")
    assert not np.allclose(smooth.yData, raw_before)
    assert np.std(smooth.yData) < np.std(raw_before)  # the display is smoother...
    np.testing.assert_array_equal(panel.series("a", "trial_return")[1], raw_before)  # ...the data is not
    faint = [i for i in items if i.name() is None]
    assert any(np.array_equal(i.yData, raw_before) for i in faint)
    assert [label.text for _, label in legend.items] == ["memo", "trmrl"]


def test_curves_return_per_episode_view_draws_one_curve_per_episode(qtbot: Any) -> None:
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.add_run("a", "memo")
    panel.add_run("b", "trmrl")
    for i in range(30):
        panel.append("a", metrics(i))
        panel.append("b", metrics(i, runs_offset=1.0))
    panel.set_metric(EPISODE_VIEW)
    panel.set_episode_run("b")
    panel.refresh()
    items = panel.plot_item().listDataItems()
    assert sorted(i.name() for i in items) == ["episode 0", "episode 1", "episode 2"]
    first = next(i for i in items if i.name() == "episode 0")
    np.testing.assert_allclose(first.yData, panel.series("b", "episode_return/0")[1])
    panel.clear()
    panel.refresh()
    assert panel.plot_item().listDataItems() == [] and panel._metric_box.count() == 0


def test_curves_follow_the_newest_run_and_show_a_longer_reference_as_its_level(qtbot: Any) -> None:
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 300)
    panel.show()
    panel.add_run("pre", "pretrained")
    for i in range(600):  # 6M env steps, ending near 10
        panel.append("pre", {"env_steps": (i + 1) * 10_000, "trial_return": 10 * (1 - np.exp(-i / 100))})
    panel.add_run("new", "my run")
    panel.refresh()
    assert panel.followed_run() is None  # nothing to follow yet: every curve sets the range
    for i in range(20):
        panel.append("new", {"env_steps": (i + 1) * 1000, "trial_return": 0.1 * i})
    panel.refresh()
    panel.grab()  # the auto-range is applied at paint
    box = panel.plot_item().getViewBox()
    assert panel.followed_run() == "new"
    (x_lo, x_hi), (y_lo, y_hi) = box.viewRange()
    assert x_lo <= 1000 and 20_000 <= x_hi < 25_000  # the new run's span, with a margin; not 6M steps
    _, pre_y = panel.series("pre", "trial_return")
    assert panel.levels() == {"pre": pytest.approx(float(pre_y[-60:].mean()))}
    (line,) = [item for item in panel.plot_item().items if isinstance(item, pg.InfiniteLine)]
    assert line.angle == 0 and "pretrained" in line.label.toPlainText()
    assert y_lo <= 0 and y_hi >= panel.levels()["pre"]  # the level is on screen
    names = sorted(item.name() for item in panel.plot_item().listDataItems())
    assert names == ["my run", "pretrained"]  # the reference's curve is still drawn, over the run's span

    panel.set_episode_run("pre")  # follow the pretrained run instead: its whole span, no level
    panel.refresh()
    panel.grab()
    assert panel.followed_run() == "pre" and panel.levels() == {}
    assert box.viewRange()[0][1] >= 6_000_000


# ------------------------------------------------------------------------------------------------- attention


def test_attention_shows_trmrl_window_with_unfilled_slots_greyed(
    qtbot: Any, trmrl_traces: list[StepTrace]
) -> None:
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    panel.show()
    trace = trmrl_traces[12]  # third step of the episode that started at step 10: 3 of 5 slots filled
    panel.set_layer(1)
    panel.set_head(ALL_HEADS)
    panel.set_trace(trace)
    image = panel.image()
    assert image.shape == (4, 5) and panel.row_labels() == ["h0", "h1", "h2", "h3"]
    assert np.isnan(image[:, :2]).all() and not np.isnan(image[:, 2:]).any()
    assert panel.key_labels() == ["", "", "10", "11", "12"]
    np.testing.assert_allclose(image[:, 2:], trace.attention.weights[1][0, :, 2:].numpy())
    np.testing.assert_allclose(image[:, 2:].sum(axis=1), 1.0, atol=1e-5)
    panel.set_episode_starts([0, 10, 20])
    assert sum(line.isVisible() for line in panel._episode_lines) == 1


def test_attention_marks_memo_summaries_and_follows_the_selectors(
    qtbot: Any, memo_traces: list[StepTrace]
) -> None:
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    panel.show()
    trace = memo_traces[15]  # segments 0 and 1 closed: 2 summary blocks, then steps 12..15
    panel.set_trace(trace, env=1)
    labels = panel.key_labels()
    assert labels == ["S0", "S0", "S1", "S1", "12", "13", "14", "15"]
    assert panel._separator.isVisible() and panel._separator.value() == pytest.approx(3.5)
    strip = panel._strip.image[0]
    assert len({tuple(c) for c in strip[:4]}) == 2 and len({tuple(c) for c in strip[4:]}) == 1
    assert "S0" in panel._axis.tickStrings(list(panel._axis._blocks), 1.0, 1.0)

    weights = [w[1].numpy() for w in trace.attention.weights]
    assert panel.row_labels() == ["L0", "L1"]  # default: every layer, heads averaged
    np.testing.assert_allclose(panel.image(), np.stack([w.mean(0) for w in weights]), rtol=1e-6)
    panel.set_layer(0)
    panel.set_head(ALL_HEADS)
    np.testing.assert_allclose(panel.image(), weights[0], rtol=1e-6)
    panel.set_layer(1)
    np.testing.assert_allclose(panel.image(), weights[1], rtol=1e-6)
    panel.set_head(1)
    np.testing.assert_allclose(panel.image(), weights[1][1:2], rtol=1e-6)
    panel.set_head(MEAN_HEADS)
    assert panel.row_labels() == ["mean"]
    panel.set_head(ALL_HEADS)
    panel.set_layer(ALL_LAYERS)  # one row per layer and per head cannot both be shown: falls back to mean
    assert panel.row_labels() == ["L0", "L1"] and panel._head_box.currentData() == MEAN_HEADS
    assert panel._head_box.currentText() == "mean over heads"

    bar = panel.color_bar()
    top = float(np.nanmax(panel.image()))  # the scale's top: the largest weight, up to the next 1/2/5 step
    assert bar.values == pytest.approx((0.0, nice_ceiling(top))) and top <= bar.values[1] <= 2.5 * top
    assert list(panel._image.levels) == pytest.approx(bar.values)  # the image is coloured on the bar's scale
    qtbot.waitUntil(lambda: bar.axis.picture is not None, timeout=5000)  # painted once
    laid_out = bar.axis.picture
    panel.set_trace(trace)  # the same scale again: the bar's axis keeps its layout (a repaint's largest cost)
    assert bar.axis.picture is laid_out


def test_attention_handles_fct_whole_context_and_empty_traces(
    qtbot: Any, fct_traces: list[StepTrace]
) -> None:
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    panel.set_episode_starts([0, 300, 600, 900])
    panel.set_trace(fct_traces[-1])
    assert panel.image().shape == (2, 1200)
    assert panel.key_labels()[:3] == ["0", "1", "2"] and panel.key_labels()[-1] == "1199"
    assert sum(line.isVisible() for line in panel._episode_lines) == 4
    assert not panel._separator.isVisible()
    panel.grab()  # paints 1200 keys
    panel.set_trace(None)
    assert panel.image().size == 0 and "no attention" in panel._info.text()


def test_attention_view_sorts_a_ring_buffer_cache_by_time() -> None:
    torch.manual_seed(0)
    agent = make_agent("fct", OBS, "continuous", ACT, stream_window=7, **SMALL["fct"]).eval()
    state = agent.initial_state(BATCH)
    for t in range(10):
        out = agent.step(token(t, 100), state, trace=True)
        state = out.state
    view = attention_view(out.trace)
    assert view is not None and view.time.tolist() == list(range(3, 10)) and view.step == 9
    assert format_bytes(512) == "512 B" and format_bytes(1536) == "1.5 kB"


# ------------------------------------------------------------------------------------------- memory timeline


def test_timeline_records_memo_writes_cache_and_attention_groups(
    qtbot: Any, memo_traces: list[StepTrace]
) -> None:
    timeline = MemoryTimeline()
    qtbot.addWidget(timeline)
    timeline.show()
    timeline.begin_trial(trial_steps=20)
    for t, trace in enumerate(memo_traces):
        timeline.observe(t, trace, episode_start=t % 8 == 0)
        if t == 9:
            assert timeline._token_curve.xData is None or len(timeline._token_curve.xData) == 0
    assert timeline.writes() == [(5, 0), (11, 1), (17, 2)]
    assert timeline.episode_starts() == [0, 8, 16]
    steps, tokens, size = timeline.cache_history()
    assert steps.tolist() == list(range(20))
    assert tokens.tolist() == [tr.cache_tokens for tr in memo_traces]
    assert size.tolist() == [tr.cache_bytes for tr in memo_traces]
    assert tokens[5] == SUMMARY and tokens[17] == 3 * SUMMARY  # a write drops the segment's raw tokens

    timeline.refresh()
    assert len(timeline._token_curve.xData) == 20
    summaries, raw = timeline.group_mass()
    assert sorted(summaries) == [0, 1, 2]
    assert sum(summaries.values()) + raw == pytest.approx(1.0, abs=1e-5)
    last = memo_traces[-1].attention
    summary_keys = last.key_kind[0] == KEY_SUMMARY
    expected = last.weights[-1][0].mean(0)[summary_keys & (last.key_segment[0] == 1)].sum()
    assert summaries[1] == pytest.approx(float(expected), rel=1e-5)
    # Bars: one per summary block, over the segment it summarises, with area = its mass.
    opts = timeline._summary_mass.opts
    assert list(opts["x0"]) == [-0.5, 5.5, 11.5] and list(opts["width"]) == [6, 6, 6]
    assert opts["height"][1] * 6 == pytest.approx(summaries[1])
    assert timeline._span.getRegion() == (17.5, 19.5)  # the current segment: steps 18 and 19
    lines = [item for plot, item in timeline._marks if plot is timeline._attention]
    assert len(lines) == 3 + 3  # episode starts and segment ends

    timeline.begin_trial()
    assert timeline.writes() == [] and len(timeline.cache_history()[0]) == 0 and timeline._marks == []


def test_timeline_shows_trmrl_window_sliding_along_the_trial(
    qtbot: Any, trmrl_traces: list[StepTrace], memo_traces: list[StepTrace]
) -> None:
    timeline = MemoryTimeline()
    qtbot.addWidget(timeline)
    timeline.show()
    timeline.begin_trial(trial_steps=500)
    bands, views = {}, {}
    for t, trace in enumerate(trmrl_traces):
        timeline.observe(t, trace, episode_start=t % 10 == 0)
        timeline.refresh()
        bands[t] = timeline._window_band.getRegion()
        views[t] = pytest.approx(timeline._attention.getViewBox().viewRange()[0])
    assert timeline.window_width() == SMALL["trmrl"]["wm_size"]
    # On the whole trial's axis, a band of the window's steps moves with the step (and restarts with each
    # episode, whose first steps fill the window).
    assert timeline._window_band.isVisible()
    assert timeline._cache.getViewBox().viewRange()[0] == pytest.approx([-0.5, 499.5])
    assert bands[9] == (4.5, 9.5) and bands[12] == (9.5, 12.5) and bands[23] == (19.5, 23.5)
    # The attention plot is four windows wide: fixed at the trial start until the window reaches its right
    # end, then scrolling with it, with step labels of its own.
    assert views[12] == [-0.5, 19.5] and views[19] == [-0.5, 19.5]
    assert views[20] == [0.5, 20.5] and views[23] == [3.5, 23.5]
    assert timeline._attention.getAxis("bottom").style["showValues"]

    timeline.begin_trial(trial_steps=20)  # an agent without a window: one trial axis for both plots again
    for t, trace in enumerate(memo_traces):
        timeline.observe(t, trace, episode_start=t % 8 == 0)
    timeline.refresh()
    assert timeline.window_width() is None and not timeline._window_band.isVisible()
    assert timeline._attention.getViewBox().viewRange()[0] == pytest.approx([-0.5, 19.5])
    assert timeline._cache.getViewBox().viewRange()[0] == pytest.approx([-0.5, 19.5])
    assert not timeline._attention.getAxis("bottom").style["showValues"]


def test_scales_move_in_steps_of_1_2_5() -> None:
    # The same top for every maximum up to the next step: an axis re-lays itself out only when the data
    # crosses a step.
    assert [nice_ceiling(m) for m in (0.3, 0.5, 0.51, 1.0, 3.5, 14.0, 3.2e5)] == [
        0.5,
        0.5,
        1.0,
        1.0,
        5.0,
        20.0,
        5e5,
    ]
    for value in np.geomspace(1e-6, 1e9, 200):
        assert value <= nice_ceiling(value) * (1 + 1e-9) <= 2.5 * value


def probe_trials(count: int, decodable: bool) -> list[MemoryTrial]:
    """Trials of 120 steps whose 16-wide read-out holds `goal` from step 40 on when `decodable`, else noise."""
    rng = np.random.default_rng(0)
    direction = rng.normal(size=16)
    trials = []
    for _ in range(count):
        goal = rng.uniform(-1, 1)
        memory = 0.3 * rng.normal(size=(120, 16))
        if decodable:
            memory[40:] += goal * direction
        summary = memory[:, :8].copy()  # a Memo-like second vector: the panel offers it
        trials.append(MemoryTrial({"goal": goal, "arena": 3}, memory.astype(np.float32), summary))
    return trials


def test_memory_panel_shows_a_decodable_task_as_decodable_and_noise_as_not(qtbot: Any) -> None:
    panel = MemoryPanel()
    qtbot.addWidget(panel)
    trials = probe_trials(40, decodable=True)
    for trial in trials[:5]:
        panel.add_trial(trial)
    panel.refresh()
    assert not panel.curves and "needs 8" in panel._info.text()  # too few trials to probe
    assert len(panel.scatter.getData()[0]) > 0  # the embedding grows from the second trial
    for trial in trials[5:]:
        panel.add_trial(trial)
    panel.refresh()
    assert set(panel.curves) == {"goal"}  # the constant arena is no target
    steps, r2 = panel.curves["goal"].getData()
    assert r2[steps >= 40].min() > 0.8 and r2[steps < 40].max() < 0.3
    assert "40 trials" in panel._info.text()
    colour_by = [panel._colour_box.itemText(i) for i in range(panel._colour_box.count())]
    assert colour_by == ["trial", "trial step", "goal"]
    panel._colour_box.setCurrentText("goal")
    x, _ = panel.scatter.getData()
    assert len(x) == 40 * 24
    panel._vector_box.setCurrentIndex(panel._vector_box.findData("summary"))
    assert panel.curves["goal"].getData()[1].max() > 0.5  # the summary holds the goal too

    noise = MemoryPanel()
    qtbot.addWidget(noise)
    for trial in probe_trials(40, decodable=False):
        noise.add_trial(trial)
    noise.refresh()
    assert noise.curves["goal"].getData()[1].max() < 0.3
