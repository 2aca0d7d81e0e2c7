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
from microgrid.function import Op
from microgrid.ops import MatMul, SoftmaxCrossEntropy

# Generated shapes may put a row against a column on purpose: the op table checks values, and
# the BroadcastWarning that gives has its own test (test_function.py).
pytestmark = pytest.mark.filterwarnings("ignore::microgrid.BroadcastWarning")


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
    # False for an op with no gradient (sign, argmax): only its forward is checked.
    differentiable: bool = True


def axis_params(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(input_shapes[0])
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)) if ndim else st.none())
    return {"axis": axis, "keepdims": data.draw(st.booleans())}


def one_axis(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    return {"axis": data.draw(st.integers(0, len(input_shapes[0]) - 1))}


def at_least_1d(data: st.DataObject) -> list[tuple[int, ...]]:
    return [data.draw(shapes(min_dims=1))]


def at_least_two_per_axis(data: st.DataObject) -> list[tuple[int, ...]]:
    """Shapes whose every slice has two elements or more: std's slope is infinite where it is 0."""
    return [data.draw(shapes(min_dims=1, min_side=2))]


def variance_params(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    """axis and keepdims, and ddof 0 or 1 (1 only where a slice has more than one element)."""
    params = axis_params(data, input_shapes)
    shape = input_shapes[0]
    n = int(np.prod(shape)) if params["axis"] is None else shape[params["axis"]]
    params["ddof"] = data.draw(st.sampled_from([0, 1])) if n > 1 else 0
    return params


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


def logits_and_labels(data: st.DataObject) -> list[tuple[int, ...]]:
    """(classes, m) twice: softmax_cross_entropy's logits and labels (any values: its formula,
    mean(logsumexp(z) − Σ z·y), and rules hold for any y; the loss adds the columns summing to 1)."""
    shape = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    return [shape, shape]


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


def size_one_axes(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    """None, or size-1 axes: one (as a positive or a negative index) or a tuple of some."""
    shape = input_shapes[0]
    ones = [a for a, n in enumerate(shape) if n == 1]
    picked = data.draw(st.lists(st.sampled_from(ones), unique=True)) if ones else []
    one = [picked[0], picked[0] - len(shape)] if picked else []
    return {"axis": data.draw(st.sampled_from([None, tuple(picked), *one]))}


def new_axis(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(input_shapes[0])
    return {"axis": data.draw(st.integers(-ndim - 1, ndim))}


def axis_range(data: st.DataObject, input_shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    """start_axis ≤ end_axis, each as a positive or a negative index (none for a 0-d input)."""
    ndim = len(input_shapes[0])
    if ndim == 0:
        return {}
    start = data.draw(st.integers(0, ndim - 1))
    end = data.draw(st.integers(start, ndim - 1))
    return {
        "start_axis": start - ndim if data.draw(st.booleans()) else start,
        "end_axis": end - ndim if data.draw(st.booleans()) else end,
    }


def np_flatten(a: np.ndarray, start_axis: int = 0, end_axis: int = -1) -> np.ndarray:
    shape = a.shape or (1,)
    start, end = start_axis % len(shape), end_axis % len(shape)
    return a.reshape(*shape[:start], -1, *shape[end + 1 :])


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
    Case("log1p", mg.log1p, np.log1p, 1, ("above -1",)),
    Case("expm1", lambda a: a.expm1(), np.expm1),
    Case("sin", mg.sin, np.sin),
    Case("cos", lambda a: a.cos(), np.cos),
    Case("square", lambda a: a.square(), np.square),
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
    Case("var", mg.var, np.var, params=variance_params),
    Case(
        "std", lambda a, **p: a.std(**p), np.std, params=variance_params, input_shapes=at_least_two_per_axis
    ),
    Case("prod", mg.prod, np.prod, params=axis_params),
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
    Case("squeeze", lambda a, axis: a.squeeze(axis), np.squeeze, params=size_one_axes),
    Case("unsqueeze", mg.unsqueeze, np.expand_dims, params=new_axis),
    Case("flatten", lambda a, **p: a.flatten(**p), np_flatten, params=axis_range),
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
    Case(
        "softmax_cross_entropy",
        SoftmaxCrossEntropy.apply,
        lambda z, y: np.mean(np_logsumexp(z, axis=0) - np.sum(z * y, axis=0)),
        2,
        input_shapes=logits_and_labels,
    ),
    Case("sign", lambda a: a.sign(), np.sign, differentiable=False),
    Case("argmax", mg.argmax, np.argmax, params=axis_params, differentiable=False),
    Case("argmin", lambda a, **p: a.argmin(**p), np.argmin, params=axis_params, differentiable=False),
]
DIFFERENTIABLE = [case for case in CASES if case.differentiable]


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


def result(out: mg.Tensor | np.ndarray) -> np.ndarray:
    """An op's output as an array: a tensor's data, or argmax's integer array as it is."""
    return out.data if isinstance(out, mg.Tensor) else out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_forward_matches_numpy(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    out = result(case.microgrid(*leaves(arrays), **params))
    expected = case.numpy(*arrays, **params)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_float32_forward_matches_numpy_and_stays_float32(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    arrays = [a.astype(np.float32) for a in arrays]
    out = result(case.microgrid(*[mg.tensor(a, requires_grad=True) for a in arrays], **params))
    expected = np.asarray(case.numpy(*arrays, **params))
    assert out.dtype == (np.float32 if expected.dtype.kind == "f" else expected.dtype)  # argmax: integers
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=lambda c: c.name)
@given(data=st.data())
def test_gradient_matches_central_differences(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    # Threshold 1e-6, not the course's 2e-7, and step 1e-6, not 1e-7: where terms of opposite
    # sign nearly cancel (Σ v·b·a^(b−1) for a scalar base), round-off in f(x ± ε), which grows
    # as 1/ε, reached 1.03e-6 with ε = 1e-7 and 2.6e-7 with ε = 1e-6. A wrong rule is off by 1e-2.
    report = mg.gradcheck(lambda *xs: case.microgrid(*xs, **params), leaves(arrays), eps=1e-6, threshold=1e-6)
    assert report, str(report)


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=lambda c: c.name)
@given(data=st.data())
def test_second_derivative_matches_central_differences(case: Case, data: st.DataObject) -> None:
    arrays, params = draw_inputs(case, data)
    # Ops linear in their input have a zero second derivative; the check covers that too.
    report = mg.gradgradcheck(lambda *xs: case.microgrid(*xs, **params), leaves(arrays), threshold=1e-6)
    assert report, str(report)


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=lambda c: c.name)
@given(data=st.data())
def test_a_plain_backward_runs_the_rules_on_arrays_to_the_same_numbers(
    case: Case, data: st.DataObject
) -> None:
    """grad() without create_graph runs each op's vjp on numpy arrays; with create_graph, the same
    rule on Tensors, recorded. The two must agree to the last bit, and the first must record nothing."""
    arrays, params = draw_inputs(case, data)
    inputs = leaves(arrays)
    out = case.microgrid(*inputs, **params)
    weights = mg.tensor(np.random.default_rng(0).standard_normal(out.shape))
    loss = (out * weights).sum()
    on_tensors = mg.grad(loss, inputs, create_graph=True, allow_unused=True)
    applied: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for primitive in mg.ops.PRIMITIVES:  # each class has an apply of its own: watch every one
            patch.setattr(primitive, "apply", _noting(primitive, applied))
        on_arrays = mg.grad(loss, inputs, allow_unused=True)
        assert applied == []  # no op was applied: numpy alone computed the gradients
        mg.ops.Neg.apply(inputs[0])
        assert applied == ["neg"]  # (and the watch sees an op applied)
    for plain, recorded in zip(on_arrays, on_tensors):
        assert (plain is None) == (recorded is None)
        if plain is not None and recorded is not None:
            assert plain.dtype == recorded.dtype and plain.shape == recorded.shape
            np.testing.assert_array_equal(plain.data, recorded.data)


def _noting(primitive: type[Op], applied: list[str]) -> Callable[..., mg.Tensor]:
    """`primitive.apply`, noting the op's name in `applied` at each call."""
    apply = primitive.apply

    def noted(*inputs: mg.Tensor, **params: Any) -> mg.Tensor:
        applied.append(primitive.name)
        return apply(*inputs, **params)

    return noted


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


# --- prod: each element's gradient is the product of the others, zeros included ------------------


def test_prod_gradient_is_exact_with_one_and_with_two_zeros_in_a_slice() -> None:
    x = mg.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, -2.0, 3.0]], requires_grad=True, name="x")
    x.prod(axis=1).sum().backward()
    # One zero: it gets the product of the rest, the others 0. Two zeros: every product of others is 0.
    np.testing.assert_array_equal(x.grad.data, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [-6.0, 3.0, -2.0]])
    assert mg.gradcheck(lambda x: x.prod(axis=1), [x])
    assert mg.gradcheck(lambda x: x.prod(axis=0, keepdims=True), [x])
    assert mg.gradcheck(lambda x: x[0].prod(), [x])  # over every axis


