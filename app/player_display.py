"""The player's output on screen: each frame the player publishes into the viewport and the steps up to it
into the memory timeline and the episode signals, at once, and each whole trial's memory into the Memory dock;
the attention panel, the timeline's and the signals' redraws, the Memory dock's refit (once per trial) and the
player's status line on a slower tick; and the render size following the viewport's."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel

from agents.player import PlayerStep
from app.attention import AttentionPanel
from app.media_controller import MediaController
from app.memory_panel import MemoryPanel
from app.memory_timeline import MemoryTimeline
from app.player_worker import PlayerWorker
from app.session import Session, speed_label
from app.signals_panel import SignalsPanel
from app.viewport import Viewport

PANEL_HZ = 20  # panel ticks per second (attention and timeline alternate); the viewport paints every frame
MAX_RENDER_SIDE = 1600  # frames are rendered at the viewport's size, up to this many pixels wide or high
FIRST_RENDER_SIZE = (640, 480)  # until the first panel tick reads the viewport's size


def on_screen(dock: QDockWidget) -> bool:
    """Shown, and not a tab behind another dock: a tabified dock keeps isVisible() behind the current tab."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


@dataclass
class AgentPanels:
    """One agent's view and per-step panels (compare mode has two: the watched agent's and its partner's)."""

    viewport: Viewport
    attention: AttentionPanel
    attention_dock: QDockWidget
    timeline: MemoryTimeline
    timeline_dock: QDockWidget
    episode_starts_shown: int = -1
    attention_dirty: bool = False
    timeline_dirty: bool = False

    def begin_trial(self, steps_per_trial: int | None) -> None:
        self.timeline.begin_trial(steps_per_trial)
        self.episode_starts_shown = -1

    def begin_player(self, steps_per_trial: int | None) -> None:
        self.begin_trial(steps_per_trial)
        self.attention.set_trace(None)

    def draw_attention(self, step: PlayerStep | None) -> None:
        self.attention_dirty = False
        starts = self.timeline.episode_starts()
        if len(starts) != self.episode_starts_shown:
            self.episode_starts_shown = len(starts)
            self.attention.set_episode_starts(starts)
        self.attention.set_trace(None if step is None else step.trace)

    def draw_timeline(self) -> None:
        self.timeline_dirty = False
        self.timeline.refresh()


