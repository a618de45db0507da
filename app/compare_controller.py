"""Compare mode in the window: the "Compare with" picker, the session's `compare` reaching the player, and the
second agent's viewport and docks shown only while two agents play.

The player thread keeps the two agents in lockstep (agents/player.py, `Player.attach_partner`); this module
only decides what is on screen. Choosing "checkpoint or run…" opens a file dialog; an agent that cannot join
(a checkpoint of another scene) leaves the watched agent playing alone, with the reason in the banner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow

from app.banner import Banner
from app.player_worker import PlayerInfo, PlayerWorker
from app.run_controls import PICK_FILE_TO_COMPARE, RunControls
from app.session import Session
from app.signals_panel import SignalsPanel
from app.viewport import Viewport


class CompareController(QObject):
    """See the module docstring. `partner_docks`: the second agent's attention and timeline docks, shown
    beside `panel_docks`, the watched agent's (given the same height when comparing begins); `pick_file`: asks
    the user for a checkpoint (a file dialog; tests pass their own)."""

    def __init__(
        self,
        session: Session,
        *,
        controls: RunControls,
        player: PlayerWorker,
        viewport: Viewport,
        partner_viewport: Viewport,
        panel_docks: Sequence[QDockWidget],
        partner_docks: Sequence[QDockWidget],
        signals: SignalsPanel,
        banner: Banner,
        window: QMainWindow,
        pick_file: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__(window)
        self._session = session
        self._controls = controls
        self._player = player
        self._viewport = viewport
        self._partner_viewport = partner_viewport
        self._partner_docks = tuple(partner_docks)
        self._panel_docks = tuple(panel_docks)
        self._dock_titles = [dock.windowTitle() for dock in self._partner_docks]
        self._signals = signals
        self._banner = banner
        self._window = window
        self._pick_file = pick_file  # None: the file dialog (a bound method here would be a reference cycle)
        self._comparing = False
        events = session.events  # type: ignore[attr-defined]  # psygnal's @evented adds `events`
        events.compare.connect(self._on_compare_changed)
        events.scene.connect(self.show_choices)
        controls.compare_box.activated.connect(self._on_picked)
        player.compare_dropped.connect(self._on_dropped)
        self.show_choices()
        self.show_player(None)

    @property
    def comparing(self) -> bool:
        """Whether the player on screen has a partner."""
        return self._comparing

    def compare_with(self, compare: str | None) -> None:
        """Compare the watched agent with what `compare` names (what `--compare` takes), or stop (None)."""
        self._session.compare = compare

    def show_choices(self) -> None:
        self._controls.set_compare_choices(self._session.compare_choices(), self._session.compare)

    def show_player(self, info: PlayerInfo | None) -> None:
        """A new player is on screen: the second viewport, its docks and the signals' lanes follow it."""
        partner = None if info is None else info.partner
        began = partner is not None and not self._comparing
        self._comparing = partner is not None
        self._partner_viewport.setVisible(self._comparing)
        for dock in self._partner_docks:
            dock.setVisible(self._comparing)
            dock.toggleViewAction().setEnabled(self._comparing)
        if info is None or partner is None:
            self._viewport.set_caption("")
            self._signals.set_lanes([""])
            return
        self._viewport.set_caption(info.label)
        self._partner_viewport.set_caption(partner)
        for dock, title in zip(self._partner_docks, self._dock_titles, strict=True):
            dock.setWindowTitle(f"{title} · {partner}")
        self._signals.set_lanes([info.label, partner])
        if began:  # the column the watched agent's panels had, shared evenly with the partner's
            docks = [*self._panel_docks, *self._partner_docks]
            height = sum(dock.height() for dock in docks) // len(docks)
            if height > 0:  # laid out already (not before the window is first shown)
                self._window.resizeDocks(docks, [height] * len(docks), Qt.Orientation.Vertical)

    # --------------------------------------------------------------------------------------------- events

    def _on_picked(self, index: int) -> None:
        """The user's choice in the picker (`activated`: the session's own changes do not come here)."""
        compare = self._controls.compare_box.itemData(index)
        if compare == PICK_FILE_TO_COMPARE:
            compare = (self._pick_file or self._file_dialog)()
            if not compare:  # cancelled: the picker shows what is compared still
                self.show_choices()
                return
        self._session.compare = compare

    def _on_compare_changed(self, compare: str | None) -> None:
        self.show_choices()
        self._player.set_compare(compare)

    def _on_dropped(self, reason: str) -> None:
        self._banner.show_message(reason)
        self._session.compare = None  # the player already plays alone: telling it again changes nothing

    def _file_dialog(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            self._window,
            "Compare with the agent in a checkpoint (a run's: checkpoints/latest.pt)",
            "",
            "Checkpoints (*.pt)",
        )
        return path or None
