"""Course 2, week 1's graded functions (improving deep networks): He initialisation, L2
regularisation, dropout and gradient checking.

Outputs that are random (a W, a mask) are judged in distribution: shape, and a spread within five
standard errors of the right one (see checker.Normal, checker.Mask).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from microgrid.creation import tensor
from microgrid.exercises.checker import (
    Case,
    Exercise,
    Mask,
    Mistake,
    Near,
    Nodes,
    Normal,
    Outputs,
    Uniform,
    keyed,
    mistake,
    one,
    several,
)
from microgrid.exercises.course1 import gradient, leaf, seeded
from microgrid.functional import relu, sigmoid
from microgrid.nn.init import fans
from microgrid.nn.losses import binary_cross_entropy
from microgrid.tensor import Tensor

# --- initialize_parameters_he -------------------------------------------------------------------------------


def _dims(case: Case) -> list[int]:
    return list(case.args[0])


def _init_keys(case: Case) -> list[str]:
    return [f"{p}{layer}" for layer in range(1, len(_dims(case))) for p in "Wb"]


def init_expected(
    case: Case, std: Callable[[int, int], float] = lambda n, n_prev: float(np.sqrt(2 / n_prev))
) -> Outputs:
    """W[l] drawn with std(n[l], n[l−1]), b[l] zeros: He's std is √(2/n_in), as mg.nn.init.he_normal's."""
    dims = _dims(case)
    outputs: Outputs = {}
    for layer in range(1, len(dims)):
        n, n_prev = dims[layer], dims[layer - 1]
        outputs[f"W{layer}"] = Normal((n, n_prev), std(n, n_prev))
        outputs[f"b{layer}"] = Normal((n, 1), 0.0)
    return outputs


def _he_oracle(case: Case, got: Outputs | None) -> Outputs:
    return init_expected(case, lambda n, n_prev: float(np.sqrt(2 / fans((n, n_prev))[0])))


def _init_variant(std: Callable[[int, int], float]) -> Callable[[Case, Outputs], Outputs]:
    return lambda case, want: {**want, **{k: v for k, v in init_expected(case, std).items() if k[0] == "W"}}


def _each_layer(change: Callable[[Normal], Normal], prefix: str) -> Callable[[Case, Outputs], Outputs]:
    """The expected outputs with every W (or every b) changed by `change`."""
    return lambda case, want: {k: change(v) if k[0] == prefix else v for k, v in want.items()}


INITIALIZE_PARAMETERS_HE = Exercise(
    name="initialize_parameters_he",
    lesson="course 2, week 1: initialisation",
    signature="initialize_parameters_he(layers_dims) -> parameters",
    doc="W[l] = np.random.randn(n[l], n[l−1]) ∗ √(2/n[l−1]) and b[l] = zeros (n[l], 1), for l = 1 … L = "
    "len(layers_dims) − 1; keys 'W1', 'b1', …",
    params=("layers_dims",),
    cases=lambda: [
        Case("course values", ([2, 4, 1],), seed=3),
        Case("large layers", ([400, 100, 50, 40],), seed=3),
        Case("one wide layer", ([1000, 3],), seed=3),
    ],
    oracle=_he_oracle,
    read=keyed(_init_keys, "parameters"),
    mistakes=(
        Mistake(
            "he-xavier",
            "W is drawn with std √(1/n[l−1]) (Xavier's): He's is √(2/n[l−1]), for ReLU layers",
            _init_variant(lambda n, n_prev: float(np.sqrt(1 / n_prev))),
        ),
        Mistake(
            "he-fan-out",
            "W is scaled with its own layer's size, √(2/n[l]): He uses the previous layer's, √(2/n[l−1])",
            _init_variant(lambda n, n_prev: float(np.sqrt(2 / n))),
        ),
        Mistake(
            "he-0.01",
            "W is randn ∗ 0.01, the small initialisation: He's scale is √(2/n[l−1])",
            _init_variant(lambda n, n_prev: 0.01),
        ),
        Mistake(
            "he-no-sqrt",
            "W is scaled by 2/n[l−1]: the square root is missing, √(2/n[l−1])",
            _init_variant(lambda n, n_prev: 2 / n_prev),
        ),
        Mistake(
            "he-transposed",
            "W has shape (n[l−1], n[l]): W[l] is (n[l], n[l−1]), so that W·A works",
            _each_layer(lambda w: Normal(w.shape[::-1], w.std), "W"),
        ),
        Mistake(
            "he-b-no-column",
            "b has shape (n[l],): np.zeros((n[l], 1)) makes the column",
            _each_layer(lambda b: Normal(b.shape[:1], 0.0), "b"),
        ),
        Mistake(
            "he-b-random",
            "b is random: biases start at zero (the random W already breaks the symmetry)",
            _each_layer(lambda b: Normal(b.shape, 1.0), "b"),
        ),
    ),
    labels={f"{p}{layer}": f"{p}[{layer}]" for layer in range(1, 10) for p in "Wb"},
)


# --- compute_cost_with_regularization -----------------------------------------------------------------------


def regularization_cases() -> list[Case]:
    rng = seeded(6)
    cases = []
    for name, dims, m, lambd in (
        ("course values", (3, 2, 3, 1), 5, 0.1),
        ("m = 1", (4, 3, 2, 1), 1, 1.0),
        ("m = 40, λ = 0.7", (5, 4, 3, 1), 40, 0.7),
    ):
        parameters = {}
        for layer in range(1, 4):
            parameters[f"W{layer}"], parameters[f"b{layer}"] = (
                rng.randn(dims[layer], dims[layer - 1]),
                rng.randn(dims[layer], 1),
            )
        A3 = 1 / (1 + np.exp(-rng.randn(1, m)))
        Y = (rng.rand(1, m) > 0.5).astype(float)
        cases.append(Case(name, (A3, Y, parameters, lambd)))
    return cases


def regularization_graph(case: Case) -> tuple[Tensor, Nodes]:
    """J = cross-entropy + L2, L2 = λ/(2m) · Σ_l ‖W[l]‖², every W[l] a parameter of the graph."""
    A3, Y, parameters, lambd = case.args
    cross_entropy = binary_cross_entropy(leaf(A3, "A[3]"), tensor(Y, name="Y"))
    cross_entropy.name = "cross_entropy"
    squares = [(leaf(parameters[f"W{layer}"], f"W[{layer}]") ** 2).sum() for layer in range(1, 4)]
    L2 = (squares[0] + squares[1] + squares[2]) * (lambd / (2 * Y.shape[1]))
    L2.name = "L2"
    J = cross_entropy + L2
    J.name = "J"
    J.backward()
    return J, {"cost": J, "L2": L2}


def _with_penalty(
    term: Callable[[np.ndarray, np.ndarray], float], scale: Callable[[float, int], float]
) -> Any:
    """The cost of a solution whose L2 term is scale(λ, m) · Σ_l term(W[l], b[l])."""

    def value(case: Case, want: Outputs) -> np.ndarray:
        _, Y, parameters, lambd = case.args
        nodes = regularization_graph(case)[1]
        cross_entropy = nodes["cost"].data - nodes["L2"].data
        total = sum(term(parameters[f"W{layer}"], parameters[f"b{layer}"]) for layer in range(1, 4))
        return np.asarray(cross_entropy + scale(lambd, Y.shape[1]) * total)

    return value


def _squares(W: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(np.square(W)))


def _half_mean(lambd: float, m: int) -> float:
    return lambd / (2 * m)


def _penalty_mistake(key: str, says: str, term: Any = _squares, scale: Any = _half_mean) -> Mistake:
    return mistake(key, "cost", says, _with_penalty(term, scale), node="L2")


COMPUTE_COST_WITH_REGULARIZATION = Exercise(
    name="compute_cost_with_regularization",
    lesson="course 2, week 1: regularisation",
    signature="compute_cost_with_regularization(A3, Y, parameters, lambd) -> cost",
    doc="cost = cross-entropy + λ/(2m) · (Σ W1² + Σ W2² + Σ W3²), one number: the course's three-layer "
    "network, the cross-entropy as compute_cost(A3, Y); the biases are not penalised.",
    params=("A3", "Y", "parameters", "lambd"),
    cases=regularization_cases,
    oracle=lambda case, got: {"cost": regularization_graph(case)[0].data},
    read=one("cost"),
    mistakes=(
        _penalty_mistake(
            "l2-no-half",
            "the L2 term is λ/m · Σ‖W‖²: the course's is λ/(2m) (the 1/2 cancels "
            "the 2 of the derivative, so dW gains (λ/m)·W)",
            scale=lambda lambd, m: lambd / m,
        ),
        _penalty_mistake(
            "l2-no-1/m",
            "the L2 term is λ/2 · Σ‖W‖²: divide by the number of examples too, λ/(2m)",
            scale=lambda lambd, m: lambd / 2,
        ),
        _penalty_mistake(
            "l2-with-b",
            "the L2 term includes the biases: only the weights W are penalised",
            term=lambda W, b: float(np.sum(np.square(W)) + np.sum(np.square(b))),
        ),
        _penalty_mistake(
            "l2-norm-not-squared",
            "the L2 term adds ‖W‖ (np.linalg.norm) where the squares Σ W² belong (np.sum(np.square(W)))",
            term=lambda W, b: float(np.linalg.norm(W)),
        ),
        _penalty_mistake(
            "l2-square-of-sum",
            "the L2 term squares the sum, (Σ W)²: it is the sum of the squares, np.sum(np.square(W))",
            term=lambda W, b: float(np.sum(W)) ** 2,
        ),
        _penalty_mistake(
            "l2-missing",
            "the cost has no L2 term: add λ/(2m) · Σ‖W‖² to the cross-entropy",
            scale=lambda lambd, m: 0.0,
        ),
    ),
    graph=regularization_graph,
    labels={"cost": "J"},
)


# --- dropout ------------------------------------------------------------------------------------------------


def dropout_cases(backward: bool) -> list[Case]:
    """(A, keep_prob), or (dA, D, keep_prob): small course-like values, then layers with enough units
    for the share of kept units to be measured."""
    rng = seeded(7)
    cases = []
    for name, shape, keep_prob in (
        ("course values", (2, 5), 0.7),
        ("m = 1", (4, 1), 0.5),
        ("a (50, 100) layer", (50, 100), 0.8),
        ("a (30, 80) layer", (30, 80), 0.6),
    ):
        values = rng.randn(*shape)
        if backward:
            D = (rng.rand(*shape) < keep_prob).astype(int)
            cases.append(Case(name, (values, D, keep_prob)))
        else:
            cases.append(Case(name, (values, keep_prob)))
    return cases


def dropout_graph(A: np.ndarray, D: np.ndarray, keep_prob: float, dA: np.ndarray | None = None) -> Nodes:
    """A[1] → A[1] ∗ D[1] / keep_prob (inverted dropout); with dA, backward from J = Σ dA ⊙ that."""
    nodes = {"A[1]": leaf(A, "A[1]"), "D[1]": tensor(D, name="D[1]")}
    dropped = nodes["A[1]"] * nodes["D[1]"] / keep_prob
    dropped.name = "dropped"
    nodes["dropped"] = dropped
    if dA is not None:
        (tensor(dA, name="dA[1]") * dropped).sum().backward()
    return nodes


def course_mask(case: Case, shape: tuple[int, ...], keep_prob: float) -> np.ndarray:
    """The course's mask, np.random.rand(...) < keep_prob, drawn right after np.random.seed(case.seed)."""
    return np.asarray(seeded(case.seed).rand(*shape) < keep_prob)


