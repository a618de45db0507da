"""Policy and value heads shared by every agent.

Both are tanh MLPs (64, 64) as in TrMRL (paper; official `GaussianMLPModule`, `GaussianMLPValueFunction`):
Xavier-uniform weights, zero biases, a state-independent learned log-std for continuous actions, and an
optional small Xavier gain on the policy's output layer (0.01 for Ant / Meta-World in the official launchers).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from agents.base import ActionKind

# garage's GaussianMLPModule default `min_std`: the std never collapses to exactly zero.
MIN_STD = 1e-6


def tanh_mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, out_gain: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.Tanh()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    for module in layers:
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight, gain=out_gain if module is layers[-1] else 1.0)
            nn.init.zeros_(module.bias)
    return nn.Sequential(*layers)


class PolicyHead(nn.Module):
    """Gaussian (continuous) or categorical (discrete) action distribution from a memory vector."""

    def __init__(
        self,
        in_dim: int,
        action_kind: ActionKind,
        act_dim: int,
        hidden: tuple[int, ...],
        init_std: float,
        output_gain: float,
    ) -> None:
        super().__init__()
        self.continuous = action_kind == "continuous"
        self.net = tanh_mlp(in_dim, hidden, act_dim, output_gain)
        # State-independent log-std, as the official policy (learn_std, std_parameterization='exp').
        self.log_std = nn.Parameter(torch.full((act_dim,), math.log(init_std))) if self.continuous else None

    def forward(self, h: Tensor) -> Distribution:
        out = self.net(h)
        if self.log_std is None:
            return Categorical(logits=out, validate_args=False)
        std = self.log_std.exp().clamp_min(MIN_STD).expand_as(out)
        return Independent(Normal(out, std, validate_args=False), 1, validate_args=False)


class ValueHead(nn.Module):
    """Scalar value from a memory vector (or from the raw token, TrMRL's separate value function)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.net = tanh_mlp(in_dim, hidden, 1, 1.0)

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h).squeeze(-1)
