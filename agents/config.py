"""Training configuration: one dataclass, the preset table (agents/presets.toml), TOML in and out.

Resolution order (later wins): the agent's and PPO's defaults -> the preset table's rows for (preset, scene,
agent) -> a TOML config file -> command-line flags. `resolve_config` can record, per value, the layer it came
from (`train --print-config`). The run directory stores the fully resolved config, every agent
hyper-parameter and every PPO setting spelled out, so a run says exactly what it ran with and `--config` of
that file repeats it. What each preset is for, and why each of its values: agents/presets.toml.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from agents.base import check_type
from agents.checkpoints import write_atomically
from agents.ppo import PPOConfig
from agents.registry import AGENTS, make_spec
from scenes.errors import UserError
from scenes.registry import SCENES, make_scene

SEED_MAX = 2**32 - 1  # seeds reach NumPy (which refuses negatives) and torch: one range for every command


@dataclass
class TrainConfig:
    """Everything a training run depends on. `agent_config` holds agent hyper-parameter overrides."""

    scene: str
    agent: str
    preset: str = "default"
    seed: int = 0
    total_steps: int = 1_000_000
    num_envs: int = 16
    trials_per_iteration: int = 1  # trials per env per iteration: rollout = num_envs x this many trials
    checkpoint_every: int = 10  # iterations between `latest` checkpoints (also written on stop)
    # Intra-op threads of the PPO update (rollouts always use 1). One is fastest on shared 2-core machines
    # (a loaded one ran the fast TrMRL update in 7 s with 1 thread, 48 s with 2); on an idle one 2 threads ran
    # it 1.6x faster (docs/benchmarks.md), so raise it (`train --threads`) for a run that has the machine alone.
    torch_threads: int = 1
    # Step the envs in a worker process, in two groups whose env steps overlap with the agent's steps for the
    # other group (scenes.trials_process). On an otherwise idle 2-core machine that made rollouts 1.2-1.5x
    # faster on MuJoCo (fast preset), Meta-World and navigation; with one other busy process (a second run,
    # the window's player) it made them 2-6x slower, as every step waits on two hand-offs between the
    # processes (docs/benchmarks.md). Hence off by default: `train --env-worker on` for a machine to itself.
    env_worker: bool = False
    # Where the agent, the rollout buffers and the update live ("cpu", "cuda", "cuda:1", "mps"); envs stay on
    # the CPU. Resolved from `train --device` (default auto: CUDA when available), recorded here.
    device: str = "cpu"
    # Ranks the run trains on (torchrun's WORLD_SIZE; agents/distributed.py). num_envs and the PPO minibatch
    # are per rank, so a batch is num_envs x world_size trials. Recorded, not set: the launch decides it.
    world_size: int = 1
    scene_options: dict[str, Any] = field(default_factory=dict)
    agent_preset: str = ""  # the agent registry's preset ("" = the agent's defaults)
    agent_config: dict[str, Any] = field(default_factory=dict)
    ppo: PPOConfig = field(default_factory=PPOConfig)

    def validate(self) -> None:
        if self.scene not in _scene_ids():
            raise UserError(f"unknown scene {self.scene!r}; valid scenes: {', '.join(_scene_ids())}")
        if self.agent not in AGENTS:
            raise UserError(f"unknown agent {self.agent!r}; valid agents: {', '.join(AGENTS)}")
        for name in (
            "total_steps",
            "num_envs",
            "trials_per_iteration",
            "checkpoint_every",
            "torch_threads",
            "world_size",
        ):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.seed <= SEED_MAX:
            raise UserError(f"seed must be in [0, {SEED_MAX}], got {self.seed}")
        # Options arrive as text from the command line: keep them as the scene's validated values.
        self.scene_options = make_scene(self.scene, **self.scene_options).options
        make_spec(self.agent, self.agent_preset or None, **self.agent_config)
        self.ppo.validate()
        if self.ppo.sync_fraction < 1 and (self.trials_per_iteration != 1 or self.env_worker):
            raise UserError(
                "ppo.sync_fraction < 1 cuts rollouts of one trial per env stepped in this process: it needs "
                f"trials_per_iteration = 1 (got {self.trials_per_iteration}) and env_worker off"
            )
        if self.ppo.minibatch_unit == "step" and not AGENTS[self.agent].agent_cls.evaluates_single_steps:
            single = [name for name, entry in AGENTS.items() if entry.agent_cls.evaluates_single_steps]
            raise UserError(
                f"ppo.minibatch_unit = 'step' needs an agent whose step reads a bounded window "
                f"({', '.join(single)}); {self.agent}'s memory spans the trial: use 'trial'"
            )

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain TOML-able data; the agent table lists every hyper-parameter."""
        spec = make_spec(self.agent, self.agent_preset or None, **self.agent_config)
        data = dataclasses.asdict(self)
        data["agent_config"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(spec).items()
        }
        return data


