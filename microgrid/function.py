"""Op, the base class of every primitive, and each op class's `apply`, the one door into the graph.

A primitive is a subclass with `forward` (numpy arrays in, an array out) beside its rule,
`vjp`, written once for Tensors and numpy arrays alike: on Tensors it records, so the backward
pass is itself a graph; on arrays, a plain backward's, numpy computes the same numbers without
one. It describes itself as data, which diagrams, captions and tests read:

    class Mul(Op):
        name, symbol = "mul", "*"
        formula = "a · b"              # what it computes, in the names of forward's parameters
        rules = ("g · b", "g · a")     # d(loss)/d(input) for each input; g is d(loss)/d(out)

        def forward(self, a, b): ...
        def vjp(self, g, out, a, b): ...
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from microgrid.errors import (
    AnomalyError,
    BroadcastWarning,
    GradError,
    NumericalWarning,
    ShapeError,
    cannot_broadcast,
    report_numerical_warnings,
    warn_at_call_site,
)
from microgrid.modes import current
from microgrid.trace import recorded_op

if TYPE_CHECKING:
    from microgrid.tensor import Tensor

Grads = Sequence["Tensor | None"]


class Apply(Protocol):
    """What `Mul.apply` is: Tensors in, a Tensor out, keyword arguments for the op's __init__."""

    def __call__(self, *inputs: Tensor, **params: Any) -> Tensor: ...


_ndarray = np.ndarray  # `data.__class__ is _ndarray` rather than isinstance: −1 % of a step's instructions
# The ufuncs that take `out` only by keyword: numpy 2 deprecates a third positional argument
# of maximum and minimum (it reads as a third input).
_KEYWORD_OUT = (np.maximum, np.minimum)


