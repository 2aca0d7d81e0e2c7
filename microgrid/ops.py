"""The primitive ops. Each class: forward in numpy beside backward in microgrid ops.

Everything else (sub, div, mean, abs, sqrt, softmax, losses, layers) is composed from these,
so it needs no backward rule of its own. In each docstring, `g` is d(loss)/d(out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from microgrid.autograd import Grads, Op
from microgrid.tensor import Tensor


def constant(array: np.ndarray | float, like: Tensor) -> Tensor:
    """A graph leaf holding `array` (a mask or a zero) in the dtype of `like`."""
    return Tensor._make(np.asarray(array, dtype=like.dtype))


def normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """`axis` as a sorted tuple of non-negative axes (None means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(int(a) % ndim for a in axes)) if ndim else ()


def describe_axes(name: str, axis: int | Sequence[int] | None, keepdims: bool) -> str:
    """`sum axis=1 keepdims`, as diagrams print a reduction (a single axis without a tuple)."""
    if axis is not None and not isinstance(axis, int):
        axis = tuple(axis)
        axis = axis[0] if len(axis) == 1 else axis
    text = name if axis is None else f"{name} axis={axis}"
    return f"{text} keepdims" if keepdims else text


# --- elementwise arithmetic ----------------------------------------------------------------


class Add(Op):
    """a + b;  d/da = g,  d/db = g (the engine sums over broadcast axes)."""

    name, symbol = "add", "+"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def backward(self, grad: Tensor, out: Tensor) -> Grads:
        return grad, grad


class Mul(Op):
    """a · b;  d/da = g · b,  d/db = g · a."""

    name, symbol = "mul", "*"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    def backward(self, grad: Tensor, out: Tensor) -> Grads:
        a, b = self.inputs
        return (
            grad * b if self.needs_grad[0] else None,
            grad * a if self.needs_grad[1] else None,
        )


class Neg(Op):
    """−a;  d/da = −g."""

    name = "neg"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return -a

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return -grad


class Pow(Op):
    """a ** b;  d/da = g · b · a^(b−1) (0 where b = 0),  d/db = g · a^b · log a (0 where a ≤ 0)."""

    name, symbol = "pow", "**"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.power(a, b)

    def backward(self, grad: Tensor, out: Tensor) -> Grads:
        a, b = self.inputs
        grad_a = None
        if self.needs_grad[0]:
            exponent = b
            is_zero = b.data == 0
            if is_zero.any():  # a⁰ is constant: slope b·a^(b−1) = 0, but a^−1 is inf at a = 0
                exponent = Where.apply(constant(1.0, b), b, condition=is_zero)
            grad_a = grad * b * a ** (exponent - 1)
        grad_b = None
        if self.needs_grad[1]:
            positive = a.data > 0
            safe_a = Where.apply(a, constant(1.0, a), condition=positive)
            grad_b = grad * out * safe_a.log()
        return grad_a, grad_b


# --- elementwise functions -----------------------------------------------------------------


class Exp(Op):
    """e^a;  d/da = g · e^a (the output itself)."""

    name = "exp"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.exp(a)

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad * out


class Log(Op):
    """ln a;  d/da = g / a."""

    name = "log"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.log(a)

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad / self.inputs[0]


class Tanh(Op):
    """tanh a;  d/da = g · (1 − tanh² a)."""

    name = "tanh"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.tanh(a)

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad * (1 - out * out)


class Sigmoid(Op):
    """σ(a) = 1 / (1 + e^−a);  d/da = g · σ(a) · (1 − σ(a))."""

    name = "sigmoid"

    def forward(self, a: np.ndarray) -> np.ndarray:
        # Only e^−|a| is ever computed, so nothing overflows: |a| = 1e4 gives exactly 1 or 0.
        e = np.exp(-np.abs(a))
        s = 1 / (1 + e)
        return np.where(a >= 0, s, e * s)

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad * out * (1 - out)


class Softplus(Op):
    """log(1 + e^a) = max(a, 0) + log(1 + e^−|a|);  d/da = g · σ(a)."""

    name = "softplus"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, a)

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad * Sigmoid.apply(self.inputs[0])


class Relu(Op):
    """max(a, 0);  d/da = g · [a > 0]."""

    name = "relu"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.maximum(a, 0)

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad * Tensor._make(self.inputs[0].data > 0)


class Where(Op):
    """condition ? a : b;  d/da = g where the condition holds, d/db = g elsewhere."""

    name = "where"

    def __init__(self, condition: np.ndarray) -> None:
        self.condition = condition

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(self.condition, a, b)

    def backward(self, grad: Tensor, out: Tensor) -> Grads:
        zero = constant(0.0, grad)
        return (
            Where.apply(grad, zero, condition=self.condition) if self.needs_grad[0] else None,
            Where.apply(zero, grad, condition=self.condition) if self.needs_grad[1] else None,
        )


