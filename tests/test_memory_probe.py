"""The memory probes and embedding (agents/memory_probe.py) on synthetic memories whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from agents.memory_probe import (
    _ridge_fit_predict,
    pca_embedding,
    ridge_probe_accuracy,
    ridge_probe_r2,
    ridge_probe_transfer_r2,
)

TRIALS, STEPS, FEATURES = 60, 12, 16


def memories(seed: int = 0) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    task = rng.uniform(-1, 1, TRIALS)
    noise = rng.normal(size=(TRIALS, STEPS, FEATURES))
    return rng, task, noise


def test_a_memory_that_holds_the_task_decodes_and_noise_does_not() -> None:
    rng, task, noise = memories()
    direction = rng.normal(size=FEATURES)
    holds = task[:, None, None] * direction + 0.05 * noise  # the task, written along one direction
    assert ridge_probe_r2(holds, task).min() > 0.95
    assert ridge_probe_r2(noise, task).max() < 0.15  # noise: no better than the mean, give or take the folds
    both = ridge_probe_r2(holds, np.stack([task, rng.uniform(-1, 1, TRIALS)], axis=1))  # one held, one not
    assert both.shape == (STEPS, 2) and both[:, 0].min() > 0.95 and both[:, 1].max() < 0.15


def test_the_probe_finds_the_step_where_the_memory_learns_the_task() -> None:
    rng, task, noise = memories(1)
    direction = rng.normal(size=FEATURES)
    learned_at = 5
    memory = noise.copy()
    memory[:, learned_at:] += 3 * task[:, None, None] * direction  # known from step 5 on (an agent adapting)
    r2 = ridge_probe_r2(memory, task)
    assert r2[:learned_at].max() < 0.15 and r2[learned_at:].min() > 0.8


def test_a_probe_fit_early_tells_a_memory_that_changes_its_code_from_one_that_forgets() -> None:
    rng, task, noise = memories(4)
    first, second = rng.normal(size=FEATURES), rng.normal(size=FEATURES)
    switch = 6
    recoded = 0.05 * noise + task[:, None, None] * first
    recoded[:, switch:] = 0.05 * noise[:, switch:] + task[:, None, None] * second  # the same task, a new code
    # Per step the task is always there; a probe fit on the early steps reads it there and not after.
    assert ridge_probe_r2(recoded, task).min() > 0.95
    transfer = ridge_probe_transfer_r2(recoded, task, range(0, switch))
    assert transfer[:switch].min() > 0.95 and transfer[switch:].max() < 0.5
    steady = 0.05 * noise + task[:, None, None] * first  # one code throughout: the early probe reads it all
    assert ridge_probe_transfer_r2(steady, task, range(0, switch)).min() > 0.95
    with pytest.raises(ValueError, match="fit_steps"):
        ridge_probe_transfer_r2(steady, task, range(STEPS, STEPS + 2))


def test_categories_decode_to_held_out_accuracy_and_noise_to_chance() -> None:
    rng, _, noise = memories(2)
    labels = rng.integers(0, 4, TRIALS)  # e.g. the key's cell among four
    codes = rng.normal(size=(4, FEATURES))
    holds = codes[labels][:, None, :] + 0.3 * noise
    assert ridge_probe_accuracy(holds, labels).min() > 0.95
    chance = ridge_probe_accuracy(noise, labels)
    assert chance.mean() < 0.45  # 4 classes: chance ≈ 0.25-0.3 (the commonest label's share)


def test_pca_recovers_a_plane_and_reports_its_variance() -> None:
    rng = np.random.default_rng(3)
    plane = rng.normal(size=(200, 2)) * [3.0, 1.0]
    basis = np.linalg.qr(rng.normal(size=(10, 2)))[0].T  # an orthonormal plane in 10-D
    vectors = plane @ basis + 5.0  # an offset the centring removes
    embedding = pca_embedding(vectors)
    assert embedding.points.shape == (200, 2) and embedding.explained.sum() == pytest.approx(1.0)
    assert embedding.explained[0] == pytest.approx(0.9, abs=0.03)  # variances 9 : 1
    # The same points up to a sign per axis.
    for axis in range(2):
        correlation = np.corrcoef(embedding.points[:, axis], plane[:, axis])[0, 1]
        assert abs(correlation) > 0.999


def test_bad_shapes_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="trials, steps, features"):
        ridge_probe_r2(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="one target per trial"):
        ridge_probe_r2(np.zeros((5, 3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least 4 trials"):
        ridge_probe_accuracy(np.zeros((3, 3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="pca_embedding needs"):
        pca_embedding(np.zeros((1, 3)))


def test_the_dual_ridge_for_wide_memories_gives_the_primal_answer() -> None:
    rng = np.random.default_rng(3)
    x_train, y_train, x_test = rng.normal(size=(10, 40)), rng.normal(size=(10, 2)), rng.normal(size=(5, 40))
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    a, b = (x_train - mean) / std, (x_test - mean) / std
    weights = np.linalg.solve(a.T @ a + 2.0 * np.eye(40), a.T @ (y_train - y_train.mean(0)))
    primal = b @ weights + y_train.mean(0)
    np.testing.assert_allclose(_ridge_fit_predict(x_train, y_train, x_test, 2.0), primal, atol=1e-9)