class Op:
    """A primitive: `forward` maps numpy arrays to an array, `backward` maps d(out) to d(inputs).

    The instance is the context: `apply` makes it, stores the inputs in `inputs` and which of them
    need a gradient in `needs_grad`; anything else the rule needs (an axis, a shape) is an
    attribute set in `__init__`. `backward(grad, out)` gets g = d(loss)/d(out) and returns one
    Tensor per input (None where `needs_grad` is False), computed with microgrid ops only, so
    that with `create_graph=True` the gradients are recorded and can be differentiated again.
    The primitives write it as `vjp(g, out, *inputs)` instead, which a plain backward also runs
    on numpy arrays.

    An op you write yourself needs only `forward` and `backward` (or `vjp`); `formula` and `rules`
    make its diagrams and step-through captions say what it computes (without them they show its
    name).
    """

    name: str = "op"
    # For binary ops, the infix symbol error messages use: `W[2] (1, 4) @ A[1] (3, 400)`.
    symbol: str | None = None
    # What the op computes, written with the names of forward's parameters: "a · b".
    formula: str | None = None
    # One local rule per input, d(loss)/d(input) in terms of g = d(loss)/d(out), the inputs and
    # `out`: ("g · b", "g · a"); None for an input that never gets a gradient (a condition).
    rules: tuple[str | None, ...] | None = None
    # A variadic op (concatenate) gives one rule for every input, `{i}` standing for its number.
    variadic: ClassVar[bool] = False
    # These three are read once, when the class is made (its `apply` keeps them): set them in
    # the class body.
    # False for ops whose output has no gradient (comparisons, sign): they are recorded, so
    # pictures show where a mask comes from, but the backward walk never visits them.
    differentiable: ClassVar[bool] = True
    # True for the ops that broadcast their inputs against each other elementwise (add, mul...):
    # a row against a column of the same length is the course's classic shape slip, and warned.
    elementwise: ClassVar[bool] = False
    # An op that is one numpy ufunc names it (np.add): that is its forward, and its apply calls
    # it directly, sparing each such op a Python call.
    ufunc: Any = None

    # Set for each class: True when its rule is `vjp` (and `backward` is Op's, which calls it),
    # so that a plain backward may run the rule on numpy arrays; an op that writes `backward`
    # itself gets Tensors.
    array_rule: ClassVar[bool] = False
    # Set for each class: False for microgrid's own primitives, whose vjp gives arrays when given
    # arrays by construction (a test checks every one); True for any other op, whose vjp's values
    # the walk checks before it uses them (a Tensor from mg.exp, a forgotten return).
    check_values: ClassVar[bool] = True

    # () until apply links the op into a graph. (Class defaults, not __slots__: a slot has no
    # default, and the __getattr__ that gave one took every read of an op's fields off CPython's
    # quick path for attributes: +2.5 % of the machine instructions of a training step.)
    inputs: tuple[Tensor, ...] = ()
    needs_grad: tuple[bool, ...] = ()

    apply: ClassVar[Apply]
    """`Mul.apply(a, b)`: run `forward` on the inputs' arrays and, when recording, link the output
    to a new op of this class; keyword arguments go to its `__init__` (`Sum.apply(x, axis=(1,),
    keepdims=True)`). Called on the class: each class gets its own when it is made, and may not
    write one (see `_make_apply`)."""
    call: ClassVar[Callable[..., Any]]
    """`Exp.call(a)`, the op inside a rule (`vjp`): `apply` when an operand is a Tensor, and on
    numpy arrays the forward alone, which returns an array and makes no Tensor."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__doc__ is None and cls.formula is not None:
            cls.__doc__ = cls.summary()  # help(ops.Mul) says what the data says: one source
        cls.array_rule = cls.backward is Op.backward and cls.vjp is not Op.vjp
        cls.check_values = cls.__module__ != "microgrid.ops"  # (checked: +4.6 % of backward bytecodes)
        # apply and call, made for this class (see _make_apply)
        for name, make in (("apply", _make_apply), ("call", _make_call)):
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} defines {name}: microgrid makes {name} for every op class, from "
                    "its forward and its flags. Write forward and vjp (or backward), and anything "
                    f"around the op in a function that calls {cls.__name__}.apply"
                )
            setattr(cls, name, make(cls))

    @classmethod
    def summary(cls) -> str:
        """`a · b;  d/da = g · b,  d/db = g · a`: the formula and the rules on one line."""
        rules = cls.rules or ()
        slots = cls.slots() if not cls.variadic else ("a_i",)
        parts = [f"d/d{slot} = {rule.replace('{i}', 'i')}" for slot, rule in zip(slots, rules) if rule]
        return "; ".join([f"{cls.formula}", ", ".join(parts) or "no gradient"])

    def forward(self, *arrays: Any, **out: Any) -> np.ndarray:  # (*Any, **Any): any arity may override
        """The output array computed from the input arrays: into `out=` when given (a replay's
        buffer; an op you write may leave `out` out, and a replay copies its result instead)."""
        if self.ufunc is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither forward nor ufunc")
        return self.ufunc(*arrays, **out)

    def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
        """A call that computes this op again from `arrays` into `out`, allocating nothing: what a
        replay runs. The arrays are refilled by the kernels before it, so it reads new values."""
        if self.ufunc is not None:  # numpy itself, with no Python call between
            if self.ufunc in _KEYWORD_OUT:
                return partial(self.ufunc, *arrays, out=out)
            return partial(self.ufunc, *arrays, out)  # (a keyword costs a partial ~0.1 µs a call)
        if "out" in inspect.signature(type(self).forward).parameters:
            return partial(self.forward, *arrays, out=out)
        return partial(_copy_into, out, self.forward, arrays)  # an op that takes no `out`

    def backward(self, grad: Tensor, out: Tensor) -> Tensor | Grads:
        """One gradient per input (None where `needs_grad` is False), from d(loss)/d(out): `vjp`
        on the tensors, for an op that writes its rule as one."""
        try:
            return self.vjp(grad, out, *self.inputs)
        except TypeError as error:
            if "__array_ufunc__" not in str(error):
                raise
            raise GradError(
                f"vjp of {self.describe()} called a numpy function on Tensors ({error}). A vjp gets "
                "Tensors when the backward is recorded: use operators, methods and Op.call "
                "(ops.Cos.call(a) for np.cos(a)), never np.* or .data"
            ) from error

    def vjp(self, g: Any, out: Any, *inputs: Any) -> Any:
        """d(loss)/d(input) for each input (None where `needs_grad` is False), from g = d(loss)/d(out),
        the output and the inputs, written so that it runs on Tensors and on numpy arrays alike:
        g, out and the inputs are all Tensors or all arrays, and it computes with operators, methods
        both share (reshape, astype, shape) and `Op.call`. On Tensors (`backward`: a backward with
        create_graph) every step is a recorded op; on arrays, a plain backward's, numpy computes
        the same numbers with no Tensor made. It returns a tuple, or a one-input op's gradient
        alone. The name is JAX's: g times the op's Jacobian, a vector-Jacobian product."""
        raise NotImplementedError(f"{type(self).__name__} defines neither backward nor vjp")

    def describe(self) -> str:
        """The op as diagrams label it, with its parameters: `sum axis=1 keepdims`."""
        return self.name

    def shape_problem(self, arrays: Sequence[np.ndarray]) -> str | None:
        """Why these input shapes cannot work, when forward raised; None to reuse numpy's words."""
        return None

    @classmethod
    def slots(cls) -> tuple[str, ...]:
        """The names of forward's inputs (`("a", "b")`), which `formula` and `rules` are written in;
        a, b for an op that is a ufunc."""
        if cls.forward is Op.forward and cls.ufunc is not None:
            return ("a", "b", "c")[: cls.ufunc.nin]
        parameters = inspect.signature(cls.forward).parameters.values()
        return tuple(
            p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in ("self", "out")
        )

    def rule(self, position: int) -> str | None:
        """The local rule for input `position` ("g · b"), or None when there is none to show."""
        if self.rules is None:
            return None
        if self.variadic:
            return self.rules[0].replace("{i}", str(position + 1)) if self.rules[0] else None
        return self.rules[position] if position < len(self.rules) else None

    def forward_quietly(self, inputs: Sequence[Tensor], warning: Warning) -> tuple[Any, tuple[bool, ...]]:
        """Forward again with numpy's warnings off, after one: report it once, at the user's line."""
        with np.errstate(all="ignore"):
            data = self.forward(*[t._data for t in inputs])
        operands = ", ".join(t.describe() for t in inputs)
        warn_at_call_site(
            f"{self.describe()}: {warning} (inputs: {operands}); the result holds inf or NaN. "
            "Use `with mg.detect_anomaly():` to stop at the first op that makes one "
            "(a learning rate too large for the step is the usual cause in training)",
            NumericalWarning,
            once=True,
        )
        return data, tuple([t.requires_grad for t in inputs])

    def failure_message(self, inputs: Sequence[Tensor], error: Exception) -> str:
        """`op: W[2] (1, 4) @ A[1] (3, 400): inner sizes 4 and 3 differ`."""
        arrays = [t._data for t in inputs]
        if self.symbol is not None and len(inputs) == 2:
            operands = f"{inputs[0].describe()} {self.symbol} {inputs[1].describe()}"
        else:
            operands = ", ".join(t.describe() for t in inputs)
        reason = self.shape_problem(arrays)
        if reason is None and "broadcast" in str(error):
            reason = cannot_broadcast(*(a.shape for a in arrays))
        reason = reason or str(error).split("\n")[0]
        return f"{self.describe()}: {operands}: {reason}"


