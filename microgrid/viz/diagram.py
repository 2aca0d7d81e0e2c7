"""Draw the graph behind a tensor as Graphviz DOT: forward, backward, or both side by side.

Drawing reads the graph and never changes it. The backward picture is the engine's own reverse
walk (`grad` with create_graph=True), recorded and drawn; it leaves every `.grad` as it was.

Colour legend (STYLES is the one place where styles live):

    input          blue box           a named leaf that needs no gradient: data (X, Y)
    parameter      amber box          a leaf with requires_grad: what training changes (W[1], b[1])
    constant       small dashed box   an unnamed leaf: a number in the code (the 3 of 3·v, 1/m)
    intermediate   white box          a tensor an op made (Z[1], A[1])
    output         green box          the tensor the picture is drawn for (J)
    op             grey ellipse       a primitive: its name, parameters and formula
    gradient       pink box           d(output)/d(tensor) in course notation: dW[1] is dJ/dW[1]
    partial        small white box    a value the backward pass made on its way to a gradient
    saved          small grey box     a forward value the backward pass reads (b in d/da = g · b)
    scope          3-D box            a whole scope (a layer) when collapse=True

A tensor's gradient, once computed, sits beside its value in a pink cell. With gradcheck=report,
parameters are filled by their relative difference instead: green (passed), yellow (< 1e-4),
orange (< 1e-2), red (larger: the backward rule behind that parameter is wrong).
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz  # type: ignore[import-untyped]
import numpy as np

from microgrid.autograd import Op, grad
from microgrid.errors import GradError
from microgrid.gradcheck import GradcheckReport
from microgrid.tensor import Tensor
from microgrid.viz import render

# --- styles: the one table ----------------------------------------------------------------

FONT = "Helvetica"
SMALL = "10"  # point size of the lines under a node's title

STYLES: dict[str, dict[str, str]] = {
    "input": {"shape": "box", "style": "filled,rounded", "fillcolor": "#dbeafe"},
    "parameter": {"shape": "box", "style": "filled,rounded", "fillcolor": "#fde68a"},
    "constant": {"shape": "box", "style": "rounded,dashed", "fontsize": "10", "color": "#9ca3af"},
    "intermediate": {"shape": "box", "style": "filled,rounded", "fillcolor": "white"},
    "output": {"shape": "box", "style": "filled,rounded,bold", "fillcolor": "#bbf7d0"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#f3f4f6", "color": "#6b7280"},
    "gradient": {"shape": "box", "style": "filled,rounded", "fillcolor": "#fbcfe8"},
    "partial": {"shape": "box", "style": "rounded", "fontsize": "10", "color": "#9ca3af"},
    "saved": {"shape": "box", "style": "filled,rounded,dotted", "fillcolor": "#e5e7eb", "fontsize": "10"},
    "scope": {"shape": "box3d", "style": "filled", "fillcolor": "#ede9fe"},
}
LEGEND = {
    "input": "input (data)",
    "parameter": "parameter (requires grad)",
    "constant": "constant",
    "intermediate": "intermediate",
    "output": "output",
    "op": "op: name, formula",
    "gradient": "gradient dJ/dx, written dx",
    "partial": "partial result of backward",
    "saved": "forward value read by backward",
    "scope": "scope drawn as one box",
}
EDGE_STYLES: dict[str, dict[str, str]] = {
    "data": {},
    "backward": {"color": "#be185d"},
    "saved": {"style": "dashed", "color": "#9ca3af"},
}
GRADIENT_CELL = "#fce7f3"  # background of the gradient drawn beside a tensor's value
CURRENT = {"color": "#ea580c", "penwidth": "3"}  # step-through: the gradient being finalised
CURRENT_EDGE = {"color": "#ea580c", "penwidth": "2.5"}
# Gradient check: (largest relative difference, fill, legend text); the first band that fits wins.
GRADCHECK_BANDS = (
    (1e-4, "#fef08a", "gradcheck: difference < 1e-4"),
    (1e-2, "#fdba74", "gradcheck: difference < 1e-2"),
    (float("inf"), "#f87171", "gradcheck: wrong gradient"),
)
GRADCHECK_PASSED = "#86efac"

SHOWS = ("forward", "backward", "both")
RANKDIRS = ("LR", "TB")
TINY = 4  # arrays with at most this many numbers are printed in full
COMMUTATIVE = frozenset({"add", "mul"})  # their inputs need no "a"/"b" edge labels
COURSE_NAME = re.compile(r"[A-Za-z]\w*(\[\d+\])?")


class DiagramTooLarge(ValueError):
    """The picture has more nodes than max_nodes: Graphviz would take very long to lay it out."""


# --- what a picture is made of --------------------------------------------------------------


@dataclass
class Node:
    """One box or ellipse: its kind (a STYLES key), its text and where it belongs."""

    key: str
    kind: str
    title: str
    lines: list[str] = field(default_factory=list)
    scope: tuple[str, ...] = ()
    part: str = "forward"  # "forward" or "backward": the cluster it goes in when both are drawn
    grad: list[str] | None = None  # the gradient drawn beside the value: title, then lines
    tooltip: str = ""
    check: tuple[float, bool] | None = None  # gradcheck's (relative difference, passed)
    parameter: bool = False  # a parameter or its gradient: listed when its scope is collapsed
    current: bool = False  # step-through: the node whose gradient is being finalised
    grad_hidden: bool = False  # step-through: the gradient is not known yet


@dataclass
class Edge:
    """An arrow in data-flow order; `kind` is a key of EDGE_STYLES."""

    tail: str
    head: str
    kind: str = "data"
    label: str = ""
    current: bool = False


@dataclass
class Picture:
    """Nodes and edges, ready to become DOT; `mirrored` draws backward edges right to left."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    mirrored: bool = False
    stepping: bool = False  # a step-through frame: the legend explains the highlight in every frame

    def add(self, node: Node) -> None:
        self.nodes[node.key] = node


