"""The gridworld environments: Dark-Key-To-Door and Dark Room dynamics, batched and single.

The simulation lives once, in the vectorised batch classes (`DarkKeyToDoorBatch`, `DarkroomBatch`): one
object steps N environments with NumPy array operations and lookup tables, no Python loop over envs. The
single Gymnasium environments (`DarkKeyToDoorEnv`, `DarkroomEnv`) are thin wrappers around a batch of one,
so the single-env and batched dynamics cannot drift apart. The specifications are the scene docstrings in
scenes/gridworld.py, and so are the AMAGO and Memo commits that the file and line citations here refer to;
the room geometry and action order are scenes/gridworld_room.py's.

Episode bookkeeping: `t` counts the steps taken in the current episode (0 after reset, k after the k-th
step). An episode is truncated on the step where `t` reaches the episode length (Gymnasium `TimeLimit`
semantics: `truncated` may be True together with `terminated`). There is no auto-reset: after an env's
episode ended, stepping it again raises `RuntimeError` until the caller resets it (`BatchEnv` contract in
scenes/base.py). A freshly built batch is already in its reset state, so it can be stepped at once.
The dynamics are deterministic (the agent start is part of the task), so `reset(seed=...)` only seeds the
Gymnasium `np_random` for API compatibility; replaying the same actions reproduces an episode exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from scenes.base import (
    BatchOfOneEnv,
    Task,
    TaskParam,
    check_discrete_actions,
    check_env_ids,
    check_env_index,
    check_not_ended,
    validate_full_task,
    validate_task,
)
from scenes.gridworld_render import draw_dark_key_to_door, draw_darkroom
from scenes.gridworld_room import (
    CELL_X,
    CELL_Y,
    CENTER_CELL,
    GRID,
    NEXT_CELL,
    NUM_ACTIONS,
    NUM_CELLS,
    cell_of,
)

# ---------------------------------------------------------------------------------------------------------
# Task schemas
# ---------------------------------------------------------------------------------------------------------


def _cell_param(name: str, doc: str) -> TaskParam:
    return TaskParam(name, "int", doc, unit="cell", low=0, high=GRID - 1)


DKTD_TASK_PARAMS: tuple[TaskParam, ...] = (
    _cell_param("key_x", "Key column (0 = left). Invisible to the agent."),
    _cell_param("key_y", "Key row (0 = top). Invisible to the agent."),
    _cell_param("door_x", "Door column (0 = left). Invisible to the agent."),
    _cell_param("door_y", "Door row (0 = top). Invisible to the agent."),
    _cell_param(
        "start_x", "Agent start column, the same for every episode of the task (AMAGO); applies at reset."
    ),
    _cell_param(
        "start_y", "Agent start row, the same for every episode of the task (AMAGO); applies at reset."
    ),
)

DARKROOM_TASK_PARAMS: tuple[TaskParam, ...] = (
    _cell_param("goal_x", "Goal column (0 = left). Invisible to the agent."),
    _cell_param("goal_y", "Goal row (0 = top). Invisible to the agent."),
)


# ---------------------------------------------------------------------------------------------------------
# Vectorised batches
# ---------------------------------------------------------------------------------------------------------


class _GridBatch(ABC):
    """What both gridworld batches share: agent cells, step counters, ended flags, action checks, resets,
    task edits and rendering. Subclasses hold their task arrays and implement `step` and `_observe`."""

    task_params: ClassVar[tuple[TaskParam, ...]]
    episode_length: ClassVar[int]
    obs_dim: ClassVar[int]
    single_observation_space: gym.spaces.Box  # set by each subclass's __init__

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if len(tasks) != num_envs:
            raise ValueError(f"need one task per env: got {len(tasks)} tasks for {num_envs} envs")
        self.num_envs = int(num_envs)
        self.single_action_space = gym.spaces.Discrete(NUM_ACTIONS)
        self._cell = np.zeros(self.num_envs, dtype=np.int64)
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._ended = np.zeros(self.num_envs, dtype=bool)
        self._alloc_task_arrays()
        for i, task in enumerate(tasks):
            self._write_task(i, validate_full_task(self.task_params, task, f"task {i}"))
        self.reset(np.arange(self.num_envs))

    # -- subclass hooks ---------------------------------------------------------------------------------
    @abstractmethod
    def _alloc_task_arrays(self) -> None:
        """Create the (num_envs,) task and per-scene state arrays."""

    @abstractmethod
    def _write_task(self, env_id: int, task: Task) -> None:
        """Store one validated, complete task into the arrays."""

    @abstractmethod
    def _start_cells(self, ids: np.ndarray) -> np.ndarray:
        """Where the listed envs begin an episode."""

    @abstractmethod
    def _reset_extra(self, ids: np.ndarray) -> None:
        """Clear per-scene episode state of the listed envs on reset (e.g. has_key)."""

    @abstractmethod
    def _observe(self, ids: np.ndarray) -> np.ndarray:
        """Observations of the listed envs."""

    @abstractmethod
    def get_task(self, env_id: int) -> Task:
        """Env `env_id`'s current task, read back from the arrays."""

    @abstractmethod
    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every env (see the subclasses for the returned arrays)."""

    @abstractmethod
    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """An RGB uint8 image (height, width, 3) of env `env_id`."""

    # -- shared machinery -------------------------------------------------------------------------------
    @property
    def ended(self) -> np.ndarray:
        """Which envs finished their episode and must be reset before the next `step` (a copy)."""
        return self._ended.copy()

    @property
    def elapsed_steps(self) -> np.ndarray:
        """Steps taken in each env's current episode (a copy)."""
        return self._t.copy()

    def _move(self, actions: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Validate, move every agent and count the step: returns the new cells and step counters."""
        a = check_discrete_actions(actions, self.num_envs, NUM_ACTIONS)
        check_not_ended(self._ended)
        cell = NEXT_CELL[a * NUM_CELLS + self._cell]
        t = self._t + 1
        self._cell, self._t = cell, t
        return cell, t

    def reset(self, env_ids: np.ndarray | Sequence[int], seeds: Sequence[int] | None = None) -> np.ndarray:
        """Reset the listed envs to the start of an episode of their current task; return their observations.

        `seeds` is accepted for the `BatchEnv` interface and checked for length; the dynamics use no
        randomness (the start cell is part of the task), so it changes nothing."""
        ids = check_env_ids(env_ids, self.num_envs)
        if seeds is not None and len(seeds) != len(ids):
            raise ValueError(f"need one seed per env id: got {len(seeds)} seeds for {len(ids)} envs")
        self._cell[ids] = self._start_cells(ids)
        self._t[ids] = 0
        self._ended[ids] = False
        self._reset_extra(ids)
        return self._observe(ids)

    def set_task(self, env_id: int, **params: Any) -> None:
        """Edit env `env_id`'s task; all values are validated before anything changes. Takes effect on the
        next `step`, also mid-episode (a moved start applies at the next reset)."""
        i = check_env_index(env_id, self.num_envs)
        new_task = validate_task(self.task_params, self.get_task(i), params)
        self._write_task(i, new_task)

    def close(self) -> None:
        """The batch is plain NumPy arrays, so there is nothing to release; every env is marked ended so a
        closed batch is not stepped by mistake (a reset revives it)."""
        self._ended[:] = True


def dktd_task(key: int, door: int, start: int) -> Task:
    """A Dark-Key-To-Door task dict from flat cell indices (row-major, cell = y * GRID + x)."""
    return {
        "key_x": key % GRID,
        "key_y": key // GRID,
        "door_x": door % GRID,
        "door_y": door // GRID,
        "start_x": start % GRID,
        "start_y": start // GRID,
    }


def _dktd_obs_table(episode_length: int) -> np.ndarray:
    """Every possible observation, indexed by (t · 2 + has_key) · 81 + cell.

    Values are computed in float64 and rounded once to float32, exactly like AMAGO's `obs()` (toy_gym.py
    lines 268-277), so a step is a single gather instead of four column writes."""
    t, k, c = np.meshgrid(np.arange(episode_length + 1), np.arange(2), np.arange(NUM_CELLS), indexing="ij")
    columns = [CELL_X[c] / GRID, CELL_Y[c] / GRID, k.astype(np.float64), t / episode_length]
    return np.stack(columns, axis=-1).astype(np.float32).reshape(-1, 4)


class DarkKeyToDoorBatch(_GridBatch):
    """`num_envs` Dark-Key-To-Door environments stepped together with array operations (see
    `DarkKeyToDoor` for the specification). Env i starts on tasks[i]."""

    task_params = DKTD_TASK_PARAMS
    episode_length = 50
    obs_dim = 4
    _OBS: ClassVar[np.ndarray] = _dktd_obs_table(50)

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> None:
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(4,), dtype=np.float32)
        super().__init__(num_envs, tasks)

    def _alloc_task_arrays(self) -> None:
        n = self.num_envs
        self._key = np.zeros(n, dtype=np.int64)
        self._door = np.zeros(n, dtype=np.int64)
        self._start = np.zeros(n, dtype=np.int64)
        self._has_key = np.zeros(n, dtype=bool)

    def _write_task(self, env_id: int, task: Task) -> None:
        # key == door is allowed: AMAGO draws them independently (toy_gym.py lines 233-242). The agent then
        # collects the key on arrival and opens the door on a later step that ends on the same cell
        # (e.g. "stay"), because the door check uses has_key from before the step (lines 257-262).
        self._key[env_id] = cell_of(task["key_x"], task["key_y"])
        self._door[env_id] = cell_of(task["door_x"], task["door_y"])
        # A moved start does not teleport the agent: it is where the *next* episode begins.
        self._start[env_id] = cell_of(task["start_x"], task["start_y"])
        # has_key is deliberately untouched: an agent already holding the key keeps it when the key moves.

    def _start_cells(self, ids: np.ndarray) -> np.ndarray:
        return self._start[ids]

    def _reset_extra(self, ids: np.ndarray) -> None:
        self._has_key[ids] = False

    def _observe(self, ids: np.ndarray) -> np.ndarray:
        return self._OBS[(self._t[ids] * 2 + self._has_key[ids]) * NUM_CELLS + self._cell[ids]]

    def get_task(self, env_id: int) -> Task:
        i = check_env_index(env_id, self.num_envs)
        key, door, start = int(self._key[i]), int(self._door[i]), int(self._start[i])
        return dktd_task(key, door, start)

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every env. Returns obs (N, 4) float32, reward (N,) float64, terminated (N,), truncated (N,)
        and info {"reached_key", "reached_door", "has_key"}: (N,) bool arrays."""
        cell, t = self._move(actions)
        had_key = self._has_key
        # Door before key, both against has_key from *before* the step, as AMAGO's if/elif (lines 257-262):
        # the key and the door can never both pay on one step.
        reached_door = had_key & (cell == self._door)
        reached_key = ~had_key & (cell == self._key)
        has_key = had_key | reached_key
        self._has_key = has_key
        reward = (reached_key | reached_door).astype(np.float64)
        terminated = reached_door
        truncated = t >= self.episode_length
        self._ended = terminated | truncated
        obs = self._OBS[(t * 2 + has_key) * NUM_CELLS + cell]
        info = {"reached_key": reached_key, "reached_door": reached_door, "has_key": has_key.copy()}
        return obs, reward, terminated, truncated, info

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """The room as the viewer sees it, key and door included (`draw_dark_key_to_door`)."""
        i = check_env_index(env_id, self.num_envs)
        agent, key, door = int(self._cell[i]), int(self._key[i]), int(self._door[i])
        return draw_dark_key_to_door(width, height, agent, key, door, bool(self._has_key[i]))


