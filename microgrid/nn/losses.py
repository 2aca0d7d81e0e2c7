"""Loss functions composed of engine ops, in the course's layout (one example per column).

Each returns the cost J as a scalar tensor named "J", made inside `mg.scope("cost")` with its
intermediates named as the course writes them (Y, ln A, 1 − Y), so a picture draws the
cost as one box (collapse=True) or reads like the slides. The labels are tensors no gradient flows
to, and everything computed from them is an op, so that a replayed step (mg.replay) recomputes it
from each new batch. Sigmoid and binary cross-entropy and mse average over every entry, which for the
course's (1, m) outputs is the average over the m examples; softmax cross-entropy sums over the
classes (axis 0) and averages over the m examples. An output without examples is refused: a mean
over m = 0 examples has no value.

The checks that read values, not just shapes, are the module's `check_*` functions: each takes
the arrays or tensors, raises or returns nothing, and costs a pass or two over them. They run
as guards (microgrid.trace.guard): again at every replay of a recorded step, in the same place.
"""

from __future__ import annotations

import numpy as np

from microgrid import checks
from microgrid.errors import ShapeError
from microgrid.functional import as_tensor, astype, clip, equal, log
from microgrid.modes import scope
from microgrid.nn.metrics import whole_numbers
from microgrid.nn.module import Module
from microgrid.ops import SigmoidCrossEntropy, SoftmaxCrossEntropy
from microgrid.tensor import Operand, Tensor, as_array, to_array
from microgrid.trace import guard

_smallest, _largest = np.minimum.reduce, np.maximum.reduce


def _output(loss: str, values: Operand) -> Tensor:
    """The network's output as a Tensor, refused when it holds no example."""
    output = as_tensor(values)
    if output.size == 0:
        raise ShapeError(
            f"{loss}: {output.describe()} holds no example; the cost is a mean over the m examples "
            "and needs m ≥ 1"
        )
    return output


def _labels(loss: str, output: Tensor, y: Operand) -> Tensor:
    """The labels as a tensor in the output's dtype, after checking they have its shape."""
    labels = as_array(y)
    if labels.shape != output.shape:
        described = _describe(y, labels, "labels")
        hint = f"; reshape the labels to {output.shape}" if labels.size == output.size else ""
        raise ShapeError(f"{loss}: {output.describe()} and {described} must have the same shape{hint}")
    if isinstance(y, Tensor) and y.dtype == output.dtype:
        return y
    return Tensor._make(to_array(labels, output.dtype))


def _named_labels(Y: Tensor, y: Operand) -> Tensor:
    """The labels tensor named as pictures show it: the caller's name, else Y. Named after the
    checks, whose messages say `labels (1, 400)` for labels given as an array."""
    if Y is not y:  # made here from an array, or converted: the caller's own tensor keeps its name
        Y.name = y.name if isinstance(y, Tensor) and y.name else "Y"
    return Y


def _data(values: np.ndarray, name: str) -> Tensor:
    """Data the loss was given as an array, as a tensor with the name pictures show it by."""
    tensor = Tensor._make(values)
    tensor.name = name
    return tensor


def _describe(value: Operand, values: np.ndarray, role: str) -> str:
    """A tensor by its name and shape, `Y (1, 400)`; an array by its role: `labels (1, 400)`."""
    return value.describe() if isinstance(value, Tensor) and value.name else f"{role} {values.shape}"


def check_probabilities(loss: str, p: Operand) -> None:
    """Refuse an output that is not probabilities, logits most likely: a value outside [0, 1], or NaN."""
    _check_unit_interval(
        loss,
        p,
        "probabilities",
        outside="these look like logits; use sigmoid_cross_entropy(Z, Y) on the logits, or pass σ(Z)",
        nan="σ(z) is NaN only where z is: the data holds NaN or training diverged; "
        "mg.detect_anomaly() names the op that made it",
    )


def check_labels(loss: str, y: Operand) -> None:
    """Refuse labels outside [0, 1], or NaN: labels are 0/1, or soft labels in between."""
    hint = "the labels must be 0/1, or soft labels in [0, 1]"
    _check_unit_interval(loss, y, "labels", outside=hint, nan=hint)