# --- reading the graph -------------------------------------------------------------------------


def collect(roots: Iterable[Tensor], stop: frozenset[int] = frozenset()) -> list[Tensor]:
    """Every tensor behind `roots`, each once, inputs before consumers; tensors in `stop` end the walk.

    An explicit stack instead of recursion, so graphs of any depth are fine.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False) for root in reversed(list(roots))]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node.op is not None and id(node) not in stop:
            stack.extend((parent, False) for parent in reversed(node.op.inputs) if id(parent) not in visited)
    return order


class Graph:
    """The recorded forward graph behind some outputs, with a display name and a DOT key per tensor."""

    def __init__(self, roots: Tensor | Sequence[Tensor]) -> None:
        if isinstance(roots, Tensor):
            roots = [roots]
        self.roots = list(roots) if isinstance(roots, list | tuple) else []
        if not self.roots or not all(isinstance(r, Tensor) for r in self.roots):
            raise TypeError("draw: pass a Tensor (or a list of Tensors) to draw the graph behind it")
        self.tensors = collect(self.roots)
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

    def consumers(self) -> dict[int, list[tuple[Tensor, int]]]:
        """For each tensor, the (output, input position) pairs of the ops that read it."""
        found: dict[int, list[tuple[Tensor, int]]] = {}
        for out in self.tensors:
            if out.op is not None:
                for position, parent in enumerate(out.op.inputs):
                    found.setdefault(id(parent), []).append((out, position))
        return found

    def gradients(self) -> dict[int, Tensor]:
        """d(outputs)/d(t) for every t that requires grad, by the engine's walk with create_graph=True.

        The seed dJ is a leaf that requires grad, so even the first steps (dJ · 3) are recorded.
        `grad` returns the gradients and leaves every `.grad` untouched.
        """
        roots = [r for r in self.roots if r.requires_grad]
        targets = [t for t in self.tensors if t.requires_grad]
        if not roots:
            raise GradError(
                f"draw: {self.roots[0].describe()} does not require grad, so there is no backward pass "
                "to draw; create its inputs with requires_grad=True"
            )
        seeds = [
            Tensor(np.ones(r.shape, r.dtype), requires_grad=True, name=grad_name(self.name(r))) for r in roots
        ]
        found = grad(roots, targets, grad_outputs=seeds, create_graph=True, allow_unused=True)
        return {id(t): g for t, g in zip(targets, found) if g is not None}


# --- text in the nodes ---------------------------------------------------------------------------


def number_text(array: np.ndarray) -> str:
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


def tensor_text(name: str, t: Tensor) -> tuple[str, list[str]]:
    """Title and lines for a tensor: `a = 5`, or `W[1] (4, 2)` over its values; `3` for a constant."""
    if t.ndim == 0:
        value = number_text(t.data)
        return (value if name == value else f"{name} = {value}"), []
    return f"{name} {t.shape}", value_lines(t.data)


def grad_name(name: str) -> str:
    """Course notation: dW[1] for dJ/dW[1]; d(b * c) when the name is an expression."""
    return f"d{name}" if COURSE_NAME.fullmatch(name) else f"d({name})"


def op_formula(op: Op) -> str:
    """The op's formula from its class docstring ("a · b;  d/da = ..."), without remarks."""
    formula = _doc_line(op).partition(";")[0].replace("`", "").strip()
    depth = 0
    for i, char in enumerate(formula):  # "a @ b, either operand's ...": keep what precedes the remark
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            formula = formula[:i]
            break
    return re.sub(r"\s+\((?=[A-Za-z]{2})[^()]*\)$", "", formula)  # drop a trailing "(remark)"


