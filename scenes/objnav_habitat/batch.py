"""The batch env (`HabitatObjNavBatch`): N habitat-sim environments, each in its own worker process (habitat-sim
supports one `Simulator` per process), stepped in parallel over `scenes.worker_pipe` pipes."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from scenes.base import (
    Task,
    TaskParam,
    check_discrete_actions,
    check_not_ended,
    validate_full_task,
    validate_task,
)
from scenes.objnav import ACTIONS, camera_image_shape, observation_size
from scenes.objnav_habitat.simulator import HabitatEpisodes
from scenes.objnav_habitat.spec import (
    CATEGORY_SETS,
    GPS_HIGH,
    HABITAT_TASK_PARAMS,
    check_task,
    require_habitat,
)
from scenes.worker_pipe import WorkerPipe


def _start_worker(
    env_id: int, scenes: tuple[str, ...], dataset: str, options: dict, task: Task, seed: int
) -> WorkerPipe:
    """Env `env_id`'s simulator in a worker process of its own; the pipe's first reply says it is loaded (or why
    not: a scene that cannot serve comes back as its UserError, anything else as a RuntimeError naming the env)."""
    return WorkerPipe(
        functools.partial(HabitatEpisodes, scenes, dataset, options, task, seed),
        name=f"objnav-habitat-{env_id}",
        label=f"objnav-habitat env {env_id}: its habitat-sim process",
    )


def _close_workers(workers: list[WorkerPipe]) -> None:
    for worker in workers:
        worker.close()
    workers.clear()


def _gather(workers: Sequence[WorkerPipe]) -> list[Any]:
    """Receive one answer from each worker; raise the first error only after every answer is read, so no pipe is
    left holding a stale reply."""
    results, first_error = [], None
    for worker in workers:
        try:
            results.append(worker.reply())
        except Exception as exc:
            results.append(None)
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return results


class HabitatObjNavBatch:
    """`BatchEnv` of N habitat-sim environments, each in its own worker process, stepped in parallel."""

    task_params: ClassVar[tuple[TaskParam, ...]] = HABITAT_TASK_PARAMS

    def __init__(
        self,
        num_envs: int,
        tasks: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        scenes: Sequence[str],
        dataset: str,
    ) -> None:
        require_habitat()
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if len(tasks) != num_envs:
            raise ValueError(f"need one task per env: got {len(tasks)} tasks for {num_envs} envs")
        self.num_envs = num_envs
        self.scenes, self.dataset = tuple(scenes), dataset
        self.categories = CATEGORY_SETS[str(options["categories"])]
        self.image_size = int(options["image_size"])
        self.depth = bool(options["depth"])
        self.image_shape = camera_image_shape(self.image_size, self.depth)
        self._tasks: list[Task] = []
        for i, task in enumerate(tasks):
            checked = validate_full_task(self.task_params, task, f"task {i}")
            check_task(checked, len(self.scenes), self.categories)
            self._tasks.append(checked)
        size = observation_size(self.image_size, self.depth, len(self.categories))
        low, high = np.zeros(size, dtype=np.float32), np.ones(size, dtype=np.float32)
        gps = int(np.prod(self.image_shape))
        high[gps : gps + 2] = GPS_HIGH
        low[gps + 2 : gps + 4] = -1.0
        self.single_observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.single_action_space = gym.spaces.Discrete(len(ACTIONS))
        self._ended = np.zeros(num_envs, dtype=bool)
        seeds = np.random.default_rng().integers(0, 2**31 - 1, num_envs)
        plain = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in options.items()}
        self._workers: list[WorkerPipe] = []
        self._finalizer = weakref.finalize(self, _close_workers, self._workers)
        try:
            for i, task in enumerate(self._tasks):
                self._workers.append(_start_worker(i, self.scenes, dataset, plain, task, int(seeds[i])))
            _gather(self._workers)  # the scenes load in parallel
        except BaseException:
            self.close()
            raise

    def reset(self, env_ids: np.ndarray | Sequence[int], seeds: Sequence[int] | None = None) -> np.ndarray:
        ids = [int(i) for i in np.asarray(env_ids, dtype=np.int64)]
        if seeds is not None and len(seeds) != len(ids):
            raise ValueError(f"need one seed per env id: got {len(seeds)} seeds for {len(ids)} envs")
        for k, i in enumerate(ids):
            self._workers[i].request("reset", None if seeds is None else int(seeds[k]))
        observations = _gather([self._workers[i] for i in ids])
        self._ended[ids] = False
        if not observations:
            return np.zeros((0, *self.single_observation_space.shape), dtype=np.float32)
        return np.stack(observations).astype(np.float32)

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        a = check_discrete_actions(actions, self.num_envs, len(ACTIONS))
        check_not_ended(self._ended)
        for worker, action in zip(self._workers, a, strict=True):
            worker.request("step", int(action))
        results = _gather(self._workers)
        obs = np.stack([r[0] for r in results]).astype(np.float32)
        reward = np.array([r[1] for r in results], dtype=np.float32)
        terminated = np.array([r[2] for r in results], dtype=bool)
        truncated = np.array([r[3] for r in results], dtype=bool)
        self._ended = terminated | truncated
        dtypes = {
            "success": bool,
            "spl": np.float32,
            "collided": bool,
            "distance_to_goal": np.float32,
            "goal": np.int64,
        }
        info = {key: np.array([r[4][key] for r in results], dtype=dtype) for key, dtype in dtypes.items()}
        return obs, reward, terminated, truncated, info

    def get_task(self, env_id: int) -> Task:
        return dict(self._tasks[env_id])

    def set_task(self, env_id: int, **params: Any) -> None:
        """Edit env `env_id`'s task mid-episode; checked here first, then applied (or refused) by its worker."""
        if not 0 <= env_id < self.num_envs:
            raise IndexError(f"env_id {env_id} out of range for {self.num_envs} envs")
        task = validate_task(self.task_params, self._tasks[env_id], params)
        check_task(task, len(self.scenes), self.categories)
        self._workers[env_id].call("set_task", task)
        self._tasks[env_id] = task

    def goal_category(self, env_id: int) -> str:
        """The current episode's goal (what "any" drew)."""
        return str(self._workers[env_id].call("goal_name"))

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        return self._workers[env_id].call("render_frame", width, height)

    def close(self) -> None:
        self._finalizer()
