"""Scene registry: id -> "module:Class". Adding a scene is one file in scenes/ plus one line here.

Modules are imported lazily, so listing scenes does not import metaworld or habitat, and a scene whose optional
backend is missing fails with its own clear message only when it is made.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

import gymnasium as gym
from gymnasium.envs.registration import EnvCreator

from scenes.base import Scene, TaskEnv, gym_id
from scenes.errors import UserError

SCENES: dict[str, str] = {
    "halfcheetah-vel": "scenes.locomotion:HalfCheetahVel",
    "halfcheetah-dir": "scenes.locomotion:HalfCheetahDir",
    "ant-dir": "scenes.locomotion:AntDir",
    "ant-goal": "scenes.locomotion:AntGoal",
    "metaworld-ml1": "scenes.metaworld_ml:MetaWorldML1",
    "metaworld-ml10": "scenes.metaworld_ml:MetaWorldML10",
    "metaworld-ml45": "scenes.metaworld_ml:MetaWorldML45",
    "dark-key-to-door": "scenes.gridworld:DarkKeyToDoor",
    "darkroom": "scenes.gridworld:Darkroom",
    "bandit": "scenes.bandit:TwoArmedBandit",
    "objnav-apartment": "scenes.objnav:ObjNavApartment",
    "objnav-habitat": "scenes.objnav_habitat:ObjNavHabitat",
}


def scene_ids() -> list[str]:
    return list(SCENES)


def scene_class(scene_id: str) -> type[Scene]:
    if scene_id not in SCENES:
        raise UserError(f"unknown scene {scene_id!r}; valid: {', '.join(SCENES)}")
    module_name, class_name = SCENES[scene_id].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_scene(scene_id: str, **options: Any) -> Scene:
    """The scene `scene_id` with its options (e.g. `make_scene("metaworld-ml1", env_name="push-v3")`)."""
    return scene_class(scene_id)(options=options)


def _make_gym_env(
    scene_id: str, task: dict[str, Any] | None = None, render_mode: str | None = None, **options: Any
) -> TaskEnv:
    return make_scene(scene_id, **options).make_env(task, render_mode=render_mode)


def register_gym_envs() -> None:
    """Register every scene as `engram/<scene-id>-v0` (idempotent). The episode time limit lives inside the
    environment, so `env.unwrapped.set_task(...)` is all a `gym.make` user needs."""
    for scene_id in SCENES:
        if gym_id(scene_id) not in gym.registry:
            # Gymnasium calls the entry point with keywords only; scene_id always comes from `kwargs`.
            entry_point = cast(EnvCreator, _make_gym_env)
            gym.register(gym_id(scene_id), entry_point=entry_point, kwargs={"scene_id": scene_id})
