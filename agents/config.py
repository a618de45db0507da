"""Training configuration: one dataclass, named presets per (agent, scene), TOML in and out.

Resolution order (later wins): the preset for (agent, scene) -> a TOML config file -> command-line flags.
The run directory stores the fully resolved config, every agent hyper-parameter and every PPO setting
spelled out, so a run says exactly what it ran with and `--config` of that file repeats it.

Presets:
* `paper` — the hyper-parameters a paper gives. TrMRL on MuJoCo / Meta-World: the table of
  docs/reference/trmrl.md (AdamW, separate policy / value learning rates, no advantage normalisation, no
  gradient clipping, entropy 0). Memo / FCT / RMT: Memo's navigation PPO settings (memo.md; its gridworld
  results used AMAGO, an off-policy learner, so there is no PPO setting to copy there) — deviation: a
  constant learning rate, no warm-up / cosine schedule, and no ReLIC partial updates.
* `fast` — settings chosen to show learning within minutes on a 2-core CPU: smaller models, larger learning
  rates, fewer epochs, and on MuJoCo running observation standardisation (CleanRL's). Not the papers'
  numbers; the resolved config shows every difference.
* `default` — CleanRL's PPO defaults, for any (agent, scene).
"""

from __future__ import annotations

import copy
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
from scenes.registry import SCENES, make_scene