def test_prod_second_derivative_is_exact_with_a_zero_in_a_slice() -> None:
    x = mg.tensor([[2.0, 0.0, 3.0], [1.5, -2.0, 0.0], [1.0, -2.0, 3.0]], requires_grad=True)
    assert mg.gradgradcheck(lambda x: x.prod(axis=1), [x])
    assert mg.gradgradcheck(lambda x: x.prod(), [mg.tensor([0.5, 0.0, -3.0], requires_grad=True)])


def test_prod_gradient_with_a_zero_stays_float32() -> None:
    x = mg.tensor([2.0, 0.0, 3.0], requires_grad=True, dtype="float32")
    x.prod().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [0.0, 6.0, 0.0])


# --- argmax and argmin: integer numpy arrays, no gradient -------------------------------------------


def test_argmax_and_argmin_give_the_first_of_tied_indices_as_integer_arrays() -> None:
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True, dtype="float32")
    for found, expected in (
        (x.argmax(axis=1), [1, 0]),
        (x.argmin(axis=-1), [0, 2]),
        (mg.argmax(x), 1),  # of all elements, flattened
        (mg.argmin(x), 5),
        (x.argmax(axis=0, keepdims=True), [[1, 0, 0]]),
        (x.argmin(keepdims=True), [[5]]),
    ):
        assert isinstance(found, np.ndarray) and found.dtype == np.intp
        np.testing.assert_array_equal(found, expected)
        assert found.shape == np.shape(expected)


