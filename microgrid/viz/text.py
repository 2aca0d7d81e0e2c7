"""The graph as plain text, one line per tensor, for terminals, tests and screen readers.

Forward, each tensor after its inputs (like a jaxpr): its name and shape, what made it (the op's
formula in its operands' names), its value, and its gradient when one is known. Backward, the
engine's walk step by step: the tensor visited, its gradient, and what its op sent each input,
its rule in the same names as the pictures (dW[2] ← dZ[2] @ A[1]ᵀ). Needs no Graphviz: it reads
the same Graph as the pictures.

    >>> print(mg.draw(J).text())   # doctest: +SKIP
    a = 5                 parameter   value 5
    ...
    u = mul(b, c)         b · c   value 6
        db ← du · c;  dc ← du · b
    ...
"""

from __future__ import annotations

from collections.abc import Mapping

from microgrid.tensor import Tensor
from microgrid.viz.graph import Graph, grad_name, op_title, spell, value_text


def forward_text(graph: Graph, grads: Mapping[int, Tensor] | None = None) -> str:
    """One line per tensor in data-flow order, `u = mul(b, c)   b · c   value 6    du = 3`, and
    under each op the rules its backward will apply, `db ← du · c;  dc ← du · b`."""
    rows = []
    rules: list[str] = []  # the line under each row: the op's rules, or nothing
    for t in graph.tensors:
        name = graph.name(t)
        shaped = name if t.ndim == 0 else f"{name} {t.shape}"
        if t.op is None:
            left, right = shaped, graph.kind(t)
        else:
            operands = ", ".join(graph.name(p) for p in t.op.inputs)
            formula = graph.formula(t.op)
            left = f"{shaped} = {op_title(t.op)}({operands})"
            right = "" if formula == name else formula  # a made-up name is the formula already
        value = value_text(t)
        gradient = grads.get(id(t)) if grads is not None else None
        grad = f"    {grad_name(name)} = {value_text(gradient)}" if gradient is not None else ""
        rows.append((left, f"{right}   value {value}{grad}".lstrip()))
        rules.append(_rules(graph, t))
    return "\n".join(row + rule for row, rule in zip(_columns(rows).splitlines(), rules))


def _rules(graph: Graph, t: Tensor) -> str:
    """`\n    db ← du · c;  dc ← du · b`: what t's op sends each input that needs a gradient."""
    op = t.op
    if op is None or op.rules is None:
        return ""
    name = graph.name(t)
    operands = [graph.name(p) for p in op.inputs]
    sent = [
        f"{grad_name(operand)} ← {spell(rule, op, operands, {'g': grad_name(name), 'out': name})}"
        for position, (operand, needed) in enumerate(zip(operands, op.needs_grad))
        if needed and (rule := op.rule(position)) is not None
    ]
    return f"\n    {';  '.join(sent)}" if sent else ""


def backward_text(graph: Graph) -> str:
    """The walk, one block per step: the tensor visited and what its op sends each input."""
    lines = []
    for number, step in enumerate(graph.steps(), start=1):
        t = step.tensor
        name = graph.name(t)
        grad = "no gradient" if step.grad is None else value_text(step.grad)
        passed = graph.drawn_as(t)
        if passed is not t and passed.op is not None:  # a named tensor's gradient, passed on by its op
            grad = f"{graph.grad_label(passed)}, passed on unchanged by {op_title(passed.op)}"
        lines.append(f"step {number}: {grad_name(name)} = {grad}")
        lines += [f"    {graph.sent(step, contribution)}" for contribution in step.contributions()]
        for leaf, leaf_grad in step.finished:
            lines.append(f"    {grad_name(graph.name(leaf))} = {value_text(leaf_grad)}, final")
    return "\n".join(lines)


def _columns(rows: list[tuple[str, str]]) -> str:
    """Two columns, the first padded to its widest entry."""
    width = max((len(left) for left, _ in rows), default=0)
    return "\n".join(f"{left:<{width}}   {right}".rstrip() for left, right in rows)
