"""Every op as a function: thin wrappers over the primitives, and composites built from them.

A composite has no backward rule of its own: `mean` is `sum · 1/n`, `abs` is `x · sign(x)`,
`softmax` is `exp(log_softmax)`. Its gradient is the chain rule through the primitives.
`__all__` is the list of public ops; `microgrid` re-exports it, and each Tensor method shares
its function's docstring.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from microgrid import checks, ops, trace
from microgrid.errors import ReplayError, ShapeError
from microgrid.tensor import DTypeLike, Operand, Tensor, as_dtype, operand, shape_from_args, to_array

Axis = int | Sequence[int] | None

__all__ = [
    "abs",
    "add",
    "argmax",
    "argmin",
    "astype",
    "broadcast_to",
    "clip",
    "concatenate",
    "cos",
    "div",
    "equal",
    "exp",
    "expm1",
    "flatten",
    "getitem",
    "greater",
    "greater_equal",
    "leaky_relu",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "not_equal",
    "pow",
    "prod",
    "relu",
    "reshape",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "swapaxes",
    "tanh",
    "transpose",
    "unsqueeze",
    "var",
    "where",
]


def as_tensor(value: Operand, like: Tensor | None = None) -> Tensor:
    """`value` as a Tensor: a Tensor as is; a number (or 0-d array) in the dtype of `like`, so
    float32 stays float32; a list or tuple holding Tensors stacked, so their gradients flow
    (`x + [x, x]` adds x twice; `mean([x, y])` is the mean of the two)."""
    if value.__class__ is Tensor:
        return value
    number = value.__class__ is float or value.__class__ is int
    if number and like is not None and like._data.dtype.kind == "f":
        return operand(value, like)  # the common `1 - x` and `x * 0.5`, kept fast
    if isinstance(value, Tensor):  # (a subclass)
        return value
    if (value.__class__ is list or value.__class__ is tuple) and _holds_tensors(value):
        return stack([as_tensor(item, like) for item in value])
    if like is not None and like.dtype.kind == "f":
        is_float_array = isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim > 0
        if not is_float_array:
            return Tensor._make(to_array(value, like.dtype))
    return Tensor._make(to_array(value))


def _holds_tensors(items: list[Any] | tuple[Any, ...]) -> bool:
    """True when a (nested) list or tuple holds a Tensor anywhere."""
    return any(
        isinstance(item, Tensor) or (isinstance(item, (list, tuple)) and _holds_tensors(item))
        for item in items
    )


def _pair(a: Operand, b: Operand) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors, a plain number taking the other side's dtype."""
    if isinstance(a, Tensor):
        return a, b if isinstance(b, Tensor) else as_tensor(b, a)
    b = as_tensor(b)
    return as_tensor(a, b), b


# --- arithmetic ----------------------------------------------------------------------------


def add(a: Operand, b: Operand) -> Tensor:
    """a + b, broadcasting."""
    return ops.Add.apply(*_pair(a, b))


def sub(a: Operand, b: Operand) -> Tensor:
    """a − b, broadcasting."""
    return ops.Sub.apply(*_pair(a, b))


def mul(a: Operand, b: Operand) -> Tensor:
    """a · b elementwise, broadcasting."""
    return ops.Mul.apply(*_pair(a, b))


def div(a: Operand, b: Operand) -> Tensor:
    """a / b elementwise, broadcasting."""
    return ops.Div.apply(*_pair(a, b))


def neg(a: Operand) -> Tensor:
    """−a."""
    return ops.Neg.apply(as_tensor(a))


def pow(a: Operand, b: Operand) -> Tensor:
    """a ** b, for a number or a tensor exponent."""
    return ops.Pow.apply(*_pair(a, b))


def matmul(a: Operand, b: Operand) -> Tensor:
    """a @ b: W (n_out, n_in) @ A (n_in, m) -> (n_out, m); 1-D and batched as in numpy."""
    return ops.MatMul.apply(*_pair(a, b))


# --- elementwise functions -----------------------------------------------------------------


def exp(x: Operand) -> Tensor:
    """e^x."""
    return ops.Exp.apply(as_tensor(x))


def log(x: Operand) -> Tensor:
    """Natural logarithm ln x."""
    return ops.Log.apply(as_tensor(x))


def log1p(x: Operand) -> Tensor:
    """ln(1 + x), exact for tiny x (where log(1 + x) rounds x away)."""
    return ops.Log1p.apply(as_tensor(x))


def expm1(x: Operand) -> Tensor:
    """e^x − 1, exact for tiny x (where exp(x) − 1 cancels to 0)."""
    return ops.Expm1.apply(as_tensor(x))


