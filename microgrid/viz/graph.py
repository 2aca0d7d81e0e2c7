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
MAX_NAME = 32  # an unnamed tensor is named by its formula up to this length (`W[2] @ A[1]`)
COURSE_NAME = re.compile(r"[A-Za-z]\w*(\[\d+\])?")
# A slot in a formula or rule: ASCII only, so `bᵀ` and `out²` are the slot b and out with a mark.
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DiagramTooLarge(ValueError):
    """The picture has more nodes than max_nodes: Graphviz would take very long to lay it out.
    `counted` is how many nodes were counted before drawing stopped."""

    def __init__(self, message: str, counted: int) -> None:
        super().__init__(message)
        self.counted = counted


class Graph:
    """The recorded forward graph behind some outputs, with a display name and a DOT key per tensor.

    With `max_nodes`, collecting stops as soon as the picture is sure to hold more nodes than
    that (each tensor that requires grad is a node of every picture; with `collapsed`, only those
    outside any scope), so an oversized graph is refused before it is walked or drawn.
    """

    def __init__(
        self, roots: Tensor | Sequence[Tensor], max_nodes: int | None = None, collapsed: bool = False
    ) -> None:
        if isinstance(roots, Tensor):
            roots = [roots]
        self.roots = list(roots) if isinstance(roots, list | tuple) else []
        if not self.roots or not all(isinstance(r, Tensor) for r in self.roots):
            raise TypeError("draw: pass a Tensor (or a list of Tensors) to draw the graph behind it")
        self.tensors = collect(self.roots, max_nodes, collapsed)
        self.keys = {id(t): f"t{i}" for i, t in enumerate(self.tensors)}
        self.names: dict[int, str] = {}
        self.generated: set[int] = set()  # ids of tensors whose name the picture made up
        for t in self.tensors:
            if t.name:
                self.names[id(t)] = t.name
                continue
            self.generated.add(id(t))
            if t.op is None:
                self.names[id(t)] = number_text(t.data) if t.size == 1 else "array"
                continue
            self.names[id(t)] = derived_name(t.op, [self.names[id(p)] for p in t.op.inputs], self.generated)
        self._steps: list[Step] | None = None
        self._drawn: dict[int, Tensor] | None = None

    def drawn_as(self, t: Tensor) -> Tensor:
        """The tensor whose gradient t's gradient is named after: t, or for a tensor whose name
        the picture made up (W[2] @ A[1]) a named one with the very same gradient tensor (Z[2],
        whose add passed it on unchanged), so that rules read dW[2] = dZ[2] @ A[1]ᵀ."""
        if self._drawn is None:
            grads = self.gradients()
            sharing: dict[int, list[Tensor]] = {}  # id(gradient) -> its tensors, output first
            for u in reversed(self.tensors):
                if id(u) in grads:
                    sharing.setdefault(id(grads[id(u)]), []).append(u)
            self._drawn = {}
            for tensors in sharing.values():
                passer: Tensor | None = None  # the named tensor nearest the output: it passed it on
                for u in tensors:
                    if id(u) not in self.generated and passer is None:
                        passer = u
                    self._drawn[id(u)] = u if passer is None or id(u) not in self.generated else passer
        return self._drawn.get(id(t), t)

    def grad_label(self, t: Tensor) -> str:
        """The name of t's gradient in rules: dZ[2], also for the W[2] @ A[1] that Z[2] passed it to."""
        return grad_name(self.name(self.drawn_as(t)))

    def name(self, t: Tensor) -> str:
        """The tensor's own name, else its formula in its inputs' names (`W[1] @ X`) or its value."""
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
        return formula_text(op, [self.name(t) for t in op.inputs], short=False)

    def sent(self, step: Step, contribution: Contribution) -> str:
        """`mul sends dc ← du · b = 9`: what a step's op sent one input, its rule in real names."""
        t = step.tensor
        op = t.op
        assert op is not None
        name = self.name(t)
        rule = "its rule"
        if contribution.rule is not None:
            operands = [self.name(p) for p in op.inputs]
            rule = spell(contribution.rule, op, operands, {"g": self.grad_label(t), "out": name})
        target = grad_name(self.name(contribution.input))
        line = f"{op_title(op)} sends {target} ← {rule} = {value_text(contribution.grad)}"
        if contribution.broadcast_shape is not None:
            shapes = f"{contribution.broadcast_shape} → {contribution.input.shape}"
            line += f", summed over broadcast axes {shapes}"
        return line


def collect(roots: Sequence[Tensor], max_nodes: int | None, collapsed: bool) -> list[Tensor]:
    """Every tensor behind `roots`, each after its inputs (autograd.graph); refused with
    DiagramTooLarge as soon as more than `max_nodes` of them are sure to be drawn, while the graph
    is still being searched: a 200,000-op chain is refused after about 400 tensors, not after its
    whole picture is built."""
    if max_nodes is None:
        return graph(roots)
    counted = 0
    scoped = False

    def count(t: Tensor) -> None:
        """Count a tensor that will be a node (one that requires grad; with `collapsed`, only one
        outside every scope), and refuse at the first over `max_nodes`."""
        nonlocal counted, scoped
        scoped = scoped or bool(t.scope)
        if t.requires_grad and not (collapsed and t.scope):
            counted += 1
            if counted > max_nodes:
                raise DiagramTooLarge(too_large(f"at least {counted}", max_nodes, collapsed, scoped), counted)

    return graph(roots, visit=count)