class Cast(Op):
    """a as another float dtype;  d/da = g cast back."""

    name = "astype"

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def describe(self) -> str:
        return f"astype {self.dtype}"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a.astype(self.dtype)

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return Cast.apply(grad, dtype=self.inputs[0].dtype)


# --- reductions ----------------------------------------------------------------------------


class Reduction(Op):
    """A reduction over `axis` (every axis when None), keeping the reduced axes as size 1 or not."""

    def __init__(self, axis: int | Sequence[int] | None, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def describe(self) -> str:
        return describe_axes(self.name, self.axis, self.keepdims)


class Sum(Reduction):
    """Σ a over `axis`;  d/da = g repeated along the summed axes."""

    name = "sum"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.add.reduce(a, axis=self.axis, keepdims=self.keepdims)  # type: ignore[call-overload]

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        shape = self.inputs[0].shape
        if not self.keepdims and self.axis is not None:  # a full sum's scalar broadcasts as is
            grad = grad.reshape(kept_shape(shape, self.axis))
        return grad.broadcast_to(shape)


class Max(Reduction):
    """max a over `axis`;  d/da = g at the maxima, shared equally between ties."""

    name = "max"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.maximum.reduce(a, axis=self.axis, keepdims=self.keepdims)  # type: ignore[call-overload]

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        a = self.inputs[0]
        shape = kept_shape(a.shape, self.axis)
        is_max = a.data == out.data.reshape(shape)
        share = is_max / is_max.sum(axis=normalize_axes(self.axis, a.ndim), keepdims=True)
        return grad.reshape(shape) * constant(share, grad)


def kept_shape(shape: tuple[int, ...], axis: int | Sequence[int] | None) -> tuple[int, ...]:
    """The shape a reduction over `axis` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# --- shape ---------------------------------------------------------------------------------


class Reshape(Op):
    """a with a new shape;  d/da = g reshaped back."""

    name = "reshape"

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def describe(self) -> str:
        return f"reshape {self.shape}"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(self.shape)  # the method, not np.reshape's slower Python wrapper

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad.reshape(self.inputs[0].shape)


class Transpose(Op):
    """a with its axes permuted;  d/da = g with the inverse permutation."""

    name = "transpose"

    def __init__(self, axes: tuple[int, ...] | None) -> None:
        self.axes = axes

    def describe(self) -> str:
        return "transpose" if self.axes is None else f"transpose {self.axes}"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a.transpose(self.axes)  # the method, not np.transpose's slower Python wrapper

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        if self.axes is None:
            return grad.transpose()
        return grad.transpose(*(int(i) for i in np.argsort(self.axes)))


class BroadcastTo(Op):
    """a repeated along new or size-1 axes;  d/da = g summed back (by the engine's sum_to)."""

    name = "broadcast_to"

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def describe(self) -> str:
        return f"broadcast_to {self.shape}"

    def forward(self, a: np.ndarray) -> np.ndarray:
        # A real copy, not np.broadcast_to's read-only view: faster for small arrays, and a
        # gradient that ends up in `.grad` stays writable.
        out = np.empty(self.shape, dtype=a.dtype)
        out[...] = a
        return out

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad


class GetItem(Op):
    """a[index];  d/da = g scattered back into zeros, repeated indices adding up."""

    name = "getitem"

    def __init__(self, index: Any) -> None:
        self.index = index

    def describe(self) -> str:
        return f"getitem [{format_index(self.index)}]"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a[self.index]

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return ScatterAdd.apply(grad, index=self.index, shape=self.inputs[0].shape)


class ScatterAdd(Op):
    """zeros(shape) with g added at `index` (the gradient of getitem);  d/dg = (d/dout)[index]."""

    name = "scatter_add"

    def __init__(self, index: Any, shape: tuple[int, ...]) -> None:
        self.index, self.shape = index, shape

    def describe(self) -> str:
        return f"scatter_add [{format_index(self.index)}] into {self.shape}"

    def forward(self, a: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=a.dtype)
        if is_basic_index(self.index):
            out[self.index] = a  # slices never repeat an element, so plain assignment suffices
        else:
            np.add.at(out, self.index, a)
        return out

    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return GetItem.apply(grad, index=self.index)


def is_basic_index(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis (numpy 'basic' indexing: a view, no repeats)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


def format_index(index: Any) -> str:
    """`:, 0:2` for a tuple of slices, as diagrams print an index."""
    parts = index if isinstance(index, tuple) else (index,)

    def one(p: Any) -> str:
        if isinstance(p, slice):
            text = ":".join("" if v is None else str(v) for v in (p.start, p.stop, p.step))
            return text.rstrip(":") or ":"
        if isinstance(p, np.ndarray):
            return f"{p.dtype.name} array {p.shape}"
        return "..." if p is Ellipsis else repr(p)

    return ", ".join(one(p) for p in parts)


class Concatenate(Op):
    """The inputs joined along `axis`;  d/d(input i) = the slice of g that input i filled."""

    name = "concatenate"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def describe(self) -> str:
        return f"concatenate axis={self.axis}"

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, grad: Tensor, out: Tensor) -> Grads:
        axis = self.axis % grad.ndim
        grads: list[Tensor | None] = []
        start = 0
        for t, needed in zip(self.inputs, self.needs_grad):
            stop = start + t.shape[axis]
            index = (slice(None),) * axis + (slice(start, stop),)
            grads.append(GetItem.apply(grad, index=index) if needed else None)
            start = stop
        return grads


# --- linear algebra ------------------------------------------------------------------------


class MatMul(Op):
    """a @ b, either operand's last two axes optionally transposed (numpy's rules for 1-D and
    batched operands);  d/da = g @ bᵀ,  d/db = aᵀ @ g.

    The transposes are flags, not separate ops, so backward computes dW = dZ @ Aᵀ in one step.
    """

    name, symbol = "matmul", "@"

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False) -> None:
        self.transpose_a, self.transpose_b = transpose_a, transpose_b

    def describe(self) -> str:
        if not (self.transpose_a or self.transpose_b):
            return self.name
        return f"{self.name} {'aᵀ' if self.transpose_a else 'a'} @ {'bᵀ' if self.transpose_b else 'b'}"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.transpose_a:
            a = a.swapaxes(-1, -2)
        if self.transpose_b:
            b = b.swapaxes(-1, -2)
        return np.matmul(a, b)

    def shape_problem(self, arrays: Sequence[np.ndarray]) -> str | None:
        a, b = arrays
        if a.ndim == 0 or b.ndim == 0:
            return "matmul needs operands with at least one dimension (use * for scalars)"
        if (self.transpose_a and a.ndim < 2) or (self.transpose_b and b.ndim < 2):
            return "a transposed operand needs at least two dimensions"
        inner_a = a.shape[-2] if self.transpose_a else a.shape[-1]
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-1 if self.transpose_b else -2]
        if inner_a != inner_b:
            return f"inner sizes {inner_a} and {inner_b} differ"
        return None

    def backward(self, grad: Tensor, out: Tensor) -> Grads:
        a, b = self.inputs
        row, column = a.data.ndim == 1, b.data.ndim == 1
        if not (row or column):
            return self._matrix_grads(a, b, grad)
        # numpy treats a 1-D `a` as a row and a 1-D `b` as a column: do the same, then drop the
        # axis. (Forward refuses transpose flags on a 1-D operand, so these are never transposed.)
        a2 = a.reshape(1, a.shape[0]) if row else a
        b2 = b.reshape(b.shape[0], 1) if column else b
        if row and column:
            g2 = grad.reshape(1, 1)
        elif row:
            g2 = grad.reshape(*grad.shape[:-1], 1, grad.shape[-1])
        else:
            g2 = grad.reshape(*grad.shape, 1)
        grad_a, grad_b = self._matrix_grads(a2, b2, g2)
        if row and grad_a is not None:
            grad_a = grad_a.reshape(*grad_a.shape[:-2], grad_a.shape[-1])
        if column and grad_b is not None:
            grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b

    def _matrix_grads(self, a: Tensor, b: Tensor, grad: Tensor) -> Grads:
        """The rule for matrices (or batches of them), each operand transposed or not."""
        # With A' = op(A), B' = op(B): dA' = G B'ᵀ and dB' = A'ᵀ G; a transposed operand's
        # gradient is the transpose of that, i.e. dA = B' Gᵀ and dB = Gᵀ A'.
        ta, tb = self.transpose_a, self.transpose_b
        grad_a = grad_b = None
        if self.needs_grad[0]:
            if ta:
                grad_a = MatMul.apply(b, grad, transpose_a=tb, transpose_b=True)
            else:
                grad_a = MatMul.apply(grad, b, transpose_b=not tb)
        if self.needs_grad[1]:
            if tb:
                grad_b = MatMul.apply(grad, a, transpose_a=True, transpose_b=ta)
            else:
                grad_b = MatMul.apply(a, grad, transpose_a=not ta)
        return grad_a, grad_b