PRESETS: tuple[str, ...] = ("fast", "paper", "default")
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
            raise ValueError(f"unknown scene {self.scene!r}; valid scenes: {', '.join(_scene_ids())}")
        if self.agent not in AGENTS:
            raise ValueError(f"unknown agent {self.agent!r}; valid agents: {', '.join(AGENTS)}")
        for name in (
            "total_steps",
            "num_envs",
            "trials_per_iteration",
            "checkpoint_every",
            "torch_threads",
            "world_size",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.seed <= SEED_MAX:
            raise ValueError(f"seed must be in [0, {SEED_MAX}], got {self.seed}")
        # Options arrive as text from the command line: keep them as the scene's validated values.
        self.scene_options = make_scene(self.scene, **self.scene_options).options
        make_spec(self.agent, self.agent_preset or None, **self.agent_config)
        self.ppo.validate()
        if self.ppo.sync_fraction < 1 and (self.trials_per_iteration != 1 or self.env_worker):
            raise ValueError(
                "ppo.sync_fraction < 1 cuts rollouts of one trial per env stepped in this process: it needs "
                f"trials_per_iteration = 1 (got {self.trials_per_iteration}) and env_worker off"
            )
        if self.ppo.minibatch_unit == "step" and not AGENTS[self.agent].agent_cls.evaluates_single_steps:
            single = [name for name, entry in AGENTS.items() if entry.agent_cls.evaluates_single_steps]
            raise ValueError(
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

_MUJOCO = ("halfcheetah-vel", "halfcheetah-dir", "ant-dir", "ant-goal")
_GRIDWORLD = ("dark-key-to-door", "darkroom")
_PRENORM_AGENTS = ("memo", "fct", "rmt")

# TrMRL paper settings shared by every task (trmrl.md, "Training"); garage builds torch's AdamW with its
# defaults (weight decay 0.01, eps 1e-8). The separate value function has its own optimiser and loss in
# garage, so its loss weight is 1.
_TRMRL_PAPER_PPO = {
    "value_coef": 1.0,
    "entropy_coef": 0.0,
    "max_grad_norm": 0.0,
    "normalize_advantages": False,
    "weight_decay": 0.01,
    "adam_eps": 1e-8,
    "update_epochs": 10,
    # Minibatches of single time steps drawn from every task's trial, each with its window (the official
    # trainer's 256 / 32-step minibatches).
    "minibatch_unit": "step",
}
_TRMRL_PAPER: dict[str, dict[str, Any]] = {  # per-task columns of trmrl.md's table
    "halfcheetah-vel": {
        "agent_preset": "halfcheetah-vel",
        "num_envs": 20,
        "total_steps": 20_000_000,
        "ppo": {"gamma": 0.9, "gae_lambda": 0.8, "clip_coef": 0.1, "policy_lr": 3e-5, "value_lr": 2.5e-4},
    },
    "halfcheetah-dir": {
        "agent_preset": "halfcheetah-dir",
        "num_envs": 20,
        "total_steps": 40_000_000,
        "ppo": {"gamma": 0.9, "gae_lambda": 0.8, "clip_coef": 0.2, "policy_lr": 3e-5, "value_lr": 3e-5},
    },
    "ant-dir": {
        "agent_preset": "ant-dir",
        "num_envs": 20,
        "total_steps": 40_000_000,
        "ppo": {"gamma": 0.92, "gae_lambda": 0.8, "clip_coef": 0.2, "policy_lr": 3e-5, "value_lr": 3e-5},
    },
    "metaworld": {
        "agent_preset": "metaworld",
        "num_envs": 25,
        "total_steps": 50_000_000,
        "ppo": {
            "gamma": 0.9,
            "gae_lambda": 0.95,
            "clip_coef": 0.2,
            "policy_lr": 5e-5,
            "value_lr": 5e-5,
            "minibatch_steps": 32,
        },
    },
}
# AntGoal lives in a side branch of the official code with no settings of its own: it takes Ant-Dir's, in every
# preset (the paper table's column and the agent's initial std / output gain).
_SETTINGS_OF = {"ant-goal": "ant-dir"}
_TRMRL_PAPER["ant-goal"] = _TRMRL_PAPER[_SETTINGS_OF["ant-goal"]]

# Memo's navigation PPO (memo.md "Training"): clip 0.2, 4 epochs, value 0.5, entropy 0.01, Adam 3e-4 (the
# middle of 2e-4 - 4e-4), grad-norm 0.2, gamma 0.99, lambda 0.95.
_MEMO_PAPER_PPO = {
    "clip_coef": 0.2,
    "update_epochs": 4,
    "value_coef": 0.5,
    "entropy_coef": 0.01,
    "policy_lr": 3e-4,
    "value_lr": 3e-4,
    "max_grad_norm": 0.2,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "minibatch_steps": 2048,
}

# Fast presets: what learns within minutes here. Transformer sizes shrink to what 2 cores step quickly.
_FAST_TRANSFORMER = {
    "trmrl": {"d_model": 64, "n_heads": 4, "d_ff": 256, "n_layers": 2},
    "memo": {"d_model": 64, "n_heads": 4, "d_ff": 256},
    "fct": {"d_model": 64, "n_heads": 4, "d_ff": 256},
    "rmt": {"d_model": 64, "n_heads": 4, "d_ff": 256},
    "rl2": {"hidden_size": 128},
}
_FAST_PPO = {"policy_lr": 3e-4, "value_lr": 3e-4, "update_epochs": 4, "max_grad_norm": 0.5}


def _paper_discount(table: str) -> dict[str, float]:
    """γ and GAE λ of a column of TrMRL's table (the fast presets keep the paper's horizon per task)."""
    paper = _TRMRL_PAPER[table]["ppo"]
    return {"gamma": paper["gamma"], "gae_lambda": paper["gae_lambda"]}


def _family(scene: str) -> str:
    if scene in _MUJOCO:
        return "mujoco"
    if scene.startswith("metaworld-"):
        return "metaworld"
    if scene in _GRIDWORLD:
        return "gridworld"
    if scene.startswith("objnav-"):
        return "navigation"
    return scene


def _agent_preset(agent: str, scene: str) -> str:
    """The agent registry preset that matches a scene (initial std, value input, model size), if any."""
    presets = AGENTS[agent].presets
    family = _family(scene)
    for name in (scene, _SETTINGS_OF.get(scene, ""), family, "mujoco" if family == "mujoco" else ""):
        if name and name in presets:
            return name
    return ""


def preset_values(preset: str, scene: str, agent: str) -> dict[str, Any]:
    """The TrainConfig values preset `preset` sets for (agent, scene); ValueError if it has none for them."""
    family = _family(scene)
    values: dict[str, Any] = {"agent_preset": _agent_preset(agent, scene), "ppo": {}}
    if preset == "default":
        return values
    if preset == "paper":
        if agent == "trmrl" and (scene in _TRMRL_PAPER or family == "metaworld"):
            table = copy.deepcopy(_TRMRL_PAPER[scene if scene in _TRMRL_PAPER else "metaworld"])
            table["ppo"] = {**_TRMRL_PAPER_PPO, **table["ppo"]}
            return table
        if agent in _PRENORM_AGENTS:
            paper = values | {"num_envs": 32, "total_steps": 20_000_000, "ppo": dict(_MEMO_PAPER_PPO)}
            if family == "navigation":  # ExtObjNav trains on 4,096-step trials (memo.md "Tasks")
                paper["scene_options"] = {"trial_steps": 4096}
            return paper
        raise ValueError(
            f"preset 'paper' is not defined for agent {agent!r} on scene {scene!r} (the papers give PPO "
            "settings for trmrl on MuJoCo / Meta-World and for memo, fct, rmt); use 'fast' or 'default'"
        )
    if preset == "fast":
        values["agent_config"] = dict(_FAST_TRANSFORMER.get(agent, {}))
        if family == "mujoco":
            # The paper's discount and GAE lambda for the task (dense per-step rewards, short horizons).
            ppo = {**_FAST_PPO, **_paper_discount(scene), "minibatch_steps": 800}
            if agent == "trmrl":
                # TrMRL starts from the paper's small policy std (0.2 on HalfCheetahVel), where a small change of
                # the mean is a large KL: at 3e-4 its updates clipped 35-50% of the ratios with approx-KL 0.04-0.06
                # per iteration and learning stalled (docs/results.md); 1e-4 is still 3x the paper's 3e-5.
                ppo["policy_lr"] = 1e-4
                if scene == "halfcheetah-vel":
                    # The critic reads the transformer's memory (as the paper's Dir tasks do) instead of the
                    # paper's Vel setting, a value MLP on the current token: in 2.5M steps that took TrMRL from
                    # -386 to -163 (training) and to -141 test / -347 OOD, ahead of RL² (docs/results.md).
                    values["agent_config"]["value_input"] = "shared"
            # Running observation standardisation, as CleanRL's MuJoCo PPO: HalfCheetah's joint velocities
            # reach ±10, and without it even the oracle MLP stayed near standing still for 3M steps here
            # (docs/results.md). The papers' code (garage) does not normalise observations.
            values["agent_config"]["normalize_observations"] = True
            return values | {"num_envs": 16, "total_steps": 2_000_000, "ppo": ppo}
        if family == "metaworld":
            # The paper's discount and GAE lambda (0.9 / 0.95), observation standardisation as on MuJoCo, and
            # rewards (0-10 per step) scaled by 0.1 for the critic: with γ 0.99 and raw rewards the ML1-reach
            # critic's targets were ≈400, its explained variance stayed 0.00 for 1.2M steps and success at
            # the level of the first iterations (≈0.25; docs/results.md). The paper's code scales nothing.
            values["agent_config"]["normalize_observations"] = True
            return values | {
                "num_envs": 10,
                "total_steps": 2_000_000,
                "ppo": {
                    **_FAST_PPO,
                    **_paper_discount("metaworld"),
                    "reward_scale": 0.1,
                    "minibatch_steps": 5000,
                },
            }
        if family == "navigation":
            # A smaller camera, apartment and trial: a 2-core machine collects ~500 env-steps/s here.
            return values | {
                "num_envs": 8,
                "total_steps": 2_000_000,
                "scene_options": {"image_size": 32, "trial_steps": 512}
                | ({"rooms": "2x2", "objects": 10} if scene == "objnav-apartment" else {}),
                "ppo": {**_FAST_PPO, "entropy_coef": 0.01, "gamma": 0.99, "minibatch_steps": 1024},
            }
        if family == "gridworld":
            return values | {
                "num_envs": 32,
                "total_steps": 5_000_000,
                "ppo": {**_FAST_PPO, "entropy_coef": 0.01, "minibatch_steps": 2000},
            }
        return values | {
            "num_envs": 64,
            "total_steps": 300_000,
            "ppo": {**_FAST_PPO, "entropy_coef": 0.01},
        }
    raise ValueError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")


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
            raise ValueError(f"unknown key {key!r} in {source}; valid keys: {', '.join(top)}")
        if key == "ppo":
            if not isinstance(value, dict):
                raise ValueError(f"ppo in {source} must be a table, got {value!r}")
            known = {f.name for f in dataclasses.fields(PPOConfig)}
            for name, item in value.items():
                if name not in known:
                    raise ValueError(f"unknown key ppo.{name} in {source}; valid: {', '.join(sorted(known))}")
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
        raise ValueError("a training run needs a scene and an agent (--scene S --agent A, or in --config)")
    preset = preset or file_values.get("preset") or "fast"
    config = TrainConfig(scene=scene, agent=agent, preset=preset)
    if scene not in _scene_ids() or agent not in AGENTS:
        config.validate()  # raises the unknown-name error
    _apply(config, preset_values(preset, scene, agent), f"preset {preset!r}", sources)
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
        raise ValueError(
            f"config file {path} is a directory; --config expects a TOML file (a run's config.toml)"
        )
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"config file {path} is not valid TOML: {error}") from None


def config_from_dict(data: dict[str, Any], source: str) -> TrainConfig:
    """Rebuild a resolved config (a run's config.toml or a checkpoint's copy) exactly, preset not reapplied."""
    data = dict(data)
    try:
        config = TrainConfig(scene=data.pop("scene"), agent=data.pop("agent"))
    except KeyError as missing:
        raise ValueError(f"{source} has no {missing.args[0]!r}") from None
    _apply(config, data, source)
    config.validate()
    return config


def write_config(config: TrainConfig, path: str | Path) -> None:
    """The resolved config as TOML, written atomically (a run's config.toml is never left half-written)."""
    text = tomli_w.dumps(config.to_dict()).encode()
    write_atomically(path, lambda handle: handle.write(text))
