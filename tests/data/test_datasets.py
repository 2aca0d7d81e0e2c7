"""microgrid.data.datasets: layout, labels, seeds, balance, argument checks, difficulty, and splitting."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import microgrid as mg
from microgrid.data import datasets

Generator = Callable[..., tuple[np.ndarray, np.ndarray]]
GENERATORS: dict[str, Generator] = {
    "flower": datasets.flower,
    "circles": datasets.circles,
    "moons": datasets.moons,
    "spirals": datasets.spirals,
    "xor": datasets.xor,
    "blobs": datasets.blobs,
}
every_generator = pytest.mark.parametrize("name", GENERATORS)


# --- layout and labels -----------------------------------------------------------------------


@every_generator
@pytest.mark.parametrize("m", [1, 101, 400])
def test_two_class_data_has_the_course_layout(name: str, m: int) -> None:
    X, Y = GENERATORS[name](m=m)
    assert X.shape == (2, m) and X.dtype == np.float64
    assert Y.shape == (1, m) and Y.dtype == np.float64
    assert set(np.unique(Y)) <= {0.0, 1.0}
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", [datasets.spirals, datasets.blobs])
@pytest.mark.parametrize("classes", [3, 5])
def test_more_classes_give_integer_labels(make: Generator, classes: int) -> None:
    X, Y = make(m=200, classes=classes)
    assert X.shape == (2, 200) and Y.shape == (1, 200) and Y.dtype == np.int64
    assert set(np.unique(Y)) == set(range(classes))


@every_generator
@pytest.mark.parametrize("m", [101, 400])
def test_classes_are_balanced_within_one_example(name: str, m: int) -> None:
    _, Y = GENERATORS[name](m=m)
    counts = np.unique(Y, return_counts=True)[1]
    assert len(counts) == 2 and counts.max() - counts.min() <= 1


def test_spiral_arms_share_out_evenly_over_classes() -> None:
    _, Y = datasets.spirals(m=600, classes=3, arms=6)
    np.testing.assert_array_equal(np.unique(Y, return_counts=True)[1], [200, 200, 200])


def test_columns_come_shuffled() -> None:
    # Unshuffled data would make X[:, :100] a single class: bad for mini-batches.
    _, Y = datasets.flower(m=400)
    assert 0 < Y[0, :100].mean() < 1


def test_xor_without_noise_is_the_truth_table() -> None:
    X, Y = datasets.xor(m=4, noise=0.0)
    table = {(float(a), float(b)): float(y) for a, b, y in zip(X[0], X[1], Y[0])}
    assert table == {(1.0, 1.0): 0.0, (-1.0, -1.0): 0.0, (1.0, -1.0): 1.0, (-1.0, 1.0): 1.0}


def test_circles_sit_at_their_radii_without_noise() -> None:
    X, Y = datasets.circles(m=50, noise=0.0, factor=0.3)
    radius = np.hypot(X[0], X[1])
    np.testing.assert_allclose(radius, np.where(Y[0] == 0, 1.0, 0.3))


def test_flower_petals_alternate_between_classes() -> None:
    X, Y = datasets.flower(m=600, noise=0.0, petals=6)
    petal = np.floor((np.arctan2(X[1], X[0]) % (2 * np.pi)) / (2 * np.pi / 6)).astype(int)
    np.testing.assert_array_equal(Y[0], petal % 2)


# --- seeds -----------------------------------------------------------------------------------


@every_generator
def test_the_same_seed_gives_the_same_data(name: str) -> None:
    first, second = GENERATORS[name](seed=7), GENERATORS[name](seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    from_generator = GENERATORS[name](seed=np.random.default_rng(7))
    again = GENERATORS[name](seed=np.random.default_rng(7))
    np.testing.assert_array_equal(from_generator[0], again[0])


@every_generator
def test_a_different_seed_gives_different_data(name: str) -> None:
    assert not np.allclose(GENERATORS[name](seed=1)[0], GENERATORS[name](seed=2)[0])


# --- argument checks -------------------------------------------------------------------------


@every_generator
@pytest.mark.parametrize(
    "arguments,message",
    [
        ({"m": 0}, "m must be an int ≥ 1, got 0"),
        ({"m": 2.5}, "m must be an int"),
        ({"m": True}, "m must be an int"),
        ({"noise": -0.1}, "noise must be a finite number ≥ 0, got -0.1"),
        ({"noise": float("nan")}, "noise must be a finite number ≥ 0, got nan"),
        ({"noise": float("inf")}, "noise must be a finite number ≥ 0, got inf"),
    ],
)
def test_bad_sizes_and_noise_are_refused(name: str, arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GENERATORS[name](**arguments)


@every_generator
@pytest.mark.parametrize("seed", ["0", 1.5, True])
def test_bad_seeds_are_refused(name: str, seed: object) -> None:
    with pytest.raises(
        TypeError, match="seed must be an int ≥ 0, a numpy.random.Generator or a numpy.random"
    ):
        GENERATORS[name](seed=seed)


@every_generator
def test_seed_none_follows_manual_seed_and_a_random_state_is_accepted(name: str) -> None:
    mg.manual_seed(4)
    first = GENERATORS[name](seed=None)
    mg.manual_seed(4)
    again = GENERATORS[name](seed=None)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(GENERATORS[name](seed=None)[0], first[0])
    legacy = GENERATORS[name](seed=np.random.RandomState(7))
    np.testing.assert_array_equal(legacy[0], GENERATORS[name](seed=np.random.RandomState(7))[0])


@pytest.mark.parametrize(
    "make,arguments,message",
    [
        (datasets.flower, {"petals": 3}, "petals must be even"),
        (datasets.flower, {"petals": 0}, "petals must be an int ≥ 2"),
        (datasets.circles, {"factor": 1.5}, r"circles: factor .* must be a number in \(0, 1\), got 1.5"),
        (datasets.circles, {"factor": 0}, r"circles: factor .* must be a number in \(0, 1\), got 0"),
        (datasets.spirals, {"classes": 1}, "classes must be an int ≥ 2"),
        (datasets.spirals, {"classes": 2, "arms": 3}, r"arms \(3\) must be a multiple of classes \(2\)"),
        (datasets.spirals, {"turns": -1}, "spirals: turns must be a finite number ≥ 0, got -1"),
        (datasets.blobs, {"classes": 1}, "classes must be an int ≥ 2"),
    ],
)
def test_bad_shape_arguments_are_refused(make: Callable[..., object], arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**arguments)


# --- difficulty: what a linear model can and cannot do ---------------------------------------


def polynomial_features(X: np.ndarray, degree: int) -> np.ndarray:
    """All monomials x₁^i · x₂^j with i + j ≤ degree, one row each (the constant 1 included)."""
    powers = [(i, total - i) for total in range(degree + 1) for i in range(total + 1)]
    return np.stack([X[0] ** i * X[1] ** j for i, j in powers])


def least_squares_accuracy(features: np.ndarray, Y: np.ndarray) -> float:
    """Accuracy of the least-squares fit of Y on the feature rows, thresholded at 0.5."""
    weights = np.linalg.lstsq(features.T, Y[0], rcond=None)[0]
    return float(np.mean((weights @ features > 0.5) == (Y[0] == 1)))


@pytest.mark.parametrize(
    "name,degree,low,high",
    [
        ("flower", 1, 0.0, 0.7),  # no line separates the petals…
        ("flower", 2, 0.85, 1.0),  # …but x₁·x₂ tells the quadrants apart
        ("circles", 1, 0.0, 0.7),
        ("circles", 2, 0.95, 1.0),  # x₁² + x₂² is the radius squared
        ("moons", 3, 0.95, 1.0),
        ("xor", 1, 0.0, 0.7),
        ("xor", 2, 0.95, 1.0),
        ("spirals", 1, 0.0, 0.7),
        ("blobs", 1, 0.95, 1.0),  # the linearly separable one
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_least_squares_on_a_feature_map_learns_what_it_should(
    name: str, degree: int, low: float, high: float, seed: int
) -> None:
    X, Y = GENERATORS[name](seed=seed)
    assert low <= least_squares_accuracy(polynomial_features(X, degree), Y) <= high


def tanh_network_accuracy(X: np.ndarray, Y: np.ndarray, hidden: int, iterations: int, seed: int) -> float:
    """Training accuracy of the course's tanh-then-sigmoid network after plain gradient descent."""
    rng = np.random.default_rng(seed)
    W1, b1 = 0.01 * rng.standard_normal((hidden, 2)), np.zeros((hidden, 1))
    W2, b2 = 0.01 * rng.standard_normal((1, hidden)), np.zeros((1, 1))
    m, learning_rate = X.shape[1], 1.2
    for _ in range(iterations):
        A1 = np.tanh(W1 @ X + b1)
        A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
        dZ2 = (A2 - Y) / m
        dZ1 = (W2.T @ dZ2) * (1 - A1**2)
        W2, b2 = W2 - learning_rate * dZ2 @ A1.T, b2 - learning_rate * dZ2.sum(axis=1, keepdims=True)
        W1, b1 = W1 - learning_rate * dZ1 @ X.T, b1 - learning_rate * dZ1.sum(axis=1, keepdims=True)
    return float(np.mean((A2 > 0.5) == Y))