class DarkroomBatch(_GridBatch):
    """`num_envs` Dark Room environments stepped together with array operations (see `Darkroom`)."""

    task_params = DARKROOM_TASK_PARAMS
    episode_length = 20
    obs_dim = 2
    _OBS: ClassVar[np.ndarray] = np.stack([CELL_X / GRID, CELL_Y / GRID], axis=-1).astype(np.float32)

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> None:
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        super().__init__(num_envs, tasks)

    def _alloc_task_arrays(self) -> None:
        self._goal = np.zeros(self.num_envs, dtype=np.int64)

    def _write_task(self, env_id: int, task: Task) -> None:
        self._goal[env_id] = cell_of(task["goal_x"], task["goal_y"])

    def _start_cells(self, ids: np.ndarray) -> np.ndarray:
        return np.full(len(ids), CENTER_CELL, dtype=np.int64)

    def _reset_extra(self, ids: np.ndarray) -> None:
        """Dark Room has no episode state besides the agent cell and the step counter."""
        return None

    def _observe(self, ids: np.ndarray) -> np.ndarray:
        return self._OBS[self._cell[ids]]

    def get_task(self, env_id: int) -> Task:
        goal = int(self._goal[check_env_index(env_id, self.num_envs)])
        return {"goal_x": goal % GRID, "goal_y": goal // GRID}

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every env. Returns obs (N, 2) float32, reward (N,) float64, terminated (N,) (always False),
        truncated (N,) and info {"on_goal"}: (N,) bool."""
        cell, t = self._move(actions)
        on_goal = cell == self._goal
        reward = on_goal.astype(np.float64)
        # AD's Dark Room pays "every time the goal is reached" and never ends an episode early.
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = t >= self.episode_length
        self._ended = truncated
        return self._OBS[cell], reward, terminated, truncated, {"on_goal": on_goal}

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """The room with the (invisible to the agent) goal drawn (`draw_darkroom`)."""
        i = check_env_index(env_id, self.num_envs)
        return draw_darkroom(width, height, int(self._cell[i]), int(self._goal[i]))


# ---------------------------------------------------------------------------------------------------------
# Single Gymnasium environments: a batch of one
# ---------------------------------------------------------------------------------------------------------


class _GridEnv(BatchOfOneEnv):
    """A gridworld as a Gymnasium env: a batch of one."""

    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 8}  # type: ignore[misc]
    batch_class: ClassVar[type[_GridBatch]]

    def __init__(self, task: Mapping[str, Any], render_mode: str | None = None) -> None:
        super().__init__(task, render_mode)
        self._attach(self.batch_class(1, [self._task]))


class DarkKeyToDoorEnv(_GridEnv):
    """One Dark-Key-To-Door environment (specification in `DarkKeyToDoor`)."""

    task_params = DKTD_TASK_PARAMS
    batch_class = DarkKeyToDoorBatch


class DarkroomEnv(_GridEnv):
    """One Dark Room environment (specification in `Darkroom`)."""

    task_params = DARKROOM_TASK_PARAMS
    batch_class = DarkroomBatch
