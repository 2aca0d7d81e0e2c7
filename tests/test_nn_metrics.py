"""Predictions and accuracy in the course's layout."""

from __future__ import annotations

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn


def test_predict_thresholds_probabilities_and_logits() -> None:
    probs = mg.tensor([[0.2, 0.5, 0.51, 0.9]])
    np.testing.assert_array_equal(nn.predict(probs), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(nn.predict(probs, threshold=0.3), [[0, 1, 1, 1]])
    logits = np.array([[-3.0, -0.1, 0.1, 4.0]])
    np.testing.assert_array_equal(nn.predict(logits, threshold=0), [[0, 0, 1, 1]])


def test_predict_takes_the_argmax_down_each_column() -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.1, 0.2, 0.7]])
    np.testing.assert_array_equal(nn.predict(scores), [[1, 0, 2]])


@pytest.mark.parametrize(
    "labels",
    [np.array([[1, 0, 2, 2]]), np.array([1, 0, 2, 2]), np.eye(3)[:, [1, 0, 2, 2]]],
    ids=["row", "flat", "one-hot"],
)
def test_accuracy_reads_labels_as_a_row_flat_or_one_hot(labels: np.ndarray) -> None:
    assert nn.accuracy(np.array([[1, 0, 2, 0]]), labels) == 0.75


def test_accuracy_of_a_binary_prediction() -> None:
    Y = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    assert nn.accuracy(nn.predict(np.array([[0.9, 0.1, 0.4, 0.8, 0.7]])), Y) == 0.6


def test_mismatched_sizes_and_shapes_are_refused() -> None:
    with pytest.raises(mg.ShapeError, match=r"3 predictions but 4 labels"):
        nn.accuracy(np.zeros((1, 3)), np.zeros((1, 4)))
    with pytest.raises(mg.ShapeError, match=r"must be \(1, m\) or \(classes, m\), got shape \(4,\)"):
        nn.predict(np.zeros(4))