def operator(cls: type[Op], name: str) -> Callable[..., Tensor]:
    """`Tensor.__add__` (`name`; `__radd__` reflected, `other + self`): `cls.apply` that first makes
    the other operand a Tensor when it is not one (`x * 0.5`, `1 - A`), as `operand` does. `a + b`
    runs this apply itself, not a method that calls it: a Python call fewer on every operator.
    `a + b` took 12,180 machine instructions, and takes about 11,950 (callgrind; numpy's own, 6,129)."""
    binary = _input_counts(cls).start == 2
    method: Callable[..., Tensor] = _make_apply(cls, operator_name=name)
    # Named as the method it is, for help(), repr, pickle (a bound `t.__mul__` is found again by
    # its __name__) and tracebacks (which print the code's own name), with the signature of one.
    method.__name__, method.__qualname__, method.__module__ = name, f"Tensor.{name}", "microgrid.tensor"
    method.__code__ = method.__code__.replace(co_name=name)
    if sys.version_info >= (3, 11):  # (3.11 also names the code by its qualified name)
        method.__code__ = method.__code__.replace(co_qualname=f"Tensor.{name}")
    method.__annotations__ = {"other": "Operand", "return": "Tensor"} if binary else {"return": "Tensor"}
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    if binary:
        parameters.append(inspect.Parameter("other", inspect.Parameter.POSITIONAL_ONLY, annotation="Operand"))
        left, right = ("other", "self") if name.startswith("__r") else ("self", "other")
        method.__doc__ = f"`{left} {cls.symbol} {right}`: the {cls.name} op, other made a Tensor."
    else:  # (unary −)
        method.__doc__ = f"`{cls.formula.replace('a', 'self') if cls.formula else name}`: the {cls.name} op."
    method.__signature__ = inspect.Signature(parameters, return_annotation="Tensor")  # type: ignore[attr-defined]
    return method


