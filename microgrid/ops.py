"""The primitives: each class computes its forward with numpy beside its rule, `vjp`, and describes
itself as data: `formula` (what it computes) and `rules` (the local derivative the rule applies to
each input, with g = d(loss)/d(out)). A rule is written with operators, methods and `Op.call`, so
that it runs on Tensors, recorded (create_graph: the backward pass is a graph), and on numpy arrays
(a plain backward, which needs only the numbers). Everything else in microgrid is composed of
these, so it has no backward rule of its own.

Why each one is a primitive:

    Add Mul Neg Pow            the arithmetic every composite is made of.
    Sub Div                    a − b and a / b could be a + (−b) and a · b⁻¹, but as one node each
                               their backward pictures read as the course's formulas, and a
                               training step runs ~9 % fewer instructions.
    Exp Log Tanh Sigmoid       the course's functions: one node, one rule (tanh′ = 1 − tanh²,
    Softplus Relu              σ′ = σ(1 − σ), relu′ = [z > 0]), and stable forwards (σ and softplus
                               never overflow).
    Log1p Expm1                ln(1 + a) and e^a − 1, exact for tiny a: composed, 1 + a rounds a
                               away (1 + 1e-17 is 1) and e^a − 1 cancels to 0.
    Sin Cos                    not composable from the others; each is the other's gradient.
    Maximum Minimum Clip       NaN goes through in either argument order, and their masks are made
                               by recorded comparisons.
    Where                      choose between two tensors by a condition: leaky_relu's two slopes.
    Compare Sign               no gradient: the masks and conditions the rules above use. They are
                               recorded all the same, so a picture can say `Z[1] > 0`.
    Cast                       float32 ↔ float64 (and a bool mask to numbers).
    Sum Mean Max               the reductions; min is −max(−a). Mean (Σ a · 1/n) is one node, not a
                               sum and a product: the course's cost J = (1/m) Σ L reads as one op,
                               and its backward as one step.
    Prod                       one node, not a Mul per element (e^(Σ ln a) fails at a ≤ 0); its
                               rule, the product of the others, is exact where elements are 0.
    Shift                      logsumexp's max-shift (no gradient: any shift gives the same value).
    Reshape Transpose          shapes. BroadcastTo and Sum are each other's gradient; `sum_to`,
    BroadcastTo GetItem        beside them, is the one place where the engine undoes broadcasting.
    ScatterAdd Concatenate
    MatMul                     W @ A, with transpose flags so that backward's dW = dZ · A[l−1]ᵀ is
                               one node.
    SigmoidCrossEntropy        the course's loss on the logits, as PyTorch's BCEWithLogitsLoss:
                               its rule is dZ = (A − Y)/m, one node where the composed softplus,
                               product and mean take six, and a third of a small network's
                               replayed step.
    SoftmaxCrossEntropy        likewise for C classes: its rule is dZ = (softmax(Z) − Y)/m, one
                               node where the composed log softmax, product and sum take ten.

Shapes may decide what a rule does (shapes are fixed for a recorded step); values never do: every
mask a rule needs is computed by an op, so the backward pass is a complete graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any, ClassVar

import numpy as np

from microgrid.errors import GradError
from microgrid.function import Op, _ndarray
from microgrid.tensor import Tensor
from microgrid.trace import aligned_empty

_constants: dict[tuple[float, np.dtype, str | None], Tensor] = {}


def constant(value: float, like: Any, name: str | None = None) -> Any:
    """A number (0 or 1 in a rule) as a 0-d graph leaf in the dtype of `like`, with the `name`
    pictures show it by (`1/m`); a 0-d array when `like` is an array (a rule run on arrays).

    Made once per number, dtype and name and shared (read-only): −0.5 % of the instructions of
    a training step against a new one each time. Emptied, as scalar's cache is, when it holds
    `_MAX_SCALARS`: a 1/m per batch size m is a new number for each size a loop gives.
    """
    if like.__class__ is not Tensor:
        return scalar(value, like.dtype)
    key = (value, like._data.dtype, name)
    found = _constants.get(key)
    if found is None:
        if len(_constants) >= _MAX_SCALARS:
            _constants.clear()  # (graphs made before keep their constants: they hold them)
        found = _constants[key] = Tensor._make(scalar(value, like._data.dtype))
        found.name = name
    return found


def scalar(value: float, dtype: np.dtype) -> np.ndarray:
    """`value` as a read-only 0-d array of `dtype`, cached: a kernel's constant. numpy turns a
    Python float into an array at every call (~0.15 µs), and one of another dtype would change
    the result's (a float64 0-d array makes a float32 product float64). The cache is emptied
    when it holds `_MAX_SCALARS` numbers, and fills again with those in use: a learning rate
    that decays by hand, `w -= lr_t * w.grad`, is a new number at every step."""
    # (0.0 == −0.0 and they hash alike, but x · −0.0 is −0.0: a zero's key says its sign)
    key = (value, dtype) if value else (value, dtype, math.copysign(1.0, value))
    found = _scalars.get(key)
    if found is None:
        if len(_scalars) >= _MAX_SCALARS:
            _scalars.clear()
        found = _scalars[key] = np.array(value, dtype=dtype)
        found.flags.writeable = False
    return found


_scalars: dict[tuple[Any, ...], np.ndarray] = {}
_MAX_SCALARS = 1024


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


def greater(a: Any, b: Any) -> Any:
    """The mask [a > b]: a recorded comparison on Tensors, numpy's on arrays. (The rules write
    `a > constant(0.0, a)`, which is the same op on Tensors, through Tensor.__gt__, and on the
    arrays of a plain backward numpy's own `>`, with no call of ours: 130 of the 13,300
    bytecodes of a [2,20,7,5,1] training step.)"""
    return Compare.call(a, b, symbol=">")


# --- elementwise arithmetic ----------------------------------------------------------------


class Add(Op):
    name, symbol = "add", "+"
    formula, rules = "a + b", ("g", "g")
    elementwise = True
    ufunc = np.add

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        return g, g  # the engine sums each back over the axes broadcasting stretched


class Sub(Op):
    name, symbol = "sub", "-"
    formula, rules = "a − b", ("g", "−g")
    elementwise = True
    ufunc = np.subtract

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        return g if self.needs_grad[0] else None, -g if self.needs_grad[1] else None


class Mul(Op):
    name, symbol = "mul", "*"
    formula, rules = "a · b", ("g · b", "g · a")
    elementwise = True
    ufunc = np.multiply

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        return g * b if self.needs_grad[0] else None, g * a if self.needs_grad[1] else None


class Div(Op):
    name, symbol = "div", "/"
    formula, rules = "a / b", ("g / b", "−g · a / b²")
    elementwise = True
    ufunc = np.true_divide

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        grad_a = g / b
        # −g·a/b² = −(g/b)·(a/b) = −(g/b)·out: no square to compute.
        grad_b = -(grad_a * out) if self.needs_grad[1] else None
        return grad_a if self.needs_grad[0] else None, grad_b


class Neg(Op):
    name = "neg"
    formula, rules = "−a", ("−g",)
    ufunc = np.negative

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return -g


class Pow(Op):
    name, symbol = "pow", "**"
    formula, rules = "a^b", ("g · b · a^(b−1)", "g · out · ln a")
    elementwise = True
    ufunc = np.power

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        grad_a = grad_b = None
        if self.needs_grad[0]:
            # a⁰ is constant, so its slope is 0; but b·a^(b−1) is 0·a^−1 = nan at a = 0. Where
            # b = 0, use the exponent 1 instead (any finite value would do: it is multiplied by 0).
            one = constant(1.0, b)
            exponent = Where.call(Compare.call(b, constant(0.0, b), symbol="=="), one, b)
            grad_a = g * b * Pow.call(a, exponent - one)
        if self.needs_grad[1]:
            # ln a only where a > 0; elsewhere a^b is 0 or not real, and its slope in b is taken as 0.
            safe_a = Where.call(a > constant(0.0, a), a, constant(1.0, a))
            grad_b = g * out * Log.call(safe_a)
        return grad_a, grad_b


# --- elementwise functions -----------------------------------------------------------------


class Exp(Op):
    name = "exp"
    formula, rules = "e^a", ("g · e^a",)
    ufunc = np.exp

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g * out  # e^a is the output itself


class Log(Op):
    name = "log"
    formula, rules = "ln a", ("g / a",)
    ufunc = np.log

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g / a


class Log1p(Op):
    name = "log1p"
    formula, rules = "ln(1 + a)", ("g / (1 + a)",)
    ufunc = np.log1p  # exact for tiny a, where 1 + a would round a away

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g / (constant(1.0, a) + a)


class Expm1(Op):
    name = "expm1"
    formula, rules = "e^a − 1", ("g · e^a",)
    ufunc = np.expm1  # exact for tiny a, where e^a − 1 would cancel to nothing

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        # e^a, not out + 1: for very negative a, out + 1 cancels to 0 where e^a is still tiny.
        return g * Exp.call(a)


class Sin(Op):
    name = "sin"
    formula, rules = "sin a", ("g · cos a",)
    ufunc = np.sin

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g * Cos.call(a)


class Cos(Op):
    name = "cos"
    formula, rules = "cos a", ("−g · sin a",)
    ufunc = np.cos

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return -(g * Sin.call(a))


class Tanh(Op):
    name = "tanh"
    formula, rules = "tanh a", ("g · (1 − out²)",)
    ufunc = np.tanh

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g * (constant(1.0, out) - out * out)


def sigmoid(a: np.ndarray, out: np.ndarray, e: np.ndarray, one: np.ndarray) -> np.ndarray:
    """σ(a) = e^min(a, 0) / (1 + e^−|a|) into `out`, with a scratch array `e` of a's shape and
    dtype, and 1 as a 0-d array of a's dtype.

    Neither exponent is ever positive, so nothing overflows: |a| = 1e4 gives exactly 1 or 0, and
    σ(−30) keeps its relative precision (1 − σ(30) would round it away). One exponential: the
    numerator e^min(a, 0) is max(e^−|a|, sign a), which is e^a where a < 0 and 1 elsewhere (at
    a = 0, e^−|a| is 1): for every number, bit for bit what a second np.exp gives (a NaN stays a
    NaN, its sign bit aside), 10 % quicker at 4×400. Seven
    ufuncs with no mask: choosing between σ(|a|) and σ(−|a|) by a sign mask took eight calls and
    twice the time for a large array (a masked copy is slow). Every step writes into a given
    array, positionally where numpy allows (a keyword costs each call ~0.1 µs), so a replay,
    which passes its buffers, allocates nothing.
    """
    np.abs(a, e)
    np.negative(e, e)
    np.exp(e, e)  # e^−|a|
    numerator = np.sign(a, out)
    np.maximum(numerator, e, out=numerator)  # (keyword: numpy 2 reads a third argument as an input)
    denominator = np.add(e, one, e)  # 1 + e^−|a|
    return np.divide(numerator, denominator, numerator)


class Sigmoid(Op):
    name = "sigmoid"
    formula, rules = "σ(a) = 1 / (1 + e^−a)", ("g · out · (1 − out)",)

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return sigmoid(a, np.empty_like(a) if out is None else out, np.empty_like(a), scalar(1.0, a.dtype))

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        (a,) = arrays
        scratch = aligned_empty(a.shape, a.dtype)
        return partial(sigmoid, a, out, scratch, scalar(1.0, a.dtype))

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g * out * (constant(1.0, out) - out)


def softplus(a: np.ndarray, out: np.ndarray, t: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """ln(1 + e^a) = max(a, 0) + ln(1 + e^−|a|) into `out`, with a scratch array `t` and `zero`,
    a 0-d array of a's dtype: finite for any a, and 5 ufuncs cheaper than np.logaddexp(0, a),
    which costs ~25 exps per element."""
    np.abs(a, t)
    np.negative(t, t)
    np.exp(t, t)
    np.log1p(t, t)
    result = np.maximum(a, zero, out=out)  # (keyword: numpy 2 reads a third argument as an input)
    return np.add(result, t, result)


class Softplus(Op):
    name = "softplus"
    formula, rules = "ln(1 + e^a)", ("g · σ(a)",)

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return softplus(a, np.empty_like(a) if out is None else out, np.empty_like(a), scalar(0.0, a.dtype))

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        (a,) = arrays
        return partial(softplus, a, out, aligned_empty(a.shape, a.dtype), scalar(0.0, a.dtype))

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g * Sigmoid.call(a)


def sigmoid_cross_entropy(
    z: np.ndarray,
    y: np.ndarray,
    out: np.ndarray,
    t: np.ndarray,
    u: np.ndarray,
    zero: np.ndarray,
    mean: np.ndarray,
) -> np.ndarray:
    """mean(softplus(z) − z·y) into the 0-d `out`, with scratch arrays t and u of z's shape, and
    0 and 1/m as 0-d arrays of z's dtype: Σ softplus(z) by six ufuncs and a sum, Σ z·y by one
    dot product (where z·y then a sum would take two passes and an array)."""
    softplus(z, u, t, zero)
    total = np.add.reduce(u, None) - np.vdot(z, y)
    return np.multiply(total, mean, out)


class LossOnLogits(Op):
    """A loss computed by one function of numpy calls with scratch arrays (`computation`): the
    same calls for the eager forward, with numpy's own arrays, and for a replay's kernel, with
    arrays aligned to cache lines (an aligned one costs a ctypes lookup, worth it only there)."""

    def forward(self, z: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return self.computation(z, y, np.empty((), z.dtype) if out is None else out, np.empty)()

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        return self.computation(arrays[0], arrays[1], out, aligned_empty)

    def computation(self, z: np.ndarray, y: np.ndarray, out: np.ndarray, empty: Any) -> Callable[[], Any]:
        """The loss of z and y into `out`, with scratch arrays made by `empty`, ready to run."""
        raise NotImplementedError


class SigmoidCrossEntropy(LossOnLogits):
    name = "sigmoid_cross_entropy"
    formula = "mean(softplus(z) − z·y)"
    rules = ("g · (σ(z) − y) / m", "−g · z / m")

    def computation(self, z: np.ndarray, y: np.ndarray, out: np.ndarray, empty: Any) -> Callable[[], Any]:
        scratch = empty(z.shape, z.dtype), empty(z.shape, z.dtype)
        mean = scalar(1.0 / max(z.size, 1), z.dtype)
        return partial(sigmoid_cross_entropy, z, y, out, *scratch, scalar(0.0, z.dtype), mean)

    def shape_problem(self, arrays: Sequence[np.ndarray]) -> str | None:
        return (
            None if arrays[0].shape == arrays[1].shape else "the logits and labels must have the same shape"
        )

    def vjp(self, g: Any, out: Any, z: Any, y: Any) -> Any:
        per_entry = g * constant(1.0 / z.size, z, "1/m")  # g / m
        dz = (Sigmoid.call(z) - y) * per_entry if self.needs_grad[0] else None
        dy = -z * per_entry if self.needs_grad[1] else None
        return dz, dy


def softmax_cross_entropy(
    z: np.ndarray,
    y: np.ndarray,
    out: np.ndarray,
    t: np.ndarray,
    shift: np.ndarray,
    total: np.ndarray,
    mean: np.ndarray,
) -> np.ndarray:
    """mean over the columns of logsumexp(z) − Σ y·z into the 0-d `out`, with scratch arrays t of
    z's shape and shift, total of one row, and 1/m as a 0-d array of z's dtype: logsumexp as
    shift + ln Σ e^(z − shift), the shift each column's max (0 where ±∞, as Shift), so nothing
    overflows; Σ y·z by one dot product."""
    finite_max(z, (0,), shift)
    np.subtract(z, shift, t)
    np.exp(t, t)
    np.add.reduce(t, axis=0, out=total, keepdims=True)
    np.log(total, total)
    np.add(total, shift, total)
    return np.multiply(np.add.reduce(total, None) - np.vdot(z, y), mean, out)


class SoftmaxCrossEntropy(LossOnLogits):
    """The course's multi-class loss on the logits z (classes, m), for label columns y that each
    sum to 1 (one-hot, or probabilities; softmax_cross_entropy checks), where it is
    −mean Σ y · log softmax(z). The rules are the derivatives of the formula for any y; y's
    differs from −g · log softmax(z) / m by logsumexp(z)/m in every entry of a column, which no
    change of labels that keeps each column's sum at 1 can see (a softmax's Jacobian sends it to 0)."""

    name = "softmax_cross_entropy"
    formula = "mean(logsumexp(z) − Σ z·y)"
    rules = ("g · (softmax(z) − y) / m", "−g · z / m")

    def computation(self, z: np.ndarray, y: np.ndarray, out: np.ndarray, empty: Any) -> Callable[[], Any]:
        problem = self.shape_problem((z, y))
        if problem is not None:  # (Op.apply words it with the operands' names and shapes)
            raise ValueError(problem)
        row = empty((1, z.shape[1]), z.dtype), empty((1, z.shape[1]), z.dtype)
        mean = scalar(1.0 / z.shape[1] if z.shape[1] else math.nan, z.dtype)  # (no examples: NaN)
        return partial(softmax_cross_entropy, z, y, out, empty(z.shape, z.dtype), *row, mean)

    def shape_problem(self, arrays: Sequence[np.ndarray]) -> str | None:
        z, y = arrays
        if z.ndim != 2:
            return "the logits must be (classes, m), one example per column"
        return None if z.shape == y.shape else "the logits and labels must have the same shape"

    def vjp(self, g: Any, out: Any, z: Any, y: Any) -> Any:
        per_example = g * constant(1.0 / z.shape[1], z, "1/m")  # g / m
        dz = None
        if self.needs_grad[0]:
            e = Exp.call(z - Shift.call(z, axis=(0,), keepdims=True))  # no overflow
            probabilities = e / Sum.call(e, axis=(0,), keepdims=True)
            if probabilities.__class__ is Tensor:
                # Named in slot words, as rules are: a picture spells it softmax(Z[2]), so the
                # backward picture reads dZ[2] = (softmax(Z[2]) − Y) · (dJ · 1/m), the course's equation.
                probabilities.name = "softmax(z)"
            dz = (probabilities - y) * per_example
        dy = -z * per_example if self.needs_grad[1] else None
        return dz, dy


class Relu(Op):
    name = "relu"
    formula, rules = "max(a, 0)", ("g · [a > 0]",)

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.maximum(a, scalar(0.0, a.dtype), out=out)

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        return partial(np.maximum, arrays[0], scalar(0.0, arrays[0].dtype), out=out)

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g * (a > constant(0.0, a))


class Maximum(Op):
    name = "maximum"
    formula, rules = "max(a, b)", ("g · [a ≥ b]", "g · [a < b]")  # a tie's gradient goes to a
    elementwise = True
    ufunc = np.maximum

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        return _choose(g, Compare.call(a, b, symbol=">="), self.needs_grad)


class Minimum(Op):
    name = "minimum"
    formula, rules = "min(a, b)", ("g · [a ≤ b]", "g · [a > b]")  # a tie's gradient goes to a
    elementwise = True
    ufunc = np.minimum

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        return _choose(g, Compare.call(a, b, symbol="<="), self.needs_grad)


def _choose(g: Any, first: Any, needs_grad: tuple[bool, ...]) -> Any:
    """g where `first` holds (for the first input) and g elsewhere (for the second)."""
    zero = constant(0.0, g)
    return (
        Where.call(first, g, zero) if needs_grad[0] else None,
        Where.call(first, zero, g) if needs_grad[1] else None,
    )


class Clip(Op):
    name = "clip"
    formula = "min(max(a, low), high)"
    rules = ("g · [low ≤ a ≤ high]", "g · [a < low]", "g · [a > high]")
    elementwise = True

    def forward(
        self, a: np.ndarray, low: np.ndarray, high: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        raised = np.maximum(a, low, out=out)  # (np.clip's Python wrapper is slower)
        return np.minimum(raised, high, out=out)

    def vjp(self, g: Any, out: Any, a: Any, low: Any, high: Any) -> Any:
        above_low = Compare.call(a, low, symbol=">=")
        below_high = Compare.call(a, high, symbol="<=")
        inside = above_low * below_high  # `and` of two masks
        zero = constant(0.0, g)
        return (
            Where.call(inside, g, zero) if self.needs_grad[0] else None,
            Where.call(above_low, zero, g) if self.needs_grad[1] else None,
            Where.call(below_high, zero, g) if self.needs_grad[2] else None,
        )


class Where(Op):
    name = "where"
    formula, rules = "a if condition else b", (None, "g · [condition]", "g · [not condition]")
    elementwise = True

    def forward(
        self, condition: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        if out is None:
            return np.where(condition, a, b)
        np.copyto(out, b)  # np.where has no `out`: the same values in two copies
        np.copyto(out, a, where=condition)
        return out

    def vjp(self, g: Any, out: Any, condition: Any, a: Any, b: Any) -> Any:
        return (None, *_choose(g, condition, self.needs_grad[1:]))


def _same(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a = b, counting NaN = NaN: where max's gradient goes when the max is NaN (as in PyTorch)."""
    both_nan = np.isnan(a) & np.isnan(b)
    return np.logical_or(a == b, both_nan, out=out)


