"""The graph a picture shows: the tensors behind some outputs, their display names, and the
gradients of the engine's own walk, recorded. Everything in viz/ reads the graph through this.

Reading never changes the graph: the backward pass is walked with create_graph=True from seeds
of its own, so every `.grad` stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from microgrid.autograd import Contribution, Step, graph, walk
from microgrid.errors import GradError
from microgrid.function import Op
from microgrid.tensor import Tensor

TINY = 4  # arrays with at most this many numbers are printed in full
COURSE_NAME = re.compile(r"[A-Za-z]\w*(\[\d+\])?")
WORD = re.compile(r"[A-Za-z_]\w*")


class Graph:
    """The recorded forward graph behind some outputs, with a display name and a DOT key per tensor."""

    def __init__(self, roots: Tensor | Sequence[Tensor]) -> None:
        if isinstance(roots, Tensor):
            roots = [roots]
        self.roots = list(roots) if isinstance(roots, list | tuple) else []
        if not self.roots or not all(isinstance(r, Tensor) for r in self.roots):
            raise TypeError("draw: pass a Tensor (or a list of Tensors) to draw the graph behind it")
        self.tensors = graph(self.roots)
        self.keys = {id(t): f"t{i}" for i, t in enumerate(self.tensors)}
        self.names: dict[int, str] = {}
        counter = 0
        for t in self.tensors:
            if t.name:
                self.names[id(t)] = t.name
            elif t.op is None and not t.requires_grad:
                self.names[id(t)] = number_text(t.data) if t.size == 1 else "constant"
            else:
                counter += 1
                self.names[id(t)] = f"t{counter}"
        self._steps: list[Step] | None = None

    def name(self, t: Tensor) -> str:
        """The tensor's own name, else a generated one (t1, t2, ...) or a constant's value."""
        return self.names[id(t)]

    def key(self, t: Tensor) -> str:
        return self.keys[id(t)]

    def kind(self, t: Tensor) -> str:
        """output, parameter, input, constant or intermediate: how the forward picture styles t."""
        if any(t is root for root in self.roots):
            return "output"
        if t.op is not None:
            return "intermediate"
        if t.requires_grad:
            return "parameter"
        return "input" if t.name else "constant"

    def steps(self) -> list[Step]:
        """The engine's walk from the outputs, every step recorded (create_graph=True).

        The seed dJ is a leaf that requires grad, so even the first steps (dJ · 3) are recorded.
        """
        if self._steps is None:
            roots = [r for r in self.roots if r.requires_grad]
            if not roots:
                raise GradError(
                    f"draw: {self.roots[0].describe()} does not require grad, so there is no backward "
                    "pass to draw; create its inputs with requires_grad=True"
                )
            seeds = [
                Tensor(np.ones(r.shape, r.dtype), requires_grad=True, name=grad_name(self.name(r)))
                for r in roots
            ]
            self._steps = list(walk(roots, seeds, create_graph=True))
        return self._steps

    def gradients(self) -> dict[int, Tensor]:
        """d(outputs)/d(t) for every t the walk reached, by id: visited tensors and finished leaves."""
        found: dict[int, Tensor] = {}
        for step in self.steps():
            if step.grad is not None:
                found[id(step.tensor)] = step.grad
            for leaf, leaf_grad in step.finished:
                found[id(leaf)] = leaf_grad
        return found

    def formula(self, op: Op) -> str:
        """The op's formula with its operands' names: `b · c` for u = b * c (the op's name if it
        has no formula, like a user's op)."""
        if op.formula is None:
            return op.name
        return spell(op.formula, op, [self.name(t) for t in op.inputs])

    def sent(self, step: Step, contribution: Contribution) -> str:
        """`mul sends dc ← du · b = 9`: what a step's op sent one input, its rule in real names."""
        t = step.tensor
        op = t.op
        assert op is not None
        name = self.name(t)
        rule = "its rule"
        if contribution.rule is not None:
            operands = [self.name(p) for p in op.inputs]
            rule = spell(contribution.rule, op, operands, {"g": grad_name(name), "out": name})
        target = grad_name(self.name(contribution.input))
        line = f"{op.describe()} sends {target} ← {rule} = {value_text(contribution.grad)}"
        if contribution.broadcast_shape is not None:
            shapes = f"{contribution.broadcast_shape} → {contribution.input.shape}"
            line += f", summed over broadcast axes {shapes}"
        return line


def spell(text: str, op: Op, operands: Sequence[str], extra: Mapping[str, str] | None = None) -> str:
    """`text` (a formula or a rule) with the op's input names replaced by `operands` and any
    other word in `extra` (g, out) replaced too: "g · a" with a = 3, g = dJ reads "dJ · 3"."""
    slots = op.slots() if not op.variadic else ()
    names = dict(zip(slots, (_operand(name) for name in operands)))
    if extra:
        names.update(extra)
    return WORD.sub(lambda word: names.get(word.group(), word.group()), text)


def _operand(name: str) -> str:
    """A name as an operand in a formula: an expression in brackets, so `g · (b * c)` keeps its sense."""
    return name if COURSE_NAME.fullmatch(name) or _is_number(name) else f"({name})"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- text in the nodes ---------------------------------------------------------------------------


def number_text(array: Any) -> str:
    """A one-number array as short text: 5, 0.6931, 1e-07."""
    value = np.asarray(array).reshape(-1)[0]
    return str(bool(value)) if value.dtype == bool else _number(float(value), 4)


def _number(value: float, digits: int) -> str:
    return f"{value + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0


def value_lines(array: np.ndarray) -> list[str]:
    """The numbers themselves for tiny arrays, else min / mean / max."""
    if array.size == 0:
        return ["empty"]
    values = np.asarray(array, dtype=np.float64)
    if values.size <= TINY:
        return [_nested(values.tolist())]
    low, mean, high = (_number(v, 3) for v in (values.min(), values.mean(), values.max()))
    return [f"min {low}  mean {mean}  max {high}"]


def _nested(values: Any) -> str:
    """[[1, 2], [3, 4]]: nested lists of numbers, on one line."""
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return _number(values, 4)


def value_text(t: Tensor) -> str:
    """A tensor's value as one line of text: `3`, or `(2, 5) min -1 mean 0.2 max 3`."""
    if t.ndim == 0:
        return number_text(t.data)
    return " ".join([str(t.shape), *value_lines(t.data)])


def tensor_text(name: str, t: Tensor) -> tuple[str, list[str]]:
    """Title and lines for a tensor: `a = 5`, or `W[1] (4, 2)` over its values; `3` for a constant."""
    if t.ndim == 0:
        value = number_text(t.data)
        return (value if name == value else f"{name} = {value}"), []
    return f"{name} {t.shape}", value_lines(t.data)


def grad_name(name: str) -> str:
    """Course notation: dW[1] for dJ/dW[1]; d(b * c) when the name is an expression."""
    return f"d{name}" if COURSE_NAME.fullmatch(name) else f"d({name})"
