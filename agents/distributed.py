"""Data-parallel training across processes and machines: DD-PPO (Wijmans et al., ICLR 2020) on torch.distributed.

The field's recipe, as habitat-baselines' `rl/ddppo/ddp_utils.py` and Memo's official trainer run it: `torchrun`
starts one process (rank) per device and sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT;
every rank steps its own envs, the PPO update averages gradients across ranks after each backward pass, and
rank 0 alone writes the run directory. Nothing here is a home-made cluster: the collectives are torch's (gloo
on CPU, nccl on CUDA), the launcher is torchrun.

Every collective below is a no-op returning its input when the process group is not initialised (a plain
`train`, tests, the GUI), so `ppo_update` and the trainer call them unconditionally and read the same with
one process or many. Gradients are averaged by one explicit all-reduce of a flat buffer instead of
DistributedDataParallel: DDP hooks `forward`, while the update calls `Agent.evaluate` / `evaluate_steps`,
and the explicit call keeps the update readable top to bottom (and lets the loss ride along in the same
buffer, so every rank agrees whether a minibatch was finite).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import pickle
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

# How long a collective may wait for the other ranks before it fails (a peer whose machine vanished without
# closing its sockets; a killed process closes them and is noticed at once). The longest gap between two
# collectives is one env step, one minibatch or one checkpoint write.
COLLECTIVE_TIMEOUT = timedelta(minutes=5)

_STORE_PREFIX = "engram/exit/"


class RankLost(RuntimeError):
    """A collective failed: another rank died or stopped answering. The run directory is as of the last
    checkpoint; `train --resume` continues from it."""


@dataclass(frozen=True)
class Ranks:
    """Where this process sits in a (possibly one-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """Whether torchrun (or another launcher setting its variables) started this process as one rank."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ


def backend_for(device: torch.device) -> str:
    """nccl for CUDA devices, gloo otherwise (torch.distributed's own advice)."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_from_environment(device: torch.device) -> Ranks:
    """Join the process group torchrun describes in the environment (env:// rendezvous); a no-op giving a
    one-process `Ranks` when not launched by torchrun. With CUDA each rank takes the GPU of its LOCAL_RANK."""
    if not launched_by_torchrun():
        return Ranks()
    if dist.is_initialized():
        return current_ranks()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank if device.index is None else device.index)
    # torch.distributed.nn binds `group.WORLD` as a default argument of its functions when first imported. The
    # first optimizer imports it (torch.optim -> torch._dynamo -> fsdp -> distributed.nn); after
    # init_process_group those defaults would hold the default group past destroy_process_group, so its gloo
    # worker threads lived into interpreter shutdown, where one releasing a finished all-gather's tensors
    # needs the GIL and aborts the rank ("terminate called without an active exception", SIGABRT;
    # docs/reliability.md). Imported before init, they bind None (the default group at call time).
    importlib.import_module("torch.distributed.nn")

    dist.init_process_group(backend_for(device), timeout=COLLECTIVE_TIMEOUT)
    return current_ranks()


def current_ranks() -> Ranks:
    if not dist.is_initialized():
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def _collective_device() -> torch.device:
    """nccl reduces CUDA tensors only; gloo reduces CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


_collective_s = 0.0


def collective_seconds() -> float:
    """Seconds this process has spent in collectives: the transfer, and the wait for the slowest rank."""
    return _collective_s


def _checked(operation: str, call: Any) -> Any:
    """Run one collective; a failure (a peer gone) becomes a RankLost naming this rank and the operation."""
    global _collective_s
    start = time.perf_counter()
    try:
        return call()
    except (RuntimeError, dist.DistBackendError) as error:
        detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise RankLost(f"rank {rank()} of {world_size()}: {operation} failed ({detail})") from None
    finally:
        _collective_s += time.perf_counter() - start


def sum_across_ranks(tensor: Tensor) -> Tensor:
    """The element-wise sum over ranks (a new tensor on `tensor`'s device); `tensor` itself when alone."""
    if world_size() == 1:
        return tensor
    buffer = tensor.detach().to(_collective_device(), copy=True)
    _checked("all-reduce", lambda: dist.all_reduce(buffer, op=dist.ReduceOp.SUM))
    return buffer.to(tensor.device)


def mean_across_ranks(tensor: Tensor) -> Tensor:
    return sum_across_ranks(tensor) / world_size() if world_size() > 1 else tensor


def any_rank(flag: bool) -> bool:
    """True on every rank if it is True on any (a stop request, a time-based checkpoint decision)."""
    if world_size() == 1:
        return flag
    return bool(sum_across_ranks(torch.tensor([float(flag)])) > 0)


def average_gradients(parameters: list[torch.nn.Parameter], loss: Tensor, stop: bool) -> tuple[Tensor, bool]:
    """Replace every gradient by its mean over ranks, in one all-reduce of a flat buffer; returns the mean
    loss and whether any rank asked to `stop`. Parameters without a gradient count as zeros (a head unused by
    one rank's minibatch still gets the other ranks' gradient, and every rank steps identical weights). The
    loss rides in the same buffer, so a non-finite loss or gradient on any rank is non-finite on all of them
    and every rank skips alike; so does the stop request, so the update needs no collective of its own to
    agree on stopping (each collective costs a wake-up of every rank: ~2 ms on a busy 2-core machine)."""
    if world_size() == 1:
        return loss.detach(), stop
    flat = torch.cat(
        [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float() for p in parameters]
        + [loss.detach().reshape(1).float(), torch.tensor([float(stop)], device=loss.device)]
    )
    flat = mean_across_ranks(flat)
    offset = 0
    for p in parameters:
        size = p.numel()
        p.grad = flat[offset : offset + size].view_as(p).to(p.dtype)
        offset += size
    return flat[-2], bool(flat[-1] > 0)


def gather_objects(value: Any) -> list[Any]:
    """Every rank's `value` (picklable), in rank order, on every rank."""
    if world_size() == 1:
        return [value]
    gathered: list[Any] = [None] * world_size()
    _checked("gathering state", lambda: dist.all_gather_object(gathered, value))
    return gathered


def broadcast_object(value: Any) -> Any:
    """Rank 0's `value` on every rank (the resolved config, a checkpoint read on rank 0's machine)."""
    if world_size() == 1:
        return value
    box = [value if rank() == 0 else None]
    _checked("broadcast", lambda: dist.broadcast_object_list(box, src=0))
    return box[0]


def broadcast_tensors(tensors: list[Tensor]) -> None:
    """Overwrite `tensors` with rank 0's (initial weights, so every rank starts from the same model)."""
    if world_size() == 1:
        return
    device = _collective_device()
    for tensor in tensors:
        buffer = tensor.detach().to(device, copy=True)
        _checked("broadcast", lambda b=buffer: dist.broadcast(b, src=0))
        with torch.no_grad():
            tensor.copy_(buffer.to(tensor.device))


class RolloutCutoff:
    """DD-PPO's straggler cutoff (Wijmans et al. 2020, §3: "preemption threshold"; habitat-baselines'
    `sync_frac`): once more than `fraction` of the ranks have finished collecting (DD-PPO's test:
    done > sync_frac x world size), the others cut their rollouts short, so a slow rank delays no update by
    more than a step. Kept in torchrun's key-value store, one
    counter per iteration: each rank adds 1 when its rollout ends, and a stop request adds STOP, so one
    read per env step answers both "enough ranks done?" and "stop?" (ranks do not step in lockstep, so no
    collective can ask). With `fraction` 1 nothing is ever cut: the counter then only carries stop requests,
    which is how every multi-rank run reads them."""

    STOP = 1 << 20

    def __init__(self, fraction: float) -> None:
        self.needed = math.floor(fraction * world_size()) + 1

    @staticmethod
    def _key(iteration: int) -> str:
        return f"engram/rollouts/{iteration}"

    def _add(self, iteration: int, amount: int) -> int:
        return int(_checked("the rollout counter", lambda: _store().add(self._key(iteration), amount)))

    def finished(self, iteration: int) -> None:
        self._add(iteration, 1)

    def request_stop(self, iteration: int) -> None:
        self._add(iteration, self.STOP)

    def poll(self, iteration: int) -> tuple[bool, bool]:
        """(enough ranks have finished this iteration's rollout, a stop was requested)."""
        count = self._add(iteration, 0)
        return count % self.STOP >= self.needed, count >= self.STOP


def mark_exit(reason: str) -> None:
    """Leave a note in torchrun's key-value store that this rank is ending on purpose, so a rank that sees a
    collective fail can tell which peers died without one (`silent_ranks`)."""
    if world_size() == 1:
        return
    try:
        store = _store()
        # The stub says str; the store takes bytes too (pybind11 accepts both), and the reader unpickles them.
        store.set(f"{_STORE_PREFIX}{rank()}", pickle.dumps(reason))  # type: ignore[arg-type]
    except Exception:  # the store's host may be gone too; the note is a courtesy
        pass


def silent_ranks(wait_s: float = 2.0) -> list[int] | None:
    """The ranks that left no exit note within `wait_s` (killed, or hung), or None if the store is gone."""
    if world_size() == 1:
        return []
    try:
        store = _store()
        keys = [f"{_STORE_PREFIX}{r}" for r in range(world_size()) if r != rank()]
        try:
            store.wait(keys, timedelta(seconds=wait_s))
            return []
        except Exception:  # some never arrived: which?
            return [
                r for r in range(world_size()) if r != rank() and not store.check([f"{_STORE_PREFIX}{r}"])
            ]
    except Exception:
        return None


def _store() -> dist.Store:
    from torch.distributed import distributed_c10d

    return distributed_c10d._get_default_store()


def shutdown() -> None:
    if dist.is_initialized():
        # A broken group (a peer gone) cannot always be torn down cleanly.
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
