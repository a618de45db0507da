"""The task-parameter schema: validation is what stands between a user's edit and a running environment."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenes import TaskParam, make_scene, scene_class, scene_ids, validate_task
from scenes.errors import UserError

SPEED = TaskParam("speed", "float", "how fast", "m/s", 0.0, 3.0)
CELL = TaskParam("cell", "int", "a grid cell", "", 0, 8)
MODE = TaskParam("mode", "choice", "a mode", choices=("a", "b"))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_accepts_exactly_the_finite_values_in_range(value: float) -> None:
    if math.isfinite(value) and 0.0 <= value <= 3.0:
        assert SPEED.validate(value) == value
    else:
        with pytest.raises(ValueError, match=r"'speed' must be in \[0, 3\] m/s"):
            SPEED.validate(value)


def expected_cell(value: object) -> int | None:
    """An independent statement of the int rule: a whole number in [0, 8], from a number or a string."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except ValueError:
        return None
    if not math.isfinite(number) or number != round(number) or not 0 <= number <= 8:
        return None
    return int(number)


@given(st.one_of(st.integers(-20, 20), st.floats(-20, 20), st.text(max_size=3)))
def test_int_rejects_non_integers_and_out_of_range(value: object) -> None:
    expected = expected_cell(value)
    if expected is None:
        with pytest.raises(ValueError, match="'cell' must be in"):
            CELL.validate(value)
    else:
        assert CELL.validate(value) == expected


def test_choice_and_strings_from_command_lines() -> None:
    assert MODE.validate("b") == "b"
    assert SPEED.validate("2.5") == 2.5
    assert TaskParam("d", "choice", "dir", choices=(-1, 1)).validate("-1") == -1
    assert TaskParam("d", "choice", "dir", choices=(-1, 1)).validate(1.0) == 1
    with pytest.raises(ValueError, match="'mode' must be one of 'a', 'b', got 'c'"):
        MODE.validate("c")


def test_validate_task_is_all_or_nothing() -> None:
    current = {"speed": 1.0, "cell": 3}
    with pytest.raises(ValueError, match="'cell'"):
        validate_task((SPEED, CELL), current, {"speed": 2.0, "cell": 9})
    assert current == {"speed": 1.0, "cell": 3}
    with pytest.raises(ValueError, match=r"unknown task parameter.*'spead'.*valid: speed, cell"):
        validate_task((SPEED, CELL), current, {"spead": 2.0})
    assert validate_task((SPEED, CELL), current, {"speed": "2"}) == {"speed": 2.0, "cell": 3}


def test_malformed_schemas_are_refused() -> None:
    with pytest.raises(ValueError, match="needs choices"):
        TaskParam("x", "choice", "doc")
    with pytest.raises(ValueError, match="needs low and high"):
        TaskParam("x", "float", "doc", low=0.0)


def test_every_registered_scene_has_a_complete_schema_and_valid_default_task() -> None:
    for scene_id in scene_ids():
        cls = scene_class(scene_id)
        assert cls.id == scene_id
        assert cls.task_params and all(p.doc for p in cls.task_params)
        scene = make_scene(scene_id)
        task = scene.default_task()
        assert validate_task(cls.task_params, {}, task) == task
    with pytest.raises(ValueError, match="unknown scene 'nope'; valid: halfcheetah-vel"):
        make_scene("nope")


def scenes_here() -> list[str]:
    """Every scene whose backend is installed (objnav-habitat needs habitat-sim, conda-only)."""
    return [s for s in scene_ids() if s != "objnav-habitat" or importlib.util.find_spec("habitat_sim")]


@pytest.mark.parametrize("scene_id", scenes_here())
def test_values_no_parameter_can_hold_are_one_value_error_naming_it(scene_id: str) -> None:
    """A 10**400 overflowed float() and an array made `==` ambiguous: both escaped as other errors."""
    env = make_scene(scene_id).make_env()
    before = env.task
    for param in env.task_params:
        for value in (10**400, -(10**400), np.array([1.0, 2.0]), np.zeros((3, 3)), [1], None, {}):
            with pytest.raises(ValueError, match=f"'{param.name}' must be") as raised:
                env.set_task(**{param.name: value})
            assert "\n" not in str(raised.value) and len(str(raised.value)) < 2000
            assert env.task == before
    env.close()


def test_bools_are_not_numbers_but_are_bool_choices() -> None:
    for param in (SPEED, CELL, TaskParam("d", "choice", "dir", choices=(-1, 1))):
        with pytest.raises(ValueError, match="got True"):
            param.validate(True)
    depth = TaskParam("depth", "choice", "a depth channel", choices=(False, True))
    assert [depth.validate(v) for v in (True, np.False_, "true", "False")] == [True, False, True, False]
    with pytest.raises(ValueError, match="'depth' must be one of False, True, got 1"):
        depth.validate(1)
    assert SPEED.validate(-0.0) == 0.0 and math.copysign(1.0, SPEED.validate(-0.0)) == 1.0
    assert SPEED.validate(np.float32(1.5)) == 1.5 and CELL.validate(np.int64(4)) == 4


@pytest.mark.parametrize("scene_id", ["bandit", "dark-key-to-door", "objnav-apartment"])
def test_a_batch_refuses_a_task_missing_a_parameter_naming_the_task(scene_id: str) -> None:
    scene = make_scene(scene_id)
    task = scene.sample_task(np.random.default_rng(0))
    left_out = next(iter(task))
    partial = {name: value for name, value in task.items() if name != left_out}
    with pytest.raises(UserError, match=rf"^task 1 is missing parameter\(s\): {left_out}$"):
        scene.make_batch(2, [task, partial])
    if scene_id == "bandit":  # one env (TaskEnv) says the same of its one task
        with pytest.raises(UserError, match=rf"^task is missing parameter\(s\): {left_out}$"):
            scene.make_env(partial)
