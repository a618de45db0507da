"""Gridworld scenes from in-context RL: Dark-Key-To-Door (AMAGO / Memo) and Dark Room (Algorithm Distillation).

Both are 9×9 rooms whose reward locations are invisible: the agent observes only its own cell (plus, in
Dark-Key-To-Door, whether it holds the key and the time in the episode), so it has to find the hidden cells
by exploring and remember them across the episodes of a trial.

Sources checked (line numbers are of these commits):
- AMAGO, github.com/UT-Austin-RPL/amago @ 2d85600c, `amago/envs/builtin/toy_gym.py`, class `RoomKeyDoor`
  (lines 164-291) and `examples/05_dark_key_door.py`.
- Memo's AMAGO fork, github.com/Memory-icrl/memo @ 9e7044f2, `amago/envs/builtin/room_key_door.py`
  (lines 1-105) and `examples/03_dark_key_to_door.py` (the configuration the Memo paper ran: 9×9, 50-step
  episodes, 500-step trials).
- Algorithm Distillation (Laskin et al. 2022, arXiv 2210.14215), Section 5, Dark Room paragraph: "The room
  size is 9 × 9, the possible actions are one step left, right, up, down, and no-op, the episode length is 20,
  and the agent resets at the center of the map ... Dark Room where the agent receives r = 1 every time the
  goal is reached". (Read as quoted in a public re-implementation; the paper's appendix was not readable
  here, so AD's exact train/test goal split is not reproduced, see `TEST_FRACTION`.)
- CORL's toymeta (github.com/corl-team/toy-meta-gym @ 14059341, `src/toymeta/`): registers Dark Room
  9×9 with a centre start and no termination at the goal, which agrees with AD.

The scenes here are the task distributions (specification, train / test splits, task sampling). The
environments they make, batched and single, are in scenes/gridworld_envs.py; the room geometry and AMAGO's
action order in scenes/gridworld_room.py; the viewer's drawing in scenes/gridworld_render.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from scenes.base import (
    TIME_HORIZON,
    TRIAL_STEPS_MAX,
    EpisodeSignal,
    Scene,
    Split,
    Task,
    TaskParam,
    splitmix64,
    validate_task,
)
from scenes.gridworld_envs import (
    DARKROOM_TASK_PARAMS,
    DKTD_TASK_PARAMS,
    DarkKeyToDoorBatch,
    DarkKeyToDoorEnv,
    DarkroomBatch,
    DarkroomEnv,
    dktd_task,
)
from scenes.gridworld_room import GRID, NUM_CELLS, cell_of

# ---------------------------------------------------------------------------------------------------------
# Train / test splits
# ---------------------------------------------------------------------------------------------------------

# Share of all task configurations held out for the "test" split. AD evaluates on held-out tasks, but its
# exact split was not available here; 20 % is our choice, applied identically to both scenes.
TEST_FRACTION = 0.2


def make_splits(num_configs: int, salt: int, test_fraction: float = TEST_FRACTION) -> dict[str, np.ndarray]:
    """A fixed, disjoint train/test partition of configuration ids 0..num_configs-1 (each sorted).

    The configurations are ordered by a salted hash and the first `round(test_fraction · n)` are held out."""
    ids = np.arange(num_configs, dtype=np.uint64)
    order = np.argsort(splitmix64(ids ^ np.uint64(salt)), kind="stable")
    num_test = round(test_fraction * num_configs)
    return {"train": np.sort(order[num_test:]), "test": np.sort(order[:num_test])}


# Dark-Key-To-Door configuration id = key_cell · 81 + door_cell (all 81² = 6561 pairs, key == door included,
# as AMAGO draws key and door independently). Dark Room configuration id = goal_cell (81 goals).
DKTD_SPLITS = make_splits(NUM_CELLS * NUM_CELLS, salt=0xD1C7D)
DARKROOM_SPLITS = make_splits(NUM_CELLS, salt=0xDA12C)

# ---------------------------------------------------------------------------------------------------------
# Scenes
# ---------------------------------------------------------------------------------------------------------


def _trial_steps_option(default: int) -> TaskParam:
    return TaskParam(
        "trial_steps", "int", "steps per trial (episodes on one task)", low=10, high=32768, default=default
    )


class DarkKeyToDoor(Scene):
    """Dark-Key-To-Door, as AMAGO and Memo run it (after Algorithm Distillation).

    ## Description
    A 9×9 room holds an invisible key and an invisible door. Within an episode the agent must walk onto the
    key and then onto the door. A trial is 500 steps of back-to-back episodes on one task, so an agent that
    remembers where it found the key and the door can open the door many times. Mean 500-step trial return
    on this implementation (2,000 trials): random policy 2.5 (std 2.6), a scripted agent that knows key and
    door (greedy path) 100.2 (std 51). docs/reference/memo.md lists 88.9 for the scripted agent: that
    was measured on AMAGO's env, which spends one extra step per episode on its reset (see Deviations);
    with that step added the same scripted agent scores 88.6 in simulation.

    ## Action space
    `Discrete(5)`: 0 up (y-1), 1 left (x-1), 2 down (y+1), 3 right (x+1), 4 stay; AMAGO's order
    (toy_gym.py line 243). Moves into a wall leave the agent in place.

    ## Observation space
    `Box(0, 1, (4,), float32)`, AMAGO's dark observation (toy_gym.py line 272):

        | index | value                     | range               |
        |-------|---------------------------|---------------------|
        | 0     | x / 9                     | 0, 1/9, ..., 8/9    |
        | 1     | y / 9                     | 0, 1/9, ..., 8/9    |
        | 2     | has_key (1.0 or 0.0)      | {0, 1}              |
        | 3     | t / H, t = steps taken in | 0, 1/50, ..., 1     |
        |       | this episode, H = 50      |                     |

    ## Reward
    `r = 1[reached_key] + 1[reached_door]` where, with `has_key` taken from before the step and `cell` the
    agent's cell after it, `reached_door = has_key and cell == door` and `reached_key = not has_key and
    cell == key` (toy_gym.py lines 257-262). The key therefore pays once per episode (revisits pay nothing),
    the door only with the key, and never both on one step. `info` carries `reached_key`, `reached_door`
    and `has_key` (after the step).

    ## Starting state
    The agent starts every episode of a task on the task's start cell, with no key and t = 0. AMAGO draws the
    start at random once per task and keeps it for all episodes of that task (`generate_task` draws
    start/key/goal, `reset_same_task` puts the agent back on `self.start`: toy_gym.py lines 215-242; the
    same in Memo's fork, room_key_door.py lines 38-65, where `reset(new_task=False)` keeps the start). So the
    start is part of the task here (`start_x`, `start_y`), drawn uniformly by `sample_task`.

    ## Episode end
    Terminated on reaching the door with the key. Truncated when t reaches 50. Both can be True on the 50th
    step (Gymnasium `TimeLimit` semantics). No auto-reset (see scenes/gridworld_envs.py).

    ## Task parameters
    `key_x`, `key_y`, `door_x`, `door_y`, `start_x`, `start_y`: integers 0..8. key == door is allowed, as in
    AMAGO, which draws them independently. `set_task` applies immediately: a moved key or door counts from
    the next step; an agent already holding the key keeps it; a moved start applies from the next reset.

    ## Trial
    `trial_steps = 500` (Memo's `--meta_horizon 500`, examples/03_dark_key_to_door.py line 16; AMAGO's
    `meta_rollout_horizon` default 500), filled with as many episodes as fit. The `trial_steps` option
    lengthens it, to evaluate memory past the training context.

    ## Splits
    All 81² (key, door) pairs are split once, by a fixed salted hash, into train (5249) and test (1312,
    `TEST_FRACTION` = 20 %). `sample_task(rng, split)` draws a pair from the split and a uniform start.

    ## Deviations
    - Memo's fork checks `truncated = self.t >= self.H` before incrementing t (room_key_door.py lines 78-79),
      so its episodes last 51 steps and its final t/H is 1.02; we truncate after exactly 50 steps, as
      AMAGO's current version does (toy_gym.py lines 263-264).
    - AMAGO's current version spends one extra step per episode on a "soft reset" that ignores the action
      and pays 0 (toy_gym.py lines 249-252); here the caller resets explicitly and no step is wasted, as in
      Memo's fork whose wrapper resets inside the ending step.
    - AMAGO's own example defaults to an 8×8 room (examples/05_dark_key_door.py, `--room_size 8`); Memo and
      AD use 9×9, which we follow.
    - AD's test split of key/door configurations was not available here; ours is a documented 20 % hold-out.
    - AMAGO's appendix comparison with AD (and its AD replication, jakegrigsby/algorithm_distillation) used a
      fixed start cell; the main-text version, which Memo runs, uses random starts per task, as here.
    """

    id: ClassVar[str] = "dark-key-to-door"
    success_key: ClassVar[str | None] = "reached_door"
    title: ClassVar[str] = "Dark-Key-To-Door (9×9)"
    paper: ClassVar[str] = (
        "Laskin et al. 2022, In-context RL with Algorithm Distillation (arXiv 2210.14215); as run by AMAGO "
        "(Grigsby et al. 2024) and Memo (Gupta et al. 2025)"
    )
    task_params: ClassVar[tuple[TaskParam, ...]] = DKTD_TASK_PARAMS
    episode_signals: ClassVar[tuple[EpisodeSignal, ...]] = (
        EpisodeSignal("has_key", "holding the key"),
        EpisodeSignal("reached_key", "key", kind="event"),
        EpisodeSignal("reached_door", "door", kind="event"),
    )
    episode_length: ClassVar[int] = DarkKeyToDoorBatch.episode_length
    trial_steps: ClassVar[int | None] = 500
    # Longer trials test memory past the training context (Memo §5: evaluation at 2-8x the training trial).
    option_params: ClassVar[tuple[TaskParam, ...]] = (_trial_steps_option(500), TRIAL_STEPS_MAX, TIME_HORIZON)
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "discrete"

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        configs = DKTD_SPLITS[self.check_split(split)]
        key, door = divmod(int(configs[rng.integers(len(configs))]), NUM_CELLS)
        start = int(rng.integers(NUM_CELLS))
        return dktd_task(key, door, start)

    def task_split(self, task: Mapping[str, Any]) -> Split:
        """Which split a task's (key, door) pair belongs to (the start cell does not matter)."""
        t = validate_task(self.task_params, {}, task)
        config = cell_of(t["key_x"], t["key_y"]) * NUM_CELLS + cell_of(t["door_x"], t["door_y"])
        return "test" if np.isin(config, DKTD_SPLITS["test"]) else "train"

    def make_env(
        self, task: Mapping[str, Any] | None = None, render_mode: str | None = None
    ) -> DarkKeyToDoorEnv:
        return DarkKeyToDoorEnv(self.default_task() if task is None else task, render_mode=render_mode)

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> DarkKeyToDoorBatch:
        return DarkKeyToDoorBatch(num_envs, tasks)


class Darkroom(Scene):
    """Dark Room, as in Algorithm Distillation (Laskin et al. 2022, Section 5).

    ## Description
    A 9×9 room with one invisible goal cell. The agent knows only its own position and has to find the goal
    from the reward, then come back to it in later episodes of the trial.

    ## Action space
    `Discrete(5)`: AD's "one step left, right, up, down, and no-op", in the same index order as
    Dark-Key-To-Door (0 up, 1 left, 2 down, 3 right, 4 stay); AD does not fix an order.

    ## Observation space
    `Box(0, 1, (2,), float32)`: (x / 9, y / 9). AD gives the agent only its own (x, y); we scale it like
    the Dark-Key-To-Door observation.

    ## Reward
    `r = 1[cell == goal]` on every step that ends on the goal ("r = 1 every time the goal is reached"), so
    staying on the goal keeps paying. `info["on_goal"]` is the same indicator.

    ## Starting state
    The centre cell (4, 4) at every reset ("the agent resets at the center of the map").

    ## Episode end
    Never terminated (AD does not end the episode at the goal; CORL's toymeta registers Dark-Room-9x9 with
    `terminate_on_goal=False`). Truncated after 20 steps (AD's episode length).

    ## Task parameters
    `goal_x`, `goal_y`: integers 0..8 (81 goals, the centre included). `set_task` moves the goal for the
    next step.

    ## Trial
    `trial_steps = 400`, i.e. 20 episodes of 20 steps. AD evaluates in-context improvement across many
    episodes rather than a fixed trial; 20 episodes is our choice: enough for a memory agent to sweep the
    room (an optimal sweep takes several 20-step episodes) and then exploit the goal for most of the trial.

    ## Splits
    The 81 goals are split once, by a fixed salted hash, into 65 train and 16 test goals (20 %).

    ## Deviations
    - Observation scaled to [0, 1) (AD: raw coordinates).
    - AD's held-out goal set was not available here; ours is a documented 20 % hold-out.
    """

    id: ClassVar[str] = "darkroom"
    success_key: ClassVar[str | None] = "on_goal"
    title: ClassVar[str] = "Dark Room (9×9)"
    paper: ClassVar[str] = "Laskin et al. 2022, In-context RL with Algorithm Distillation (arXiv 2210.14215)"
    task_params: ClassVar[tuple[TaskParam, ...]] = DARKROOM_TASK_PARAMS
    episode_signals: ClassVar[tuple[EpisodeSignal, ...]] = (
        EpisodeSignal("on_goal", "on the goal", kind="event"),
    )
    episode_length: ClassVar[int] = DarkroomBatch.episode_length
    trial_steps: ClassVar[int | None] = 400
    option_params: ClassVar[tuple[TaskParam, ...]] = (_trial_steps_option(400), TRIAL_STEPS_MAX, TIME_HORIZON)
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "discrete"

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        goals = DARKROOM_SPLITS[self.check_split(split)]
        goal = int(goals[rng.integers(len(goals))])
        return {"goal_x": goal % GRID, "goal_y": goal // GRID}

    def task_split(self, task: Mapping[str, Any]) -> Split:
        t = validate_task(self.task_params, {}, task)
        return "test" if np.isin(cell_of(t["goal_x"], t["goal_y"]), DARKROOM_SPLITS["test"]) else "train"

    def make_env(self, task: Mapping[str, Any] | None = None, render_mode: str | None = None) -> DarkroomEnv:
        return DarkroomEnv(self.default_task() if task is None else task, render_mode=render_mode)

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> DarkroomBatch:
        return DarkroomBatch(num_envs, tasks)
