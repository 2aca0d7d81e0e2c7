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


def test_predict_from_logits_is_sigma_z_above_the_threshold() -> None:
    logits = mg.tensor([[0.2, -0.2, 0.4]])  # what mlp() gives by default
    np.testing.assert_array_equal(nn.predict(logits, from_logits=True), [[1, 0, 1]])
    z = np.random.default_rng(0).standard_normal((1, 200)) * 3
    for threshold in (0.2, 0.5, 0.9):
        expected = (1 / (1 + np.exp(-z)) > threshold).astype(int)
        np.testing.assert_array_equal(nn.predict(z, threshold, from_logits=True), expected)


def test_predict_takes_the_argmax_down_each_column() -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.1, 0.2, 0.7]])
    np.testing.assert_array_equal(nn.predict(scores), [[1, 0, 2]])
    logits = np.log(scores) + 5.0  # softmax(logits) = scores: the same classes from the logits
    np.testing.assert_array_equal(nn.predict(logits, from_logits=True), [[1, 0, 2]])


@pytest.mark.parametrize(
    ("threshold", "from_logits", "error", "message"),
    [
        (
            0.0,
            True,
            ValueError,
            r"predict: threshold, with from_logits=True, must be a number in \(0, 1\), got 0.0",
        ),
        (1.0, True, ValueError, r"threshold, with from_logits=True, must be a number in \(0, 1\), got 1.0"),
        ("0.5", False, TypeError, r"predict: threshold must be a finite number, got '0.5'"),
        (float("inf"), False, ValueError, r"predict: threshold must be a finite number, got inf"),
    ],
)
def test_predict_refuses_a_threshold_that_is_not_a_probability(
    threshold: float, from_logits: bool, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        nn.predict(np.zeros((1, 3)), threshold, from_logits=from_logits)


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


@pytest.mark.parametrize(
    ("predictions", "labels", "expected"),
    [
        (np.array([[True, False, True, True]]), np.array([[1.0, 0.0, 0.0, 1.0]]), 0.75),  # A > 0.5
        (np.array([[1.0, 0.0, 0.0, 1.0]]), np.array([1, 0, 1, 1]), 0.75),  # whole floats
        (np.array([2, 0, 1, 1]), np.eye(3)[:, [2, 0, 1, 0]], 0.75),  # class indices, one-hot labels
        (np.array(["cat", "dog", "cat", "cat"]), np.array(["cat", "dog", "dog", "cat"]), 0.75),  # names
    ],
    ids=["booleans", "whole floats", "indices", "class names"],
)
def test_accuracy_accepts_classes_of_every_kind(
    predictions: np.ndarray, labels: np.ndarray, expected: float
) -> None:
    assert nn.accuracy(predictions, labels) == expected


Y4 = np.array([[1.0, 0.0, 0.0, 1.0]])
PREDICT_FIRST = (
    r"pass mg.nn.predict\(A\) for probabilities A, or mg.nn.predict\(Z, from_logits=True\) for logits Z$"
)


@pytest.mark.parametrize(
    ("predictions", "message"),
    [
        (np.array([[0.9, 0.2, 0.3, 0.8]]), r"^accuracy: predictions \(1, 4\) must hold classes \(0/1 or "
         r"class indices\), got 0.9 \(4 of 4 entries are not whole numbers\): "),
        (mg.tensor([[1.5, -0.2, -3.0, 2.0]], name="Z[2]"), r"^accuracy: Z\[2\] \(1, 4\) must hold "
         r"classes .*, got 1.5 \(2 of 4 entries"),
        (np.array([1.0, 0.0, np.nan, 1.0]), r"^accuracy: predictions \(4,\) .*, got nan \(1 of 4 entries"),
    ],
    ids=["probabilities", "logits", "nan"],
)  # fmt: skip
def test_accuracy_refuses_probabilities_or_logits_and_says_to_predict_first(
    predictions: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message + ".*" + PREDICT_FIRST):
        nn.accuracy(predictions, Y4)


def test_accuracy_refuses_labels_that_are_not_classes() -> None:
    # The arguments swapped: probabilities where the labels go.
    with pytest.raises(ValueError, match=r"^accuracy: labels \(1, 4\) must hold classes .* got 0.9 .*the "
                       r"order is accuracy\(predictions, labels\)$"):  # fmt: skip
        nn.accuracy(Y4, np.array([[0.9, 0.2, 0.3, 0.8]]))


def test_soft_one_hot_labels_count_by_their_largest_entry() -> None:
    soft = np.array([[0.8, 0.3, 0.1], [0.2, 0.7, 0.9]])
    assert nn.accuracy(np.array([[0, 1, 0]]), soft) == pytest.approx(2 / 3)
