"""Engram: a desktop playground for transformer meta-RL agents (TrMRL, Memo) — command-line entry point.

`python main.py` opens the GUI; sub-commands do the same work headless. Every bad argument, unknown name or
malformed input (a `UserError`) ends with one clear line on stderr and exit status 2, no traceback (`--debug`
adds it); any other exception is a bug and prints its traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tomllib
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, cast

from scenes.errors import UserError

if TYPE_CHECKING:
    import torch

    from agents.base import Agent
    from agents.config import TrainConfig
    from agents.distributed import Ranks
    from agents.trainer import Trainer
    from scenes.base import Scene

EXIT_USAGE = 2
DEMO_VIDEO_SECONDS = 10.0


def preset_names() -> list[str]:
    """The presets of agents/presets.toml, read without importing torch (agents.config.PRESETS) for --help."""
    return list(tomllib.loads((Path(__file__).parent / "agents" / "presets.toml").read_text())["presets"])


GUI_HELP = """\
The GUI needs a display. Over SSH use X forwarding (ssh -X), or run under a virtual display:
  xvfb-run -a python main.py gui --screenshot shot.png --quit-after 5
Without a display, `python main.py` runs a headless demo instead: the default agent (the shipped pretrained
one, or trained here for --demo-seconds; or the one in --checkpoint) acts in a 10 s MP4 with a mid-episode
task change, written into a new run directory whose path it prints.
Headless work needs no display:
  python main.py train --scene halfcheetah-vel --agent trmrl --steps 200000
  python main.py record --checkpoint runs/<run> --out demo.mp4 --edit-at 5:target_velocity=2.5"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with its errors as one `engram:` line (the flag and the value it refused), like every other
    refusal here, instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"engram: {self.prog}: {message} (see {self.prog} --help)\n")


def check_range(flag: str, value: float | None, low: float, high: float, *, above_low: bool = False) -> None:
    """Refuse `value` of `flag` in one line unless low <= value <= high (low < value with `above_low`);
    NaN and ±inf never pass (a NaN compares false with every bound, so plain comparisons would let it in)."""
    if value is None:
        return
    if not (math.isfinite(value) and (value > low if above_low else value >= low) and value <= high):
        low_text, high_text = (str(int(b)) if float(b).is_integer() else f"{b:g}" for b in (low, high))
        raise UserError(f"{flag} must be in {'(' if above_low else '['}{low_text}, {high_text}], got {value}")


MAX_SECONDS = 86_400.0  # a day: --quit-after and --demo-seconds beyond it are typing mistakes


