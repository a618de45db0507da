"""Fuzzing what users type: task edits for every scene, `train --config` files, and main.py's arguments.

Each family runs twice: a quick pass in the normal run, and 1,000 generated inputs in a test marked slow (CI
runs both; docs/reliability.md records what they tried and found). Every input must be accepted as a valid
value or refused with one ValueError line (one `engram:` line and exit status 2 for the command line) that
names what was wrong; a refused task edit leaves the task as it was.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import main
from agents.config import TrainConfig, load_config_file, resolve_config
from scenes import make_scene, scene_ids
from scenes.base import TaskEnv, TaskParam

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
THOROUGH = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def quick_and_thorough(
    prop: Callable[..., None], **strategies: st.SearchStrategy[Any]
) -> tuple[Callable[..., None], Callable[..., None]]:
    """The same property as a quick test and as a slow one with 1,000 inputs."""
    return QUICK(given(**strategies)(prop)), pytest.mark.slow(THOROUGH(given(**strategies)(prop)))


def one_line(message: str) -> bool:
    return "\n" not in message.strip() and len(message) < 4000


# ------------------------------------------------------------------------------------------ (a) task edits

SCENES = [s for s in scene_ids() if s != "objnav-habitat" or importlib.util.find_spec("habitat_sim")]
SMALL = {"objnav-apartment": {"rooms": "1x1", "objects": 2, "image_size": 16}}
ENVS: dict[str, TaskEnv] = {}


def env_for(scene_id: str) -> TaskEnv:
    """One env per scene for the whole module (Meta-World's take a second each to build)."""
    if scene_id not in ENVS:
        ENVS[scene_id] = make_scene(scene_id, **SMALL.get(scene_id, {})).make_env()
    return ENVS[scene_id]


def around_bounds(param: TaskParam) -> list[Any]:
    """Values at each bound, just past it, and the kinds of thing a bound check gets wrong."""
    if param.kind == "choice":
        values: list[Any] = [*param.choices, *(str(c) for c in param.choices)]
        return values + [str(c).upper() for c in param.choices]
    low, high = float(param.low), float(param.high)  # type: ignore[arg-type]
    past = [np.nextafter(low, -math.inf), np.nextafter(high, math.inf), low - 1, high + 1]
    return [low, high, int(low), int(high), str(low), str(high), *past, (low + high) / 2, str(int(high) + 1)]


ODD_VALUES = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e308, 5e-324, 10**400, -(10**400)]),
    st.sampled_from([True, False, None, "", " ", "nan", "inf", "-inf", "1e400", "0x10", "1_0", "½", "True"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 3), max_size=3),
    st.sampled_from([np.array([1.0, 2.0]), np.zeros((2, 2)), np.array(0.5), np.float32(0.5), np.int64(3)]),
    st.sampled_from([np.nan, np.bool_(True), {"a": 1}, (1,), b"1", object()]),
)


@st.composite
def task_edits(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    scene_id = draw(st.sampled_from(SCENES))
    params = list(env_for(scene_id).task_params)
    names = [p.name for p in params]
    chosen = draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True))  # others stay missing
    edits = {}
    for name in chosen:
        param = next(p for p in params if p.name == name)
        edits[name] = draw(st.one_of(st.sampled_from(around_bounds(param)), ODD_VALUES))
    if draw(st.booleans()) and draw(st.booleans()):
        edits[draw(st.text(min_size=1, max_size=10).filter(lambda n: n not in names))] = 1.0  # unknown name
    return scene_id, edits


def check_task_edit(case: tuple[str, dict[str, Any]]) -> None:
    scene_id, edits = case
    env = env_for(scene_id)
    before = env.task
    try:
        env.set_task(**edits)
    except ValueError as error:
        message = str(error)
        assert one_line(message) and any(str(name) in message or repr(name) in message for name in edits), (
            message
        )
        assert env.task == before
        event("refused with a ValueError naming the parameter")
    else:
        event("accepted")
        after = env.task
        for param in env.task_params:  # (an edit may move others: a Meta-World task_index brings its goal)
            assert param.validate(after[param.name]) == after[param.name]  # a value the schema holds
            if param.name in edits:
                assert param.validate(edits[param.name]) == after[param.name]
    if hasattr(env, "batch"):
        assert env.batch.get_task(0) == env.task  # the simulation runs the task the env reports


test_task_edits, test_task_edits_thorough = quick_and_thorough(check_task_edit, case=task_edits())


# --------------------------------------------------------------------------------------- (b) train --config

FIELDS = [f for f in TrainConfig.__dataclass_fields__ if f not in ("scene", "agent")]
PPO_KEYS = [
    "clip_coef",
    "update_epochs",
    "policy_lr",
    "gamma",
    "minibatch_unit",
    "normalize_advantages",
    "nope",
]
TOML_JUNK = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(),
        st.sampled_from([10**400, -(10**400), 2**63, math.inf, -math.inf, math.nan]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "scene": draw(st.sampled_from(["bandit", "darkroom", "halfcheetah-vel", "nope", ""])),
        "agent": draw(st.sampled_from(["mlp", "rl2", "trmrl", "nope"])),
    }
    for key in draw(st.lists(st.sampled_from([*FIELDS, "unknown_key"]), max_size=4, unique=True)):
        if key == "ppo":
            data[key] = draw(
                st.one_of(TOML_JUNK, st.dictionaries(st.sampled_from(PPO_KEYS), TOML_JUNK, max_size=3))
            )
        else:
            data[key] = draw(TOML_JUNK)
    return data


