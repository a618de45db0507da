"""The player's output on screen: each frame the player publishes into the viewport and the steps up to it
into the memory timeline, at once, and each whole trial's memory into the Memory dock; the attention panel,
the timeline's redraw, the Memory dock's refit (once per trial) and the player's status line on a slower tick;
and the render size following the viewport's."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel

from agents.player import PlayerStep
from app.attention import AttentionPanel
from app.media_controller import MediaController
from app.memory_panel import MemoryPanel
from app.memory_timeline import MemoryTimeline
from app.player_worker import PlayerWorker
from app.session import Session, speed_label
from app.viewport import Viewport

PANEL_HZ = 20  # panel ticks per second (attention and timeline alternate); the viewport paints every frame
MAX_RENDER_SIDE = 1600  # frames are rendered at the viewport's size, up to this many pixels wide or high
FIRST_RENDER_SIZE = (640, 480)  # until the first panel tick reads the viewport's size


def on_screen(dock: QDockWidget) -> bool:
    """Shown, and not a tab behind another dock: a tabified dock keeps isVisible() behind the current tab."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


class PlayerDisplay(QObject):
    """Shows what the player publishes.

    `attention_dock`, `timeline_dock`, `memory_dock`: a hidden panel is not redrawn (and with all hidden the
    player computes no traces), unless a recording composites it (the Memory dock is not recorded); the player
    hands over trials' memory vectors only while the Memory dock is shown. `media`: the recording in progress. `player_status`: the
    status bar's player label. `is_closing`: whether the window has begun closing."""

    def __init__(
        self,
        session: Session,
        *,
        player: PlayerWorker,
        viewport: Viewport,
        attention: AttentionPanel,
        attention_dock: QDockWidget,
        timeline: MemoryTimeline,
        timeline_dock: QDockWidget,
        memory: MemoryPanel,
        memory_dock: QDockWidget,
        media: MediaController,
        player_status: QLabel,
        is_closing: Callable[[], bool],
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._player = player
        self._viewport = viewport
        self._attention = attention
        self._attention_dock = attention_dock
        self._timeline = timeline
        self._timeline_dock = timeline_dock
        self._memory = memory
        self._memory_dock = memory_dock
        self._record_memory = False
        self._media = media
        self._player_status = player_status
        self.render_size = FIRST_RENDER_SIZE  # the size the player renders at now
        self._is_closing = is_closing
        self._steps_per_trial: int | None = None
        self._last_step: PlayerStep | None = None
        self._shown_steps = 0
        self._panels_dirty = False
        self._attention_dirty = self._timeline_dirty = False
        self._panel_phase = 0
        self._episode_starts_shown = -1
        self._trace_on = True
        player.frame_ready.connect(self._on_frame_ready)
        self._panel_timer = QTimer(self)
        self._panel_timer.setInterval(round(1000 / PANEL_HZ))
        self._panel_timer.timeout.connect(self.refresh)
        self._panel_timer.start()

    def last_step(self) -> PlayerStep | None:
        """The step on screen (what the panels show)."""
        return self._last_step

    def shown_steps(self) -> int:
        """How many steps the player had taken when the frame on screen was published."""
        return self._shown_steps

    def begin_player(self, steps_per_trial: int) -> None:
        """A newly built player: no step on screen yet, a new trial in the timeline, no attention shown."""
        self._steps_per_trial = steps_per_trial
        self._last_step = None
        self._timeline.begin_trial(steps_per_trial)
        self._attention.set_trace(None)
        self._memory.clear()
        self._episode_starts_shown = -1

    def stop(self) -> None:
        """The window is closing: no more panel ticks."""
        self._panel_timer.stop()

    def _on_frame_ready(self) -> None:
        if self._is_closing():
            return
        view = self._player.take()
        if view is None:
            return
        if view.cleared:
            self._timeline.begin_trial(self._steps_per_trial)
            self._episode_starts_shown = -1
        for record in view.records:
            if record.new_trial:
                self._timeline.begin_trial(self._steps_per_trial)
                self._episode_starts_shown = -1
            if record.trace is not None:
                self._timeline.observe(record.step, record.trace, record.episode_start)
        for trial in view.trials:
            self._memory.add_trial(trial)
        if view.frame is not None:
            self._viewport.set_frame(view.frame)
        if view.step is not None or view.cleared:
            self._last_step = view.step
            self._panels_dirty = True
        self._shown_steps = view.steps

    def refresh(self, both: bool = False) -> None:
        """The slower refresh: attention, timeline, Memory dock, status line, render size, recorded panel
        strip. `both`: redraw every panel now (screenshots), not one per tick."""
        if self._is_closing():
            return
        self._sync_render_size()
        attention_on = self._attention_dock.isVisible()
        timeline_on = self._timeline_dock.isVisible()
        memory_on = on_screen(self._memory_dock)
        trace_on = attention_on or timeline_on or memory_on or self._media.records_panels()
        if trace_on != self._trace_on:
            self._trace_on = trace_on
            self._player.set_trace(trace_on)
        if memory_on != self._record_memory:
            self._record_memory = memory_on
            self._player.set_record_memory(memory_on)
        # One heavy panel per tick, alternating: each redraws at PANEL_HZ / 2, and no tick holds the event
        # loop for two pyqtgraph redraws. The Memory dock refits only after a trial ends: that tick is its
        # own, and the others wait for their next.
        self._panel_phase ^= 1
        memory_drawn = memory_on and self._memory.refresh()
        attention_turn = both or (self._panel_phase == 0 and not memory_drawn)
        timeline_turn = both or (self._panel_phase == 1 and not memory_drawn)
        recording = self._media.recording.active
        if self._panels_dirty:
            self._panels_dirty = False
            self._attention_dirty = self._timeline_dirty = True
            self._player_status.setText(self._describe_step(self._last_step))
        if attention_turn and self._attention_dirty and (attention_on or recording):
            self._attention_dirty = False
            starts = self._timeline.episode_starts()
            if len(starts) != self._episode_starts_shown:
                self._episode_starts_shown = len(starts)
                self._attention.set_episode_starts(starts)
            step = self._last_step
            self._attention.set_trace(None if step is None else step.trace)
        if timeline_turn and self._timeline_dirty and (timeline_on or recording):
            self._timeline_dirty = False
            self._timeline.refresh()
        self._media.refresh()

    def _describe_step(self, step: PlayerStep | None) -> str:
        if step is None:
            return "player: new trial"
        speed = speed_label(self._session.speed)
        weights = self._player.weights_iteration
        following = (
            f" · weights of iteration {weights}" if weights is not None and self._session.follow else ""
        )
        return (
            f"player: episode {step.episode_index} · trial step {step.step_in_trial} · reward {step.reward:.3g} · "
            f"episode return {step.episode_return:.3g} · {speed}{following}"
        )

    def _sync_render_size(self) -> None:
        ratio = self._viewport.devicePixelRatioF()
        width = max(64, round(self._viewport.width() * ratio))
        height = max(48, round(self._viewport.height() * ratio))
        scale = min(1.0, MAX_RENDER_SIDE / max(width, height))
        size = (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)
        if size != self.render_size:
            self.render_size = size
            self._player.set_render_size(*size)
