"""One table of ops drives every check: forward against numpy, and first- and second-order
gradients against central differences, over hypothesis-generated broadcastable shapes."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import broadcastable_shapes, shapes, values

import microgrid as mg
from microgrid.ops import MatMul


def np_logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def np_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@dataclass
class Case:
    """An op under test: how microgrid computes it, how numpy does, and where its inputs live."""

    name: str
    microgrid: Callable[..., mg.Tensor]
    numpy: Callable[..., np.ndarray]
    arity: int = 1
    domains: tuple[str, ...] = ("any",)
    # Draws op parameters (axis, keepdims...) given the input shapes; None means no parameters.
    params: Callable[[st.DataObject, list[tuple[int, ...]]], dict[str, Any]] | None = None
    # Draws the input shapes; by default `arity` broadcastable shapes.
    input_shapes: Callable[[st.DataObject], list[tuple[int, ...]]] | None = None


def axis_params(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(input_shapes[0])
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)) if ndim else st.none())
    return {"axis": axis, "keepdims": data.draw(st.booleans())}


def one_axis(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    return {"axis": data.draw(st.integers(0, len(input_shapes[0]) - 1))}


def at_least_1d(data: st.DataObject) -> list[tuple[int, ...]]:
    return [data.draw(shapes(min_dims=1))]


def matmul_shapes(data: st.DataObject) -> list[tuple[int, ...]]:
    """(…, n, k) @ (…, k, m), with either side possibly 1-D and batch axes that broadcast."""
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    batch_a, batch_b = data.draw(broadcastable_shapes(2).filter(lambda s: len(s[0]) + len(s[1]) <= 2))
    a = data.draw(st.sampled_from([(k,), (*batch_a, n, k)]))
    b = data.draw(st.sampled_from([(k,), (*batch_b, k, m)]))
    return [a, b]


def transposed_matmul_shapes(
    transpose_a: bool, transpose_b: bool
) -> Callable[[st.DataObject], list[tuple[int, ...]]]:
    """Shapes for op(a) @ op(b) where op transposes the last two axes of the flagged operands."""

    def draw(data: st.DataObject) -> list[tuple[int, ...]]:
        n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
        batch = data.draw(st.sampled_from([(), (2,)]))
        a = (*batch, k, n) if transpose_a else (*batch, n, k)
        b = (*batch, m, k) if transpose_b else (*batch, k, m)
        return [a, b]

    return draw


def same_shapes(count: int) -> Callable[[st.DataObject], list[tuple[int, ...]]]:
    def draw(data: st.DataObject) -> list[tuple[int, ...]]:
        shape = data.draw(shapes(min_dims=1))
        return [shape] * count

    return draw


def index_params(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    """A slice, plain integers, an integer array with repeated entries, or a boolean mask."""
    shape = input_shapes[0]
    kind = data.draw(st.sampled_from(["slice", "int", "ints", "mask"]))
    if kind == "slice":
        return {"index": (slice(data.draw(st.integers(0, shape[0] - 1)), None), ...)}
    if kind == "int":  # a plain integer, possibly negative, on each of the first axes
        return {
            "index": tuple(
                data.draw(st.integers(-n, n - 1)) for n in shape[: data.draw(st.integers(1, len(shape)))]
            )
        }
    if kind == "ints":
        picks = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=4))
        return {"index": np.array(picks)}
    mask = data.draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0]))
    return {"index": np.array(mask)}


def broadcast_params(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    shape = input_shapes[0]
    grown = [data.draw(st.integers(1, 3)) if n == 1 else n for n in shape]
    return {"shape": (data.draw(st.integers(1, 2)), *grown)}


def reshape_params(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    size = int(np.prod(input_shapes[0]))
    return {"shape": data.draw(st.sampled_from([(size,), (1, size), (size, 1), (-1,)]))}


def permutation(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    """A permutation of the axes, each written as a positive or a negative index."""
    ndim = len(input_shapes[0])
    axes = data.draw(st.permutations(range(ndim)))
    return {"axes": tuple(a - ndim if data.draw(st.booleans()) else a for a in axes)}


def two_axes(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(input_shapes[0])
    return {
        "axis1": data.draw(st.integers(-ndim, ndim - 1)),
        "axis2": data.draw(st.integers(-ndim, ndim - 1)),
    }


CASES = [
    Case("add", lambda a, b: a + b, np.add, 2),
    Case("sub", lambda a, b: a - b, np.subtract, 2),
    Case("rsub number", lambda a: 1 - a, lambda a: 1 - a),
    Case("mul", lambda a, b: a * b, np.multiply, 2),
    Case("div", lambda a, b: a / b, np.divide, 2, ("any", "nonzero")),
    Case("rdiv number", lambda a: 2 / a, lambda a: 2 / a, 1, ("nonzero",)),
    Case("neg", lambda a: -a, np.negative),
    Case("pow tensor", lambda a, b: a**b, np.power, 2, ("base", "nonzero")),
    Case("pow number", lambda a: a**3, lambda a: a**3),
    Case("rpow number", lambda a: 2**a, lambda a: 2**a),
    Case("matmul", lambda a, b: a @ b, np.matmul, 2, input_shapes=matmul_shapes),
    Case(
        "matmul aᵀ @ b",
        lambda a, b: MatMul.apply(a, b, transpose_a=True),
        lambda a, b: a.mT @ b,
        2,
        input_shapes=transposed_matmul_shapes(True, False),
    ),
    Case(
        "matmul a @ bᵀ",
        lambda a, b: MatMul.apply(a, b, transpose_b=True),
        lambda a, b: a @ b.mT,
        2,
        input_shapes=transposed_matmul_shapes(False, True),
    ),
    Case(
        "matmul aᵀ @ bᵀ",
        lambda a, b: MatMul.apply(a, b, transpose_a=True, transpose_b=True),
        lambda a, b: a.mT @ b.mT,
        2,
        input_shapes=transposed_matmul_shapes(True, True),
    ),
    Case("exp", mg.exp, np.exp),
    Case("log", mg.log, np.log, 1, ("positive",)),
    Case("sqrt", mg.sqrt, np.sqrt, 1, ("positive",)),
    Case("abs", mg.abs, np.abs, 1, ("nonzero",)),
    Case("sigmoid", mg.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    Case("tanh", mg.tanh, np.tanh),
    Case("relu", mg.relu, lambda a: np.maximum(a, 0), 1, ("nonzero",)),
    Case(
        "leaky_relu", lambda a: mg.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a), 1, ("nonzero",)
    ),
    Case("softplus", mg.softplus, lambda a: np.log1p(np.exp(a))),
    Case("sum", mg.sum, np.sum, params=axis_params),
    Case("mean", mg.mean, np.mean, params=axis_params),
    Case("max", mg.max, np.max, params=axis_params),
    Case("min", mg.min, np.min, params=axis_params),
    Case("logsumexp", mg.logsumexp, np_logsumexp, params=axis_params),
    Case(
        "log_softmax",
        mg.log_softmax,
        lambda a, axis: np.log(np_softmax(a, axis)),
        params=one_axis,
        input_shapes=at_least_1d,
    ),
    Case("softmax", mg.softmax, np_softmax, params=one_axis, input_shapes=at_least_1d),
    Case("reshape", lambda a, shape: a.reshape(shape), np.reshape, params=reshape_params),
    Case("transpose", lambda a, axes: a.transpose(*axes), np.transpose, params=permutation),
    Case(".T", lambda a: a.T, lambda a: a.T),
    Case("swapaxes", mg.swapaxes, np.swapaxes, params=two_axes, input_shapes=at_least_1d),
    Case("broadcast_to", mg.broadcast_to, np.broadcast_to, params=broadcast_params),
    Case("getitem", mg.getitem, lambda a, index: a[index], params=index_params, input_shapes=at_least_1d),
    Case(
        "concatenate",
        lambda a, b, axis: mg.concatenate([a, b], axis),
        lambda a, b, axis: np.concatenate([a, b], axis),
        2,
        params=one_axis,
        input_shapes=same_shapes(2),
    ),
    Case(
        "stack",
        lambda a, b, axis: mg.stack([a, b], axis),
        lambda a, b, axis: np.stack([a, b], axis),
        2,
        params=one_axis,
        input_shapes=same_shapes(2),
    ),
    Case("maximum", mg.maximum, np.maximum, 2),
    Case("minimum", mg.minimum, np.minimum, 2),
    Case("clip", lambda a: mg.clip(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7)),
    Case("where", lambda a, b: mg.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), 2),
    Case(
        "where, broadcast condition",
        lambda a, b, c: mg.where(c > 0, a, b),
        lambda a, b, c: np.where(c > 0, a, b),
        3,
    ),
]


def draw_inputs(case: Case, data: st.DataObject) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Input arrays and op parameters for one example of `case`."""
    input_shapes = (
        case.input_shapes(data) if case.input_shapes else list(data.draw(broadcastable_shapes(case.arity)))
    )
    params = case.params(data, input_shapes) if case.params else {}
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    domains = case.domains * case.arity if len(case.domains) == 1 else case.domains
    arrays = [values(rng, shape, domain) for shape, domain in zip(input_shapes, domains)]
    return arrays, params