def _check_unit_interval(loss: str, value: Operand, role: str, *, outside: str, nan: str) -> None:
    """Raise unless every entry of `value` lies in [0, 1]; `outside` and `nan` say what to do instead."""
    values = as_array(value)
    # One min and one max, no temporary array (about 2 µs for (1, 400)): NaN propagates through
    # both and fails the comparison, so it needs no pass of its own. (The ufuncs' own reductions,
    # not .min(), which reaches them through a Python function: −0.35 µs, a replay's guard.)
    if values.size == 0 or (_smallest(values, None) >= 0 and _largest(values, None) <= 1):
        return
    nans = np.count_nonzero(np.isnan(values))
    found, hint = (
        (f"NaN in {nans} of {values.size} entries", nan)
        if nans
        else (f"min {values.min():.3g}, max {values.max():.3g}", outside)
    )
    raise ValueError(f"{loss}: {_describe(value, values, role)} must lie in [0, 1], got {found}: {hint}")


def _named(t: Tensor, name: str = "J") -> Tensor:
    """`t`, named: the cost J, or an intermediate as the course writes it."""
    t.name = name
    return t


def _called(t: Tensor) -> str:
    """How a loss's formulas refer to its input: its name (A[2]), else `A`."""
    return t.name or "A"


def sigmoid_cross_entropy(logits: Operand, y: Operand) -> Tensor:
    """J = mean of softplus(z) − z·y = max(z, 0) − z·y + log(1 + e^−|z|): the cross-entropy of
    σ(z), finite for any z.

    One primitive (as PyTorch's BCEWithLogitsLoss is one kernel): its rule is the course's
    dZ = A − Y, (σ(z) − y)/m, one node in the backward picture instead of the chain through
    softplus, the product and the mean, and a training step's cheapest way to its gradient.
    """
    z = _output("sigmoid_cross_entropy", logits)
    Y = _labels("sigmoid_cross_entropy", z, y)
    guard(check_labels, "sigmoid_cross_entropy", Y)
    Y = _named_labels(Y, y)
    with scope("cost"):
        return _named(SigmoidCrossEntropy.apply(z, Y))


def binary_cross_entropy(probs: Operand, y: Operand) -> Tensor:
    """J = −mean of y·log p + (1 − y)·log(1 − p), for probabilities p = σ(z).

    p is clipped to [ε, 1 − ε] (ε the dtype's machine epsilon) so a saturated σ gives a large
    finite cost, not inf; prefer `sigmoid_cross_entropy` on the logits, which needs no clipping.
    Logits (values outside [0, 1]) are refused, as are labels outside [0, 1].
    """
    p = _output("binary_cross_entropy", probs)
    Y = _labels("binary_cross_entropy", p, y)
    guard(check_probabilities, "binary_cross_entropy", p)
    guard(check_labels, "binary_cross_entropy", Y)
    Y = _named_labels(Y, y)
    eps = float(np.finfo(p.dtype).eps)
    A = _called(p)
    with scope("cost"):
        p = _named(clip(p, eps, 1.0 - eps), f"clip({A})")
        hit = _named(Y * _named(log(p), f"ln {A}"), f"Y ln {A}")
        not_Y = _named(1.0 - Y, "1 − Y")
        miss = _named(not_Y * _named(log(1.0 - p), f"ln(1 − {A})"), f"(1 − Y) ln(1 − {A})")
        return _named(-_named(hit + miss, "L").mean())


def mse(predictions: Operand, y: Operand) -> Tensor:
    """J = mean of (ŷ − y)²."""
    y_hat = _output("mse", predictions)
    Y = _named_labels(_labels("mse", y_hat, y), y)
    with scope("cost"):
        error = y_hat - Y
        return _named((error * error).mean())


def softmax_cross_entropy(logits: Operand, labels: Operand) -> Tensor:
    """J = −(1/m) Σ y·log softmax(z), the classes along axis 0: logits (C, m).

    `labels` are one-hot (or probability) columns of shape (C, m), each summing to 1, or class
    indices of shape (m,) or (1, m). One primitive, as sigmoid_cross_entropy: its rule is the
    course's dZ = (softmax(Z) − Y)/m, one node in the backward picture instead of the chain
    through log softmax, the product and the sum.
    """
    z = as_tensor(logits)
    if z.ndim != 2:
        raise ShapeError(
            f"softmax_cross_entropy: {z.describe()} must be (classes, m), one example per column"
        )
    z = _output("softmax_cross_entropy", z)
    with scope("cost"):
        return _named(SoftmaxCrossEntropy.apply(z, _one_hot(z, labels)))


