"""Op, the base class: every primitive describes itself as data, and a user's own op needs none of it."""

from __future__ import annotations

import pickle
import re
import warnings
from functools import partial
from typing import Any

import numpy as np
import pytest

import microgrid as mg
from microgrid import ops
from microgrid.function import Op

# The one-letter words a rule may use besides its op's inputs: g (the gradient of the output),
# e (Euler's number), i (a variadic op's input number), m (the number a mean divides by).
KNOWN_LETTERS = {"g", "e", "i", "m"}


@pytest.mark.parametrize("primitive", ops.PRIMITIVES, ids=lambda op: op.__name__)
def test_every_primitive_has_a_formula_and_one_rule_per_input(primitive: type[Op]) -> None:
    assert primitive.formula, f"{primitive.__name__} has no formula"
    assert primitive.rules is not None
    if primitive.variadic:
        assert len(primitive.rules) == 1 and "{i}" in (primitive.rules[0] or "")
        return
    slots = primitive.slots()
    assert len(primitive.rules) == len(slots), f"{primitive.__name__}: rules for {slots}"
    for rule in primitive.rules:
        if rule is not None:
            letters = set(re.findall(r"\b[a-z]\b", rule))
            assert letters <= set(slots) | KNOWN_LETTERS, f"{primitive.__name__}: {rule!r} names {letters}"


def test_the_primitives_are_few_and_each_has_a_reason_in_the_module_docstring() -> None:
    assert len(ops.PRIMITIVES) <= 37
    doc = ops.__doc__ or ""
    for primitive in ops.PRIMITIVES:
        assert re.search(rf"\b{primitive.__name__}\b", doc), f"ops.py does not say why {primitive.__name__}"


def test_a_primitive_docstring_is_made_from_its_data() -> None:
    assert ops.Mul.__doc__ == "a · b; d/da = g · b, d/db = g · a"
    assert ops.Where.__doc__ == "a if condition else b; d/da = g · [condition], d/db = g · [not condition]"
    assert ops.Sign.summary() == "sign a; no gradient"


def test_an_instance_with_parameters_describes_itself() -> None:
    a, b = mg.randn(2, 3), mg.randn(4, 3)
    product = ops.MatMul.apply(a, b, transpose_b=True).op
    assert product is None  # nothing requires grad: nothing recorded
    W = mg.randn(2, 3, requires_grad=True)
    op = ops.MatMul.apply(W, b, transpose_b=True).op
    assert op is not None and op.formula == "a @ bᵀ" and op.rule(1) == "gᵀ @ a"
    comparison = (W > 0).op
    assert comparison is not None and comparison.formula == "a > b" and comparison.rule(0) is None
    assert (W >= 0).op.formula == "a ≥ b"  # type: ignore[union-attr]
    joined = mg.concatenate([W, W]).op
    assert joined is not None and joined.rule(1) == "g[the part input 2 filled]"


class Cube(mg.Op):
    """A user's op with no formula or rules: it must still run, differentiate and draw."""

    name = "cube"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a**3

    def backward(self, grad: mg.Tensor, out: mg.Tensor) -> mg.Tensor:
        return grad * 3 * self.inputs[0] ** 2


def test_a_users_op_without_formula_or_rules_runs_and_draws_with_its_name() -> None:
    x = mg.tensor([0.5, -1.5], requires_grad=True, name="x")
    assert mg.gradcheck(lambda x: Cube.apply(x).sum(), [x])
    J = Cube.apply(x).sum()
    J.name = "J"
    assert Cube.formula is None and Cube.__doc__ and "no formula" in Cube.__doc__
    text = mg.draw(J, show="both").text()
    assert "cube(x)" in text and "cube sends dx ← its rule" in text
    source = mg.draw(J).source
    assert "<B>cube</B>" in source


def test_apply_and_call_are_each_classs_own_and_make_ops_of_that_class() -> None:
    x = mg.tensor([0.5, -1.5], requires_grad=True, name="x")
    # A subclass gets its own, which make ops of its own class, not of its parent's.
    assert "apply" in NamedExp.__dict__ and "call" in NamedExp.__dict__
    assert NamedExp.apply(x).op.__class__ is NamedExp and ops.Exp.apply(x).op.__class__ is ops.Exp
    assert NamedExp.call(x).op.__class__ is NamedExp
    assert NamedExp.apply.__qualname__ == "NamedExp.apply" and "NamedExp" in (NamedExp.apply.__doc__ or "")
    # pickle finds them again by their names (a partial of one can go to another process)
    assert pickle.loads(pickle.dumps(ops.Mul.apply)) is ops.Mul.apply
    assert pickle.loads(pickle.dumps(partial(ops.Sum.apply, axis=(0,), keepdims=False)))(x).item() == -1.0


