"""How the player thread builds what it shows: a new agent, a checkpoint's, or the shipped pretrained one.

Each factory is called in the player thread (`PlayerWorker.build`), so a slow or failing load never blocks
the window; its `description` names it in the banner if it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from agents.checkpoints import load_checkpoint
from agents.compare import compared_agent
from agents.config import TrainConfig, config_from_dict
from agents.player import Player
from agents.trainer import initial_agent, load_weights
from scenes.registry import make_scene


def architecture_key(config: TrainConfig) -> tuple[Any, ...]:
    """What decides whether weights of one config load into an agent of another."""
    data = config.to_dict()
    return (
        data["scene"],
        repr(sorted(data["scene_options"].items())),
        data["agent"],
        repr(sorted(data["agent_config"].items())),
    )


PlayerFactory = Callable[[], tuple[Player, TrainConfig, "dict[str, Any] | None", str]]


def fresh_player(
    config: TrainConfig,
    seed: int = 0,
    weights: dict[str, torch.Tensor] | None = None,
    source: str = "new agent",
) -> PlayerFactory:
    """A player of `config`'s agent: the weights a Trainer of this config starts from, or `weights`."""

    def build() -> tuple[Player, TrainConfig, dict[str, Any] | None, str]:
        scene = make_scene(config.scene, **config.scene_options)
        agent = initial_agent(config, scene)  # the untrained agent is the run's first one
        if weights is not None:
            load_weights(agent, weights, source)
        return Player(scene, agent, seed=seed), config, None, source

    build.description = f"{config.agent} on {config.scene}"  # type: ignore[attr-defined]
    return build


def checkpoint_player(path: str | Path, seed: int = 0) -> PlayerFactory:
    """A player of the agent stored in a checkpoint (or a run directory's latest checkpoint)."""

    def build() -> tuple[Player, TrainConfig, dict[str, Any] | None, str]:
        payload = load_checkpoint(path)
        config = config_from_dict(payload["config"], f"the checkpoint {path}")
        player, config, _, _ = fresh_player(config, seed, payload["model"], str(path))()
        return player, config, payload, str(path)

    build.description = f"checkpoint {path}"  # type: ignore[attr-defined]
    return build


def pretrained_player(path: str | Path, config: TrainConfig, seed: int = 0) -> PlayerFactory:
    """The shipped pretrained agent (agents/pretrained.py) for `config`, to watch at once. Train still starts a
    new run from scratch (no checkpoint payload is handed on); if the checkpoint's architecture is not the
    one `config` builds (overridden hyper-parameters), the untrained agent of `config` is shown instead."""

    def build() -> tuple[Player, TrainConfig, dict[str, Any] | None, str]:
        payload = load_checkpoint(path, config.scene, config.agent)
        stored = config_from_dict(payload["config"], f"the pretrained checkpoint {path}")
        if architecture_key(stored) != architecture_key(config):
            return fresh_player(config, seed)()
        source = f"pretrained, {int(payload['counters']['env_steps']):,} env steps"
        player, _, _, _ = fresh_player(stored, seed, payload["model"], f"pretrained checkpoint {path}")()
        return player, config, None, source

    build.description = f"pretrained {config.agent} on {config.scene}"  # type: ignore[attr-defined]
    return build


def attach_compared(player: Player, config: TrainConfig, compare: str, seed: int = 0) -> None:
    """Compare mode: the agent `compare` names (agents/compare.py) acts beside `player` in lockstep, labelled as
    `compared_agent` says (the watched agent's caption is the player thread's, with `source_label`). UserError
    (one line) if it cannot: a checkpoint of another scene, an unknown agent."""
    compared = compared_agent(compare, config)
    player.attach_partner(Player(compared.scene, compared.agent, seed=seed, label=compared.label))


def source_label(source: str) -> str:
    """A player's source, short enough for a caption: a checkpoint path by its file name."""
    if source.startswith("pretrained"):  # "pretrained, 6,003,200 env steps": the steps are in the status bar
        return "pretrained"
    path = Path(source)
    return path.name if path.suffix == ".pt" or path.is_dir() else source