def _student_mask(case: Case, got: Outputs | None) -> np.ndarray:
    """The mask the student drew (so that A is judged against it), else the course's."""
    A, keep_prob = case.args
    if got is not None and got["D"].shape == A.shape and np.all(np.isfinite(got["D"])):
        return np.asarray(got["D"], dtype=float)
    return course_mask(case, A.shape, keep_prob)


def dropout_forward_oracle(case: Case, got: Outputs | None) -> Outputs:
    A, keep_prob = case.args
    dropped = dropout_graph(A, _student_mask(case, got), keep_prob)["dropped"]
    return {"A": dropped.data, "D": Mask(A.shape, keep_prob)}


def _dropout_forward_graph(case: Case) -> tuple[Tensor, Nodes]:
    A, keep_prob = case.args
    nodes = dropout_graph(A, course_mask(case, A.shape, keep_prob), keep_prob)
    return nodes["dropped"], {"A": nodes["dropped"], "D": nodes["D[1]"]}


def _keep(case: Case) -> float:
    return float(case.args[-1])


def scaling_mistakes(key: str, output: str, label: str, why: str) -> tuple[Mistake, ...]:
    """The three ways to get inverted dropout's scaling wrong, forward or backward: `output` (the
    values times D / keep_prob) not rescaled, multiplied by keep_prob, or rescaled without the mask."""
    return (
        mistake(
            f"{key}-not-rescaled",
            output,
            f"{label} is not rescaled: divide by keep_prob, {why}",
            lambda case, want: want[output] * _keep(case),
        ),
        mistake(
            f"{key}-multiplied",
            output,
            f"{label} is multiplied by keep_prob: inverted dropout divides by it",
            lambda case, want: want[output] * _keep(case) ** 2,
        ),
        mistake(
            f"{key}-no-mask",
            output,
            f"{label} is only rescaled: multiply by the mask D too",
            lambda case, want: case.args[0] / _keep(case),
        ),
    )


