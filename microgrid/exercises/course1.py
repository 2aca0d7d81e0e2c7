"""Course 1's graded functions (neural networks and deep learning), in the course's names and order.

Every expected output is read off microgrid's own graph: a forward value, or a gradient from the
engine's backward. The course's dZ and dA are per-example (dZ[L] = A[L] − Y), m times ∂J/∂Z for the
mean cost J; its dW and db are ∂J/∂W and ∂J/∂b, averaged over the m examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgrid.creation import tensor
from microgrid.exercises.checker import (
    Case,
    Exercise,
    Mistake,
    Nodes,
    Outputs,
    array,
    keyed,
    mistake,
    one,
    several,
    unpack,
)
from microgrid.functional import relu, sigmoid, tanh
from microgrid.nn.losses import binary_cross_entropy
from microgrid.optim import SGD
from microgrid.tensor import Tensor


def leaf(values: Any, name: str) -> Tensor:
    """A tensor that gets a gradient: a parameter, or the Z whose dZ an exercise computes."""
    return tensor(values, requires_grad=True, name=name)


def gradient(t: Tensor) -> np.ndarray:
    """The gradient backward stored in t, as an array."""
    if t.grad is None:
        raise AssertionError(f"{t.label} has no gradient: the exercise's graph does not use it")
    return t.grad.data


def seeded(seed: int) -> np.random.RandomState:
    """numpy's legacy generator, as the course's test cases use it (np.random.seed(1); randn)."""
    return np.random.RandomState(seed)


def sigmoid_of(z: Any) -> np.ndarray:
    return sigmoid(tensor(z)).data


# --- sigmoid (course 1, week 2) -----------------------------------------------------------------------------


def sigmoid_cases() -> list[Case]:
    rng = seeded(2)
    return [
        Case("course values", (np.array([0.0, 2.0]),)),
        Case("a number", (0.5,)),
        Case("a (3, 4) array", (rng.randn(3, 4),)),
        Case("large |z|", (np.array([[-30.0, -8.0, 8.0, 30.0]]),)),
    ]


SIGMOID = Exercise(
    name="sigmoid",
    lesson="course 1, week 2: logistic regression",
    signature="sigmoid(z) -> s",
    doc="s = σ(z) = 1 / (1 + e^−z), element by element; z is a number or a numpy array of any shape.",
    params=("z",),
    cases=sigmoid_cases,
    oracle=lambda case, got: {"s": sigmoid_of(case.args[0])},
    read=one("s"),
    mistakes=(
        mistake(
            "sigmoid-sign",
            "s",
            "s is σ(−z) = 1 − σ(z): 1/(1 + e^z) lost the minus of the exponent (and "
            "e^−z/(1 + e^−z) has e^−z for the numerator 1)",
            lambda case, want: 1 - want["s"],
        ),
        mistake(
            "sigmoid-no-one-plus",
            "s",
            "s = 1/e^−z = e^z: the 1 + of the denominator is missing",
            lambda case, want: np.exp(np.asarray(case.args[0])),
        ),
        mistake(
            "sigmoid-no-reciprocal",
            "s",
            "s = 1 + e^−z: the reciprocal is missing (1/1 + np.exp(-z) "
            "divides only the first 1: write 1/(1 + np.exp(-z)))",
            lambda case, want: 1 + np.exp(-np.asarray(case.args[0])),
        ),
        mistake(
            "sigmoid-minus-one",
            "s",
            "s = 1/(1 − e^−z): the denominator is 1 + e^−z (a plus)",
            lambda case, want: 1 / (1 - np.exp(-np.asarray(case.args[0]))),
        ),
    ),
)


# --- activation backward rules: dZ from dA (course 1, weeks 3 and 4) -------------------------------------


def activation_graph(function: Any, z: np.ndarray, dA: np.ndarray) -> tuple[Tensor, Tensor]:
    """Z[1] → A[1] = function(Z[1]), and backward from J = Σ dA ⊙ A[1]: Z[1].grad is dZ.
    Returns A[1] (what a picture shows: J only seeds dA) and Z[1]."""
    Z = leaf(z, "Z[1]")
    A = function(Z)
    A.name = "A[1]"
    (tensor(dA, name="dA[1]") * A).sum().backward()
    return A, Z


def activation_cases() -> list[Case]:
    """(dA, Z): fixed small values (Z = 0 among them: relu's slope there), then generated shapes."""
    rng = seeded(3)
    fixed = (np.array([[0.3, -0.4, 1.2, -0.7]]), np.array([[-1.5, 0.0, 0.5, 2.0]]))
    shapes = [
        ("a (3, 5) layer", (3, 5)),
        ("m = 1", (4, 1)),
        ("one unit, m = 1", (1, 1)),
        ("a (20, 30) layer", (20, 30)),
    ]
    return [Case("fixed values", fixed)] + [
        Case(name, (rng.randn(*shape), rng.randn(*shape))) for name, shape in shapes
    ]


def activation_exercise(
    name: str, function: Any, lesson: str, doc: str, mistakes: tuple[Mistake, ...], takes_a: bool = False
) -> Exercise:
    """An exercise `name(dA, cache) -> dZ` for an activation; with takes_a, it is given A, not Z."""

    def cases() -> list[Case]:
        if not takes_a:
            return activation_cases()
        return [Case(c.name, (c.args[0], function(tensor(c.args[1])).data)) for c in activation_cases()]

    def graph(case: Case) -> tuple[Tensor, Nodes]:
        dA, given = case.args
        z = np.arctanh(given) if takes_a else given  # tanh_backward is given A = tanh(Z)
        A, Z = activation_graph(function, z, dA)
        return A, {"dZ": Z}

    return Exercise(
        name=name,
        lesson=lesson,
        signature=f"{name}(dA, {'A' if takes_a else 'cache'}) -> dZ",
        doc=doc,
        params=("dA", "A" if takes_a else "cache"),
        cases=cases,
        oracle=lambda case, got: {"dZ": gradient(graph(case)[1]["dZ"])},
        read=one("dZ"),
        mistakes=mistakes,
        graph=graph,
        labels={"dZ": "dZ[1]"},
    )


def _dA(case: Case) -> np.ndarray:
    return np.asarray(case.args[0])


def _given(case: Case) -> np.ndarray:
    return np.asarray(case.args[1])


TANH_BACKWARD = activation_exercise(
    "tanh_backward",
    tanh,
    "course 1, week 3: a shallow network",
    "dZ = dA ∗ (1 − A²), given A = tanh(Z): the course's dZ1 = np.dot(W2.T, dZ2) ∗ (1 − np.power(A1, 2)).",
    (
        mistake(
            "tanh-backward-1-a",
            "dZ",
            "dZ[1] uses 1 − A where tanh′(Z) is 1 − A² (np.power(A, 2))",
            lambda case, want: _dA(case) * (1 - _given(case)),
        ),
        mistake(
            "tanh-backward-square-bracket",
            "dZ",
            "dZ[1] uses (1 − A)²; tanh′(Z) is 1 − A², only A squared",
            lambda case, want: _dA(case) * (1 - _given(case)) ** 2,
        ),
        mistake(
            "tanh-backward-no-dA",
            "dZ",
            "dZ[1] is tanh′(Z) alone: the chain rule multiplies it by dA",
            lambda case, want: 1 - _given(case) ** 2,
        ),
        mistake(
            "tanh-backward-tanh-again",
            "dZ",
            "dZ[1] applies tanh to A again: A is already tanh(Z), so 1 − A² needs no np.tanh",
            lambda case, want: _dA(case) * (1 - np.tanh(_given(case)) ** 2),
        ),
        mistake(
            "tanh-backward-sign",
            "dZ",
            "dZ[1] has the wrong sign: dA ∗ (A² − 1) where 1 − A² belongs",
            lambda case, want: -want["dZ"],
        ),
    ),
    takes_a=True,
)

RELU_BACKWARD = activation_exercise(
    "relu_backward",
    relu,
    "course 1, week 4: a deep network",
    "dZ = dA where Z > 0, else 0; cache = Z. relu's slope is 1 for Z > 0 and 0 for Z ≤ 0 (at 0 too).",
    (
        mistake(
            "relu-backward-ge",
            "dZ",
            "dZ[1] passes dA where Z = 0: the mask is Z > 0 (the course sets dZ[Z <= 0] = 0)",
            lambda case, want: _dA(case) * (_given(case) >= 0),
        ),
        mistake(
            "relu-backward-no-dA",
            "dZ",
            "dZ[1] is the mask [Z > 0] alone: multiply dA by it",
            lambda case, want: (_given(case) > 0).astype(float),
        ),
        mistake(
            "relu-backward-times-A",
            "dZ",
            "dZ[1] is dA ∗ A: relu's slope is 1 where Z > 0, not A = relu(Z)",
            lambda case, want: _dA(case) * np.maximum(_given(case), 0),
        ),
        mistake(
            "relu-backward-mask-of-dA",
            "dZ",
            "dZ[1] keeps dA where dA > 0: the mask comes from the cache Z (where Z > 0), not from "
            "the gradient",
            lambda case, want: _dA(case) * (_dA(case) > 0),
        ),
        mistake(
            "relu-backward-no-mask",
            "dZ",
            "dZ[1] equals dA: the entries where Z ≤ 0 must be set to 0",
            lambda case, want: _dA(case),
        ),
    ),
)


def _s(case: Case) -> np.ndarray:
    return sigmoid_of(_given(case))


SIGMOID_BACKWARD = activation_exercise(
    "sigmoid_backward",
    sigmoid,
    "course 1, week 4: a deep network",
    "dZ = dA ∗ s ∗ (1 − s) with s = σ(Z); cache = Z.",
    (
        mistake(
            "sigmoid-backward-z-as-a",
            "dZ",
            "dZ[1] uses Z where σ(Z) belongs: the cache holds Z, so "
            "compute s = 1/(1 + e^−Z) first, then dA ∗ s ∗ (1 − s)",
            lambda case, want: _dA(case) * _given(case) * (1 - _given(case)),
        ),
        mistake(
            "sigmoid-backward-no-dA",
            "dZ",
            "dZ[1] is σ′(Z) alone: the chain rule multiplies it by dA",
            lambda case, want: _s(case) * (1 - _s(case)),
        ),
        mistake(
            "sigmoid-backward-tanh-rule",
            "dZ",
            "dZ[1] uses 1 − s², tanh's rule: σ′(Z) = s ∗ (1 − s)",
            lambda case, want: _dA(case) * (1 - _s(case) ** 2),
        ),
        mistake(
            "sigmoid-backward-s-of-dA",
            "dZ",
            "dZ[1] computes s from dA: s = σ(Z) comes from the cache Z, then dA ∗ s ∗ (1 − s)",
            lambda case, want: _dA(case) * sigmoid_of(_dA(case)) * (1 - sigmoid_of(_dA(case))),
        ),
        mistake(
            "sigmoid-backward-sign",
            "dZ",
            "dZ[1] has the wrong sign: σ′(Z) = s ∗ (1 − s) is positive",
            lambda case, want: -want["dZ"],
        ),
    ),
)


# --- linear_forward and compute_cost (course 1, week 4) -----------------------------------------------------


def linear_graph(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Z[1] = W[1] · A[0] + b[1], its tensors named as the course writes them."""
    A, Wt, bt = leaf(A_prev, "A[0]"), leaf(W, "W[1]"), leaf(b, "b[1]")
    Z = Wt @ A + bt
    Z.name = "Z[1]"
    return Z, A, Wt, bt


def linear_cases(with_dZ: bool) -> list[Case]:
    """(A_prev, W, b), and dZ first when with_dZ: the course's seeded values, then generated shapes."""
    rng = seeded(1)
    shapes = [  # (n[l], n[l-1], m)
        ("course values", (3, 5, 4) if with_dZ else (1, 3, 2)),
        ("m = 1", (2, 3, 1)),
        ("n[l] = n[l-1] = m", (4, 4, 4)),
        ("one output unit: b (1, 1) broadcast", (1, 4, 6)),
        ("m = 50", (5, 7, 50)),
    ]
    cases = []
    for name, (n, n_prev, m) in shapes:
        dZ = rng.randn(n, m) if with_dZ else None
        A_prev, W, b = rng.randn(n_prev, m), rng.randn(n, n_prev), rng.randn(n, 1)
        cases.append(Case(name, (dZ, (A_prev, W, b)) if with_dZ else (A_prev, W, b)))
    return cases


def read_linear_forward(returned: Any, case: Case) -> Outputs:
    Z, cache = unpack(returned, ("Z", "cache"), "the value returned")
    parts = unpack(cache, ("A", "W", "b"), "cache")
    return {"Z": array("Z", Z), **{f"cache[{i}]": array(f"cache[{i}]", v) for i, v in enumerate(parts)}}


def linear_forward_graph(case: Case) -> tuple[Tensor, Nodes]:
    Z, A, W, b = linear_graph(*case.args)
    return Z, {"Z": Z, "cache[0]": A, "cache[1]": W, "cache[2]": b}


def linear_forward_oracle(case: Case, got: Outputs | None) -> Outputs:
    Z = linear_forward_graph(case)[0]
    return {"Z": Z.data, **{f"cache[{i}]": np.asarray(v) for i, v in enumerate(case.args)}}


def _wx(case: Case) -> np.ndarray:
    A_prev, W, _ = case.args
    return np.asarray(W @ A_prev)


def _swap(first: str, second: str) -> Any:
    return lambda case, want: {**want, first: want[second], second: want[first]}


LINEAR_FORWARD = Exercise(
    name="linear_forward",
    lesson="course 1, week 4: a deep network",
    signature="linear_forward(A, W, b) -> (Z, cache)",
    doc="Z = W·A + b, with cache = (A, W, b) for linear_backward; A (n[l−1], m), W (n[l], n[l−1]), "
    "b (n[l], 1).",
    params=("A", "W", "b"),
    cases=lambda: linear_cases(with_dZ=False),
    oracle=linear_forward_oracle,
    read=read_linear_forward,
    mistakes=(
        mistake("linear-forward-no-b", "Z", "Z[1] = W·A lacks + b", lambda case, want: _wx(case)),
        mistake(
            "linear-forward-b-row",
            "Z",
            "Z[1] adds b as a row (b.T): b is a column (n[l], 1) that numpy broadcasts across the m examples",
            lambda case, want: _wx(case) + case.args[2].T,
        ),
        mistake(
            "linear-forward-minus-b",
            "Z",
            "Z[1] = W·A − b: the bias is added",
            lambda case, want: _wx(case) - case.args[2],
        ),
        mistake(
            "linear-forward-transposed",
            "Z",
            "Z[1] is transposed: Z has one column per example, (n[l], m) = W (n[l], n[l−1]) · A (n[l−1], m)",
            lambda case, want: want["Z"].T,
        ),
        Mistake(
            "linear-forward-cache-order",
            "cache is (W, A, b); linear_backward unpacks it as A_prev, W, b = cache",
            _swap("cache[0]", "cache[1]"),
        ),
    ),
    graph=linear_forward_graph,
    labels={"Z": "Z[1]", "cache[0]": "cache[0] (A)", "cache[1]": "cache[1] (W)", "cache[2]": "cache[2] (b)"},
)


def cost_cases() -> list[Case]:
    rng = seeded(4)

    def generated(m: int) -> tuple[np.ndarray, np.ndarray]:
        return sigmoid_of(rng.randn(1, m)), (rng.rand(1, m) > 0.5).astype(float)

    return [
        Case("course values", (np.array([[0.8, 0.9, 0.4]]), np.array([[1.0, 1.0, 0.0]]))),
        Case("m = 1", (np.array([[0.3]]), np.array([[1.0]]))),
        Case("m = 10", generated(10)),
        Case("m = 200", generated(200)),
    ]


def cost_graph(case: Case) -> tuple[Tensor, Nodes]:
    AL, Y = case.args
    J = binary_cross_entropy(leaf(AL, "AL"), tensor(Y, name="Y"))
    J.backward()
    return J, {"cost": J}


def _per_example(case: Case, y_log: Any = np.log, other_log: Any = None) -> np.ndarray:
    """−(Y·log AL + (1 − Y)·log(1 − AL)) / m per example; the logs swapped when asked."""
    AL, Y = case.args
    first, second = (np.log(1 - AL), np.log(AL)) if other_log else (np.log(AL), np.log(1 - AL))
    return np.asarray(-(Y * first + (1 - Y) * second) / AL.shape[1])


def _outer(case: Case) -> np.ndarray:
    """−1/m · (Yᵀ·log AL + (1 − Y)ᵀ·log(1 − AL)): the (m, m) matrix of np.dot with the transpose on Y."""
    AL, Y = case.args
    return np.asarray(-(np.dot(Y.T, np.log(AL)) + np.dot((1 - Y).T, np.log(1 - AL))) / AL.shape[1])


COMPUTE_COST = Exercise(
    name="compute_cost",
    lesson="course 1, week 4: a deep network",
    signature="compute_cost(AL, Y) -> cost",
    doc="cost = −1/m · Σ (Y·log(AL) + (1 − Y)·log(1 − AL)), one number (np.squeeze it to shape ()); "
    "AL and Y are (1, m).",
    params=("AL", "Y"),
    cases=cost_cases,
    oracle=lambda case, got: {"cost": cost_graph(case)[0].data},
    read=one("cost"),
    mistakes=(
        mistake(
            "cost-no-1/m",
            "cost",
            "J is m times too large: the sum needs the factor 1/m",
            lambda case, want: want["cost"] * case.args[0].shape[1],
        ),
        mistake(
            "cost-no-minus",
            "cost",
            "J is negative: the cross-entropy starts with a minus, −1/m · Σ(...)",
            lambda case, want: -want["cost"],
        ),
        mistake(
            "cost-one-term",
            "cost",
            "J lacks the (1 − Y)·log(1 − AL) term: the examples with Y = 0 cost nothing",
            lambda case, want: np.sum(-case.args[1] * np.log(case.args[0])) / case.args[0].shape[1],
        ),
        mistake(
            "cost-no-squeeze",
            "cost",
            "J has shape (1, 1) where one number, shape (), was expected: "
            "np.squeeze(cost) (np.dot returns a 1 × 1 array)",
            lambda case, want: want["cost"].reshape(1, 1),
        ),
        mistake(
            "cost-not-summed",
            "cost",
            "J holds one number per example, shape (1, m): the np.sum over the examples is missing",
            lambda case, want: _per_example(case),
        ),
        mistake(
            "cost-outer-product",
            "cost",
            "J sums an (m, m) matrix: np.dot(Y.T, np.log(AL)) pairs every label with every example's log; "
            "np.dot(Y, np.log(AL).T) is (1, 1), or use Y * np.log(AL) and np.sum",
            lambda case, want: np.sum(_outer(case)),
        ),
        mistake(
            "cost-outer-product-not-summed",
            "cost",
            "J is an (m, m) matrix: np.dot(Y.T, np.log(AL)) pairs every label with every example's log; "
            "np.dot(Y, np.log(AL).T) is (1, 1), or use Y * np.log(AL) and np.sum",
            lambda case, want: np.squeeze(_outer(case)),
        ),
        mistake(
            "cost-logs-swapped",
            "cost",
            "J pairs Y with log(1 − AL) and 1 − Y with log(AL): the logs are swapped",
            lambda case, want: np.sum(_per_example(case, other_log=True)),
        ),
    ),
    graph=cost_graph,
    labels={"cost": "J"},
)


# --- linear_backward (course 1, week 4) ---------------------------------------------------------------------


def linear_backward_graph(case: Case) -> tuple[Tensor, Nodes]:
    """Z[1] = W[1]·A[0] + b[1], and backward from J = (1/m) Σ dZ[1] ⊙ Z[1], whose gradients are the
    course's dW and db (and dA_prev/m). A picture shows Z[1]: J only seeds the gradient."""
    dZ, (A_prev, W, b) = case.args
    Z, A, Wt, bt = linear_graph(A_prev, W, b)
    ((tensor(dZ, name="dZ[1]") * Z).sum() * (1 / dZ.shape[1])).backward()
    return Z, {"dA_prev": A, "dW": Wt, "db": bt}


def linear_backward_oracle(case: Case, got: Outputs | None) -> Outputs:
    nodes = linear_backward_graph(case)[1]
    m = case.args[0].shape[1]
    return {
        "dA_prev": m * gradient(nodes["dA_prev"]),
        "dW": gradient(nodes["dW"]),
        "db": gradient(nodes["db"]),
    }


def _db_summed(case: Case, axis: int | None, keepdims: bool) -> np.ndarray:
    dZ = case.args[0]
    return np.asarray(np.sum(dZ, axis=axis, keepdims=keepdims) / dZ.shape[1])


def _m(case: Case) -> int:
    return int(case.args[0].shape[1])


def _cache_swapped(case: Case, want: Outputs) -> Outputs:
    """linear_backward after `W, A_prev, b = cache`: each product reads the other matrix."""
    dZ, (A_prev, W, _) = case.args
    return {**want, "dA_prev": A_prev.T @ dZ, "dW": dZ @ W.T / W.shape[1]}


LINEAR_BACKWARD = Exercise(
    name="linear_backward",
    lesson="course 1, week 4: a deep network",
    signature="linear_backward(dZ, cache) -> (dA_prev, dW, db)",
    doc="dW = (1/m)·dZ·A_prevᵀ, db = (1/m)·Σ over the examples of dZ (axis=1, keepdims=True), "
    "dA_prev = Wᵀ·dZ; cache = (A_prev, W, b) from linear_forward.",
    params=("dZ", "cache"),
    cases=lambda: linear_cases(with_dZ=True),
    oracle=linear_backward_oracle,
    read=several(("dA_prev", "dW", "db")),
    mistakes=(
        mistake(
            "dW-no-1/m",
            "dW",
            "dW[1] is off by a factor m: the 1/m is missing (dW = (1/m)·dZ·A_prevᵀ)",
            lambda case, want: want["dW"] * _m(case),
        ),
        mistake(
            "db-no-1/m",
            "db",
            "db[1] is off by a factor m: the 1/m is missing",
            lambda case, want: want["db"] * _m(case),
        ),
        mistake(
            "dW-integer-division",
            "dW",
            "dW[1] is all zeros when m > 1: 1 // m is integer division (0 for m > 1); write 1 / m",
            lambda case, want: want["dW"] * _m(case) * (1 // _m(case)),
        ),
        mistake(
            "db-integer-division",
            "db",
            "db[1] is all zeros when m > 1: 1 // m is integer division (0 for m > 1); write 1 / m",
            lambda case, want: want["db"] * _m(case) * (1 // _m(case)),
        ),
        mistake(
            "dA_prev-with-1/m",
            "dA_prev",
            "dA[0] is m times too small: dA_prev = Wᵀ·dZ has no 1/m (only "
            "dW and db average over the examples)",
            lambda case, want: want["dA_prev"] / _m(case),
        ),
        mistake(
            "db-no-keepdims",
            "db",
            "db[1] has shape (n[l],) where (n[l], 1) was expected: "
            "np.sum(dZ, axis=1, keepdims=True) keeps the column",
            lambda case, want: want["db"].reshape(-1),
        ),
        mistake(
            "db-axis-0",
            "db",
            "db[1] is summed over the wrong axis: axis=0 adds up the units; the "
            "examples are the columns, axis=1",
            lambda case, want: _db_summed(case, 0, True),
        ),
        mistake(
            "db-sum-all",
            "db",
            "db[1] is one number: np.sum(dZ) without an axis adds up everything; use axis=1, keepdims=True",
            lambda case, want: _db_summed(case, None, False),
        ),
        mistake(
            "dW-transposed",
            "dW",
            "dW[1] is transposed: (1/m)·A_prev·dZᵀ is dW[1]ᵀ; dW has W's shape",
            lambda case, want: want["dW"].T,
        ),
        mistake(
            "dA_prev-sign",
            "dA_prev",
            "dA[0] has the wrong sign: dA_prev = Wᵀ·dZ, no minus (the minus "
            "of gradient descent belongs in update_parameters)",
            lambda case, want: -want["dA_prev"],
        ),
        Mistake(
            "linear-backward-order",
            "dA_prev and dW are swapped: return dA_prev, dW, db in that order",
            _swap("dA_prev", "dW"),
        ),
        Mistake(
            "cache-unpacked-W-first",
            "the cache is unpacked as W, A_prev, b: linear_forward stores (A_prev, W, b), so write "
            "A_prev, W, b = cache (with the two swapped, the products fit only when n[l] = n[l−1] = m; "
            "otherwise numpy refuses them, as in the cases that gave no result)",
            _cache_swapped,
        ),
    ),
    graph=linear_backward_graph,
    parts={"cache": ("A_prev", "W", "b")},
    labels={"dA_prev": "dA[0]", "dW": "dW[1]", "db": "db[1]"},
)


# --- update_parameters (course 1, week 4) ----------------------------------------------------------------


def update_cases() -> list[Case]:
    rng = seeded(5)
    cases = []
    for name, dims, learning_rate in (
        ("course values: 2 layers", (4, 3, 1), 0.1),
        ("3 layers", (5, 4, 3, 1), 0.01),
        ("1 layer", (3, 1), 1.2),
    ):
        parameters, grads = {}, {}
        for layer in range(1, len(dims)):
            for key, shape in (
                (f"W{layer}", (dims[layer], dims[layer - 1])),
                (f"b{layer}", (dims[layer], 1)),
            ):
                parameters[key], grads[f"d{key}"] = rng.randn(*shape), rng.randn(*shape)
        cases.append(Case(name, (parameters, grads, learning_rate)))
    return cases


def update_oracle(case: Case, got: Outputs | None) -> Outputs:
    """One step of microgrid's own SGD, p ← p − α·dp, on tensors holding the case's values."""
    parameters, grads, learning_rate = case.args
    tensors = {key: leaf(value, key) for key, value in parameters.items()}
    for key, t in tensors.items():
        t.grad = grads[f"d{key}"]
    SGD(list(tensors.values()), lr=learning_rate).step()
    return {key: t.data for key, t in tensors.items()}


def _layers(case: Case) -> int:
    return len(case.args[0]) // 2


def _moved(case: Case, sign: float, rate: float | None = None) -> dict[str, np.ndarray]:
    parameters, grads, learning_rate = case.args
    step = learning_rate if rate is None else rate
    return {key: value + sign * step * grads[f"d{key}"] for key, value in parameters.items()}


def _unchanged(keys: Any) -> Any:
    """The wrong outputs of a solution that leaves the parameters `keys(case)` as they were."""
    return lambda case, want: {**want, **{k: case.args[0][k] for k in keys(case)}}


UPDATE_PARAMETERS = Exercise(
    name="update_parameters",
    lesson="course 1, week 4: a deep network",
    signature="update_parameters(parameters, grads, learning_rate) -> parameters",
    doc="W[l] = W[l] − α·dW[l] and b[l] = b[l] − α·db[l] for l = 1 … L; keys 'W1', 'b1', … and "
    "'dW1', 'db1', …; L = len(parameters) // 2.",
    params=("parameters", "grads", "learning_rate"),
    cases=update_cases,
    oracle=update_oracle,
    read=keyed(lambda case: list(case.args[0]), "parameters"),
    may_change=("parameters",),
    mistakes=(
        Mistake(
            "update-plus",
            "the parameters moved up the gradient: the step is W − α·dW, a minus",
            lambda case, want: _moved(case, +1),
        ),
        Mistake(
            "update-no-learning-rate",
            "the step is W − dW: the learning rate α is missing",
            lambda case, want: _moved(case, -1, rate=1.0),
        ),
        Mistake(
            "update-last-layer-skipped",
            "the last layer was not updated: the loop runs over "
            "range(L) for l + 1 = 1 … L (range(1, L) stops one short)",
            _unchanged(lambda case: [f"W{_layers(case)}", f"b{_layers(case)}"]),
        ),
        Mistake(
            "update-first-layer-skipped",
            "the first layer was not updated: with the keys str(l + 1), the loop is range(L), from 0",
            _unchanged(lambda case: ["W1", "b1"]),
        ),
        Mistake(
            "update-b-skipped",
            "the biases b were not updated: both W[l] and b[l] take a step",
            _unchanged(lambda case: [f"b{layer}" for layer in range(1, _layers(case) + 1)]),
        ),
    ),
)

EXERCISES = (
    SIGMOID,
    TANH_BACKWARD,
    LINEAR_FORWARD,
    COMPUTE_COST,
    LINEAR_BACKWARD,
    RELU_BACKWARD,
    SIGMOID_BACKWARD,
    UPDATE_PARAMETERS,
)
