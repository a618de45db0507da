"""The window's session: what the user has chosen and opened, as a Qt-free evented model.

napari keeps a `ViewerModel` apart from its Qt views; this is Engram's. A `Session` holds the scene, agent and
preset, the run or checkpoint opened, the task parameters training is pinned to, and the player's settings.
Every field is evented (psygnal: `session.events.<field>.connect(callback)`), so widgets bind to it and
show what it holds. The decisions the window used to make from its combo boxes live here, testable without
Qt: which config the choices resolve to, what Train does (continue the opened run, continue from the opened
checkpoint, or start a new run), where media go, and what is saved between launches (any `SettingsStore`:
QSettings, or a dict in tests).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from psygnal import evented

from agents.config import PRESETS, TrainConfig, config_from_dict, resolve_config
from agents.pretrained import pretrained_agents
from agents.registry import AGENTS
from agents.run_log import new_run_dir
from agents.trainer import Trainer
from scenes.registry import SCENES

DEFAULT_SCENE = "halfcheetah-vel"
DEFAULT_AGENT = "trmrl"
DEFAULT_PRESET = "fast"
SPEEDS: tuple[float | None, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, None)  # None: as fast as possible


def speed_label(speed: float | None) -> str:
    return "max" if speed is None else f"×{speed:g}"


class SettingsStore(Protocol):
    """Where a session is saved between launches (QSettings has this shape)."""

    def value(self, key: str) -> Any: ...

    def setValue(self, key: str, value: Any) -> None: ...  # Qt's name


@dataclass(frozen=True)
class TrainingPlan:
    """What Train will do: `make` builds the Trainer (in the training process); `config` is None when it is
    read from a run directory there; `building` says what building it involves, for the window's state."""

    make: Callable[[], Trainer]
    config: TrainConfig | None
    building: str