DROPOUT_FORWARD = Exercise(
    name="dropout_forward",
    lesson="course 2, week 1: regularisation",
    signature="dropout_forward(A, keep_prob) -> (A, D)",
    doc="D = np.random.rand(A.shape[0], A.shape[1]) < keep_prob; A = A ∗ D / keep_prob (inverted dropout: "
    "the mean stays); returns the new A and the mask D, as forward_propagation_with_dropout does for A1, D1.",
    params=("A", "keep_prob"),
    cases=lambda: dropout_cases(backward=False),
    oracle=dropout_forward_oracle,
    read=several(("A", "D")),
    mistakes=(
        *scaling_mistakes("dropout", "A", "A[1]", "so the expected value of each unit stays the same"),
        mistake(
            "dropout-mask-inverted",
            "D",
            "D keeps each unit with probability 1 − keep_prob: the mask is rand < keep_prob",
            lambda case, want: Mask(case.args[0].shape, 1 - _keep(case)),
        ),
        mistake(
            "dropout-mask-not-compared",
            "D",
            "D holds the random numbers themselves: compare them, D = np.random.rand(...) < keep_prob",
            lambda case, want: Uniform(case.args[0].shape),
        ),
    ),
    graph=_dropout_forward_graph,
    labels={"A": "A[1] (dropped)", "D": "D[1]"},
)


