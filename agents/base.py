"""The agent interface every model in `agents/` implements, and the types it exchanges.

An agent is a `torch.nn.Module` with two paths that define the same function:

* `step(tokens, state, trace=False)` advances every env of a batch by one token, using caches
  (KV caches, a window buffer, a GRU state). It runs under `torch.inference_mode`, and it updates
  `state` in place (preallocated caches): use the returned state and drop the one passed in.
* `evaluate(sequences, mask)` recomputes the same outputs for stored (B, T) sequences, with gradients,
  for the PPO update.

Batching assumption (documented once, relied on by `fct`, `memo`, `rmt` and `rl2`): all envs of a batch
advance in lockstep and their TRIALS start together (fixed trial length), so every env holds the same
number of cached tokens and segment boundaries fall on the same step for the whole batch; this is what
lets caches be one dense tensor with no per-env Python loop. EPISODE boundaries may differ per env
(episodes can end early); they only matter to `trmrl`, whose window is per env anyway.

Image observations (`image_shape`, from `Scene.image_shape`): `features` passes the image part of each
observation through one small CNN (agents/encoders.py) before anything else sees it, so the agents differ
only in their memory, never in how they see; a token's "raw observation" (e.g. TrMRL's separate value
input) is then the CNN's features plus the vector part.
"""

from __future__ import annotations

import dataclasses
import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from agents.encoders import ImageEncoder, ObservationNormalizer
from scenes.errors import UserError

if TYPE_CHECKING:  # agents.heads imports this module
    from agents.heads import PolicyHead

ActionKind = Literal["discrete", "continuous"]
ACTION_KINDS: tuple[str, ...] = ("discrete", "continuous")

# Codes of `AttentionTrace.key_kind`.
KEY_STEP = 0  # a raw per-step token (obs, previous action, previous reward, done)
KEY_SUMMARY = 1  # a Memo / RMT summary token