class Compare(Op):
    """a > b and the other comparisons: a bool mask, with no gradient."""

    name = "compare"
    formula, rules = "a > b (or <, ≤, ≥, =, ≠)", (None, None)
    differentiable = False
    elementwise = True
    # symbol -> (numpy's ufunc, the op's name, its formula), looked up once per comparison.
    KINDS: ClassVar[dict[str, tuple[Any, str, str]]] = {
        "<": (np.less, "less", "a < b"),
        "<=": (np.less_equal, "less_equal", "a ≤ b"),
        ">": (np.greater, "greater", "a > b"),
        ">=": (np.greater_equal, "greater_equal", "a ≥ b"),
        "==": (np.equal, "equal", "a = b"),
        "same": (_same, "same", "a = b (NaN = NaN)"),
        "!=": (np.not_equal, "not_equal", "a ≠ b"),
    }

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.ufunc, self.name, self.formula = self.KINDS[symbol]

    def forward(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return self.ufunc(a, b, out=out)

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        return None, None


class Sign(Op):
    """−1, 0 or 1: the sign of each element, with no gradient (|a| is a · sign a)."""

    name = "sign"
    formula, rules = "sign a", (None,)
    differentiable = False
    ufunc = np.sign

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return (None,)


class Cast(Op):
    name = "astype"
    formula, rules = "a", ("g cast back",)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def describe(self) -> str:
        return f"astype {self.dtype}"

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return a.astype(self.dtype)
        np.copyto(out, a, casting="unsafe")  # the same conversion astype makes
        return out

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return Cast.call(g, dtype=a.dtype)


# --- reductions ----------------------------------------------------------------------------


class Reduction(Op):
    """A reduction over `axis` (every axis when None), keeping the reduced axes as size 1 or not."""

    # The ufunc's reduce method (np.add.reduce): numpy's np.sum, like np.reshape and
    # np.transpose, is a Python wrapper (3-4 % of a training step, together).
    reduce: ClassVar[Any]

    def __init__(self, axis: int | Sequence[int] | None, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def describe(self) -> str:
        return describe_axes(self.name, self.axis, self.keepdims)

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return self.reduce(a, axis=self.axis, keepdims=self.keepdims, out=out)

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        return partial(self.reduce, arrays[0], self.axis, None, out, self.keepdims)


class Sum(Reduction):
    name = "sum"
    formula, rules = "Σ a", ("g repeated along the summed axes",)
    reduce = np.add.reduce

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        shape = a.shape
        if not self.keepdims and self.axis is not None:  # a full sum's scalar broadcasts as is
            g = Reshape.call(g, shape=kept_shape(shape, self.axis))
        if g.__class__ is not Tensor:  # a plain backward's array: BroadcastTo's forward, no op made
            return _copied(np.empty(shape, g.dtype), g)
        return BroadcastTo.call(g, shape=shape)


class Mean(Sum):
    """Σ a / m, as Σ a · (1/m), m the number of elements each mean averages: a primitive, not a
    Sum and a Mul, so that a cost J = (1/m) Σ L is one node, as the course writes it, and its
    backward one step (g · 1/m repeated), not three."""

    name = "mean"
    formula, rules = "Σ a / m", ("g · 1/m repeated along the averaged axes",)

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        total = np.add.reduce(a, self.axis, None, out, self.keepdims)  # type: ignore[call-overload]
        return np.multiply(total, _one_over_count(total.size, a), out)

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        (a,) = arrays
        return partial(_scaled_sum, a, self.axis, self.keepdims, _one_over_count(out.size, a), out)

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        # Sum's rule (repeat g along the averaged axes) on g · 1/m: m from the shapes alone.
        return super().vjp(g * constant(out.size / a.size if a.size else math.nan, g), out, a)


def _scaled_sum(a: np.ndarray, axis: Any, keepdims: bool, scale: np.ndarray, out: np.ndarray) -> Any:
    """Σ a over `axis` times `scale` (1/m), into `out` (a replay's buffer)."""
    # (positional arguments, quicker than keywords, which numpy's type stubs do not describe)
    return np.multiply(np.add.reduce(a, axis, None, out, keepdims), scale, out)  # type: ignore[call-overload]


def _one_over_count(means: int, a: np.ndarray) -> np.ndarray:
    """1/m for `means` means of a's elements, m = a.size / means each (NaN for none, as numpy's
    mean of nothing), as a 0-d array of a's float dtype (float64 for integers and booleans).
    means / a.size is 1/m correctly rounded, as 1 / m is: the same number."""
    return scalar(means / a.size if a.size else math.nan, a.dtype if a.dtype.kind == "f" else _FLOAT64)


_FLOAT64 = np.dtype(np.float64)


class Max(Reduction):
    name = "max"
    # Ties share the gradient; where the max is NaN, the NaNs share it (as in PyTorch).
    formula, rules = "max a", ("g · [a = max a] / number of maxima",)
    reduce = np.maximum.reduce

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        shape = kept_shape(a.shape, self.axis)
        is_max = Cast.call(Compare.call(a, Reshape.call(out, shape=shape), symbol="same"), dtype=g.dtype)
        share = is_max / Sum.call(is_max, axis=normalize_axes(self.axis, a.ndim), keepdims=True)
        return Reshape.call(g, shape=shape) * share


class Prod(Reduction):
    name = "prod"
    formula, rules = "Π a", ("g · (the product of the other elements)",)
    reduce = np.multiply.reduce

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        # Not out / a, which is 0 / 0 at a zero. With p the product of a slice's nonzero elements,
        # the others of a nonzero element multiply to p / a · (the product of the zeros): 0 once
        # the slice holds a zero, yet with that zero's slope. The others of a zero multiply to p
        # if it is the only zero, else to 0. The masks are recorded ops, so second derivatives
        # are exact too, but for the one between the two zeros of a slice that has exactly two
        # (0 here, p in truth).
        axes = normalize_axes(self.axis, a.ndim)
        zero, one = constant(0.0, a), constant(1.0, a)
        is_zero = Compare.call(a, zero, symbol="==")
        nonzero = Where.call(is_zero, one, a)  # the zeros replaced by 1
        rest = Prod.call(nonzero, axis=axes, keepdims=True)
        zeros = Prod.call(Where.call(is_zero, a, one), axis=axes, keepdims=True)
        count = Sum.call(Cast.call(is_zero, dtype=a.dtype), axis=axes, keepdims=True)
        only_zero = Compare.call(count, one, symbol="==")
        others = Where.call(is_zero, Where.call(only_zero, rest, zero), rest / nonzero * zeros)
        return Reshape.call(g, shape=kept_shape(a.shape, self.axis)) * others


class Shift(Reduction):
    """max a over `axis`, kept as size 1, and 0 where that max is ±∞: logsumexp computes
    m + log Σ e^(a − m) with m this shift, so nothing overflows, and a row of −∞ (log 0) gives −∞.
    No gradient flows through it: any constant shift gives the same value."""

    name = "shift"
    formula, rules = "max a (0 where ±∞)", (None,)
    differentiable = False

    reduce = np.maximum.reduce

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return finite_max(a, self.axis, out)

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        return partial(self.forward, arrays[0], out)

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return (None,)


def finite_max(a: np.ndarray, axis: int | Sequence[int] | None, out: np.ndarray | None = None) -> np.ndarray:
    """max a over `axis`, kept as size 1, with 0 where it is ±∞: Shift's value, also the shift
    of the fused softmax cross-entropy's kernel."""
    most = np.asarray(np.maximum.reduce(a, axis=axis, keepdims=True, out=out))  # (0-d: a scalar)
    np.copyto(most, 0.0, where=~np.isfinite(most))
    return most


def kept_shape(shape: tuple[int, ...], axis: int | Sequence[int] | None) -> tuple[int, ...]:
    """The shape a reduction over `axis` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# --- shape ---------------------------------------------------------------------------------


class Reshape(Op):
    name = "reshape"
    formula, rules = "a", ("g reshaped back",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def describe(self) -> str:
        return f"reshape {self.shape}"

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # The method, not np.reshape's Python wrapper (see Reduction). Usually a view, which a
        # replay needs no kernel for; into `out` only when numpy had to copy.
        return a.reshape(self.shape) if out is None else _copied(out, a.reshape(self.shape))

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return Reshape.call(g, shape=a.shape)


class Transpose(Op):
    name = "transpose"
    formula, rules = "aᵀ", ("gᵀ",)

    def __init__(self, axes: tuple[int, ...] | None) -> None:
        self.axes = axes

    def describe(self) -> str:
        return "transpose" if self.axes is None else f"transpose {self.axes}"

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # The method, not np.transpose's Python wrapper (see Reduction): a view.
        return a.transpose(self.axes) if out is None else _copied(out, a.transpose(self.axes))

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        inverse = None if self.axes is None else tuple(int(i) for i in np.argsort(self.axes))
        return Transpose.call(g, axes=inverse)


class BroadcastTo(Op):
    name = "broadcast_to"
    formula, rules = "a repeated", ("g summed over the repeated axes",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def describe(self) -> str:
        return f"broadcast_to {self.shape}"

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # A real copy, not np.broadcast_to's read-only view: a gradient that ends up in `.grad`
        # stays writable, and the step is faster (1.4-3 % of a training step's instructions).
        return _copied(np.empty(self.shape, dtype=a.dtype) if out is None else out, a)

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return g  # the engine's sum_to sums it back


def _copied(out: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` copied into `out`, which is returned: forward into a replay's buffer."""
    out[...] = values
    return out


def sum_to(grad: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum `grad` (a Tensor, or an array in a plain backward) over the axes
    that broadcasting added or stretched.

    The backward walk calls it for every gradient whose shape is not its input's, so no op's
    rule has to remember broadcasting. A shape broadcasting could not have made is refused.
    """
    if shape.__class__ is not tuple:
        shape = tuple(shape)  # (a list, say: the shapes are keys of _stretched's cache)
    axes, lead = _stretched(grad.shape, shape)
    if axes:
        grad = _summed(grad, axes)
    if lead:
        grad = Reshape.call(grad, shape=shape)
    return grad


@lru_cache(maxsize=256)
def _stretched(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """The axes broadcasting added in front of `shape` or stretched from size 1 to make
    `grad_shape`, and how many it added. (Kept per pair of shapes: a training step undoes the
    same few at every step, and the loop is most of sum_to's time.)"""
    lead = len(grad_shape) - len(shape)
    if lead < 0:
        raise GradError(f"sum_to: gradient of shape {grad_shape} cannot be summed to {shape}")
    axes = list(range(lead))
    for axis, size in enumerate(shape, lead):
        if size != grad_shape[axis]:
            if size != 1:  # only a size-1 axis can have been stretched
                raise GradError(f"sum_to: gradient of shape {grad_shape} cannot be summed to {shape}")
            axes.append(axis)
    return tuple(axes), lead


def _summed(grad: Any, axes: tuple[int, ...]) -> Any:
    """grad summed over `axes`, keeping them: a plain backward's array by Sum's own reduce, with
    no op made; a Tensor, or an array whose sum overflows or makes NaN (which Sum.call computes
    again on Tensors and reports, as every op does), by Sum.call."""
    if grad.__class__ is _ndarray:
        try:
            return Sum.reduce(grad, axes, keepdims=True)
        except RuntimeWarning:  # (made an error in microgrid's modules: errors.py)
            pass
    return Sum.call(grad, axis=axes, keepdims=True)


class GetItem(Op):
    name = "getitem"
    formula, rules = "a[index]", ("g scattered into zeros at index",)

    def __init__(self, index: Any) -> None:
        self.index = index

    def describe(self) -> str:
        return f"getitem [{format_index(self.index)}]"

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return a[self.index] if out is None else _copied(out, a[self.index])  # a view for slices

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return ScatterAdd.call(g, index=self.index, shape=a.shape)


class ScatterAdd(Op):
    """zeros(shape) with a added at `index`, repeated indices adding up: getitem's gradient."""

    name = "scatter_add"
    formula, rules = "zeros with a added at index", ("g[index]",)

    def __init__(self, index: Any, shape: tuple[int, ...]) -> None:
        self.index, self.shape = index, shape

    def describe(self) -> str:
        return f"scatter_add [{format_index(self.index)}] into {self.shape}"

    def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.zeros(self.shape, dtype=a.dtype)
        else:
            out.fill(0)
        if is_basic_index(self.index):
            out[self.index] = a  # slices never repeat an element, so plain assignment suffices
        else:
            np.add.at(out, self.index, a)
        return out

    def vjp(self, g: Any, out: Any, a: Any) -> Any:
        return GetItem.call(g, index=self.index)


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
    name = "concatenate"
    formula, rules = "[a₁, a₂, …] joined", ("g[the part input {i} filled]",)
    variadic = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def describe(self) -> str:
        return f"concatenate axis={self.axis}"

    def forward(self, *arrays: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.concatenate(arrays, axis=self.axis, out=out)

    def vjp(self, g: Any, out: Any, *inputs: Any) -> Any:
        axis = self.axis % g.ndim
        grads = []
        start = 0
        for t, needed in zip(inputs, self.needs_grad):
            stop = start + t.shape[axis]
            index = (slice(None),) * axis + (slice(start, stop),)
            grads.append(GetItem.call(g, index=index) if needed else None)
            start = stop
        return tuple(grads)


# --- linear algebra ------------------------------------------------------------------------

# (transpose_a, transpose_b) -> formula and rules: with A′ = op(a), B′ = op(b), dA′ = g B′ᵀ and
# dB′ = A′ᵀ g; a transposed operand's gradient is the transpose of its A′'s.
_MATMUL_TEXT = {
    (False, False): ("a @ b", ("g @ bᵀ", "aᵀ @ g")),
    (False, True): ("a @ bᵀ", ("g @ b", "gᵀ @ a")),
    (True, False): ("aᵀ @ b", ("b @ gᵀ", "a @ g")),
    (True, True): ("aᵀ @ bᵀ", ("bᵀ @ gᵀ", "gᵀ @ aᵀ")),
}


def _product(a: np.ndarray, b: np.ndarray) -> Any:
    """The ufunc that computes a @ b: np.multiply for an outer product (n, 1) @ (1, m), where
    each entry is one product, as in matmul, without BLAS's set-up (2.5 µs against 0.6 µs for
    (4, 1) @ (1, 400), backward's Wᵀ @ dZ in a network with one output); else np.matmul."""
    # len(b), b's rows, first: rarely 1, and cheaper than a shape, which makes a tuple (−0.3 %)
    if b.ndim == 2 and len(b) == 1 and a.ndim == 2 and a.shape[1] == 1:
        return np.multiply
    return np.matmul


def _matmul(
    a: np.ndarray, b: np.ndarray, transpose_a: bool = False, transpose_b: bool = False, out: Any = None
) -> Any:
    """a @ b on arrays, either operand transposed: MatMul's forward, and its rule's three products
    in a plain backward, where MatMul.call would make an op for each: −1.6 % of the machine
    instructions of the 2→4→1 training step, with _any_recorded's loop."""
    # (what MatMul.operands does, without its call: 11 products in a [2,20,7,5,1] step)
    if transpose_a:
        a = a.swapaxes(-1, -2)
    if transpose_b:
        b = b.swapaxes(-1, -2)
    return _product(a, b)(a, b, out)


class MatMul(Op):
    """a @ b (numpy's rules for 1-D and batched operands), either operand's last two axes
    optionally transposed: flags, not separate ops, so backward computes dW = dZ @ Aᵀ in one step."""

    name, symbol = "matmul", "@"
    formula, rules = _MATMUL_TEXT[False, False]

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False) -> None:
        self.transpose_a, self.transpose_b = transpose_a, transpose_b
        if transpose_a or transpose_b:
            self.formula, self.rules = _MATMUL_TEXT[transpose_a, transpose_b]

    def describe(self) -> str:
        if not (self.transpose_a or self.transpose_b):
            return self.name
        return f"{self.name} {self.formula}"

    def forward(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return _matmul(a, b, self.transpose_a, self.transpose_b, out)

    def operands(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """a and b as the product reads them: transposed (as views) where the flags say (forward
        does the same inline)."""
        return (a.swapaxes(-1, -2) if self.transpose_a else a), (
            b.swapaxes(-1, -2) if self.transpose_b else b
        )

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        a, b = self.operands(*arrays)  # the views made once
        return partial(_product(a, b), a, b, out)

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

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        row, column = a.ndim == 1, b.ndim == 1
        if not (row or column):
            return self._matrix_grads(a, b, g)
        # numpy treats a 1-D `a` as a row and a 1-D `b` as a column: do the same, then drop the
        # axis. (Forward refuses transpose flags on a 1-D operand, so these are never transposed.)
        a2 = a.reshape(1, a.shape[0]) if row else a
        b2 = b.reshape(b.shape[0], 1) if column else b
        if row and column:
            g2 = g.reshape(1, 1)
        elif row:
            g2 = g.reshape(*g.shape[:-1], 1, g.shape[-1])
        else:
            g2 = g.reshape(*g.shape, 1)
        grad_a, grad_b = self._matrix_grads(a2, b2, g2)
        if row and grad_a is not None:
            grad_a = grad_a.reshape(*grad_a.shape[:-2], grad_a.shape[-1])
        if column and grad_b is not None:
            grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b

    def _matrix_grads(self, a: Any, b: Any, grad: Any) -> Any:
        """The rule for matrices (or batches of them), each operand transposed or not."""
        # With A' = op(A), B' = op(B): dA' = G B'ᵀ and dB' = A'ᵀ G; a transposed operand's
        # gradient is the transpose of that, i.e. dA = B' Gᵀ and dB = Gᵀ A'.
        ta, tb = self.transpose_a, self.transpose_b
        # A recorded MatMul on Tensors; numpy's product itself on a plain backward's arrays.
        product = _matmul if grad.__class__ is _ndarray else MatMul.call
        grad_a = grad_b = None
        if self.needs_grad[0]:
            if ta:
                grad_a = product(b, grad, transpose_a=tb, transpose_b=True)
            else:
                grad_a = product(grad, b, transpose_b=not tb)
        if self.needs_grad[1]:
            if tb:
                grad_b = product(grad, a, transpose_a=True, transpose_b=ta)
            else:
                grad_b = product(a, grad, transpose_a=not ta)
        return grad_a, grad_b


# Every primitive, for tests and docs: the classes of this module with a name of their own.
PRIMITIVES: tuple[type[Op], ...] = tuple(
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Op) and cls.name != Op.name  # (not the bases)
)
