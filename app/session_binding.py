"""Binding the session (app.session, the Qt-free model) to the run controls that show it and the player that
obeys it.

A change to the session from anywhere (a picker, a key, a restored setting, an opened checkpoint) shows in the
controls and reaches the player; the controls' checkboxes and speed box write it. Showing the session's value
in a widget blocks that widget's signals: showing a choice is not the user making one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtWidgets import QAbstractButton, QComboBox

from app.player_worker import PlayerWorker
from app.run_controls import RunControls
from app.session import Session, speed_label


def show_choice(box: QComboBox, text: str) -> None:
    if box.currentText() != text and box.findText(text) >= 0:
        box.blockSignals(True)
        box.setCurrentIndex(box.findText(text))
        box.blockSignals(False)


def show_check(box: QAbstractButton, on: bool) -> None:
    box.blockSignals(True)
    box.setChecked(on)
    box.blockSignals(False)


def bind_session(
    session: Session, controls: RunControls, player: PlayerWorker, on_media_changed: Callable[..., None]
) -> None:
    """Each session field's change shows where it belongs; `on_media_changed` runs when where media go may
    have changed (the run directory or the chosen folder)."""
    c = controls
    c.speed_box.currentIndexChanged.connect(lambda: setattr(session, "speed", c.speed()))
    c.deterministic_check.toggled.connect(lambda on: setattr(session, "deterministic", on))
    c.follow_check.toggled.connect(lambda on: setattr(session, "follow", on))
    c.record_panels_check.toggled.connect(lambda on: setattr(session, "record_panels", on))
    # psygnal's @evented adds `events` at runtime; its type is invisible to mypy.
    events = session.events  # type: ignore[attr-defined]
    for name, box in (("scene", c.scene_box), ("agent", c.agent_box), ("preset", c.preset_box)):
        events[name].connect(functools.partial(show_choice, box))
    events.speed.connect(lambda speed: show_choice(c.speed_box, speed_label(speed)))
    events.speed.connect(player.set_speed)
    events.deterministic.connect(player.set_deterministic)
    events.deterministic.connect(functools.partial(show_check, c.deterministic_check))
    events.follow.connect(player.set_follow)
    events.follow.connect(functools.partial(show_check, c.follow_check))
    events.record_panels.connect(functools.partial(show_check, c.record_panels_check))
    for name in ("run_dir", "media_dir"):
        events[name].connect(on_media_changed)


def send_player_settings(session: Session, player: PlayerWorker) -> None:
    """The player's settings as the session holds them now (its events only carry later changes)."""
    player.set_speed(session.speed)
    player.set_deterministic(session.deterministic)
    player.set_follow(session.follow)