def leaves(arrays: list[np.ndarray]) -> list[mg.Tensor]:
    return [mg.tensor(a, requires_grad=True, name=f"x{i}") for i, a in enumerate(arrays)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_forward_matches_numpy(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    out = case.microgrid(*leaves(arrays), **params)
    expected = case.numpy(*arrays, **params)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_float32_forward_matches_numpy_and_stays_float32(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    arrays = [a.astype(np.float32) for a in arrays]
    out = case.microgrid(*[mg.tensor(a, requires_grad=True) for a in arrays], **params)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, case.numpy(*arrays, **params), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_gradient_matches_central_differences(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    # Threshold 1e-6, not the course's 2e-7, and step 1e-6, not 1e-7: where terms of opposite
    # sign nearly cancel (Σ v·b·a^(b−1) for a scalar base), round-off in f(x ± ε), which grows
    # as 1/ε, reached 1.03e-6 with ε = 1e-7 and 2.6e-7 with ε = 1e-6. A wrong rule is off by 1e-2.
    report = mg.gradcheck(lambda *xs: case.microgrid(*xs, **params), leaves(arrays), eps=1e-6, threshold=1e-6)
    assert report, str(report)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_second_derivative_matches_central_differences(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    # Ops linear in their input have a zero second derivative; the check covers that too.
    report = mg.gradgradcheck(lambda *xs: case.microgrid(*xs, **params), leaves(arrays), threshold=1e-6)
    assert report, str(report)


def test_gradients_keep_their_tensors_shapes_under_broadcasting() -> None:
    Z = mg.randn(4, 400, requires_grad=True, name="Z")
    b = mg.zeros(4, 1, requires_grad=True, name="b")
    (Z + b).sum().backward()
    assert b.grad is not None and b.grad.shape == (4, 1)
    np.testing.assert_array_equal(b.grad.data, np.full((4, 1), 400.0))


def test_reductions_describe_themselves_as_diagrams_label_them() -> None:
    x = mg.ones(4, 400, requires_grad=True)
    assert x.sum(axis=(1,), keepdims=True).op.describe() == "sum axis=1 keepdims"
    assert x.sum(axis=(0, 1)).op.describe() == "sum axis=(0, 1)"
    assert x.max().op.describe() == "max"


def test_getitem_repeated_indices_accumulate() -> None:
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_boolean_mask_from_a_comparison_selects_and_scatters_back() -> None:
    x = mg.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    positive = x[x > 0]
    np.testing.assert_array_equal(positive.data, [2.0, 4.0])
    (positive * positive).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 4.0, 0.0, 8.0])


def test_max_shares_the_gradient_between_ties() -> None:
    x = mg.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5])


def test_comparisons_give_bool_tensors_without_gradient() -> None:
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2):
        assert result.dtype == np.bool_
        assert not result.requires_grad
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])
    assert (x == 2).data.tolist() == [False, True, False]


