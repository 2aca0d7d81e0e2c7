"""Predictions and accuracy from a network's output (numpy results: they are not differentiated)."""

from __future__ import annotations

import math

import numpy as np

from microgrid import checks
from microgrid.errors import ShapeError
from microgrid.tensor import Operand, Tensor, as_array


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
    """The fraction of the m examples predicted right.

    `predictions` are classes, as `predict` gives them: 0/1, True/False or class indices, m of
    them as a (1, m) row or (m,); probabilities or logits are refused (pass them to `predict`).
    `labels` are a (1, m) row or (m,) of classes, or one-hot columns (C, m).

    >>> accuracy(predict(np.array([[0.9, 0.2, 0.6, 0.3]])), np.array([[1, 0, 0, 0]]))
    0.75
    """
    check_classes("predictions", predictions)
    predicted = as_array(predictions).reshape(-1)
    expected = as_array(labels)
    if expected.ndim == 2 and expected.shape[0] > 1:
        expected = np.argmax(expected, axis=0)
    else:
        check_classes("labels", labels)
    expected = expected.reshape(-1)
    if predicted.shape != expected.shape:
        raise ShapeError(
            f"accuracy: {predicted.size} predictions but {expected.size} labels "
            f"(predictions {as_array(predictions).shape}, labels {as_array(labels).shape})"
        )
    return float(np.mean(predicted == expected)) if predicted.size else float("nan")


_NOT_CLASSES = {
    "predictions": "pass mg.nn.predict(A) for probabilities A, or mg.nn.predict(Z, from_logits=True) "
    "for logits Z",
    "labels": "labels are 0/1, class indices or one-hot columns (C, m); the order is "
    "accuracy(predictions, labels)",
}


def check_classes(name: str, value: Operand) -> None:
    """Refuse accuracy's `predictions` or `labels` (the `name`) unless every entry is a class.

    A class is 0/1, True/False or a class index: a float array must hold whole numbers, while
    bool, int and other arrays (class names as strings) are compared as they are.
    """
    values = as_array(value)
    if whole_numbers(values):
        return
    others = ~_whole(values)
    described = value.describe() if isinstance(value, Tensor) else f"{name} {values.shape}"
    raise ValueError(
        f"accuracy: {described} must hold classes (0/1 or class indices), got "
        f"{values.flat[np.argmax(others)]:g} ({np.count_nonzero(others)} of {values.size} entries "
        f"are not whole numbers): {_NOT_CLASSES[name]}"
    )


def whole_numbers(values: np.ndarray) -> bool:
    """True unless a float array holds a fraction, NaN or inf; any bool, int or non-number array is whole."""
    return values.dtype.kind != "f" or bool(np.all(_whole(values)))


def _whole(values: np.ndarray) -> np.ndarray:
    """Where the entries of a float array are whole numbers (NaN and inf are not)."""
    return np.isfinite(values) & (np.floor(values) == values)
