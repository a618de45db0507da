"""Which CPU cores a process's threads run on (Linux), how the app splits them while a run trains, and which of
the window's threads yields when they compete.

Qt-free: the trainer's child process pins itself with `pin_threads` (agents/trainer_process.py), the window's
trainer worker pins the window's threads to the cores `CoreSplit` leaves it, and the window's player thread
lowers its own priority with `lower_thread_priority` (app/player_worker.py).
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass

# The cores this process may use, read at import, before any thread is pinned (affinity is per thread).
ALL_CPUS = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()


def pin_threads(cpus: frozenset[int]) -> None:
    """Every thread of this process onto `cpus` (Linux: affinity is per thread, and a new thread inherits its
    creator's). Importing torch, as unpickling the trainer's factory does, already started some."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # the thread ended meanwhile
            os.sched_setaffinity(int(tid), cpus)


@dataclass(frozen=True)
class CoreSplit:
    """Cores for the training process and for the window's threads (event loop, player, renderer) while a
    run trains. Left to the scheduler, the window's bursts (a software-GL frame rasterised on two threads,
    a panel repaint) preempt the single-threaded trainer on whichever core it is on and evict its caches;
    on 2 cores its speed with the window open swung between 0.67 and 0.93 of headless. With a core of its
    own it trained at 0.84-1.13 of headless while the viewport kept its rate (docs/benchmarks.md). An env
    worker the trainer starts (`env_worker`) shares the trainer's core."""

    trainer: frozenset[int]
    window: frozenset[int]

    @classmethod
    def for_this_machine(cls) -> CoreSplit | None:
        """The trainer on one core (its rollout and, by default, its update use one thread), the window on
        the others; None where affinity cannot be set or there is one core."""
        if len(ALL_CPUS) < 2:
            return None
        cpus = sorted(ALL_CPUS)
        return cls(frozenset(cpus[-1:]), frozenset(cpus[:-1]))


def lower_thread_priority(increment: int) -> None:
    """Raise the calling thread's nice value by `increment` (Linux: nice is per thread, and a thread started
    afterwards, such as llvmpipe's rasteriser threads for a GL context this thread creates, inherits it). An
    unprivileged process may always lower its own priority; elsewhere, or if refused, nothing changes."""
    if not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + increment)