def dropout_backward_graph(case: Case) -> tuple[Tensor, Nodes]:
    dA, D, keep_prob = case.args
    nodes = dropout_graph(seeded(case.seed).randn(*dA.shape), D, keep_prob, dA)
    return nodes["dropped"], {"dA": nodes["A[1]"]}


def _fresh_mask(case: Case, want: Outputs) -> np.ndarray:
    dA, _, keep_prob = case.args
    return np.asarray(dA * course_mask(case, dA.shape, keep_prob) / keep_prob)


DROPOUT_BACKWARD = Exercise(
    name="dropout_backward",
    lesson="course 2, week 1: regularisation",
    signature="dropout_backward(dA, D, keep_prob) -> dA",
    doc="dA = dA ∗ D / keep_prob: the same mask D as forward, and the same scaling; the course's "
    "dA1 = dA1 ∗ D1 / keep_prob in backward_propagation_with_dropout.",
    params=("dA", "D", "keep_prob"),
    cases=lambda: dropout_cases(backward=True),
    oracle=lambda case, got: {"dA": gradient(dropout_backward_graph(case)[1]["dA"])},
    read=one("dA"),
    mistakes=(
        *scaling_mistakes("dropout-backward", "dA", "dA[1]", "as forward did"),
        mistake(
            "dropout-backward-new-mask",
            "dA",
            "dA[1] uses a new random mask: reuse the forward pass's D "
            "(the units dropped forward get no gradient)",
            _fresh_mask,
        ),
        mistake(
            "dropout-backward-mask-inverted",
            "dA",
            "dA[1] uses 1 − D: the units kept forward (D = 1) are the ones that pass the gradient",
            lambda case, want: case.args[0] * (1 - case.args[1]) / _keep(case),
        ),
    ),
    graph=dropout_backward_graph,
    labels={"dA": "dA[1]"},
)