def test_numbers_and_arrays_work_on_either_side() -> None:
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    arr = np.array([[2.0], [4.0]])
    for out, expected in (
        (2 * x, [[2.0, 4.0]]),
        (1 - x, [[0.0, -1.0]]),
        (x / arr, [[0.5, 1.0], [0.25, 0.5]]),
        (arr * x, [[2.0, 4.0], [4.0, 8.0]]),
        (arr - x, [[1.0, 0.0], [3.0, 2.0]]),
        (x + arr, [[3.0, 4.0], [5.0, 6.0]]),
        (arr + x, [[3.0, 4.0], [5.0, 6.0]]),
        (x * 0.5, [[0.5, 1.0]]),
        (x @ arr, [[10.0]]),
        (arr @ x, [[2.0, 4.0], [4.0, 8.0]]),
        ([[1.0], [0.0]] @ x, [[1.0, 2.0], [0.0, 0.0]]),
        (-x, [[-1.0, -2.0]]),
    ):
        assert isinstance(out, mg.Tensor)
        np.testing.assert_allclose(out.data, expected)
    (arr @ x).sum().backward()  # d/dx Σ arr x = the column sums of arr, once per column of x
    np.testing.assert_allclose(x.grad.data, [[6.0, 6.0]])


def test_float32_stays_float32_through_ops_and_gradients() -> None:
    x = mg.randn(3, 2, requires_grad=True, dtype="float32")
    W = mg.randn(4, 3, requires_grad=True, dtype=mg.float32)
    out = (W @ x * 2.0 + 1).tanh().sum()
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32


