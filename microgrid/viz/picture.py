"""A picture: the nodes and edges a diagram shows, built from the graph before any DOT is written.

The forward picture is one node per tensor and per op; the backward picture is the backward graph
the walk recorded (gradients, partial results, and the forward values the rules read). Both read
the graph and never change it; `dot.py` turns a picture into Graphviz DOT.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from graphlib import TopologicalSorter

from microgrid.autograd import graph as tensors_behind
from microgrid.function import Op
from microgrid.tensor import Tensor
from microgrid.viz.graph import (
    MAX_NAME,
    DiagramTooLarge,
    Graph,
    formula_text,
    grad_name,
    number_of,
    number_text,
    op_title,
    spell,
    tensor_text,
    too_large,
    value_lines,
)

COMMUTATIVE = frozenset({"add", "mul"})  # their inputs need no numbered edge labels
PARTIAL = re.compile(r"p\d+")  # the name of a partial result too long to name by its formula
SUMMARY_WIDTH = 18  # characters a line of a collapsed scope's op list
LABELLED_ROW = 6  # backward boxes in a row up to which the arrows between them are labelled


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
    aligned: list[tuple[str, str]] = field(default_factory=list)  # (forward, backward) keys drawn level

    def add(self, node: Node) -> None:
        self.nodes[node.key] = node


def operand_label(op: Op, position: int) -> str:
    """A number on the edges into an op whose inputs are not interchangeable and which has no
    formula to name them by (a user's op); the op's formula line names the operands otherwise."""
    if len(op.inputs) < 2 or op.name in COMMUTATIVE or op.formula is not None:
        return ""
    return str(position + 1)


def op_node(
    key: str,
    out: Tensor,
    part: str,
    scope: tuple[str, ...],
    operands: Sequence[str],
    result: str | None = None,
    name: str = "out",
) -> Node:
    """The node of the op that made `out`: its name and parameters, its formula in the names of
    its `operands` (`dc = du · b = 3 · 3 = 9` with the `result`'s name and, for numbers, their
    values), and the shape change. A forward op's tooltip adds the rules, `name` being its output's."""
    op = out.op
    assert op is not None
    formula = formula_text(op, operands, short=part == "backward")
    line = formula if result is None or result == formula else f"{result} = {formula}"
    if op.formula is not None and all(t.size == 1 for t in (*op.inputs, out)):
        numbers = formula_text(op, [number_of(t) for t in op.inputs], short=True)
        line += f" = {numbers} = {number_text(out.data)}"
    lines = [line] if op.formula is not None or result is not None else []
    if len(op.inputs) == 1 and op.inputs[0].shape != out.shape:
        lines.append(f"{op.inputs[0].shape} → {out.shape}")
    tooltip = f"{op_title(op)}: {formula}"
    if part == "forward" and op.rules is not None:  # what backward will send each input
        sent = {"g": grad_name(name), "out": name}
        rules = [(operand, op.rule(i)) for i, operand in enumerate(operands)]
        tooltip += "".join(
            f"; {grad_name(operand)} ← {spell(rule, op, operands, sent)}" for operand, rule in rules if rule
        )
    return Node(key, "op", op_title(op), lines, scope, part, tooltip=tooltip)


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
            operands = [graph.name(p) for p in t.op.inputs]
            picture.add(op_node(op_key, t, "forward", t.scope, operands, name=name))
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

    Each op's formula names its inputs as the chain rule does: the gradient a step was given is
    named after that step's tensor (dc = du · b, where du is the tensor dv an add passed on), and
    a gradient passed on unchanged gets its own node with the arrow `du = dv · 1`. Numbers (1,
    1/m) are folded into the formulas of the ops that use them. With `beside` (the forward
    picture), the two are drawn together and the forward values the backward pass reads are
    edges from the forward picture; alone, they are small nodes.
    """
    picture = beside if beside is not None else Picture()
    picture.mirrored = beside is not None
    forward_ids = frozenset(graph.keys)
    names = _GradientNames(graph, grads)
    tensors = tensors_behind([grads[id(t)] for t in graph.tensors if id(t) in grads], stop=forward_ids)
    made_in = _made_in(graph)
    scopes = _backward_scopes(tensors, names, forward_ids, made_in)
    keys: dict[int, str] = {}
    labels: dict[int, str] = {}  # how each tensor is named in the formulas of the ops it feeds
    for i, t in enumerate(tensors):
        if _folded(t):
            labels[id(t)] = graph.name(t) if id(t) in forward_ids else _leaf_label(t)
            continue
        if id(t) in forward_ids:
            labels[id(t)] = graph.name(t)
            keys[id(t)] = graph.key(t) if beside is not None else f"s_{graph.key(t)}"
            if beside is None:
                title, _ = tensor_text(graph.name(t), t)
                picture.add(
                    Node(keys[id(t)], "saved", title, [], scopes[id(t)], "backward", tooltip=t.describe())
                )
            continue
        step = made_in.get(id(t))

        def operand(parent: Tensor, step: Tensor | None = step) -> tuple[str, str]:
            """The key and name of an input as this op reads it: the gradient its step was given
            is named after the step's own tensor."""
            if step is not None and grads.get(id(step)) is parent:
                return names.key(step), names.label(step)
            return keys.get(id(parent), ""), labels[id(parent)]  # (a folded number has no node)

        operands = [operand(p) for p in t.op.inputs] if t.op is not None else []
        if id(t) in names.owners:
            labels[id(t)] = names.label(names.owners[id(t)][0])
            keys[id(t)] = names.key(names.owners[id(t)][0])
            _add_gradient_nodes(picture, graph, names, t, checks)
            result: str | None = labels[id(t)]
        else:
            labels[id(t)] = _partial_label(t, [name for _, name in operands], len(labels), step, graph)
            keys[id(t)] = f"g{i}"
            if t.op is None:  # an array a rule made: a node of its own
                title, lines = tensor_text(labels[id(t)], t)
                picture.add(Node(keys[id(t)], "constant", title, lines, scopes[id(t)], "backward"))
                continue
            result = labels[id(t)] if PARTIAL.fullmatch(labels[id(t)]) else None
        if t.op is None:  # the seed dJ
            continue
        op_key = f"op_{keys[id(t)]}"
        node = op_node(op_key, t, "backward", scopes[id(t)], [name for _, name in operands], result)
        if any(p.size > 1 for p in t.op.inputs):  # (with numbers only, the formula shows them)
            node.lines += [f"{p.name} = {number_text(p.data)}" for p in t.op.inputs if _folded(p) and p.name]
        if id(t) not in names.owners:  # a partial result: drawn as its op's node, one node fewer
            keys[id(t)] = op_key
            if t.size > 1:  # its shape (its values in the tooltip: a narrow node)
                node.lines.append(str(t.shape))
                node.tooltip += f" = {' '.join([str(t.shape), *value_lines(t.data)])}"
        picture.add(node)
        arrows = {id(p): (p, key) for p, (key, _) in zip(t.op.inputs, operands)}  # A[1]²: one arrow
        for parent, key in arrows.values():
            if not _folded(parent):
                kind = "saved" if id(parent) in forward_ids else "backward"
                picture.edges.append(Edge(key, op_key, kind))
        if id(t) in names.owners:
            picture.edges.append(Edge(op_key, keys[id(t)], "backward"))
    _add_passed_on(picture, names)
    partial = [
        t for t in tensors if t.op is not None and id(t) not in forward_ids and id(t) not in names.owners
    ]
    _group_named(picture, partial, keys, labels)
    return picture


def _group_named(
    picture: Picture, partial: list[Tensor], keys: Mapping[int, str], labels: Mapping[int, str]
) -> None:
    """Draw each partial result a rule named (softmax(z)) as one op node that stands for the ops
    computing it that nothing else reads (shift, sub, exp, sum, div): the picture says
    softmax(Z[2]) where the engine ran five ops. `partial` is in the order they were computed."""
    readers: dict[int, list[int]] = {}
    for t in partial:
        for parent in t.op.inputs:  # type: ignore[union-attr]
            readers.setdefault(id(parent), []).append(id(t))
    for index, t in enumerate(partial):
        if not t.name or keys[id(t)] not in picture.nodes:
            continue
        group = {id(t)}
        inside = []
        for before in reversed(partial[:index]):  # readers before what they read
            if id(before) in readers and set(readers[id(before)]) <= group:
                group.add(id(before))
                inside.append(before)
        if not inside:
            continue
        node = picture.nodes[keys[id(t)]]
        absorbed = {keys[id(u)] for u in inside}
        made_by = [u.op.name for u in reversed(inside)] + [t.op.name]  # type: ignore[union-attr]
        node.tooltip = f"{labels[id(t)]}: {node.tooltip}, after {', '.join(made_by[:-1])}"
        node.title = t.name.split("(")[0]
        node.lines = [labels[id(t)], *_short_lines(made_by, f"{len(made_by)} ops: "), str(t.shape)]
        for key in absorbed:
            del picture.nodes[key]
        edges: list[Edge] = []
        for edge in picture.edges:
            if edge.tail in absorbed:
                continue
            if edge.head in absorbed:
                edge = replace(edge, head=node.key)
            if not any((e.tail, e.head, e.kind) == (edge.tail, edge.head, edge.kind) for e in edges):
                edges.append(edge)
        picture.edges[:] = edges


class _GradientNames:
    """Which forward tensors share each gradient tensor, and the node each one's gradient is
    drawn in: its own (du), or for a tensor whose name the picture made up (W[2] @ A[1]) the
    node of the named one that passed the gradient on (dZ[2])."""

    def __init__(self, graph: Graph, grads: Mapping[int, Tensor]) -> None:
        self.graph = graph
        self.owners: dict[int, list[Tensor]] = {}  # id(gradient) -> forward tensors, output first
        for t in reversed(graph.tensors):
            if id(t) in grads:
                self.owners.setdefault(id(grads[id(t)]), []).append(t)

    def drawn(self, t: Tensor) -> bool:
        """True when t's gradient has a node of its own."""
        return self.graph.drawn_as(t) is t

    def key(self, t: Tensor) -> str:
        return f"d_{self.graph.key(self.graph.drawn_as(t))}"

    def label(self, t: Tensor) -> str:
        return self.graph.grad_label(t)


def _add_gradient_nodes(
    picture: Picture,
    graph: Graph,
    names: _GradientNames,
    gradient: Tensor,
    checks: Mapping[int, tuple[float, bool]] | None,
) -> None:
    """One node for each forward tensor drawn with this gradient (du, dv, da for one add)."""
    for owner in names.owners[id(gradient)]:
        if not names.drawn(owner):
            continue
        title, lines = tensor_text(names.label(owner), gradient)
        root = graph.name(graph.roots[0])
        node = Node(
            names.key(owner),
            "gradient",
            title,
            lines,
            owner.scope,
            "backward",
            tooltip=f"d{root}/d{graph.name(owner)}",
        )
        node.parameter = owner.op is None
        if checks is not None and id(owner) in checks:
            node.check = checks[id(owner)]
            node.lines.append(f"gradcheck {node.check[0]:.1e}")
        picture.add(node)


def _add_passed_on(picture: Picture, names: _GradientNames) -> None:
    """`du = dv · 1`: an arrow from the gradient of v to that of u where v's op passed its
    gradient to u unchanged (an add), so that the chain rule's step is drawn though no op ran."""
    for owners in names.owners.values():
        drawn = [t for t in owners if names.drawn(t)]
        for t in drawn[1:]:
            user = next(
                (o for o in owners if o.op is not None and any(t is p for p in o.op.inputs)), owners[0]
            )
            label = f"{names.label(t)} = {names.label(user)} · 1"
            picture.edges.append(Edge(names.key(user), names.key(t), "backward", label))


def _made_in(graph: Graph) -> dict[int, Tensor]:
    """The forward tensor whose step of the walk made each backward tensor: what its op's rule
    was applied for (`1 − A[1]²` for A[1] = tanh Z[1])."""
    made: dict[int, Tensor] = {}
    forward_ids = graph.keys
    for step in graph.steps():
        stack = [g for g in step.input_grads if g is not None]
        while stack:
            t = stack.pop()
            if id(t) in made or id(t) in forward_ids or t is step.grad:
                continue
            made[id(t)] = step.tensor
            if t.op is not None:
                stack.extend(t.op.inputs)
    return made


def _folded(t: Tensor) -> bool:
    """A number that needs no gradient (1 in 1 − A², 1/m): written into its op's formula, not drawn."""
    return t.op is None and t.size == 1 and not t.requires_grad


def _leaf_label(t: Tensor) -> str:
    """A leaf the backward pass made, by name or value (`1/m`, `1`)."""
    return t.name or (number_text(t.data) if t.size == 1 else "array")


def _partial_label(t: Tensor, operands: list[str], count: int, step: Tensor | None, graph: Graph) -> str:
    """A partial result's name in formulas: a leaf's name or value; the name a rule gave it, in
    the slot words of the `step`'s op (`softmax(z)`), spelled with that op's operands
    (`softmax(Z[2])`); else its formula while it is short (`1 − A[1]²`), else p1, p2, ..."""
    if t.op is None:
        return _leaf_label(t)
    if t.name and step is not None and step.op is not None:
        return spell(t.name, step.op, [graph.name(p) for p in step.op.inputs])
    text = formula_text(t.op, operands)
    return text if len(text) <= MAX_NAME else f"p{count}"


def _backward_scopes(
    tensors: list[Tensor],
    names: _GradientNames,
    forward_ids: frozenset[int],
    made_in: Mapping[int, Tensor],
) -> dict[int, tuple[str, ...]]:
    """The scope each backward tensor is drawn in: a gradient's forward tensor's, a partial
    result's the scope of the step that made it, else the scope of what it is used for.

    Backward tensors are made wherever backward was called, so their own scope says nothing.
    """
    scopes: dict[int, tuple[str, ...]] = {}
    for t in reversed(tensors):  # consumers before their inputs
        if id(t) in names.owners:
            scopes[id(t)] = names.owners[id(t)][0].scope
        elif id(t) in made_in:
            scopes[id(t)] = made_in[id(t)].scope
        scope = scopes.setdefault(id(t), ())
        if t.op is not None and id(t) not in forward_ids:
            for parent in t.op.inputs:
                scopes.setdefault(id(parent), scope)
    return scopes


def collapse_scopes(picture: Picture) -> Picture:
    """Each outermost scope as one box (per part), with its ops and parameters listed inside.

    A backward box holds what its layer's backward rules computed, as in the course: layer l's
    backward takes dA[l] (and the forward values it saved), gives dA[l−1], dW[l], db[l], and sits
    level with layer l. Arrows between boxes are labelled with the gradient they carry (in a long
    row, the box that gives it names it).
    """
    box_keys: dict[tuple[str, str], str] = {}  # (part, outermost scope) -> key of its box
    members: dict[str, list[Node]] = {}
    box_of: dict[str, str] = {}
    collapsed = Picture(mirrored=picture.mirrored, stepping=picture.stepping)
    for node in group_by_rule(picture).nodes.values():
        scope = node.scope
        if not scope:
            collapsed.add(replace(node, scope=()))
            continue
        box_key = box_keys.setdefault((node.part, scope[0]), f"scope{len(box_keys)}")
        members.setdefault(box_key, []).append(node)
        box_of[node.key] = box_key
    for (part, name), box_key in box_keys.items():
        inside = members[box_key]
        title = name if part == "forward" else f"{name} (backward)"
        check = worst([n.check for n in inside if n.check is not None])
        box = Node(box_key, "scope", title, _scope_summary(inside), (), part, check=check)
        box.current = any(n.current for n in inside)  # step-through: the step is inside this scope
        collapsed.add(box)
        if part == "backward" and ("forward", name) in box_keys:
            collapsed.aligned.append((box_keys["forward", name], box_key))
    merged: dict[tuple[str, str, str], Edge] = {}
    for edge in picture.edges:
        tail, head = box_of.get(edge.tail, edge.tail), box_of.get(edge.head, edge.head)
        if tail == head or (edge.tail in box_of and picture.nodes[edge.tail].kind == "constant"):
            continue  # a number shared by several layers' rules stays inside the first of them
        into = merged.get((tail, head, edge.kind))
        if into is None:
            into = merged[tail, head, edge.kind] = Edge(tail, head, edge.kind)
            collapsed.edges.append(into)
        label = edge.label if (tail, head) == (edge.tail, edge.head) else _carried(picture, edge)
        if label and label not in into.label.split(", "):
            into.label = f"{into.label}, {label}" if into.label else label
        into.current |= edge.current
    if (
        sum(node.kind == "scope" and node.part == "backward" for node in collapsed.nodes.values())
        > LABELLED_ROW
    ):
        _name_in_the_giving_box(collapsed)
    return collapsed


def _name_in_the_giving_box(picture: Picture) -> None:
    """In a long row, each gradient an arrow between two boxes carries is written in the box that
    gives it (`gives dA[8]`) instead of on the arrow, whose label would widen every gap by its
    own width: the 10-layer picture would no longer fit a slide."""
    for edge in picture.edges:
        tail = picture.nodes.get(edge.tail)
        if edge.label and tail is not None and tail.kind == "scope" and edge.head in picture.nodes:
            tail.lines += _short_lines(edge.label.split(", "), "gives ")
            edge.label = ""


def group_by_rule(picture: Picture) -> Picture:
    """The backward picture with each op and partial result moved to the scope whose backward rule
    made it (see _computed_in): layer 2's cluster computes dA[1], so clusters follow one another
    without sharing a rank, in a row rather than a staircase."""
    for key, scope in _computed_in(picture).items():
        picture.nodes[key].scope = scope
    return picture


def _computed_in(picture: Picture) -> dict[str, tuple[str, ...]]:
    """The scope whose backward rule made each backward op and partial result: the scope of the
    one gradient it was computed from (matmul W[2]ᵀ·dZ[2] belongs to layer 2, though it gives
    dA[1]); an accumulation of several layers' gradients keeps its own scope. What no gradient
    reaches (a saved forward value, 1 − A[1]²) goes with its readers, or outside every scope when
    several layers read it (A[1] is read by layer 2's dW[2] and by layer 1's tanh rule)."""
    inputs: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    for edge in picture.edges:
        readers.setdefault(edge.tail, []).append(edge.head)
        if edge.kind == "backward":
            inputs.setdefault(edge.head, []).append(edge.tail)
    order = list(TopologicalSorter(inputs).static_order())
    order[:0] = [n.key for n in picture.nodes.values() if n.part == "backward" and n.key not in inputs]
    origins: dict[str, set[tuple[str, ...]]] = {}  # key -> the scopes of the gradients upstream
    scopes: dict[str, tuple[str, ...]] = {}
    for key in order:
        node = picture.nodes[key]
        if node.kind == "gradient":
            origins[key] = {node.scope}
            continue
        origins[key] = set().union(*(origins.get(tail, set()) for tail in inputs.get(key, [])))
        if len(origins[key]) == 1:
            scopes[key] = next(iter(origins[key]))
    for key in reversed(order):  # readers before what they read
        if picture.nodes[key].part == "backward" and not origins[key]:
            read_in = {scopes.get(r, picture.nodes[r].scope) for r in readers.get(key, [])}
            scopes[key] = read_in.pop() if len(read_in) == 1 else ()
    return scopes


def _carried(picture: Picture, edge: Edge) -> str:
    """The name of the gradient an arrow between two boxes carries (dA[1]), or nothing."""
    for key in (edge.head, edge.tail):
        node = picture.nodes.get(key)
        if node is not None and node.kind == "gradient":
            return node.title.split(" (")[0]
    return ""


def _scope_summary(nodes: list[Node]) -> list[str]:
    """`5 ops: matmul, add, tanh` and the parameters or gradients a collapsed scope holds."""
    ops = list(dict.fromkeys(n.title.split(" ")[0] for n in nodes if n.kind == "op"))
    count = sum(n.kind == "op" for n in nodes)
    held = [n.title for n in nodes if n.parameter]
    return _short_lines(ops, f"{count} op{'' if count == 1 else 's'}: ") + _short_lines(held)


def _short_lines(items: list[str], head: str = "") -> list[str]:
    """`head` and the items, comma-separated, in lines of about SUMMARY_WIDTH characters that never
    split an item: boxes in a row stay narrow, so a deep network still fits a slide."""
    text = head + ", ".join(item.replace(" ", "\u00a0") for item in items)  # no break inside an item
    lines = textwrap.wrap(text, SUMMARY_WIDTH, break_long_words=False, break_on_hyphens=False)
    return [line.replace("\u00a0", " ") for line in lines]


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
    scoped = any(n.scope for n in picture.nodes.values())
    raise DiagramTooLarge(too_large(str(count), max_nodes, collapsed, scoped), count)