# --- gradient_check -----------------------------------------------------------------------------------------


class Cost:
    """J(θ): a small network's cost with all its parameters rolled into one column θ, as the course's
    forward_propagation_n(X, Y, vector_to_dictionary(θ)). Called with numpy, it returns a float."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, dims: tuple[int, ...]) -> None:
        self.X, self.Y, self.dims = X, Y, dims
        self.__name__ = "J"

    def size(self) -> int:
        return sum(n * (n_prev + 1) for n_prev, n in zip(self.dims, self.dims[1:]))

    def tensor(self, theta: Tensor) -> Tensor:
        """The cost as a graph of θ: relu layers, a sigmoid output and the cross-entropy."""
        A, start = tensor(self.X), 0
        for layer, (n_prev, n) in enumerate(zip(self.dims, self.dims[1:]), start=1):
            W = theta[start : start + n * n_prev].reshape(n, n_prev)
            b = theta[start + n * n_prev : start + n * (n_prev + 1)]
            start += n * (n_prev + 1)
            Z = W @ A + b
            A = sigmoid(Z) if layer == len(self.dims) - 1 else relu(Z)
        return binary_cross_entropy(A, tensor(self.Y))

    def __call__(self, theta: np.ndarray) -> float:
        return self.tensor(tensor(theta)).item()

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """dJ/dθ from microgrid's backward."""
        t = leaf(theta, "θ")
        self.tensor(t).backward()
        return gradient(t)


class Line:
    """J(θ) = x·θ, the course's one-dimensional warm-up."""

    def __init__(self, x: float) -> None:
        self.x = x
        self.__name__ = "J"

    def __call__(self, theta: np.ndarray) -> float:
        return float((tensor(theta) * self.x).sum().item())

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        t = leaf(theta, "θ")
        (t * self.x).sum().backward()
        return gradient(t)


def gradient_check_cases() -> list[Case]:
    rng = seeded(8)
    X, Y = rng.randn(4, 5), (rng.rand(1, 5) > 0.5).astype(float)
    network = Cost(X, Y, (4, 3, 2, 1))
    theta = rng.randn(network.size(), 1)
    exact = network.gradient(theta)
    buggy = exact.copy()
    buggy[[2, 9, 20]] *= [[2.0], [4.0], [0.5]]  # the course's bugs: one dW2 and one db1 entry off by a factor
    single = Cost(rng.randn(2, 1), np.ones((1, 1)), (2, 3, 1))
    theta_single = rng.randn(single.size(), 1)
    off = single.gradient(theta_single) + 0.1 * rng.randn(single.size(), 1)
    return [
        Case("course values: J = θ·x", (Line(2.0), np.array([[4.0]]), np.array([[2.0]]))),
        Case("a network, right gradient", (network, theta, exact)),
        Case("a network, buggy gradient", (network, theta, buggy)),
        Case("m = 1, noisy gradient", (single, theta_single, off)),
    ]


