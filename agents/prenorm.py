"""What Memo, RMT and the full-context transformer (FCT) share: a linear token embedding, a pre-norm
RoPE transformer stack with a KV cache, the policy / value heads on the newest token's output, and the
attention trace read from the cache's slot labels.

Positions are RoPE (not learned absolute embeddings), because:
* contexts reach 32k steps at evaluation (Memo paper: trained on 4k-step trials, tested up to 32k), past any
  table a learned embedding would have been trained on;
* streaming keeps only the newest T cache entries with positions NOT re-indexed; RoPE keys are cached
  already rotated, so dropping old entries needs no recomputation and relative offsets stay right;
* Memo's navigation model is LLaMA-based and uses RoPE (official `modeling_llamarl.py`).
(The AMAGO gridworld code uses learned absolute positions; that is a deviation for the gridworld preset.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from agents.base import ActionKind, Agent, AgentSpec, AttentionTrace, hp
from agents.heads import PolicyHead, ValueHead
from agents.layers import ACTIVATIONS, NORMS, KVCache, TransformerStack
from scenes.errors import UserError


@dataclass
class PreNormSpec(AgentSpec):
    d_model: int = hp(128, "transformer width (Memo gridworld ~128; navigation 256)")
    n_layers: int = hp(2, "transformer blocks (gridworld 2; navigation 4)")
    n_heads: int = hp(4, "attention heads (navigation 8)")
    d_ff: int = hp(512, "feed-forward width (navigation 1024)")
    norm: str = hp("layer", f"pre-norm, one of {NORMS[1:]} ('rms' as LLaMA, 'layer' as AMAGO)")
    activation: str = hp("relu", f"feed-forward activation, one of {ACTIVATIONS} ('swiglu' as LLaMA)")
    stream_window: int = hp(
        0, "streaming: keep only the newest T cache entries, positions not re-indexed (0 = off)"
    )

    def validate(self) -> None:
        super().validate()
        for name in ("d_model", "n_layers", "n_heads", "d_ff"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise UserError(
                f"d_model / n_heads must be an even integer (RoPE), got {self.d_model} / {self.n_heads}"
            )
        if self.norm not in NORMS[1:]:
            raise UserError(f"norm must be one of {NORMS[1:]}, got {self.norm!r}")
        if self.activation not in ACTIVATIONS:
            raise UserError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.stream_window < 0:
            raise UserError(f"stream_window must be >= 0, got {self.stream_window}")


class PreNormAgent(Agent):
    def __init__(
        self,
        spec: PreNormSpec,
        obs_dim: int,
        action_kind: ActionKind,
        act_dim: int,
        *,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__(spec, obs_dim, action_kind, act_dim, image_shape=image_shape)
        d = spec.d_model
        # One linear token embedding (AMAGO's `inp`); bias-free projections inside the stack, as LLaMA.
        self.embed = nn.Linear(self.token_dim, d)
        self.stack = TransformerStack(
            d,
            spec.n_layers,
            spec.n_heads,
            spec.d_ff,
            norm=spec.norm,
            activation=spec.activation,
            bias=False,
            rope=True,
        )
        self.policy = PolicyHead(d, action_kind, act_dim, spec.head_hidden, spec.init_std, spec.output_gain)
        self.value = ValueHead(d, spec.head_hidden)

    def heads(self, memory: Tensor) -> tuple[Distribution, Tensor]:
        return self.policy(memory), self.value(memory)

    def new_cache(self, batch_size: int, capacity: int) -> KVCache:
        return self.stack.new_cache(batch_size, capacity, next(self.parameters()))

    @staticmethod
    def attention_trace(
        cache: KVCache, read_start: int, read_end: int, weights: list[Tensor]
    ) -> AttentionTrace:
        """Label the keys the step's token attended to from the slot labels written with them."""
        batch = weights[0].shape[0]
        labels = torch.from_numpy(cache.labels[:, read_start:read_end].copy())
        kind, time, segment = (row.unsqueeze(0).expand(batch, -1) for row in labels)
        return AttentionTrace(
            weights=[w[:, :, -1] for w in weights],
            key_kind=kind,
            key_time=time,
            key_segment=segment,
            valid=torch.ones_like(kind, dtype=torch.bool),
        )


# Model sizes shared by Memo, RMT and FCT so the comparison is like for like. Gridworld: AMAGO-side
# (d 128, 2 layers, LayerNorm); navigation: the LLaMA model of the paper (4 layers, 8 heads, d 256, MLP
# 1024, RMSNorm, SwiGLU).
SIZE_PRESETS: dict[str, dict[str, object]] = {
    "gridworld": {
        "d_model": 128,
        "n_layers": 2,
        "n_heads": 4,
        "d_ff": 512,
        "norm": "layer",
        "activation": "relu",
    },
    "navigation": {
        "d_model": 256,
        "n_layers": 4,
        "n_heads": 8,
        "d_ff": 1024,
        "norm": "rms",
        "activation": "swiglu",
    },
}
