"""Engram's agents: TrMRL, Memo and the baselines they are compared with (FCT, RMT, RL², MLP).

Model code only (no Qt, no trainer). See `agents/base.py` for the interface and the batching assumption.
"""

from agents.base import (
    KEY_STEP,
    KEY_SUMMARY,
    ActionKind,
    Agent,
    AgentEntry,
    AgentSpec,
    AttentionTrace,
    EvalOutput,
    MemoryEvent,
    StepOutput,
    StepTrace,
    TokenBatch,
)
from agents.registry import AGENTS, describe_agents, make_agent, make_spec

__all__ = [
    "AGENTS",
    "KEY_STEP",
    "KEY_SUMMARY",
    "ActionKind",
    "Agent",
    "AgentEntry",
    "AgentSpec",
    "AttentionTrace",
    "EvalOutput",
    "MemoryEvent",
    "StepOutput",
    "StepTrace",
    "TokenBatch",
    "describe_agents",
    "make_agent",
    "make_spec",
]