def _misused(cls: type[Op], name: str, inputs: tuple[Any, ...], params: dict[str, Any]) -> TypeError:
    """The error for an operator called by hand with other arguments than an operator gets
    (`t.__add__()`, `t.__add__(u, u)`, `t.__neg__(1)`)."""
    if inputs and not isinstance(inputs[0], Tensor):  # (`Tensor.__add__(1, 2)`)
        return TypeError(f"Tensor.{name}: self must be a Tensor, got {type(inputs[0]).__name__}")
    if cls.symbol is None:  # (unary −)
        takes = f"only self, as `{cls.formula.replace('a', 'x') if cls.formula else name}` passes it"
    else:
        takes = f"self and one other operand, by position, as `a {cls.symbol} b` passes them"
    got = f"{len(inputs)} argument{'s' * (len(inputs) != 1)}"
    keywords = f" and the keywords {', '.join(params)}" if params else ""
    return TypeError(f"Tensor.{name} takes {takes}; got {got}{keywords}")


def _make_apply(cls: type[Op], operator_name: str | None = None) -> Apply:
    """`cls.apply`, with the class's constants (its ufunc, whether it is elementwise and
    differentiable) read once, now. Python 3.11 reads a class attribute through the class or an
    instance by a full lookup each time, and `Add.apply` finds a plain function in the class's
    dict by a cached one where a classmethod makes a bound method at every call: together
    −1,000 of the ~15,100 machine instructions of `a + b` (callgrind) for three bytecodes, −1.7 %
    of a training step's. It also counts the inputs, once: one too many would be taken for `out`.

    A plain function knows its class from when it was made, not from how it is called: a
    subclass's `apply` overriding it could not reach its own class through `super().apply`,
    which is why no op class may write one.

    Given `operator_name` ("__add__", "__rsub__"), it makes that Tensor operator instead (see
    `operator`)."""
    ufunc, elementwise, differentiable = cls.ufunc, cls.elementwise, cls.differentiable
    # A binary operator makes its other operand a Tensor (see `operator`).
    converts = operator_name is not None and _input_counts(cls).start == 2
    reflected = (operator_name or "").startswith("__r")
    counts = _input_counts(cls)  # how many inputs forward takes
    # The path for the class's number of inputs is chosen by it, and unpacking the inputs checks
    # that they are as many at no cost: one too many would be taken for forward's `out`
    # (Exp.apply(x, y) would write into y).
    arity = counts.start if len(counts) == 1 else None

    def apply(*inputs: Tensor, **params: Any) -> Tensor:
        # Every op of every step passes through here, so the common arities get a path without
        # loops: a list comprehension is itself a function call before Python 3.12 (the general
        # path alone costs 8-11 % more instructions per training step).
        if converts:  # a Tensor's operator (see `operator`): `x * 0.5`, `1 - A` (reflected)
            try:
                if reflected or inputs[1].__class__ is not Tensor:
                    if len(inputs) != 2:
                        raise _misused(cls, operator_name or "", inputs, params)
                    # (reflected: Python calls A.__rsub__(1) only for a 1 that is no Tensor)
                    tensor, other = inputs
                    try:
                        converted = operand(other, tensor)
                    except AttributeError:  # (`Tensor.__add__(1, 2)`: self is no Tensor)
                        if isinstance(tensor, Tensor):
                            raise
                        raise _misused(cls, operator_name or "", inputs, params) from None
                    inputs = (converted, tensor) if reflected else (tensor, converted)
            except IndexError:
                if len(inputs) > 1:
                    raise  # (converting the other operand failed: its own error)
                raise _misused(cls, operator_name or "", inputs, params) from None  # (`t.__add__()`)
        try:
            if not params:
                op = cls()  # (a call without ** is quicker)
            elif operator_name is None:
                op = cls(**params)
            else:  # (`t.__matmul__(u, transpose_a=True)`: no operator passes keywords)
                raise _misused(cls, operator_name, inputs, params)
        except TypeError:
            if operator_name is not None:  # (`t.__neg__(x=1)`, and the refusal just above)
                raise _misused(cls, operator_name, inputs, params) from None
            refusal = _refusal(cls, inputs)  # `Mul().apply(a, b)`, `Sum.apply(x, 0)`
            if refusal is None:
                raise
            raise refusal from None
        try:
            if arity == 2:
                a, b = inputs  # (not two: a ValueError, refused below)
                data = op.forward(a._data, b._data) if ufunc is None else ufunc(a._data, b._data)
                needs_grad: tuple[bool, ...] = (a.requires_grad, b.requires_grad)
            elif arity == 1:
                (a,) = inputs
                data = op.forward(a._data) if ufunc is None else ufunc(a._data)
                needs_grad = (a.requires_grad,)
            else:
                if len(inputs) not in counts:
                    raise TypeError  # (too few or too many: refused below)
                data = op.forward(*[t._data for t in inputs])
                needs_grad = tuple([t.requires_grad for t in inputs])
        except (ValueError, IndexError, TypeError) as error:
            if len(inputs) not in counts:  # (unpacked above: too few or too many inputs)
                if operator_name is not None:  # (`t.__add__(u, u)`)
                    raise _misused(cls, operator_name, inputs, params) from None
                raise _refusal(cls, inputs) or _miscount(cls, "apply", len(inputs), counts) from None
            # Say which op and which tensors, keep the kind of error (an IndexError stays one)
            # and chain the original, so a bug inside a custom op's forward still shows its line.
            raise _error_kind(error)(op.failure_message(inputs, error)) from error
        except RuntimeWarning as warning:  # numpy's overflow or 0/0, made an error (errors.py)
            data, needs_grad = op.forward_quietly(inputs, warning)
        except AttributeError:  # an input with no `_data`: not a Tensor
            if operator_name is not None and not isinstance(inputs[0], Tensor):  # (`Tensor.__neg__(1)`)
                raise _misused(cls, operator_name, inputs, params) from None
            refusal = _refusal(cls, inputs)
            if refusal is None:
                raise  # (all are Tensors: a bug inside forward, with its own traceback)
            raise refusal from None
        if data.__class__ is not _ndarray:
            data = np.asarray(data)  # numpy reductions and 0-d ufuncs return scalars
        # An output larger than its first and last inputs was broadcast: (1, k) against (k, 1)?
        # (Every input of such an outer sum is smaller than the output; sizes are the cheapest
        # test, and the last input spares the call for `1 − a` and `lr * grad`: −0.8 % of a step.)
        if elementwise and (size := data.size) != inputs[0]._data.size and size != inputs[-1]._data.size:
            check_outer(op, inputs, data)
        mode = current()
        if mode.watching:
            if mode.anomaly:
                check_finite(data, f"{op.describe()} forward", inputs)
            if mode.recording is not None:  # mg.replay is recording this step: keep a kernel
                data = recorded_op(mode.recording, op, inputs, data)
        # The output, made here rather than by Tensor._make (the same fields): a call and a
        # second read of the mode fewer, on the path of every op (−20 % of `a + b`'s overhead).
        out = _new(Tensor)
        out._data = data
        out._grad = None
        out.name = None
        out.retains_grad = False
        out.scope = mode.scope
        out._version = 0
        if mode.grad_enabled:
            if True in needs_grad:
                op.inputs = inputs
                op.needs_grad = needs_grad
                out.op = op
                out.requires_grad = differentiable
                out.created = next(_creations)
                return out
            if _any_recorded(inputs):
                # Made from recorded tensors or named data but needing no gradient (a mask such as
                # Z[1] > 0, the 1 − Y of a loss): recorded all the same, so that a picture can
                # say where it comes from rather than show an unnamed array.
                op.inputs = inputs
                op.needs_grad = needs_grad
                out.op = op
                out.requires_grad = False
                out.created = next(_creations)
                return out
        out.op = None
        out.requires_grad = False
        out.created = 0
        return out

    _name(
        apply,
        cls,
        "apply",
        "Run forward on the inputs' arrays and, when recording, link the output to a new {}",
    )
    # A code object of its own, as the function is: Python 3.11 specialises each attribute read
    # and call in a code object for the types it meets there, and a code object shared by every
    # class's apply meets them all (−0.3 % of the 2→4→1 step's machine instructions).
    apply.__code__ = apply.__code__.replace(co_name="apply")
    if sys.version_info >= (3, 11):
        apply.__code__ = apply.__code__.replace(co_qualname=f"{cls.__qualname__}.apply")
    return apply


