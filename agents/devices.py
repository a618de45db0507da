"""Which torch device a command runs its agent on: `--device auto|cpu|cuda|cuda:N|mps`.

`auto` takes CUDA when torch sees a GPU, else the CPU (Apple's MPS is used only when asked for: several ops
the agents use fall back to the CPU there). Under torchrun each rank takes the GPU of its LOCAL_RANK when
the device names no index, as habitat-baselines' DD-PPO does. Envs always step on the CPU.
"""

from __future__ import annotations

import os

import torch

from scenes.errors import UserError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(text: str, flag: str = "--device") -> torch.device:
    """The device `text` names on this machine; a ValueError naming `flag` when it is not here."""
    name = text.strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"{flag} {text!r} is not a device; use {DEVICE_CHOICES}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(
                f"{flag} {text}: this machine has no CUDA device torch can use "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); use --device cpu"
            )
        count = torch.cuda.device_count()
        if device.index is None:  # one GPU per rank under torchrun
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % count)
        elif device.index >= count:
            raise UserError(
                f"{flag} {text}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise UserError(f"{flag} {text}: Apple's MPS backend is not available here; use --device cpu")
    elif device.type != "cpu":
        raise UserError(f"{flag} {text!r} is not supported; use {DEVICE_CHOICES}")
    return device
