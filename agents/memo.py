"""Memo: "Training Memory-Efficient Embodied Agents with RL" (Gupta et al., NeurIPS 2025, arXiv 2510.19732),
and RMT, its recurrent-memory baseline (the same model keeping only the newest summary).

Official code read: gunshi/memo `memo/policies/llamarl/modeling_llamarl.py` (`AutocompLlamaRLModel`) and
Memory-icrl/memo `amago/nets/transformer.py` (`AutoCompressorTransformer`, `RmtTransformer`).

The function computed (paper, method section; both official code bases):
* The trial's token stream is cut into segments of `segment_length` (l_seg) tokens. Segment k's input is
  `[summaries of segments 0..k-1 | its own tokens | l_sum learned summary queries]` under plain causal
  attention; raw tokens of earlier segments are never visible again. The final-layer (final-normed)
  outputs at the query positions are segment k's summary tokens (RMT: only segment k-1's summary is
  prepended). The last, unfinished segment has no queries.
* Positions (RoPE, see `agents/prenorm.py`): summaries 0..n·l_sum-1, the segment continues after them,
  the queries after the segment: `arange` over each segment's input, as the official training path.
* Attention crosses episode boundaries inside a trial (inter-episode attention); memory resets only at a
  trial start.
* Gradients flow through every summary of a trained sequence; `summary_detach_prob` stops them at a new
  summary with that probability (official `create_softprompt`).
* In training, one segment length l ~ int(U[0.8, 1.2]·l_seg) is drawn per `evaluate` call (official:
  `int(segment_length * (0.8 + 0.4 * rand))`, one per forward); inference uses l_seg. To let `step`
  reproduce a training segmentation, pass the same `segment_length` to `initial_state` and `evaluate`.

Inference (`step`, official `forward` with a cache): the KV cache holds the held summaries' KV and the
current segment's KV. When a segment ends, the l_sum queries run through the model with that cache, their
outputs are re-encoded as input tokens (at the summary positions, with the earlier summaries' KV as
cache) to make the summaries' KV, and the segment's KV is dropped.

Training (`evaluate`) computes the same thing over a whole stored trial with autograd: each summary block is
encoded once (the re-encoding above, its keys and values kept as tensors in the graph) and every later
segment's tokens and queries attend to those keys and values before their own. The official training path
instead feeds the summaries as input tokens to every later segment's forward and recomputes their rows each
time; under causal attention those rows depend only on earlier summaries, so both give the same outputs and
gradients, and encoding each block once does about a quarter less work per update (1.3x faster forward +
backward on the gridworld fast preset). What training optimises is what runs at inference.

Streaming (`stream_window = T`): the cache keeps only the newest T entries. Before a segment's queries run,
the oldest summary entries are dropped so that held summaries + segment + queries fit in T; positions
are not re-indexed. `evaluate` drops the same summaries at the same points.

Deviations from the official code:
* Positions: RoPE for every preset (the AMAGO gridworld code uses learned absolute positions).
* AMAGO's inference path gives the summary queries positions 0..l_sum-1 while its training path puts them
  after the segment; we use the training positions in both paths (gunshi/memo's LLaMA path agrees).
* AMAGO's training draws the segment length from a square-root-biased law starting at 80·l_sum; we use the
  paper's and gunshi/memo's U[0.8, 1.2]·l_seg.
* Blocks are plain pre-norm blocks (no NormFormer extra norms, no sigma-reparam linears as in AMAGO, no
  grouped KV heads or sink tokens as in the LLaMA code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from agents.base import (
    KEY_STEP,
    KEY_SUMMARY,
    ActionKind,
    AgentEntry,
    EvalOutput,
    MemoryEvent,
    StepOutput,
    StepTrace,
    TokenBatch,
    hp,
    lockstep_flag,
    synchronized_trials,
)
from agents.layers import CacheView, KVCache, KVPrefix
from agents.prenorm import SIZE_PRESETS, PreNormAgent, PreNormSpec
from scenes.errors import UserError

# The AMAGO fork's shortest training segment per summary token (`min_val = self.summary_length*80`).
AMAGO_FLOOR_PER_SUMMARY = 80


@dataclass
class MemoSpec(PreNormSpec):
    segment_length: int = hp(64, "l_seg: raw tokens per segment (paper navigation: 256)")
    summary_length: int = hp(8, "l_sum: summary tokens written at each segment end (paper navigation: 32)")
    accumulate: bool = hp(True, "keep every earlier summary (Memo); False keeps only the newest (RMT)")
    segment_jitter: float = hp(
        0.2, "training draws one segment length ~ U[1-j, 1+j]·l_seg per evaluate call (paper: 0.2; 0 = off)"
    )
    summary_detach_prob: float = hp(0.0, "training: probability of stopping gradients at a new summary")
    segment_draw: str = hp(
        "uniform",
        "how training draws l_seg: 'uniform' (U[1-j, 1+j]·l_seg, the navigation trainer's) or 'amago' "
        "(a + (l_seg + 1 - a)·sqrt(u), a = 80·l_sum: the AMAGO fork's, biased toward l_seg; ignores j)",
    )

    @property
    def _amago_floor(self) -> int:
        return AMAGO_FLOOR_PER_SUMMARY * self.summary_length

    @property
    def max_segment_length(self) -> int:
        if self.segment_draw == "amago":
            return max(self._amago_floor, self.segment_length)
        return int(self.segment_length * (1 + self.segment_jitter))

    @property
    def min_segment_length(self) -> int:
        if self.segment_draw == "amago":
            return min(self._amago_floor, self.segment_length + 1)
        return int(self.segment_length * (1 - self.segment_jitter))

    @property
    def jittered(self) -> bool:
        """Whether training draws its segment length (inference always runs the fixed l_seg)."""
        return self.segment_draw == "amago" or self.segment_jitter > 0

    def validate(self) -> None:
        super().validate()
        if not 0 < self.summary_length < self.segment_length:
            raise UserError(
                f"need 0 < summary_length < segment_length (official assertion), got "
                f"{self.summary_length} and {self.segment_length}"
            )
        if self.min_segment_length <= self.summary_length:
            raise UserError(
                f"the shortest jittered segment ({self.min_segment_length} tokens) must be longer "
                f"than summary_length ({self.summary_length})"
            )
        if not 0 <= self.segment_jitter < 1:
            raise UserError(f"segment_jitter must be in [0, 1), got {self.segment_jitter}")
        if self.segment_draw not in ("uniform", "amago"):
            raise UserError(f"segment_draw must be 'uniform' or 'amago', got {self.segment_draw!r}")
        if not 0 <= self.summary_detach_prob <= 1:
            raise UserError(f"summary_detach_prob must be in [0, 1], got {self.summary_detach_prob}")
        if self.stream_window and self.stream_window < self.max_segment_length + self.summary_length:
            raise UserError(
                f"stream_window must be 0 or hold a whole segment and its queries "
                f"(>= {self.max_segment_length + self.summary_length}), got {self.stream_window}"
            )


@dataclass
class MemoState:
    """Counters are plain ints: all envs of a batch share them (lockstep trials, see agents/base.py).

    Cache layout: the `held` newest summary entries in slots [0, held), then the current segment's tokens.
    """

    cache: KVCache
    segment_length: int  # l_seg used in this trial
    time: int = -1  # trial step index of the newest token
    n_summary: int = 0  # summary entries written in this trial (their positions are 0..n_summary-1)
    held: int = 0  # summary entries still in the cache (all of them for Memo without streaming)
    seg_tokens: int = 0  # tokens of the current segment so far
    segment: int = 0  # index of the current segment


class Memo(PreNormAgent):
    spec: MemoSpec

    def __init__(
        self,
        spec: MemoSpec,
        obs_dim: int,
        action_kind: ActionKind,
        act_dim: int,
        *,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__(spec, obs_dim, action_kind, act_dim, image_shape=image_shape)
        # Learned summary queries, N(0, 1) as the official `nn.Embedding(summary_length, hidden)`.
        self.summary_queries = nn.Parameter(torch.randn(spec.summary_length, spec.d_model))

    def sample_segment_length(self, generator: torch.Generator | None = None) -> int:
        """One training segment length: int(U[1-j, 1+j]·l_seg) (navigation trainer: int(l_seg·(0.8 + 0.4·u)));
        with segment_draw 'amago', int(a + (l_seg + 1 - a)·sqrt(u)) with a = 80·l_sum (the AMAGO fork's
        `amago/nets/transformer.py`, docs/reference/memo.md: with its T-maze command, l_sum 4 and l_seg 256,
        a = 320 lies above l_seg, so its segments are 257-320 tokens)."""
        u = float(torch.rand((), generator=generator))
        if self.spec.segment_draw == "amago":
            floor = self.spec._amago_floor
            return int(floor + (self.spec.segment_length + 1 - floor) * u**0.5)
        j = self.spec.segment_jitter
        return int(self.spec.segment_length * (1 - j + 2 * j * u))

    def rollout_options(
        self, generator: torch.Generator | None = None, training: bool = True
    ) -> dict[str, Any]:
        """Training jitters l_seg per forward (docs/reference/memo.md); under PPO the acting pass must segment a
        trial the way the update re-evaluates it, so one length is drawn per rollout and used by both. Out of
        training (`eval`, `record`, the player) the fixed l_seg, as both official codes run inference."""
        if not training or not self.spec.jittered:
            return {}
        return {"segment_length": self.sample_segment_length(generator)}

    def _segment_length(self, segment_length: int | None) -> int:
        if segment_length is None:
            return self.spec.segment_length
        if not self.spec.summary_length < segment_length <= self.spec.max_segment_length:
            raise UserError(
                f"segment_length must be in ({self.spec.summary_length}, "
                f"{self.spec.max_segment_length}], got {segment_length}"
            )
        return segment_length

    def _position_offset(self, n_summary: int) -> int:
        """Position of a segment's first token: after every summary (Memo) or after the newest (RMT)."""
        return n_summary if self.spec.accumulate else min(n_summary, self.spec.summary_length)

    def _drop(self, held: int, seg_tokens: int) -> int:
        """Streaming: how many of the oldest held summaries to drop before a segment's queries run, so that
        summaries + segment + queries fit in T. This is the only point where the cache can outgrow T:
        after it, held <= T - seg - l_sum, so the next segment's tokens (and the re-encoded summaries)
        fit without dropping anything (`validate` guarantees T >= longest segment + l_sum)."""
        window = self.spec.stream_window
        return max(0, held + seg_tokens + self.spec.summary_length - window) if window else 0

    # ----------------------------------------------------------------------------------- inference path

    @torch.inference_mode()
    def initial_state(self, batch_size: int, segment_length: int | None = None) -> MemoState:
        seg = self._segment_length(segment_length)
        capacity = self.spec.stream_window or 4 * (seg + self.spec.summary_length)
        return MemoState(self.new_cache(batch_size, capacity), seg)

    @torch.inference_mode()
    def step(self, tokens: TokenBatch, state: MemoState, trace: bool = False) -> StepOutput:
        if lockstep_flag(tokens.trial_start, "trial_start"):
            state.time, state.n_summary, state.held, state.seg_tokens, state.segment = -1, 0, 0, 0, 0
        elif state.time < 0:
            raise ValueError("the first token stepped from initial_state must be a trial start")
        state.time += 1
        cache = state.cache
        slot = state.held + state.seg_tokens
        cache.reserve(slot + 1 + self.spec.summary_length)
        cache.label(slot, 1, KEY_STEP, state.time, state.segment)
        pos = self._position_offset(state.n_summary) + state.seg_tokens
        x = self.embed(self.features(tokens)).unsqueeze(1)
        out, weights = self.stack(
            x, positions=slice(pos, pos + 1), view=CacheView(cache, slot, 0, slot + 1), want_weights=trace
        )
        memory = out[:, 0]
        dist, value = self.heads(memory)
        attention = self.attention_trace(cache, 0, slot + 1, weights) if trace else None
        state.seg_tokens += 1
        events = [self._close_segment(state, x.shape[0])] if state.seg_tokens == state.segment_length else []
        step_trace = None
        if trace:
            held = state.held + state.seg_tokens
            step_trace = StepTrace(
                cache_tokens=held,
                cache_bytes=held * cache.entry_bytes(),
                attention=attention,
                memory=memory,
                events=events,
            )
        return StepOutput(dist, value, state, step_trace)

    def _close_segment(self, state: MemoState, batch: int) -> MemoryEvent:
        cache, l_sum = state.cache, self.spec.summary_length
        s, n, held = state.n_summary, state.seg_tokens, state.held
        # 1. The summary queries follow the segment, attending to held summaries + segment + each other
        #    (streaming: minus the oldest summaries they would not fit with).
        drop = self._drop(held, n)
        first = held + n
        pos = self._position_offset(s) + n
        queries = self.summary_queries.unsqueeze(0).expand(batch, -1, -1)
        summary, _ = self.stack(
            queries,
            positions=slice(pos, pos + l_sum),
            mask=self._causal_tail(l_sum, first - drop),
            view=CacheView(cache, first, drop, first + l_sum),
        )
        # 2. Drop the segment's KV (and, for RMT, every earlier summary), moving kept summaries to slot 0.
        keep = held - drop if self.spec.accumulate else 0
        if keep and keep < held:
            cache.move(held - keep, held, 0)
        # 3. Re-encode the summary outputs as input tokens at the summary positions, with the kept
        #    summaries' KV as cache, to produce the new summaries' KV (official: re-encoding is needed).
        pos = s if self.spec.accumulate else 0
        self.stack(
            summary,
            positions=slice(pos, pos + l_sum),
            mask=self._causal_tail(l_sum, keep),
            view=CacheView(cache, keep, 0, keep + l_sum),
        )
        cache.label(keep, l_sum, KEY_SUMMARY, state.time, state.segment)
        state.n_summary, state.held = s + l_sum, keep + l_sum
        state.seg_tokens = 0
        state.segment += 1
        return MemoryEvent(
            step=state.time, segment=state.segment - 1, summary_tokens=state.held, summary=summary
        )

    def _causal_tail(self, n_new: int, n_cached: int) -> Tensor:
        """Mask for n_new tokens appended after n_cached cached ones: each sees the cache and its past."""
        return torch.ones(n_new, n_cached + n_new, dtype=torch.bool, device=self.device).tril(n_cached)

    # ------------------------------------------------------------------------------------ training path

    def evaluate(
        self,
        sequences: TokenBatch,
        mask: Tensor,
        segment_length: int | None = None,
        generator: torch.Generator | None = None,
    ) -> EvalOutput:
        """Training forward. Segment length: `segment_length` if given; else one drawn with `generator`
        in training mode when the spec draws one (`jittered`); else l_seg (what `step` uses by default)."""
        if segment_length is None and self.training and self.spec.jittered:
            segment_length = self.sample_segment_length(generator)
        seg = self._segment_length(segment_length)
        feats = self.sequence_features(sequences, mask)
        emb = self.embed(feats)
        pieces = [
            self._evaluate_trial(emb[:, a:b], seg, generator)
            for a, b in synchronized_trials(sequences.trial_start, mask)
        ]
        dist, values = self.heads(torch.cat(pieces, dim=1))
        return EvalOutput(dist, values * mask)

    def _evaluate_trial(self, emb: Tensor, seg: int, generator: torch.Generator | None) -> Tensor:
        batch, length, _ = emb.shape
        l_sum = self.spec.summary_length
        queries = self.summary_queries.unsqueeze(0).expand(batch, -1, -1)
        # The held summaries' keys and values per layer, oldest first: what `step`'s cache holds.
        empty = emb.new_zeros(batch, self.stack.n_heads, 0, self.stack.head_dim)
        keys, values = [empty] * self.stack.n_layers, [empty] * self.stack.n_layers
        n_summary = dropped = 0  # summaries written so far; of them, the oldest no longer held
        outputs = []
        for begin in range(0, length, seg):
            tokens = emb[:, begin : begin + seg]
            n = tokens.shape[1]
            closes = n == seg and begin + n < length  # a summary only matters if tokens follow it
            x = torch.cat([tokens, queries], dim=1) if closes else tokens
            held = n_summary - dropped
            # Streaming: the queries no longer see the oldest summaries `step` drops to fit them in T.
            query_drop = self._drop(held, n) if closes else 0
            mask = self._causal_tail(x.shape[1], held)
            mask[n:, :query_drop] = False
            first = self._position_offset(n_summary)
            out, _ = self.stack(
                x, positions=slice(first, first + x.shape[1]), mask=mask, view=KVPrefix(keys, values)
            )
            outputs.append(out[:, :n])
            if not closes:
                continue
            summary = out[:, n:]
            p = self.spec.summary_detach_prob
            if self.training and p > 0 and float(torch.rand((), generator=generator)) < p:
                summary = summary.detach()
            # Re-encode the summary outputs at the summary positions with the kept summaries as prefix, as
            # `_close_segment` does, to get the new block's keys and values.
            keep = held - query_drop if self.spec.accumulate else 0
            kept = KVPrefix([k[:, :, held - keep :] for k in keys], [v[:, :, held - keep :] for v in values])
            position = n_summary if self.spec.accumulate else 0
            self.stack(
                summary,
                positions=slice(position, position + l_sum),
                mask=self._causal_tail(l_sum, keep),
                view=kept,
            )
            keys = [torch.cat(pair, dim=2) for pair in zip(kept.keys, kept.new_keys, strict=True)]
            values = [torch.cat(pair, dim=2) for pair in zip(kept.values, kept.new_values, strict=True)]
            n_summary += l_sum
            dropped = n_summary - keep - l_sum
        return torch.cat(outputs, dim=1)


