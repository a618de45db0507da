"""The scene the registry names (`ObjNavApartment`: options, task sampling, the train/test split of layouts), its
single env (`ObjNavEnv`), and `ObjectNavigationScene`, what objnav-habitat shares with it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from scenes.base import BatchOfOneEnv, EpisodeSignal, Scene, Split, Task, TaskParam, splitmix64
from scenes.objnav.batch import ObjNavBatch
from scenes.objnav.spec import ANY_GOAL, OBJNAV_OPTIONS, OBJNAV_TASK_PARAMS, camera_image_shape

TEST_SALT = 0x0B1A7


class ObjNavEnv(BatchOfOneEnv):
    """One apartment navigation environment: a batch of one, so single and batched dynamics are one code."""

    task_params = OBJNAV_TASK_PARAMS
    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}  # type: ignore[misc]
    draws_batch_seed: ClassVar[bool] = True

    def __init__(
        self, task: Mapping[str, Any], options: Mapping[str, Any], render_mode: str | None = None
    ) -> None:
        super().__init__(task, render_mode, render_size=(640, 320))
        self._attach(ObjNavBatch(1, [self._task], options))


class ObjectNavigationScene(Scene):
    """What both navigation backends (this MuJoCo apartment and objnav-habitat) share: episodes, trials,
    actions, success / SPL reporting and the image layout chosen by the `image_size` / `depth` options."""

    episode_length: ClassVar[int] = 500
    trial_steps: ClassVar[int | None] = 1024
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "discrete"
    success_key: ClassVar[str | None] = "success"
    score_keys: ClassVar[tuple[str, ...]] = ("spl",)
    episode_signals: ClassVar[tuple[EpisodeSignal, ...]] = (
        EpisodeSignal("distance_to_goal", "distance to the goal", "m"),
        EpisodeSignal("success", "success", kind="event"),
        EpisodeSignal("collided", "collision", kind="event"),
    )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return camera_image_shape(int(self.options["image_size"]), bool(self.options["depth"]))


class ObjNavApartment(ObjectNavigationScene):
    """Multi-object navigation in a procedural MuJoCo apartment (specification in the package docstring)."""

    id: ClassVar[str] = "objnav-apartment"
    title: ClassVar[str] = "Multi-object navigation (MuJoCo apartment)"
    paper: ClassVar[str] = (
        "Gupta et al. 2025, Memo (NeurIPS 2025), ExtObjNav from Elawady et al. 2024, ReLIC; rebuilt in MuJoCo"
    )
    task_params: ClassVar[tuple[TaskParam, ...]] = OBJNAV_TASK_PARAMS
    option_params: ClassVar[tuple[TaskParam, ...]] = OBJNAV_OPTIONS

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        split = self.check_split(split)
        while True:
            seed = int(rng.integers(0, 2**31 - 1))
            if self.task_split({"layout_seed": seed}) == split:
                break
        return {
            "layout_seed": seed,
            "goal_category": ANY_GOAL,
            "camera_resolution": int(self.options["image_size"]),
            "moved_object": -1,
            "moved_x": 0.0,
            "moved_y": 0.0,
        }

    def task_split(self, task: Mapping[str, Any]) -> Split:
        """Layout seeds are split once by a fixed hash: one in five apartments is held out for testing."""
        hashed = splitmix64(np.array([int(task["layout_seed"]) ^ TEST_SALT], dtype=np.uint64))[0]
        return "test" if int(hashed) % 5 == 0 else "train"

    def make_env(self, task: Mapping[str, Any] | None = None, render_mode: str | None = None) -> ObjNavEnv:
        return ObjNavEnv(self.default_task() if task is None else task, self.options, render_mode=render_mode)

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> ObjNavBatch:
        return ObjNavBatch(num_envs, tasks, self.options)
