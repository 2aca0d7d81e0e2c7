"""gradcheck and gradgradcheck: they pass correct gradients and catch wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
from broken_ops import WrongTanh

import microgrid as mg
from microgrid.gradcheck import relative_difference


def test_report_passes_for_a_correct_gradient_and_prints_readably() -> None:
    W = mg.randn(3, 2, requires_grad=True, name="W[1]")
    x = mg.randn(2, 4, name="X")
    report = mg.gradcheck(lambda W: mg.tanh(W @ x).sum(), [W])
    assert report
    assert report["W[1]"].passed and report["W[1]"].difference < 1e-8
    text = str(report)
    assert "W[1]" in text and "passed" in text and "(3, 2)" in text


def test_a_wrong_backward_rule_is_caught_and_named() -> None:
    a = mg.randn(4, requires_grad=True, name="a", seed=1)
    b = mg.randn(4, requires_grad=True, name="b", seed=2)
    report = mg.gradcheck(lambda a, b: (WrongTanh.apply(a) * b).sum(), [a, b])
    assert not report
    assert not report["a"].passed and report["a"].difference > 1e-2
    assert report["b"].passed
    assert "FAIL" in str(report)


def test_the_relative_difference_is_the_course_formula() -> None:
    # g = (3, 4), g̃ = (0, 0): ‖g − g̃‖ = 5 and ‖g‖ + ‖g̃‖ = 5, so the difference is exactly 1;
    # g̃ = (3, 4) too gives 0, and g̃ = (6, 8) gives 5 / (5 + 10).
    g = np.array([3.0, 4.0])
    assert relative_difference(g, np.zeros(2)) == 1.0
    assert relative_difference(g, g.copy()) == 0.0
    assert relative_difference(g, 2 * g) == pytest.approx(1 / 3)
    assert relative_difference(np.zeros(2), np.zeros(2)) == 0.0


def test_non_scalar_outputs_are_checked_through_every_element() -> None:
    x = mg.randn(3, requires_grad=True, name="x")
    assert mg.gradcheck(lambda x: x * x, [x])
    # A wrong rule that only affects one output element is still caught by the random projection.
    report = mg.gradcheck(lambda x: mg.concatenate([x[:2], WrongTanh.apply(x[2:])]), [x])
    assert not report


def test_inputs_are_restored_and_their_grads_untouched() -> None:
    x = mg.randn(2, 3, requires_grad=True, dtype="float32")
    before = x.data.copy()
    original = x.data
    report = mg.gradcheck(lambda x: (x**2).sum(), [x])
    assert report  # the differences were taken in float64, or float32 round-off would fail this
    assert x.data is original and x.dtype == np.float32
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


def test_closures_over_parameters_see_the_perturbation() -> None:
    W = mg.randn(2, 2, requires_grad=True, name="W")
    X = mg.randn(2, 5)
    assert mg.gradcheck(lambda *_: mg.sigmoid(W @ X).mean(), [W])


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    x = mg.randn(3, requires_grad=True, name="x")
    assert mg.gradgradcheck(lambda x: mg.tanh(x) * x, [x])
    # WrongTanh's first derivative is wrong, so its second derivative is wrong too.
    assert not mg.gradgradcheck(lambda x: WrongTanh.apply(x), [x])


def test_nothing_to_check_is_an_error() -> None:
    with pytest.raises(mg.GradError, match="no input requires grad"):
        mg.gradcheck(lambda x: x * 2, [mg.ones(2)])
    with pytest.raises(TypeError, match="as a list"):
        mg.gradcheck(lambda x: x * 2, mg.ones(2, requires_grad=True))
