"""Two-armed Bernoulli bandit: the multi-armed-bandit task distribution of RL² (Duan et al. 2016, §5.1),
restricted to two arms.

This is the smallest task on which in-context learning can be seen at all: the environment has no state, so
whatever an agent does better on its tenth pull than on its first, it learned inside the trial, from the
previous actions and rewards that `Trials` puts into every token. That makes it the quickest sanity check for
a memory agent, and a deterministic variant ("one-good") gives the trainer's tests a task where PPO must show
progress within seconds.

As in the gridworlds, the simulation lives once, in the vectorised `BanditBatch` (NumPy array operations, no
Python loop over envs in `step`); the Gymnasium environment `BanditEnv` is a batch of one, so the single-env
and batched dynamics cannot drift apart.

Randomness: every env owns a NumPy `Generator`, seeded by `reset(env_ids, seeds)` (or, for a batch that was
never reset with seeds, from fresh OS entropy, as Gymnasium does). Since every episode is exactly one pull
and there is no auto-reset, each env needs exactly one uniform number per episode: `reset` draws it (a loop
over the reset envs), and `step` only compares it with the pulled arm's probability, `reward = 1[u < p]`,
which keeps `step` fully vectorised. The same seeds and actions therefore give the same rewards, and p = 1
always pays, p = 0 never does. `reset` without seeds continues each env's stream.
The price is Generator construction on every seeded reset (about 25 µs per env, and `Trials` reseeds every
env after every pull): about 60,000 env-steps/s inside `Trials`, 200 times below the gridworlds, and still far
faster than any agent that reads the tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from scenes.base import (
    BatchOfOneEnv,
    EpisodeSignal,
    Scene,
    Split,
    Task,
    TaskParam,
    check_discrete_actions,
    check_env_ids,
    check_env_index,
    check_not_ended,
    validate_full_task,
    validate_task,
)
from scenes.errors import UserError

NUM_ARMS = 2
DEFAULT_PULLS = 10  # RL²'s smallest horizon, n = 10 (it also runs n = 100 and 500)


def _prob_param(arm: int) -> TaskParam:
    return TaskParam(
        f"p_arm{arm}",
        "float",
        f"probability that arm {arm} pays reward 1 (else 0); hidden from the agent",
        low=0.0,
        high=1.0,
    )


BANDIT_TASK_PARAMS: tuple[TaskParam, ...] = (_prob_param(0), _prob_param(1))

BANDIT_OPTION_PARAMS: tuple[TaskParam, ...] = (
    TaskParam(
        "pulls",
        "int",
        "pulls per trial (each pull is one episode); RL² evaluates 10, 100 and 500",
        low=2,
        high=1000,
        default=DEFAULT_PULLS,
    ),
    TaskParam(
        "variant",
        "choice",
        "uniform: p_arm0, p_arm1 ~ U[0, 1] independently (RL²); one-good: one arm always pays, the other "
        "never, which one drawn 50/50 (deterministic)",
        choices=("uniform", "one-good"),
        default="uniform",
    ),
)

# ---------------------------------------------------------------------------------------------------------
# Rendering (pure NumPy, any size); colours shared with the gridworlds' palette
# ---------------------------------------------------------------------------------------------------------

_BACKGROUND = np.array([16, 17, 22], dtype=np.uint8)
_SLOT = np.array([30, 33, 44], dtype=np.uint8)
_FILL = np.array([88, 168, 255], dtype=np.uint8)
_HIGHLIGHT = np.array([255, 206, 64], dtype=np.uint8)
_SOCKET = np.array([48, 52, 68], dtype=np.uint8)
_LAMP_PAID = np.array([96, 210, 118], dtype=np.uint8)
_LAMP_UNPAID = np.array([128, 132, 144], dtype=np.uint8)


def _check_size(width: int, height: int) -> tuple[int, int]:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise UserError(f"render {name} must be a positive integer, got {value!r}")
    return int(width), int(height)


def draw_bandit(width: int, height: int, probs: np.ndarray, last_arm: int, last_reward: float) -> np.ndarray:
    """The two arms as vertical bars whose filled height is their payout probability (what the viewer, not
    the agent, gets to see); the last pulled arm has a gold rim and a lamp above it, green if that pull paid
    and grey if it did not. `last_arm` is -1 before the first pull. Returns (height, width, 3) uint8.

    Everything is laid out in whole pixels from the frame size, with every line at least one pixel wide, so
    the picture stays readable from 64×64 up and at any aspect ratio."""
    width, height = _check_size(width, height)
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = _BACKGROUND
    side = min(width, height)
    rim = max(1, round(0.015 * side))
    half_bar = max(1, round(0.09 * side))
    lamp_radius = max(1.0, 0.06 * side)
    top, bottom = round(0.24 * height), round(0.94 * height)
    lamp_y = 0.12 * height
    rows = np.arange(height)[:, None] + 0.5
    cols = np.arange(width)[None, :] + 0.5
    for arm in range(NUM_ARMS):
        centre = (0.3 + 0.4 * arm) * width
        x0, x1 = max(0, round(centre) - half_bar), min(width, round(centre) + half_bar)
        if arm == last_arm:
            img[max(0, top - rim) : bottom + rim, max(0, x0 - rim) : x1 + rim] = _HIGHLIGHT
        img[top:bottom, x0:x1] = _SLOT
        filled = round(float(probs[arm]) * (bottom - top))
        if filled > 0:
            img[bottom - filled : bottom, x0:x1] = _FILL
        lamp = (rows - lamp_y) ** 2 + (cols - centre) ** 2 <= lamp_radius**2
        if arm == last_arm:
            img[lamp] = _LAMP_PAID if last_reward > 0 else _LAMP_UNPAID
        else:
            img[lamp] = _SOCKET
    return img


# ---------------------------------------------------------------------------------------------------------
# Vectorised batch
# ---------------------------------------------------------------------------------------------------------


class BanditBatch:
    """`num_envs` two-armed bandits stepped together with array operations (specification in
    `TwoArmedBandit`). Env i starts on tasks[i]; a freshly built batch is already reset, so it can be
    stepped at once."""

    task_params: ClassVar[tuple[TaskParam, ...]] = BANDIT_TASK_PARAMS
    episode_length: ClassVar[int] = 1

    def __init__(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if len(tasks) != num_envs:
            raise ValueError(f"need one task per env: got {len(tasks)} tasks for {num_envs} envs")
        self.num_envs = int(num_envs)
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.single_action_space = gym.spaces.Discrete(NUM_ARMS)
        self._probs = np.zeros((self.num_envs, NUM_ARMS), dtype=np.float64)
        for i, task in enumerate(tasks):
            self._write_task(i, validate_full_task(self.task_params, task, f"task {i}"))
        # Unseeded, as a Gymnasium env that was never reset with a seed; `reset(ids, seeds)` reseeds.
        self._rngs = [np.random.default_rng(s) for s in np.random.SeedSequence().spawn(self.num_envs)]
        self._uniform = np.zeros(self.num_envs, dtype=np.float64)  # drawn at reset for the next pull
        self._ended = np.zeros(self.num_envs, dtype=bool)
        # The most recent pull of each env, kept across resets: every pull is its own episode, and the
        # picture should show the pull that just happened, not the blank start of the next episode.
        self._last_arm = np.full(self.num_envs, -1, dtype=np.int64)
        self._last_reward = np.zeros(self.num_envs, dtype=np.float64)
        self._obs = np.ones((self.num_envs, 1), dtype=np.float32)
        self.reset(np.arange(self.num_envs))

    # -- BatchEnv -------------------------------------------------------------------------------------------
    @property
    def ended(self) -> np.ndarray:
        """Which envs finished their episode (pull) and must be reset before the next `step` (a copy)."""
        return self._ended.copy()

    def _write_task(self, env_id: int, task: Task) -> None:
        self._probs[env_id] = (task["p_arm0"], task["p_arm1"])

    def get_task(self, env_id: int) -> Task:
        i = check_env_index(env_id, self.num_envs)
        return {"p_arm0": float(self._probs[i, 0]), "p_arm1": float(self._probs[i, 1])}

    def set_task(self, env_id: int, **params: Any) -> None:
        """Edit env `env_id`'s payout probabilities; every value is validated before anything changes. Takes
        effect on the next pull, also one whose episode has already been reset."""
        i = check_env_index(env_id, self.num_envs)
        self._write_task(i, validate_task(self.task_params, self.get_task(i), params))

    def reset(self, env_ids: np.ndarray | Sequence[int], seeds: Sequence[int] | None = None) -> np.ndarray:
        """Start a new episode (the next pull) in the listed envs; return their observations, all [1.0].

        With `seeds`, env `env_ids[k]` gets a new Generator seeded with `seeds[k]`; without, each env's
        Generator continues. Either way the uniform number for the coming pull is drawn here."""
        ids = check_env_ids(env_ids, self.num_envs)
        if seeds is not None:
            if len(seeds) != len(ids):
                raise ValueError(f"need one seed per env id: got {len(seeds)} seeds for {len(ids)} envs")
            for i, seed in zip(ids, seeds, strict=True):
                self._rngs[i] = np.random.default_rng(int(seed))
        for i in ids:
            self._uniform[i] = self._rngs[i].random()
        self._ended[ids] = False
        return self._obs[ids].copy()

    def step(
        self, actions: np.ndarray | Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Pull one arm in every env. Returns obs (N, 1) float32 (all 1.0), reward (N,) float64 in {0, 1},
        terminated (N,) (always True: a pull is an episode), truncated (N,) (always False) and info
        {"optimal": (N,) bool, whether the pulled arm has the highest probability, ties included}."""
        a = check_discrete_actions(actions, self.num_envs, NUM_ARMS)
        check_not_ended(self._ended)
        pulled = self._probs[np.arange(self.num_envs), a]
        # u ~ U[0, 1): p = 1 always pays, p = 0 never does.
        reward = (self._uniform < pulled).astype(np.float64)
        optimal = pulled >= self._probs.max(axis=1)
        self._last_arm = a.copy()
        self._last_reward = reward.copy()
        self._ended[:] = True
        terminated = np.ones(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._obs.copy(), reward, terminated, truncated, {"optimal": optimal}

    def render_frame(self, env_id: int, width: int = 480, height: int = 480) -> np.ndarray:
        """Env `env_id` as `draw_bandit` pictures it: its arms' probabilities and its most recent pull."""
        i = check_env_index(env_id, self.num_envs)
        return draw_bandit(width, height, self._probs[i], int(self._last_arm[i]), float(self._last_reward[i]))

    def close(self) -> None:
        """Plain NumPy arrays: nothing to release; every env is marked ended so a closed batch is not stepped
        by mistake (a reset revives it)."""
        self._ended[:] = True


# ---------------------------------------------------------------------------------------------------------
# Single Gymnasium environment: a batch of one
# ---------------------------------------------------------------------------------------------------------


class BanditEnv(BatchOfOneEnv):
    """One two-armed bandit (specification in `TwoArmedBandit`), a Gymnasium env over a one-env batch."""

    task_params: ClassVar[tuple[TaskParam, ...]] = BANDIT_TASK_PARAMS
    # gym.Env annotates metadata as an instance variable; it is per class here, as in every Gymnasium env.
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 4}  # type: ignore[misc]

    def __init__(self, task: Mapping[str, Any], render_mode: str | None = None) -> None:
        super().__init__(task, render_mode)
        self._attach(BanditBatch(1, [self._task]))


