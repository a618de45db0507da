"""Shared test setup: headless Qt and MuJoCo, and one torch thread (set again before each module: a test that
trains with more threads must not change the next module's).

The tests train tiny models whose ops are too small to gain from intra-op threads; on a 2-core CI machine
that also runs subprocesses, two threads per op made a 10-second PPO test take minutes (measured).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MUJOCO_GL", "egl")

from collections.abc import Iterator

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
