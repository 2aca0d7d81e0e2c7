"""The graph as plain text, one line per tensor, for terminals, tests and screen readers.

Forward, each tensor after its inputs (like a jaxpr): its name and shape, what made it (the op's
formula in its operands' names), its value, and its gradient when one is known. Backward, the
engine's walk step by step: the tensor visited, its gradient, and what its op sent each input.
Needs no Graphviz: it reads the same Graph as the pictures.

    >>> print(mg.draw(J).text())   # doctest: +SKIP
    a = 5                                  parameter
    ...
"""

from __future__ import annotations

from collections.abc import Mapping

from microgrid.tensor import Tensor
from microgrid.viz.graph import Graph, grad_name, value_text


def forward_text(graph: Graph, grads: Mapping[int, Tensor] | None = None) -> str:
    """One line per tensor in data-flow order: `u (1,) = mul(b, c): b · c = 6    du = 3`."""
    rows = []
    for t in graph.tensors:
        name = graph.name(t)
        shaped = name if t.ndim == 0 else f"{name} {t.shape}"
        if t.op is None:
            left, right = shaped, graph.kind(t)
        else:
            operands = ", ".join(graph.name(p) for p in t.op.inputs)
            left, right = f"{shaped} = {t.op.describe()}({operands})", graph.formula(t.op)
        value = value_text(t)
        gradient = grads.get(id(t)) if grads is not None else None
        grad = f"    {grad_name(name)} = {value_text(gradient)}" if gradient is not None else ""
        rows.append((left, f"{right}   value {value}{grad}"))
    return _columns(rows)


def backward_text(graph: Graph) -> str:
    """The walk, one block per step: the tensor visited and what its op sends each input."""
    lines = []
    for number, step in enumerate(graph.steps(), start=1):
        t = step.tensor
        name = graph.name(t)
        grad = "no gradient" if step.grad is None else value_text(step.grad)
        lines.append(f"step {number}: {grad_name(name)} = {grad}")
        lines += [f"    {graph.sent(step, contribution)}" for contribution in step.contributions()]
        for leaf, leaf_grad in step.finished:
            lines.append(f"    {grad_name(graph.name(leaf))} = {value_text(leaf_grad)}, final")
    return "\n".join(lines)


def _columns(rows: list[tuple[str, str]]) -> str:
    """Two columns, the first padded to its widest entry."""
    width = max((len(left) for left, _ in rows), default=0)
    return "\n".join(f"{left:<{width}}   {right}".rstrip() for left, right in rows)