def relative(grad: np.ndarray, approx: np.ndarray) -> float:
    """‖grad − gradapprox‖ / (‖grad‖ + ‖gradapprox‖), the course's difference."""
    return float(np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx)))


def _difference(
    approx: Callable[[np.ndarray], np.ndarray], measure: Callable[[np.ndarray, np.ndarray], float] = relative
) -> Callable[[Case, Outputs], Near]:
    """The difference a solution reports whose gradapprox is approx(exact gradient)."""

    def value(case: Case, want: Outputs) -> Near:
        J, theta, grad = case.args
        return Near(measure(grad, approx(J.gradient(theta))), rtol=1e-3, atol=1e-6)

    return value


def _eps_mistake(
    key: str, says: str, approx: Callable[[np.ndarray], np.ndarray], measure: Any = relative
) -> Mistake:
    return mistake(key, "difference", says, _difference(approx, measure))


GRADIENT_CHECK = Exercise(
    name="gradient_check",
    lesson="course 2, week 1: gradient checking",
    signature="gradient_check(J, theta, grad, epsilon=1e-7) -> difference",
    doc="For each i: θ⁺ = copy of θ with θ⁺[i] += ε, θ⁻ = copy with θ⁻[i] −= ε, gradapprox[i] = "
    "(J(θ⁺) − J(θ⁻)) / (2ε); difference = ‖grad − gradapprox‖ / (‖grad‖ + ‖gradapprox‖). θ and grad are "
    "columns (n, 1) (the course's dictionary_to_vector); J(θ) returns a number.",
    params=("J", "theta", "grad"),
    cases=gradient_check_cases,
    oracle=lambda case, got: {"difference": _difference(lambda exact: exact)(case, {})},
    read=one("difference"),
    mistakes=(
        _eps_mistake(
            "gc-one-sided",
            "gradapprox is half the gradient: J(θ⁺) − J(θ) over 2ε; θ⁻[i] must move "
            "by −ε (central differences)",
            lambda g: g / 2,
        ),
        _eps_mistake(
            "gc-divided-by-eps",
            "gradapprox is twice the gradient: the central difference divides by 2ε, not ε",
            lambda g: 2 * g,
        ),
        _eps_mistake(
            "gc-eps-everywhere",
            "ε was added to every element of θ, not only θ[i]: gradapprox[i] "
            "is then the sum of all the slopes",
            lambda g: np.full_like(g, g.sum()),
        ),
        _eps_mistake(
            "gc-eps-accumulates",
            "ε was applied to the wrong elements: θ⁺ and θ⁻ were copied once, "
            "before the loop, so θ[0] … θ[i−1] stay nudged; copy θ inside the loop",
            lambda g: np.cumsum(g).reshape(g.shape),
        ),
        _eps_mistake(
            "gc-no-denominator",
            "the difference is ‖grad − gradapprox‖ alone: divide by "
            "‖grad‖ + ‖gradapprox‖ to make it relative",
            lambda g: g,
            lambda grad, approx: float(np.linalg.norm(grad - approx)),
        ),
        _eps_mistake(
            "gc-difference-of-norms",
            "the numerator is ‖grad‖ − ‖gradapprox‖: take the norm of the difference, ‖grad − gradapprox‖",
            lambda g: g,
            lambda grad, approx: float(
                (np.linalg.norm(grad) - np.linalg.norm(approx))
                / (np.linalg.norm(grad) + np.linalg.norm(approx))
            ),
        ),
    ),
)

EXERCISES = (
    INITIALIZE_PARAMETERS_HE,
    COMPUTE_COST_WITH_REGULARIZATION,
    DROPOUT_FORWARD,
    DROPOUT_BACKWARD,
    GRADIENT_CHECK,
)
