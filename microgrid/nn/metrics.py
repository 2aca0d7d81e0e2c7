"""Predictions and accuracy from a network's output (numpy results: they are not differentiated)."""

from __future__ import annotations

import numpy as np

from microgrid.errors import ShapeError
from microgrid.tensor import Operand, Tensor


def _array(values: Operand) -> np.ndarray:
    return values.data if isinstance(values, Tensor) else np.asarray(values)


def predict(output: Operand, threshold: float = 0.5) -> np.ndarray:
    """Class predictions as a (1, m) row: output (1, m) > threshold gives 0/1, (C, m) its argmax.

    For logits rather than probabilities, σ(z) > 0.5 is z > 0: pass threshold=0.
    """
    scores = _array(output)
    if scores.ndim != 2:
        raise ShapeError(f"predict: the output must be (1, m) or (classes, m), got shape {scores.shape}")
    if scores.shape[0] == 1:
        return (scores > threshold).astype(np.int64)
    return np.argmax(scores, axis=0).reshape(1, -1)


def accuracy(predictions: Operand, labels: Operand) -> float:
    """The fraction of the m examples predicted right; labels as a (1, m) row, (m,), or one-hot (C, m)."""
    predicted = _array(predictions).reshape(-1)
    expected = _array(labels)
    if expected.ndim == 2 and expected.shape[0] > 1:
        expected = np.argmax(expected, axis=0)
    expected = expected.reshape(-1)
    if predicted.shape != expected.shape:
        raise ShapeError(
            f"accuracy: {predicted.size} predictions but {expected.size} labels "
            f"(predictions {_array(predictions).shape}, labels {_array(labels).shape})"
        )
    return float(np.mean(predicted == expected)) if predicted.size else float("nan")