def test_argmax_refuses_an_empty_axis_and_an_axis_out_of_range() -> None:
    x = mg.zeros(0, 3, name="x")
    with pytest.raises(mg.ShapeError, match=r"^argmax: x \(0, 3\): axis 0 is empty, so there is no index"):
        x.argmax(axis=-2)
    with pytest.raises(mg.ShapeError, match=r"^argmin: x \(0, 3\): it is empty, so there is no index"):
        mg.argmin(x)
    assert x.argmax(axis=1).shape == (0,)  # no slice at all along axis 0: nothing to refuse
    with pytest.raises(mg.ShapeError, match=r"^argmax: x \(0, 3\): axis 2 is out of range \(-2 to 1\)$"):
        x.argmax(axis=2)
    with pytest.raises(TypeError, match=r"^argmin: axis must be an int, got \(0, 1\)$"):
        x.argmin(axis=(0, 1))  # type: ignore[arg-type]


# --- shapes: squeeze, unsqueeze, flatten ---------------------------------------------------------


def test_squeeze_unsqueeze_and_flatten_shapes() -> None:
    x = mg.zeros(1, 3, 1, name="x")
    assert x.squeeze().shape == (3,) and x.squeeze(0).shape == (3, 1) and x.squeeze((0, -1)).shape == (3,)
    assert x.unsqueeze(0).shape == (1, 1, 3, 1) and x.unsqueeze(-1).shape == (1, 3, 1, 1)
    y = mg.zeros(2, 3, 4)
    assert y.flatten().shape == (24,) and y.flatten(1).shape == (2, 12) and y.flatten(0, 1).shape == (6, 4)
    assert mg.flatten(mg.tensor(5.0)).shape == (1,)


