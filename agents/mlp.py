"""The memoryless baseline: the policy and value heads on the current observation alone.

Not the whole RL² token: the previous action, reward and done flag would give it one step of memory, enough
to adapt in context (`Agent.reads_previous_step`). With `oracle_task_dim > 0` the observation is extended by
the true task parameters (`TokenBatch.task`), the usual upper reference for meta-RL (an agent that need not
infer the task).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from agents.base import (
    ActionKind,
    Agent,
    AgentEntry,
    AgentSpec,
    EvalOutput,
    StepOutput,
    StepTrace,
    TokenBatch,
    checked_steps,
    hp,
)
from agents.heads import PolicyHead, ValueHead
from scenes.errors import UserError


@dataclass
class MLPSpec(AgentSpec):
    oracle_task_dim: int = hp(
        0, "size of the true task vector appended to the observation (the oracle); 0 = off"
    )

    def validate(self) -> None:
        super().validate()
        if self.oracle_task_dim < 0:
            raise UserError(f"oracle_task_dim must be >= 0, got {self.oracle_task_dim}")


class MLPAgent(Agent):
    reads_previous_step = False

    def __init__(
        self,
        spec: MLPSpec,
        obs_dim: int,
        action_kind: ActionKind,
        act_dim: int,
        *,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__(
            spec, obs_dim, action_kind, act_dim, task_dim=spec.oracle_task_dim, image_shape=image_shape
        )
        self.policy = PolicyHead(
            self.token_dim, action_kind, act_dim, spec.head_hidden, spec.init_std, spec.output_gain
        )
        self.value = ValueHead(self.token_dim, spec.head_hidden)

    def initial_state(self, batch_size: int) -> None:
        return None

    @torch.inference_mode()
    def step(self, tokens: TokenBatch, state: None, trace: bool = False) -> StepOutput:
        feats = self.features(tokens)
        step_trace = StepTrace(cache_tokens=0, cache_bytes=0) if trace else None
        return StepOutput(self.policy(feats), self.value(feats), state, step_trace)

    def evaluate(self, sequences: TokenBatch, mask: Tensor) -> EvalOutput:
        feats = self.sequence_features(sequences, mask)
        return EvalOutput(self.policy(feats), self.value(feats) * mask)

    evaluates_single_steps = True  # each output reads its own token only

    def evaluate_steps(self, sequences: TokenBatch, mask: Tensor, rows: Tensor, times: Tensor) -> EvalOutput:
        checked_steps(sequences, mask, rows, times)
        feats = self.features(sequences.index((rows, times)))
        return EvalOutput(self.policy(feats), self.value(feats))


ENTRY = AgentEntry(
    MLPAgent,
    MLPSpec,
    "MLP: no memory (the current observation only); optional oracle that appends the true task parameters",
)
