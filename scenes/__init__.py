"""Task distributions as Gymnasium environments whose task can be edited mid-episode (no Qt here)."""

from scenes.base import BatchEnv, EnvList, Scene, TaskEnv, TaskParam, gym_id, validate_task
from scenes.registry import SCENES, make_scene, register_gym_envs, scene_class, scene_ids

register_gym_envs()

__all__ = [
    "SCENES",
    "BatchEnv",
    "EnvList",
    "Scene",
    "TaskEnv",
    "TaskParam",
    "gym_id",
    "make_scene",
    "register_gym_envs",
    "scene_class",
    "scene_ids",
    "validate_task",
]
