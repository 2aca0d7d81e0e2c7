"""Creation: constants, ranges and identities, each a leaf with a dtype, requires_grad and a name."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import microgrid as mg


def test_constants_hold_their_values() -> None:
    np.testing.assert_array_equal(mg.zeros(2, 3).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(mg.ones((2,)).data, [1.0, 1.0])
    np.testing.assert_array_equal(mg.full((2, 2), 0.5).data, [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_array_equal(mg.full(3, -math.inf).data, [-math.inf] * 3)  # e.g. a mask
    x = mg.tensor([[1.0, 2.0, 3.0]], dtype="float32")
    assert mg.zeros_like(x).shape == (1, 3) and mg.zeros_like(x).dtype == np.float32  # x's dtype
    np.testing.assert_array_equal(mg.ones_like(x, dtype="float64").data, [[1.0, 1.0, 1.0]])
    assert mg.ones_like(x, dtype="float64").dtype == np.float64
    assert mg.zeros_like(np.arange(4)).dtype == np.float64  # an int array gives the default float
    assert not mg.zeros_like(mg.ones(2, requires_grad=True)).requires_grad  # as in PyTorch


def test_arange_and_eye_follow_numpy() -> None:
    np.testing.assert_array_equal(mg.arange(4).data, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mg.arange(1, 3).data, [1.0, 2.0])
    np.testing.assert_array_equal(mg.arange(0, 1, 0.25).data, [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(mg.arange(3, 0, -1).data, [3.0, 2.0, 1.0])
    assert mg.arange(2, 1).shape == (0,)
    np.testing.assert_array_equal(mg.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(mg.eye(2, 3).data, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


MAKERS: dict[str, Callable[..., mg.Tensor]] = {
    "zeros": lambda **options: mg.zeros(2, 3, **options),
    "ones": lambda **options: mg.ones((2, 3), **options),
    "full": lambda **options: mg.full((2, 3), 7.0, **options),
    "zeros_like": lambda **options: mg.zeros_like(mg.ones(2, 3), **options),
    "ones_like": lambda **options: mg.ones_like(np.ones((2, 3)), **options),
    "arange": lambda **options: mg.arange(6, **options),
    "eye": lambda **options: mg.eye(3, **options),
}


@pytest.mark.parametrize("name", MAKERS)
def test_every_maker_takes_dtype_requires_grad_and_a_name(name: str) -> None:
    plain = MAKERS[name]()
    assert plain.dtype == np.float64 and not plain.requires_grad and plain.name is None and plain.is_leaf
    W = MAKERS[name](dtype="float32", requires_grad=True, name="W")
    assert W.dtype == np.float32 and W.requires_grad and W.name == "W" and W.is_leaf
    np.testing.assert_array_equal(W.data, plain.data)
    (W * W).sum().backward()
    assert W.grad is not None and W.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: mg.full((-1, 2), 0.0), ValueError, r"^full: shape\[0\] must be an int ≥ 0, got -1"),
        (lambda: mg.full(2, "a"), mg.ArgumentTypeError, r"^full: fill_value must be a number, got 'a'"),
        (lambda: mg.full(2, True), mg.ArgumentTypeError, r"^full: fill_value must be a number, got True"),
        (lambda: mg.ones(2, 2.5), mg.ArgumentTypeError, r"^ones: shape\[1\] must be an int ≥ 0, got 2.5"),
        (lambda: mg.arange("a"), mg.ArgumentTypeError, r"^arange: start must be a finite number, got 'a'"),
        (lambda: mg.arange(0, math.inf), ValueError, r"^arange: stop must be a finite number, got inf"),
        (lambda: mg.arange(0, 1, 0), ValueError, r"^arange: step must be a finite number ≠ 0, got 0"),
        (lambda: mg.eye(-1), ValueError, r"^eye: n must be an int ≥ 0, got -1"),
        (lambda: mg.eye(2.0), mg.ArgumentTypeError, r"^eye: n must be an int ≥ 0, got 2.0"),
        (lambda: mg.eye(2, -3), ValueError, r"^eye: m must be an int ≥ 0, got -3"),
        (lambda: mg.zeros(2, dtype="int64"), TypeError, r"dtype must be float32 or float64, got int64"),
        (lambda: mg.zeros_like("abc"), TypeError, r"data must be numeric"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bad_arguments_are_refused_by_name(
    make: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()