class PlayerDisplay(QObject):
    """Shows what the player publishes.

    `panels`: the watched agent's viewport, attention and timeline; `partner`: the same for compare mode's
    second agent (shown only while comparing). A hidden attention or timeline dock is not redrawn (and with
    those and the Memory dock hidden the player computes no traces), unless a recording composites it (the
    Memory dock is not recorded); the signals record every step either way (no trace needed), so the trial so
    far is there when their dock is shown. The player hands over trials' memory vectors only while the Memory
    dock is shown. `media`: the recording in progress. `player_status`: the status bar's player label.
    `is_closing`: whether the window has begun closing."""

    def __init__(
        self,
        session: Session,
        *,
        player: PlayerWorker,
        panels: AgentPanels,
        partner: AgentPanels,
        memory: MemoryPanel,
        memory_dock: QDockWidget,
        signals: SignalsPanel,
        signals_dock: QDockWidget,
        media: MediaController,
        player_status: QLabel,
        is_closing: Callable[[], bool],
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._player = player
        self._panels = panels
        self._partner = partner
        self._comparing = False
        self._memory = memory
        self._memory_dock = memory_dock
        self._record_memory = False
        self._signals = signals
        self._signals_dock = signals_dock
        self._media = media
        self._player_status = player_status
        self.render_size = FIRST_RENDER_SIZE  # the size the player renders at now
        self._is_closing = is_closing
        self._steps_per_trial: int | None = None
        self._last_step: PlayerStep | None = None
        self._shown_steps = 0
        self._panels_dirty = False
        self._next_turn = 0  # the panel whose turn to redraw comes next (see refresh)
        self._signals_dirty = False
        self._partner_episode_start = True
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

    def begin_player(self, steps_per_trial: int, comparing: bool) -> None:
        """A newly built player (with a partner when `comparing`): no step on screen yet, a new trial in the
        timelines, no attention shown."""
        self._steps_per_trial = steps_per_trial
        self._comparing = comparing
        self._last_step = None
        self._panels.begin_player(steps_per_trial)
        self._partner.begin_player(steps_per_trial)
        self._partner_episode_start = True
        self._memory.clear()

    def stop(self) -> None:
        """The window is closing: no more panel ticks."""
        self._panel_timer.stop()

    def _agents(self) -> tuple[AgentPanels, ...]:
        return (self._panels, self._partner) if self._comparing else (self._panels,)

    def _on_frame_ready(self) -> None:
        if self._is_closing():
            return
        view = self._player.take()
        if view is None:
            return
        if view.cleared:
            for agent in self._agents():
                agent.begin_trial(self._steps_per_trial)
            self._partner_episode_start = True
            self._signals.begin_trial()
            self._signals_dirty = True
        for record in view.records:
            if record.played is not None:
                self._signals.observe(record.played)
                self._signals_dirty = True
            if record.new_trial:
                for agent in self._agents():
                    agent.begin_trial(self._steps_per_trial)
                self._partner_episode_start = True
            if record.trace is not None:
                self._panels.timeline.observe(record.step, record.trace, record.episode_start)
            partner = None if record.played is None else record.played.partner
            if self._comparing and partner is not None:
                # The partner's episodes may end at other steps (a termination): its own boundaries.
                if record.partner_trace is not None:
                    self._partner.timeline.observe(
                        record.step, record.partner_trace, self._partner_episode_start
                    )
                self._partner_episode_start = partner.episode_end
        for trial in view.trials:
            self._memory.add_trial(trial)
        if view.frame is not None:
            self._panels.viewport.set_frame(view.frame)
        if view.partner_frame is not None and self._comparing:
            self._partner.viewport.set_frame(view.partner_frame)
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
        agents = self._agents()
        attention_on = [agent.attention_dock.isVisible() for agent in agents]
        timeline_on = [agent.timeline_dock.isVisible() for agent in agents]
        memory_on = on_screen(self._memory_dock)
        trace_on = any(attention_on) or any(timeline_on) or memory_on or self._media.records_panels()
        if trace_on != self._trace_on:
            self._trace_on = trace_on
            self._player.set_trace(trace_on)
        if memory_on != self._record_memory:
            self._record_memory = memory_on
            self._player.set_record_memory(memory_on)
        # One heavy panel per tick: the next in turn that has something new to show (attention, timeline, the
        # partner's two in compare mode, the episode signals), so no tick holds the event loop for two
        # pyqtgraph redraws (their paints land in one repaint) and a panel alone on screen redraws every tick.
        # The Memory dock refits only after a trial ends: that tick is its own.
        memory_drawn = memory_on and self._memory.refresh()
        recording = self._media.recording.active
        if self._panels_dirty:
            self._panels_dirty = False
            for agent in agents:
                agent.attention_dirty = agent.timeline_dirty = True
            self._player_status.setText(self._describe_step(self._last_step))
        step = self._last_step
        turns: list[tuple[bool, Callable[[], None]]] = []
        for index, agent in enumerate(agents):
            shown = step if index == 0 or step is None else step.partner
            turns.append(
                (
                    agent.attention_dirty and (attention_on[index] or recording),
                    functools.partial(agent.draw_attention, shown),
                )
            )
            turns.append((agent.timeline_dirty and (timeline_on[index] or recording), agent.draw_timeline))
        turns.append(
            (self._signals_dirty and (on_screen(self._signals_dock) or recording), self._draw_signals)
        )
        if both:
            for due, draw in turns:
                if due:
                    draw()
        elif not memory_drawn:
            order = [(self._next_turn + offset) % len(turns) for offset in range(len(turns))]
            turn = next((turn for turn in order if turns[turn][0]), None)
            if turn is not None:
                turns[turn][1]()
                self._next_turn = turn + 1
        self._media.refresh()

    def _draw_signals(self) -> None:
        self._signals_dirty = False
        self._signals.refresh()

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
        viewport = self._panels.viewport  # the partner's view has its size (two halves of the centre)
        ratio = viewport.devicePixelRatioF()
        width = max(64, round(viewport.width() * ratio))
        height = max(48, round(viewport.height() * ratio))
        scale = min(1.0, MAX_RENDER_SIDE / max(width, height))
        size = (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)
        if size != self.render_size:
            self.render_size = size
            self._player.set_render_size(*size)
