"""Real images: the 8×8 handwritten digits of UCI (optdigits), shipped inside microgrid.

    split = mg.data.load_digits(classes=(3, 8))  # a binary task: Y = 0.0 for a 3, 1.0 for an 8
    split = mg.data.load_digits(positive=8)      # one digit vs the rest: Y = 1.0 for an 8
    X_train, Y_train, X_test, Y_test = split     # X (64, m): one image per column, pixels in [0, 1]
    image = X_train[:, 0].reshape(8, 8)          # back to a picture, row by row

The 1797 images of the UCI test set (13 writers; E. Alpaydin and C. Kaynak, 1998, CC BY 4.0:
see digits_LICENSE.txt beside this file) are read from the package, no download and no
scikit-learn. Each pixel counts the black pixels of a 4×4 block of the scanned 32×32 bitmap,
0..16; load_digits divides by 16.

Y follows the toy datasets: for a binary task (two classes, or one `positive` digit against
the others) it holds 0.0 and 1.0 (float64, for the sigmoid cross-entropy), otherwise the int64
class indices 0 … C−1 (for `softmax_cross_entropy`, or `np.eye(C)[:, Y[0]]` for one-hot
columns). A class index is the digit's position in `classes`, so with every digit (the
default) the index is the digit itself.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
from collections.abc import Sequence
from importlib import resources

import numpy as np

from microgrid import checks
from microgrid.creation import Seed, generator
from microgrid.data.datasets import Split
from microgrid.errors import ArgumentTypeError

DIGITS = tuple(range(10))
IMAGE_SHAPE = (8, 8)
LEVELS = 16  # a pixel counts the black pixels of a 4×4 block: 0..16
FILE = resources.files("microgrid.data") / "digits.csv.gz"
SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


@functools.cache
def _table() -> np.ndarray:
    """FILE's rows as int64 (1797, 65): 64 pixels, then the digit; read once, checked by its checksum."""
    raw = FILE.read_bytes()
    if hashlib.sha256(raw).hexdigest() != SHA256:
        raise OSError(
            f"load_digits: {FILE} is damaged (its SHA-256 is not the one in digits_LICENSE.txt); "
            "reinstall microgrid"
        )
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.int64)
    table.flags.writeable = False  # shared by every call: load_digits returns copies
    return table


def _is_digit(value: object) -> bool:
    """True for an int 0..9 (numpy's included, a bool not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value in DIGITS


def _classes(classes: Sequence[int] | np.ndarray | None) -> tuple[int, ...]:
    """The digits asked for, in order: at least two different ones from 0..9."""
    if classes is None:
        return DIGITS
    example = "e.g. (3, 8), or None for all ten"
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (Sequence, np.ndarray)):
        raise ArgumentTypeError(
            f"load_digits: classes must be a sequence of digits, {example}; got {classes!r}"
        )
    for digit in classes:
        if not _is_digit(digit):
            raise ValueError(
                f"load_digits: unknown digit {digit!r} in classes {classes!r}; the digits are 0..9"
            )
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ValueError(
            f"load_digits: classes needs at least two different digits, {example}; got {classes!r}"
        )
    return tuple(int(digit) for digit in classes)


def _labels(digits: tuple[int, ...], positive: int | None) -> np.ndarray:
    """The label of each digit 0..9 (10,): 1.0 for `positive` and 0.0 for the rest, or else its
    position in `digits` (float64 for two digits, int64 for more)."""
    if positive is None:
        label = np.zeros(len(DIGITS), dtype=np.int64)
        label[list(digits)] = np.arange(len(digits))
        return label.astype(np.float64) if len(digits) == 2 else label
    if not _is_digit(positive) or positive not in digits:
        raise ValueError(
            f"load_digits: positive must be one of the digits in classes {digits}, got {positive!r}"
        )
    return (np.arange(len(DIGITS)) == positive).astype(np.float64)


def load_digits(
    classes: Sequence[int] | np.ndarray | None = None,
    positive: int | None = None,
    test_fraction: float = 0.2,
    seed: Seed = 0,
) -> Split:
    """The images of `classes` (default: all ten digits) as a Split: X (64, m) in [0, 1], Y (1, m).

    Y is the position of each image's digit in `classes`: 0.0/1.0 for two classes, int64 indices
    otherwise. With `positive`, a binary task, "is it a `positive`?": Y = 1.0 for that digit,
    0.0 for every other one of `classes`. round(n · test_fraction) of the n images of each
    digit go to the test set, so both sets keep the digits' proportions; the columns of each set
    come shuffled. The same seed (an int, 0 by default) gives the same split, and the same
    images in the same order with or without `positive`, so a binary task's mistakes can be
    named by the digits: `load_digits(seed=s).Y_test`.

    >>> split = load_digits(classes=(3, 8))
    >>> split.X_train.shape, split.Y_train.shape, split.X_test.shape
    ((64, 285), (1, 285), (64, 72))
    >>> Y_test = load_digits(positive=8).Y_test  # is it an 8?
    >>> int(Y_test.sum()), Y_test.shape  # 35 eights among the 359 test images
    (35, (1, 359))
    """
    digits = _classes(classes)
    label = _labels(digits, positive)
    test_fraction = checks.number("load_digits", "test_fraction", test_fraction, above=0, below=1)
    table = _table()
    rng = generator(seed)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for digit in digits:
        rows = rng.permutation(np.flatnonzero(table[:, -1] == digit))
        n_test = round(len(rows) * test_fraction)
        if not 0 < n_test < len(rows):
            raise ValueError(
                f"load_digits: test_fraction {test_fraction} of the {len(rows)} images of digit {digit} "
                f"gives {n_test} test and {len(rows) - n_test} training images; both need at least one"
            )
        test.append(rows[:n_test])
        train.append(rows[n_test:])

    def columns(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        rows = table[rng.permutation(np.concatenate(parts))]
        return rows[:, :-1].T / LEVELS, label[rows[:, -1]].reshape(1, -1)

    X_train, Y_train = columns(train)
    X_test, Y_test = columns(test)
    return Split(X_train, Y_train, X_test, Y_test)