def sin(x: Operand) -> Tensor:
    """sin x (x in radians)."""
    return ops.Sin.apply(as_tensor(x))


def cos(x: Operand) -> Tensor:
    """cos x (x in radians)."""
    return ops.Cos.apply(as_tensor(x))


def sqrt(x: Operand) -> Tensor:
    """√x, composed as x ** 0.5."""
    return pow(x, 0.5)


def square(x: Operand) -> Tensor:
    """x², composed as x · x."""
    x = as_tensor(x)
    return ops.Mul.apply(x, x)


def abs(x: Operand) -> Tensor:
    """|x|, composed as x · sign(x) (so its gradient at 0 is 0, as in PyTorch)."""
    x = as_tensor(x)
    return ops.Mul.apply(x, ops.Sign.apply(x))


def sign(x: Operand) -> Tensor:
    """−1, 0 or 1 for each element (no gradient)."""
    return ops.Sign.apply(as_tensor(x))


def sigmoid(x: Operand) -> Tensor:
    """σ(x) = 1 / (1 + e^−x), exact at |x| = 1e4."""
    return ops.Sigmoid.apply(as_tensor(x))


def tanh(x: Operand) -> Tensor:
    """tanh x."""
    return ops.Tanh.apply(as_tensor(x))


def relu(x: Operand) -> Tensor:
    """max(x, 0)."""
    return ops.Relu.apply(as_tensor(x))


def leaky_relu(x: Operand, alpha: float = 0.01) -> Tensor:
    """x where x > 0, else alpha · x."""
    x = as_tensor(x)
    return ops.Where.apply(ops.greater(x, as_tensor(0.0, x)), x, alpha * x)


def softplus(x: Operand) -> Tensor:
    """log(1 + e^x), finite for any x."""
    return ops.Softplus.apply(as_tensor(x))


def where(condition: Operand, a: Operand, b: Operand) -> Tensor:
    """a where `condition` is true, else b (no gradient flows to the condition)."""
    if isinstance(condition, Tensor):
        cond = (
            condition
            if condition.dtype == bool
            else ops.Compare.apply(condition, as_tensor(0.0, condition), symbol="!=")
        )
    else:
        cond = Tensor._make(np.asarray(condition, dtype=bool))
        cond.name = "condition"
    a, b = _pair(a, b)
    return ops.Where.apply(cond, a, b)


def maximum(a: Operand, b: Operand) -> Tensor:
    """Elementwise max(a, b), NaN if either is; at ties the gradient goes to a."""
    return ops.Maximum.apply(*_pair(a, b))


def minimum(a: Operand, b: Operand) -> Tensor:
    """Elementwise min(a, b), NaN if either is; at ties the gradient goes to a."""
    return ops.Minimum.apply(*_pair(a, b))


def clip(x: Operand, low: Operand | None = None, high: Operand | None = None) -> Tensor:
    """x limited to [low, high] (NaN stays NaN); the gradient is 0 where x was clipped."""
    x = as_tensor(x)
    if low is not None and high is not None:
        return ops.Clip.apply(x, as_tensor(low, x), as_tensor(high, x))
    if low is not None:
        return maximum(x, low)
    return x if high is None else minimum(x, high)


def astype(x: Operand, dtype: DTypeLike) -> Tensor:
    """x as float32 or float64 (the gradient is cast back)."""
    x = as_tensor(x)
    target = as_dtype(dtype)
    return x if x.dtype == target else ops.Cast.apply(x, dtype=target)


# --- reductions ----------------------------------------------------------------------------