def flat_keys(data: Any) -> set[str]:
    if not isinstance(data, dict):
        return set()
    return {str(k) for k in data} | {k for v in data.values() for k in flat_keys(v)}


def check_config(data: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data))
    try:
        config = resolve_config(file_values=load_config_file(path), source=str(path))
    except ValueError as error:
        message = str(error)
        assert one_line(message), message
        named = flat_keys(data) | {"scene", "agent"}
        assert any(key in message or repr(key) in message for key in named), message
        event("refused with a ValueError naming the key")
    else:
        event("accepted")
        assert isinstance(config, TrainConfig) and config.scene == data["scene"]
        numbers = [v for v in dataclasses.asdict(config).values() if isinstance(v, float)]
        numbers += [v for v in dataclasses.asdict(config.ppo).values() if isinstance(v, float)]
        assert all(math.isfinite(v) for v in numbers), config


test_configs, test_configs_thorough = quick_and_thorough(check_config, data=configs())


# ------------------------------------------------------------------------------------- (c) the command line

MISSING = "no/such/checkpoint.pt"
# One poison per command line: an argument refused before any work starts (no training, no rollout).
POISONS = {
    "train": [
        ["--scene", "nope"], ["--agent", "nope"], ["--preset", "nope"], ["--steps", "0"], ["--steps", "nan"],
        ["--num-envs", "-1"], ["--threads", "0"], ["--seed", "-1"], ["--config", "."], ["--config", MISSING],
        ["--option", "novalue"], ["--agent-option", "=1"], ["--ppo-option", "nope=1"], ["--env-worker", "maybe"],
    ],
    "eval": [
        ["--checkpoint", MISSING], ["--checkpoint", MISSING, "--episodes", "x"], ["--checkpoint", MISSING, "--seed", "-5"],
        ["--checkpoint", MISSING, "--split", "nope"], ["--checkpoint", MISSING, "--window-steps", "inf"],
    ],
    "record": [
        ["--checkpoint", MISSING, "--out", "x.mp4"], ["--checkpoint", MISSING, "--out", "x.mp4", "--seconds", "nan"],
        ["--checkpoint", MISSING, "--out", "x.txt"], ["--checkpoint", MISSING, "--out", "x.mp4", "--size", "3x3"],
        ["--checkpoint", MISSING, "--out", "x.mp4", "--seconds", "-inf"], ["--out", "x.mp4"],
    ],
    "gui": [["--quit-after", "nan"], ["--quit-after", "-1"], ["--demo-seconds", "0"], ["--demo-seconds", "inf"]],
    "scenes": [["--bogus"], ["extra"]],
    "agents": [["--bogus"], ["--json", "extra"]],
}  # fmt: skip
NOISE = {
    "train": ["--scene", "--agent", "--preset", "--steps", "--num-envs", "--seed", "--threads"],
    "eval": ["--episodes", "--seed", "--deterministic", "--json", "--window-steps"],
    "record": ["--seconds", "--seed", "--set", "--edit-at", "--size", "--deterministic"],
    "gui": ["--scene", "--agent"],
    "scenes": ["--json"],
    "agents": ["--json"],
}
VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1e9", "nan", "inf", "bandit", "mlp", "x=1", "5:x=1", "2x2", "", "=", ":"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=6),
)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(POISONS)))
    argv = [command]
    for flag in draw(st.lists(st.sampled_from(NOISE[command]), max_size=3)):
        argv += [flag] if flag in ("--deterministic", "--json") else [flag, draw(VALUES)]
    # The poison last: argparse keeps the last of a repeated flag, so no noise can override it.
    return argv + draw(st.sampled_from(POISONS[command]))


def check_command_line(argv: list[str], in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    assert err.startswith("engram: ") and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert list(in_tmp.iterdir()) == [], argv  # nothing written
    event(f"exit 2: {argv[0]}")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)  # gui: never a window, even where a display exists
    monkeypatch.setenv("QT_QPA_PLATFORM", "")
    return tmp_path


test_command_lines, test_command_lines_thorough = quick_and_thorough(check_command_line, argv=command_lines())


def test_what_the_fuzzing_found(tmp_path: Path) -> None:
    """Each was a crash or an unnamed refusal before its fix (docs/reliability.md)."""
    big = tmp_path / "big.toml"
    big.write_text(
        'scene = "bandit"\nagent = "mlp"\n[ppo]\ngamma = 1' + "0" * 400 + "\n"
    )  # was an OverflowError
    with pytest.raises(ValueError, match=r"ppo.gamma in .* expects float"):
        resolve_config(file_values=load_config_file(big), source=str(big))
    for name in ("policy_lr", "entropy_coef", "value_coef"):  # inf > 0 passed PPOConfig.validate
        with pytest.raises(ValueError, match=rf"ppo.{name} = inf is out of range"):
            resolve_config("bandit", "mlp", "fast", {"ppo": {name: math.inf}})
    # Navigation refusals name the parameters the edit touched, not only the object or the apartment.
    env = make_scene("objnav-apartment", **SMALL["objnav-apartment"]).make_env()
    with pytest.raises(ValueError, match="moved_object 0 cannot stand at moved_x, moved_y"):
        env.set_task(moved_object=0, moved_x=0.0, moved_y=0.0)
    with pytest.raises(ValueError, match=r"moved_object must be -1 or in .* layout_seed"):
        env.set_task(moved_object=19)
    env.close()
