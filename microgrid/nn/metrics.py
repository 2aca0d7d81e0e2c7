"""Predictions and accuracy from a network's output (numpy results: they are not differentiated)."""

from __future__ import annotations

import math

import numpy as np

from microgrid import checks
from microgrid.errors import ShapeError
from microgrid.tensor import Operand, as_array


def predict(output: Operand, threshold: float = 0.5, from_logits: bool = False) -> np.ndarray:
    """Class predictions as a (1, m) row: probabilities (1, m) > threshold give 0/1, (C, m) their argmax.

    `mlp()` outputs logits z by default: pass from_logits=True, and a (1, m) output counts as
    class 1 where σ(z) > threshold, that is z > log(threshold / (1 − threshold)), which is z > 0
    for 0.5. A (C, m) output gives the argmax down each column either way (softmax keeps the order).

    >>> predict(np.array([[0.2, -0.2, 0.4]]), from_logits=True)
    array([[1, 0, 1]])
    """
    scores = as_array(output)
    if scores.ndim != 2:
        raise ShapeError(f"predict: the output must be (1, m) or (classes, m), got shape {scores.shape}")
    if scores.shape[0] > 1:
        return np.argmax(scores, axis=0).reshape(1, -1)
    if from_logits:
        probability = checks.number(
            "predict", "threshold, with from_logits=True,", threshold, above=0, below=1
        )
        threshold = math.log(probability / (1 - probability))
    else:
        threshold = checks.number("predict", "threshold", threshold)
    return (scores > threshold).astype(np.int64)


def accuracy(predictions: Operand, labels: Operand) -> float:
    """The fraction of the m examples predicted right; labels as a (1, m) row, (m,), or one-hot (C, m)."""
    predicted = as_array(predictions).reshape(-1)
    expected = as_array(labels)
    if expected.ndim == 2 and expected.shape[0] > 1:
        expected = np.argmax(expected, axis=0)
    expected = expected.reshape(-1)
    if predicted.shape != expected.shape:
        raise ShapeError(
            f"accuracy: {predicted.size} predictions but {expected.size} labels "
            f"(predictions {as_array(predictions).shape}, labels {as_array(labels).shape})"
        )
    return float(np.mean(predicted == expected)) if predicted.size else float("nan")
