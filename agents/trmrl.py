"""TrMRL: "Transformers are Meta-Reinforcement Learners" (Melo, ICML 2022, arXiv 2206.06614).

Faithful to the official code (luckeciano/transformers-metarl, branch trmrl-torch), files
`src/garage/torch/policies/gaussian_transformer_encoder_policy.py` (the policy, below "policy file") and
`src/garage/torch/modules/transformer_no_ln.py`.

* Working memory: each step's token (obs, previous action, previous reward, done) through ONE bias-free
  linear layer to d_model, with no sqrt(d) scale (policy file, `_obs_embedding`).
* Sinusoidal positions over window slots: the oldest token in the window has slot 0 (`PositionalEncoding`).
* Causal encoder layers WITHOUT LayerNorm, `x = x + MHA(x); x = x + FFN(x)`, ReLU FFN, no final norm,
  dropout 0 (`TransformerEncoderLayerNoLN`), initialised with T-Fixup instead of LayerNorm (see `_tfixup`).
* The window holds the last `wm_size` tokens (default 5). The official worker clears it at every episode
  start (`RL2Worker.rollout` calls `reset_observations` per episode); `window_spans_episodes=True` lets it
  reach back into earlier episodes of the same trial. It is always cleared at a trial start.
* The policy reads the newest token's output ("latest_memory", the episodic memory).
* Value: `value_input="shared"` puts the value MLP on the same memory (Dir tasks, `--share_network`);
  `"separate"` is the official `GaussianMLPValueFunction` without a base model: a tanh MLP over the RL²
  observation of the current step alone, i.e. the raw token features, with no memory (Vel / Meta-World).

Because positions index window slots, a token's slot changes every step once the window is full, so
keys cannot be cached across steps: the "cache" is the window itself (at most `wm_size` token
embeddings), re-encoded at every step. `evaluate` builds, for every time t, the same window ending at t
and encodes all of them as one batch, with the same masks, so both paths compute the same function.

Speed (issue 3: `step` for 16 envs in about 1 ms on 2 CPU cores; docs/benchmarks.md has the profile):
* Only the newest token's output is read, so the last layer computes its query, attention output and FFN
  for that row alone (every row is still needed as a key and value).
* Attention over a 5-token window with 16 heads of width 8 is a few thousand multiply-adds per window;
  SDPA's CPU kernel costs about the same per (window, head) pair whatever its size, so with many pairs
  (the MuJoCo preset's 16 envs x 16 heads, or any training batch) `window_attention` computes it in a
  handful of batched ops instead; with few (Meta-World's 4 heads at 16 envs) SDPA stays faster.

Deviations from the official code (none changes the function computed at a step):
* The fused QKV projection holds q, k, v as in `nn.MultiheadAttention.in_proj_weight`, so T-Fixup's
  extra sqrt(2) on that fused matrix is kept exactly as the official code applies it.
* A window that is not yet full is encoded as its n valid tokens at slots 0..n-1 with the other slots
  masked out; the official code zero-pads the right of its buffer instead. Under the causal mask the
  newest token sees the same n tokens at the same slots either way.
* The separate value MLP outputs the value only; the official one is the mean of a Gaussian whose learned
  std enters its NLL loss. The value loss is the trainer's choice. The official trainer hands that MLP the
  stored window tensor, which applies it slot by slot; we give it the current token, its documented input.
* Only the paper's policy input ("latest_memory") is offered, not the code's "mixed_memory" / "full_memory".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agents.base import (
    KEY_STEP,
    ActionKind,
    Agent,
    AgentEntry,
    AgentSpec,
    AttentionTrace,
    EvalOutput,
    StepOutput,
    StepTrace,
    TokenBatch,
    checked_steps,
    hp,
)
from agents.heads import PolicyHead, ValueHead
from agents.layers import TransformerStack, sinusoidal_table
from scenes.errors import UserError

VALUE_INPUTS: tuple[str, ...] = ("shared", "separate")
# (window, head) pairs from which `window_attention` beats SDPA on CPU (measured crossover, 2 threads:
# 16 windows x 16 heads 1.7x faster, 16 x 8 and 16 x 4 slower, 400 x 4 1.2x faster). It holds on CUDA too:
# SDPA's fused kernels also pay per (window, head) pair (docs/benchmarks.md, "On a device").
WINDOW_ATTENTION_MIN_PAIRS = 256


@dataclass
class TrMRLSpec(AgentSpec):
    d_model: int = hp(128, "transformer width (paper MuJoCo: 128; Meta-World: 32)")
    n_layers: int = hp(4, "encoder layers N (T-Fixup scales by N)")
    n_heads: int = hp(16, "attention heads (paper MuJoCo: 16; Meta-World: 4)")
    d_ff: int = hp(512, "ReLU feed-forward width (paper MuJoCo: 512; Meta-World: 128)")
    wm_size: int = hp(5, "window of working memories: the last wm_size tokens (official default 5)")
    window_spans_episodes: bool = hp(
        False,
        "let the window reach into earlier episodes of the trial (official: cleared at every episode start)",
    )
    value_input: str = hp(
        "shared",
        "'shared': value MLP on the transformer memory (Dir tasks); "
        "'separate': value MLP on the raw current token (Vel / Meta-World)",
    )

    def validate(self) -> None:
        super().validate()
        for name in ("d_model", "n_layers", "n_heads", "d_ff", "wm_size"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise UserError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if self.value_input not in VALUE_INPUTS:
            raise UserError(f"value_input must be one of {VALUE_INPUTS}, got {self.value_input!r}")


def window_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, heads: Tensor) -> tuple[Tensor, Tensor]:
    """Multi-head softmax attention over short windows, heads kept side by side in the feature dimension.

    q (N, Lq, d); k, v (N, Lk, d); `bias` (N, Lq, Lk, 1) additive mask (0 or -inf, every row keeps a key);
    `heads` (d, H) is 1 where feature f belongs to head h. The scores are the elementwise products q_i * k_j
    summed over each head's features by one matmul with `heads`, and the values are weighted per head by
    broadcasting. Its cost is a few fixed ops plus arithmetic, where SDPA's CPU kernel pays per (window,
    head) pair: see `WINDOW_ATTENTION_MIN_PAIRS`. Returns the output (N, Lq, d) and the probabilities
    (N, Lq, Lk, H).
    """
    n, lq, d = q.shape
    lk, n_heads = k.shape[1], heads.shape[1]
    scores = ((q * (d // n_heads) ** -0.5).unsqueeze(2) * k.unsqueeze(1)).view(-1, d) @ heads
    probs = (scores.view(n, lq, lk, n_heads) + bias).softmax(dim=2)
    out = (probs.unsqueeze(-1) * v.unflatten(-1, (n_heads, -1)).unsqueeze(1)).sum(dim=2)
    return out.view(n, lq, d), probs


@dataclass
class TrMRLState:
    """Per-env windows, newest token at the right end; valid tokens are consecutive trial steps, so a
    slot's step index is `time - (wm - 1 - slot)`."""

    window: Tensor  # (B, wm, d) token embeddings
    count: Tensor  # (B,) long: valid tokens in the window (at its right end)
    time: Tensor  # (B,) long: trial step index of the newest token
    started: bool = False  # a first token has been stepped (checked once, not per env at every step)