def _one_hot(z: Tensor, labels: Operand) -> Tensor:
    """Labels as (C, m) columns: one-hot columns as given, class indices turned into them (by a
    comparison of each class number with each label, an op, so a replay follows new labels)."""
    classes, m = z.shape
    given = as_array(labels)
    if given.shape == z.shape:
        Y = _labels("softmax_cross_entropy", z, labels)
        guard(check_label_columns, Y)
        return _named_labels(Y, labels)
    if given.shape not in ((m,), (1, m)):
        raise ShapeError(
            f"softmax_cross_entropy: labels of shape {given.shape} fit neither one-hot columns "
            f"{z.shape} nor class indices ({m},) or (1, {m}) for {z.describe()}"
        )
    indices = labels.reshape(1, m) if isinstance(labels, Tensor) else _data(given.reshape(1, m), "y")
    guard(check_class_indices, z, indices)
    # Every class number against every label, from a (C, m) grid of class numbers (a read-only
    # view of one column, no copy): the (C, 1) column against the (1, m) row is the same
    # comparison, but is the outer broadcast that BroadcastWarning reports when m = C.
    column = np.arange(classes).reshape(classes, 1)
    class_numbers = _data(np.broadcast_to(column, (classes, m)), f"0..{classes - 1}")
    return _named(astype(equal(class_numbers, indices), z.dtype), "Y")


def check_label_columns(y: Operand) -> None:
    """Refuse softmax_cross_entropy's label columns unless each is a distribution: entries in
    [0, 1] that sum to 1 (one-hot, or probabilities), which its rule softmax(Z) − Y assumes."""
    check_labels("softmax_cross_entropy", y)
    sums = np.add.reduce(as_array(y), 0)
    tolerance = np.sqrt(np.finfo(sums.dtype).eps) if sums.dtype.kind == "f" else 0
    off = np.flatnonzero(np.abs(sums - 1) > tolerance)
    if off.size:
        raise ValueError(
            f"softmax_cross_entropy: label columns must each sum to 1 (one-hot, or probabilities), "
            f"but {off.size} of {sums.size} do not: column {off[0]} sums to {sums[off[0]]:.3g}; "
            "pass class indices, or one-hot columns"
        )


def check_class_indices(z: Tensor, labels: Operand) -> None:
    """Refuse softmax_cross_entropy's class indices unless they are whole numbers in 0..C−1, z (C, m)."""
    indices = as_array(labels)
    if not whole_numbers(indices):
        raise ValueError("softmax_cross_entropy: class indices must be whole numbers")
    classes = z.shape[0]
    if indices.min() < 0 or indices.max() >= classes:
        raise ValueError(
            f"softmax_cross_entropy: class indices must be in 0..{classes - 1}, got "
            f"{int(indices.min())}..{int(indices.max())} (the classes are the rows of {z.describe()})"
        )


def l2_penalty(model: Module, lambd: float, m: int) -> Tensor:
    """λ/(2m) · Σ_l ‖W[l]‖², the course's L2 regularisation term (biases are not penalised).

    Every parameter named W (the last part of its path, as in `layers.0.W`) counts as a weight.
    Add it to the cost: `J = sigmoid_cross_entropy(Z, Y) + l2_penalty(model, 0.7, m)`.
    """
    m = checks.count("l2_penalty", "m (the number of examples)", m)
    lambd = checks.number("l2_penalty", "lambd (λ)", lambd, at_least=0)
    weights = [p for name, p in model.named_parameters() if name.rsplit(".", 1)[-1] == "W"]
    if not weights:
        raise ValueError(f"l2_penalty: {type(model).__name__} has no weight parameter named W")
    with scope("L2 penalty"):
        total = (weights[0] * weights[0]).sum()
        for W in weights[1:]:
            total = total + (W * W).sum()
        return _named(total * (lambd / (2 * m)), "L2")