def test_flower_needs_a_hidden_layer_and_four_tanh_units_are_enough() -> None:
    X, Y = datasets.flower(seed=0)
    assert least_squares_accuracy(polynomial_features(X, 1), Y) < 0.6
    assert tanh_network_accuracy(X, Y, hidden=4, iterations=4000, seed=0) > 0.85


# --- train/test split ------------------------------------------------------------------------


def numbered(m: int) -> tuple[np.ndarray, np.ndarray]:
    """X and Y whose column j holds j, so that a split's pairing can be checked."""
    index = np.arange(m, dtype=float)
    return np.stack([index, -index]), index.reshape(1, m)


@pytest.mark.parametrize("m,fraction,n_test", [(100, 0.2, 20), (10, 0.25, 2), (7, 0.5, 4), (2, 0.5, 1)])
def test_split_sizes_follow_the_fraction(m: int, fraction: float, n_test: int) -> None:
    X_train, Y_train, X_test, Y_test = datasets.train_test_split(*numbered(m), test_fraction=fraction)
    assert X_test.shape == (2, n_test) and Y_test.shape == (1, n_test)
    assert X_train.shape == (2, m - n_test) and Y_train.shape == (1, m - n_test)


def test_split_keeps_each_column_with_its_label_and_loses_none() -> None:
    split = datasets.train_test_split(*numbered(50), test_fraction=0.3, seed=4)
    for X, Y in ((split.X_train, split.Y_train), (split.X_test, split.Y_test)):
        np.testing.assert_array_equal(X[0], Y[0])
        np.testing.assert_array_equal(X[1], -Y[0])
    together = np.concatenate([split.Y_train[0], split.Y_test[0]])
    np.testing.assert_array_equal(np.sort(together), np.arange(50))