@evented
@dataclass
class Session:
    scene: str = DEFAULT_SCENE
    agent: str = DEFAULT_AGENT
    preset: str = DEFAULT_PRESET
    # Config values the window was started with (`gui --set`, `--device`), over the preset's.
    config_overrides: dict[str, Any] = field(default_factory=dict)
    # What Train continues: an opened (or this window's last trained) run directory, else an opened
    # checkpoint's payload; with neither, Train starts a new run of the chosen scene, agent and preset.
    open_run: Path | None = None
    open_checkpoint: dict[str, Any] | None = None
    # The run trained or opened: its videos/ receives screenshots and recordings unless media_dir is set.
    run_dir: Path | None = None
    media_dir: Path | None = None
    # Task parameters the next training run is pinned to (set before training starts).
    training_overrides: dict[str, Any] = field(default_factory=dict)
    # Compare mode: what `--compare` takes (an agent id, a checkpoint or a run directory) acting beside the
    # watched agent, or None. Not kept between launches: comparing is something asked for.
    compare: str | None = None
    # The player's settings.
    speed: float | None = 1.0
    deterministic: bool = False
    follow: bool = False
    record_panels: bool = True

    # ----------------------------------------------------------------------------------- decisions

    def config(self) -> TrainConfig:
        """The config the choices describe, with the window's overrides; ValueError naming what is wrong."""
        return resolve_config(self.scene, self.agent, self.preset, overrides=self.config_overrides)

    def choose(self, scene: str | None = None, agent: str | None = None, preset: str | None = None) -> None:
        """New choices: what was opened no longer matches them, so Train starts a new run."""
        self.scene, self.agent, self.preset = scene or self.scene, agent or self.agent, preset or self.preset
        self.forget_opened()

    def forget_opened(self) -> None:
        self.open_run = self.open_checkpoint = self.run_dir = None

    def show_config(self, config: TrainConfig) -> None:
        """The player shows an agent of `config` (a checkpoint, a run, a training run): the choices follow it,
        what was opened stays."""
        self.scene, self.agent, self.preset = config.scene, config.agent, config.preset

    def opened_run(self, run_dir: Path) -> None:
        """A run directory opened to watch: Train continues it, its videos/ gets the media."""
        self.open_checkpoint = None
        self.open_run = self.run_dir = run_dir

    def opened_checkpoint(self, payload: dict[str, Any]) -> None:
        """A checkpoint loaded into the player: Train continues from it (unless a run was opened)."""
        if self.open_run is None:
            self.open_checkpoint = payload

    def training_started(self, run_dir: Path | None) -> None:
        """Training wrote its first iteration to `run_dir`: Train after a stop continues this run."""
        self.open_checkpoint = None
        self.open_run = self.run_dir = run_dir

    def training_plan(self, runs_root: Path) -> TrainingPlan:
        """What Train does now: continue the opened run, continue from the opened checkpoint, or start a new
        run of the choices. A run or checkpoint continues on this window's device (`gui --device`), not the one
        it recorded. ValueError (one line) if the choices do not resolve."""
        device = str(self.config_overrides.get("device", "auto"))
        if self.open_run is not None:
            make = functools.partial(Trainer.from_run, self.open_run, device=device)
            return TrainingPlan(make, None, "reading the run, creating its envs")
        if self.open_checkpoint is not None:
            config = config_from_dict(self.open_checkpoint["config"], "the opened checkpoint")
            run_dir = new_run_dir(config, runs_root)
            make = functools.partial(Trainer.from_payload, self.open_checkpoint, run_dir, device=device)
        else:
            config = self.config()
            make = functools.partial(Trainer, config, new_run_dir(config, runs_root))
        return TrainingPlan(make, config, f"creating {config.num_envs} {config.scene} envs")

    def pin_training_task(self, params: dict[str, Any]) -> dict[str, Any]:
        """Pin task parameters for the next training run (validated by the caller); returns all pinned."""
        self.training_overrides = {**self.training_overrides, **params}
        return self.training_overrides

    def compare_choices(self) -> list[tuple[str, str | None]]:
        """What the compare picker offers on the chosen scene, as (label, what `--compare` takes): nobody, then
        the agents shipped pretrained for it, then the others (untrained)."""
        shipped = {entry.agent for entry in pretrained_agents() if entry.scene == self.scene}
        ordered = sorted(AGENTS, key=lambda agent: agent not in shipped)
        return [("nobody", None)] + [
            (f"{agent} ({'pretrained' if agent in shipped else 'untrained'})", agent) for agent in ordered
        ]

    def media_target(self, runs_root: Path) -> Path:
        """Where screenshots and videos go: the chosen folder, else the run's videos/, else runs/media."""
        if self.media_dir is not None:
            return self.media_dir
        if self.run_dir is not None:
            return self.run_dir / "videos"
        return runs_root / "media"

    # ------------------------------------------------------------------------------------ persisting

    def restore(
        self,
        store: SettingsStore,
        scene: str | None = None,
        agent: str | None = None,
        preset: str | None = None,
    ) -> list[str]:
        """Choices from the arguments, else the store, else the defaults; the player's settings from the store.
        Returns the given choices that are unknown (the saved ones are dropped silently: a scene removed
        since the last launch)."""
        unknown = []
        for name, given, known in (
            ("scene", scene, SCENES),
            ("agent", agent, AGENTS),
            ("preset", preset, PRESETS),
        ):
            for choice in (given, store.value(f"run/{name}")):
                if choice is not None and str(choice) in known:
                    setattr(self, name, str(choice))
                    break
            if given is not None and given not in known:
                unknown.append(given)
        labels = [speed_label(value) for value in SPEEDS]
        if (speed := store.value("watch/speed")) in labels:
            self.speed = SPEEDS[labels.index(speed)]
        for name, key in (
            ("deterministic", "watch/deterministic"),
            ("follow", "watch/follow"),
            ("record_panels", "record/panels"),
        ):
            value = store.value(key)
            if value is not None:
                setattr(self, name, str(value).lower() in ("true", "1"))
        media = store.value("media/dir")
        self.media_dir = Path(str(media)) if media else None
        return unknown

    def save(self, store: SettingsStore) -> None:
        store.setValue("run/scene", self.scene)
        store.setValue("run/agent", self.agent)
        store.setValue("run/preset", self.preset)
        store.setValue("watch/speed", speed_label(self.speed))
        store.setValue("watch/deterministic", self.deterministic)
        store.setValue("watch/follow", self.follow)
        store.setValue("record/panels", self.record_panels)
        store.setValue("media/dir", "" if self.media_dir is None else str(self.media_dir))
