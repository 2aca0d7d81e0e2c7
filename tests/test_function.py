"""Op, the base class: every primitive describes itself as data, and a user's own op needs none of it."""

from __future__ import annotations

import re

import numpy as np
import pytest

import microgrid as mg
from microgrid import ops
from microgrid.function import Op

# The one-letter words a rule may use besides its op's inputs: g (the gradient of the output),
# e (Euler's number), i (a variadic op's input number).
KNOWN_LETTERS = {"g", "e", "i"}


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
    assert len(ops.PRIMITIVES) <= 35
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
