"""Batched trials: the token stream in-context agents consume (RL², Duan et al. 2016; TrMRL §4; Memo §3).

A trial is a run of episodes on one task. Every step, for every env, `Trials` produces the token inputs
(observation, previous action, previous reward, previous done flag) and the boundary flags the agents use to
reset memory (`episode_start`, `trial_start`). When an episode ends inside a trial, that env is reset on the
same task and the first token of the next episode carries the last action and reward of the previous one with
`prev_done = 1`, so memory agents can attend across episodes (Memo's inter-episode attention). When the trial
ends, every env draws a new task and its next token starts from zeros.

Trials last `scene.steps_per_trial` steps, the same for every env, so a batch stays in lockstep (see
`Scene.steps_per_trial`). With the scene option `trial_steps_max` above `trial_steps`, every explicit `reset`
draws the length of the trials that follow from [trial_steps, trial_steps_max], from a stream of its own (the
tasks and env seeds are those of a fixed-length run); a trainer resets each iteration, so each iteration's
trials get a length. With `time_horizon` H > 0, every observation ends with the trial time t / H (AMAGO feeds
t / H to every step; docs/reference/memo.md, the 2026-12 audit). Deviation from garage's `RL2Env`, which zeroes
the previous action / reward / done at every episode reset: agents that want that (TrMRL's window is cleared at
episode start anyway) can ignore the previous-step slots on `episode_start` tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import gymnasium as gym
import numpy as np

from scenes.base import BatchEnv, Scene, Split, Task
from scenes.errors import UserError

TaskSampler = Callable[[np.random.Generator], Task]


@dataclass
class TrialTokens:
    """Agent inputs for one step of B envs (NumPy; the trainer turns them into tensors)."""

    obs: np.ndarray  # (B, obs_dim) float32
    prev_action: np.ndarray  # (B, act_dim) float32; one-hot for discrete actions
    prev_reward: np.ndarray  # (B,) float32
    prev_done: np.ndarray  # (B,) float32: 1 if the previous step ended an episode of this trial
    episode_start: np.ndarray  # (B,) bool: first token of an episode (also true on trial_start)
    trial_start: np.ndarray  # (B,) bool: first token of a trial: all memory resets
    episode_index: np.ndarray  # (B,) int: episode number within the trial, from 0
    step_in_episode: np.ndarray  # (B,) int
    step_in_trial: int  # the same for every env (lockstep)
    task: np.ndarray  # (B, task_dim) float32: true task parameters (for oracle baselines and plots only)


@dataclass
class TrialStepResult:
    """What happened on the step just taken (rewards and boundaries of the previous tokens' step)."""

    reward: np.ndarray  # (B,) float32
    terminated: np.ndarray  # (B,) bool: the episode reached a terminal state (e.g. the ant fell)
    episode_end: np.ndarray  # (B,) bool: the episode ended (terminated, time limit, or trial end)
    trial_end: bool  # every env's trial ended on this step (lockstep)
    info: dict[str, np.ndarray] = field(default_factory=dict)


def task_vector(scene: Scene, task: Task) -> np.ndarray:
    """The task as numbers in schema order: numeric values as they are, other choices by their index."""
    values = []
    for param in scene.task_params:
        value = task[param.name]
        numeric = param.kind != "choice" or all(isinstance(c, int | float) for c in param.choices)
        values.append(float(value) if numeric else float(param.choices.index(value)))
    return np.asarray(values, dtype=np.float32)


class Trials:
    """Steps `num_envs` trials of `scene` in lockstep and turns them into agent tokens.

    Continuous actions are clipped to the action space before the env sees them (CleanRL's `ClipAction`);
    the clipped action is what the next token reports as the previous action.
    """

    def __init__(
        self,
        scene: Scene,
        num_envs: int,
        seed: int = 0,
        split: Split = "train",
        steps_per_trial: int | None = None,
        batch: BatchEnv | None = None,
    ) -> None:
        if num_envs < 1:
            raise UserError(f"num_envs must be at least 1, got {num_envs}")
        self.scene = scene
        self.num_envs = num_envs
        self.split = scene.check_split(split)
        self.steps_per_trial = steps_per_trial or scene.steps_per_trial
        if self.steps_per_trial < 1:
            raise UserError(f"steps_per_trial must be at least 1, got {self.steps_per_trial}")
        self.rng = np.random.default_rng(seed)
        options = scene.options
        self.trial_steps_range: tuple[int, int] | None = None
        if steps_per_trial is None and int(options.get("trial_steps_max", 0)) > self.steps_per_trial:
            self.trial_steps_range = (self.steps_per_trial, int(options["trial_steps_max"]))
        self._length_rng = np.random.default_rng(_length_seed(seed))
        self.time_horizon = int(options.get("time_horizon", 0))
        self.sample_task: TaskSampler = lambda rng: scene.sample_task(rng, self.split)
        first_tasks = [self.sample_task(self.rng) for _ in range(num_envs)]
        self.batch = batch if batch is not None else scene.make_batch(num_envs, first_tasks)
        self.action_space = self.batch.single_action_space
        self.observation_space = self.batch.single_observation_space
        if self.time_horizon:
            space = self.observation_space
            assert isinstance(space, gym.spaces.Box) and len(space.shape) == 1
            low = np.append(space.low, np.float32(0.0)).astype(np.float32)
            high = np.append(space.high, np.float32(np.inf)).astype(
                np.float32
            )  # past H in longer evaluations
            self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.discrete = isinstance(self.action_space, gym.spaces.Discrete)
        action_space = self.action_space
        self.action_dim = (
            int(action_space.n)
            if isinstance(action_space, gym.spaces.Discrete)
            else int(np.prod(cast(tuple[int, ...], action_space.shape)))
        )
        self.task_dim = len(scene.task_params)
        self._pending_tasks: list[Task] | None = first_tasks
        self._tokens: TrialTokens | None = None

    # ----------------------------------------------------------------------------------------------------------
    def tasks(self) -> list[Task]:
        return [self.batch.get_task(i) for i in range(self.num_envs)]

    def set_task(self, env_id: int, **params: Any) -> None:
        """Edit env `env_id`'s task; validated first, it applies from the next step on (also mid-episode)."""
        if not 0 <= env_id < self.num_envs:
            raise UserError(f"env_id must be in [0, {self.num_envs - 1}], got {env_id}")
        self.batch.set_task(env_id, **params)
        if self._tokens is not None:
            # A new array for the pending tokens: earlier steps' tokens share the old one and keep their task.
            task = self._tokens.task.copy()
            task[env_id] = task_vector(self.scene, self.batch.get_task(env_id))
            self._tokens.task = task

    def set_task_sampler(self, sampler: TaskSampler) -> None:
        """Replace how new trials draw their task (takes effect at the next trial start, the first included)."""
        self.sample_task = sampler
        # The first trial's tasks were drawn in __init__ (the batch is built on them) with the old sampler:
        # a sampler set before the first reset must decide that trial too (a player asked for a start task).
        self._pending_tasks = None

    def set_task_overrides(self, overrides: Task) -> None:
        """New trials draw from this split's distribution with `overrides` fixed (validate them first)."""
        fixed, scene, split = dict(overrides), self.scene, self.split
        self.set_task_sampler(lambda rng: {**scene.sample_task(rng, split), **fixed})

    # ----------------------------------------------------------------------------------------------------------
    def reset(self, seed: int | np.random.SeedSequence | None = None) -> TrialTokens:
        """Start a new trial in every env (new tasks) and return the first tokens.

        `seed` reseeds the task and env-reset stream first, so what follows depends on `seed` alone (the
        trainer reseeds every iteration; that is what makes a resumed run repeat the original bit for bit).
        """
        if seed is not None:
            self.rng = np.random.default_rng(seed)
            self._length_rng = np.random.default_rng(_length_seed(seed))
            self._pending_tasks = None
        return self._start_trial(new_length=True)

    def _start_trial(self, new_length: bool) -> TrialTokens:
        if new_length and self.trial_steps_range is not None:
            low, high = self.trial_steps_range
            self.steps_per_trial = int(self._length_rng.integers(low, high + 1))
        tasks = self._pending_tasks or [self.sample_task(self.rng) for _ in range(self.num_envs)]
        self._pending_tasks = None
        for i, task in enumerate(tasks):
            self.batch.set_task(i, **task)
        seeds = self.rng.integers(0, 2**31 - 1, size=self.num_envs)
        obs = self.batch.reset(np.arange(self.num_envs), seeds=seeds.tolist())
        b = self.num_envs
        self._tokens = TrialTokens(
            obs=self._observed(np.asarray(obs, dtype=np.float32), 0),
            prev_action=np.zeros((b, self.action_dim), dtype=np.float32),
            prev_reward=np.zeros(b, dtype=np.float32),
            prev_done=np.zeros(b, dtype=np.float32),
            episode_start=np.ones(b, dtype=bool),
            trial_start=np.ones(b, dtype=bool),
            episode_index=np.zeros(b, dtype=np.int64),
            step_in_episode=np.zeros(b, dtype=np.int64),
            step_in_trial=0,
            task=np.stack([task_vector(self.scene, t) for t in tasks]),
        )
        return self._tokens

    def step(self, actions: np.ndarray) -> tuple[TrialTokens, TrialStepResult]:
        """Act in every env; return the next tokens and what happened. A trial end resets into a new trial."""
        if self._tokens is None:
            raise RuntimeError("call reset() before step()")
        prev = self._tokens
        actions = np.asarray(actions)
        env_actions: np.ndarray
        if self.discrete:
            env_actions = actions.astype(np.int64).reshape(self.num_envs)
            action_tokens = np.eye(self.action_dim, dtype=np.float32)[env_actions]
        else:
            box = cast(gym.spaces.Box, self.action_space)  # not Discrete, so a Box
            env_actions = np.clip(actions.reshape(self.num_envs, -1), box.low, box.high).astype(np.float32)
            action_tokens = env_actions
        obs, reward, terminated, truncated, info = self.batch.step(env_actions)
        reward = np.asarray(reward, dtype=np.float32)
        terminated = np.asarray(terminated, dtype=bool)
        step_in_trial = prev.step_in_trial + 1
        if step_in_trial >= self.steps_per_trial:
            self._start_trial(new_length=False)  # a run of trials keeps its length (fixed-shape rollouts)
            assert self._tokens is not None
            result = TrialStepResult(reward, terminated, np.ones(self.num_envs, dtype=bool), True, info)
            return self._tokens, result

        episode_end = terminated | np.asarray(truncated, dtype=bool)
        obs = np.asarray(obs, dtype=np.float32).copy()
        ended = np.flatnonzero(episode_end)
        if ended.size:
            seeds = self.rng.integers(0, 2**31 - 1, size=ended.size)
            obs[ended] = self.batch.reset(ended, seeds=seeds.tolist())
        self._tokens = TrialTokens(
            obs=self._observed(obs, step_in_trial),
            prev_action=action_tokens,
            prev_reward=reward,
            prev_done=episode_end.astype(np.float32),
            episode_start=episode_end.copy(),
            trial_start=np.zeros(self.num_envs, dtype=bool),
            episode_index=prev.episode_index + episode_end,
            step_in_episode=np.where(episode_end, 0, prev.step_in_episode + 1),
            step_in_trial=step_in_trial,
            task=prev.task,
        )
        return self._tokens, TrialStepResult(reward, terminated, episode_end, False, info)

    def _observed(self, obs: np.ndarray, step_in_trial: int) -> np.ndarray:
        """The env's observations, with the trial time t / H appended when `time_horizon` H is set."""
        if not self.time_horizon:
            return obs
        column = np.full((len(obs), 1), step_in_trial / self.time_horizon, dtype=np.float32)
        return np.concatenate([obs, column], axis=1)

    def close(self) -> None:
        self.batch.close()


def _length_seed(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """The trial-length stream of a reset seed: a child of its seed sequence, apart from the task stream."""
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, 1))
