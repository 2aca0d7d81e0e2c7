"""Initialisers: their variances, their seeds, and the course's notebooks reproduced exactly."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn
from microgrid.nn import init

N_OUT, N_IN = 300, 500  # enough samples that the variance is within a few percent

VARIANCES: list[tuple[str, float]] = [
    ("random", 0.01**2),
    ("uniform", 0.01**2 / 3),
    ("xavier", 1 / N_IN),
    ("xavier_uniform", 1 / N_IN),
    ("he", 2 / N_IN),
    ("he_uniform", 2 / N_IN),
    ("glorot", 2 / (N_IN + N_OUT)),
    ("glorot_uniform", 2 / (N_IN + N_OUT)),
]


@pytest.mark.parametrize(("name", "variance"), VARIANCES, ids=[name for name, _ in VARIANCES])
def test_each_initialiser_has_its_variance_and_mean_zero(name: str, variance: float) -> None:
    W = init.get(name)((N_OUT, N_IN), 0)
    assert W.shape == (N_OUT, N_IN)
    assert abs(W.var() / variance - 1) < 0.03
    assert abs(W.mean()) < 3 * np.sqrt(variance / W.size)
    if name.endswith("uniform"):  # bounded by √(3·variance), and reaching close to it
        limit = np.sqrt(3 * variance)
        assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit


def test_zeros_and_the_scale_of_random() -> None:
    assert not init.zeros((3, 4)).any()
    np.testing.assert_allclose(init.normal((4, 5), seed=0, scale=2.0), 200 * init.normal((4, 5), seed=0))


def test_a_random_state_reproduces_the_course_notebooks() -> None:
    np.random.seed(1)
    course = np.random.randn(4, 3) * 0.01
    np.testing.assert_array_equal(init.normal((4, 3), seed=np.random.RandomState(1)), course)


def test_seeds_repeat_and_a_generator_advances() -> None:
    np.testing.assert_array_equal(init.he_normal((3, 2), seed=5), init.he_normal((3, 2), seed=5))
    rng = np.random.default_rng(5)
    first, second = init.he_normal((3, 2), seed=rng), init.he_normal((3, 2), seed=rng)
    np.testing.assert_array_equal(first, init.he_normal((3, 2), seed=5))
    assert not np.array_equal(first, second)


def test_without_a_seed_initialisers_follow_manual_seed() -> None:
    mg.manual_seed(2)
    first = init.he_normal((3, 2))
    mg.manual_seed(2)
    np.testing.assert_array_equal(init.he_normal((3, 2)), first)
    assert not np.array_equal(init.he_normal((3, 2)), first)


def test_dense_uses_its_init_for_W_and_zeros_for_b() -> None:
    layer = nn.Dense(N_IN, N_OUT, init="he", seed=3)
    np.testing.assert_array_equal(layer.W.data, init.he_normal((N_OUT, N_IN), seed=3))
    assert not layer.b.data.any()
    custom = nn.Dense(2, 3, init=lambda shape, seed: np.full(shape, 0.5))
    assert np.all(custom.W.data == 0.5)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: init.get("kaiming"), ValueError, r"unknown initialiser 'kaiming'; choose one of zeros"),
        (lambda: init.he_normal((3,)), ValueError, r"a weight has the shape \(n_out, n_in\), got \(3,\)"),
        (
            lambda: init.normal((2, 2), seed=1.5),
            TypeError,
            r"seed must be an int ≥ 0, a numpy.random.Generator",
        ),
    ],
)
def test_bad_arguments_are_refused_clearly(call: Callable[[], object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()