def has_display() -> bool:
    """Whether a Qt window can be shown: a display server, or an explicitly chosen offscreen Qt platform."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True  # macOS and Windows always have a window server in a desktop session


# ---------------------------------------------------------------------------------------------------------------
def cmd_scenes(args: argparse.Namespace) -> int:
    from scenes import make_scene, scene_ids

    described = [make_scene(scene_id).describe() for scene_id in scene_ids()]
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    for scene in described:
        trial = (
            f"{scene['episodes_per_trial']} episodes" if scene["episodes_per_trial"] else "episodes"
        ) + f" / {scene['steps_per_trial']} steps per trial"
        print(
            f"{scene['id']:<18} {scene['title']}  [{scene['action']} actions; episode ≤ "
            f"{scene['episode_length']} steps; {trial}; splits: {', '.join(scene['splits'])}]"
        )
        for option in scene["options"]:
            print(f"    option {_describe_param(option)}")
        for param in scene["task_params"]:
            print(f"    {_describe_param(param)}")
    return 0


def _describe_param(param: dict) -> str:
    if param["type"] == "choice":
        shown = [str(c) for c in param["choices"]]
        values = "{" + ", ".join(shown[:8]) + (f", … {len(shown) - 8} more" if len(shown) > 8 else "") + "}"
    else:
        values = f"[{param['low']:g}, {param['high']:g}] {param['unit']}".rstrip()
    default = f" (default {param['default']})" if "default" in param else ""
    return f"{param['name']:<16} {param['type']:<6} {values}{default} — {param['doc']}"


def cmd_agents(args: argparse.Namespace) -> int:
    from agents import describe_agents

    described = describe_agents()
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    for agent in described:
        print(f"{agent['name']:<7} {agent['description']}")
        for hp in agent["hyperparameters"]:
            print(f"    {hp['name']:<24} {hp['default']!s:<12} {hp['doc']}")
    return 0


def given_flags(args: argparse.Namespace, *flags: str) -> list[str]:
    """Which of `flags` the user gave: argparse leaves the others None, False or [] (a given 0 counts)."""
    values = ((flag, getattr(args, flag[2:].replace("-", "_"))) for flag in flags)
    return [flag for flag, value in values if value is not None and value is not False and value != []]


def cmd_gui(args: argparse.Namespace) -> int:
    check_range("--quit-after", args.quit_after, 0.0, MAX_SECONDS)
    check_range("--demo-seconds", args.demo_seconds, 0.0, MAX_SECONDS, above_low=True)
    if not has_display():
        window_only = given_flags(args, "--screenshot", "--quit-after", "--train", "--compare")
        if window_only:  # a screenshot asked for and silently not taken would look like success
            raise UserError(
                f"no display found: {'/'.join(window_only)} need the window; run "
                f"`xvfb-run -a python main.py gui ...` (see --help)"
            )
        print(
            "engram: no display found (DISPLAY is not set), so this runs the headless demo instead; for the window "
            "use `xvfb-run -a python main.py` or ssh -X (see --help)",
            file=sys.stderr,
        )
        return run_headless_demo(args)
    use_software_gl_without_display()  # a virtual or offscreen display may still lack GLX for MuJoCo
    from agents.devices import resolve_device
    from app.gui import run_gui

    resolve_device(args.device)  # a device this machine lacks is one line, before the window opens
    return run_gui(
        args.scene,
        args.agent,
        args.checkpoint,
        args.screenshot,
        args.quit_after,
        train=args.train,
        device=args.device,
        compare=args.compare,
    )


def run_headless_demo(args: argparse.Namespace) -> int:
    """What `python main.py` does without a display: the default agent on the default scene (the shipped
    pretrained one, else one trained here for a bounded time with a progress bar), then a short MP4 of it
    acting, with a task change mid-episode, written into a new run directory whose path it prints. With
    `--checkpoint`, the agent in it instead."""
    from agents.config import resolve_config
    from agents.evaluation import load_policy
    from agents.pretrained import find_pretrained
    from agents.run_log import new_run_dir

    use_software_gl_without_display()
    if args.checkpoint:  # the demo shows the agent the user named
        policy = load_policy(args.checkpoint)
        print(f"engram: the agent in {args.checkpoint}", file=sys.stderr)
        return record_demo(policy.scene, policy.agent, new_run_dir(policy.config))
    config = resolve_config(args.scene or "halfcheetah-vel", args.agent or "trmrl", "fast")
    shipped = find_pretrained(config.scene, config.agent, config.preset)
    if shipped is not None and args.demo_seconds is None:
        policy = load_policy(shipped.path)
        scene, agent, run_dir = policy.scene, policy.agent, new_run_dir(config)
        print(
            f"engram: the pretrained {config.agent} ({shipped.env_steps:,} env steps; "
            f"`--demo-seconds S` trains one here instead)",
            file=sys.stderr,
        )
    else:
        trainer = train_for_demo(config, 45.0 if args.demo_seconds is None else args.demo_seconds)
        # train_for_demo gives its Trainer a run directory, so run_dir is never None here.
        scene, agent, run_dir = trainer.scene, trainer.agent, cast(Path, trainer.run_dir)
    return record_demo(scene, agent, run_dir)


def record_demo(scene: Scene, agent: Agent, run_dir: Path) -> int:
    """The demo video: `agent` acting for DEMO_VIDEO_SECONDS, its task changed halfway, in `run_dir`/videos."""
    import numpy as np

    from agents.player import Player, record_policy

    rng = np.random.default_rng(0)
    start, changed = scene.sample_task(rng), scene.sample_task(rng)
    # The edit: the first task parameter moves to another value from the distribution, halfway through.
    param = next(
        (p.name for p in scene.task_params if changed[p.name] != start[p.name]), scene.task_params[0].name
    )
    seconds = DEMO_VIDEO_SECONDS
    player = Player(scene, agent, task=start, seed=0)
    try:
        path, frames = record_policy(
            player, run_dir / "videos" / "demo.mp4", seconds, [(seconds / 2, {param: changed[param]})]
        )
    finally:
        player.close()
    print(
        f"engram: video ({frames} frames, {param} {start[param]} -> {changed[param]} at {seconds / 2:g} s) "
        f"in {run_dir}",
        file=sys.stderr,
    )
    print(path)
    return 0


def train_for_demo(config: TrainConfig, seconds: float) -> Trainer:
    """Train `config` for about `seconds` with a progress bar; the run keeps its `latest` checkpoint."""
    import time

    from tqdm import tqdm

    from agents.run_log import new_run_dir
    from agents.trainer import Trainer

    trainer = Trainer(config, new_run_dir(config))
    deadline = time.monotonic() + seconds
    with tqdm(
        desc=f"training {config.agent} on {config.scene}", unit="step", unit_scale=True, dynamic_ncols=True
    ) as bar:
        while time.monotonic() < deadline:
            metrics = trainer.iterate()
            bar.update(int(metrics["env_steps"]) - bar.n)
            bar.set_postfix({"return": f"{metrics['trial_return']:.3g}", "sps": f"{metrics['sps']:.0f}"})
    trainer.save("latest")
    trainer.close()
    print(f"engram: trained {trainer.env_steps:,} env steps", file=sys.stderr)
    return trainer


def use_software_gl_without_display() -> None:
    """Headless MuJoCo rendering: without a display, GLFW (MuJoCo's default) cannot open a context; EGL can."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("MUJOCO_GL", "egl")


def parse_assignment(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise UserError(f"{flag} expects NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def cmd_train(args: argparse.Namespace) -> int:
    """One process, or one rank of a torchrun launch (agents/distributed.py): rank 0 resolves the config and
    the run directory and hands them to the other ranks, whose machines may hold neither."""
    from agents import distributed
    from agents.devices import resolve_device

    if args.print_config:
        return print_config(args)
    device = resolve_device(args.device)  # a missing CUDA is one line here, before any rank waits on another
    ranks = distributed.init_from_environment(device)
    try:
        return train_rank(args, device, ranks)
    except distributed.RankLost as error:
        distributed.mark_exit("lost")
        silent = distributed.silent_ranks()
        lost = f"; rank(s) {', '.join(map(str, silent))} ended without a word (killed?)" if silent else ""
        print(
            f"engram: {error}{lost}; `train --resume` of the run continues from its last checkpoint",
            file=sys.stderr,
        )
        return 1
    finally:
        distributed.mark_exit("done")
        distributed.shutdown()


def train_overrides(args: argparse.Namespace) -> dict:
    """The config values `train`'s flags set (the command-line layer)."""
    overrides: dict = {"seed": args.seed} if args.seed is not None else {}
    if args.steps is not None:
        overrides["total_steps"] = args.steps
    if args.num_envs is not None:
        overrides["num_envs"] = args.num_envs
    if args.threads is not None:
        overrides["torch_threads"] = args.threads
    if args.env_worker is not None:
        overrides["env_worker"] = args.env_worker == "on"
    if args.option:
        overrides["scene_options"] = dict(parse_assignment(text, "--option") for text in args.option)
    if args.agent_option:
        overrides["agent_config"] = parse_options(args.agent_option, "--agent-option")
    if args.ppo_option:
        overrides["ppo"] = parse_options(args.ppo_option, "--ppo-option")
    return overrides


def print_config(args: argparse.Namespace) -> int:
    """`train --print-config`: the resolved config, each value with the layer it came from, and nothing run."""
    import tomli_w

    from agents.checkpoints import load_checkpoint
    from agents.config import config_from_dict, config_sources, load_config_file, resolve_config

    sources: dict[str, str] = {}
    if args.resume:
        payload = load_checkpoint(Path(args.resume) / "checkpoints" / "latest.pt")
        config = config_from_dict(payload["config"], f"the run in {args.resume}")
        sources = {key: f"the run in {args.resume}" for key, _, _ in config_sources(config, {})}
    else:
        file_values = load_config_file(args.config) if args.config else {}
        source = f"config file {args.config}"
        config = resolve_config(
            args.scene, args.agent, args.preset, file_values, train_overrides(args), source, sources
        )
    table = ""
    for key, value, layer in config_sources(config, sources):
        name = key
        if "." in key:
            section, name = key.split(".", 1)
            if section != table:
                print(f"\n[{section}]")
                table = section
        if isinstance(value, list | tuple):  # inline, as a flag would give it
            line = f"{name} = [{', '.join(tomli_w.dumps({'v': v}).strip()[4:] for v in value)}]"
        else:
            line = tomli_w.dumps({name: value}).strip()
        print(f"{line:<48} # {layer}")
    return 0


def setup_run(args: argparse.Namespace) -> tuple[dict, dict | None, Path, bool]:
    """Rank 0's half of starting `train`: (resolved config, checkpoint payload or None, run directory, whether
    the directory was made here)."""
    from agents.checkpoints import load_checkpoint
    from agents.config import load_config_file, resolve_config
    from agents.run_log import new_run_dir

    if args.resume:
        ignored = given_flags(
            args,
            *("--config", "--preset", "--out", "--option", "--agent-option", "--ppo-option"),
            *("--threads", "--seed", "--num-envs", "--env-worker"),
        )
        if ignored:
            raise UserError(f"--resume continues a run with its own config; drop {'/'.join(ignored)}")
        run_dir = Path(args.resume)
        payload = load_checkpoint(run_dir / "checkpoints" / "latest.pt")
        for flag, value in (("--scene", args.scene), ("--agent", args.agent)):
            made_for = payload["scene"] if flag == "--scene" else payload["agent"]
            if value and value != made_for:
                raise UserError(f"{flag} {value} does not match the run in {args.resume} ({made_for})")
        return payload["config"], payload, run_dir, False
    file_values = load_config_file(args.config) if args.config else {}
    config = resolve_config(
        args.scene, args.agent, args.preset, file_values, train_overrides(args), str(args.config)
    )
    if args.out:
        run_dir = Path(args.out)
        if (run_dir / "checkpoints").exists():
            raise UserError(f"{run_dir} already holds a run; continue it with --resume {run_dir}")
        if run_dir.exists() and any(run_dir.iterdir()):
            raise UserError(f"{run_dir} is not empty; a new run needs a new or empty directory")
        made = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails here, before any work
    else:
        run_dir, made = new_run_dir(config), True
    return config.to_dict(), None, run_dir, made


def train_rank(args: argparse.Namespace, device: torch.device, ranks: Ranks) -> int:
    import signal

    from tqdm import tqdm

    from agents import distributed
    from agents.config import config_from_dict
    from agents.trainer import Trainer
    from scenes.trials_process import WorkerExited

    setup: tuple | str
    made = False
    if ranks.is_main:
        try:
            config_data, payload, run_dir, made = setup_run(args)
            setup = (config_data, payload, str(run_dir))
        except UserError as error:
            setup = str(error)
            distributed.broadcast_object(setup)  # the other ranks exit too, quietly: rank 0 says why
            raise
    else:
        setup = ""
    setup = distributed.broadcast_object(setup)
    if isinstance(setup, str):
        return EXIT_USAGE
    config_data, payload, run_dir_text = setup
    run_dir = Path(run_dir_text)
    try:
        if payload is not None:
            trainer = Trainer.from_run(
                run_dir, args.steps, log=ranks.is_main, device=str(device), payload=payload
            )
        else:
            config = config_from_dict(config_data, "the resolved config")
            config.device = str(device)
            trainer = Trainer(config, run_dir, log=ranks.is_main)
    except BaseException:
        if made:  # a run that could not start (a scene backend missing...) leaves no empty directory
            run_dir.rmdir()
        raise

    config = trainer.config
    main_rank = ranks.is_main
    if main_rank:
        ranks_text = f", {ranks.world_size} ranks" if ranks.world_size > 1 else ""
        print(
            f"training {config.agent} on {config.scene} (preset {config.preset}, {config.num_envs} envs"
            f"{' per rank' if ranks.world_size > 1 else ''}{ranks_text}, {config.device}, "
            f"{config.total_steps:,} env steps) -> {trainer.run_dir}",
            file=sys.stderr,
        )
        trainer.events.message.connect(lambda text: tqdm.write(f"engram: {text}", file=sys.stderr))

    def request_stop(signum: int, frame: object) -> None:
        if main_rank or ranks.world_size == 1:
            tqdm.write("engram: stopping after the current step; a checkpoint will be saved", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C interrupts at once
        trainer.stop()  # every rank stops at the same step (agreed at each step and minibatch)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    bar = tqdm(
        total=config.total_steps,
        initial=trainer.env_steps,
        unit="step",
        unit_scale=True,
        dynamic_ncols=True,
        disable=not main_rank,
    )

    def show(metrics: dict) -> None:
        bar.update(int(metrics["env_steps"]) - bar.n)
        postfix = {"return": f"{metrics['trial_return']:.3g}", "sps": f"{metrics['sps']:.0f}"}
        if "success_rate" in metrics:
            postfix["success"] = f"{metrics['success_rate']:.2f}"
        bar.set_postfix(postfix, refresh=True)

    latest = trainer.checkpoint_dir / "latest.pt"
    try:
        reason = trainer.run(on_metrics=show)
    except WorkerExited as error:  # killed from outside, or out of memory: the run's files are as they were
        bar.close()
        resume = f"; `train --resume {trainer.run_dir}` continues from {latest}" if latest.is_file() else ""
        print(f"engram: {error}{resume}", file=sys.stderr)
        return 1
    finally:
        bar.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        trainer.close()
    if main_rank:
        print(f"engram: {reason} at {trainer.env_steps:,} env steps; checkpoint {latest}", file=sys.stderr)
        print(trainer.run_dir)
    return 0


def parse_literal(text: str) -> object:
    """A command-line value as TOML reads it (1, 0.5, true, [32, 64]); anything else stays text."""
    import tomllib

    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_options(texts: Sequence[str], flag: str) -> dict[str, object]:
    """NAME=VALUE flags (--agent-option, --ppo-option) as overrides, values read as TOML literals."""
    return {name: parse_literal(value) for name, value in (parse_assignment(t, flag) for t in texts)}


def cmd_eval(args: argparse.Namespace) -> int:
    from agents.config import SEED_MAX
    from agents.devices import resolve_device
    from agents.evaluation import evaluate_policy, format_report, load_policy

    scene_options = dict(parse_assignment(text, "--option") for text in args.option)
    check_range("--seed", args.seed, 0, SEED_MAX)
    device = resolve_device(args.device)
    agent_options = parse_options(args.agent_option, "--agent-option")
    policy = load_policy(args.checkpoint, scene_options, agent_options, device)
    if args.window_steps is not None and args.window_steps < 1:
        raise UserError(f"--window-steps must be at least 1, got {args.window_steps}")
    result = evaluate_policy(
        policy,
        args.split,
        args.episodes,
        seed=args.seed,
        deterministic=args.deterministic,
        window_steps=args.window_steps,
    )
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def parse_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if not sep or min(size) < 16 or max(size) > 4096 or size[0] % 2 or size[1] % 2:
        raise UserError(f"--size expects WIDTHxHEIGHT with even sizes in [16, 4096], got {text!r}")
    return size


def cmd_record(args: argparse.Namespace) -> int:
    import numpy as np

    from agents.compare import compared_agent, resolve_compare
    from agents.config import SEED_MAX
    from agents.devices import resolve_device
    from agents.evaluation import load_policy
    from agents.player import Player, record_policy
    from scenes.base import validate_task
    from scenes.video import check_video_path

    check_range("--seconds", args.seconds, 0.0, 3600.0, above_low=True)
    check_range("--seed", args.seed, 0, SEED_MAX)
    check_video_path(args.out)
    size = parse_size(args.size)
    policy = load_policy(args.checkpoint, device=resolve_device(args.device))
    scene = policy.scene
    # Every task value is checked before anything is rendered or written.
    start = validate_task(
        scene.task_params,
        scene.sample_task(np.random.default_rng(args.seed), "train"),
        dict(parse_assignment(text, "--set") for text in args.set),
    )
    edits: list[tuple[float, dict]] = []
    task = dict(start)
    for text in args.edit_at:
        when, sep, assignment = text.partition(":")
        try:
            seconds = float(when)
        except ValueError:
            seconds = -1.0
        if not sep or not 0 <= seconds <= args.seconds:
            raise UserError(
                f"--edit-at expects SECONDS:NAME=VALUE with SECONDS in [0, {args.seconds:g}], got {text!r}"
            )
        name, value = parse_assignment(assignment, "--edit-at")
        task = validate_task(scene.task_params, task, {name: value})
        edits.append((seconds, {name: task[name]}))
    compare = None if args.compare is None else resolve_compare(args.compare, scene.id, policy.config.agent)
    player = Player(scene, policy.agent, task=start, seed=args.seed, deterministic=args.deterministic)
    try:
        if compare is not None:  # the second agent acts beside the first, both in the video
            compared = compared_agent(compare, policy.config)
            player.attach_partner(
                Player(compared.scene, compared.agent, seed=args.seed, label=compared.label)
            )
        path, frames = record_policy(player, args.out, args.seconds, edits, size, hud=args.hud)
    finally:
        player.close()
    print(f"engram: wrote {frames} frames at {player.frame_rate:g} fps", file=sys.stderr)
    print(path)
    return 0


# ---------------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="main.py",
        description="Engram — a desktop playground for transformer meta-RL agents (TrMRL, Memo).",
        epilog=GUI_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="print the traceback of every error, the one-line ones too"
    )

    gui = sub.add_parser("gui", parents=[common], help="the desktop app (the default command)")
    gui.add_argument("--scene", help="scene to open (default: the last one used, else halfcheetah-vel)")
    gui.add_argument("--agent", help="agent to open (default: the last one used, else trmrl)")
    gui.add_argument("--checkpoint", help="a checkpoint file or run directory to watch")
    gui.add_argument("--train", action="store_true", help="start training at once")
    gui.add_argument(
        "--compare",
        nargs="?",
        const="auto",
        metavar="B",
        help="compare mode: agent B acts beside the watched one in lockstep (same tasks, edits and seed; two "
        "viewports, attention and memory panels per agent, one recording): an agent id (the shipped "
        "pretrained one for the scene, else untrained), a checkpoint or a run directory of the same scene; "
        "alone, the other agent shipped pretrained for the scene (rl2 beside trmrl on halfcheetah-vel)",
    )
    gui.add_argument("--screenshot", metavar="FILE", help="save a screenshot of the window to FILE")
    gui.add_argument("--quit-after", type=float, metavar="SECONDS", help="close the window after SECONDS")
    gui.add_argument(
        "--demo-seconds", type=float, metavar="S",
        help="without a display: train for S seconds before recording the demo video (default: watch the "
        "shipped pretrained agent, or train 45 s where none ships)",
    )  # fmt: skip
    gui.add_argument(
        "--device",
        default="auto",
        help="where runs started from the window train: auto (CUDA when available), cpu, cuda, cuda:N or mps "
        "(the player acts on the CPU)",
    )
    gui.set_defaults(run=cmd_gui)

    train = sub.add_parser("train", parents=[common], help="train an agent on a scene")
    train.add_argument("--scene", help="scene id (see `scenes`); required unless --config or --resume has it")
    train.add_argument(
        "--agent", help="agent name (see `agents`); required unless --config or --resume has it"
    )
    train.add_argument(
        "--preset",
        choices=preset_names(),
        help="hyper-parameter preset of agents/presets.toml (default: fast)",
    )
    train.add_argument("--steps", type=int, help="environment steps to train for (default: the preset's)")
    train.add_argument("--num-envs", type=int, help="trials stepped in parallel (default: the preset's)")
    train.add_argument(
        "--threads",
        type=int,
        help="torch threads for the PPO update (default 1: fastest when the cores are shared; more only for a "
        "run that has the machine to itself)",
    )
    train.add_argument(
        "--env-worker",
        choices=("on", "off"),
        help="on: step the envs in a worker process, overlapped with the agent's steps; 1.2-1.5x faster "
        "rollouts on MuJoCo, Meta-World and navigation when nothing else runs, slower when another process "
        "competes for the cores (default off)",
    )
    train.add_argument(
        "--option", action="append", default=[], metavar="NAME=VALUE",
        help="scene option, e.g. env_name=push-v3 (metaworld-ml1) or variant=one-good (bandit)",
    )  # fmt: skip
    train.add_argument(
        "--agent-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="agent hyper-parameter over the preset, e.g. oracle_task_dim=1 (mlp) or n_layers=4",
    )
    train.add_argument(
        "--ppo-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="PPO setting over the preset, e.g. minibatch_unit=step or policy_lr=1e-4",
    )
    train.add_argument("--seed", type=int)
    train.add_argument("--out", metavar="DIR", help="run directory (default runs/<scene>-<agent>-<time>)")
    train.add_argument(
        "--config", metavar="FILE", help="TOML file overriding the preset (a run's config.toml works)"
    )
    train.add_argument(
        "--resume", metavar="DIR", help="continue the run in DIR bit for bit (--steps may extend it)"
    )
    train.add_argument(
        "--device",
        default="auto",
        help="where the agent and the update run: auto (CUDA when available), cpu, cuda, cuda:N or mps; "
        "envs step on the CPU (default auto)",
    )
    train.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config, each value with where it came from (default, preset, agent preset, "
        "config file, command line), and exit",
    )
    train.set_defaults(run=cmd_train)

    evaluate = sub.add_parser("eval", parents=[common], help="evaluate a checkpoint")
    evaluate.add_argument("--checkpoint", required=True, help="a checkpoint file or a run directory")
    evaluate.add_argument(
        "--episodes",
        type=int,
        default=20,
        help="trials (tasks) to run: each gives one episode per index in the trial",
    )
    evaluate.add_argument("--split", choices=("train", "test", "ood"), default="test")
    evaluate.add_argument("--seed", type=int, default=1, help="seed of the evaluation tasks")
    evaluate.add_argument(
        "--deterministic", action="store_true", help="act with the mean / most likely action"
    )
    evaluate.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="scene option to evaluate with, e.g. trial_steps=2000 (a trial longer than in training)",
    )
    evaluate.add_argument(
        "--agent-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="agent hyper-parameter to evaluate with, e.g. stream_window=256 (a bounded streaming cache)",
    )
    evaluate.add_argument(
        "--window-steps",
        type=int,
        metavar="N",
        help="also report the return per consecutive N-step window of the trial (late-trial performance)",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument(
        "--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N or mps (default auto)"
    )
    evaluate.set_defaults(run=cmd_eval)

    record = sub.add_parser("record", parents=[common], help="record a checkpoint's policy to MP4")
    record.add_argument("--checkpoint", required=True, help="a checkpoint file or a run directory")
    record.add_argument("--out", required=True, metavar="FILE.mp4")
    record.add_argument("--seconds", type=float, default=10.0)
    record.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="task parameter")
    record.add_argument(
        "--edit-at", action="append", default=[], metavar="SECONDS:NAME=VALUE", help="mid-episode task edit"
    )
    record.add_argument("--size", default="640x480", metavar="WxH")
    record.add_argument(
        "--seed", type=int, default=0, help="seed of the starting task and the policy's sampling"
    )
    record.add_argument("--deterministic", action="store_true", help="act with the mean / most likely action")
    record.add_argument(
        "--compare",
        nargs="?",
        const="auto",
        metavar="B",
        help="a second agent acting beside the first in lockstep (same tasks, edits and seed), both side by side "
        "in the video: an agent id (the shipped pretrained one for the scene, else untrained), a checkpoint or "
        "a run directory of the same scene; alone, the other agent shipped pretrained for the scene",
    )
    record.add_argument(
        "--hud",
        action="store_true",
        help="overlay the task, the trial step and the episode return on each frame (top left)",
    )
    record.add_argument(
        "--device", default="auto", help="where the agent acts: auto, cpu, cuda, cuda:N or mps (default auto)"
    )
    record.set_defaults(run=cmd_record)

    scenes = sub.add_parser("scenes", parents=[common], help="list scenes and their task-parameter schemas")
    scenes.add_argument("--json", action="store_true")
    scenes.set_defaults(run=cmd_scenes)

    agents = sub.add_parser("agents", parents=[common], help="list agents and their main hyper-parameters")
    agents.add_argument("--json", action="store_true")
    agents.set_defaults(run=cmd_agents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = [
            "gui",
            *argv,
        ]  # the GUI is the default command: `main.py --scene S` means `main.py gui --scene S`
    args = parser.parse_args(argv)
    if args.command in ("train", "eval", "record"):
        use_software_gl_without_display()
    try:
        return args.run(args)
    except UserError as error:  # what the user can fix; anything else is a bug and keeps its traceback
        if args.debug:
            traceback.print_exc()
        print(f"engram: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `main.py scenes | head`: the reader left; silence the flush at exit too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # a path that cannot be written or read: `--out /etc/hostname/run`
        if args.debug:
            traceback.print_exc()
        print(f"engram: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
