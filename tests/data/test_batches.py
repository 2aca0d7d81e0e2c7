"""Mini-batches: columns are examples, every one used once per epoch, seeded shuffles."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import microgrid as mg
from microgrid.data import minibatches

M = 148  # 2 full batches of 64 and a last one of 20


def numbered_examples(m: int = M) -> tuple[np.ndarray, np.ndarray]:
    """X (3, m) and Y (1, m) whose columns carry their example's number, to follow them."""
    index = np.arange(m, dtype=float)
    return np.stack([index, 2 * index, 3 * index]), index.reshape(1, m)


def test_batches_are_column_slices_with_a_smaller_last_one() -> None:
    X, Y = numbered_examples()
    batches = list(minibatches(X, Y, batch_size=64, seed=0))
    assert [(x.shape, y.shape) for x, y in batches] == [((3, 64), (1, 64))] * 2 + [((3, 20), (1, 20))]
    for x, y in batches:  # X and Y columns stay together, whole columns
        np.testing.assert_array_equal(x.data[0], y.data[0])
        np.testing.assert_array_equal(x.data[2], 3 * y.data[0])
    seen = np.concatenate([y.data[0] for _, y in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(M))  # each example exactly once
    assert not np.array_equal(seen, np.arange(M))  # and shuffled


def test_an_exact_multiple_has_no_empty_last_batch() -> None:
    X, Y = numbered_examples(128)
    assert [x.shape[1] for x, _ in minibatches(X, Y, 64, seed=0)] == [64, 64]


def test_the_same_seed_gives_the_same_order_and_another_seed_another() -> None:
    X, Y = numbered_examples()

    def order(seed: int | np.random.Generator) -> np.ndarray:
        return np.concatenate([y.data[0] for _, y in minibatches(X, Y, 64, seed=seed)])

    np.testing.assert_array_equal(order(3), order(3))
    assert not np.array_equal(order(3), order(4))
    rng = np.random.default_rng(3)
    assert not np.array_equal(order(rng), order(rng))  # a generator moves on between epochs


def test_without_a_seed_the_shuffle_follows_manual_seed() -> None:
    X, Y = numbered_examples()

    def order() -> np.ndarray:
        return np.concatenate([y.data[0] for _, y in minibatches(X, Y, 64)])

    mg.manual_seed(3)
    first = order()
    mg.manual_seed(3)
    np.testing.assert_array_equal(order(), first)
    assert not np.array_equal(order(), first)  # the global generator moves on between epochs


def test_data_does_not_import_the_layers_above_it() -> None:
    source = Path(mg.data.__file__).read_text()
    imported = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name and name.startswith("microgrid.nn")}


def test_a_random_state_reproduces_the_course_shuffle() -> None:
    X, Y = numbered_examples()
    np.random.seed(1)  # the course's random_mini_batches
    permutation = list(np.random.permutation(M))
    got = np.concatenate([y.data[0] for _, y in minibatches(X, Y, 64, seed=np.random.RandomState(1))])
    np.testing.assert_array_equal(got, permutation)


def test_without_shuffle_the_order_is_kept() -> None:
    X, Y = numbered_examples()
    first_x, first_y = next(minibatches(mg.tensor(X), mg.tensor(Y), 10, shuffle=False))
    np.testing.assert_array_equal(first_y.data, [np.arange(10)])
    assert (first_x.name, first_y.name) == ("X{1}", "Y{1}")  # the course's notation for batch t


def test_batches_are_copies_that_cannot_change_the_data() -> None:
    X, Y = numbered_examples()
    x, _ = next(minibatches(X, Y, 10, shuffle=False))
    x.data[...] = -1
    assert X[0, 1] == 1.0


def test_mismatched_examples_and_bad_batch_sizes_are_refused() -> None:
    X, Y = numbered_examples()
    with pytest.raises(mg.ShapeError, match=r"X \(3, 148\) and Y \(1, 147\) need the same number of"):
        minibatches(X, Y[:, 1:], 64)  # refused at the call, before any batch is asked for
    with pytest.raises(ValueError, match="minibatches: batch_size must be an int ≥ 1, got 0"):
        minibatches(X, Y, 0)
    with pytest.raises(ValueError, match="minibatches: batch_size must be an int ≥ 1, got True"):
        minibatches(X, Y, True)
