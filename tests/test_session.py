"""The window's session model (app/session.py), without Qt: its decisions, its events, what it saves."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.trainer import Trainer
from app.session import SPEEDS, Session

ROOT = Path(__file__).resolve().parents[1]


class DictStore:
    """A SettingsStore of plain values (QSettings in the window)."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values = dict(values or {})

    def value(self, key: str) -> Any:
        return self.values.get(key)

    def setValue(self, key: str, value: Any) -> None:  # the protocol's (Qt's) name
        self.values[key] = value


def test_the_session_module_imports_no_qt() -> None:
    code = "import sys, app.session; sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_train_continues_the_opened_run_else_the_opened_checkpoint_else_starts_a_new_run(
    tmp_path: Path,
) -> None:
    session = Session(scene="bandit", agent="mlp", preset="fast", config_overrides={"num_envs": 4})
    plan = session.training_plan(tmp_path / "runs")
    assert plan.config is not None and (plan.config.scene, plan.config.num_envs) == ("bandit", 4)
    assert plan.make.func is Trainer and plan.make.args[1].parent == tmp_path / "runs"  # type: ignore[attr-defined]
    assert plan.building == "creating 4 bandit envs"

    payload = {"config": plan.config.to_dict()}
    session.opened_checkpoint(payload)
    plan = session.training_plan(tmp_path / "runs")
    assert plan.make.func == Trainer.from_payload and plan.make.args[0] is payload  # type: ignore[attr-defined]

    session.opened_run(tmp_path / "old-run")
    assert session.open_checkpoint is None and session.run_dir == tmp_path / "old-run"
    plan = session.training_plan(tmp_path / "runs")
    assert plan.config is None and plan.make.func == Trainer.from_run  # type: ignore[attr-defined]
    assert plan.make.args == (tmp_path / "old-run",) and plan.make.keywords == {"device": "auto"}  # type: ignore[attr-defined]

    session.opened_checkpoint(
        payload
    )  # the player loading the run's checkpoint: the run stays what Train does
    assert session.open_run == tmp_path / "old-run" and session.open_checkpoint is None


def test_a_new_choice_forgets_what_was_opened_and_showing_a_config_does_not(tmp_path: Path) -> None:
    session = Session()
    session.opened_run(tmp_path / "run")
    shown = Session(scene="darkroom", agent="memo", preset="paper").config()
    session.show_config(shown)  # the player shows the run's agent: the pickers follow, the run stays open
    assert (session.scene, session.agent, session.preset) == ("darkroom", "memo", "paper")
    assert session.open_run == tmp_path / "run"
    session.choose(agent="fct")
    assert (session.scene, session.agent, session.open_run, session.run_dir) == (
        "darkroom",
        "fct",
        None,
        None,
    )


def test_choices_that_do_not_resolve_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="preset 'paper' is not defined for agent 'mlp'"):
        Session(scene="darkroom", agent="mlp", preset="paper").training_plan(Path("unused"))
    with pytest.raises(ValueError, match="num_envs must be at least 1"):
        Session(scene="bandit", agent="mlp", config_overrides={"num_envs": 0}).config()


def test_widgets_bind_to_events_that_fire_on_changes_only() -> None:
    session = Session()
    seen: list[tuple[str, Any]] = []

    def record(name: str, value: Any) -> None:
        seen.append((name, value))

    for name in ("scene", "speed", "run_dir", "follow"):
        session.events[name].connect(functools.partial(record, name))
    session.choose(scene="darkroom")
    session.choose(scene="darkroom")  # the same choice again: no event
    session.speed = None
    session.follow = True
    session.training_started(Path("runs/x"))
    assert seen == [("scene", "darkroom"), ("speed", None), ("follow", True), ("run_dir", Path("runs/x"))]


def test_media_go_to_the_chosen_folder_else_the_runs_videos_else_runs_media(tmp_path: Path) -> None:
    session = Session()
    assert session.media_target(tmp_path) == tmp_path / "media"
    session.training_started(tmp_path / "run")
    assert session.media_target(tmp_path) == tmp_path / "run" / "videos"
    session.media_dir = tmp_path / "mine"
    assert session.media_target(tmp_path) == tmp_path / "mine"


def test_save_and_restore_round_trip_and_unknown_choices() -> None:
    store = DictStore()
    saved = Session(scene="darkroom", agent="memo", preset="paper", speed=SPEEDS[-1], follow=True)
    saved.record_panels, saved.media_dir = False, Path("/tmp/media")
    saved.save(store)
    restored = Session()
    assert restored.restore(store) == []
    fields = ("scene", "agent", "preset", "speed", "follow", "deterministic", "record_panels", "media_dir")
    assert all(getattr(restored, name) == getattr(saved, name) for name in fields)

    # Given choices win over saved ones; an unknown given one is reported and the saved one used; an unknown
    # saved one (a scene removed since) falls back to the default silently.
    again = Session()
    assert again.restore(store, scene="bandit", agent="nope") == ["nope"]
    assert (again.scene, again.agent) == ("bandit", "memo")
    gone = Session()
    assert gone.restore(DictStore({"run/scene": "removed-scene", "watch/speed": "×9"})) == []
    assert (gone.scene, gone.speed) == ("halfcheetah-vel", 1.0)


def test_pinned_training_tasks_accumulate() -> None:
    session = Session()
    session.pin_training_task({"target_velocity": 1.0})
    assert session.pin_training_task({"target_velocity": 2.0, "other": 3}) == {
        "target_velocity": 2.0,
        "other": 3,
    }


def test_compare_choices_offer_the_scenes_shipped_agents_first_and_compare_is_not_saved() -> None:
    session = Session()
    choices = session.compare_choices()
    assert choices[0] == ("nobody", None)
    assert choices[1:3] == [("trmrl (pretrained)", "trmrl"), ("rl2 (pretrained)", "rl2")]
    assert ("memo (untrained)", "memo") in choices
    session.choose(scene="dark-key-to-door")
    assert session.compare_choices()[1] == ("memo (pretrained)", "memo")
    session.compare = "rl2"
    store = DictStore({})
    session.save(store)
    restored = Session()
    restored.restore(store)
    assert restored.compare is None  # comparing is asked for at each launch
