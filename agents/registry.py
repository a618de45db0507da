"""The agent registry: names -> entries, `make_agent`, and `describe_agents` (for `main.py agents --json`).

Adding an agent is one module (its model, spec and `ENTRY`) plus one line in `AGENTS`.
"""

from __future__ import annotations

from typing import Any

from agents import fct, memo, mlp, rl2, trmrl
from agents.base import ActionKind, Agent, AgentEntry, AgentSpec, check_type, spec_fields
from scenes.errors import UserError

AGENTS: dict[str, AgentEntry] = {
    "trmrl": trmrl.ENTRY,
    "memo": memo.ENTRY,
    "fct": fct.ENTRY,
    "rmt": memo.RMT_ENTRY,
    "rl2": rl2.ENTRY,
    "mlp": mlp.ENTRY,
}


def _entry(name: str) -> AgentEntry:
    if name not in AGENTS:
        raise UserError(f"unknown agent {name!r}; valid agents: {', '.join(AGENTS)}")
    return AGENTS[name]


def make_spec(name: str, preset: str | None = None, **overrides: Any) -> AgentSpec:
    """The spec of agent `name`: its defaults, then the preset, then the overrides (checked)."""
    entry = _entry(name)
    fields = {f.name: f for f in spec_fields(entry.spec_cls)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise UserError(
            f"unknown hyper-parameter(s) {', '.join(unknown)} for agent {name!r}; valid: {', '.join(fields)}"
        )
    if preset is not None and preset not in entry.presets:
        valid = ", ".join(entry.presets) or "none"
        raise UserError(f"unknown preset {preset!r} for agent {name!r}; valid presets: {valid}")
    values = {**entry.defaults, **(entry.presets[preset] if preset is not None else {})}
    values |= {
        key: check_type(f"hyper-parameter {key!r} of agent {name!r}", fields[key].default, value)
        for key, value in overrides.items()
    }
    spec = entry.spec_cls(**values)
    spec.validate()
    return spec


def make_agent(
    name: str,
    obs_dim: int,
    action_space_kind: ActionKind,
    act_dim: int,
    preset: str | None = None,
    *,
    image_shape: tuple[int, int, int] | None = None,
    **overrides: Any,
) -> Agent:
    """Build agent `name` for an environment (act_dim = number of actions when discrete).

    `image_shape` (H, W, C): the observations begin with an image (`Scene.image_shape`), which a CNN encodes
    (agents/encoders.py; the spec's `image_features` and `cnn_channels`). Raises ValueError, listing the
    valid choices, on an unknown name, preset or hyper-parameter, and on values no model can be built from.
    """
    spec = make_spec(name, preset, **overrides)
    return _entry(name).agent_cls(spec, obs_dim, action_space_kind, act_dim, image_shape=image_shape)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def describe_agents() -> list[dict[str, Any]]:
    """Every agent with its description, presets and hyper-parameters (default, type, doc); JSON-ready."""
    out = []
    for name, entry in AGENTS.items():
        defaults = entry.spec_cls(**entry.defaults)
        out.append(
            {
                "name": name,
                "description": entry.description,
                "presets": {
                    key: {k: _jsonable(v) for k, v in preset.items()} for key, preset in entry.presets.items()
                },
                "hyperparameters": [
                    {
                        "name": f.name,
                        "default": _jsonable(getattr(defaults, f.name)),
                        "type": type(f.default).__name__,
                        "doc": f.metadata["doc"],
                    }
                    for f in spec_fields(entry.spec_cls)
                ],
            }
        )
    return out
