"""RL²: a GRU over the trial's tokens (Duan et al. 2016, "RL²: Fast RL via Slow RL"; the recurrent baseline
of both TrMRL and Memo). The hidden state carries across episode boundaries and is reset only at a trial
start. Deviation: the policy and value read the GRU output through the shared tanh MLP heads (64, 64)
rather than RL²'s single linear layer, so every agent differs only in its memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from agents.base import (
    ActionKind,
    Agent,
    AgentEntry,
    AgentSpec,
    EvalOutput,
    StepOutput,
    StepTrace,
    TokenBatch,
    hp,
    synchronized_trials,
)
from agents.heads import PolicyHead, ValueHead
from scenes.errors import UserError


@dataclass
class RL2Spec(AgentSpec):
    hidden_size: int = hp(256, "GRU hidden units (RL² paper: 256)")

    def validate(self) -> None:
        super().validate()
        if self.hidden_size <= 0:
            raise UserError(f"hidden_size must be > 0, got {self.hidden_size}")


@dataclass
class RL2State:
    hidden: Tensor  # (1, B, hidden_size)
    started: Tensor  # (B,) bool: the env has seen its first trial start


class RL2(Agent):
    def __init__(
        self,
        spec: RL2Spec,
        obs_dim: int,
        action_kind: ActionKind,
        act_dim: int,
        *,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__(spec, obs_dim, action_kind, act_dim, image_shape=image_shape)
        self.spec: RL2Spec = spec
        self.gru = nn.GRU(self.token_dim, spec.hidden_size, batch_first=True)
        self.policy = PolicyHead(
            spec.hidden_size, action_kind, act_dim, spec.head_hidden, spec.init_std, spec.output_gain
        )
        self.value = ValueHead(spec.hidden_size, spec.head_hidden)

    @torch.inference_mode()
    def initial_state(self, batch_size: int) -> RL2State:
        hidden = torch.zeros(1, batch_size, self.spec.hidden_size, dtype=self.dtype, device=self.device)
        return RL2State(hidden, torch.zeros(batch_size, dtype=torch.bool, device=self.device))

    @torch.inference_mode()
    def step(self, tokens: TokenBatch, state: RL2State, trace: bool = False) -> StepOutput:
        trial_start = tokens.trial_start.bool()
        if bool((~state.started & ~trial_start).any()):
            raise ValueError("the first token stepped from initial_state must be a trial start")
        state.started |= trial_start
        # A trial start resets memory per env; the same nn.GRU as evaluate, run for one step.
        hidden = state.hidden * (~trial_start).to(state.hidden.dtype).view(1, -1, 1)
        out, state.hidden = self.gru(self.features(tokens).unsqueeze(1), hidden)
        memory = out[:, 0]
        step_trace = None
        if trace:
            step_trace = StepTrace(
                cache_tokens=0, cache_bytes=state.hidden.numel() * state.hidden.element_size(), memory=memory
            )
        return StepOutput(self.policy(memory), self.value(memory), state, step_trace)

    def evaluate(self, sequences: TokenBatch, mask: Tensor) -> EvalOutput:
        feats = self.sequence_features(sequences, mask)
        pieces = [self.gru(feats[:, a:b])[0] for a, b in synchronized_trials(sequences.trial_start, mask)]
        memory = torch.cat(pieces, dim=1)
        return EvalOutput(self.policy(memory), self.value(memory) * mask)


ENTRY = AgentEntry(RL2, RL2Spec, "RL2: GRU over the trial's tokens, reset at trial start (Duan et al. 2016)")