def _make_call(cls: type[Op]) -> Callable[..., Any]:
    """`cls.call`, made for each class as its apply is, and for the same reason."""
    ufunc, counts = cls.ufunc, _input_counts(cls)

    def call(*operands: Any, **params: Any) -> Any:
        first = operands[0].__class__
        if first is not _ndarray and first is not Tensor and isinstance(operands[0], Op):
            raise _on_an_op(cls, "call", operands[0])
        if len(operands) not in counts:  # (Exp.call(a, b) would write into b)
            raise _miscount(cls, "call", len(operands), counts)
        on_arrays = first is not Tensor and operands[-1].__class__ is not Tensor
        if on_arrays:
            try:
                if ufunc is not None and not params:  # (parameters are checked by __init__)
                    return ufunc(*operands)
                return (cls(**params) if params else cls()).forward(*operands)
            except RuntimeWarning:
                pass  # overflow or 0/0: computed again below, as Tensors, which report it
        # (A custom vjp may pass an array it saved on the op, a mask, beside Tensors: it is a
        # constant of the recorded graph.)
        tensors = [o if o.__class__ is Tensor else Tensor._make(np.asarray(o)) for o in operands]
        out = cls.apply(*tensors, **params)
        return out._data if on_arrays else out

    _name(
        call,
        cls,
        "call",
        "The {} op inside a rule (`vjp`): `apply`, recorded, when the first or last operand is a\n"
        "Tensor; on numpy arrays, forward alone, the array itself, no Tensor made",
    )
    return call


