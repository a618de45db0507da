"""The task-parameter schema: validation is what stands between a user's edit and a running environment."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenes import TaskParam, make_scene, scene_class, scene_ids, validate_task

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