def test_squeeze_refuses_an_axis_whose_size_is_not_1_naming_the_tensor() -> None:
    x = mg.zeros(1, 3, 1, name="x")
    with pytest.raises(mg.ShapeError, match=r"^squeeze: x \(1, 3, 1\): axis 1 has size 3, not 1$"):
        x.squeeze(1)
    with pytest.raises(mg.ShapeError, match=r"^squeeze: x \(1, 3, 1\): axis -2 has size 3, not 1$"):
        x.squeeze((0, -2))
    with pytest.raises(mg.ShapeError, match=r"^squeeze: x \(1, 3, 1\): axis 3 is out of range \(-3 to 2\)$"):
        x.squeeze(3)
    with pytest.raises(
        mg.ShapeError, match=r"^unsqueeze: x \(1, 3, 1\): axis 4 is out of range \(-4 to 3\)$"
    ):
        x.unsqueeze(4)
    with pytest.raises(mg.ShapeError, match=r"^flatten: x \(1, 3, 1\): start_axis 2 comes after end_axis 1$"):
        x.flatten(2, 1)


# --- log1p, expm1, var, std ---------------------------------------------------------------------


def test_log1p_and_expm1_are_exact_where_their_compositions_are_not() -> None:
    t = np.array([1e-17, -3e-12, 1e-8])
    tiny = mg.tensor(t)
    np.testing.assert_allclose(mg.log1p(tiny).data, t - t**2 / 2 + t**3 / 3, rtol=1e-15)  # Taylor series
    np.testing.assert_allclose(tiny.expm1().data, t + t**2 / 2 + t**3 / 6, rtol=1e-15)
    assert mg.log(1 + tiny).data[0] == 0.0 and (mg.exp(tiny) - 1).data[0] == 0.0  # what they avoid
    # expm1's slope is e^a, not out + 1: at a = −50, out is −1 exactly and out + 1 would be 0.
    a = mg.tensor(-50.0, requires_grad=True)
    a.expm1().backward()
    assert a.grad.item() == np.exp(-50.0)


def test_var_and_std_take_numpys_ddof() -> None:
    x = mg.tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]], requires_grad=True)
    np.testing.assert_allclose(x.var(axis=1).data, np.var(x.data, axis=1))  # ddof=0 by default
    np.testing.assert_allclose(
        x.std(axis=1, ddof=1).data, np.std(x.data, axis=1, ddof=1)
    )  # PyTorch's default
    np.testing.assert_allclose(mg.var(x, keepdims=True, ddof=1).data, np.var(x.data, keepdims=True, ddof=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # where numpy divides by 0 and warns, NaN says "undefined"
        assert np.isnan(mg.var(mg.tensor([1.0]), ddof=1).item())
    with pytest.raises(ValueError, match=r"^std: ddof must be a finite number ≥ 0, got -1$"):
        x.std(ddof=-1)
    with pytest.raises(TypeError, match=r"^var: ddof must be a finite number ≥ 0, got '1'$"):
        x.var(ddof="1")  # type: ignore[arg-type]


def test_comparisons_give_bool_tensors_without_gradient() -> None:
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2):
        assert result.dtype == np.bool_
        assert not result.requires_grad
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])
    assert (x == 2).data.tolist() == [False, True, False]


@pytest.mark.filterwarnings("ignore::microgrid.BroadcastWarning")  # a row with a column, on purpose
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
    ("softmax_cross_entropy", lambda z: SoftmaxCrossEntropy.apply(z, mg.tensor(np.eye(3)[:, :2]))),
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