def _name(function: Callable[..., Any], cls: type[Op], name: str, doc: str) -> None:
    """Name a made `apply` or `call` as the class's own: `Mul.apply` in tracebacks and help(), and
    found again by pickle under that name."""
    function.__qualname__, function.__module__ = f"{cls.__qualname__}.{name}", cls.__module__
    function.__doc__ = f"{doc.format(cls.__name__)} (called on the class: {cls.__name__}.{name}(...))."


def _input_counts(cls: type[Op]) -> range:
    """How many inputs `cls.forward` takes: a range, for parameters with defaults, and any number
    for a variadic op or a forward with *arrays."""
    anything = range(sys.maxsize)
    if cls.forward is Op.forward:
        return anything if cls.ufunc is None else range(cls.ufunc.nin, cls.ufunc.nin + 1)
    parameters = list(inspect.signature(cls.forward).parameters.values())[1:]  # (not self)
    if cls.variadic or any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return anything
    positional = [  # (not `out`: a replay's buffer, not an input)
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "out"
    ]
    required = sum(p.default is p.empty for p in positional)
    return range(required, len(positional) + 1)


def _miscount(cls: type[Op], name: str, count: int, counts: range) -> TypeError:
    """The error for `cls.apply` (or `call`) given the wrong number of inputs."""
    wanted = f"{counts.start}" if len(counts) == 1 else f"{counts.start} to {counts.stop - 1}"
    slots = ", ".join(cls.slots())
    return TypeError(
        f"{cls.__name__}.{name} takes {wanted} input{'s' * (counts.stop > 2)} ({slots}), got {count}"
    )


