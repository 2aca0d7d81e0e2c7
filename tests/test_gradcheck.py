"""gradcheck and gradgradcheck: they pass correct gradients and catch wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
from broken_ops import WrongTanh

import microgrid as mg
from microgrid.gradcheck import Function, relative_difference


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


def test_passed_says_what_bool_says() -> None:
    x = mg.randn(3, requires_grad=True, name="x")
    good, bad = mg.gradcheck(mg.tanh, [x]), mg.gradcheck(WrongTanh.apply, [x])
    assert good.passed is True and bool(good)
    assert bad.passed is False and not bad


def test_round_off_on_vanishing_gradients_passes_on_the_absolute_tolerance() -> None:
    # tanh'(15) = 3.7e-13 is below what central differences resolve (one ulp of tanh(15) ≈ 1,
    # over 2ε, is ~5e-10), so they measure 0 and the relative difference is 1: not a bug.
    x = mg.tensor([15.0], requires_grad=True, name="x")
    report = mg.gradcheck(mg.tanh, [x])
    assert report.passed
    assert report["x"].difference == pytest.approx(1.0)
    assert report["x"].absolute == pytest.approx(3.7e-13, rel=0.01)
    text = str(report)
    assert "atol 1e-08" in text and "3.7e-13" in text and "ok (atol)" in text
    assert not mg.gradcheck(mg.tanh, [x], atol=0.0)  # the relative difference alone cries wolf


def test_a_function_that_calls_grad_itself_is_checked() -> None:
    # A Hessian-vector product: for L(w) = Σ w⁴/4, ∇L = w³, and the gradient of v·∇L is Hv = 3w²·v.
    w = mg.randn(4, requires_grad=True, name="w")
    v = np.array([1.0, -2.0, 0.5, 3.0])

    def hessian_times_v(w: mg.Tensor) -> mg.Tensor:
        (g,) = mg.grad((w**4 / 4).sum(), [w], create_graph=True)
        return (g * v).sum()

    report = mg.gradcheck(hessian_times_v, [w])
    assert report.passed
    np.testing.assert_allclose(report["w"].analytic, 3 * w.data**2 * v)

    # A gradient penalty: J = L + λ Σ ‖∇L‖², differentiated through the gradient.
    W = mg.randn(2, 3, requires_grad=True, name="W", seed=1)
    b = mg.randn(2, 1, requires_grad=True, name="b", seed=2)
    X = mg.randn(3, 5, seed=3)

    def penalised(W: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
        loss = (mg.tanh(W @ X + b) ** 2).mean()
        grads = mg.grad(loss, [W, b], create_graph=True)
        return loss + 0.5 * sum((g * g).sum() for g in grads)

    assert mg.gradcheck(penalised, [W, b]).passed
    assert W.grad is None and b.grad is None


def test_the_check_records_even_inside_no_grad() -> None:
    x = mg.randn(3, requires_grad=True, name="x")
    with mg.no_grad():
        assert mg.gradcheck(lambda x: (x * x).sum(), [x]).passed
        assert not mg.is_grad_enabled()


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


@pytest.mark.parametrize(
    "fn",
    [lambda x, y: x * x + y, lambda x, y: x * x, lambda x, y: (x > 0) * 1.0],
    ids=["dy-constant", "y-unused", "no-graph-at-all"],
)
def test_gradgradcheck_finds_zero_where_nothing_depends_on_an_input(fn: Function) -> None:
    x = mg.randn(3, requires_grad=True, name="x", seed=1)
    y = mg.randn(3, requires_grad=True, name="y", seed=2)
    report = mg.gradgradcheck(fn, [x, y])
    assert report.passed
    # y's second derivatives are zero, and the finite differences measured them so.
    np.testing.assert_array_equal(report["y"].analytic, np.zeros(3))
    np.testing.assert_array_equal(report["y"].numerical, np.zeros(3))


def test_nothing_to_check_is_an_error() -> None:
    with pytest.raises(mg.GradError, match="no input requires grad"):
        mg.gradcheck(lambda x: x * 2, [mg.ones(2)])
    with pytest.raises(TypeError, match="as a list"):
        mg.gradcheck(lambda x: x * 2, mg.ones(2, requires_grad=True))


def test_relative_difference_refuses_gradients_of_two_shapes() -> None:
    # A db that lost keepdims (3,) against (3, 1) would broadcast to (3, 3) and look wrong.
    db = np.array([0.1, -0.2, 0.3])
    with pytest.raises(mg.ShapeError, match=r"shapes \(3,\) and \(3, 1\).*keepdims"):
        relative_difference(db, db.reshape(3, 1))