class TrMRL(Agent):
    encoder: TransformerStack
    pos_by_count: Tensor
    bias_by_count: Tensor
    heads: Tensor

    def __init__(
        self,
        spec: TrMRLSpec,
        obs_dim: int,
        action_kind: ActionKind,
        act_dim: int,
        *,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__(spec, obs_dim, action_kind, act_dim, image_shape=image_shape)
        self.spec: TrMRLSpec = spec
        d, wm = spec.d_model, spec.wm_size
        self.embed = nn.Linear(self.token_dim, d, bias=False)
        # nn.MultiheadAttention and the FFN carry biases in the official encoder layer.
        self.encoder = TransformerStack(
            d, spec.n_layers, spec.n_heads, spec.d_ff, norm="none", activation="relu", bias=True, rope=False
        )
        self.policy = PolicyHead(d, action_kind, act_dim, spec.head_hidden, spec.init_std, spec.output_gain)
        value_in = d if spec.value_input == "shared" else self.token_dim
        self.value = ValueHead(value_in, spec.head_hidden)
        # Tables indexed by the number c of valid tokens (right-aligned in the wm slots):
        # slot j holds window position j - (wm - c); query i may attend to key j iff j is valid and j <= i
        # (an additive mask: 0 or -inf). Invalid query rows attend to themselves only, so no row is empty;
        # their outputs never reach a valid row (valid rows only attend to valid keys) and are discarded.
        pe = sinusoidal_table(wm, d)
        pos_by_count = torch.zeros(wm + 1, wm, d)
        bias_by_count = torch.zeros(wm + 1, wm, wm, 1)
        causal = torch.ones(wm, wm, dtype=torch.bool).tril()
        for c in range(wm + 1):
            pos_by_count[c, wm - c :] = pe[:c]
            valid = torch.arange(wm) >= wm - c
            allowed = (causal & valid.unsqueeze(0)) | torch.eye(wm, dtype=torch.bool)
            bias_by_count[c, ~allowed] = float("-inf")
        # heads[f, h] = 1 where feature f belongs to head h (`window_attention` sums scores per head).
        heads = (torch.arange(d).unsqueeze(1) // (d // spec.n_heads) == torch.arange(spec.n_heads)).float()
        self.register_buffer("pos_by_count", pos_by_count, persistent=False)
        self.register_buffer("bias_by_count", bias_by_count, persistent=False)
        self.register_buffer("heads", heads, persistent=False)
        self._tfixup()

    @torch.no_grad()
    def _tfixup(self) -> None:
        """T-Fixup (Huang et al. 2020) exactly as the official policy's constructor applies it:
        Xavier-uniform on every matrix of the encoder; the input embedding ~ N(0, d^-1/2) scaled by
        (9N)^-1/4; the attention in-projection scaled by 0.67 N^-1/4 * sqrt(2) (the sqrt(2) is in the
        official code: it is applied to the fused (3d, d) in_proj_weight), the attention out-projection and
        both FFN weights scaled by 0.67 N^-1/4. Attention biases start at zero (`nn.MultiheadAttention`),
        FFN biases keep `nn.Linear`'s default.
        """
        n, d = self.spec.n_layers, self.spec.d_model
        for p in self.encoder.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        nn.init.normal_(self.embed.weight, 0.0, d**-0.5)
        self.embed.weight.mul_((9 * n) ** -0.25)
        scale = 0.67 * n**-0.25
        for block in self.encoder.blocks:
            block.attn.qkv.weight.mul_(scale * 2**0.5)
            block.attn.out.weight.mul_(scale)
            block.ffn.linear1.weight.mul_(scale)
            block.ffn.linear2.weight.mul_(scale)
            nn.init.zeros_(block.attn.qkv.bias)
            nn.init.zeros_(block.attn.out.bias)

    def _encode(self, windows: Tensor, count: Tensor, want_weights: bool) -> tuple[Tensor, list[Tensor]]:
        """Encode (N, wm, d) right-aligned windows holding `count` valid tokens: the newest outputs (N, d)
        and, if wanted, each layer's attention of the newest token (N, n_heads, wm).

        The official no-LN layer, `x = x + MHA(x); x = x + FFN(x)` (the blocks' norms are identities and
        the stack has no final norm, so neither is applied).
        """
        x = windows + self.pos_by_count[count]
        bias = self.bias_by_count[count]
        weights = []
        last = self.spec.n_layers - 1
        for layer, block in enumerate(self.encoder.blocks):
            attn = block.attn
            q, k, v = attn.qkv(x).unflatten(-1, (3, -1)).unbind(-2)
            if layer == last:  # only the newest row is read: every row is a key, the newest one a query
                q, x, bias = q[:, -1:], x[:, -1:], bias[:, -1:]
            y, newest = self._attention(q, k, v, bias, want_weights)
            x = x + attn.out(y)
            x = x + block.ffn(x)
            if newest is not None:
                weights.append(newest)
        return x[:, -1], weights

    def _attention(
        self, q: Tensor, k: Tensor, v: Tensor, bias: Tensor, want_weights: bool
    ) -> tuple[Tensor, Tensor | None]:
        """Attention of (N, Lq, d) queries over (N, wm, d) windows: the output (N, Lq, d) and, if wanted,
        the newest query's weights (N, n_heads, wm). Both paths compute the same function."""
        n, lq, d = q.shape
        n_heads = self.spec.n_heads
        if want_weights or n * n_heads >= WINDOW_ATTENTION_MIN_PAIRS:
            y, probs = window_attention(q, k, v, bias, self.heads)
            return y, probs[:, -1].transpose(1, 2) if want_weights else None
        q, k, v = (t.unflatten(-1, (n_heads, -1)).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.squeeze(-1).unsqueeze(1))
        return y.transpose(1, 2).reshape(n, lq, d), None

    def _value(self, memory: Tensor, feats: Tensor) -> Tensor:
        return self.value(memory if self.spec.value_input == "shared" else feats)

    @torch.inference_mode()
    def initial_state(self, batch_size: int) -> TrMRLState:
        wm, dev = self.spec.wm_size, self.device
        return TrMRLState(
            window=torch.zeros(batch_size, wm, self.spec.d_model, dtype=self.dtype, device=dev),
            count=torch.zeros(batch_size, dtype=torch.long, device=dev),
            time=torch.full((batch_size,), -1, dtype=torch.long, device=dev),
        )

    def _resets(self, tokens: TokenBatch) -> Tensor:
        reset = tokens.trial_start.bool()
        if not self.spec.window_spans_episodes:
            reset = reset | tokens.episode_start.bool()
        return reset

    @torch.inference_mode()
    def step(self, tokens: TokenBatch, state: TrMRLState, trace: bool = False) -> StepOutput:
        feats = self.features(tokens)
        emb = self.embed(feats)
        trial_start = tokens.trial_start.bool()
        if not (state.started or bool(trial_start.all())):
            raise ValueError("the first token stepped from initial_state must be a trial start")
        state.started = True
        state.count = torch.where(self._resets(tokens), 1, (state.count + 1).clamp_max(self.spec.wm_size))
        state.time = torch.where(trial_start, 0, state.time + 1)
        state.window = torch.cat((state.window[:, 1:], emb.unsqueeze(1)), dim=1)
        memory, weights = self._encode(state.window, state.count, trace)
        dist = self.policy(memory)
        value = self._value(memory, feats)
        step_trace = self._trace(state, memory, emb, weights) if trace else None
        return StepOutput(dist, value, state, step_trace)

    def _trace(self, state: TrMRLState, memory: Tensor, emb: Tensor, weights: list[Tensor]) -> StepTrace:
        wm = self.spec.wm_size
        slots = torch.arange(wm, device=state.count.device)
        valid = slots >= (wm - state.count).unsqueeze(1)
        window_time = torch.where(valid, state.time.unsqueeze(1) - (wm - 1 - slots), -1)
        attention = AttentionTrace(
            weights=weights,
            key_kind=torch.full_like(window_time, KEY_STEP),
            key_time=window_time,
            key_segment=torch.full_like(window_time, -1),
            valid=valid,
        )
        return StepTrace(
            cache_tokens=wm,
            cache_bytes=state.window.numel() * state.window.element_size(),
            attention=attention,
            memory=memory,
            working_memory=emb,
            window_time=window_time,
        )

    def _window_counts(self, sequences: TokenBatch, mask: Tensor) -> Tensor:
        """(B, T): how many tokens the window ending at each step holds (steps since the most recent reset at
        or before it, counting itself, at most wm_size)."""
        steps = torch.arange(mask.shape[1], device=mask.device)
        resets = self._resets(sequences) & mask
        last_reset = torch.where(resets, steps, -1).cummax(dim=1).values
        return (steps - last_reset + 1).clamp_max(self.spec.wm_size)

    def _window_steps(self, times: Tensor) -> Tensor:
        """(..., wm) the steps t-wm+1 .. t of the window ending at each of `times` (right-aligned). Steps before
        the trial start are clamped to 0: those slots are masked by the window's count, so what the clamped
        gather puts there never matters."""
        wm = self.spec.wm_size
        return (times.unsqueeze(-1) - (wm - 1) + torch.arange(wm, device=times.device)).clamp_min(0)

    def evaluate(self, sequences: TokenBatch, mask: Tensor) -> EvalOutput:
        feats = self.sequence_features(sequences, mask)
        b, t, _ = feats.shape
        wm = self.spec.wm_size
        emb = self.embed(feats)
        count = self._window_counts(sequences, mask.bool())
        windows = emb[:, self._window_steps(torch.arange(t, device=feats.device))]  # (B, T, wm, d)
        memory, _ = self._encode(windows.reshape(b * t, wm, -1), count.reshape(-1), want_weights=False)
        memory = memory.view(b, t, -1)
        values = self._value(memory, feats) * mask
        return EvalOutput(self.policy(memory), values)

    # A step's output reads its window alone: the update may draw single steps, as TrMRL's code does
    # (its minibatches are 256 / 32 time steps drawn from every task's trial, each with its stored window).
    evaluates_single_steps = True

    def evaluate_steps(self, sequences: TokenBatch, mask: Tensor, rows: Tensor, times: Tensor) -> EvalOutput:
        mask = checked_steps(sequences, mask, rows, times)
        count = self._window_counts(sequences, mask)[rows, times]
        window_tokens = sequences.index((rows.unsqueeze(1), self._window_steps(times)))  # lead (M, wm)
        # Earlier steps of a valid step's row are valid (padding is trailing): no features to zero. Each
        # window is featurised whole, so with image observations the CNN sees wm_size images per chosen step
        # (a step shared by several windows is encoded once per window, as the official trainer does).
        feats = self.features(window_tokens)
        memory, _ = self._encode(self.embed(feats), count, want_weights=False)
        return EvalOutput(self.policy(memory), self._value(memory, feats[:, -1]))


ENTRY = AgentEntry(
    TrMRL,
    TrMRLSpec,
    "TrMRL: transformer encoder without LayerNorm (T-Fixup) over a window of the last wm_size working "
    "memories (Melo, ICML 2022)",
    presets={
        # Paper / official launchers: the MuJoCo sizes are the spec defaults.
        "mujoco": {},
        "halfcheetah-vel": {"init_std": 0.2, "value_input": "separate"},
        "halfcheetah-dir": {"init_std": 0.5, "value_input": "shared"},
        "ant-dir": {"init_std": 0.5, "value_input": "shared", "output_gain": 0.01},
        "metaworld": {
            "d_model": 32,
            "n_heads": 4,
            "d_ff": 128,
            "init_std": 1.0,
            "value_input": "separate",
            "output_gain": 0.01,
        },
    },
)