def sum(x: Operand, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Σ x over `axis` (every axis when None)."""
    return ops.Sum.apply(as_tensor(x), axis=_axis(axis), keepdims=keepdims)


def mean(x: Operand, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Σ x / n over `axis` (every axis when None), computed as Σ x · (1/n)."""
    return ops.Mean.apply(as_tensor(x), axis=_axis(axis), keepdims=keepdims)


def var(x: Operand, axis: Axis = None, keepdims: bool = False, *, ddof: float = 0) -> Tensor:
    """Σ (x − mean x)² / (n − ddof) over `axis`; ddof=0 as in numpy (PyTorch's default `correction` is 1)."""
    return _variance("var", x, axis, keepdims, ddof)


def std(x: Operand, axis: Axis = None, keepdims: bool = False, *, ddof: float = 0) -> Tensor:
    """√var(x) over `axis`; ddof=0 as in numpy (PyTorch's default `correction` is 1)."""
    return sqrt(_variance("std", x, axis, keepdims, ddof))


def _variance(owner: str, x: Operand, axis: Axis, keepdims: bool, ddof: float) -> Tensor:
    """Σ (x − mean x)² / (n − ddof), composed of mean, sub, mul and sum."""
    x = as_tensor(x)
    ddof = checks.number(owner, "ddof", ddof, at_least=0)
    deviation = x - mean(x, axis, keepdims=True)
    n = math.prod(x.shape[a] for a in ops.normalize_axes(_axis(axis), x.ndim))
    # NaN where n ≤ ddof: numpy divides by 0 there, with a warning; NaN says "undefined", as mean's.
    return sum(deviation * deviation, axis, keepdims) * (1 / (n - ddof) if n > ddof else math.nan)


def prod(x: Operand, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Π x over `axis`; each element's gradient is the product of the others, exact at zeros."""
    return ops.Prod.apply(as_tensor(x), axis=_axis(axis), keepdims=keepdims)


def max(x: Operand, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Largest element over `axis`; tied maxima share the gradient."""
    return ops.Max.apply(as_tensor(x), axis=_axis(axis), keepdims=keepdims)


def min(x: Operand, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Smallest element over `axis`, composed as −max(−x)."""
    return -max(-as_tensor(x), axis, keepdims)


def argmax(x: Operand, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Index of the largest element along `axis` (flattened if None): an int array, the first of ties."""
    return _index_of("argmax", indices_of_max, x, axis, keepdims)


def argmin(x: Operand, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Index of the smallest element along `axis` (flattened if None): an int array, the first of ties."""
    return _index_of("argmin", indices_of_min, x, axis, keepdims)


def _index_of(owner: str, find: Any, x: Operand, axis: int | None, keepdims: bool) -> np.ndarray:
    """numpy's argmax or argmin of x, an empty axis refused by name. While mg.replay records a
    step, finding them is a kernel of its own, so each replay finds the indices of its step's x
    (the recording's would otherwise be used at every step)."""
    x = as_tensor(x)
    if axis is not None:
        axis = _position(owner, x, axis, x.ndim)
    if x.size == 0 and (axis is None or x.shape[axis] == 0):
        where = "it is empty" if axis is None else f"axis {axis} is empty"
        raise ShapeError(f"{owner}: {x.describe()}: {where}, so there is no index to give")
    if keepdims:
        shape = ops.kept_shape(x.shape, axis)
    else:
        shape = () if axis is None else x.shape[:axis] + x.shape[axis + 1 :]
    found = np.empty(shape, np.intp)
    if trace.recording() is not None:  # (of anything: a parameter changes between replays too)
        trace.kernel(find, x._data, axis, keepdims, found, makes=(found,))
    else:
        find(x._data, axis, keepdims, found)
    return found


def indices_of_max(array: np.ndarray, axis: int | None, keepdims: bool, out: np.ndarray) -> None:
    """np.argmax of `array` into `out` (a kernel, while recording)."""
    np.argmax(array, axis, out, keepdims=keepdims)


def indices_of_min(array: np.ndarray, axis: int | None, keepdims: bool, out: np.ndarray) -> None:
    """np.argmin of `array` into `out` (a kernel, while recording)."""
    np.argmin(array, axis, out, keepdims=keepdims)


def logsumexp(x: Operand, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log Σ e^x over `axis`, as m + log Σ e^(x − m) with m = max x, so nothing overflows."""
    x = as_tensor(x)
    shift = ops.Shift.apply(x, axis=_axis(axis), keepdims=True)
    total = sum(exp(x - shift), axis, keepdims=True).log() + shift
    return total if keepdims else total.reshape(_reduced_shape(x.shape, axis))


def log_softmax(x: Operand, axis: int = 0) -> Tensor:
    """x − logsumexp(x) along `axis` (axis 0 holds the classes in the course layout)."""
    x = as_tensor(x)
    return x - logsumexp(x, axis, keepdims=True)


def softmax(x: Operand, axis: int = 0) -> Tensor:
    """e^x / Σ e^x along `axis`, composed as exp(log_softmax(x))."""
    return exp(log_softmax(x, axis))


# --- shape ---------------------------------------------------------------------------------


def reshape(x: Operand, *shape: int | Sequence[int]) -> Tensor:
    """Same values in a new shape: `reshape(x, 2, 3)` or `reshape(x, (2, 3))`."""
    return ops.Reshape.apply(as_tensor(x), shape=shape_from_args(shape))


def squeeze(x: Operand, axis: Axis = None) -> Tensor:
    """x without its size-1 axes, or only those of `axis`, each of which must have size 1."""
    x = as_tensor(x)
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = set()
    for given in (axis,) if isinstance(axis, (int, np.integer)) else axis:
        a = _position("squeeze", x, given, x.ndim)
        if x.shape[a] != 1:
            raise ShapeError(f"squeeze: {x.describe()}: axis {given} has size {x.shape[a]}, not 1")
        axes.add(a)
    return reshape(x, tuple(n for a, n in enumerate(x.shape) if a not in axes))


def unsqueeze(x: Operand, axis: int) -> Tensor:
    """x with a new size-1 axis at position `axis` of the result (numpy's expand_dims)."""
    x = as_tensor(x)
    position = _position("unsqueeze", x, axis, x.ndim + 1)
    return reshape(x, (*x.shape[:position], 1, *x.shape[position:]))


def flatten(x: Operand, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """x with the axes from start_axis to end_axis (all, by default) merged into one."""
    x = as_tensor(x)
    shape = x.shape or (1,)  # a 0-d tensor flattens to one element, as in PyTorch
    start = _position("flatten", x, start_axis, len(shape))
    end = _position("flatten", x, end_axis, len(shape))
    if start > end:
        raise ShapeError(f"flatten: {x.describe()}: start_axis {start_axis} comes after end_axis {end_axis}")
    return reshape(x, (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :]))


def transpose(x: Operand, *axes: int) -> Tensor:
    """Axes permuted (reversed when none are given)."""
    x = as_tensor(x)
    if len(axes) == 1 and not isinstance(axes[0], int):
        axes = tuple(axes[0])
    if not axes:
        return ops.Transpose.apply(x, axes=None)
    if sorted(int(a) % builtins.max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ShapeError(
            f"transpose: {x.describe()}: axes {axes} are not a permutation of its {x.ndim} axes "
            "(to exchange two axes, use swapaxes)"
        )
    return ops.Transpose.apply(x, axes=tuple(int(a) % x.ndim for a in axes))


def swapaxes(x: Operand, axis1: int, axis2: int) -> Tensor:
    """Axes axis1 and axis2 exchanged."""
    x = as_tensor(x)
    order = list(range(x.ndim))
    try:
        order[axis1], order[axis2] = order[axis2], order[axis1]
    except IndexError:
        raise ShapeError(f"swapaxes: {x.describe()} has no axes {axis1} and {axis2}") from None
    return ops.Transpose.apply(x, axes=tuple(order))


def broadcast_to(x: Operand, shape: Sequence[int]) -> Tensor:
    """x repeated along new or size-1 axes to `shape`."""
    return ops.BroadcastTo.apply(as_tensor(x), shape=tuple(shape))


def getitem(x: Operand, index: Any) -> Tensor:
    """x[index]: slices, integers, integer arrays and boolean masks, as in numpy."""
    return ops.GetItem.apply(as_tensor(x), index=_index(index))


def concatenate(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """The tensors joined along an existing `axis`."""
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return ops.Concatenate.apply(*(as_tensor(t, first) for t in tensors), axis=axis)


def stack(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """The tensors joined along a new `axis` (each gets a size-1 axis, then they are concatenated)."""
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    items = [as_tensor(t, first) for t in tensors]
    shapes = {t.shape for t in items}
    if len(shapes) > 1:
        listed = ", ".join(t.describe() for t in items)
        raise ShapeError(f"stack: all tensors need the same shape, got {listed}")
    ndim = items[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ShapeError(f"stack: axis {axis} is out of range for {ndim}-D result")
    position = axis % ndim
    return concatenate([unsqueeze(t, position) for t in items], axis=position)


# --- comparisons: no gradient, a bool tensor (as in PyTorch) -------------------------------


def less(a: Operand, b: Operand) -> Tensor:
    """a < b elementwise, as a bool tensor."""
    return ops.Compare.apply(*_pair(a, b), symbol="<")


def less_equal(a: Operand, b: Operand) -> Tensor:
    """a <= b elementwise, as a bool tensor."""
    return ops.Compare.apply(*_pair(a, b), symbol="<=")


def greater(a: Operand, b: Operand) -> Tensor:
    """a > b elementwise, as a bool tensor."""
    return ops.Compare.apply(*_pair(a, b), symbol=">")


def greater_equal(a: Operand, b: Operand) -> Tensor:
    """a >= b elementwise, as a bool tensor."""
    return ops.Compare.apply(*_pair(a, b), symbol=">=")


def equal(a: Operand, b: Operand) -> Tensor:
    """a == b elementwise, as a bool tensor."""
    return ops.Compare.apply(*_pair(a, b), symbol="==")


def not_equal(a: Operand, b: Operand) -> Tensor:
    """a != b elementwise, as a bool tensor."""
    return ops.Compare.apply(*_pair(a, b), symbol="!=")


# --- helpers -------------------------------------------------------------------------------


def _axis(axis: Axis) -> int | tuple[int, ...] | None:
    """An axis argument numpy accepts (a list becomes a tuple)."""
    if axis is None or isinstance(axis, (int, tuple)):
        return axis
    if isinstance(axis, np.integer):
        return int(axis)
    if not isinstance(axis, (list, range)) or not all(isinstance(a, (int, np.integer)) for a in axis):
        raise TypeError(f"axis must be an int, a tuple of ints or None, got {axis!r}")
    return tuple(int(a) for a in axis)


def _position(owner: str, x: Tensor, axis: object, ndim: int) -> int:
    """`axis` as an index from 0 to ndim − 1 (a negative one counting from the end), or refused."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{owner}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{owner}: {x.describe()}: axis {axis} is out of range ({-ndim} to {ndim - 1})")
    return int(axis) % ndim


def _reduced_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """The shape a reduction over `axis` leaves without keepdims."""
    axes = ops.normalize_axes(_axis(axis), len(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _index(index: Any) -> Any:
    """An index numpy accepts: tensors inside it become their (integer or bool) arrays."""
    if isinstance(index, tuple):
        return tuple(_index(part) for part in index)
    if isinstance(index, Tensor):
        array = index._data
        # While recording, a copy is a kernel that copies the array the tensor holds at each
        # replay: an index tensor from outside the step follows a loop that changes it in place
        # or gives it another array (`columns.data = ...`).
        if array.dtype.kind == "f":  # (whole numbers as mg.tensor holds them)
            trace.guard(check_whole_index, index)
            return trace.copied(array, array.astype(np.int64), owner=index)
        if trace.recording() is None:
            return array
        if array.dtype.kind == "b":  # (the guard first: one after a kernel makes each replay save state)
            trace.guard(check_mask_count, index, int(np.count_nonzero(array)), replay_only=True)
        return trace.copied(array, array.copy(), owner=index)
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, np.ndarray) and index.dtype.kind == "b" and trace.recording() is not None:
        # (only a replay can be refused: the eager step's result has whatever size the mask picks)
        trace.guard(check_mask_count, index, int(np.count_nonzero(index)), replay_only=True)
    return index


def check_whole_index(index: Tensor) -> None:
    """Refuse a float index tensor that holds a fraction, NaN or inf, or a whole number no
    integer index can be (|i| ≥ 2⁶³), which the cast to integers would turn into another."""
    values = index._data
    # (finite first: the remainder of inf or NaN is a RuntimeWarning, or an error under np.errstate)
    if not (np.isfinite(values).all() and (np.mod(values, 1) == 0).all()):
        raise IndexError(f"getitem: index tensor {index.describe()} holds non-integer values")
    if values.size and not np.abs(values).max() < _BEYOND_INDICES:
        largest = values.flat[np.abs(values).argmax()]
        raise IndexError(
            f"getitem: index tensor {index.describe()} holds {largest:g}, "
            "too large to be an index of any array"
        )


_BEYOND_INDICES = 2.0**63  # the first magnitude an int64 cannot hold


def check_mask_count(mask: np.ndarray | Tensor, recorded: int) -> None:
    """Refuse, in a replay, a boolean mask (an array, or a tensor holding one) that selects another
    number of entries than when the step was recorded: the result's shape is that number, and a
    replay's arrays keep theirs."""
    mask = mask._data if isinstance(mask, Tensor) else mask
    selected = int(np.count_nonzero(mask))
    if selected != recorded:
        raise ReplayError(
            f"getitem: a boolean mask {mask.shape} selects {selected} of its {mask.size} entries, where "
            f"it selected {recorded} when mg.replay recorded the step, and a replay's arrays keep the "
            "shapes they were recorded with. Multiply by the mask (as 0s and 1s) instead of indexing "
            "with it, or call the step without mg.replay"
        )


# A Tensor method and its function share one docstring, the function's: `x.sigmoid()` is `sigmoid(x)`.
for _method in (
    "sum", "mean", "max", "min", "reshape", "transpose", "broadcast_to", "astype", "exp", "log",
    "sqrt", "abs", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "clip", "maximum",
    "minimum", "logsumexp", "log_softmax", "softmax", "log1p", "expm1", "sin", "cos", "square",
    "sign", "var", "std", "prod", "argmax", "argmin", "squeeze", "unsqueeze", "flatten",
):  # fmt: skip
    getattr(Tensor, _method).__doc__ = globals()[_method].__doc__
