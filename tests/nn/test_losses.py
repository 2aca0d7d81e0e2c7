"""Losses: values against the textbook formulas, gradients against central differences,
finite costs at saturated logits, and clear errors for labels of the wrong shape and for values
outside what the loss expects (logits as probabilities, labels outside [0, 1])."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn
from microgrid.nn import losses

RNG = np.random.default_rng(0)
M = 6
LOGITS = RNG.standard_normal((1, M)) * 2
Y = (RNG.uniform(size=(1, M)) > 0.5).astype(float)
CLASS_LOGITS = RNG.standard_normal((4, M))
CLASSES = np.array([0, 3, 1, 1, 2, 0])
ONE_HOT = np.eye(4)[:, CLASSES]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def textbook_cross_entropy(a: np.ndarray, y: np.ndarray) -> float:
    """The course's cost: −(1/m) Σ y log a + (1 − y) log(1 − a)."""
    return float(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / y.shape[1])


def textbook_softmax_cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    probs = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)
    return float(-np.sum(y * np.log(probs)) / z.shape[1])


LOSSES: list[tuple[str, Callable[[mg.Tensor], mg.Tensor], np.ndarray, float]] = [
    ("sigmoid_cross_entropy", lambda z: nn.sigmoid_cross_entropy(z, Y), LOGITS,
     textbook_cross_entropy(sigmoid(LOGITS), Y)),
    ("binary_cross_entropy", lambda p: nn.binary_cross_entropy(p, Y), sigmoid(LOGITS),
     textbook_cross_entropy(sigmoid(LOGITS), Y)),
    ("mse", lambda a: nn.mse(a, Y), LOGITS, float(np.mean((LOGITS - Y) ** 2))),
    ("softmax_cross_entropy one-hot", lambda z: nn.softmax_cross_entropy(z, ONE_HOT), CLASS_LOGITS,
     textbook_softmax_cross_entropy(CLASS_LOGITS, ONE_HOT)),
    ("softmax_cross_entropy indices", lambda z: nn.softmax_cross_entropy(z, CLASSES), CLASS_LOGITS,
     textbook_softmax_cross_entropy(CLASS_LOGITS, ONE_HOT)),
]  # fmt: skip
IDS = [name for name, *_ in LOSSES]


@pytest.mark.parametrize(("name", "loss", "output", "expected"), LOSSES, ids=IDS)
def test_a_loss_is_made_in_the_cost_scope_with_its_labels_and_intermediates_named(
    name: str, loss: Callable[[mg.Tensor], mg.Tensor], output: np.ndarray, expected: float
) -> None:
    with mg.scope("network"):
        given = mg.tensor(output, requires_grad=True, name="Z[2]")
    J = loss(given)
    made = [t for t in mg.autograd.graph([J]) if t.op is not None and t is not given]
    assert made and all(t.scope == ("cost",) for t in made)  # collapse=True draws one box
    leaves = [t.name for t in mg.autograd.graph([J]) if t.op is None and t.size > 1]
    assert all(leaves)  # the labels, given as an array, are named
    # Y: the labels themselves, or the one-hot columns recorded as made from the class indices
    assert "Y" in {t.name for t in mg.autograd.graph([J])}
    named = {t.name for t in made if t.name}
    expected_names = {
        "binary_cross_entropy": {"clip(Z[2])", "ln Z[2]", "ln(1 − Z[2])", "Y ln Z[2]", "L", "J"},
    }
    assert expected_names.get(name, {"J"}) <= named


@pytest.mark.parametrize(("name", "loss", "output", "expected"), LOSSES, ids=IDS)
def test_loss_value_equals_the_textbook_formula(
    name: str, loss: Callable[[mg.Tensor], mg.Tensor], output: np.ndarray, expected: float
) -> None:
    J = loss(mg.tensor(output))
    assert J.shape == () and J.name == "J"
    np.testing.assert_allclose(J.item(), expected, rtol=1e-12)


@pytest.mark.parametrize(("name", "loss", "output", "expected"), LOSSES, ids=IDS)
@pytest.mark.parametrize("check", [mg.gradcheck, mg.gradgradcheck], ids=["first", "second"])
def test_loss_gradients_match_central_differences(
    check: Callable[..., mg.GradcheckReport],
    name: str,
    loss: Callable[[mg.Tensor], mg.Tensor],
    output: np.ndarray,
    expected: float,
) -> None:
    report = check(loss, [mg.tensor(output, requires_grad=True)])
    assert report, report