def test_mixed_precision_gradient_comes_back_in_each_inputs_dtype() -> None:
    x32 = mg.tensor([1.0, 2.0], requires_grad=True, dtype="float32")
    x64 = mg.tensor([3.0, 4.0], requires_grad=True)
    out = (x32 * x64).sum()
    assert out.dtype == np.float64
    out.backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad.data, [3.0, 4.0])


def test_astype_converts_and_its_gradient_comes_back() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.astype("float32")
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


STABLE = [
    ("sigmoid", mg.sigmoid),
    ("tanh", mg.tanh),
    ("softplus", mg.softplus),
    ("logsumexp", lambda z: mg.logsumexp(z, axis=0)),
    ("log_softmax", lambda z: mg.log_softmax(z, axis=0)),
]


@pytest.mark.parametrize("name,fn", STABLE, ids=[name for name, _ in STABLE])
def test_stable_at_large_inputs_values_and_gradients_finite_without_warnings(name: str, fn: Callable) -> None:
    z = mg.tensor([[1e4, -1e4], [-1e4, 1e4], [0.0, 5.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy overflow warning fails the test
        out = fn(z)
        (out * np.arange(1.0, out.size + 1).reshape(out.shape)).sum().backward()
    assert np.all(np.isfinite(out.data)), out
    assert np.all(np.isfinite(z.grad.data)), z.grad


def test_stable_functions_have_the_right_limits() -> None:
    z = mg.tensor([1e4, -1e4])
    np.testing.assert_array_equal(mg.sigmoid(z).data, [1.0, 0.0])
    np.testing.assert_array_equal(mg.softplus(z).data, [1e4, 0.0])
    np.testing.assert_allclose(mg.logsumexp(mg.tensor([1e4, 1e4])).item(), 1e4 + np.log(2))


# --- zero-size tensors: the op table's shapes are never empty, so a few ops are checked here ---

ZERO_SIZE_CASES: dict[str, tuple[Callable[[mg.Tensor], mg.Tensor], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (lambda x: x.tanh(), np.tanh),
    "sum over the empty axis": (lambda x: x.sum(axis=0), lambda a: a.sum(axis=0)),
    "mean over the full axis": (lambda x: x.mean(axis=1), lambda a: a.mean(axis=1)),
    "broadcast add": (lambda x: x + mg.ones(1, 3), lambda a: a + np.ones((1, 3))),
    "matmul with inner size 0": (lambda x: mg.ones(2, 0) @ x, lambda a: np.ones((2, 0)) @ a),
    "slice": (lambda x: x[:, 1:], lambda a: a[:, 1:]),
    "concatenate": (lambda x: mg.concatenate([x, x]), lambda a: np.concatenate([a, a])),
    "logsumexp over the full axis": (lambda x: x.logsumexp(axis=1), lambda a: np.log(np.exp(a).sum(axis=1))),
}


@pytest.mark.parametrize("name", ZERO_SIZE_CASES)
def test_zero_size_tensors_go_forward_and_backward_like_numpy(name: str) -> None:
    microgrid_fn, numpy_fn = ZERO_SIZE_CASES[name]
    x = mg.randn(0, 3, requires_grad=True)
    out = microgrid_fn(x)
    np.testing.assert_array_equal(out.data, numpy_fn(x.data))  # shape and (no) values as numpy's
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == (0, 3)


def test_max_over_an_empty_axis_is_refused_with_the_op_and_shape() -> None:
    x = mg.randn(0, 3, requires_grad=True, name="x")
    with pytest.raises(mg.ShapeError, match=r"^max axis=0: x \(0, 3\): zero-size array"):
        x.max(axis=0)


# --- masks and conditions are recorded ops --------------------------------------------------------


def _backward_ops(f: Callable[[mg.Tensor], mg.Tensor], x: mg.Tensor) -> set[str]:
    """The names of the ops in f's forward graph and in its backward graph (create_graph=True)."""
    y = f(x)
    (dx,) = mg.grad(y, [x], create_graph=True)
    assert dx is not None
    return {t.op.name for t in mg.autograd.graph([y, dx]) if t.op is not None}


@pytest.mark.parametrize(
    ("name", "f", "made_by"),
    [
        ("relu", lambda x: mg.relu(x).sum(), "greater"),
        ("maximum", lambda x: mg.maximum(x, x * x).sum(), "greater_equal"),
        ("minimum", lambda x: mg.minimum(x, x * x).sum(), "less_equal"),
        ("clip", lambda x: mg.clip(x, -0.5, 0.5).sum(), "less_equal"),
        ("leaky_relu", lambda x: mg.leaky_relu(x, 0.1).sum(), "greater"),
        ("where", lambda x: mg.where(x > 0, x * x, x).sum(), "greater"),
        ("max with ties", lambda x: mg.max(mg.concatenate([x, x])), "equal"),
        ("abs", lambda x: mg.abs(x).sum(), "sign"),
        ("pow", lambda x: ((x * x) ** x).sum(), "equal"),
        ("logsumexp", lambda x: mg.logsumexp(x), "shift"),
        ("softmax", lambda x: mg.softmax(x)[0], "shift"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_mask_and_condition_is_made_by_a_recorded_op(name: str, f: Callable, made_by: str) -> None:
    x = mg.tensor([0.7, -1.2, 0.3], requires_grad=True, name="x")
    assert made_by in _backward_ops(f, x), f"{name}: no {made_by} op made its mask"
    assert mg.gradgradcheck(f, [x]), f"{name}: second derivative"


# --- sum_to: where the engine undoes broadcasting --------------------------------------------------


def test_sum_to_undoes_broadcasting() -> None:
    g = mg.ones(2, 4, 3)
    assert mg.sum_to(g, (4, 1)).shape == (4, 1)
    np.testing.assert_array_equal(mg.sum_to(g, (4, 1)).data, np.full((4, 1), 6.0))
    assert mg.sum_to(g, ()).item() == 24.0


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 2, 4, 3)])
def test_sum_to_refuses_a_shape_that_could_not_have_been_broadcast(shape: tuple[int, ...]) -> None:
    with pytest.raises(mg.GradError, match=r"sum_to: gradient of shape \(2, 4, 3\) cannot be summed"):
        mg.sum_to(mg.ones(2, 4, 3), shape)
