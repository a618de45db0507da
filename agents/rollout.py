"""Rollout collection: whole trials of a `Trials` batch, acted on by an agent's incremental `step`.

A rollout holds `num_trials` complete trials per env, so it begins at a trial start and ends at a trial end:
the PPO update can re-run `evaluate` over each stored row (it needs sequences that begin at a trial start)
and GAE needs no bootstrap value (see `agents.advantages`).

`collect_rollout` is the reference path, one plain loop: act, step the envs, record. `collect_rollout_overlapped`
computes the same over the env groups of a `scenes.trials_process.TrialsProcess` (`env_worker`), with each
group's env step split into a send and a receive so the worker steps one group while the agent acts for the
other; both record their steps with `_GroupSteps`.

Devices: the envs stay on the CPU and the agent acts on its own device (`Agent.device`). Each env step makes
one host-to-device copy (the step's tokens and sampling draws packed in one buffer, `to_device`) and one copy
back (the actions); the rollout is stored on the agent's device for the update.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Categorical, Distribution, Independent, Normal

from agents.base import Agent, StepOutput, TokenBatch
from scenes.trials import Trials, TrialStepResult, TrialTokens
from scenes.trials_process import TrialsProcess


class RolloutCut(Exception):
    """Raised by a rollout's `on_step` to end it at this step (DD-PPO's straggler cutoff): the steps taken so
    far become the rollout, with the value of the next state to bootstrap from."""


def token_batch(tokens: TrialTokens, with_task: bool = False) -> TokenBatch:
    """The agent's tensors for one step of a `Trials` batch."""
    return TokenBatch(
        obs=torch.from_numpy(tokens.obs),
        prev_action=torch.from_numpy(tokens.prev_action),
        prev_reward=torch.from_numpy(tokens.prev_reward),
        prev_done=torch.from_numpy(tokens.prev_done),
        episode_start=torch.from_numpy(tokens.episode_start),
        trial_start=torch.from_numpy(tokens.trial_start),
        task=torch.from_numpy(tokens.task) if with_task else None,
    )


def sample_action(
    dist: Distribution,
    generator: torch.Generator | None,
    deterministic: bool = False,
    noise: Tensor | None = None,
) -> Tensor:
    """Draw from the policy with the caller's own generator, so that one thread's sampling (a trainer) never
    depends on another's (the GUI's player). `deterministic` takes the mean / the most likely action.

    `noise` (from `draw_noise`, already on the policy's device) replaces the generator's draws: off the CPU the
    generator stays a CPU one (its state is the same in a checkpoint from any device), and its draws travel
    to the device with the step's tokens in one copy (`to_device`)."""
    if isinstance(dist, Categorical):
        if deterministic:
            return dist.probs.argmax(dim=-1)
        if noise is not None:  # inverse CDF of one uniform draw per env
            below = dist.probs.cumsum(dim=-1) < noise.unsqueeze(-1)
            return below.sum(dim=-1).clamp_max(dist.probs.shape[-1] - 1)
        return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
    normal = dist.base_dist if isinstance(dist, Independent) else dist
    assert isinstance(normal, Normal), f"unsupported action distribution {type(dist).__name__}"
    if deterministic:
        return normal.loc.clone()
    if noise is None:
        noise = torch.randn(normal.loc.shape, generator=generator, dtype=normal.loc.dtype)
    return normal.loc + normal.scale * noise


def draw_noise(agent: Agent, batch_size: int, generator: torch.Generator | None) -> Tensor:
    """The draws `sample_action` needs for one step of `batch_size` envs, on the CPU: a uniform per env for
    discrete actions, a standard normal per action dimension for continuous ones."""
    if agent.action_kind == "discrete":
        return torch.rand(batch_size, generator=generator)
    return torch.randn(batch_size, agent.act_dim, generator=generator)


def to_device(
    batch: TokenBatch, device: torch.device, noise: Tensor | None = None
) -> tuple[TokenBatch, Tensor | None]:
    """The step's tokens (and sampling noise) on `device` in one host-to-device copy (`packed_copy`); on the
    CPU the same objects come back."""
    if device.type == "cpu":
        return batch, noise
    return packed_copy(batch, device, noise)


