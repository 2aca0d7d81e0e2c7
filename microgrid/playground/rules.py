"""The rules a playground run and its exported script share: how the data is split, how an epoch is batched.

The session calls these functions, and export.py writes their source into the script, so the page and
the script split and batch the same way and draw the same numbers from the same generator.
Write them with the names imported here only: the script imports the same ones.
"""

from __future__ import annotations

import numpy as np

from microgrid.data import minibatches, train_test_split
from microgrid.tensor import Tensor


def split(
    X: np.ndarray, Y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, Y_train, X_test, Y_test): round(m · test_fraction) random examples to test on, or
    none when that would leave the training or the test set empty (a tiny dataset)."""
    if 0 < round(X.shape[1] * test_fraction) < X.shape[1]:
        X_train, Y_train, X_test, Y_test = train_test_split(X, Y, test_fraction, seed=seed)
        return X_train, Y_train, X_test, Y_test
    return X, Y, X[:, :0], Y[:, :0]


def epoch_batches(
    X: np.ndarray, Y: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[tuple[Tensor, Tensor]]:
    """One epoch's batches: the whole set as one batch when batch_size is 0 or covers it (nothing is
    drawn from rng), else the examples shuffled by rng and cut into batches of batch_size."""
    if batch_size == 0 or batch_size >= X.shape[1]:
        return [(Tensor(X, name="X"), Tensor(Y, name="Y"))]
    return list(minibatches(X, Y, batch_size, seed=rng))