def check_type(where: str, default: Any, value: Any) -> Any:
    """`value` if it has the type of `default`, else a ValueError saying what `where` expects.

    The one type check of configs and hyper-parameters: ints are accepted (and converted) for floats, lists of
    ints become tuples for tuple fields, and bools are never taken for numbers."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        try:
            value = float(value) if ok else value
        except OverflowError:  # an int beyond float's range (TOML ints are unbounded)
            ok = False
    elif isinstance(default, tuple):
        ok = isinstance(value, list | tuple) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise UserError(f"{where} expects {type(default).__name__} (default {default!r}), got {value!r}")
    return value


def hp(default: Any, doc: str) -> Any:
    """A hyper-parameter field: its default and a one-line doc (shown by `describe_agents`)."""
    return field(default=default, metadata={"doc": doc})


@dataclass
class AgentSpec:
    """Hyper-parameters every agent shares: the policy and value heads (TrMRL paper's setup)."""

    head_hidden: tuple[int, ...] = hp((64, 64), "hidden sizes of the tanh MLP policy and value heads")
    init_std: float = hp(1.0, "initial std of the state-independent Gaussian policy (continuous actions)")
    output_gain: float = hp(1.0, "Xavier gain of the policy's output layer (0.01 for Ant / Meta-World)")
    normalize_observations: bool = hp(
        False,
        "standardise vector observations by running mean / std (CleanRL's MuJoCo PPO; not in the papers' code)",
    )
    # The image encoder (agents/encoders.py); read only when the scene's observations begin with an image.
    image_features: int = hp(
        256, "image observations only: CNN output features that replace the image in the token"
    )
    cnn_channels: tuple[int, ...] = hp(
        (32, 64, 32), "image observations only: channels of the 3 strided convs (habitat SimpleCNN)"
    )

    def validate(self) -> None:
        """Raise ValueError on values no model can be built from; subclasses extend this."""
        if not self.head_hidden or any(h <= 0 for h in self.head_hidden):
            raise UserError(f"head_hidden must be non-empty positive sizes, got {self.head_hidden}")
        if self.init_std <= 0:
            raise UserError(f"init_std must be > 0, got {self.init_std}")
        if self.output_gain <= 0:
            raise UserError(f"output_gain must be > 0, got {self.output_gain}")
        if self.image_features <= 0:
            raise UserError(f"image_features must be > 0, got {self.image_features}")
        if len(self.cnn_channels) != 3 or any(c <= 0 for c in self.cnn_channels):
            raise UserError(f"cnn_channels must be 3 positive sizes, got {self.cnn_channels}")


def spec_fields(spec_cls: type[AgentSpec]) -> list[dataclasses.Field[Any]]:
    """The hyper-parameter fields of a spec class, in declaration order."""
    return list(dataclasses.fields(spec_cls))


@dataclass
class TokenBatch:
    """One step for B envs (`step`: leading shape (B,)) or stored sequences (`evaluate`: (B, T)).

    Field for field what `scenes.trials.TrialTokens` produces. The previous-step slots are zeros at a
    trial's first step; the agents take them as given (garage's `RL2Env` also zeroes them at every episode
    start, the scenes' trial wrapper carries the last action / reward across episodes with prev_done = 1).
    """

    obs: Tensor  # (..., obs_dim) float
    prev_action: Tensor  # (..., act_dim) continuous, or one-hot (..., n_actions) for discrete actions
    prev_reward: Tensor  # (...,) float
    prev_done: Tensor  # (...,) 1.0 if the previous step ended an episode
    episode_start: Tensor  # (...,) bool: first token of an episode
    trial_start: Tensor  # (...,) bool: first token of a trial (all memory reset)
    task: Tensor | None = None  # (..., task_dim) true task parameters; only the mlp oracle reads it

    @property
    def lead_shape(self) -> torch.Size:
        return self.prev_reward.shape

    def index(self, where: Any) -> TokenBatch:
        """Every field indexed alike over the leading dimensions (e.g. `rows`, or `(rows, times)`)."""
        # Any: the required fields are never None here (they are not None in self).
        fields: dict[str, Any] = {
            f.name: None if (v := getattr(self, f.name)) is None else v[where]
            for f in dataclasses.fields(self)
        }
        return TokenBatch(**fields)


@dataclass
class MemoryEvent:
    """A Memo / RMT summary write (shown on the memory timeline)."""

    step: int  # trial step index of the token that closed the segment
    segment: int  # index of the segment just summarised (0-based, within the trial)
    summary_tokens: int  # summary tokens held per env after the write
    summary: Tensor  # (B, summary_length, d_model) the new summary tokens (final-layer outputs)


@dataclass
class AttentionTrace:
    """Attention of this step's token over its context, per layer and head, with key labels."""

    weights: list[Tensor]  # per layer: (B, n_heads, K)
    key_kind: Tensor  # (B, K) KEY_STEP or KEY_SUMMARY
    key_time: Tensor  # (B, K) trial step index of a raw step, or the step at which a summary was written
    key_segment: Tensor  # (B, K) segment index (Memo / RMT); -1 where the agent has no segments
    valid: Tensor  # (B, K) bool: key is part of this env's context (TrMRL windows are ragged)


@dataclass
class StepTrace:
    """What the GUI panels show for the step just taken (built only when `trace=True`)."""

    cache_tokens: int  # cached entries per env (KV entries, window tokens, or 0)
    cache_bytes: int  # bytes of live cache for the whole batch
    attention: AttentionTrace | None = None  # transformer agents only
    memory: Tensor | None = None  # (B, d) newest token's final-layer output / recurrent state
    working_memory: Tensor | None = None  # (B, d) newest token's input embedding (TrMRL working memory)
    window_time: Tensor | None = None  # TrMRL: (B, wm_size) trial step index per window slot, -1 if empty
    events: list[MemoryEvent] = field(default_factory=list)  # Memo / RMT summary writes at this step

    def to(self, device: torch.device) -> StepTrace:
        """The same trace with every tensor on `device` (the panels read CPU tensors)."""

        def move(value: Any) -> Any:
            if isinstance(value, Tensor):
                return value.to(device)
            if isinstance(value, list):
                return [move(v) for v in value]
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                return dataclasses.replace(
                    value, **{f.name: move(getattr(value, f.name)) for f in dataclasses.fields(value)}
                )
            return value

        return move(self)


class StepOutput(NamedTuple):
    dist: Distribution  # batch shape (B,)
    value: Tensor  # (B,)
    state: Any  # the updated state (the passed-in one was updated in place)
    trace: StepTrace | None


class EvalOutput(NamedTuple):
    dist: Distribution  # batch shape (B, T)
    values: Tensor  # (B, T); zero at padded steps


@dataclass(frozen=True)
class AgentEntry:
    """A registry entry: the model class, its spec class, a one-line description and named presets."""

    agent_cls: type[Agent]
    spec_cls: type[AgentSpec]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)  # spec defaults this entry changes (e.g. rmt)
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)