def packed_copy(
    batch: TokenBatch, device: torch.device, noise: Tensor | None = None
) -> tuple[TokenBatch, Tensor | None]:
    """Every field (and `noise`) packed as float32 columns of one (N, F) buffer, copied to `device` at once,
    then split and cast back there: bools, one-hot actions, small integers and float32 values are exact."""
    named = [(f.name, getattr(batch, f.name)) for f in dataclasses.fields(TokenBatch)]
    parts = [(name, t) for name, t in named if t is not None]
    if noise is not None:
        parts.append(("noise", noise))
    columns = [t.reshape(len(t), -1).float() for _, t in parts]
    packed = torch.cat(columns, dim=1)
    if device.type == "cuda":
        packed = packed.pin_memory()
    on_device = packed.to(device, non_blocking=True)
    moved: dict[str, Tensor] = {}
    offset = 0
    for (name, t), column in zip(parts, columns, strict=True):
        width = column.shape[1]
        moved[name] = on_device[:, offset : offset + width].reshape(t.shape).to(t.dtype)
        offset += width
    device_noise = moved.pop("noise", None)
    fields: dict[str, Any] = {name: moved.get(name) for name, _ in named}  # None only for optional fields
    return TokenBatch(**fields), device_noise


def act(
    agent: Agent,
    tokens: TrialTokens,
    state: Any,
    generator: torch.Generator | None,
    deterministic: bool = False,
    trace: bool = False,
) -> tuple[TokenBatch, StepOutput, Tensor, Tensor]:
    """One incremental step of `agent` on a `Trials` step's tokens, wherever the agent lives: the tokens (and,
    off the CPU, the step's sampling draws) go to its device in one copy. Returns the tokens as the agent
    read them, its output, the action and its log-probability, all on the agent's device."""
    batch = token_batch(tokens, agent.task_dim > 0)
    noise = None
    if agent.device.type != "cpu" and not deterministic:  # drawn before the step, to travel with its tokens
        noise = draw_noise(agent, len(tokens.obs), generator)
    batch, noise = to_device(batch, agent.device, noise)
    with torch.inference_mode():
        out = agent.step(batch, state, trace=trace)
        action = sample_action(out.dist, generator, deterministic, noise)
        log_prob = out.dist.log_prob(action)
    return batch, out, action, log_prob