def test_sigmoid_cross_entropy_gradient_is_the_course_dZ() -> None:
    Z = mg.tensor(LOGITS, requires_grad=True)
    nn.sigmoid_cross_entropy(Z, Y).backward()
    np.testing.assert_allclose(Z.grad.data, (sigmoid(LOGITS) - Y) / M, rtol=1e-12)  # dZ = A − Y, over m


@pytest.mark.parametrize(
    "labels", [CLASSES, CLASSES.reshape(1, M), ONE_HOT], ids=["indices", "row", "one-hot"]
)
def test_softmax_cross_entropy_is_one_op_whose_gradient_is_the_course_dZ(labels: np.ndarray) -> None:
    Z = mg.tensor(CLASS_LOGITS, requires_grad=True)
    J = nn.softmax_cross_entropy(Z, labels)
    assert isinstance(J.op, mg.ops.SoftmaxCrossEntropy) and J.op.inputs[0] is Z
    J.backward()
    probabilities = np.exp(CLASS_LOGITS) / np.exp(CLASS_LOGITS).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(Z.grad.data, (probabilities - ONE_HOT) / M, rtol=1e-12)  # (softmax − Y)/m


def test_softmax_cross_entropy_takes_probability_columns_and_refuses_columns_not_summing_to_1() -> None:
    soft = 0.9 * ONE_HOT + 0.1 / 4  # label smoothing: each column still sums to 1
    J = nn.softmax_cross_entropy(mg.tensor(CLASS_LOGITS), soft)
    np.testing.assert_allclose(J.item(), textbook_softmax_cross_entropy(CLASS_LOGITS, soft), rtol=1e-12)
    halved = ONE_HOT.copy()
    halved[:, 2] /= 2
    with pytest.raises(
        ValueError, match=r"label columns must each sum to 1.*1 of 6 do not: column 2 sums to 0\.5"
    ):
        nn.softmax_cross_entropy(mg.tensor(CLASS_LOGITS), halved)


SATURATED = np.array([[1e4, -1e4, 1e4, -1e4]])
SATURATED_Y = np.array([[1.0, 0.0, 0.0, 1.0]])  # two right with certainty, two wrong with certainty


@pytest.mark.parametrize(
    "loss",
    [
        lambda z: nn.sigmoid_cross_entropy(z, SATURATED_Y),
        lambda z: nn.binary_cross_entropy(mg.sigmoid(z), SATURATED_Y),
        lambda z: nn.mse(z, SATURATED_Y),
        lambda z: nn.softmax_cross_entropy(mg.concatenate([z, -z]), np.array([0, 1, 1, 0])),
    ],
    ids=["sigmoid_cross_entropy", "binary_cross_entropy", "mse", "softmax_cross_entropy"],
)
def test_losses_are_finite_for_logits_of_plus_minus_1e4(loss: Callable[[mg.Tensor], mg.Tensor]) -> None:
    Z = mg.tensor(SATURATED, requires_grad=True)
    with mg.detect_anomaly():  # any inf or nan, forward or backward, would raise here
        J = loss(Z)
        J.backward()
    assert np.isfinite(J.item()) and J.item() > 0
    assert np.all(np.isfinite(Z.grad.data))


def test_sigmoid_cross_entropy_is_exact_when_saturated() -> None:
    # Two examples cost 0, two cost 1e4 each: the mean over four is 5000, with no rounding at all.
    assert nn.sigmoid_cross_entropy(mg.tensor(SATURATED), SATURATED_Y).item() == 5000.0


@pytest.mark.parametrize(
    ("loss", "labels", "message"),
    [
        (nn.sigmoid_cross_entropy, np.zeros(M), r"Z\[2\] \(1, 6\) and labels \(6,\) must have the same "
         r"shape; reshape the labels to \(1, 6\)"),
        (nn.binary_cross_entropy, mg.tensor(np.zeros((2, M)), name="Y"), r"Z\[2\] \(1, 6\) and Y \(2, 6\)"),
        (nn.mse, np.zeros((1, M + 1)), r"mse: Z\[2\] \(1, 6\) and labels \(1, 7\)"),
    ],
)  # fmt: skip
def test_labels_of_the_wrong_shape_are_named(
    loss: Callable[[mg.Tensor, object], mg.Tensor], labels: object, message: str
) -> None:
    with pytest.raises(mg.ShapeError, match=message):
        loss(mg.tensor(LOGITS, name="Z[2]"), labels)