def op_rule(op: Op, position: int) -> str:
    """The local derivative the op's backward uses for input `position`: `d/db = g · a`."""
    rules = _doc_line(op).partition(";")[2].strip().rstrip(".").replace("`", "")
    parts = re.split(r",\s+(?=d/d)", rules)
    letter = "ab"[position] if position < 2 else ""
    for part in parts:
        if letter and part.startswith(f"d/d{letter} "):
            return part
    return rules


def _doc_line(op: Op) -> str:
    """The first paragraph of the op's class docstring, on one line."""
    doc = (type(op).__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split()) or op.name


def operand_label(op: Op, position: int) -> str:
    """`a`, `b` on the edges into an op whose inputs are not interchangeable (pow, matmul)."""
    if len(op.inputs) < 2 or op.name in COMMUTATIVE:
        return ""
    return "ab"[position] if len(op.inputs) == 2 else str(position)


def op_node(key: str, out: Tensor, part: str, scope: tuple[str, ...]) -> Node:
    """The node of the op that made `out`: its name and parameters, formula and shape change."""
    op = out.op
    assert op is not None
    title = op.describe()
    # The docstring's formula is generic; an op whose description has parameters says it better.
    lines = [op_formula(op)] if title == op.name else []
    if len(op.inputs) == 1 and op.inputs[0].shape != out.shape:
        lines.append(f"{op.inputs[0].shape} → {out.shape}")
    return Node(key, "op", title, lines, scope, part, tooltip=_doc_line(op))


# --- building pictures ------------------------------------------------------------------------------


def forward_picture(
    graph: Graph,
    grads: Mapping[int, Tensor] | None = None,
    checks: Mapping[int, tuple[float, bool]] | None = None,
) -> Picture:
    """One node per tensor and per op, in data-flow order; `grads` are drawn beside the values."""
    picture = Picture()
    for t in graph.tensors:
        key, name = graph.key(t), graph.name(t)
        title, lines = tensor_text(name, t)
        kind = graph.kind(t)
        node = Node(key, kind, title, lines, t.scope, tooltip=t.describe(), parameter=kind == "parameter")
        gradient = grads.get(id(t)) if grads is not None else None
        if gradient is not None:
            grad_title, grad_lines = tensor_text(grad_name(name), gradient)
            node.grad = [grad_title, *grad_lines]
        if checks is not None and id(t) in checks:
            node.check = checks[id(t)]
            node.lines.append(f"gradcheck {node.check[0]:.1e}")
        picture.add(node)
        if t.op is not None:
            op_key = f"op_{key}"
            picture.add(op_node(op_key, t, "forward", t.scope))
            for position, parent in enumerate(t.op.inputs):
                picture.edges.append(Edge(graph.key(parent), op_key, label=operand_label(t.op, position)))
            picture.edges.append(Edge(op_key, key))
    return picture