@dataclass
class Rollout:
    """(B, T) tensors of whole trials: the agent's inputs and what it did and got."""

    tokens: TokenBatch  # inputs at each step, (B, T, ...)
    actions: Tensor  # (B, T, act_dim) float, or (B, T) long for discrete actions
    log_probs: Tensor  # (B, T) log-probability of the action under the acting policy
    values: Tensor  # (B, T) value estimate at acting time
    rewards: Tensor  # (B, T)
    episode_end: Tensor  # (B, T) bool: the step ended an episode
    trial_end: Tensor  # (B, T) bool: the step ended a trial
    episode_index: Tensor  # (B, T) episode number within the trial
    success: Tensor | None  # (B, T) bool: the scene's success flag at that step; None if it has none
    trial_length: int  # steps per trial (T is a whole number of trials)
    options: dict[str, Any] = field(default_factory=dict)  # `Agent.rollout_options` used while acting
    scores: dict[str, Tensor] = field(default_factory=dict)  # (B, T) per `Scene.score_keys` info key
    # (B,) value of the state after the last step, in a rollout of one trial per env cut short (T <
    # trial_length) by DD-PPO's straggler cutoff (`ppo.sync_fraction`); None for whole trials.
    bootstrap_values: Tensor | None = None

    @property
    def cut(self) -> bool:
        """Whether the rollout stops before its trials' end (its one trial per env is partial)."""
        return self.bootstrap_values is not None

    @property
    def mask(self) -> Tensor:
        """Every stored step is valid (whole trials, no padding)."""
        return torch.ones_like(self.trial_end)

    def split_trials(self) -> Rollout:
        """The same data with one row per trial: (B * T / trial_length, trial_length); a cut rollout's rows
        are already its (partial) trials."""
        if self.cut:
            return self
        b, t = self.rewards.shape
        rows = b * (t // self.trial_length)
        return _combine([self], lambda xs: xs[0].reshape(rows, self.trial_length, *xs[0].shape[2:]))

    def to(self, device: torch.device) -> Rollout:
        """The same data on `device` (itself where it already is)."""
        return _combine([self], lambda xs: xs[0].to(device))


# Rollout's per-step tensors besides `tokens` and `scores` (`success` may be None).
_STEP_TENSORS = (
    "actions",
    "log_probs",
    "values",
    "rewards",
    "episode_end",
    "trial_end",
    "episode_index",
    "success",
)


def _combine(parts: list[Rollout], combine: Callable[[list[Tensor]], Tensor]) -> Rollout:
    """A rollout whose every tensor is `combine` of the parts' tensors in that place (None stays None); trial
    length and options are the first part's."""

    def each(values: list[Any]) -> Any:
        return None if values[0] is None else combine(values)

    tokens = TokenBatch(
        **{f.name: each([getattr(p.tokens, f.name) for p in parts]) for f in dataclasses.fields(TokenBatch)}
    )
    return Rollout(
        tokens=tokens,
        **{name: each([getattr(p, name) for p in parts]) for name in _STEP_TENSORS},
        trial_length=parts[0].trial_length,
        options=parts[0].options,
        scores={key: combine([p.scores[key] for p in parts]) for key in parts[0].scores},
        bootstrap_values=each([p.bootstrap_values for p in parts]),
    )


def concat_rollouts(rollouts: list[Rollout]) -> Rollout:
    """Rollouts of one trial length stacked as rows of trials (e.g. several evaluation batches)."""
    return _combine([r.split_trials() for r in rollouts], torch.cat)


# Acting runs thousands of tiny ops (one token per env): spreading each over intra-op threads costs more in
# synchronisation than it gains, and collapses when cores are shared (measured on these 2-core machines: a
# 20-env TrMRL rollout took 1.3 s with 1 thread and 15 s with 2 under load; docs/benchmarks.md).
ACTING_THREADS = 1


def collect_rollout(
    trials: Trials,
    agent: Agent,
    tokens: TrialTokens,
    num_trials: int = 1,
    generator: torch.Generator | None = None,
    on_step: Callable[[], None] | None = None,
    deterministic: bool = False,
    training: bool = True,
    options: dict[str, Any] | None = None,
) -> tuple[Rollout, TrialTokens]:
    """Act for `num_trials` whole trials from `tokens` (which must start a trial); return the rollout and
    the tokens that start the next trial. Memory is rebuilt from the trial start, so no agent state is
    carried between rollouts. `generator` drives action sampling and the agent's rollout options;
    `on_step` runs before every env step (the trainer blocks there while paused, or raises to stop);
    `deterministic` acts with the policy's mean / most likely action (evaluation); `training=False` runs
    the agent as at inference (Memo's fixed segment length); `options`, if given, are the agent's rollout
    options instead of a draw with `generator` (ranks of one run share them).

    The reference path: `collect_rollout_overlapped` computes the same over an env worker's groups."""
    _check_trial_start([tokens])
    record = _GroupSteps(
        num_trials * trials.steps_per_trial,
        agent.task_dim > 0,
        trials.scene.success_key,
        trials.scene.score_keys,
    )
    bootstrap: Tensor | None = None
    with intra_op_threads(ACTING_THREADS):
        if options is None:
            options = agent.rollout_options(generator, training)
        state = agent.initial_state(len(tokens.obs), **options)
        try:
            for _ in range(num_trials * trials.steps_per_trial):
                if on_step is not None:
                    on_step()
                _, out, action, log_prob = act(agent, tokens, state, generator, deterministic)
                state = out.state
                record.add_action(tokens, action, log_prob, out.value)
                tokens, result = trials.step(action.cpu().numpy())  # the one copy back: the envs' actions
                record.add_result(result)
        except RolloutCut:
            if num_trials != 1:
                raise ValueError("a rollout can be cut short only with one trial per env") from None
            # V of the state after the cut, as DD-PPO bootstraps (no draw taken).
            bootstrap = act(agent, tokens, state, None, deterministic=True)[1].value
    return record.to_rollout(trials.steps_per_trial, options, agent.device, bootstrap), tokens


def collect_rollout_overlapped(
    trials: TrialsProcess,
    agent: Agent,
    tokens: list[TrialTokens],
    num_trials: int = 1,
    generator: torch.Generator | None = None,
    on_step: Callable[[], None] | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[Rollout, list[TrialTokens]]:
    """As `collect_rollout`, over the groups of a `TrialsProcess` (`tokens`: each group's, from its `reset`):
    the agent acts for one group while the worker steps the other's envs. The rollout's rows are group 0's
    envs, then group 1's; each group keeps its own memory state, as separate batches would. With one group
    it is `collect_rollout` step for step.

    The loop is `collect_rollout`'s with the env step split in two: group g's actions are sent before group
    g+1 acts, and its result is received just before group g acts again, so the worker steps one group while
    the agent acts for the next."""
    _check_trial_start(tokens)
    tokens = list(tokens)
    bootstrap: list[Tensor | None] = [None] * len(tokens)
    with intra_op_threads(ACTING_THREADS):
        if options is None:
            options = agent.rollout_options(generator)
        states: list[Any] = [agent.initial_state(len(t.obs), **options) for t in tokens]
        records = [
            _GroupSteps(
                num_trials * trials.steps_per_trial, agent.task_dim > 0, trials.success_key, trials.score_keys
            )
            for _ in tokens
        ]
        cut = False
        try:
            for step in range(num_trials * trials.steps_per_trial):
                if on_step is not None:
                    on_step()
                for g, record in enumerate(records):
                    if step > 0:
                        tokens[g], result = trials.step_wait(g)
                        record.add_result(result)
                    _, out, action, log_prob = act(agent, tokens[g], states[g], generator)
                    states[g] = out.state
                    record.add_action(tokens[g], action, log_prob, out.value)
                    trials.step_async(g, action.cpu().numpy())
        except RolloutCut:
            if num_trials != 1 or len(records) != 1:
                raise ValueError(
                    "a rollout can be cut short only with one trial per env and one env group"
                ) from None
            cut = True
        for g, record in enumerate(records):
            tokens[g], result = trials.step_wait(g)
            record.add_result(result)
            if cut:  # as in collect_rollout
                bootstrap[g] = act(agent, tokens[g], states[g], None, deterministic=True)[1].value
    parts = [
        record.to_rollout(trials.steps_per_trial, options, agent.device, value)
        for record, value in zip(records, bootstrap, strict=True)
    ]
    return _combine(parts, torch.cat), tokens


@contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """Run the block with `count` torch intra-op threads, then restore the previous setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_trial_start(tokens: list[TrialTokens]) -> None:
    if not all(t.trial_start.all() for t in tokens):
        raise ValueError(
            "a rollout must begin at a trial start (pass the tokens of Trials.reset or a trial end)"
        )


class _StepColumn:
    """One per-step quantity of a batch of envs, written step by step into a (B, steps, ...) buffer: a tensor
    for what the agent gave (on its device), a NumPy array for what the envs gave, the agent's inputs among them
    (NumPy slice writes are several times cheaper than tensor ones; the columns reach the agent's device in one
    copy each at the end).

    The buffer is allocated once, at the first step, instead of keeping a list of small per-step tensors:
    those stay alive between the attention's per-step temporaries, which grow by one key each step, and glibc
    cannot reuse the holes they leave, so the heap grew quadratically with trial length (docs/benchmarks.md,
    "Long trials and the heap")."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.data: Tensor | np.ndarray | None = None

    def put(self, step: int, value: Tensor | np.ndarray) -> None:
        if self.data is None:
            shape = (value.shape[0], self.steps, *value.shape[1:])
            self.data = value.new_empty(shape) if isinstance(value, Tensor) else np.empty(shape, value.dtype)
        if isinstance(self.data, Tensor):
            assert isinstance(value, Tensor), "a column holds what its first step held"
            self.data[:, step] = value
        else:
            self.data[:, step] = value

    def filled(self, steps: int, device: torch.device) -> Tensor:
        """The first `steps` steps on `device`, as an ordinary contiguous tensor (usable in autograd)."""
        assert self.data is not None, "no step recorded"
        data = self.data if isinstance(self.data, Tensor) else torch.from_numpy(self.data)
        return data[:, :steps].to(device).contiguous()


class _GroupSteps:
    """What one batch (or one env group) of envs fed the agent, did and got, step by step, for at most
    `steps` steps."""

    _INPUTS = ("obs", "prev_action", "prev_reward", "prev_done", "episode_start", "trial_start")

    def __init__(
        self, steps: int, with_task: bool, success_key: str | None, score_keys: tuple[str, ...]
    ) -> None:
        self.success_key = success_key
        self.inputs = {name: _StepColumn(steps) for name in self._INPUTS + (("task",) if with_task else ())}
        self.actions, self.log_probs, self.values = _StepColumn(steps), _StepColumn(steps), _StepColumn(steps)
        self.episode_index = _StepColumn(steps)
        self.rewards, self.episode_end, self.trial_end = (
            _StepColumn(steps),
            _StepColumn(steps),
            _StepColumn(steps),
        )
        self.success = _StepColumn(steps)
        self.scores = {key: _StepColumn(steps) for key in score_keys}
        self.acted = 0  # steps whose action is recorded
        self.stepped = 0  # steps whose env result is recorded

    def add_action(self, tokens: TrialTokens, action: Tensor, log_prob: Tensor, value: Tensor) -> None:
        t = self.acted
        for name, column in self.inputs.items():  # the arrays the agent's step read (`token_batch`)
            column.put(t, getattr(tokens, name))
        self.actions.put(t, action)
        self.log_probs.put(t, log_prob)
        self.values.put(t, value)
        self.episode_index.put(t, tokens.episode_index)
        self.acted += 1

    def add_result(self, result: TrialStepResult) -> None:
        t = self.stepped
        self.rewards.put(t, result.reward)
        self.episode_end.put(t, result.episode_end)
        self.trial_end.put(t, np.full(result.reward.shape, result.trial_end))
        if self.success_key is not None:
            self.success.put(t, np.asarray(result.info[self.success_key], dtype=bool))
        for key, column in self.scores.items():
            column.put(t, np.asarray(result.info[key], dtype=np.float32))
        self.stepped += 1

    def to_rollout(
        self, trial_length: int, options: dict[str, Any], device: torch.device, bootstrap: Tensor | None
    ) -> Rollout:
        """The steps as a Rollout; `bootstrap`: the value after the last step of a cut rollout (None: the
        steps end at a trial end)."""
        n = self.stepped
        assert n == self.acted, "every recorded action has its env result"
        trial_end = self.trial_end.filled(n, device)
        assert bootstrap is not None or bool(trial_end[:, -1].all()), "an uncut rollout ends its trials"
        task = self.inputs.get("task")
        return Rollout(
            tokens=TokenBatch(
                **{name: self.inputs[name].filled(n, device) for name in self._INPUTS},
                task=None if task is None else task.filled(n, device),  # type: ignore[arg-type]
            ),
            actions=self.actions.filled(n, device),
            log_probs=self.log_probs.filled(n, device),
            values=self.values.filled(n, device),
            rewards=self.rewards.filled(n, device),
            episode_end=self.episode_end.filled(n, device),
            trial_end=trial_end,
            episode_index=self.episode_index.filled(n, device),
            success=self.success.filled(n, device) if self.success_key is not None else None,
            trial_length=trial_length,
            options=options,
            scores={key: column.filled(n, device) for key, column in self.scores.items()},
            bootstrap_values=None if bootstrap is None else bootstrap.clone(),
        )