@pytest.mark.parametrize(
    ("logits", "labels", "error", "message"),
    [
        (CLASS_LOGITS, np.zeros((3, M)), mg.ShapeError, r"labels of shape \(3, 6\) fit neither one-hot"),
        (CLASS_LOGITS, np.array([0, 1, 2, 3, 4, 0]), ValueError, r"class indices must be in 0..3, got 0..4"),
        (CLASS_LOGITS, np.full(M, 0.5), ValueError, r"class indices must be whole numbers"),
        (CLASS_LOGITS[0], CLASSES, mg.ShapeError, r"must be \(classes, m\), one example per column"),
    ],
)
def test_softmax_cross_entropy_refuses_labels_that_do_not_fit(
    logits: np.ndarray, labels: np.ndarray, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        nn.softmax_cross_entropy(mg.tensor(logits), labels)


EMPTY_OUTPUTS = [
    ("sigmoid_cross_entropy", nn.sigmoid_cross_entropy, np.zeros((1, 0))),
    ("binary_cross_entropy", nn.binary_cross_entropy, np.zeros((1, 0))),
    ("mse", nn.mse, np.zeros((1, 0))),
    ("softmax_cross_entropy", nn.softmax_cross_entropy, np.zeros((3, 0))),
]


@pytest.mark.parametrize(
    ("name", "loss", "output"), EMPTY_OUTPUTS, ids=[name for name, _, _ in EMPTY_OUTPUTS]
)
def test_an_output_without_examples_is_refused(
    name: str, loss: Callable[[mg.Tensor, np.ndarray], mg.Tensor], output: np.ndarray
) -> None:
    labels = np.zeros(0) if name == "softmax_cross_entropy" else output
    shape = re.escape(str(output.shape))
    with pytest.raises(mg.ShapeError, match=rf"^{name}: Z {shape} holds no example; .* needs m ≥ 1$"):
        loss(mg.tensor(output, name="Z"), labels)


def test_softmax_labels_as_a_row_of_indices_equal_one_hot_columns() -> None:
    z = mg.tensor(CLASS_LOGITS)
    by_row = nn.softmax_cross_entropy(z, CLASSES.reshape(1, M)).item()
    assert by_row == pytest.approx(nn.softmax_cross_entropy(z, ONE_HOT).item(), rel=1e-14)


@pytest.mark.parametrize(
    "labels",
    [np.array([0, 2, 1]), np.array([[0, 2, 1]]), mg.tensor([0, 2, 1])],
    ids=["(m,)", "(1, m)", "tensor"],
)
def test_class_indices_for_as_many_examples_as_classes_give_no_broadcast_warning(labels: object) -> None:
    # Each class number is compared with each label: meant, not the row-against-column mix-up
    # BroadcastWarning reports, which looks the same when m equals the number of classes.
    z = mg.tensor(RNG.standard_normal((3, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = nn.softmax_cross_entropy(z, labels)
    assert J.item() == pytest.approx(textbook_softmax_cross_entropy(z.data, np.eye(3)[:, [0, 2, 1]]))


# --- L2 regularisation -------------------------------------------------------------------------------


def test_l2_penalty_is_the_course_term_and_its_gradient_is_lambda_over_m_W() -> None:
    model = nn.mlp([3, 4, 2, 1], seed=0)
    lambd, m = 0.7, 10
    weights = [model.layers[i].W for i in (0, 2, 4)]
    penalty = nn.l2_penalty(model, lambd, m)
    expected = lambd / (2 * m) * sum(np.sum(W.data**2) for W in weights)
    np.testing.assert_allclose(penalty.item(), expected, rtol=1e-13)
    penalty.backward()
    for W in weights:  # the course's extra term in dW: (λ/m)·W
        np.testing.assert_allclose(W.grad.data, lambd / m * W.data, rtol=1e-13)
    assert all(model.layers[i].b.grad is None for i in (0, 2, 4))  # biases are not penalised


def test_l2_penalty_gradient_matches_central_differences() -> None:
    model = nn.mlp([2, 3, 1], seed=1)
    report = mg.gradcheck(lambda *params: nn.l2_penalty(model, 0.5, 4), list(model.parameters()))
    assert report, report


@pytest.mark.parametrize(
    ("model", "lambd", "m", "message"),
    [
        (nn.Tanh(), 0.1, 10, "Tanh has no weight parameter named W"),
        (nn.mlp([2, 1], seed=0), 0.1, 0, r"m \(the number of examples\) must be an int ≥ 1, got 0"),
        (nn.mlp([2, 1], seed=0), "0.1", 10, r"lambd \(λ\) must be a finite number ≥ 0, got '0.1'"),
        (nn.mlp([2, 1], seed=0), -1.0, 10, r"lambd \(λ\) must be a finite number ≥ 0, got -1.0"),
    ],
)
def test_l2_penalty_refuses_what_it_cannot_compute(
    model: nn.Module, lambd: float, m: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        nn.l2_penalty(model, lambd, m)


# --- values that are not what the loss expects --------------------------------------------------------


def test_binary_cross_entropy_refuses_logits_and_names_them() -> None:
    A = mg.tensor(np.linspace(-3.2, 5.1, 400).reshape(1, 400), name="A[2]")
    Y_400 = np.tile([[0.0, 1.0]], 200)
    message = (
        r"^binary_cross_entropy: A\[2\] \(1, 400\) must lie in \[0, 1\], got min -3.2, max 5.1: these "
        r"look like logits; use sigmoid_cross_entropy\(Z, Y\) on the logits, or pass σ\(Z\)$"
    )
    with pytest.raises(ValueError, match=message):
        nn.binary_cross_entropy(A, Y_400)


def test_binary_cross_entropy_refuses_nan_probabilities() -> None:
    probs = sigmoid(LOGITS)
    probs[0, 2] = np.nan
    with pytest.raises(ValueError, match=r"probabilities \(1, 6\) must lie in \[0, 1\], got NaN in 1 of 6 "
                       r"entries: .*mg.detect_anomaly\(\)"):  # fmt: skip
        nn.binary_cross_entropy(probs, Y)


@pytest.mark.parametrize(
    ("labels", "found"),
    [
        (2 * Y - 1, r"labels \(1, 6\) must lie in \[0, 1\], got min -1, max 1"),  # ±1, as for an SVM
        (mg.tensor(np.arange(M).reshape(1, M) % 3, name="Y"), r"Y \(1, 6\) .*, got min 0, max 2"),
        (np.where(Y > 0, np.nan, 0.0), r"labels \(1, 6\) .*, got NaN in \d of 6 entries"),
    ],
    ids=["plus-minus one", "class indices", "nan"],
)  # fmt: skip
@pytest.mark.parametrize(
    ("loss", "output"),
    [(nn.sigmoid_cross_entropy, LOGITS), (nn.binary_cross_entropy, sigmoid(LOGITS))],
    ids=["sigmoid_cross_entropy", "binary_cross_entropy"],
)
def test_cross_entropies_refuse_labels_outside_zero_one(
    loss: Callable[[np.ndarray, object], mg.Tensor], output: np.ndarray, labels: object, found: str
) -> None:
    hint = r"the labels must be 0/1, or soft labels in \[0, 1\]"
    with pytest.raises(ValueError, match=rf"^{loss.__name__}: {found}: {hint}$"):
        loss(output, labels)


def test_soft_labels_and_probabilities_of_exactly_zero_and_one_are_allowed() -> None:
    soft = np.array([[0.0, 0.1, 0.5, 0.9, 1.0, 0.3]])
    expected = textbook_cross_entropy(sigmoid(LOGITS), soft)
    assert nn.sigmoid_cross_entropy(LOGITS, soft).item() == pytest.approx(expected, rel=1e-12)
    assert nn.binary_cross_entropy(sigmoid(LOGITS), soft).item() == pytest.approx(expected, rel=1e-12)
    certain = np.array([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0]])
    assert nn.binary_cross_entropy(certain, certain).item() == pytest.approx(0.0, abs=1e-12)


def test_labels_of_the_wrong_shape_are_refused_before_their_values() -> None:
    # The course's rank-1 pitfall keeps its own message, even when the values are wrong as well.
    with pytest.raises(mg.ShapeError, match=r"labels \(6,\) must have the same shape; reshape the labels"):
        nn.sigmoid_cross_entropy(LOGITS, np.full(M, -1.0))


def test_the_value_checks_take_arrays_or_tensors_and_return_nothing() -> None:
    # Each is one module-level function, so a caller (such as a replayed step) can run it alone.
    assert losses.check_probabilities("binary_cross_entropy", mg.tensor(sigmoid(LOGITS))) is None
    assert losses.check_labels("sigmoid_cross_entropy", np.array([[True, False]])) is None
    assert losses.check_labels("sigmoid_cross_entropy", np.zeros((1, 0))) is None
    assert losses.check_class_indices(mg.tensor(CLASS_LOGITS), CLASSES.astype(float)) is None
    with pytest.raises(ValueError, match=r"^mse: probabilities \(2,\) must lie in .*, got min 0, max 1.5"):
        losses.check_probabilities("mse", [0.0, 1.5])


def test_softmax_cross_entropy_refuses_an_infinite_class_index_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"class indices must be whole numbers"):
            nn.softmax_cross_entropy(CLASS_LOGITS, np.array([0, 1, 2, np.inf, 0, 0]))