def backward_picture(
    graph: Graph,
    grads: Mapping[int, Tensor],
    checks: Mapping[int, tuple[float, bool]] | None = None,
    beside: Picture | None = None,
) -> Picture:
    """The recorded backward pass: gradients, partial results, and op nodes for every step.

    With `beside` (the forward picture), the two are drawn side by side and the forward values
    the backward pass reads are edges from the forward picture; alone, they are small nodes.
    """
    picture = beside if beside is not None else Picture()
    picture.mirrored = beside is not None
    owners: dict[int, list[Tensor]] = {}
    for t in reversed(graph.tensors):  # the gradient nearest the output first: dv = du = da
        if id(t) in grads:
            owners.setdefault(id(grads[id(t)]), []).append(t)
    forward_ids = frozenset(graph.keys)
    tensors = collect((grads[id(t)] for t in graph.tensors if id(t) in grads), stop=forward_ids)
    scopes = _backward_scopes(tensors, owners, forward_ids)
    keys: dict[int, str] = {}
    for i, t in enumerate(tensors):
        if id(t) in forward_ids:
            if beside is not None:
                keys[id(t)] = graph.key(t)
                continue
            keys[id(t)] = f"s_{graph.key(t)}"
            title, _ = tensor_text(graph.name(t), t)
            saved = Node(keys[id(t)], "saved", title, [], scopes[id(t)], "backward", tooltip=t.describe())
            picture.add(saved)
            continue
        keys[id(t)] = key = f"g{i}"
        if id(t) in owners:
            names = [graph.name(owner) for owner in owners[id(t)]]
            title, lines = tensor_text(" = ".join(grad_name(n) for n in names), t)
            tooltip = ", ".join(f"d{graph.name(graph.roots[0])}/d{n}" for n in names)
            node = Node(key, "gradient", title, lines, scopes[id(t)], "backward", tooltip=tooltip)
            node.parameter = any(o.op is None for o in owners[id(t)])
            checked = [checks[id(o)] for o in owners[id(t)] if checks is not None and id(o) in checks]
            node.check = worst(checked)
            if node.check is not None:
                node.lines.append(f"gradcheck {node.check[0]:.1e}")
        else:
            kind = "partial" if t.op is not None else "constant"
            title, lines = (
                tensor_text(number_text(t.data), t) if t.ndim == 0 else (f"{t.shape}", value_lines(t.data))
            )
            node = Node(key, kind, title, lines, scopes[id(t)], "backward", tooltip=t.describe())
        picture.add(node)
        if t.op is not None:
            op_key = f"op_{key}"
            picture.add(op_node(op_key, t, "backward", scopes[id(t)]))
            for position, parent in enumerate(t.op.inputs):
                kind = "saved" if id(parent) in forward_ids else "backward"
                label = operand_label(t.op, position)
                picture.edges.append(Edge(keys[id(parent)], op_key, kind, label))
            picture.edges.append(Edge(op_key, key, "backward"))
    return picture


def _backward_scopes(
    tensors: list[Tensor], owners: Mapping[int, list[Tensor]], forward_ids: frozenset[int]
) -> dict[int, tuple[str, ...]]:
    """The scope each backward tensor is drawn in: its forward tensor's, else the gradient it feeds.

    Backward tensors are made wherever backward was called, so their own scope says nothing;
    a gradient belongs with its forward tensor, and a partial result with what it is used for.
    """
    scopes: dict[int, tuple[str, ...]] = {}
    for t in reversed(tensors):  # consumers before their inputs
        if id(t) in owners:
            scopes[id(t)] = owners[id(t)][0].scope
        scope = scopes.setdefault(id(t), ())
        if t.op is not None and id(t) not in forward_ids:
            for parent in t.op.inputs:
                scopes.setdefault(id(parent), scope)
    return scopes


