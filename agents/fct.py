"""FCT: the full-context causal transformer baseline of the Memo paper ("full-context transformer").

Every step's token attends to every earlier token of the trial, across episode boundaries (inter-episode
attention), through a KV cache holding one entry per step. The streaming mode keeps only the newest T
entries (a ring buffer; positions are not re-indexed), the baseline that Memo reports collapsing once the
context passes its window. `evaluate` is the same causal attention over the stored trial (with the same
sliding window in streaming mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from agents.base import (
    KEY_STEP,
    AgentEntry,
    EvalOutput,
    StepOutput,
    StepTrace,
    TokenBatch,
    lockstep_flag,
    synchronized_trials,
)
from agents.layers import CacheView, KVCache
from agents.prenorm import SIZE_PRESETS, PreNormAgent, PreNormSpec

# The full-context transformer has no hyper-parameter beyond the shared pre-norm ones.
FCTSpec = PreNormSpec


@dataclass
class FCTState:
    cache: KVCache
    time: int = -1  # trial step index of the newest token


# Initial KV capacity without streaming; the cache doubles when a trial outgrows it.
_INITIAL_CAPACITY = 256


class FCT(PreNormAgent):
    spec: FCTSpec

    @torch.inference_mode()
    def initial_state(self, batch_size: int) -> FCTState:
        return FCTState(self.new_cache(batch_size, self.spec.stream_window or _INITIAL_CAPACITY))

    @torch.inference_mode()
    def step(self, tokens: TokenBatch, state: FCTState, trace: bool = False) -> StepOutput:
        if lockstep_flag(tokens.trial_start, "trial_start"):
            state.time = -1
        elif state.time < 0:
            raise ValueError("the first token stepped from initial_state must be a trial start")
        state.time += 1
        t, window = state.time, self.spec.stream_window
        slot = t % window if window else t
        held = min(t + 1, window) if window else t + 1
        cache = state.cache
        cache.reserve(slot + 1)
        cache.label(slot, 1, KEY_STEP, t, -1)
        # One query against all held slots: no mask is needed, and slot order (a ring) does not matter
        # to softmax attention since each key carries its own rotary position.
        x = self.embed(self.features(tokens)).unsqueeze(1)
        out, weights = self.stack(
            x, positions=slice(t, t + 1), view=CacheView(cache, slot, 0, held), want_weights=trace
        )
        memory = out[:, 0]
        dist, value = self.heads(memory)
        step_trace = None
        if trace:
            step_trace = StepTrace(
                cache_tokens=held,
                cache_bytes=held * cache.entry_bytes(),
                attention=self.attention_trace(cache, 0, held, weights),
                memory=memory,
            )
        return StepOutput(dist, value, state, step_trace)

    def evaluate(self, sequences: TokenBatch, mask: Tensor) -> EvalOutput:
        feats = self.sequence_features(sequences, mask)
        emb = self.embed(feats)
        window = self.spec.stream_window
        pieces = []
        for a, b in synchronized_trials(sequences.trial_start, mask):
            n = b - a
            band = None
            if window and n > window:
                steps = torch.arange(n, device=emb.device)
                offset = steps.unsqueeze(1) - steps.unsqueeze(0)
                band = (offset >= 0) & (offset < window)
            out, _ = self.stack(emb[:, a:b], positions=slice(0, n), mask=band, causal=True)
            pieces.append(out)
        memory = torch.cat(pieces, dim=1)
        dist, values = self.heads(memory)
        return EvalOutput(dist, values * mask)


ENTRY = AgentEntry(
    FCT,
    FCTSpec,
    "FCT: full-context causal transformer over the whole trial with a KV cache (streaming: newest T entries)",
    presets={name: dict(sizes) for name, sizes in SIZE_PRESETS.items()},
)
