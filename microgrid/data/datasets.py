"""Small seeded 2-D datasets in the course layout, made on the spot (no download).

Every generator returns `(X, Y)`: X is a float64 array of shape (2, m), one example per column, and
Y has shape (1, m). With two classes Y holds 0.0 and 1.0 (float64, ready for the cross-entropy
of the course); with more classes (`spirals`, `blobs`) Y holds the int64 class indices 0 … C−1,
ready for one-hot encoding with `np.eye(C)[:, Y[0]]`. Classes get equal shares of the m examples
(within one) and the columns come shuffled.

They are numpy arrays, not Tensors: a dataset is data, not part of a computation graph, and numpy
is what plotting, splitting and printing want. Wrap them when a graph needs them: `mg.tensor(X)`.

`seed` is read by `microgrid.creation.generator`: an int (the default, 0, so that a demo's data
never changes), a numpy Generator or RandomState, or None for the global generator, which
`mg.manual_seed` reseeds. The same seed gives the same data.

>>> X, Y = flower(m=400, seed=1)
>>> X.shape, Y.shape
((2, 400), (1, 400))
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from microgrid import checks
from microgrid.creation import Seed, generator


def _examples(owner: str, m: int, noise: float) -> tuple[int, float]:
    """The number of examples m ≥ 1 and the noise's standard deviation ≥ 0, checked."""
    return checks.count(owner, "m", m), checks.number(owner, "noise", noise, at_least=0)


def _dataset(
    points: np.ndarray,
    labels: np.ndarray,
    classes: int,
    noise: float,
    rng: np.random.Generator | np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) from clean points (2, m) plus Gaussian noise of std `noise`, columns shuffled."""
    X = points + noise * rng.standard_normal(points.shape)
    order = rng.permutation(points.shape[1])
    label_dtype = np.float64 if classes == 2 else np.int64
    return X[:, order].astype(np.float64), labels[order].astype(label_dtype).reshape(1, -1)


def _on_circle(radius: np.ndarray | float, angle: np.ndarray) -> np.ndarray:
    """Points (2, m) at polar coordinates (radius, angle)."""
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)])


# --- the datasets ----------------------------------------------------------------------------


def flower(
    m: int = 400, noise: float = 0.2, petals: int = 4, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Petals of the rose r = 4·|sin(petals/2 · θ)|; neighbouring petals belong to different classes.

    With 4 petals the classes sit in opposite quadrants, so no line beats a coin by much
    (logistic regression ≈ 50%) while a hidden layer of 4 tanh units reaches ≈ 90%.
    """
    m, noise = _examples("flower", m, noise)
    petals = checks.count("flower", "petals", petals, at_least=2)
    if petals % 2:
        raise ValueError(f"flower: petals must be even so that the two classes alternate, got {petals}")
    rng = generator(seed)
    petal = np.arange(m) % petals
    width = 2 * math.pi / petals
    angle = (petal + rng.uniform(0, 1, m)) * width
    radius = 4 * np.abs(np.sin(petals / 2 * angle))
    return _dataset(_on_circle(radius, angle), petal % 2, 2, noise, rng)


def circles(
    m: int = 400, noise: float = 0.05, factor: float = 0.5, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 on the unit circle, class 1 on a circle of radius `factor` inside it."""
    m, noise = _examples("circles", m, noise)
    factor = checks.number("circles", "factor (inner radius / outer radius)", factor, above=0, below=1)
    rng = generator(seed)
    labels = np.arange(m) % 2
    radius = np.where(labels == 0, 1.0, factor)
    return _dataset(_on_circle(radius, rng.uniform(0, 2 * math.pi, m)), labels, 2, noise, rng)


def moons(m: int = 400, noise: float = 0.1, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: class 0 arches up, class 1 (shifted right and down) arches down."""
    m, noise = _examples("moons", m, noise)
    rng = generator(seed)
    labels = np.arange(m) % 2
    arch = _on_circle(1.0, rng.uniform(0, math.pi, m))
    lower = np.array([[1.0], [0.5]]) - arch
    # Centred on the origin, like the other datasets.
    points = np.where(labels == 0, arch, lower) - np.array([[0.5], [0.25]])
    return _dataset(points, labels, 2, noise, rng)


def spirals(
    m: int = 400,
    noise: float = 0.05,
    classes: int = 2,
    arms: int | None = None,
    turns: float = 1.0,
    seed: Seed = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """`arms` spirals r = s, θ = 2π(j/arms + turns·s) for s in [0, 1]; arm j has class j mod `classes`.

    `arms` defaults to `classes` (one arm per class) and must be a multiple of it, so that the
    classes stay balanced.
    """
    m, noise = _examples("spirals", m, noise)
    classes = checks.count("spirals", "classes", classes, at_least=2)
    arms = classes if arms is None else checks.count("spirals", "arms", arms)
    if arms % classes:
        raise ValueError(
            f"spirals: arms ({arms}) must be a multiple of classes ({classes}) to keep classes balanced"
        )
    turns = checks.number("spirals", "turns", turns, at_least=0)
    rng = generator(seed)
    arm = np.arange(m) % arms
    along = rng.uniform(0, 1, m)
    angle = 2 * math.pi * (arm / arms + turns * along)
    return _dataset(_on_circle(along, angle), arm % classes, classes, noise, rng)


def xor(m: int = 400, noise: float = 0.3, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clusters around the corners (±1, ±1); class 1 where the two signs differ (x₁·x₂ < 0).

    With m=4 and noise=0 this is the XOR truth table itself.
    """
    m, noise = _examples("xor", m, noise)
    rng = generator(seed)
    corner = np.arange(m) % 4
    points = np.stack([np.where(corner % 2 == 0, 1.0, -1.0), np.where(corner < 2, 1.0, -1.0)])
    return _dataset(points, (points[0] * points[1] < 0).astype(int), 2, noise, rng)


def blobs(
    m: int = 400, noise: float = 0.5, classes: int = 2, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs of std `noise`, one per class, centred evenly on a circle of radius 2."""
    m, noise = _examples("blobs", m, noise)
    classes = checks.count("blobs", "classes", classes, at_least=2)
    rng = generator(seed)
    labels = np.arange(m) % classes
    centres = _on_circle(2.0, 2 * math.pi * labels / classes)
    return _dataset(centres, labels, classes, noise, rng)


# --- splitting -------------------------------------------------------------------------------


class Split(NamedTuple):
    """A dataset split along its columns: `X_train, Y_train, X_test, Y_test = split`."""

    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray


def train_test_split(X: np.ndarray, Y: np.ndarray, test_fraction: float = 0.2, seed: Seed = 0) -> Split:
    """A random round(m · test_fraction) columns for testing, the rest for training, pairs kept."""
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"train_test_split: X and Y must be 2-D with one example per column and the same "
            f"number of columns, got X {X.shape} and Y {Y.shape}"
        )
    test_fraction = checks.number("train_test_split", "test_fraction", test_fraction, at_least=0, at_most=1)
    m = X.shape[1]
    n_test = round(m * test_fraction)
    if not 0 < n_test < m:
        raise ValueError(
            f"train_test_split: test_fraction {test_fraction} of {m} examples gives {n_test} test "
            f"and {m - n_test} training examples; both need at least one"
        )
    order = generator(seed).permutation(m)
    test, train = order[:n_test], order[n_test:]
    return Split(X[:, train], Y[:, train], X[:, test], Y[:, test])
