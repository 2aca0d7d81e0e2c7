"""microgrid's own exercise: write a primitive, the exponential, with its backward rule (docs/custom-op.md).

The student's Op subclass is applied to x, and three things are measured against microgrid's own
Exp: the output, the gradient dx from J = Σ dy ⊙ e^x, and the second derivative through the
backward graph (which exists only if backward is written in microgrid ops).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from microgrid.autograd import grad
from microgrid.creation import tensor
from microgrid.exercises.checker import Case, Exercise, Mistake, Nodes, Outputs, Unreadable
from microgrid.exercises.course1 import leaf, seeded
from microgrid.function import Op
from microgrid.functional import exp
from microgrid.ops import Exp, Mul, Neg
from microgrid.tensor import Tensor


def measure(op: Any, case: Case) -> Outputs:
    """The op's output on x, dx for J = Σ dy ⊙ op(x), and d/dx of Σ dx (its second derivative)."""
    if isinstance(op, Op):
        raise Unreadable(
            f"pass the class itself, check('exp_op', {type(op).__name__}), not an instance of it"
        )
    if not (isinstance(op, type) and issubclass(op, Op)):
        raise Unreadable(
            f"pass your Op subclass itself (class Exp(mg.Op): ... then check('exp_op', Exp)), not a "
            f"{type(op).__name__}"
        )
    # (An op may compute forward with a numpy ufunc instead, as microgrid's own Exp does.)
    missing = [
        f"{method}(self, {arguments})"
        for method, arguments, written in (
            ("forward", "a", op.forward is not Op.forward or op.ufunc is not None),
            ("backward", "grad, out", op.backward is not Op.backward or op.array_rule),  # (or a vjp)
        )
        if not written
    ]
    if missing:
        raise Unreadable(f"{op.__name__} has no {' and no '.join(missing)}: write it in the class")
    x_values, dy = case.args
    # forward alone first: what it returns is named here, not by the engine's shape checks later.
    made = op().forward(np.array(x_values, dtype=np.float64)) if op.ufunc is None else np.exp(x_values)
    # As the engine reads it: np.exp of a 0-d array is a numpy scalar, and a list is made an array.
    array = np.asarray(made)
    if array.shape != np.shape(x_values) or array.dtype.kind != "f":
        raise Unreadable(
            f"forward should return a float array of a's shape {np.shape(x_values)}, as np.exp(a) does; "
            f"it returned {type(made).__name__} of shape {array.shape} and dtype {array.dtype}"
        )
    x = leaf(x_values, "x")
    y = op.apply(x)
    assert y.op is not None
    if y.op.backward(tensor(np.ones_like(y.data)), y) is None:
        if op.array_rule:
            raise Unreadable("vjp returned None: end it with `return g * out`")
        raise Unreadable("backward returned None: end it with `return grad * out`")
    J = (tensor(dy, name="dy") * y).sum()
    (dx,) = grad(J, [x], create_graph=True)
    assert dx is not None
    second = grad(dx.sum(), [x], allow_unused=True)[0] if dx.requires_grad else None
    return {"out": y.data, "dx": dx.data, "d2x": np.zeros_like(x.data) if second is None else second.data}


def exp_graph(case: Case) -> tuple[Tensor, Nodes]:
    x_values, dy = case.args
    x = leaf(x_values, "x")
    y = exp(x)
    y.name = "y"
    (tensor(dy, name="dy") * y).sum().backward()
    return y, {"out": y, "dx": x, "d2x": x}


def exp_cases() -> list[Case]:
    rng = seeded(9)
    return [
        Case("fixed values", (np.array([[-1.0, 0.0, 0.5, 2.0]]), np.array([[1.0, 1.0, 1.0, 1.0]]))),
        Case("a number", (np.array(0.7), np.array(-2.0))),
        Case("a (3, 4) array", (rng.randn(3, 4), rng.randn(3, 4))),
        Case("large |x|", (np.array([[-20.0, 5.0, 10.0]]), rng.randn(1, 3))),
    ]


class ForgotGrad(Exp):
    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return out


class SlopeOne(Exp):
    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return grad


class UsedInput(Exp):
    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return Mul.apply(grad, self.inputs[0])


class WrongSign(Exp):
    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return Neg.apply(Mul.apply(grad, out))


class NumpyBackward(Exp):
    def backward(self, grad: Tensor, out: Tensor) -> Tensor:
        return tensor(grad.data * out.data)


def measured(op: type[Op]) -> Any:
    """The outputs a wrong op gives: measured exactly as the student's op is."""
    return lambda case, want: measure(op, case)


EXP_OP = Exercise(
    name="exp_op",
    lesson="microgrid: add your own op (docs/custom-op.md)",
    signature="class Exp(mg.Op): forward(self, a) -> e^a; backward(self, grad, out) -> d/da",
    doc="forward: np.exp(a); backward: grad · e^a, which is grad · out, written with microgrid ops "
    "(grad * out) "
    "so that the backward pass is a graph and the second derivative exists.",
    params=("x", "dy"),
    cases=exp_cases,
    oracle=lambda case, got: measure(Exp, case),
    read=lambda returned, case: returned,
    mistakes=(
        Mistake(
            "exp-forgot-grad",
            "the rule (backward, or vjp) returns e^a alone: the chain rule multiplies it by the "
            "incoming gradient, grad · out",
            measured(ForgotGrad),
        ),
        Mistake(
            "exp-slope-one",
            "the rule (backward, or vjp) passes grad through unchanged: e^a's slope is e^a, so grad · out",
            measured(SlopeOne),
        ),
        Mistake(
            "exp-used-input",
            "the rule (backward, or vjp) multiplies grad by the input a: the derivative of e^a is "
            "e^a itself, the output, grad · out",
            measured(UsedInput),
        ),
        Mistake(
            "exp-sign", "the rule (backward, or vjp) has the wrong sign: d/da e^a = +e^a", measured(WrongSign)
        ),
        Mistake(
            "exp-numpy-backward",
            "the second derivative is 0: backward computed in numpy "
            "(grad.data * out.data) records nothing; write grad * out with microgrid ops",
            measured(NumpyBackward),
        ),
    ),
    graph=exp_graph,
    labels={"out": "y = e^x", "dx": "dx", "d2x": "d²x"},
    call=measure,
)

EXERCISES = (EXP_OP,)
