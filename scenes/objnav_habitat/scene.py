"""The scene the registry names (`ObjNavHabitat`: options, scene list, task sampling and split) and its single
env (`ObjNavHabitatEnv`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from scenes.base import BatchOfOneEnv, Split, Task, TaskParam
from scenes.objnav import ANY_GOAL, ObjectNavigationScene
from scenes.objnav_habitat.batch import HabitatObjNavBatch
from scenes.objnav_habitat.spec import (
    CATEGORY_SETS,
    DATASET_ENV,
    HABITAT_OPTIONS,
    HABITAT_TASK_PARAMS,
    SCENES_ENV,
    parse_scene_list,
    require_habitat,
    split_indices,
)


class ObjNavHabitatEnv(BatchOfOneEnv):
    """One habitat-sim navigation environment: a batch of one (its simulator runs in a worker process)."""

    task_params = HABITAT_TASK_PARAMS
    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}  # type: ignore[misc]
    draws_batch_seed: ClassVar[bool] = True

    def __init__(
        self,
        task: Mapping[str, Any],
        options: Mapping[str, Any],
        scenes: Sequence[str],
        dataset: str,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(task, render_mode, render_size=(640, 320))
        self._attach(HabitatObjNavBatch(1, [self._task], options, scenes, dataset))


class ObjNavHabitat(ObjectNavigationScene):
    """Multi-object navigation in Habitat scenes (specification in the package docstring). Making the scene and
    drawing its tasks need no habitat-sim; `make_env` / `make_batch` do."""

    id: ClassVar[str] = "objnav-habitat"
    title: ClassVar[str] = "Multi-object navigation (Habitat scenes; needs habitat-sim)"
    paper: ClassVar[str] = (
        "Gupta et al. 2025, Memo (NeurIPS 2025), ExtObjNav from Elawady et al. 2024, ReLIC; habitat-sim backend"
    )
    task_params: ClassVar[tuple[TaskParam, ...]] = HABITAT_TASK_PARAMS
    option_params: ClassVar[tuple[TaskParam, ...]] = HABITAT_OPTIONS

    def __post_init__(self) -> None:
        super().__post_init__()
        # Read when the scene is made (see the package docstring, "Getting habitat-sim and scenes").
        self.scenes: tuple[str, ...] = parse_scene_list(os.environ.get(SCENES_ENV))
        self.dataset: str = os.environ.get(DATASET_ENV, "").strip() or "default"

    @property
    def categories(self) -> tuple[str, ...]:
        return CATEGORY_SETS[str(self.options["categories"])]

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        indices = split_indices(self.check_split(split), len(self.scenes))
        return {"scene_index": int(indices[int(rng.integers(len(indices)))]), "goal_category": ANY_GOAL}

    def task_split(self, task: Mapping[str, Any]) -> Split:
        """Every fifth listed scene is held out (`split_indices`); a single scene is a training scene."""
        if len(self.scenes) > 1 and int(task["scene_index"]) in split_indices("test", len(self.scenes)):
            return "test"
        return "train"

    def make_env(
        self, task: Mapping[str, Any] | None = None, render_mode: str | None = None
    ) -> ObjNavHabitatEnv:
        require_habitat()  # before the task is drawn or checked: the missing backend is the one error to show
        return ObjNavHabitatEnv(
            self.default_task() if task is None else task,
            self.options,
            self.scenes,
            self.dataset,
            render_mode,
        )

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> HabitatObjNavBatch:
        require_habitat()
        return HabitatObjNavBatch(num_envs, tasks, self.options, self.scenes, self.dataset)