def collapse_scopes(picture: Picture) -> Picture:
    """Each outermost scope as one box (per part), with its ops and parameters listed inside."""
    box_keys: dict[tuple[str, str], str] = {}  # (part, outermost scope) -> key of its box
    members: dict[str, list[Node]] = {}
    box_of: dict[str, str] = {}
    collapsed = Picture(mirrored=picture.mirrored)
    for node in picture.nodes.values():
        if not node.scope:
            collapsed.add(node)
            continue
        box_key = box_keys.setdefault((node.part, node.scope[0]), f"scope{len(box_keys)}")
        members.setdefault(box_key, []).append(node)
        box_of[node.key] = box_key
    for (part, name), box_key in box_keys.items():
        inside = members[box_key]
        title = name if part == "forward" else f"{name} (backward)"
        check = worst([n.check for n in inside if n.check is not None])
        collapsed.add(Node(box_key, "scope", title, _scope_summary(inside), (), part, check=check))
    seen: set[tuple[str, str, str]] = set()
    for edge in picture.edges:
        tail, head = box_of.get(edge.tail, edge.tail), box_of.get(edge.head, edge.head)
        if tail == head or (tail, head, edge.kind) in seen:
            continue
        seen.add((tail, head, edge.kind))
        label = edge.label if (tail, head) == (edge.tail, edge.head) else ""
        collapsed.edges.append(Edge(tail, head, edge.kind, label))
    return collapsed


def _scope_summary(nodes: list[Node]) -> list[str]:
    """`5 ops: matmul, add, tanh` and the parameters or gradients a collapsed scope holds."""
    ops = [n.title.split(" ")[0] for n in nodes if n.kind == "op"]
    lines = [f"{len(ops)} ops: {', '.join(dict.fromkeys(ops))}"]
    held = [n.title for n in nodes if n.parameter]
    if held:
        lines.append(", ".join(held))
    return lines


# --- DOT ---------------------------------------------------------------------------------------------