# Gridworld segments are our choice (the AMAGO side publishes none for Dark-Key-To-Door): 500-step trials
# cut into ~8 segments, keeping the paper's 8x compression (l_seg / l_sum). Navigation: the paper's 256 / 32.
MEMO_PRESETS: dict[str, dict[str, object]] = {
    "gridworld": {**SIZE_PRESETS["gridworld"], "segment_length": 64, "summary_length": 8},
    # The AMAGO fork's one published Memo command (T-maze): l_sum 4, l_seg 256, its segment-length draw.
    "gridworld-amago": {
        **SIZE_PRESETS["gridworld"],
        "segment_length": 256,
        "summary_length": 4,
        "segment_draw": "amago",
    },
    "navigation": {**SIZE_PRESETS["navigation"], "segment_length": 256, "summary_length": 32},
}

ENTRY = AgentEntry(
    Memo,
    MemoSpec,
    "Memo: transformer that writes l_sum summary tokens per segment and keeps all of them, never earlier "
    "raw tokens (Gupta et al., NeurIPS 2025)",
    presets=MEMO_PRESETS,
)

RMT_ENTRY = AgentEntry(
    Memo,
    MemoSpec,
    "RMT: Memo keeping only the newest segment summary (recurrent memory transformer baseline)",
    defaults={"accumulate": False},
    presets=MEMO_PRESETS,
)