def too_large(count: str, max_nodes: int, collapsed: bool, scoped: bool) -> str:
    """Why a picture is refused, and how to make it smaller."""
    if collapsed:
        advice = "collapse already drew each scope as one box; draw a smaller part of the graph"
    elif scoped:
        advice = "pass collapse=True to draw each scope (layer) as one box"
    else:
        advice = 'make the layers inside `with mg.scope("layer 1"):` and pass collapse=True'
    return (
        f"draw: the picture has {count} nodes, more than max_nodes={max_nodes}, and Graphviz would "
        f"take very long to lay it out; {advice}, or pass max_nodes=None to draw it anyway"
    )


# --- formulas in real names ----------------------------------------------------------------------


def derived_name(op: Op, operands: Sequence[str], generated: set[int]) -> str:
    """A name for an unnamed tensor: its formula in its operands' names (`W[2] @ A[1]`, `1 − Y`,
    `Z[1] > 0`); when that is too long, with the operands that are themselves unnamed written
    `…` (`ln … + max Z`)."""
    text = formula_text(op, operands)
    if len(text) > MAX_NAME:
        elided = [
            "…" if id(t) in generated and t.op is not None else name for t, name in zip(op.inputs, operands)
        ]
        text = formula_text(op, elided)
    return text if len(text) <= MAX_NAME else f"{op.name}(…)"


def op_title(op: Op) -> str:
    """The op's name and parameters, without the formula in slot names some ops describe
    themselves with: `matmul` for `matmul a @ bᵀ` (the formula is spelled in real names below it)."""
    title = op.describe()
    if op.formula and title.endswith(op.formula):
        title = title[: -len(op.formula)].rstrip()
    return title or op.name


def formula_text(op: Op, operands: Sequence[str], short: bool = True) -> str:
    """What the op computes, in its operands' names: `W[2] @ A[1]`, `A[1]²` for a · a, `dA[1] ⊙ g`
    for an elementwise product of arrays. `short` keeps only the name of a defined formula
    (`σ(Z)` of `σ(a) = 1 / (1 + e^−a)`) and drops a closing remark (`max a (0 where ±∞)`)."""
    if op.formula is None:
        return f"{op.name}({', '.join(operands)})"
    inputs = op.inputs
    if op.name == "mul" and len(inputs) == 2:
        if inputs[0] is inputs[1]:
            return f"{_operand(operands[0])}²"
        if all(t.size > 1 for t in inputs):  # an elementwise product of arrays, not a scaling
            return f"{_operand(operands[0])} ⊙ {_operand(operands[1])}"
    text = op.formula
    if short:
        text = REMARK.sub("", text.split(" = ")[0])
    return spell(text, op, operands)


REMARK = re.compile(r" \([^()]*\)$")
CALL = re.compile(r"[^\s()]+\((?:[^()]|\([^()]*\))*\)")  # d(W[2] @ A[1]), σ(Z[2]): one operand


def spell(text: str, op: Op, operands: Sequence[str], extra: Mapping[str, str] | None = None) -> str:
    """`text` (a formula or a rule) with the op's input names replaced by `operands` and any
    other word in `extra` (g, out) replaced too: "g · a" with a = 3, g = dJ reads "dJ · 3"."""
    slots = op.slots() if not op.variadic else ()
    names = dict(zip(slots, (_operand(name) for name in operands)))
    if extra:
        names.update({word: _operand(name) for word, name in extra.items()})
    return WORD.sub(lambda word: names.get(word.group(), word.group()), text)


def _operand(name: str) -> str:
    """A name as an operand in a formula: an expression in brackets, so `g · (b * c)` keeps its
    sense; a name, a number, `σ(Z)`, `1/m` or `A[1]²` as it is."""
    if " " not in name and not name.startswith(("−", "-")):
        return name
    return name if CALL.fullmatch(name) else f"({name})"


def _is_number(text: str) -> bool:
    try:
        float(text.replace("−", "-"))
    except ValueError:
        return False
    return True


# --- text in the nodes ---------------------------------------------------------------------------


def number_text(array: Any, reciprocal: bool = True) -> str:
    """A one-number array as short text: 5, 0.6931, 1e-07, and 1/400 for the reciprocal of a
    whole number from 3 on (what 1/m is: 0.0025 hides the 400), unless `reciprocal` is False (a
    parameter's value, which is a number, not a fraction someone wrote)."""
    value = np.asarray(array).reshape(-1)[0]
    if value.dtype == bool:
        return str(bool(value))
    number = float(value)
    if reciprocal and number and 1e-6 < abs(number) < 0.4:
        whole = round(1 / abs(number))
        if abs(abs(number) * whole - 1) < 1e-9:
            return f"{'-' if number < 0 else ''}1/{whole}"
    return _number(number, 4)


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


def number_of(t: Tensor) -> str:
    """A one-number tensor's value as text: a fraction (1/m) except for a parameter, whose value
    training changes (b = 0.1 is a number, not a 1/10 someone wrote)."""
    return number_text(t.data, reciprocal=not (t.op is None and t.requires_grad))


def value_text(t: Tensor) -> str:
    """A tensor's value as one line of text: `3`, or `(2, 5) min -1 mean 0.2 max 3`."""
    if t.ndim == 0:
        return number_of(t)
    return " ".join([str(t.shape), *value_lines(t.data)])


def tensor_text(name: str, t: Tensor) -> tuple[str, list[str]]:
    """Title and lines for a tensor: `a = 5`, or `W[1] (4, 2)` over its values; `3` for a constant."""
    if t.ndim == 0:
        value = number_of(t)
        return (value if name == value else f"{name} = {value}"), []
    return f"{name} {t.shape}", value_lines(t.data)


def grad_name(name: str) -> str:
    """Course notation: dW[1] for dJ/dW[1]; d(b * c) when the name is an expression."""
    return f"d{name}" if COURSE_NAME.fullmatch(name) else f"d({name})"
