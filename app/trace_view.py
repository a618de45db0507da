"""One env's attention for one step as NumPy arrays in time order: what the attention panel and the memory
timeline both draw. Qt-free, so it is tested without a display."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.base import KEY_STEP, KEY_SUMMARY, StepTrace


@dataclass(frozen=True)
class AttentionView:
    """Keys sorted by trial step (FCT's streaming cache is a ring; Memo's summaries come before the current
    segment either way), so columns read left to right as time."""

    weights: np.ndarray  # (n_layers, n_heads, K) float32
    kind: np.ndarray  # (K,) KEY_STEP or KEY_SUMMARY
    time: np.ndarray  # (K,) trial step of a raw key, or the step a summary was written at
    segment: np.ndarray  # (K,) segment a summary summarises / a raw key belongs to; -1 without segments
    valid: np.ndarray  # (K,) bool

    @property
    def n_layers(self) -> int:
        return self.weights.shape[0]

    @property
    def n_heads(self) -> int:
        return self.weights.shape[1]

    @property
    def n_keys(self) -> int:
        return self.weights.shape[2]

    @property
    def raw(self) -> np.ndarray:
        """Mask of valid raw-step keys."""
        return self.valid & (self.kind == KEY_STEP)

    @property
    def summary(self) -> np.ndarray:
        """Mask of valid summary keys."""
        return self.valid & (self.kind == KEY_SUMMARY)

    @property
    def step(self) -> int:
        """The trial step of the query token: the newest raw key (-1 if there is none)."""
        times = self.time[self.raw]
        return int(times.max()) if times.size else -1

    def labels(self) -> list[str]:
        """Axis label per key: its trial step, "S<k>" for a summary of segment k, "" when invalid."""
        out = []
        for kind, time, segment, valid in zip(self.kind, self.time, self.segment, self.valid, strict=True):
            if not valid:
                out.append("")
            elif kind == KEY_SUMMARY:
                out.append(f"S{segment}")
            else:
                out.append(str(time))
        return out


def attention_view(trace: StepTrace | None, env: int = 0) -> AttentionView | None:
    """Env `env`'s row of `trace.attention`, or None for agents without attention (rl2, mlp)."""
    if trace is None or trace.attention is None:
        return None
    att = trace.attention
    batch = att.key_kind.shape[0]
    if not 0 <= env < batch:
        raise ValueError(f"env must be in [0, {batch}), got {env}")
    weights = np.stack([w[env].detach().float().cpu().numpy() for w in att.weights])
    kind, time, segment, valid = (
        t[env].detach().cpu().numpy() for t in (att.key_kind, att.key_time, att.key_segment, att.valid)
    )
    valid = valid.astype(bool)
    # Invalid keys first (they carry time -1 anyway), then by time; stable keeps a summary block in order.
    order = np.argsort(np.where(valid, time, -1), kind="stable")
    return AttentionView(weights[:, :, order], kind[order], time[order], segment[order], valid[order])


def format_bytes(n: int) -> str:
    """1536 -> "1.5 kB": cache sizes as a reader compares them."""
    units = ("B", "kB", "MB", "GB")
    size, exponent = float(n), 0
    while abs(size) >= 1000 and exponent < len(units) - 1:
        size /= 1000
        exponent += 1
    return f"{n} B" if exponent == 0 else f"{size:.1f} {units[exponent]}"
