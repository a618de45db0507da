"""An append-only array for panels that record one value per step or iteration."""

from __future__ import annotations

import numpy as np


class GrowingArray:
    """A 1-D array with amortised O(1) appends (capacity doubles); `view()` returns every value, uncopied.

    Panels append at the caller's rate and redraw at their own: a view is what a plot item is handed, and a
    later reallocation leaves views already handed out intact.
    """

    def __init__(self, dtype: type | np.dtype = np.float64, capacity: int = 256) -> None:
        self._data = np.empty(capacity, dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, value: float) -> None:
        if self._size == self._data.shape[0]:
            grown = np.empty(2 * self._data.shape[0], dtype=self._data.dtype)
            grown[: self._size] = self._data
            self._data = grown
        self._data[self._size] = value
        self._size += 1

    def view(self) -> np.ndarray:
        return self._data[: self._size]

    def clear(self) -> None:
        self._size = 0
