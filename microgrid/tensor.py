"""Tensor: a numpy array that remembers the op that made it, so gradients can flow back."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from microgrid import trace
from microgrid.errors import GradError, ShapeError
from microgrid.modes import current

if TYPE_CHECKING:
    from microgrid.function import Op

# What may stand where a Tensor is expected: the operand of `2 * x` or `x / arr`.
Operand: TypeAlias = "Tensor | float | int | bool | np.ndarray | np.generic"
DTypeLike: TypeAlias = "type | np.dtype | str | None"

FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

# Every recorded tensor gets the next creation number; leaves, having no inputs, keep 0. An op's
# output is made after its inputs, so the backward walk visits a graph newest first by it.
_creation_counter = itertools.count(1)
_new = object.__new__
DEFAULT_DTYPE = np.dtype(np.float64)


def as_dtype(dtype: DTypeLike) -> np.dtype:
    """The numpy dtype for `dtype`: float64 (the default, for exact gradient checks) or float32."""
    if dtype is None:
        return DEFAULT_DTYPE
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"Tensor: dtype must be float32 or float64, got {dtype!r}") from None
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"Tensor: dtype must be float32 or float64, got {resolved}")
    return resolved


def to_array(data: Any, dtype: DTypeLike = None) -> np.ndarray:
    """Numbers, bools, nested lists and numpy arrays as a float array; anything else is refused."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"Tensor: data must be numeric, got {type(data).__name__} {data!r}")
    if not isinstance(data, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        raise TypeError(
            f"Tensor: data must be a number, a (nested) list of numbers or a numpy array, "
            f"got {type(data).__name__}"
        )
    try:
        array = np.asarray(data)
    except ValueError as error:
        raise ValueError(f"Tensor: cannot make an array from this data ({error})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"Tensor: data must be numeric (float, int or bool), got numpy dtype {array.dtype}"
            + (" (complex numbers are not supported)" if array.dtype.kind == "c" else "")
        )
    if dtype is None:
        # Keep float32 and float64 arrays as they are; everything else becomes float64.
        target = array.dtype if array.dtype in FLOAT_DTYPES else DEFAULT_DTYPE
    else:
        target = as_dtype(dtype)
    converted = array.astype(target, copy=False)
    return converted if converted is array else trace.copied(array, converted)


def shape_from_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """`f(2, 3)` and `f((2, 3))` both mean the shape (2, 3)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        if not isinstance(shape[0], (tuple, list)):
            raise TypeError(f"a shape is integers or a tuple of them, got {shape[0]!r}")
        shape = tuple(shape[0])
    return shape  # numpy checks the entries where the shape is used


def as_array(value: Any) -> np.ndarray:
    """The numpy array behind a Tensor, or `value` as an array (for labels, masks, data)."""
    return value._data if isinstance(value, Tensor) else np.asarray(value)


class Tensor:
    """An n-dimensional array that records the op that made it (`.op`) for reverse-mode autodiff.

    >>> a = Tensor(5.0, requires_grad=True, name="a")
    >>> J = 3 * (a + 2.0)
    >>> J.backward()
    >>> a.grad.item()
    3.0
    """

    __slots__ = (
        "__weakref__",
        "_data",
        "_grad",
        "_version",
        "created",
        "name",
        "op",
        "requires_grad",
        "retains_grad",
        "scope",
    )
    # Make numpy hand `array * tensor` to Tensor.__rmul__ instead of looping over the tensor.
    __array_ufunc__ = None

    _data: np.ndarray
    _grad: Tensor | None
    # The creation number current at the last in-place change (0: never changed). The walk
    # compares it with each op's output: an input changed after it was used would give a wrong
    # gradient, and is refused instead.
    _version: int
    requires_grad: bool
    name: str | None
    op: Op | None
    scope: tuple[str, ...]
    created: int
    retains_grad: bool

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: DTypeLike = None,
    ) -> None:
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Tensor: requires_grad must be True or False, got {requires_grad!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a string, got {type(name).__name__}")
        array = to_array(data, dtype)
        if isinstance(data, Tensor) or array is data:
            array = trace.copied(array, array.copy())  # a new leaf never shares the caller's array
        self._data = array
        self._grad = None
        self.requires_grad = requires_grad
        self.name = name
        self.op = None
        self.retains_grad = False
        mode = current()
        self.scope = mode.scope
        self.created = 0
        self._version = 0
        if mode.recording is not None:  # (made once by a step mg.replay records)
            trace.makes_tensor(self)

    @staticmethod  # not a classmethod: binding one costs time on every op (0.4-0.7 % of a step)
    def _make(data: np.ndarray, op: Op | None = None, requires_grad: bool = False) -> Tensor:
        """A tensor around an array the engine just computed (no checks, no copy: the hot path)."""
        out = _new(Tensor)  # (a global: `object.__new__` is a full lookup at each call on 3.11)
        out._data = data
        out._grad = None
        out.requires_grad = requires_grad
        out.name = None
        out.op = op
        out.retains_grad = False
        out.scope = current().scope
        out.created = next(_creation_counter) if op is not None else 0
        out._version = 0
        return out

    # --- attributes ------------------------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The numpy array itself (shared, not copied). The engine reads `_data`, the same array,
        to spare every op this property's call."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        """Replace the values, keeping shape and dtype: what an update by hand assigns.

        A Tensor is refused (its graph would be lost and its array wrapped twice): assign an
        array, or update in place with `with mg.no_grad(): w -= lr * w.grad`. Changing `.data`
        bypasses the version counter, so backward cannot notice it.
        """
        if isinstance(value, Tensor):
            name = self.label
            raise TypeError(
                f"data: {self.describe()} was given a Tensor ({value.describe()}); .data is a numpy "
                f"array. Update in place, `with mg.no_grad(): {name} -= lr * {name}.grad`, or assign "
                f"an array (a tensor's .data, as in `{name}.data - lr * {name}.grad.data`)"
            )
        array = value if isinstance(value, np.ndarray) else to_array(value, self._data.dtype)
        if array.shape != self._data.shape:
            raise ShapeError(
                f"data: {self.describe()} cannot take an array of shape {array.shape}; the shape stays "
                f"{self.shape} (make a new tensor, mg.tensor(values), for another shape)"
            )
        if array.dtype != self._data.dtype:
            raise TypeError(
                f"data: {self.describe()} is {self._data.dtype}, the array given is {array.dtype}; "
                f"convert it with .astype({str(self._data.dtype)!r}), or make a new tensor for another dtype"
            )
        self._data = array

    @property
    def grad(self) -> Tensor | None:
        """d(output)/d(self) accumulated by `backward`: kept for leaves, and for other tensors
        only after `retain_grad()` (as in PyTorch), so intermediate gradients free as they go."""
        if self._grad is None and self.op is not None and not self.retains_grad:
            _warn_not_a_leaf(self)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | np.ndarray | None) -> None:
        if value is None:
            self._grad = None
            if current().recording is not None:  # (zero_grad inside a step mg.replay records)
                trace.sets_grad(self)
            return
        grad = value if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(
                f"grad: {self.label} has shape {self.shape}, the gradient given has {grad.shape}"
            )
        if grad.dtype != self.dtype:
            raise TypeError(f"grad: {self.label} is {self.dtype}, the gradient given is {grad.dtype}")
        self._grad = grad
        trace.sets_grad(self)

    @property
    def version(self) -> int:
        """Grows with every in-place change (`w -= ...` under no_grad); 0 if there was none."""
        return self._version

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape, e.g. (n_x, m)."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """float64 (default) or float32; bool for the result of a comparison."""
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user made (inputs, parameters, constants), not an op's output."""
        return self.op is None

    @property
    def label(self) -> str:
        """How errors and diagrams refer to this tensor: its name, else the op that made it."""
        if self.name:
            return self.name
        return f"{self.op.name}(...)" if self.op is not None else "tensor"

    def describe(self) -> str:
        """Name and shape, as error messages show them: `W[2] (1, 4)`; a number as itself: `0.5`."""
        if not self.name and self.op is None and self.ndim == 0:
            return f"{self._data.item():g}"
        return f"{self.label} {self.shape}"

    def item(self) -> float:
        """The single value as a Python number."""
        return float(self._one_number("item"))

    def numpy(self) -> np.ndarray:
        """The underlying numpy array (shared, not copied)."""
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        trace.refuse_read(f"np.asarray({self.label})")
        # np.array(t) must copy, as it does for an array: a saved "before" must not follow t.
        array = self._data if dtype is None else self._data.astype(dtype)
        return array.copy() if copy and array is self._data else array

    def detach(self) -> Tensor:
        """A new leaf sharing this data, cut from the graph (no gradient flows through it)."""
        leaf = Tensor._make(self._data)
        leaf.name = self.name
        if current().recording is not None:
            trace.makes_tensor(leaf)
        return leaf

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) tracking gradients for this leaf; returns self."""
        if not self.is_leaf:
            raise GradError(
                f"requires_grad_: {self.label} was made by {self.op.name if self.op else ''}; "
                "only leaf tensors can change requires_grad (use .detach() first)"
            )
        if requires_grad and self.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"requires_grad_: {self.label} has dtype {self.dtype}; only float tensors have gradients"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep this intermediate tensor's gradient in `.grad` after backward (leaves always do)."""
        if not self.requires_grad:
            raise GradError(f"retain_grad: {self.label} does not require grad, so it gets no gradient")
        self.retains_grad = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets `.grad` to None)."""
        self.grad = None

    def backward(self, gradient: Operand | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the `.grad` of every leaf (and retained tensor) behind it."""
        from microgrid import autograd  # here, not at the top: the walk builds on Tensor

        autograd.backward(self, gradient, create_graph=create_graph)

    def __getstate__(self) -> dict[str, Any]:
        """What a copy or a pickle keeps: the values, the name and whether gradients flow (and a
        leaf's gradient), never the graph: a loss pickled with its graph was megabytes, and a
        deep graph overflowed Python's stack. A recorded tensor comes back as a leaf."""
        return {
            "data": self._data,
            "requires_grad": self.requires_grad,
            "name": self.name,
            "scope": self.scope,
            "grad": self._grad if self.op is None else None,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._data = state["data"]
        self.requires_grad = state["requires_grad"]
        self.name = state["name"]
        self.scope = state["scope"]
        self._grad = state["grad"]
        self.op = None
        self.retains_grad = False
        self.created = 0
        self._version = 0

    # --- printing ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        values = np.array2string(
            self._data, precision=4, separator=", ", threshold=20, edgeitems=2, prefix="Tensor("
        )
        extras = []
        if self.size > 20:
            extras.append(f"shape={self.shape}")
        if self.dtype != DEFAULT_DTYPE:
            extras.append(f"dtype={self.dtype}")
        if self.name:
            extras.append(f"name={self.name!r}")
        if self.op is not None:
            extras.append(f"op={self.op.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"Tensor({values}{''.join(', ' + extra for extra in extras)})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self._one_number("bool"))

    def __float__(self) -> float:
        return float(self._one_number("float"))

    def __int__(self) -> int:
        return int(self._one_number("int"))

    def __round__(self, ndigits: int | None = None) -> float:
        return round(float(self._one_number("round")), ndigits)

    def _one_number(self, caller: str) -> Any:
        """The single value, for bool(), float(), int() and round(); refused for more values."""
        if current().recording is not None:  # (the words only then: −0.1 % of a training step)
            trace.refuse_read(f"{caller}() of {self.label}")
        if self._data.size != 1:
            raise ValueError(
                f"{caller}() of {self.describe()} is ambiguous: it has {self.size} elements, and only a "
                "one-element tensor is one number (for a mask, use (t > 0).data.any() or .all())"
            )
        return self._data.reshape(()).item()

    # Comparisons return new tensors, so hashing falls back to identity.
    __hash__ = object.__hash__

    # --- operators and methods (the functions of microgrid.functional) -----------------------
    # Each method's docstring is its function's, set at the end of functional.py.
    # + − * / @, their reflected forms (`1 - A`) and unary − are each their primitive's apply
    # itself, made by function.operator and set after the class (ops needs Tensor first): a
    # Python call fewer on every op of every step than a method calling apply.

    if TYPE_CHECKING:  # (what function.operator makes, set at the end of this module)

        def __add__(self, other: Operand) -> Tensor: ...
        def __sub__(self, other: Operand) -> Tensor: ...
        def __mul__(self, other: Operand) -> Tensor: ...
        def __truediv__(self, other: Operand) -> Tensor: ...
        def __matmul__(self, other: Operand) -> Tensor: ...
        def __radd__(self, other: Operand) -> Tensor: ...
        def __rsub__(self, other: Operand) -> Tensor: ...
        def __rmul__(self, other: Operand) -> Tensor: ...
        def __rtruediv__(self, other: Operand) -> Tensor: ...
        def __rmatmul__(self, other: Operand) -> Tensor: ...
        def __neg__(self) -> Tensor: ...

    def __pow__(self, other: Operand) -> Tensor:
        return F.pow(self, other)

    def __rpow__(self, other: Operand) -> Tensor:
        return F.pow(other, self)

    # --- in place: `with mg.no_grad(): W -= lr * W.grad` ------------------------------------

    def __iadd__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.add, ops.Add, "+=")

    def __isub__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.subtract, ops.Sub, "-=")

    def __imul__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.multiply, ops.Mul, "*=")

    def __itruediv__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.true_divide, ops.Div, "/=")

    def _in_place(self, other: Operand, ufunc: np.ufunc, op: type[Op], symbol: str) -> Tensor:
        """`self op= other`. With no graph to keep (under no_grad, or plain data), the array itself
        changes: the same tensor, still a parameter of its module and optimiser, its version
        stamped. While recording, a recorded tensor gives a new recorded tensor (the name is
        rebound, as `x = x + y` would); a parameter is refused, since changing it in place would
        lose the gradient of everything already computed from it."""
        other = other if other.__class__ is Tensor else operand(other, self)
        mode = current()
        if mode.grad_enabled and (self.requires_grad or other.requires_grad):
            if self.op is None and self.requires_grad:
                raise GradError(
                    f"{symbol}: {self.describe()} is a leaf that requires grad, and the graph is being "
                    f"recorded: changing it in place would break the gradients computed from it. Update "
                    f"it inside `with mg.no_grad():` ({self.label} {symbol} ...), or let an optimiser do it"
                )
            return op.apply(self, other)
        try:
            if mode.recording is None:  # (the usual case, an optimiser's update, without a call)
                ufunc(self._data, other._data, self._data)
            else:
                trace.kernel(ufunc, self._data, other._data, self._data, changes=(self._data,))
        except TypeError as error:  # e.g. a float result into a bool mask
            raise TypeError(f"{symbol}: {self.describe()} {symbol} {other.describe()}: {error}") from None
        except ValueError:
            raise ShapeError(
                f"{symbol}: {self.describe()} {symbol} {other.describe()}: the result would have shape "
                f"{np.broadcast_shapes(self.shape, other.shape)}, and in place the shape stays {self.shape}"
            ) from None
        self._version = next(_creation_counter)  # (_stamp_change, without its call: 4 per step)
        if mode.recording is not None:
            trace.stamps(self)
        return self

    def _stamp_change(self) -> None:
        """Record that the values changed in place (what `w -= ...` and an optimiser's step do):
        a backward through a graph that used the old values is then refused, not computed wrong."""
        self._version = next(_creation_counter)

    def __abs__(self) -> Tensor:
        return F.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return F.getitem(self, index)

    def __lt__(self, other: Operand) -> Tensor:
        return F.less(self, other)

    def __le__(self, other: Operand) -> Tensor:
        return F.less_equal(self, other)

    def __gt__(self, other: Operand) -> Tensor:
        return F.greater(self, other)

    def __ge__(self, other: Operand) -> Tensor:
        return F.greater_equal(self, other)

    def __eq__(self, other: Operand) -> Tensor:  # type: ignore[override]
        return F.equal(self, other)

    def __ne__(self, other: Operand) -> Tensor:  # type: ignore[override]
        return F.not_equal(self, other)

    @property
    def T(self) -> Tensor:
        """Transpose: axes reversed, so a (n, m) matrix becomes (m, n)."""
        return F.transpose(self)

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (a batch of transposed matrices)."""
        return F.swapaxes(self, -1, -2)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return F.sum(self, axis, keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return F.mean(self, axis, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return F.max(self, axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return F.min(self, axis, keepdims)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return F.reshape(self, *shape)

    def transpose(self, *axes: int) -> Tensor:
        return F.transpose(self, *axes)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return F.broadcast_to(self, shape)

    def astype(self, dtype: DTypeLike) -> Tensor:
        return F.astype(self, dtype)

    def exp(self) -> Tensor:
        return F.exp(self)

    def log(self) -> Tensor:
        return F.log(self)

    def sqrt(self) -> Tensor:
        return F.sqrt(self)

    def abs(self) -> Tensor:
        return F.abs(self)

    def sigmoid(self) -> Tensor:
        return F.sigmoid(self)

    def tanh(self) -> Tensor:
        return F.tanh(self)

    def relu(self) -> Tensor:
        return F.relu(self)

    def leaky_relu(self, alpha: float = 0.01) -> Tensor:
        return F.leaky_relu(self, alpha)

    def softplus(self) -> Tensor:
        return F.softplus(self)

    def clip(self, low: Operand | None = None, high: Operand | None = None) -> Tensor:
        return F.clip(self, low, high)

    def maximum(self, other: Operand) -> Tensor:
        return F.maximum(self, other)

    def minimum(self, other: Operand) -> Tensor:
        return F.minimum(self, other)

    def logsumexp(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return F.logsumexp(self, axis, keepdims)

    def log_softmax(self, axis: int = 0) -> Tensor:
        return F.log_softmax(self, axis)

    def softmax(self, axis: int = 0) -> Tensor:
        return F.softmax(self, axis)

    def log1p(self) -> Tensor:
        return F.log1p(self)

    def expm1(self) -> Tensor:
        return F.expm1(self)

    def sin(self) -> Tensor:
        return F.sin(self)

    def cos(self) -> Tensor:
        return F.cos(self)

    def square(self) -> Tensor:
        return F.square(self)

    def sign(self) -> Tensor:
        return F.sign(self)

    def var(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *, ddof: float = 0
    ) -> Tensor:
        return F.var(self, axis, keepdims, ddof=ddof)

    def std(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *, ddof: float = 0
    ) -> Tensor:
        return F.std(self, axis, keepdims, ddof=ddof)

    def prod(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return F.prod(self, axis, keepdims)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return F.argmax(self, axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return F.argmin(self, axis, keepdims)

    def squeeze(self, axis: int | Sequence[int] | None = None) -> Tensor:
        return F.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return F.unsqueeze(self, axis)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        return F.flatten(self, start_axis, end_axis)


def _warn_not_a_leaf(t: Tensor) -> None:
    """Reading .grad of a tensor an op made: it is None, and the reason is rarely obvious."""
    warnings.warn(
        f"{t.describe()} is not a leaf: {t.op.name if t.op else ''} made it, so backward() keeps no "
        f".grad for it. A parameter updated as `W = W - lr * W.grad` becomes such a tensor: update it "
        f"in place (`with mg.no_grad(): W -= lr * W.grad`) or with an optimiser; read W.data for its "
        f"values; call retain_grad() before backward() to keep an intermediate gradient",
        UserWarning,
        stacklevel=3,
    )


def operand(value: Operand, like: Tensor) -> Tensor:
    """The other operand of an operator on `like` (`1 - A`, `lr * w.grad`), as a Tensor: a Python
    number as a 0-d leaf of like's dtype, anything else by `as_tensor`.

    A number is made here, from ops.scalar's cache of 0-d arrays, with the fields Tensor._make
    sets: nine numbers of the 2→4→1 training step are each one call, not the three of as_tensor,
    scalar and _make (−0.8 % of the step's machine instructions). Each is a leaf of its own, never shared,
    so a picture draws every number where it is used and a name given to one names only it."""
    kind = value.__class__
    if (kind is float or kind is int) and (dtype := like._data.dtype).kind == "f":
        # (a zero's key says its sign, which ops.scalar's own lookup adds: zeros take that path)
        data = _number_arrays.get((value, dtype)) if value else None
        if data is None:
            data = ops.scalar(float(value), dtype)
        out = _new(Tensor)
        out._data = data
        out._grad = None
        out.requires_grad = False
        out.name = None
        out.op = None
        out.retains_grad = False
        out.scope = current().scope
        out.created = 0
        out._version = 0
        return out
    return F.as_tensor(value, like)


# The one import circle: Tensor's operators apply its ops, and the ops make Tensors. They are
# imported once Tensor exists.
from microgrid import functional as F  # noqa: E402
from microgrid import ops  # noqa: E402
from microgrid.function import operator  # noqa: E402
from microgrid.ops import _scalars as _number_arrays  # noqa: E402

for _method, _op in (
    ("__add__", ops.Add), ("__sub__", ops.Sub), ("__mul__", ops.Mul), ("__truediv__", ops.Div),
    ("__matmul__", ops.MatMul), ("__radd__", ops.Add), ("__rsub__", ops.Sub), ("__rmul__", ops.Mul),
    ("__rtruediv__", ops.Div), ("__rmatmul__", ops.MatMul), ("__neg__", ops.Neg),
):  # fmt: skip
    setattr(Tensor, _method, operator(_op, _method))