@pytest.mark.parametrize("primitive", ops.PRIMITIVES, ids=lambda op: op.__name__)
def test_apply_and_call_refuse_an_op_instance_by_name(primitive: type[Op]) -> None:
    op = object.__new__(primitive)  # an instance, whatever its __init__ wants
    x = mg.tensor([0.5, 1.5], requires_grad=True)
    arguments = [x] * max(1, len(primitive.slots()))
    with pytest.raises(TypeError, match=rf"use {primitive.__name__}.apply\(.*\), on the class, not on an op"):
        op.apply(*arguments)
    with pytest.raises(TypeError, match=rf"use {primitive.__name__}.call\(.*\), on the class, not on an op"):
        op.call(*[t.data for t in arguments])


def test_apply_and_call_refuse_what_is_not_a_tensor_and_a_wrong_count_by_name() -> None:
    x = mg.tensor([0.5, -1.5], requires_grad=True, name="x")
    y = mg.tensor([1.0, 2.0], requires_grad=True, name="y")
    with pytest.raises(
        TypeError, match="Mul.apply takes Tensors, got ndarray: wrap them with mg.tensor"
    ) as caught:
        ops.Mul.apply(x, np.ones(2))
    assert caught.value.__suppress_context__  # one traceback, not the AttributeError behind it
    with pytest.raises(TypeError, match=r"parameters go by keyword, Sum.apply\(x, axis=..., keepdims=...\)"):
        ops.Sum.apply(x, 0)
    # One input too many would be taken for forward's `out` and overwritten: refused instead.
    with pytest.raises(TypeError, match=r"Exp.apply takes 1 input \(a\), got 2"):
        ops.Exp.apply(x, y)
    with pytest.raises(TypeError, match=r"Exp.call takes 1 input \(a\), got 2"):
        ops.Exp.call(x.data, y.data)
    np.testing.assert_array_equal(y.data, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"Exp\(\) takes no arguments"):
        ops.Exp.call(x.data, bogus=1)  # parameters are checked on arrays as on Tensors
    assert ops.Mul.call([1.0, 2.0], x).op.__class__ is ops.Mul  # a rule's constant may be a list


@pytest.mark.parametrize("name", ["apply", "call"])
def test_an_op_class_may_not_write_its_own_apply_or_call(name: str) -> None:
    with pytest.raises(
        TypeError, match=f"OwnApply defines {name}: microgrid makes {name} for every op class"
    ):
        type("OwnApply", (Op,), {name: lambda *inputs: inputs[0]})


class NamedExp(ops.Exp):
    name = "named_exp"


# --- warnings an op gives at the user's own line -----------------------------------------------------


def test_a_row_against_a_column_warns_once_at_the_call_site_naming_both() -> None:
    A = mg.tensor(np.full((1, 4), 0.5), name="A[2]")
    Y = mg.tensor(np.ones((4, 1)), name="Y")
    with pytest.warns(mg.BroadcastWarning, match=r"sub: A\[2\] \(1, 4\) and Y \(4, 1\) broadcast to a 4 × 4"):
        A - Y
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            A - Y  # one line, called three times: one warning
        (A - mg.tensor(np.ones(4), name="y")).sum()  # a rank-1 array against a row: no k × k
    assert [w.category for w in caught] == [mg.BroadcastWarning]
    assert caught[0].filename == __file__  # the user's line, not microgrid's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.tensor(np.ones((4, 4))) + mg.tensor(np.ones((4, 1)))  # a bias: square, but not row × column


def test_numpys_overflow_in_an_op_is_reported_once_at_the_users_line() -> None:
    from microgrid.errors import report_numerical_warnings

    x = mg.tensor([1000.0, 1.0], requires_grad=True, name="z")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        report_numerical_warnings()  # pytest replaced the filters for this test: put it back
        for _ in range(5):
            y = mg.exp(x)  # overflows every time
    assert np.isinf(y.data[0]) and y.data[1] == pytest.approx(np.e)
    assert [w.category for w in caught] == [mg.NumericalWarning]
    message = str(caught[0].message)
    assert "exp: overflow encountered in exp (inputs: z (2,))" in message and "mg.detect_anomaly()" in message
    assert caught[0].filename == __file__