# ---------------------------------------------------------------------------------------------------------
# Scene
# ---------------------------------------------------------------------------------------------------------


class TwoArmedBandit(Scene):
    """Two-armed Bernoulli bandit, RL²'s multi-armed-bandit distribution (Duan et al. 2016, §5.1) with k = 2.

    ## Description
    Two arms; pulling arm i pays reward 1 with probability p_i and 0 otherwise. RL² draws every p_i from
    U[0, 1] independently and measures how much reward an agent collects over n pulls on the same, unknown
    bandit (compared with Gittins index, UCB1 and Thompson sampling). The environment is stateless, so
    everything the agent knows about the task it must infer from its previous actions and rewards.

    ## Action space
    `Discrete(2)`: pull arm 0 or arm 1.

    ## Observation space
    `Box(0, 1, (1,), float32)`, always `[1.0]`: a bandit has no state to observe. What the agent learns
    from are the previous action and reward that `scenes.trials.Trials` adds to every token (RL²'s inputs).

    ## Reward
    `r = 1[u < p_a]` with a the pulled arm and u ~ U[0, 1) from the env's own Generator (see the module
    docstring), i.e. Bernoulli(p_a). `info["optimal"]` is true when p_a ≥ p_other (ties count as optimal),
    so its mean over a trial is the fraction of optimal pulls, the usual complement of regret.

    ## Starting state
    None to speak of: `reset` only readies the next pull (and, with a seed, reseeds the reward stream).

    ## Episode end
    Every pull is one episode: each step is terminated (never truncated). No auto-reset: a pull on an env
    that has not been reset since its last pull raises `RuntimeError` (`BatchEnv` contract).

    ## Task parameters
    `p_arm0`, `p_arm1`: floats in [0, 1]. `set_task` applies from the next pull, also mid-trial.

    ## Options
    - `pulls` (int, 2..1000, default 10): pulls per trial; each pull is an episode, so `episodes_per_trial`
      = `steps_per_trial` = `pulls` (`make_scene("bandit", pulls=100)`).
    - `variant`: `"uniform"` (default, RL²'s setting: p_arm0, p_arm1 ~ U[0, 1] independently) or
      `"one-good"` (ours): one arm has p = 1, the other p = 0, which one drawn 50/50. This task is
      deterministic: the optimal in-context policy pulls either arm and switches once if it paid 0, which
      earns pulls - 1 or pulls per trial (pulls - 0.5 on average) where a policy that ignores its history
      earns pulls / 2. A trainer that cannot close that gap in seconds has a bug.

    ## Trial
    `pulls` pulls on one task. Through `Trials` every token after the first of a trial is an episode start
    with `prev_done = 1` and carries the previous pull's arm and reward.

    ## Splits
    `train` and `test` draw from the same distribution (RL² evaluates on freshly drawn bandits; there is no
    held-out set), with the callers' different generators.

    ## Deviations
    - Two arms only; RL² reports k ∈ {5, 10, 50} with n ∈ {10, 100, 500} pulls. The default n = 10 is
      RL²'s shortest horizon.
    - The `"one-good"` variant is ours (a deterministic check for in-context learning).
    """

    id: ClassVar[str] = "bandit"
    title: ClassVar[str] = "Two-armed bandit"
    paper: ClassVar[str] = "RL² (Duan et al. 2016) §5.1, with two arms"
    task_params: ClassVar[tuple[TaskParam, ...]] = BANDIT_TASK_PARAMS
    episode_signals: ClassVar[tuple[EpisodeSignal, ...]] = (
        EpisodeSignal("optimal", "better arm", kind="event"),
    )
    episode_length: ClassVar[int] = BanditBatch.episode_length
    action_kind: ClassVar[Literal["discrete", "continuous"]] = "discrete"
    success_key: ClassVar[str | None] = "optimal"  # success rate = share of pulls on the best arm
    option_params: ClassVar[tuple[TaskParam, ...]] = BANDIT_OPTION_PARAMS

    # The trial length is a scene option here, so it is read from `options` rather than fixed per class;
    # `Scene.steps_per_trial` (episodes × episode length = pulls × 1) and `describe` then pick it up.
    @property
    def episodes_per_trial(self) -> int:  # type: ignore[override]
        return int(self.options["pulls"])

    def sample_task(self, rng: np.random.Generator, split: Split = "train") -> Task:
        self.check_split(split)
        if self.options["variant"] == "one-good":
            good = int(rng.integers(NUM_ARMS))
            return {"p_arm0": float(good == 0), "p_arm1": float(good == 1)}
        p0, p1 = rng.uniform(0.0, 1.0, size=NUM_ARMS)
        return {"p_arm0": float(p0), "p_arm1": float(p1)}

    def make_env(self, task: Mapping[str, Any] | None = None, render_mode: str | None = None) -> BanditEnv:
        return BanditEnv(self.default_task() if task is None else task, render_mode=render_mode)

    def make_batch(self, num_envs: int, tasks: Sequence[Mapping[str, Any]]) -> BanditBatch:
        return BanditBatch(num_envs, tasks)
