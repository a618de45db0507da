"""Every registered `engram/*` env passes Gymnasium's own `check_env` (spaces, seeding, reset determinism)."""

from __future__ import annotations

import importlib.util
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import scenes

ENGRAM_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("engram/"))
# Small sizes keep the check quick; the checker's contract does not depend on them.
SMALL = {"engram/objnav-apartment-v0": {"rooms": "1x1", "objects": 2, "image_size": 16}}
# Bounds that an env's docstring explains (unbounded MuJoCo velocities, Meta-World's hidden goal slots).
BOUNDS_WARNINGS = (
    "maximum value is infinity",
    "minimum value is -infinity",
    "maximum and minimum values are equal",
)


def test_every_scene_is_registered() -> None:
    assert sorted(scenes.registry.gym_id(s) for s in scenes.scene_ids()) == ENGRAM_IDS


@pytest.mark.parametrize("env_id", ENGRAM_IDS)
def test_check_env_passes(env_id: str) -> None:
    if env_id == "engram/objnav-habitat-v0" and importlib.util.find_spec("habitat_sim") is None:
        pytest.skip("habitat-sim not installed (conda-only)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make(env_id, **SMALL.get(env_id, {}))
        check_env(env.unwrapped)
    env.close()
    messages = {str(w.message) for w in caught}
    unexplained = {m for m in messages if not any(expected in m for expected in BOUNDS_WARNINGS)}
    assert not unexplained
    if messages:  # bounds warnings are expected only where the env's docstring says why
        assert any("check_env" in (cls.__doc__ or "") for cls in type(env.unwrapped).__mro__)