def _scene_ids() -> list[str]:
    return list(SCENES)


# ---------------------------------------------------------------------------------------------------- presets

PRESET_TABLE = Path(__file__).with_name("presets.toml")
_MATCH_KEYS = ("preset", "where", "agents")


@dataclass(frozen=True)
class PresetTable:
    """agents/presets.toml: scene families, the presets (with the (agent, family) pairs each is defined for) and
    the rows of values, each applying to the (preset, scene, agent) its match keys name (the file's header)."""

    families: dict[str, list[str]]
    presets: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]

    @classmethod
    def load(cls, path: Path = PRESET_TABLE) -> PresetTable:
        data = tomllib.loads(path.read_text())
        return cls(data["families"], data["presets"], data["rows"])

    def family(self, scene: str) -> str:
        """The family a scene belongs to (a scene no family lists is a family of its own)."""
        return next((name for name, scenes in self.families.items() if scene in scenes), scene)

    def defined(self, preset: str, scene: str, agent: str) -> bool:
        scope = self.presets[preset].get("defined_for")
        if scope is None:
            return True
        allowed = scope.get(agent, [])
        return "*" in allowed or self.family(scene) in allowed or scene in allowed

    def matching_rows(self, preset: str, scene: str, agent: str) -> list[tuple[str, dict[str, Any]]]:
        """(label, values) of every row that applies, in file order (later rows win). A preset that `extends`
        another takes that one's rows too."""
        family = self.family(scene)
        names = {"*", preset, self.presets[preset].get("extends", preset)}
        matched = []
        for row in self.rows:
            presets = row.get("preset", "*")
            presets = [presets] if isinstance(presets, str) else presets
            where = row.get("where", ["*"])
            agents = row.get("agents", ["*"])
            if (
                names.intersection(presets)
                and ("*" in where or scene in where or family in where)
                and ("*" in agents or agent in agents)
            ):
                label = " | ".join(" ".join(key) for key in (presets, where, agents))
                values = {key: value for key, value in row.items() if key not in _MATCH_KEYS}
                matched.append((f"presets.toml [{label}]", values))
        return matched


PRESETS_TABLE = PresetTable.load()
PRESETS: tuple[str, ...] = tuple(PRESETS_TABLE.presets)


def preset_values(preset: str, scene: str, agent: str) -> list[tuple[str, dict[str, Any]]]:
    """The rows of the preset table that `preset` applies to (agent, scene), as (label, TrainConfig values);
    ValueError if the preset is unknown or refuses them (its `defined_for`)."""
    if not isinstance(preset, str) or preset not in PRESETS_TABLE.presets:
        raise UserError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    if not PRESETS_TABLE.defined(preset, scene, agent):
        scope = PRESETS_TABLE.presets[preset]["defined_for"]
        where = "; ".join(f"{name} on {', '.join(families)}" for name, families in scope.items())
        raise UserError(
            f"preset {preset!r} is not defined for agent {agent!r} on scene {scene!r} (it is for: {where}; "
            f"agents/presets.toml); use one of: {', '.join(p for p in PRESETS if p != preset)}"
        )
    return PRESETS_TABLE.matching_rows(preset, scene, agent)


# -------------------------------------------------------------------------------------------------- resolving


def _apply(
    config: TrainConfig, values: dict[str, Any], source: str, sources: dict[str, str] | None = None
) -> None:
    """Set `values` (TOML-shaped: scalars, plus the tables scene_options / agent_config / ppo) on config;
    `sources` records, per dotted key ("ppo.gamma"), the last layer that set it."""
    top = {f.name: f for f in dataclasses.fields(TrainConfig)}
    if sources is not None:
        for key, value in values.items():
            names = (
                value if key in ("ppo", "scene_options", "agent_config") and isinstance(value, dict) else None
            )
            sources.update(
                {f"{key}.{name}": source for name in names} if names is not None else {key: source}
            )
    for key, value in values.items():
        if key not in top:
            raise UserError(f"unknown key {key!r} in {source}; valid keys: {', '.join(top)}")
        if key == "ppo":
            if not isinstance(value, dict):
                raise UserError(f"ppo in {source} must be a table, got {value!r}")
            known = {f.name for f in dataclasses.fields(PPOConfig)}
            for name, item in value.items():
                if name not in known:
                    raise UserError(f"unknown key ppo.{name} in {source}; valid: {', '.join(sorted(known))}")
                setattr(
                    config.ppo, name, check_type(f"ppo.{name} in {source}", getattr(config.ppo, name), item)
                )
        elif key in ("scene_options", "agent_config"):
            getattr(config, key).update(check_type(f"{key} in {source}", {}, value))
        else:
            setattr(config, key, check_type(f"{key} in {source}", getattr(config, key), value))