def _on_an_op(cls: type[Op], name: str, op: Op) -> TypeError:
    """The error for `cls.apply` (or `call`) called on an op, `Mul().apply(a, b)`, not its class."""
    example = f"{cls.__name__}.{name}({', '.join(cls.slots()) or 'x'})"
    return TypeError(
        f"use {example}, on the class, not on an op made with {type(op).__name__}(...): "
        f"{name} makes the op itself"
    )


def _refusal(cls: type[Op], inputs: Sequence[Any]) -> TypeError | None:
    """The error that says what is wrong when `cls.apply` was called on an op rather than its
    class, or given something that is not a Tensor; None when neither is the case."""
    if inputs and isinstance(inputs[0], Op):
        return _on_an_op(cls, "apply", inputs[0])
    wrong = [type(value).__name__ for value in inputs if not isinstance(value, Tensor)]
    if not wrong:
        return None
    parameters = [
        p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")
    ]
    if parameters:  # Sum.apply(x, 0): a parameter given by position
        keywords = ", ".join(f"{p}=..." for p in parameters)
        return TypeError(
            f"{cls.__name__}.apply takes Tensors, got {', '.join(wrong)}: its parameters go by keyword, "
            f"{cls.__name__}.apply(x, {keywords})"
        )
    return TypeError(f"{cls.__name__}.apply takes Tensors, got {', '.join(wrong)}: wrap them with mg.tensor")


def _copy_into(out: np.ndarray, forward: Callable[..., np.ndarray], arrays: Sequence[np.ndarray]) -> None:
    """A replay's kernel for an op whose forward takes no `out`: its result copied into `out`."""
    out[...] = forward(*arrays)


def _error_kind(error: Exception) -> type[Exception]:
    """What a failed forward raises: a ShapeError for numpy's ValueErrors (shapes that do not
    broadcast, reshape or reduce), else the same kind as numpy's error (IndexError, TypeError)."""
    if isinstance(error, ValueError):
        return ShapeError
    return IndexError if isinstance(error, IndexError) else TypeError


def check_outer(op: Op, inputs: Sequence[Tensor], data: np.ndarray) -> None:
    """Warn when an elementwise op broadcast a row against a column of the same length k into
    its output `data`, (k, k)."""
    shape = data.shape  # (read once: each read makes a tuple)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 1:
        return
    k = shape[0]
    shapes = {t.shape for t in inputs}
    if {(1, k), (k, 1)} <= shapes or {(k,), (k, 1)} <= shapes:
        row, column = sorted(inputs, key=lambda t: t.shape == (k, 1))[:2]
        warn_at_call_site(
            f"{op.describe()}: {row.describe()} and {column.describe()} broadcast to a {k} × {k} "
            "result, one entry for every pair: usually labels mixed up with predictions. Reshape one "
            f"to match the other (e.g. {column.label}.reshape(1, {k}))",
            BroadcastWarning,
        )


def check_finite(data: np.ndarray, where: str, inputs: Sequence[Tensor]) -> None:
    """Under detect_anomaly: raise if `data` holds NaN or inf, naming the op and its inputs."""
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = "nan" if np.isnan(data).any() else "inf"
        backward_of = current().backward_of
        context = f" (while computing the backward of {backward_of})" if backward_of else ""
        operands = ", ".join(t.describe() for t in inputs)
        raise AnomalyError(f"{where} produced {bad}{context}; inputs: {operands}")


report_numerical_warnings()
Op.apply, Op.call = _make_apply(Op), _make_call(Op)  # (the base's own: `mg.Op.apply` exists)

# The import circle between Tensor and its ops closes here: Op.apply makes Tensors, and Tensor's
# operators apply ops. Imported last, so whichever of the two is imported first, Op exists.
from microgrid.tensor import (  # noqa: E402
    Operand,  # noqa: F401  (what the operators' annotations name)
    Tensor,
    _new,
    operand,
)
from microgrid.tensor import _creation_counter as _creations  # noqa: E402


def _any_recorded(inputs: Sequence[Tensor]) -> bool:
    """True when one of `inputs` was made by a recorded op, or is data with a name (X, Y)."""
    for t in inputs:  # noqa: SIM110 (a loop, not any() of a generator: no generator to make)
        if t.op is not None or t.name is not None:
            return True
    return False