class Agent(nn.Module, ABC):
    """Base class: token featurisation, input checks, and the two abstract paths (plus `evaluate_steps`
    where an agent's output at a step depends on a bounded window of tokens only).

    With `image_shape` = (H, W, C) the observations begin with an H·W·C image (`Scene.image_shape`): a CNN
    (`self.image_encoder`, agents/encoders.py, sized by the spec's `image_features` / `cnn_channels`)
    replaces it by `image_features` features inside `features`, so every agent reads images the same way
    and trains the CNN end to end through its own loss. Without it `self.image_encoder` is None and the
    model (parameters, state dict, outputs) is exactly the vector-only one.
    """

    # The policy and value heads (agents.heads.PolicyHead / ValueHead), set by each subclass; PPO gives the
    # value head its own parameter group.
    policy: PolicyHead
    value: nn.Module

    def __init__(
        self,
        spec: AgentSpec,
        obs_dim: int,
        action_kind: ActionKind,
        act_dim: int,
        task_dim: int = 0,
        *,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__()
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"action_space_kind must be one of {ACTION_KINDS}, got {action_kind!r}")
        if obs_dim <= 0 or act_dim <= 0:
            raise ValueError(f"obs_dim and act_dim must be > 0, got {obs_dim} and {act_dim}")
        spec.validate()
        self.spec = spec
        self.obs_dim = obs_dim
        self.action_kind: ActionKind = action_kind
        self.act_dim = act_dim
        self.task_dim = task_dim
        self.image_encoder: ImageEncoder | None = None
        self.obs_normalizer: ObservationNormalizer | None = None
        obs_features = obs_dim
        if spec.normalize_observations:
            if image_shape is not None:
                raise UserError("normalize_observations is for vector observations; this scene's are images")
            self.obs_normalizer = ObservationNormalizer(obs_dim)  # buffers only: no weights drawn
        if image_shape is not None:
            # Built first, so a vector-only agent draws its initial weights exactly as before.
            self.image_encoder = ImageEncoder(image_shape, spec.image_features, spec.cnn_channels)
            if obs_dim < self.image_encoder.image_size:
                raise UserError(
                    f"obs_dim ({obs_dim}) is smaller than the {'x'.join(map(str, image_shape))} image "
                    f"({self.image_encoder.image_size} entries) the observations must begin with"
                )
            obs_features = spec.image_features + obs_dim - self.image_encoder.image_size
        # RL² token (garage RL2Env): observation (image features + vector), previous action, previous
        # reward, done flag; the observation alone for an agent that must not see the previous step.
        self.token_dim = obs_features + (act_dim + 2 if self.reads_previous_step else 0) + task_dim

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(H, W, C) of the image the observations begin with, or None for vector observations."""
        return None if self.image_encoder is None else self.image_encoder.image_shape

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def features(self, tokens: TokenBatch, valid: Tensor | None = None) -> Tensor:
        """Concatenate a token's parts into (..., token_dim), checking their sizes.

        Image observations go through `image_encoder` first; `valid` (lead shape, bool) limits the CNN to
        those tokens (`sequence_features` passes the padding mask) and leaves zero features elsewhere.
        """
        lead = tokens.lead_shape
        if tokens.obs.shape != (*lead, self.obs_dim):
            what = "" if self.image_encoder is None else f" (a {self.image_shape} image, then a vector)"
            raise ValueError(
                f"obs must have shape {(*lead, self.obs_dim)}{what}, got {tuple(tokens.obs.shape)}"
            )
        dtype = self.dtype
        obs = tokens.obs
        if self.obs_normalizer is not None:
            obs = self.obs_normalizer(obs.to(dtype))
        if self.image_encoder is not None:
            obs = self.image_encoder.encode_observation(obs.to(dtype), valid)
        parts = [obs]
        if self.reads_previous_step:
            if tokens.prev_action.shape != (*lead, self.act_dim):
                raise ValueError(
                    f"prev_action must have shape {(*lead, self.act_dim)} "
                    f"(one-hot for discrete actions), got {tuple(tokens.prev_action.shape)}"
                )
            parts += [tokens.prev_action, tokens.prev_reward.unsqueeze(-1), tokens.prev_done.unsqueeze(-1)]
        if self.task_dim:
            if tokens.task is None or tokens.task.shape != (*lead, self.task_dim):
                got = None if tokens.task is None else tuple(tokens.task.shape)
                raise ValueError(
                    f"this agent reads the true task: task must have shape "
                    f"{(*lead, self.task_dim)}, got {got}"
                )
            parts.append(tokens.task)
        return torch.cat([p.to(dtype) for p in parts], dim=-1)

    def sequence_features(self, sequences: TokenBatch, mask: Tensor) -> Tensor:
        """(B, T, token_dim) features with padded steps zeroed, after checking the padding mask.

        Zeroing means whatever a buffer holds at padded steps (even NaN) cannot reach valid outputs. The
        image CNN, the one costly part of featurisation, runs once per valid step only (B·T images at most).
        """
        mask = checked_mask(sequences, mask)
        feats = self.features(sequences, valid=mask)
        return torch.where(mask.unsqueeze(-1), feats, torch.zeros((), dtype=feats.dtype))

    def rollout_options(
        self, generator: torch.Generator | None = None, training: bool = True
    ) -> dict[str, Any]:
        """Choices one rollout's acting pass and its training pass must share, drawn per rollout.

        Passed as keyword arguments to both `initial_state` and `evaluate`, so PPO's ratio compares the same
        function. None by default; Memo draws its jittered segment length here in training (`training=False`:
        an evaluation's rollout, which acts as the agent is meant to run).
        """
        return {}

    @abstractmethod
    def initial_state(self, batch_size: int) -> Any:
        """A fresh state for `batch_size` envs; the first token stepped must be a trial start."""

    @abstractmethod
    def step(self, tokens: TokenBatch, state: Any, trace: bool = False) -> StepOutput:
        """Advance every env by one token (inference mode, state updated in place)."""

    @abstractmethod
    def evaluate(self, sequences: TokenBatch, mask: Tensor) -> EvalOutput:
        """Recompute the step outputs for (B, T) sequences that begin at a trial start."""

    # True where the output at step t depends only on a bounded window of tokens ending at t (TrMRL's
    # working-memory window, the MLP's current token): then `evaluate_steps` computes single steps, and PPO
    # may draw minibatches of steps from across trials, as TrMRL's code does (`PPOConfig.minibatch_unit`).
    # Agents whose memory spans the trial (Memo, FCT, RMT, RL²) need whole trials.
    evaluates_single_steps: ClassVar[bool] = False
    # Whether a step's features carry the previous action, reward and done flag (the RL² token). The
    # memoryless baseline must not: win-stay / lose-shift on the previous reward is already in-context
    # adaptation (a two-armed bandit's best arm, found by it, scores 9.5 of 10 where memoryless play gets 5).
    reads_previous_step: ClassVar[bool] = True

    def evaluate_steps(self, sequences: TokenBatch, mask: Tensor, rows: Tensor, times: Tensor) -> EvalOutput:
        """What `evaluate(sequences, mask)` gives at the M valid steps (rows[i], times[i]), batch shape (M,),
        computed from those steps' windows alone."""
        raise NotImplementedError(
            f"{type(self).__name__}'s memory spans the trial: it evaluates whole trials only"
        )


def checked_mask(sequences: TokenBatch, mask: Tensor) -> Tensor:
    """`mask` as bool, after checking that `sequences` are (B, T) trials padded at the end only."""
    if sequences.prev_reward.dim() != 2:
        raise ValueError(f"evaluate expects (B, T) sequences, got lead shape {tuple(sequences.lead_shape)}")
    if mask.shape != sequences.lead_shape:
        raise ValueError(f"mask must have shape {tuple(sequences.lead_shape)}, got {tuple(mask.shape)}")
    mask = mask.bool()
    if (mask[:, 1:] & ~mask[:, :-1]).any():
        raise ValueError("padding must be trailing: a valid step follows a padded one in mask")
    if not bool((sequences.trial_start[:, 0].bool() | ~mask[:, 0]).all()):
        raise ValueError("each sequence must begin at a trial start (trial_start[:, 0] must be True)")
    return mask


def checked_steps(sequences: TokenBatch, mask: Tensor, rows: Tensor, times: Tensor) -> Tensor:
    """`checked_mask`, and a ValueError unless every selected step (rows[i], times[i]) is a valid one."""
    mask = checked_mask(sequences, mask)
    if rows.shape != times.shape or rows.dim() != 1:
        raise ValueError(
            f"rows and times must be (M,) index tensors, got {tuple(rows.shape)} and {tuple(times.shape)}"
        )
    if not bool(mask[rows, times].all()):
        raise ValueError("evaluate_steps: a selected step is padding (mask False there)")
    return mask


def synchronized_trials(trial_start: Tensor, mask: Tensor) -> list[tuple[int, int]]:
    """Split columns [0, T) at trial starts, which must be shared by every valid row (lockstep batches).

    Returns (start, end) column ranges, one per trial piece.
    """
    starts = trial_start.bool() & mask.bool()
    any_start = starts.any(dim=0)
    if bool(((starts != any_start.unsqueeze(0)) & mask.bool()).any()):
        raise ValueError(
            "trial starts must be synchronized across the batch (all envs of a batch start "
            "their trials on the same step)"
        )
    cols = [int(c) for c in torch.nonzero(any_start).flatten()]
    if not cols or cols[0] != 0:
        cols = [0, *cols]
    bounds = [*cols, trial_start.shape[1]]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def lockstep_flag(flags: Tensor, name: str) -> bool:
    """The batch-wide value of a per-env flag that lockstep agents need to be shared by all envs."""
    first = bool(flags[0])
    if bool((flags.bool() != first).any()):
        raise ValueError(f"{name} must be the same for every env of a batch (trials start in lockstep)")
    return first
