"""Argument checks: what each check accepts and returns, what it refuses, and the form of a refusal."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgrid as mg
from microgrid import checks
from microgrid.errors import ArgumentTypeError

NOT_NUMBERS = [True, False, np.bool_(True), "1", None, [1.0], np.array(1.0), np.array([1.0]), 1j]


# --- is_number -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -3, 2.5, np.float64(0.1), np.float32(2.0), np.int64(7), Fraction(1, 3)])
def test_is_number_accepts_real_numbers_numpys_included(value: object) -> None:
    assert checks.is_number(value)


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_is_number_refuses_bools_strings_arrays_and_complex_numbers(value: object) -> None:
    assert not checks.is_number(value)


# --- number ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3, np.int64(3), np.float32(3.0), Fraction(3)])
def test_number_returns_a_plain_float(value: object) -> None:
    result = checks.number("Owner", "x", value)
    assert type(result) is float and result == 3.0


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_number_refuses_what_is_not_a_number_as_a_type_and_a_value_error(value: object) -> None:
    with pytest.raises(ArgumentTypeError, match=r"^Owner: x must be a finite number ≥ 0, got ") as refusal:
        checks.number("Owner", "x", value, at_least=0)
    assert isinstance(refusal.value, TypeError) and isinstance(refusal.value, ValueError)
    assert str(refusal.value).endswith(f"got {value!r}")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")])
def test_number_refuses_nan_and_infinity_even_without_bounds(value: float) -> None:
    with pytest.raises(ValueError, match="^Owner: x must be a finite number, got ") as refusal:
        checks.number("Owner", "x", value)
    assert not isinstance(refusal.value, TypeError)  # a number of the right kind, a wrong value


@pytest.mark.parametrize(
    ("bounds", "inside", "outside", "allowed"),
    [
        ({"at_least": 0}, [0, 1e300], [-1e-12], "a finite number ≥ 0"),
        ({"above": 0}, [1e-300, 5], [0, -1], "a finite number > 0"),
        ({"at_most": 1}, [1, -1e300], [1.0000001], "a finite number ≤ 1"),
        ({"below": 1}, [0.999, -5], [1, 2], "a finite number < 1"),
        ({"at_least": 0, "at_most": 1}, [0, 0.5, 1], [-0.1, 1.1], "a number in [0, 1]"),
        ({"at_least": 0, "below": 1}, [0, 0.999], [1, -0.1], "a number in [0, 1)"),
        ({"above": 0, "at_most": 1}, [1e-9, 1], [0, 1.5], "a number in (0, 1]"),
        ({"above": 0, "below": 1}, [0.5], [0, 1], "a number in (0, 1)"),
        ({"at_least": 0.25, "at_most": 2.5}, [0.25, 2.5], [0.2, 2.6], "a number in [0.25, 2.5]"),
    ],
)
def test_number_keeps_each_bound_open_or_closed_and_says_which(
    bounds: dict[str, float], inside: list[float], outside: list[float], allowed: str
) -> None:
    for value in inside:
        assert checks.number("Owner", "x", value, **bounds) == value
    for value in outside:
        with pytest.raises(ValueError) as refusal:
            checks.number("Owner", "x", value, **bounds)
        assert str(refusal.value) == f"Owner: x must be {allowed}, got {value!r}"
        assert not isinstance(refusal.value, TypeError)


@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    low=st.floats(-10, 10),
    high=st.floats(-10, 10),
)
def test_number_accepts_exactly_the_finite_numbers_between_closed_bounds(
    value: float, low: float, high: float
) -> None:
    try:
        result = checks.number("Owner", "x", value, at_least=low, at_most=high)
    except ValueError:
        assert not (math.isfinite(value) and low <= value <= high)
    else:
        assert low <= value <= high and result == value


# --- count -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [4, np.int64(4), np.int8(4), np.uint16(4)])
def test_count_returns_a_plain_int(value: object) -> None:
    result = checks.count("Owner", "n", value)
    assert type(result) is int and result == 4


@pytest.mark.parametrize("value", [True, False, np.bool_(False), 2.0, np.float64(2.0), "2", None, [2]])
def test_count_refuses_bools_floats_and_strings_as_a_type_and_a_value_error(value: object) -> None:
    with pytest.raises(ArgumentTypeError) as refusal:
        checks.count("minibatches", "batch_size", value)
    assert isinstance(refusal.value, TypeError) and isinstance(refusal.value, ValueError)
    assert str(refusal.value) == f"minibatches: batch_size must be an int ≥ 1, got {value!r}"


def test_count_keeps_its_lower_bound_closed() -> None:
    assert checks.count("flower", "petals", 2, at_least=2) == 2
    assert checks.count("Owner", "t", 0, at_least=0) == 0
    with pytest.raises(ValueError) as refusal:
        checks.count("flower", "petals", np.int64(1), at_least=2)
    assert str(refusal.value) == "flower: petals must be an int ≥ 2, got np.int64(1)"
    assert not isinstance(refusal.value, TypeError)


def test_count_names_what_else_its_owner_accepts() -> None:
    with pytest.raises(ValueError) as refusal:
        checks.count("generator", "seed", -1, at_least=0, alternatives="a numpy.random.Generator")
    assert str(refusal.value) == "generator: seed must be an int ≥ 0, a numpy.random.Generator, got -1"


# --- the checks in use -----------------------------------------------------------------------------


def test_every_refusal_names_the_owner_the_argument_and_the_value() -> None:
    weight = mg.tensor([1.0], requires_grad=True)
    calls = {
        "Adam: lr must be a finite number ≥ 0, got -1": lambda: mg.optim.Adam([weight], lr=-1),
        "Dropout: keep_prob must be a number in (0, 1], got 0": lambda: mg.nn.Dropout(keep_prob=0),
        "l2_penalty: m (the number of examples) must be an int ≥ 1, got 0": (
            lambda: mg.nn.l2_penalty(mg.nn.mlp([2, 1]), 0.1, 0)
        ),
        "moons: noise must be a finite number ≥ 0, got -1": lambda: mg.data.moons(noise=-1),
        "generator: seed must be an int ≥ 0, a numpy.random.Generator or a numpy.random.RandomState, "
        "got True": lambda: mg.generator(True),
        "init: n_in must be an int ≥ 1, got 0": lambda: mg.nn.init.he_normal((3, 0)),
    }
    for message, call in calls.items():
        with pytest.raises(ValueError) as refusal:
            call()
        assert str(refusal.value) == message