def test_split_is_random_but_seeded() -> None:
    data = numbered(200)
    first, again = datasets.train_test_split(*data, seed=1), datasets.train_test_split(*data, seed=1)
    other = datasets.train_test_split(*data, seed=2)
    np.testing.assert_array_equal(first.Y_test, again.Y_test)
    assert not np.array_equal(first.Y_test, other.Y_test)
    assert not np.array_equal(np.sort(first.Y_test), np.arange(160, 200))  # not simply the last columns


def test_split_of_a_generated_dataset_keeps_its_pairs() -> None:
    X, Y = datasets.circles(m=200, noise=0.0)
    split = datasets.train_test_split(X, Y)
    for X_part, Y_part in ((split.X_train, split.Y_train), (split.X_test, split.Y_test)):
        np.testing.assert_allclose(np.hypot(*X_part), np.where(Y_part[0] == 0, 1.0, 0.5))


@pytest.mark.parametrize(
    "X,Y,fraction,message",
    [
        (np.zeros((2, 5)), np.zeros((1, 4)), 0.2, r"same number of columns, got X \(2, 5\) and Y \(1, 4\)"),
        (np.zeros(5), np.zeros((1, 5)), 0.2, "must be 2-D"),
        (
            np.zeros((2, 5)),
            np.zeros((1, 5)),
            1.5,
            r"train_test_split: test_fraction must be a number in \[0, 1\]",
        ),
        (np.zeros((2, 5)), np.zeros((1, 5)), 0.05, "gives 0 test and 5 training examples"),
        (np.zeros((2, 5)), np.zeros((1, 5)), 0.95, "gives 5 test and 0 training examples"),
    ],
)
def test_bad_splits_are_refused(X: np.ndarray, Y: np.ndarray, fraction: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        datasets.train_test_split(X, Y, test_fraction=fraction)