def to_digraph(picture: Picture, rankdir: str = "LR", legend: bool = True) -> graphviz.Digraph:
    """The picture as a graphviz.Digraph: scopes become (nested) clusters, styles come from STYLES."""
    dot = graphviz.Digraph(
        "microgrid",
        graph_attr={"rankdir": rankdir, "fontname": FONT, "bgcolor": "white", "nodesep": "0.25"},
        node_attr={"fontname": FONT, "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "10", "arrowsize": "0.7"},
    )
    # Graphviz stacks clusters in an order of its own; emitting backward first tends to put
    # the forward picture on top.
    parts = sorted({n.part for n in picture.nodes.values()}, key=["backward", "forward"].index)
    clusters = itertools.count(1)  # DOT ids cluster1, cluster2, ...: a scope's name may hold any character
    for part in parts:
        nodes = [n for n in picture.nodes.values() if n.part == part]
        if len(parts) == 1:
            _emit_scopes(dot, nodes, (), clusters)
            continue
        title = "forward" if part == "forward" else "backward: gradients flow right to left"
        if rankdir == "TB" and part == "backward":
            title = "backward: gradients flow bottom to top"
        with dot.subgraph(name=f"cluster{next(clusters)}") as cluster:
            # The backward title goes underneath, away from the dashed edges coming from above.
            where = "b" if part == "backward" else "t"
            cluster.attr(
                label=_html(f"<B>{html.escape(title)}</B>"), labelloc=where, style="rounded", color="#9ca3af"
            )
            _emit_scopes(cluster, nodes, (), clusters)
    for edge in picture.edges:
        attrs = dict(EDGE_STYLES[edge.kind])
        if edge.label:
            attrs["label"] = edge.label
        if edge.current:
            attrs.update(CURRENT_EDGE)
        if picture.mirrored and edge.kind == "backward":
            # Declared head to tail and drawn with the arrow at the tail: the backward graph is
            # laid out mirrored, so dW[1] lands under W[1] and the arrows run the other way.
            dot.edge(edge.head, edge.tail, dir="back", **attrs)
        elif picture.mirrored and edge.kind == "saved":
            dot.edge(edge.tail, edge.head, constraint="false", **attrs)  # leave both layouts alone
        else:
            dot.edge(edge.tail, edge.head, **attrs)
    if legend:
        dot.node("legend", _legend(picture), shape="plain")
    return dot


def _emit_scopes(
    dot: graphviz.Digraph, nodes: list[Node], prefix: tuple[str, ...], clusters: Iterator[int]
) -> None:
    """Nodes whose scope is `prefix` directly, and one cluster per deeper scope (nested)."""
    depth = len(prefix)
    children: dict[str, list[Node]] = {}
    for node in nodes:
        if len(node.scope) == depth:
            dot.node(node.key, _label(node), **_node_attrs(node))
        else:
            children.setdefault(node.scope[depth], []).append(node)
    for name, inner in children.items():
        with dot.subgraph(name=f"cluster{next(clusters)}") as cluster:
            cluster.attr(
                label=_html(html.escape(name)),
                style="rounded,filled",
                fillcolor="#f9fafb",
                color="#c4b5fd",
                labeljust="l",
            )
            _emit_scopes(cluster, inner, (*prefix, name), clusters)


def _node_attrs(node: Node) -> dict[str, str]:
    attrs = dict(STYLES[node.kind])
    if node.check is not None:
        attrs["fillcolor"] = gradcheck_fill(*node.check)
        attrs["style"] = "filled,rounded" if node.kind != "scope" else "filled"
    if node.current:
        attrs.update(CURRENT)
    if node.tooltip:
        attrs["tooltip"] = node.tooltip
    return attrs


def gradcheck_fill(difference: float, passed: bool) -> str:
    """The fill of a parameter whose gradient check found this relative difference."""
    if passed:
        return GRADCHECK_PASSED
    return next(fill for limit, fill, _ in GRADCHECK_BANDS if difference < limit)


def worst(checks: Sequence[tuple[float, bool]]) -> tuple[float, bool] | None:
    """The largest difference of several checks, passed only if all passed; None for none."""
    if not checks:
        return None
    return max(difference for difference, _ in checks), all(passed for _, passed in checks)


def _label(node: Node) -> str:
    """An HTML-like label: bold title, small lines, and the gradient in a cell beside them."""
    value = _text(node.title, node.lines)
    if node.grad is None:
        return _html(value)
    colour = GRADIENT_CELL if node.grad_hidden else None  # hidden, but the same size: no reflow
    gradient = _text(node.grad[0], node.grad[1:], colour)
    return _html(
        '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">'
        f'<TR><TD>{value}</TD><TD BGCOLOR="{GRADIENT_CELL}">{gradient}</TD></TR></TABLE>'
    )


def _text(title: str, lines: list[str], colour: str | None = None) -> str:
    body = "<BR/>".join([f"<B>{html.escape(title)}</B>"] + [_small(line) for line in lines])
    return f'<FONT COLOR="{colour}">{body}</FONT>' if colour else body


def _swatch(style: Mapping[str, str]) -> str:
    """A legend cell filled, bordered and dashed like the nodes (or edges) it stands for."""
    fill, border = style.get("fillcolor", "white"), style.get("color", "#6b7280")
    dashed = ' STYLE="dashed"' if "dashed" in style.get("style", "") else ""
    return f'<TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1" WIDTH="18"{dashed}> </TD>'


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="{SMALL}">{html.escape(text)}</FONT>'


def _html(text: str) -> str:
    return f"<{text}>"


def _legend(picture: Picture) -> str:
    """One table node: a swatch and a description for each kind the picture uses."""
    kinds = {n.kind for n in picture.nodes.values()}
    rows = [(STYLES[kind], text) for kind, text in LEGEND.items() if kind in kinds]
    if any(n.grad is not None for n in picture.nodes.values()):
        rows.append(({"fillcolor": GRADIENT_CELL}, "gradient beside its value"))
    if any(edge.kind == "saved" for edge in picture.edges):
        rows.append((EDGE_STYLES["saved"], "dashed arrow: value backward reads"))
    if any(n.check is not None for n in picture.nodes.values()):
        rows.append(({"fillcolor": GRADCHECK_PASSED}, "gradcheck: passed"))
        rows.extend(({"fillcolor": fill}, text) for _, fill, text in GRADCHECK_BANDS)
    if picture.stepping:
        rows.append((CURRENT, "being finalised"))
    cells = "".join(f'<TR>{_swatch(style)}<TD ALIGN="LEFT">{_small(text)}</TD></TR>' for style, text in rows)
    return _html(
        '<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" COLOR="#9ca3af">'
        f'<TR><TD COLSPAN="2"><B>legend</B></TD></TR>{cells}</TABLE>'
    )


# --- the public entry point ----------------------------------------------------------------------------


class Diagram:
    """A drawn graph: DOT text (`source`), a graphviz.Digraph to restyle, files, Jupyter display.

    Render with `render` (it finds Graphviz or the graphviz-pure binary), not `digraph.render`,
    which needs a system Graphviz.
    """

    def __init__(self, digraph: graphviz.Digraph, node_count: int) -> None:
        self.digraph = digraph
        self.node_count = node_count
        self._svg: tuple[str, str] | None = None  # (source, its SVG): re-rendered after restyling

    @property
    def source(self) -> str:
        """The DOT text."""
        return str(self.digraph.source)

    def pipe(self, format: str = "svg") -> bytes:
        """The rendered picture as bytes: svg, png, pdf or dot."""
        return render.pipe(self.source, format)

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Write the picture to `path` (format from the suffix unless given); returns the path."""
        return render.write(self.source, path, format)

    def svg(self) -> str:
        """The picture as SVG text (rendered once per source, then kept)."""
        if self._svg is None or self._svg[0] != self.source:
            self._svg = (self.source, self.pipe("svg").decode("utf-8"))
        return self._svg[1]

    def _repr_svg_(self) -> str | None:
        try:
            return self.svg()
        except render.RendererNotFound:
            return None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        try:
            return {"image/svg+xml": self.svg()}
        except render.RendererNotFound as error:
            return {"text/plain": f"{error}\n\n{self.source}"}

    def __repr__(self) -> str:
        return f"<Diagram: {self.node_count} nodes; .source for DOT, .render(path) for a file>"


def draw(
    output: Tensor | Sequence[Tensor],
    *,
    show: str = "forward",
    collapse: bool = False,
    rankdir: str = "LR",
    gradcheck: GradcheckReport | None = None,
    legend: bool = True,
    max_nodes: int | None = 400,
) -> Diagram:
    """Draw the graph that made `output`, like torchviz's make_dot.

    show: "forward" (tensors and ops, gradients beside the values once backward has run),
    "backward" (the backward pass as the engine records it with create_graph=True) or "both"
    (side by side). collapse=True draws each scope as one box. rankdir: "LR" or "TB".
    gradcheck: a report from mg.gradcheck; parameters are coloured by their relative difference.
    """
    if show not in SHOWS:
        raise ValueError(f"draw: show must be one of {', '.join(SHOWS)}, got {show!r}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw: rankdir must be LR (left to right) or TB (top to bottom), got {rankdir!r}")
    graph = Graph(output)
    checks = None
    if gradcheck is not None:
        checks = {id(check.tensor): (check.difference, check.passed) for check in gradcheck.checks}
    if show == "forward":
        stored = {id(t): t.grad for t in graph.tensors if t.grad is not None}
        picture = forward_picture(graph, stored, checks)
    else:
        grads = graph.gradients()
        beside = forward_picture(graph, None, checks) if show == "both" else None
        picture = backward_picture(graph, grads, checks, beside)
    if collapse:
        picture = collapse_scopes(picture)
    check_size(picture, max_nodes, collapse)
    return Diagram(to_digraph(picture, rankdir, legend), len(picture.nodes))


def check_size(picture: Picture, max_nodes: int | None, collapsed: bool) -> None:
    """Refuse a picture Graphviz would take minutes to lay out, saying how to make it smaller."""
    count = len(picture.nodes)
    if max_nodes is None or count <= max_nodes:
        return
    if collapsed:
        advice = "collapse already drew each scope as one box; draw a smaller part of the graph"
    elif any(n.scope for n in picture.nodes.values()):
        advice = "pass collapse=True to draw each scope (layer) as one box"
    else:
        advice = 'make the layers inside `with mg.scope("layer 1"):` and pass collapse=True'
    raise DiagramTooLarge(
        f"draw: the picture has {count} nodes, more than max_nodes={max_nodes}, and Graphviz would "
        f"take very long to lay it out; {advice}, or pass max_nodes=None to draw it anyway"
    )