@pytest.mark.parametrize(
    "setting", ["always", "ignore", "error", "errstate all=ignore", "errstate over=raise"]
)
def test_sigmoid_is_the_same_whatever_the_warning_settings(setting: str) -> None:
    # σ(−740) is a subnormal number, not 0, and nothing is reported, however warnings and numpy's
    # error state are set: anomaly mode and the playground compute under np.errstate. (A quicker
    # 1 / (1 + e^−z) that relied on the overflow of e^740 being an error gave 0 and a warning.)
    z = np.array([-740.0, -720.0, -30.0, 0.0, 5.0])
    with warnings.catch_warnings(record=True) as caught:
        if setting.startswith("errstate"):
            kind, action = setting.split()[1].split("=")
            with np.errstate(**{kind: action}):  # type: ignore[arg-type]
                got = mg.sigmoid(mg.tensor(z)).data
        else:
            warnings.simplefilter(setting)  # type: ignore[arg-type]
            got = mg.sigmoid(mg.tensor(z)).data
    assert not caught, [str(w.message) for w in caught]
    np.testing.assert_allclose(got[:2], np.exp(z[:2]), rtol=1e-6)
    np.testing.assert_allclose(got[2:], 1 / (1 + np.exp(-z[2:])), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_keeps_its_relative_precision_everywhere(dtype: type) -> None:
    # Against 1 / (1 + e^−z) in extended precision, over the whole range where σ(z) is a normal
    # number: 1 − σ(−z) would lose σ's small values entirely (σ(−30) ≈ 9e-14 rounds to 0 that way).
    bound = 700 if dtype == np.float64 else 85
    z = np.linspace(-bound, bound, 20_001).astype(dtype)
    exact = 1 / (1 + np.exp(-z.astype(np.longdouble)))
    got = mg.sigmoid(mg.tensor(z)).data
    assert got.dtype == dtype
    ulps = np.abs(got - exact) / exact / np.finfo(dtype).eps
    assert ulps.max() <= 4, (z[ulps.argmax()], ulps.max())


# --- zero-size tensors: the op table's shapes are never empty, so a few ops are checked here ---

ZERO_SIZE_CASES: dict[str, tuple[Callable[[mg.Tensor], mg.Tensor], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (lambda x: x.tanh(), np.tanh),
    "sum over the empty axis": (lambda x: x.sum(axis=0), lambda a: a.sum(axis=0)),
    "mean over the full axis": (lambda x: x.mean(axis=1), lambda a: a.mean(axis=1)),
    "broadcast add": (lambda x: x + mg.ones(1, 3), lambda a: a + np.ones((1, 3))),
    "matmul with inner size 0": (lambda x: mg.ones(2, 0) @ x, lambda a: np.ones((2, 0)) @ a),
    "slice": (lambda x: x[:, 1:], lambda a: a[:, 1:]),
    "concatenate": (lambda x: mg.concatenate([x, x]), lambda a: np.concatenate([a, a])),
    "prod over the empty axis": (lambda x: x.prod(axis=0), lambda a: a.prod(axis=0)),
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
        ("max with ties", lambda x: mg.max(mg.concatenate([x, x])), "same"),
        ("abs", lambda x: mg.abs(x).sum(), "sign"),
        ("prod", lambda x: mg.prod(x), "equal"),
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


# --- no silent wrong answers ----------------------------------------------------------------------------


def test_a_list_of_tensors_is_stacked_so_gradients_flow() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x + [x, x]).sum().backward()  # noqa: RUF005 (the learner's expression, on purpose)
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])  # once broadcast twice, twice in the list
    s = mg.tensor(2.0, requires_grad=True)
    (s + [s, s]).sum().backward()  # noqa: RUF005
    assert s.grad.item() == 4.0  # a 0-d tensor in a list
    m = mg.mean([s, s + 2])
    assert m.item() == 3.0 and m.requires_grad
    nested = mg.sum([[s, 1.0], [2.0, s]])
    nested.backward()
    assert nested.item() == 7.0


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("maximum", lambda a, b: mg.maximum(a, b)),
        ("minimum", lambda a, b: mg.minimum(a, b)),
        ("maximum swapped", lambda a, b: mg.maximum(b, a)),
        ("minimum swapped", lambda a, b: mg.minimum(b, a)),
        ("clip", lambda a, b: mg.clip(a, 0.0, 1.0)),
    ],
)
def test_nan_goes_through_elementwise_extremes_in_either_order(name: str, fn: Callable) -> None:
    a = mg.tensor([np.nan, 0.5])
    b = mg.tensor([0.0, 0.2])
    out = fn(a, b).data
    assert np.isnan(out[0]), name
    assert not np.isnan(out[1])


def test_max_and_min_with_nan_give_the_nans_the_gradient_as_pytorch_does() -> None:
    for reduce in (mg.max, mg.min):
        x = mg.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
        out = reduce(x)
        out.backward()
        assert np.isnan(out.item())
        np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.0, 0.5])


def test_float32_stays_float32_with_numbers_and_zero_d_arrays() -> None:
    x = mg.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    for other in (2.0, 2, np.float64(2.0), np.array(2.0), np.int64(2)):
        assert (x * other).dtype == np.float32, other
        assert (other - x).dtype == np.float32, other
