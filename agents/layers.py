"""Transformer pieces shared by every transformer agent: one attention (with an optional KV cache), one
block, one stack, rotary and sinusoidal positions, and the preallocated KV cache.

TrMRL builds its encoder with `norm="none"` (its encoder layer has no LayerNorm: `x = x + MHA(x);
x = x + FFN(x)`, official `transformer_no_ln.py`) and runs these blocks' weights through its own window
loop (`agents/trmrl.py`); Memo / FCT call the stack with a pre-norm (`"layer"` or `"rms"`). A pre-norm
block whose norms are the identity is exactly TrMRL's no-LN layer, so there is one block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS: tuple[str, ...] = ("none", "layer", "rms")
ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "swiglu")


def make_norm(kind: str, d_model: int) -> nn.Module:
    if kind == "layer":
        return nn.LayerNorm(d_model)
    if kind == "rms":
        return nn.RMSNorm(d_model, eps=1e-6)  # LLaMA's RMSNorm (Memo navigation model)
    return nn.Identity()


def sinusoidal_table(n_positions: int, d_model: int) -> Tensor:
    """The sin/cos table of 'Attention Is All You Need' (TrMRL's `PositionalEncoding`), (n, d)."""
    position = torch.arange(n_positions, dtype=torch.float64).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    table = torch.zeros(n_positions, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
    return table.float()


class RotaryEmbedding(nn.Module):
    """RoPE (LLaMA's rotate-half form) with a cos/sin table grown on demand, cached per dtype.

    Angles are computed in float64 so positions of 32k+ steps keep full float32 precision. The table holds
    each angle's cos twice and its sin as (-sin, sin), the factors `apply_rope` multiplies both halves by.
    """

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RoPE needs an even head dimension, got {head_dim}")
        self.inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
        self._tables: dict[torch.dtype, tuple[Tensor, Tensor]] = {}

    def table(self, n: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
        """cos and signed sin for positions [0, n), each (capacity, head_dim), capacity >= n."""
        cached = self._tables.get(dtype)
        if cached is None or cached[0].shape[0] < n or cached[0].device != device:
            size = max(1024, 1 << (max(n, 1) - 1).bit_length())
            # Built as normal tensors even when first needed inside `step`'s inference mode, so the
            # training path can use the same table under autograd.
            with torch.inference_mode(False):
                angles = torch.arange(size, dtype=torch.float64).unsqueeze(1) * self.inv_freq
                cos, sin = angles.cos(), angles.sin()
                cached = (
                    torch.cat((cos, cos), dim=1).to(device, dtype),
                    torch.cat((-sin, sin), dim=1).to(device, dtype),
                )
            self._tables[dtype] = cached
        return cached

    def at(self, positions: Tensor | slice, like: Tensor) -> tuple[Tensor, Tensor]:
        """cos, signed sin (L, head_dim) for positions given as an index tensor or a contiguous slice."""
        top = positions.stop if isinstance(positions, slice) else int(positions.max()) + 1
        cos, sin = self.table(top, like.dtype, like.device)
        return cos[positions], sin[positions]


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate vectors x (..., hd) by their positions' angles (rotate-half pairing, as in LLaMA):
    (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), with `cos` = (cos, cos) and `sin` = (-sin, sin)
    broadcasting against x. Written as x * cos + (x2, x1) * sin: four ops instead of seven."""
    return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * sin


class KVCache:
    """Preallocated keys and values for every layer, (n_layers, B, H, capacity, head_dim), plus per-slot
    labels (kind, trial step, segment) that traces read. Grows by doubling so appends are amortised O(1).
    """

    def __init__(
        self,
        n_layers: int,
        batch: int,
        n_heads: int,
        head_dim: int,
        capacity: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        shape = (n_layers, batch, n_heads, capacity, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.labels = np.full((3, capacity), -1, dtype=np.int64)  # rows: kind, time, segment

    @property
    def capacity(self) -> int:
        return self.k.shape[3]

    def entry_bytes(self) -> int:
        """Bytes one cached token costs across layers, batch, keys and values."""
        n_layers, batch, n_heads, _, head_dim = self.k.shape
        return 2 * n_layers * batch * n_heads * head_dim * self.k.element_size()

    def reserve(self, n: int) -> None:
        if n <= self.capacity:
            return
        new_cap = max(n, 2 * self.capacity)
        for name in ("k", "v"):
            old = getattr(self, name)
            # Uninitialised: a slot is always written before it is read, and zero-filling hundreds of MB
            # at long contexts would double the cost of the (rare) step that grows the cache.
            grown = old.new_empty((*old.shape[:3], new_cap, old.shape[4]))
            grown[:, :, :, : old.shape[3]] = old
            setattr(self, name, grown)
        labels = np.full((3, new_cap), -1, dtype=np.int64)
        labels[:, : self.labels.shape[1]] = self.labels
        self.labels = labels

    def move(self, start: int, end: int, dest: int) -> None:
        """Copy slots [start, end) to [dest, dest + end - start) (dest < start; used to compact)."""
        n = end - start
        self.k[:, :, :, dest : dest + n] = self.k[:, :, :, start:end].clone()
        self.v[:, :, :, dest : dest + n] = self.v[:, :, :, start:end].clone()
        self.labels[:, dest : dest + n] = self.labels[:, start:end]

    def label(self, start: int, n: int, kind: int, time: int, segment: int) -> None:
        self.labels[0, start : start + n] = kind
        self.labels[1, start : start + n] = time
        self.labels[2, start : start + n] = segment


@dataclass
class CacheView:
    """Where one call writes its new keys/values in a KVCache, and which slots it attends to."""

    cache: KVCache
    write: int  # first slot the call's L new tokens are written to
    read_start: int  # attended slots are [read_start, read_end); they include the written ones
    read_end: int


@dataclass
class KVPrefix:
    """The training path's counterpart of CacheView: keys and values (per layer, (B, H, P, head_dim), keys
    already rotated) of P earlier tokens that the call's tokens attend to before themselves. They are kept as
    ordinary tensors, not written into a preallocated cache, so gradients flow through them. The call's own
    keys and values are appended to `new_keys` / `new_values`, one per layer."""

    keys: list[Tensor]
    values: list[Tensor]
    new_keys: list[Tensor] = field(default_factory=list)
    new_values: list[Tensor] = field(default_factory=list)


# Key elements (batch x heads x keys x head_dim) from which one query's attention runs as two matmuls:
# the crossover measured on the 2-core development machine (16 envs x 4 heads x 1024 keys of width 32).
_STREAMED_KEYS = 1 << 21


def attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool, want_weights: bool
) -> tuple[Tensor, Tensor | None]:
    """Softmax attention. `mask` (bool, True = attend) broadcasts to (B, H, Lq, Lk); `causal` (only
    without a mask, Lq == Lk) is the usual lower-triangular mask. The fast path is SDPA; the explicit
    softmax runs when the caller wants the weights (tracing), and for one query against a large KV cache
    (a cached `step` at long context), a matrix-vector product per head that two matmuls stream faster
    than the CPU flash kernel does (1.2-1.45x at 16 envs x 2k-4k keys, docs/benchmarks.md); below
    `_STREAMED_KEYS` SDPA's lower fixed cost wins.
    """
    # Off the CPU, SDPA always (CUDA's fused kernels); the streamed matrix-vector path is a CPU measurement.
    if not want_weights and (q.shape[-2] > 1 or k.numel() < _STREAMED_KEYS or q.device.type != "cpu"):
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal and mask is None
        ), None
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if mask is None and causal:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused QKV projection, optional RoPE and an optional KV cache."""

    def __init__(self, d_model: int, n_heads: int, bias: bool) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)

    def forward(
        self,
        x: Tensor,
        rope: tuple[Tensor, Tensor] | None,
        mask: Tensor | None,
        causal: bool,
        view: CacheView | KVPrefix | None,
        layer: int,
        want_weights: bool,
    ) -> tuple[Tensor, Tensor | None]:
        b, n, d = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.n_heads, self.head_dim)
        if rope is not None:
            # q and k rotated in one pass; tables (n, hd) broadcast over the q/k and head dimensions.
            cos, sin = rope
            q, k = apply_rope(qkv[:, :, :2], cos[:, None, None], sin[:, None, None]).permute(2, 0, 3, 1, 4)
            v = qkv[:, :, 2].transpose(1, 2)
        else:
            q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if isinstance(view, KVPrefix):
            view.new_keys.append(k)
            view.new_values.append(v)
            if view.keys[layer].shape[2]:
                k = torch.cat((view.keys[layer], k), dim=2)
                v = torch.cat((view.values[layer], v), dim=2)
        elif view is not None:
            # Keys are cached after rotation, so a cached key keeps its position forever: nothing is
            # re-indexed when older entries are dropped (Memo's streaming mode).
            view.cache.k[layer, :, :, view.write : view.write + n] = k
            view.cache.v[layer, :, :, view.write : view.write + n] = v
            k = view.cache.k[layer, :, :, view.read_start : view.read_end]
            v = view.cache.v[layer, :, :, view.read_start : view.read_end]
        y, weights = attention(q, k, v, mask, causal, want_weights)
        return self.out(y.transpose(1, 2).reshape(b, n, d)), weights


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, activation: str, bias: bool) -> None:
        super().__init__()
        self.activation = activation
        # SwiGLU (LLaMA's MLP, Memo's navigation model) fuses the gate and up projections.
        width = 2 * d_ff if activation == "swiglu" else d_ff
        self.linear1 = nn.Linear(d_model, width, bias=bias)
        self.linear2 = nn.Linear(d_ff, d_model, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear1(x)
        if self.activation == "swiglu":
            gate, up = h.chunk(2, dim=-1)
            h = F.silu(gate) * up
        elif self.activation == "gelu":
            h = F.gelu(h)
        else:
            h = F.relu(h)
        return self.linear2(h)


class Block(nn.Module):
    """`x = x + attn(norm1(x)); x = x + ffn(norm2(x))` (pre-norm; identity norms give TrMRL's layer)."""

    attn: SelfAttention
    ffn: FeedForward

    def __init__(self, d_model: int, n_heads: int, d_ff: int, norm: str, activation: str, bias: bool) -> None:
        super().__init__()
        self.norm1 = make_norm(norm, d_model)
        self.attn = SelfAttention(d_model, n_heads, bias)
        self.norm2 = make_norm(norm, d_model)
        self.ffn = FeedForward(d_model, d_ff, activation, bias)

    def forward(
        self,
        x: Tensor,
        rope: tuple[Tensor, Tensor] | None,
        mask: Tensor | None,
        causal: bool,
        view: CacheView | KVPrefix | None,
        layer: int,
        want_weights: bool,
    ) -> tuple[Tensor, Tensor | None]:
        h, weights = self.attn(self.norm1(x), rope, mask, causal, view, layer, want_weights)
        x = x + h
        return x + self.ffn(self.norm2(x)), weights


class TransformerStack(nn.Module):
    """N blocks and a final norm (identity for TrMRL: no final norm in the official encoder)."""

    blocks: list[Block]  # an nn.ModuleList at run time

    def __init__(
        self,
        d_model: int,
        n_layers: int,
        n_heads: int,
        d_ff: int,
        norm: str,
        activation: str,
        bias: bool,
        rope: bool,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.blocks = nn.ModuleList(  # type: ignore[assignment]  # iterates as list[Block]
            Block(d_model, n_heads, d_ff, norm, activation, bias) for _ in range(n_layers)
        )
        self.final_norm = make_norm(norm, d_model)
        self.rope = RotaryEmbedding(d_model // n_heads) if rope else None
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads

    def new_cache(self, batch: int, capacity: int, like: Tensor) -> KVCache:
        return KVCache(self.n_layers, batch, self.n_heads, self.head_dim, capacity, like.dtype, like.device)

    def forward(
        self,
        x: Tensor,
        positions: Tensor | slice | None = None,
        mask: Tensor | None = None,
        causal: bool = False,
        view: CacheView | KVPrefix | None = None,
        want_weights: bool = False,
    ) -> tuple[Tensor, list[Tensor]]:
        """x (B, L, d) -> (final-normed output (B, L, d), per-layer weights (B, H, L, K) if wanted).

        `positions` (RoPE stacks only) are the L tokens' positions, a tensor or a contiguous slice. With a
        `view` the tokens attend to the cached or prefix entries first; `mask` then covers them too.
        """
        rope = None
        if self.rope is not None:
            if positions is None:
                raise ValueError("a RoPE stack needs the tokens' positions")
            rope = self.rope.at(positions, x)
        weights: list[Tensor] = []
        for layer, block in enumerate(self.blocks):
            x, w = block(x, rope, mask, causal, view, layer, want_weights)
            if w is not None:
                weights.append(w)
        return self.final_norm(x), weights
