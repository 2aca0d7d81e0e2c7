"""The formula reader of `microgrid graph`: what it accepts, what it refuses, and the graph it builds."""

from __future__ import annotations

import builtins
import math
from pathlib import Path

import numpy as np
import pytest
from pictures import central_difference

from microgrid.cli.expression import ExpressionError, evaluate, parse, variables


def value(text: str, **values: float) -> float:
    return evaluate(text, values)[0].item()


def test_the_lecture_formula_and_its_gradients_match_finite_differences() -> None:
    J, leaves = evaluate("3*(a + b*c)", {"a": 5, "b": 3, "c": 2})
    assert J.item() == 3 * (5 + 3 * 2) and J.name == "J"
    J.backward()
    at = {"a": 5.0, "b": 3.0, "c": 2.0}
    for name, leaf in leaves.items():
        expected = central_difference(lambda x, name=name: value("3*(a + b*c)", **{**at, name: x}), at[name])
        assert leaf.grad.item() == pytest.approx(expected)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b", 2.0 + 5.0),
        ("a - b", 2.0 - 5.0),
        ("a * b", 2.0 * 5.0),
        ("a / b", 2.0 / 5.0),
        ("a ** b", 2.0**5.0),
        ("-a", -2.0),
        ("+a", 2.0),
        ("-(a + 1.5) * 2", -7.0),
        ("2 ** -1", 0.5),
    ],
)
def test_numbers_variables_operators_and_parentheses(text: str, expected: float) -> None:
    assert value(text, a=2.0, b=5.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("function", "reference"),
    [
        ("exp", np.exp),
        ("log", np.log),
        ("sqrt", np.sqrt),
        ("tanh", np.tanh),
        ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
        ("relu", lambda x: np.maximum(x, 0)),
        ("softplus", lambda x: np.log1p(np.exp(x))),
    ],
)
def test_each_allowed_function_computes_what_numpy_does(function: str, reference) -> None:  # type: ignore[no-untyped-def]
    for x in (0.3, 1.7):
        assert value(f"{function}(x)", x=x) == pytest.approx(float(reference(x)))


def test_a_variable_used_twice_is_one_leaf_whose_gradient_accumulates() -> None:
    J, leaves = evaluate("a*a + a", {"a": 3.0})
    J.backward()
    assert list(leaves) == ["a"]
    assert leaves["a"].grad.item() == pytest.approx(central_difference(lambda x: x * x + x, 3.0))  # type: ignore[union-attr]


def test_subexpressions_are_named_by_their_text() -> None:
    J, _ = evaluate("3*(a + b*c)", {"a": 5, "b": 3, "c": 2})
    assert J.op is not None
    inner = J.op.inputs[1]
    assert inner.name == "a + b*c" and inner.op is not None and inner.op.inputs[1].name == "b*c"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a.b", "attribute access"),
        ("x[0]", "subscripts"),
        ("lambda: 1", "lambda"),
        ("[v for v in a]", "comprehensions"),
        ("'text'", "strings"),
        ("_a + 1", "names starting with _"),
        ("open('file')", "calls of open"),
        ("__import__('os').system('ls')", "calls of anything but exp"),
        ("a if b else c", "if-else"),
        ("a < b", "comparisons"),
        ("a and b", "and / or"),
        ("a @ b", "the operators allowed are"),
        ("a // b", "the operators allowed are"),
        ("not a", "the only unary operator is -"),
        ("exp(a, b)", "exp takes exactly one argument"),
        ("exp(x=a)", "exp takes exactly one argument"),
        ("(a, b)", "tuples"),
        ("True", "the constant True"),
        ("2j", "the constant 2j"),
        ("(y := 2)", "assignment"),
    ],
)
def test_everything_else_is_refused_with_what_is_allowed(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match="allowed are numbers, variables") as error:
        evaluate(text, {"a": 1.0, "b": 2.0, "c": 3.0, "x": 1.0})
    assert reason in str(error.value)


def test_refused_code_is_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "created"
    for evaluator in ("eval", "exec"):
        monkeypatch.setattr(builtins, evaluator, _fail)  # the reader needs neither
    with pytest.raises(ExpressionError):
        evaluate(f"__import__('pathlib').Path('{target}').touch()", {})
    assert not target.exists()
    assert value("exp(x) * 2", x=0.0) == 2.0  # and the allowed part still works without them


def _fail(*args: object, **kwargs: object) -> None:
    raise AssertionError("the expression reader called a Python evaluator")


def test_undefined_variables_are_named_in_reading_order() -> None:
    with pytest.raises(
        ExpressionError, match=r"undefined variables d, e; give each a value, e\.g\. --set d=1 e=1"
    ):
        evaluate("a*d + exp(e)", {"a": 1.0})
    assert variables(parse("exp(y) + x*y")) == ["y", "x"]  # function names are not variables


def test_syntax_errors_length_and_depth_are_reported_not_raised_raw() -> None:
    with pytest.raises(ExpressionError, match="column"):
        evaluate("3*(a + ", {"a": 1.0})
    with pytest.raises(ExpressionError, match="too long"):
        evaluate("a+" * 600 + "a", {"a": 1.0})
    with pytest.raises(ExpressionError, match="give a formula"):
        evaluate("   ", {})
    deep = "-" * 990 + "a"  # within the length limit, deeper than a sensible formula
    try:
        assert value(deep, a=1.0) == 1.0
    except ExpressionError as error:
        assert "nested too deeply" in str(error)
    with pytest.raises(ExpressionError, match="too large"):
        evaluate("a * 1" + "0" * 400, {"a": 1.0})


def test_results_outside_the_domain_are_values_not_crashes() -> None:
    assert math.isnan(value("log(x)", x=-1.0))
    assert value("exp(x)", x=1000.0) == math.inf
