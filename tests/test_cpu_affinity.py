"""Thread priorities and core pinning (agents/cpu_affinity.py), on this process's real threads (Linux)."""

from __future__ import annotations

import os
import threading

import pytest

from agents.cpu_affinity import lower_thread_priority

pytestmark = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread nice is Linux's")


def nice_of(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def test_lowering_a_threads_priority_leaves_the_others_and_passes_to_the_threads_it_starts() -> None:
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = nice_of(threading.get_native_id())

    def lowered() -> None:
        lower_thread_priority(3)
        seen["lowered"] = nice_of(threading.get_native_id())
        started = threading.Thread(target=child)
        started.start()
        started.join()

    before = nice_of(threading.get_native_id())
    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert seen == {"lowered": min(before + 3, 19), "child": min(before + 3, 19)}
    assert nice_of(threading.get_native_id()) == before  # the calling thread's neighbours keep theirs
