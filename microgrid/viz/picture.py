"""A picture: the nodes and edges a diagram shows, built from the graph before any DOT is written.

The forward picture is one node per tensor and per op; the backward picture is the backward graph
the walk recorded (gradients, partial results, and the forward values the rules read). Both read
the graph and never change it; `dot.py` turns a picture into Graphviz DOT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from microgrid.autograd import graph as tensors_behind
from microgrid.function import Op
from microgrid.tensor import Tensor
from microgrid.viz.graph import Graph, grad_name, number_text, spell, tensor_text, value_lines

COMMUTATIVE = frozenset({"add", "mul"})  # their inputs need no "a"/"b" edge labels
MAX_LABEL = 24  # a partial result is named by its formula up to this length


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


def operand_label(op: Op, position: int) -> str:
    """`a`, `b` on the edges into an op whose inputs are not interchangeable (pow, matmul)."""
    if len(op.inputs) < 2 or op.name in COMMUTATIVE:
        return ""
    return "ab"[position] if len(op.inputs) == 2 else str(position)


def op_node(key: str, out: Tensor, part: str, scope: tuple[str, ...], operands: Sequence[str]) -> Node:
    """The node of the op that made `out`: its name and parameters, its formula in the names of
    its `operands`, and the shape change."""
    op = out.op
    assert op is not None
    title = op.describe()
    lines = [] if op.formula is None else [spell(op.formula, op, operands)]
    if len(op.inputs) == 1 and op.inputs[0].shape != out.shape:
        lines.append(f"{op.inputs[0].shape} → {out.shape}")
    return Node(key, "op", title, lines, scope, part, tooltip=op.summary() if op.formula else op.name)


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
            picture.add(op_node(op_key, t, "forward", t.scope, [graph.name(p) for p in t.op.inputs]))
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
    tensors = tensors_behind([grads[id(t)] for t in graph.tensors if id(t) in grads], stop=forward_ids)
    scopes = _backward_scopes(tensors, owners, forward_ids)
    keys: dict[int, str] = {}
    labels: dict[int, str] = {}  # how each tensor is named in the formulas of the ops it feeds
    for i, t in enumerate(tensors):
        labels[id(t)] = _backward_label(t, graph, owners, labels, len(labels))
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
            operands = [labels[id(p)] for p in t.op.inputs]
            picture.add(op_node(op_key, t, "backward", scopes[id(t)], operands))
            for position, parent in enumerate(t.op.inputs):
                kind = "saved" if id(parent) in forward_ids else "backward"
                label = operand_label(t.op, position)
                picture.edges.append(Edge(keys[id(parent)], op_key, kind, label))
            picture.edges.append(Edge(op_key, key, "backward"))
    return picture


def _backward_label(
    t: Tensor, graph: Graph, owners: Mapping[int, list[Tensor]], labels: Mapping[int, str], count: int
) -> str:
    """A backward tensor's name in formulas: a forward tensor's own name, a gradient's course name
    (dv), a number, or a partial result's own formula while it is short (`dJ · 3`)."""
    if id(t) in graph.names:
        return graph.name(t)
    if id(t) in owners:
        return grad_name(graph.name(owners[id(t)][0]))
    if t.op is None:
        return number_text(t.data) if t.size == 1 else "constant"
    if t.op.formula is not None:
        text = spell(t.op.formula, t.op, [labels[id(p)] for p in t.op.inputs])
        if len(text) <= MAX_LABEL:
            return text
    return f"p{count}"


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


def worst(checks: Sequence[tuple[float, bool]]) -> tuple[float, bool] | None:
    """The largest difference of several checks, passed only if all passed; None for none."""
    if not checks:
        return None
    return max(difference for difference, _ in checks), all(passed for _, passed in checks)


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
