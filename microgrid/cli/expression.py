"""A safe reader for the formulas `microgrid graph` draws: Python's ast in, microgrid ops out.

Allowed: numbers, variables, + - * / **, unary minus, parentheses, and one-argument calls of the
functions in FUNCTIONS (exp, log, sqrt, tanh, sigmoid, ...). Every node of the syntax tree is
checked against this list before anything is computed, and nothing is ever handed to Python's
eval: each allowed node becomes a microgrid op, so the graph drawn is the formula typed.

    >>> J, variables = evaluate("3*(a + b*c)", {"a": 5, "b": 3, "c": 2})
    >>> J.item()
    33.0
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

import numpy as np

from microgrid import functional
from microgrid.tensor import Tensor

FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "exp": functional.exp,
    "log": functional.log,
    "sqrt": functional.sqrt,
    "tanh": functional.tanh,
    "sigmoid": functional.sigmoid,
    "relu": functional.relu,
    "softplus": functional.softplus,
    "sin": functional.sin,
    "cos": functional.cos,
    "square": functional.square,
    "log1p": functional.log1p,
    "expm1": functional.expm1,
}
BINARY: dict[type[ast.operator], Callable[[Tensor, Tensor], Tensor]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
ALLOWED = (
    "allowed are numbers, variables, + - * / **, unary minus, parentheses and the functions "
    + ", ".join(FUNCTIONS)
)
MAX_LENGTH = 1000  # characters: a formula to draw, not a program
MAX_NAME = 24  # longer subexpressions are left unnamed (t1, t2, ...) so nodes stay small

# What a refused node is, in words a user recognises.
REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "and / or",
    ast.IfExp: "if-else",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "strings",
    ast.Await: "await",
    ast.Yield: "yield",
}


class ExpressionError(ValueError):
    """The formula is not one `microgrid graph` can draw; the message says why and what is allowed."""


def parse(text: str) -> ast.Expression:
    """The syntax tree of `text`, every node checked against the allowed list."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"expression: give a formula such as '3*(a + b*c)'; {ALLOWED}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression: {len(text)} characters is too long (at most {MAX_LENGTH})")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        where = f"at column {error.offset} of {text.strip()!r}"
        raise ExpressionError(f"expression: {error.msg} {where}; {ALLOWED}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression: nested too deeply") from None
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        reason = _refusal(node, id(node) in called)
        if reason:
            snippet = ast.get_source_segment(text.strip(), node) or type(node).__name__
            raise ExpressionError(f"expression: {snippet!r} is not allowed ({reason}); {ALLOWED}")
    return tree


def _refusal(node: ast.AST, is_called: bool) -> str | None:
    """Why `node` is refused, or None when it is allowed."""
    if isinstance(node, (ast.Expression, ast.Load, ast.USub, ast.UAdd)) or type(node) in BINARY:
        return None
    if isinstance(node, ast.BinOp):
        return None if type(node.op) in BINARY else "the operators allowed are + - * / **"
    if isinstance(node, ast.UnaryOp):
        return None if isinstance(node.op, (ast.USub, ast.UAdd)) else "the only unary operator is -"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            return "strings" if isinstance(node.value, (str, bytes)) else f"the constant {node.value!r}"
        return None
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            return "names starting with _"
        if is_called and node.id not in FUNCTIONS:
            return f"calls of {node.id}"
        return None
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            return "calls of anything but " + ", ".join(FUNCTIONS)
        if node.keywords or len(node.args) != 1:
            return f"{node.func.id} takes exactly one argument, without keywords"
        return None
    return REFUSED.get(type(node), type(node).__name__)


def variables(tree: ast.Expression) -> list[str]:
    """The variable names the formula uses, in order of first appearance (function names excluded)."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]
    found.sort(key=lambda n: (n.lineno, n.col_offset))  # ast.walk goes breadth first; sort to reading order
    return list(dict.fromkeys(n.id for n in found))


def evaluate(text: str, values: Mapping[str, float], name: str = "J") -> tuple[Tensor, dict[str, Tensor]]:
    """The formula as a microgrid graph: (its output named `name`, {variable: leaf tensor}).

    Each variable becomes one leaf with requires_grad=True, shared by all its uses (so a variable
    used twice accumulates gradient from both); each subexpression is named by its own text.
    """
    tree = parse(text)
    used = variables(tree)
    missing = [v for v in used if v not in values]
    if missing:
        listed = ", ".join(missing)
        example = " ".join(f"{v}=1" for v in missing)
        raise ExpressionError(
            f"expression: undefined variable{'s' if len(missing) > 1 else ''} {listed}; "
            f"give each a value, e.g. --set {example}"
        )
    leaves = {v: Tensor(float(values[v]), requires_grad=True, name=v) for v in used}
    source = text.strip()
    try:
        with np.errstate(all="ignore"):  # inf and nan are shown in the drawing, not raised
            output = _build(tree.body, leaves, source)
    except RecursionError:
        raise ExpressionError("expression: nested too deeply") from None
    if output.op is not None:
        output.name = name
    return output, leaves


def _build(node: ast.expr, leaves: Mapping[str, Tensor], source: str) -> Tensor:
    """The microgrid op for one checked node (parse has already refused everything else)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        try:
            return Tensor(float(node.value))
        except OverflowError:
            raise ExpressionError(f"expression: the number {node.value} is too large") from None
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.BinOp):
        result = BINARY[type(node.op)](_build(node.left, leaves, source), _build(node.right, leaves, source))
    elif isinstance(node, ast.UnaryOp):
        operand = _build(node.operand, leaves, source)
        result = -operand if isinstance(node.op, ast.USub) else operand
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        result = FUNCTIONS[node.func.id](_build(node.args[0], leaves, source))
    else:
        raise ExpressionError(f"expression: {type(node).__name__} is not allowed; {ALLOWED}")
    segment = ast.get_source_segment(source, node)
    if result.op is not None and result.name is None and segment and len(segment) <= MAX_NAME:
        result.name = segment  # the node shows the text it computes: "b*c", "a + b*c"
    return result