def resolve_config(
    scene: str | None = None,
    agent: str | None = None,
    preset: str | None = None,
    file_values: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    source: str = "the config file",
    sources: dict[str, str] | None = None,
) -> TrainConfig:
    """Preset for (agent, scene), then the config file's values, then `overrides` (command-line flags).

    Scene, agent and preset come from the arguments or else from the file; a file that came out of a run
    directory (a resolved config) reproduces that run. `sources`, if given, receives the layer each value came
    from (`config_sources`).
    """
    file_values = dict(file_values or {})
    named = {"scene": scene, "agent": agent, "preset": preset}
    in_file = {key for key in named if key in file_values}
    scene = scene or file_values.get("scene")
    agent = agent or file_values.get("agent")
    if not scene or not agent:
        raise UserError("a training run needs a scene and an agent (--scene S --agent A, or in --config)")
    preset = preset or file_values.get("preset") or "fast"
    config = TrainConfig(scene=scene, agent=agent, preset=preset)
    if scene not in _scene_ids() or agent not in AGENTS:
        config.validate()  # raises the unknown-name error
    for label, values in preset_values(preset, scene, agent):
        _apply(config, values, label, sources)
    file_values.update(scene=scene, agent=agent, preset=preset)
    _apply(config, file_values, source, sources)
    if (
        sources is not None
    ):  # the three names came from the arguments, else the file, else (preset) the default
        for key, value in named.items():
            sources[key] = "the command line" if value else source if key in in_file else "default"
    _apply(config, overrides or {}, "the command line", sources)
    config.validate()
    return config


def config_sources(config: TrainConfig, sources: dict[str, str]) -> list[tuple[str, Any, str]]:
    """(dotted key, value, layer) for every value of the resolved config (`TrainConfig.to_dict`), top-level
    keys first: the layer `resolve_config` recorded, else the agent registry's preset, else a default."""
    entry = AGENTS[config.agent]
    agent_preset = entry.presets.get(config.agent_preset, {}) if config.agent_preset else {}
    rows: list[tuple[str, Any, str]] = []
    tables: list[tuple[str, Any, str]] = []
    for key, value in config.to_dict().items():
        if not isinstance(value, dict):
            rows.append((key, value, sources.get(key, "default")))
            continue
        for name, item in value.items():
            dotted = f"{key}.{name}"
            if dotted in sources:
                layer = sources[dotted]
            elif key == "agent_config":
                layer = f"agent preset {config.agent_preset!r}" if name in agent_preset else "agent default"
            elif key == "scene_options":
                layer = "scene default"
            else:
                layer = "default"
            tables.append((dotted, item, layer))
    return rows + tables


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML config; a missing or malformed file is a one-line ValueError naming the problem."""
    path = Path(path)
    if path.is_dir():
        raise UserError(
            f"config file {path} is a directory; --config expects a TOML file (a run's config.toml)"
        )
    if not path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"config file {path} is not valid TOML: {error}") from None


def config_from_dict(data: dict[str, Any], source: str) -> TrainConfig:
    """Rebuild a resolved config (a run's config.toml or a checkpoint's copy) exactly, preset not reapplied."""
    data = dict(data)
    try:
        config = TrainConfig(scene=data.pop("scene"), agent=data.pop("agent"))
    except KeyError as missing:
        raise UserError(f"{source} has no {missing.args[0]!r}") from None
    _apply(config, data, source)
    config.validate()
    return config


def write_config(config: TrainConfig, path: str | Path) -> None:
    """The resolved config as TOML, written atomically (a run's config.toml is never left half-written)."""
    text = tomli_w.dumps(config.to_dict()).encode()
    write_atomically(path, lambda handle: handle.write(text))
