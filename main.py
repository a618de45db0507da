"""Engram: a desktop playground for transformer meta-RL agents (TrMRL, Memo) — command-line entry point.

`python main.py` opens the GUI; sub-commands do the same work headless. Every bad argument, unknown name or
malformed input ends with one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

EXIT_USAGE = 2
EXIT_NO_DISPLAY = 3

GUI_HELP = """\
The GUI needs a display. Over SSH use X forwarding (ssh -X), or run under a virtual display:
  xvfb-run -a python main.py gui --screenshot shot.png --quit-after 5
Headless work needs no display: `python main.py train ...`, `eval ...`, `record ...`, `scenes`, `agents`."""


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status EXIT_USAGE."""


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


def cmd_gui(args: argparse.Namespace) -> int:
    if not has_display():
        print(
            "engram: no display found (DISPLAY is not set): run under a virtual display with "
            "`xvfb-run -a python main.py`, or work headless (`python main.py --help` lists the sub-commands)",
            file=sys.stderr,
        )
        return EXIT_NO_DISPLAY
    raise CommandError(
        "the desktop app is not built yet (issue 5); use the headless sub-commands, see --help"
    )


def cmd_not_built(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise CommandError(f"`{name}` needs the training engine, which is not built yet (issue 4)")

    return run


# ---------------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Engram — a desktop playground for transformer meta-RL agents (TrMRL, Memo).",
        epilog=GUI_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="the desktop app (the default command)")
    gui.add_argument("--scene", default="halfcheetah-vel")
    gui.add_argument("--agent", default="trmrl")
    gui.add_argument("--checkpoint")
    gui.add_argument("--screenshot", metavar="FILE", help="save a screenshot of the window to FILE")
    gui.add_argument("--quit-after", type=float, metavar="SECONDS", help="close the window after SECONDS")
    gui.set_defaults(run=cmd_gui)

    train = sub.add_parser("train", help="train an agent on a scene")
    train.add_argument("--scene", required=True)
    train.add_argument("--agent", required=True)
    train.add_argument("--steps", type=int, help="environment steps to train for")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", metavar="DIR", help="run directory (default runs/<scene>-<agent>-<time>)")
    train.add_argument("--config", metavar="FILE", help="TOML file overriding the preset")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    train.set_defaults(run=cmd_not_built("train"))

    evaluate = sub.add_parser("eval", help="evaluate a checkpoint")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--episodes", type=int, default=10)
    evaluate.add_argument("--split", choices=("train", "test", "ood"), default="test")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_not_built("eval"))

    record = sub.add_parser("record", help="record a checkpoint's policy to MP4")
    record.add_argument("--checkpoint", required=True)
    record.add_argument("--out", required=True, metavar="FILE.mp4")
    record.add_argument("--seconds", type=float, default=10.0)
    record.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="task parameter")
    record.add_argument(
        "--edit-at", action="append", default=[], metavar="SECONDS:NAME=VALUE", help="mid-episode task edit"
    )
    record.set_defaults(run=cmd_not_built("record"))

    scenes = sub.add_parser("scenes", help="list scenes and their task-parameter schemas")
    scenes.add_argument("--json", action="store_true")
    scenes.set_defaults(run=cmd_scenes)

    agents = sub.add_parser("agents", help="list agents and their main hyper-parameters")
    agents.add_argument("--json", action="store_true")
    agents.set_defaults(run=cmd_agents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or [])])
    try:
        return args.run(args)
    except (CommandError, ValueError) as error:
        print(f"engram: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `main.py scenes | head`: the reader left; silence the flush at exit too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
