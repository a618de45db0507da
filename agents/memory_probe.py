"""What an agent's memory knows: linear probes and a 2-D embedding of memory vectors, Qt-free (NumPy only).

The memory vectors are whatever the agent keeps (TrMRL: the working-memory token at the policy's read-out;
Memo: each summary token as written; FCT / RL²: the read-out state), gathered per trial step over several
trials of different tasks: an array (trials, steps, features). The probes answer "from which trial step does
the memory tell the task?" the way the audit of Memo's writer did (docs/reference/memo.md: a linear probe on
the newest summary decoded the key's cell up to step ≈ 455 and not past the training trial):

* `ridge_probe_r2` — a ridge regression per trial step from the memory to a continuous task parameter,
  scored by R² on held-out trials (k-fold over trials, so a probe never sees the trial it is scored on);
* `ridge_probe_transfer_r2` — one ridge regression fit on a range of steps, scored at every step: whether the
  memory keeps the code it had there (the per-step probe asks only whether the task is there at all);
* `ridge_probe_accuracy` — the same for a categorical parameter (a ridge classifier: one-hot targets, the
  largest output wins), scored by held-out accuracy;
* `pca_embedding` — the vectors projected on their first two principal components (TrMRL's code exports this
  figure offline), with the share of variance each keeps.

A memory that holds the task exactly scores R² ≈ 1 (accuracy ≈ 1); one that holds noise scores R² ≤ 0
(accuracy at chance): tests/test_memory_probe.py checks both, and a memory that learns the task mid-trial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _folds(trials: int, folds: int) -> list[NDArray[np.int64]]:
    """Held-out trial indices of each fold (contiguous blocks: trials are already in random task order)."""
    folds = max(2, min(folds, trials))
    return [block.astype(np.int64) for block in np.array_split(np.arange(trials), folds)]


def _ridge_fit_predict(
    x_train: FloatArray, y_train: FloatArray, x_test: FloatArray, alpha: float
) -> FloatArray:
    """Ridge regression (features standardised on the training rows, intercept unpenalised)."""
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    a, b = (x_train - mean) / std, (x_test - mean) / std
    y_mean = y_train.mean(0)
    centred = y_train - y_mean
    if a.shape[0] < a.shape[1]:
        # Fewer rows than features (a few dozen trials of a 128- to 512-wide memory): the dual form gives the
        # same weights, Aᵀ(AAᵀ + αI)⁻¹y, from a rows × rows system instead of a features × features one.
        weights = a.T @ np.linalg.solve(a @ a.T + alpha * np.eye(a.shape[0]), centred)
    else:
        weights = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ centred)
    return np.asarray(b @ weights + y_mean, dtype=np.float64)


def _check(memory: np.ndarray, target: np.ndarray) -> tuple[FloatArray, np.ndarray]:
    memory = np.asarray(memory, dtype=np.float64)
    target = np.asarray(target)
    if memory.ndim != 3:
        raise ValueError(f"memory must be (trials, steps, features), got shape {memory.shape}")
    if target.shape[0] != memory.shape[0]:
        raise ValueError(f"one target per trial: {target.shape[0]} targets for {memory.shape[0]} trials")
    if memory.shape[0] < 4:
        raise ValueError(f"a held-out probe needs at least 4 trials, got {memory.shape[0]}")
    return memory, target


def _r2(columns: FloatArray, predicted: FloatArray) -> FloatArray:
    """R² per column: 1 − SSE / SS about the mean (0 for a column that does not vary)."""
    total = ((columns - columns.mean(0)) ** 2).sum(0)
    error = ((columns - predicted) ** 2).sum(0)
    return np.asarray(np.where(total > 0, 1.0 - error / np.where(total > 0, total, 1.0), 0.0))


def ridge_probe_r2(memory: np.ndarray, target: np.ndarray, alpha: float = 1.0, folds: int = 5) -> FloatArray:
    """Held-out R² of a ridge regression from the memory at each trial step to `target`: shape (steps,) for
    one value per trial, (steps, k) for k values per trial (one probe per step fits all k at once).
    R² = 1 − SSE / SS of the held-out targets about their mean; ≤ 0 means no better than predicting the mean."""
    memory, y = _check(memory, target)
    columns = y.astype(np.float64).reshape(len(y), -1)
    trials, steps, _ = memory.shape
    r2 = np.empty((steps, columns.shape[1]))
    for step in range(steps):
        predicted = np.empty_like(columns)
        for held in _folds(trials, folds):
            train = np.setdiff1d(np.arange(trials), held)
            predicted[held] = _ridge_fit_predict(
                memory[train, step], columns[train], memory[held, step], alpha
            )
        r2[step] = _r2(columns, predicted)
    return r2[:, 0] if y.ndim == 1 else r2


def ridge_probe_transfer_r2(
    memory: np.ndarray, target: np.ndarray, fit_steps: range, alpha: float = 1.0, folds: int = 5
) -> FloatArray:
    """Held-out R² at every trial step of ONE ridge regression fit on the steps in `fit_steps` (pooled):
    shape as `ridge_probe_r2`. Where the per-step probe stays high and this one falls, the memory still holds
    the task but writes it in another code than at `fit_steps` — a reader trained on those steps (the
    policy) would misread it. (A probe trained in the training horizon and read past it is how the audit in
    docs/reference/memo.md saw Memo's summaries "forget" the key.)"""
    memory, y = _check(memory, target)
    columns = y.astype(np.float64).reshape(len(y), -1)
    trials, steps, features = memory.shape
    if not fit_steps or fit_steps.start < 0 or fit_steps.stop > steps:
        raise ValueError(f"fit_steps {fit_steps} must be a non-empty range within the {steps} trial steps")
    predicted = np.empty((steps, *columns.shape))
    for held in _folds(trials, folds):
        train = np.setdiff1d(np.arange(trials), held)
        x_fit = memory[train][:, fit_steps].reshape(-1, features)
        y_fit = np.repeat(columns[train], len(fit_steps), axis=0)
        x_held = memory[held].transpose(1, 0, 2).reshape(-1, features)  # (steps × held, features)
        predicted[:, held] = _ridge_fit_predict(x_fit, y_fit, x_held, alpha).reshape(steps, len(held), -1)
    r2 = np.stack([_r2(columns, predicted[step]) for step in range(steps)])
    return r2[:, 0] if y.ndim == 1 else r2


def ridge_probe_accuracy(
    memory: np.ndarray, labels: np.ndarray, alpha: float = 1.0, folds: int = 5
) -> FloatArray:
    """Held-out accuracy of a ridge classifier from the memory at each trial step to `labels` (one category per
    trial): shape (steps,). Chance is the share of the most common label."""
    memory, labels = _check(memory, labels)
    classes, index = np.unique(labels, return_inverse=True)
    one_hot = np.eye(len(classes))[index]
    trials, steps, _ = memory.shape
    accuracy = np.empty(steps)
    for step in range(steps):
        correct = 0
        for held in _folds(trials, folds):
            train = np.setdiff1d(np.arange(trials), held)
            scores = _ridge_fit_predict(memory[train, step], one_hot[train], memory[held, step], alpha)
            correct += int((scores.argmax(1) == index[held]).sum())
        accuracy[step] = correct / trials
    return accuracy


@dataclass(frozen=True)
class Embedding:
    points: FloatArray  # (vectors, 2): each vector's coordinates on the first two components
    explained: FloatArray  # (2,): the share of the vectors' variance each component keeps


def pca_embedding(vectors: np.ndarray) -> Embedding:
    """The vectors (n, features) on their first two principal components (SVD of the centred vectors)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) < 2:
        raise ValueError(f"pca_embedding needs (n >= 2, features) vectors, got shape {vectors.shape}")
    centred = vectors - vectors.mean(0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    keep = min(2, len(singular))
    points = np.zeros((len(vectors), 2))
    points[:, :keep] = centred @ components[:keep].T
    explained = np.zeros(2)
    if variance.sum() > 0:
        explained[:keep] = variance[:keep] / variance.sum()
    return Embedding(points, explained)
