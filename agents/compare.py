"""What `--compare B` names: the second agent of compare mode, on the scene the first one plays.

B is an agent id (the shipped pretrained agent of that id for the scene when one ships, else a new untrained
one, and the label says which) or a checkpoint file or run directory trained on the same scene. The player
built from it is attached to the first with `Player.attach_partner`, which keeps the two in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.base import Agent
from agents.checkpoints import load_checkpoint
from agents.config import TrainConfig, config_from_dict, resolve_config
from agents.pretrained import find_pretrained, pretrained_agents
from agents.registry import AGENTS
from agents.trainer import initial_agent, load_weights
from scenes.base import Scene
from scenes.errors import UserError
from scenes.registry import make_scene

AUTO = "auto"  # `--compare` alone: the other agent shipped pretrained for the scene


@dataclass
class ComparedAgent:
    """The agent to compare, with its config, the scene it plays (its own scene options) and a label."""

    config: TrainConfig
    scene: Scene
    agent: Agent
    label: str


def default_compare(scene: str, agent: str) -> str | None:
    """What to compare `agent` with at first: another agent shipped pretrained for `scene`, if any."""
    others = [entry.agent for entry in pretrained_agents() if entry.scene == scene and entry.agent != agent]
    return others[0] if others else None


def resolve_compare(spec: str, scene: str, agent: str) -> str:
    """`--compare` as given, checked before anything is built: AUTO is the agent `default_compare` names, an
    agent id stays, a checkpoint or run directory must hold an agent of `scene`. UserError naming --compare."""
    if spec == AUTO:
        chosen = default_compare(scene, agent)
        if chosen is None:
            raise UserError(
                f"--compare: no other agent ships pretrained for {scene}; name one ({', '.join(AGENTS)}) or a "
                "checkpoint"
            )
        return chosen
    if spec not in AGENTS:
        _checkpoint_of(_existing_path(spec), scene)
    return spec


def compared_agent(spec: str, watched: TrainConfig) -> ComparedAgent:
    """The agent `spec` names, to compare with the agent of `watched` (see the module docstring); a new one
    plays `watched`'s scene options (the same tasks). UserError, one line naming --compare, for anything else
    or a checkpoint of another scene."""
    scene, preset = watched.scene, watched.preset
    if spec in AGENTS:
        shipped = find_pretrained(scene, spec, preset) or next(
            (e for e in pretrained_agents() if (e.scene, e.agent) == (scene, spec) and e.path.is_file()), None
        )
        if shipped is None:
            config = resolve_config(
                scene, spec, preset, overrides={"scene_options": dict(watched.scene_options)}
            )
            played = make_scene(config.scene, **config.scene_options)
            return ComparedAgent(config, played, initial_agent(config, played), f"{spec} (untrained)")
        return _from_checkpoint(shipped.path, scene, "pretrained")
    path = _existing_path(spec)
    return _from_checkpoint(path, scene, path.name)


def _existing_path(spec: str) -> Path:
    path = Path(spec)
    if not path.exists():
        raise UserError(
            f"--compare expects an agent ({', '.join(AGENTS)}) or a checkpoint file or run directory, "
            f"got {spec!r}"
        )
    return path


def _checkpoint_of(path: Path, scene: str) -> tuple[dict[str, Any], TrainConfig]:
    payload = load_checkpoint(path)
    config = config_from_dict(payload["config"], f"the checkpoint {path}")
    if config.scene != scene:
        raise UserError(f"--compare: {path} holds a {config.agent} agent of {config.scene}, not of {scene}")
    return payload, config


def _from_checkpoint(path: Path, scene: str, source: str) -> ComparedAgent:
    payload, config = _checkpoint_of(path, scene)
    played = make_scene(config.scene, **config.scene_options)
    agent = initial_agent(config, played)
    load_weights(agent, payload["model"], f"checkpoint {path}")
    return ComparedAgent(config, played, agent, f"{config.agent} ({source})")
