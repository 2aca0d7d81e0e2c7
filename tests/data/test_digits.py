"""microgrid.data.digits: the shipped file, the course layout, labels that match the images, a fixed
stratified split, and clear refusals."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

import microgrid as mg
from microgrid.data import digits

PACKAGE_DATA = Path(digits.__file__).parent
EXAMPLES = 1797  # the UCI test set (optdigits.tes)


def digit_of_each_image() -> dict[bytes, int]:
    """Every image (its 64 pixel counts as bytes) mapped to its digit, from the ten-class split."""
    split = mg.data.load_digits()
    X = np.concatenate([split.X_train, split.X_test], axis=1)
    Y = np.concatenate([split.Y_train, split.Y_test], axis=1)[0]
    found: dict[bytes, int] = {}
    for column, digit in zip((X * digits.LEVELS).round().astype(np.uint8).T, Y):
        assert found.setdefault(column.tobytes(), int(digit)) == digit, "one image, two digits"
    return found


def digits_in(X: np.ndarray) -> np.ndarray:
    lookup = digit_of_each_image()
    return np.array([lookup[c.tobytes()] for c in (X * digits.LEVELS).round().astype(np.uint8).T])


# --- the file -----------------------------------------------------------------------------------


def test_the_shipped_file_has_the_checksum_its_licence_file_records() -> None:
    data = (PACKAGE_DATA / "digits.csv.gz").read_bytes()
    checksum = hashlib.sha256(data).hexdigest()
    assert checksum == digits.SHA256
    licence = (PACKAGE_DATA / "digits_LICENSE.txt").read_text(encoding="utf-8")
    assert f"SHA-256 of digits.csv.gz: {checksum}" in licence
    for credit in ("CC BY 4.0", "https://doi.org/10.24432/C50P49", "Alpaydin", "Kaynak"):
        assert credit in licence


def test_the_wheel_ships_the_file_and_its_licence() -> None:
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((PACKAGE_DATA.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["microgrid.data"]
    assert {"digits.csv.gz", "digits_LICENSE.txt"} <= set(shipped)


def test_a_damaged_file_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = tmp_path / "digits.csv.gz"
    data = bytearray((PACKAGE_DATA / "digits.csv.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(digits, "FILE", damaged)
    digits._table.cache_clear()
    try:
        with pytest.raises(OSError, match=r"load_digits: .*digits\.csv\.gz is damaged.*reinstall microgrid"):
            mg.data.load_digits()
    finally:
        digits._table.cache_clear()


def test_scikit_learn_and_scipy_are_not_needed() -> None:
    mg.data.load_digits()
    assert "sklearn" not in sys.modules and "scipy" not in sys.modules


# --- layout and labels --------------------------------------------------------------------------


def test_all_ten_digits_in_the_course_layout() -> None:
    X_train, Y_train, X_test, Y_test = mg.data.load_digits()
    assert X_train.shape[0] == X_test.shape[0] == 64 and X_train.dtype == np.float64
    assert Y_train.shape == (1, X_train.shape[1]) and Y_test.shape == (1, X_test.shape[1])
    assert X_train.shape[1] + X_test.shape[1] == EXAMPLES
    assert Y_train.dtype == Y_test.dtype == np.int64
    assert set(np.unique(Y_train)) == set(np.unique(Y_test)) == set(range(10))


def test_pixels_are_the_counts_0_to_16_scaled_to_0_1() -> None:
    split = mg.data.load_digits()
    for X in (split.X_train, split.X_test):
        assert X.min() == 0.0 and X.max() == 1.0
        counts = X * 16
        np.testing.assert_array_equal(counts, counts.round())


def test_two_classes_give_0_for_the_first_digit_and_1_for_the_second() -> None:
    for first, second in ((3, 8), (8, 3)):
        split = mg.data.load_digits(classes=(first, second))
        for X, Y in ((split.X_train, split.Y_train), (split.X_test, split.Y_test)):
            assert Y.dtype == np.float64 and set(np.unique(Y)) == {0.0, 1.0}
            np.testing.assert_array_equal(Y[0], digits_in(X) == second)


def test_more_classes_give_each_digit_its_position_in_classes() -> None:
    classes = (7, 1, 4)
    split = mg.data.load_digits(classes=classes)
    assert split.Y_train.dtype == np.int64
    np.testing.assert_array_equal(np.array(classes)[split.Y_test[0]], digits_in(split.X_test))
    np.testing.assert_array_equal(np.array(classes)[split.Y_train[0]], digits_in(split.X_train))


def test_the_labels_belong_to_the_images() -> None:
    # Nearest class mean, fitted on the training set: far above the 10 % of shuffled labels.
    split = mg.data.load_digits()
    means = np.stack([split.X_train[:, split.Y_train[0] == d].mean(axis=1) for d in range(10)], axis=1)
    distances = ((split.X_test[:, None, :] - means[:, :, None]) ** 2).sum(axis=0)
    assert np.mean(distances.argmin(axis=0) == split.Y_test[0]) > 0.85


def test_an_image_reads_row_by_row() -> None:
    # A 1 is a vertical stroke: its middle columns hold far more ink than its left and right edges.
    split = mg.data.load_digits(classes=(0, 1))
    ones = split.X_train[:, split.Y_train[0] == 1].mean(axis=1).reshape(digits.IMAGE_SHAPE)
    assert ones[:, 3:5].sum() > 3 * (ones[:, :2].sum() + ones[:, 6:].sum())


# --- the split ----------------------------------------------------------------------------------


@pytest.mark.parametrize("test_fraction", [0.2, 0.5])
def test_each_digit_keeps_its_share_of_the_test_set(test_fraction: float) -> None:
    split = mg.data.load_digits(test_fraction=test_fraction)
    train = np.bincount(split.Y_train[0], minlength=10)
    test = np.bincount(split.Y_test[0], minlength=10)
    np.testing.assert_array_equal(test, np.round((train + test) * test_fraction))
    np.testing.assert_allclose(train / train.sum(), test / test.sum(), atol=0.01)


def test_the_same_seed_gives_the_same_split_and_another_seed_another() -> None:
    first, again, other = (
        mg.data.load_digits(seed=0),
        mg.data.load_digits(seed=0),
        mg.data.load_digits(seed=1),
    )
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert {c.tobytes() for c in first.X_test.T} != {c.tobytes() for c in other.X_test.T}


def test_train_and_test_images_are_disjoint_and_cover_the_file() -> None:
    split = mg.data.load_digits()
    train = {column.tobytes() for column in split.X_train.T}
    test = {column.tobytes() for column in split.X_test.T}
    assert len(train) == split.X_train.shape[1] and len(test) == split.X_test.shape[1]  # no image twice
    assert not train & test and len(train | test) == EXAMPLES


def test_the_columns_come_shuffled() -> None:
    # Sorted columns would put one digit in each early mini-batch.
    Y = mg.data.load_digits().Y_train[0]
    assert len(np.unique(Y[:100])) == 10


def test_returned_arrays_are_fresh_copies() -> None:
    split = mg.data.load_digits()
    split.X_train[:] = -1.0
    assert mg.data.load_digits().X_train.min() == 0.0


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ((3, 12), r"load_digits: unknown digit 12 in classes \(3, 12\); the digits are 0\.\.9"),
        ((3, -1), r"unknown digit -1"),
        ((3, 8.0), r"unknown digit 8\.0"),
        ((3, True), r"unknown digit True"),
        ((3,), r"load_digits: classes needs at least two different digits, e\.g\. \(3, 8\).*got \(3,\)"),
        ((3, 3), r"at least two different digits.*got \(3, 3\)"),
    ],
)
def test_bad_classes_are_named(classes: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mg.data.load_digits(classes=classes)  # type: ignore[arg-type]


@pytest.mark.parametrize("classes", [3, "38"])
def test_classes_must_be_a_sequence(classes: object) -> None:
    with pytest.raises(
        TypeError, match=r"load_digits: classes must be a sequence of digits, e\.g\. \(3, 8\)"
    ):
        mg.data.load_digits(classes=classes)  # type: ignore[arg-type]


def test_a_numpy_array_of_digits_is_accepted() -> None:
    split = mg.data.load_digits(classes=np.array([3, 8]))
    np.testing.assert_array_equal(split.Y_test, mg.data.load_digits(classes=(3, 8)).Y_test)


@pytest.mark.parametrize(
    ("test_fraction", "message"),
    [
        (0.0, r"load_digits: test_fraction must be a number in \(0, 1\), got 0\.0"),
        (1.0, r"test_fraction must be a number in \(0, 1\), got 1\.0"),
        (0.001, r"test_fraction 0\.001 of the 178 images of digit 0 gives 0 test and 178 training"),
    ],
)
def test_a_test_fraction_that_leaves_a_set_empty_is_refused(test_fraction: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mg.data.load_digits(test_fraction=test_fraction)


def test_positive_asks_is_it_that_digit_against_all_the_others() -> None:
    split = mg.data.load_digits(positive=8)
    assert split.X_train.shape[1] + split.X_test.shape[1] == EXAMPLES
    for X, Y in ((split.X_train, split.Y_train), (split.X_test, split.Y_test)):
        assert Y.dtype == np.float64
        np.testing.assert_array_equal(Y[0], digits_in(X) == 8)


def test_positive_against_some_digits_only() -> None:
    split = mg.data.load_digits(classes=(1, 7, 9), positive=7)
    assert set(digits_in(split.X_test)) == {1, 7, 9}
    np.testing.assert_array_equal(split.Y_test[0], digits_in(split.X_test) == 7)


@pytest.mark.parametrize("positive", [5, 10, True])
def test_positive_must_be_one_of_the_classes(positive: object) -> None:
    with pytest.raises(
        ValueError,
        match=rf"load_digits: positive must be one of the digits in classes \(3, 8\), got {positive}",
    ):
        mg.data.load_digits(classes=(3, 8), positive=positive)  # type: ignore[arg-type]


def test_positive_keeps_the_images_and_their_order() -> None:
    ten, eights = mg.data.load_digits(seed=3), mg.data.load_digits(positive=8, seed=3)
    np.testing.assert_array_equal(eights.X_train, ten.X_train)
    np.testing.assert_array_equal(eights.Y_test, ten.Y_test == 8)