def test_numpys_zero_division_in_a_rule_of_a_plain_backward_is_reported_at_the_users_line() -> None:
    """A plain backward runs the rules on arrays; one that divides by zero there (sqrt's slope at
    0, through Op.call; log's g / a, an operator in the rule itself) is run again on Tensors,
    which report it once, and the gradient still holds the inf."""
    from microgrid.errors import report_numerical_warnings

    x = mg.tensor([0.0, 4.0], requires_grad=True, name="x")
    v = mg.tensor([1.0, 0.0], requires_grad=True, name="v")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        report_numerical_warnings()
        (x**0.5).sum().backward()
        y = mg.log(v)  # log 0 = −inf, reported here
        y.sum().backward()  # and g / 0 in its rule, reported here
    np.testing.assert_array_equal(x.grad.data, [np.inf, 0.25])  # type: ignore[union-attr]
    np.testing.assert_array_equal(v.grad.data, [1.0, np.inf])  # type: ignore[union-attr]
    messages = [str(w.message) for w in caught]
    assert [w.category for w in caught] == [mg.NumericalWarning] * 3, messages
    assert "pow: divide by zero" in messages[0] and "div: divide by zero" in messages[2], messages
    assert {w.filename for w in caught} == {__file__}


def test_numpys_overflow_where_the_walk_sums_a_broadcast_gradient_is_reported_not_raised() -> None:
    """A bias broadcast over the examples gets its gradient summed back by the walk (sum_to),
    on the arrays of a plain backward: a sum that overflows there is reported as an op's is,
    and the gradient holds the inf, as in a diverging training run."""
    from microgrid.errors import report_numerical_warnings

    b = mg.tensor(np.zeros((1, 1)), requires_grad=True, name="b")
    Z = mg.tensor([[1.0, 2.0]], name="X") + b
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        report_numerical_warnings()
        Z.backward(mg.tensor([[1e308, 1e308]]))  # b's gradient: 1e308 + 1e308, summed over m
    assert b.grad.item() == np.inf  # type: ignore[union-attr]
    messages = [str(w.message) for w in caught]
    assert [w.category for w in caught] == [mg.NumericalWarning], messages
    assert messages[0].startswith("sum axis=1 keepdims: overflow"), messages
    assert {w.filename for w in caught} == {__file__}


def test_numpys_overflow_in_the_walks_own_sums_and_casts_is_reported_at_the_users_line() -> None:
    """The walk adds the gradients an input receives and casts one to its input's dtype: those
    overflow too, and are reported as an op's are."""
    from microgrid.errors import report_numerical_warnings

    x = mg.tensor(1.0, requires_grad=True, name="x")
    x32 = mg.tensor(1.0, requires_grad=True, name="x32", dtype=np.float32)
    big = mg.tensor(1e308)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        report_numerical_warnings()
        y = x * big + x * big  # 2e308 overflows here, in forward
        y.backward()  # and again as x's two gradients, 1e308 each, are summed
        (x32 * mg.tensor(1e300)).backward()  # x32's gradient, 1e300, cast to float32
    assert x.grad.item() == np.inf and x32.grad.item() == np.inf  # type: ignore[union-attr]
    assert x32.grad.dtype == np.float32  # type: ignore[union-attr]
    messages = [str(w.message) for w in caught]
    assert [w.category for w in caught] == [mg.NumericalWarning] * 3, messages
    assert messages[1].startswith("add: overflow") and messages[2].startswith("astype float32: overflow")
    assert {w.filename for w in caught} == {__file__}


def test_an_op_not_linked_into_a_graph_has_no_inputs_yet() -> None:
    # apply sets inputs and needs_grad when it links the op; before that (in a custom forward, or
    # an op made by hand) they read as empty, and any other field is an AttributeError as usual.
    class Twice(Op):
        name = "twice"

        def forward(self, a: np.ndarray) -> np.ndarray:
            assert self.inputs == () and self.needs_grad == ()
            return 2 * a

        def vjp(self, g: Any, out: Any, a: Any) -> Any:
            return 2 * g

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = Twice.apply(x)
    assert y.op is not None and y.op.inputs == (x,) and y.op.needs_grad == (True,)
    assert ops.Add().inputs == ()
    with pytest.raises(AttributeError, match="'Add' object has no attribute 'mask'"):
        ops.Add().mask  # noqa: B018
