"""A picture as Graphviz DOT: styles, clusters for scopes, HTML-like labels and the legend.

graphviz (the Python package) is imported only here and only when DOT is made, so the engine,
nn, optim and data never need it.

Colour legend (STYLES is the one place where styles live; tints of the Okabe–Ito palette):

    input          pale sky-blue box      a named leaf that needs no gradient: data (X, Y)
    parameter      orange box             a leaf with requires_grad: what training changes (W[1])
    constant       small dashed box       an unnamed leaf: a number in the code (the 3 of 3·v, 1/m)
    intermediate   white box              a tensor an op made (Z[1], A[1])
    output         blue box, thick        the tensor the picture is drawn for (J)
    op             grey ellipse           a primitive: its name, parameters and formula
    gradient       reddish-purple box     d(output)/d(tensor) in course notation: dW[1] is dJ/dW[1]
    partial        small white box        a value the backward pass made on its way to a gradient
    saved          small grey dotted box  a forward value the backward pass reads (b in dc = du · b)
    scope          3-D box                a whole scope (a layer) when collapse=True

A tensor's gradient, once computed, sits beside its value in a pale reddish-purple cell. With
gradcheck=report, parameters are filled by their relative difference instead, and marked: bluish
green, a double border and ✓ (passed); yellow (< 1e-4), orange (< 1e-2) or vermillion (larger: the
backward rule behind that parameter is wrong), each with a thick dashed border and ✗.

Layout: with forward and backward both drawn, forward is on top (LR) or on the left (TB), each
gradient level with its tensor (rank=same under newrank); an arrow from one cluster into another
leaves a rank free, so clusters follow one another in a line instead of a staircase, and the
longest chain of each part is one Graphviz group, kept straight, so the clusters line up on it.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterator, Mapping
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Any

import numpy as np

from microgrid.errors import install_extra
from microgrid.viz.picture import Node, Picture

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

# --- styles: the one table ----------------------------------------------------------------

# DejaVu Sans has ᵀ, ², ⊙, ✓ and ✗, comes with Graphviz's own dependencies on Debian, and both
# Graphviz and graphviz-pure know its metrics, so boxes fit their text.
FONT = "DejaVu Sans"
SMALL = "11"  # point size of the lines under a node's title

# Okabe–Ito's colour-blind-safe colours, as light tints behind black text; each kind differs from
# the others also under deuteranopia (tests/viz/test_palette.py), and by shape or border where
# the fill alone does not tell (ops are ellipses, constants and partial results are small).
OKABE_ITO = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "black": "#000000",
}


def tint(colour: str, strength: float) -> str:
    """`colour` mixed with white: strength 1 is the colour itself, 0 is white."""
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - c) * strength):02x}" for c in channels)


# Machado, Oliveira and Fernandes (2009): how deuteranopia (no green cones, severity 1) maps linear RGB.
DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
)


def as_deuteranope_sees(rgb: np.ndarray) -> np.ndarray:
    """sRGB values 0..255 (any array whose last axis is R, G, B) as a deuteranope sees them."""
    srgb = np.asarray(rgb, dtype=np.float64) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ DEUTERANOPIA.T, 0, 1)
    return np.where(seen <= 0.0031308, seen * 12.92, 1.055 * seen ** (1 / 2.4) - 0.055) * 255


GREY = "#6b6b6b"  # borders and arrows that stay in the background
STYLES: dict[str, dict[str, str]] = {
    "input": {"shape": "box", "style": "filled,rounded", "fillcolor": tint(OKABE_ITO["sky blue"], 0.22)},
    "parameter": {"shape": "box", "style": "filled,rounded", "fillcolor": tint(OKABE_ITO["orange"], 0.45)},
    "constant": {"shape": "box", "style": "rounded,dashed", "fontsize": SMALL, "color": GREY},
    "intermediate": {"shape": "box", "style": "filled,rounded", "fillcolor": "white"},
    "output": {
        "shape": "box",
        "style": "filled,rounded,bold",
        "fillcolor": tint(OKABE_ITO["blue"], 0.45),
        "penwidth": "2",
    },
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#eeeeee", "color": GREY},
    "gradient": {
        "shape": "box",
        "style": "filled,rounded",
        "fillcolor": tint(OKABE_ITO["reddish purple"], 0.62),
    },
    "partial": {"shape": "box", "style": "rounded", "fontsize": SMALL, "color": GREY},
    "saved": {"shape": "box", "style": "filled,rounded,dotted", "fillcolor": "#e6e6e6", "fontsize": SMALL},
    "scope": {
        "shape": "box3d",
        "style": "filled",
        "fillcolor": "#f7f7f7",
        "fontsize": SMALL,
        "margin": "0.1,0.06",
    },
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
GRADIENT_FLOW = "#A8527F"  # reddish purple, darkened so a thin arrow stands out on white
EDGE_STYLES: dict[str, dict[str, str]] = {
    "data": {},
    "backward": {"color": GRADIENT_FLOW},
    "saved": {"style": "dashed", "color": GREY},
}
GRADIENT_CELL = tint(OKABE_ITO["reddish purple"], 0.3)  # background of the gradient beside a value
CURRENT = {"color": OKABE_ITO["vermillion"], "penwidth": "3"}  # step-through: the gradient being finalised
CURRENT_EDGE = {"color": OKABE_ITO["vermillion"], "penwidth": "2.5"}
# Gradient check: (largest relative difference, fill, legend text); the first band that fits wins.
# Fill is never the only cue: a pass has a double border and ✓, a failure a thick dashed one and ✗.
GRADCHECK_BANDS = (
    (1e-4, tint(OKABE_ITO["yellow"], 0.55), "✗ gradcheck: difference < 1e-4"),
    (1e-2, tint(OKABE_ITO["orange"], 0.7), "✗ gradcheck: difference < 1e-2"),
    (float("inf"), tint(OKABE_ITO["vermillion"], 0.55), "✗ gradcheck: wrong gradient"),
)
GRADCHECK_PASSED = tint(OKABE_ITO["bluish green"], 0.28)
PASSED_BORDER = {"peripheries": "2", "color": OKABE_ITO["bluish green"]}
FAILED_BORDER = {"penwidth": "3", "color": OKABE_ITO["vermillion"]}

# --- DOT ---------------------------------------------------------------------------------------------


def graphviz_package() -> Any:
    """The graphviz Python package, imported now, or an ImportError that says how to get it."""
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "drawing needs the Python package graphviz, a dependency of microgrid that is missing "
            f"here: pip install graphviz (and, to render pictures, {install_extra('draw')})"
        ) from error
    return graphviz


def to_digraph(picture: Picture, rankdir: str = "LR", legend: bool = True) -> graphviz.Digraph:
    """The picture as a graphviz.Digraph: scopes become (nested) clusters, styles come from STYLES.

    With forward and backward both drawn, the forward part is always on top (rankdir LR) or on the
    left (TB), and the pairs in `picture.aligned` sit level with each other (one rank, newrank).
    """
    dot = graphviz_package().Digraph(
        "microgrid",
        graph_attr={
            "rankdir": rankdir,
            "fontname": FONT,
            "bgcolor": "white",
            "newrank": "true",  # rank=same across clusters: a layer's backward level with its forward
            "nodesep": "0.2",
            "ranksep": _ranksep(picture, rankdir),
        },
        node_attr={"fontname": FONT, "fontsize": "12", "margin": "0.08,0.03"},
        edge_attr={"fontname": FONT, "fontsize": SMALL, "arrowsize": "0.7"},
    )
    parts = sorted({n.part for n in picture.nodes.values()}, key=["forward", "backward"].index)
    boxes = any(node.kind == "scope" for node in picture.nodes.values())  # collapsed scopes
    # Graphviz keeps a group's nodes in a straight line: collapsed layers, forward and backward
    # each in a row, or else each part's longest chain, so the clusters line up on it.
    spine = (
        [node.key for node in picture.nodes.values() if node.kind == "scope"] if boxes else _spine(picture)
    )
    groups = {key: picture.nodes[key].part for key in spine}
    clusters = itertools.count(1)  # DOT ids cluster1, cluster2, ...: a scope's name may hold any character
    for part in parts:
        nodes = [n for n in picture.nodes.values() if n.part == part]
        if len(parts) == 1:
            _emit_scopes(dot, nodes, (), clusters, groups)
            continue
        flow = "right to left" if rankdir == "LR" else "bottom to top"
        title = "forward" if part == "forward" else f"backward: gradients flow {flow}"
        with dot.subgraph(name=f"cluster{next(clusters)}") as cluster:
            cluster.attr(
                label=_html(f"<B>{html.escape(title)}</B>"), labeljust="l", style="rounded", color=GREY
            )
            _emit_scopes(cluster, nodes, (), clusters, groups)
    for above, below in picture.aligned:
        with dot.subgraph() as level:
            level.attr(rank="same")
            # A flat edge orders the pair within its rank: forward first, so on top (or left).
            level.edge(above, below, style="invis")
    scopes = {node.key: node.scope for node in picture.nodes.values()}
    carrying = _fed_by_gradients(picture) if picture.mirrored else set()
    # A value the backward pass reads, drawn beside its first reader rather than a rank above it:
    # on the longest path (Z[2] → σ → − Y → · 1/m) that rank made every picture taller.
    beside: dict[str, str] = {}
    for edge in picture.edges:
        if not picture.mirrored and picture.nodes[edge.tail].kind == "saved":
            beside.setdefault(edge.tail, edge.head)
    for edge in picture.edges:
        attrs = dict(EDGE_STYLES[edge.kind])
        tail_scope, head_scope = scopes.get(edge.tail, ()), scopes.get(edge.head, ())
        if tail_scope and head_scope and tail_scope != head_scope:
            # An arrow from one cluster into the next leaves a rank free between them, so no rank
            # holds both and the clusters sit in one row instead of a staircase.
            attrs["minlen"] = "2"
        if edge.label and (boxes or len(picture.nodes) <= SMALL_PICTURE):
            # A label is a node of its own in a rank between the two ends, so it never overlaps a
            # box as an xlabel can (du = dv · 1 over the box du): between collapsed layers, that
            # rank is free anyway, and a small picture has room for it.
            attrs["label"] = edge.label
        elif edge.label:
            # xlabel, not label, in a large picture: label ranks would make it a sixth taller.
            attrs["xlabel"] = edge.label
        if edge.current:
            attrs.update(CURRENT_EDGE)
            if edge.kind == "data":  # the step-through's arrow: the gradient flows against the data
                attrs["dir"] = "back"
        if picture.mirrored and edge.kind == "backward" and edge.tail in carrying:
            # Declared head to tail and drawn with the arrow at the tail: the backward graph is
            # laid out mirrored, so dW[1] lands under W[1] and the arrows run the other way.
            dot.edge(edge.head, edge.tail, dir="back", **attrs)
        elif edge.kind == "saved" and (picture.mirrored or beside.get(edge.tail) != edge.head):
            dot.edge(edge.tail, edge.head, constraint="false", **attrs)  # leave the layout alone
        else:
            dot.edge(edge.tail, edge.head, **attrs)
    for saved, reader in beside.items():
        with dot.subgraph() as level:
            level.attr(rank="same")
            level.node(saved)
            level.node(reader)
    for tail, head in _after_the_gradient(picture, carrying):
        dot.edge(tail, head, style="invis", minlen="2")
    if legend and rankdir == "TB" and len(picture.nodes) <= NARROW_PICTURE:
        # A small tall picture (the lecture's) has no width to spare: a column beside the top rank.
        dot.node("legend", _legend(picture, columns=1), shape="plain")
    elif legend:
        # Underneath, as the graph's label: in rows under a wide picture, in one row under a tall
        # one, which has width to spare on a slide. (A node beside the top rank made that rank as
        # tall as the legend: the 2-layer backward picture lost 9 % of its height to it.)
        dot.attr(label=_legend(picture, columns=4 if rankdir == "LR" else None), labelloc="b", labeljust="l")
    return dot


# Pictures up to this many nodes (the lecture's) have room for their arrows' labels as nodes.
SMALL_PICTURE = 20
# Top to bottom, pictures up to this many nodes (the lecture's backward) are narrower than the
# legend in one row: it goes beside them. (At 18 nodes, the 2-layer forward and the gradient check
# pictures are already wide enough for the row, and lose height to a column.)
NARROW_PICTURE = 16


def _ranksep(picture: Picture, rankdir: str) -> str:
    """Inches between ranks: little top to bottom, where a network's picture is short of height,
    but room for the labelled arrows (dA[1]) between collapsed layers, which are few."""
    if rankdir == "LR":
        return "0.2"
    return "0.3" if any(node.kind == "scope" for node in picture.nodes.values()) else "0.1"


def _spine(picture: Picture) -> list[str]:
    """The longest chain of arrows in each part (X, matmul, …, Z[2], …, J; dJ, …, dZ[1], …, dW[1]):
    drawn straight, it keeps the layers' clusters, each holding a stretch of it, from stepping
    sideways."""
    spine = []
    for part in ("forward", "backward"):
        inputs: dict[str, list[str]] = {key: [] for key, n in picture.nodes.items() if n.part == part}
        for edge in picture.edges:
            if edge.kind != "saved" and edge.tail in inputs and edge.head in inputs:
                inputs[edge.head].append(edge.tail)
        depth: dict[str, int] = {}
        for node in TopologicalSorter(inputs).static_order():
            depth[node] = 1 + max((depth[tail] for tail in inputs[node]), default=-1)
        end: str | None = max(depth, key=depth.__getitem__, default=None)  # walked back to its start
        while end is not None:
            spine.append(end)
            end = max(inputs[end], key=depth.__getitem__, default=None)
    return spine


def _after_the_gradient(picture: Picture, carrying: set[str]) -> list[tuple[str, str]]:
    """Invisible arrows that keep a layer's values computed from forward values alone (A[1]²,
    1 − A[1]², σ(Z[2])) after the gradient that enters the layer: left free, they rank next to
    the forward value they read, level with the layer before, and push their cluster sideways.
    `carrying` are the nodes whose arrows are drawn reversed (a mirrored picture)."""
    fed = _fed_by_gradients(picture)
    scopes = {key: node.scope for key, node in picture.nodes.items() if node.part == "backward"}
    laid_out = []  # backward arrows between backward nodes, in the direction Graphviz ranks them
    for edge in picture.edges:
        if edge.kind == "backward" and edge.tail in scopes and edge.head in scopes:
            reverse = picture.mirrored and edge.tail in carrying
            laid_out.append((edge.head, edge.tail) if reverse else (edge.tail, edge.head))
    fed_inside = {head for tail, head in laid_out if scopes[tail] == scopes[head]}
    starts: dict[tuple[str, ...], list[str]] = {}  # a scope's chains of values not fed by gradients
    for key, scope in scopes.items():
        if scope and key not in fed and key not in fed_inside:
            starts.setdefault(scope, []).append(key)
    return [
        (tail, start)
        for tail, head in laid_out
        if scopes[tail] and scopes[head] and scopes[tail] != scopes[head]
        for start in starts.get(scopes[head], [])
    ]


def _fed_by_gradients(picture: Picture) -> set[str]:
    """The backward nodes a gradient flows through. The others (A[1]², 1 − A[1]²) are computed
    from forward values alone: their arrows keep the forward direction even when the backward
    graph is mirrored, so they stay beside the layer that reads them."""
    after: dict[str, list[str]] = {}
    for edge in picture.edges:
        if edge.kind == "backward":
            after.setdefault(edge.tail, []).append(edge.head)
    found = {node.key for node in picture.nodes.values() if node.kind == "gradient"}
    todo = list(found)
    while todo:
        for head in after.get(todo.pop(), []):
            if head not in found:
                found.add(head)
                todo.append(head)
    return found


def _emit_scopes(
    dot: graphviz.Digraph,
    nodes: list[Node],
    prefix: tuple[str, ...],
    clusters: Iterator[int],
    groups: Mapping[str, str],
) -> None:
    """Nodes whose scope is `prefix` directly, and one cluster per deeper scope (nested); a node
    in `groups` gets that Graphviz group."""
    depth = len(prefix)
    children: dict[str, list[Node]] = {}
    for node in nodes:
        if len(node.scope) == depth:
            attrs = _node_attrs(node)
            if node.key in groups:
                attrs["group"] = groups[node.key]
            dot.node(node.key, _label(node), **attrs)
        else:
            children.setdefault(node.scope[depth], []).append(node)
    for name, inner in children.items():
        with dot.subgraph(name=f"cluster{next(clusters)}") as cluster:
            cluster.attr(
                label=_html(html.escape(name)),
                style="rounded,filled",
                fillcolor="#f9f9f9",
                color="#b0b0b0",
                labeljust="l",
            )
            _emit_scopes(cluster, inner, (*prefix, name), clusters, groups)


def _node_attrs(node: Node) -> dict[str, str]:
    attrs = dict(STYLES[node.kind])
    if node.check is not None:
        attrs["fillcolor"] = gradcheck_fill(*node.check)
        attrs["style"] = "filled,rounded" if node.kind != "scope" else "filled"
        attrs.update(PASSED_BORDER if node.check[1] else FAILED_BORDER)
        if not node.check[1]:
            attrs["style"] += ",dashed"
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


def _label(node: Node) -> str:
    """An HTML-like label: bold title, small lines, ✓ or ✗ for a gradient check, and the gradient
    in a cell beside them."""
    lines = list(node.lines)
    if node.check is not None:
        lines.append("✓ gradcheck passed" if node.check[1] else "✗ gradcheck failed")
    value = _text(node.title, lines)
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
    fill, border = style.get("fillcolor", "white"), style.get("color", GREY)
    dashed = ' STYLE="dashed"' if "dashed" in style.get("style", "") else ""
    width = "2" if "penwidth" in style or "peripheries" in style else "1"
    return f'<TD BGCOLOR="{fill}" COLOR="{border}" BORDER="{width}" WIDTH="18"{dashed}> </TD>'


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="{SMALL}">{html.escape(text)}</FONT>'


def _html(text: str) -> str:
    return f"<{text}>"


def _legend(picture: Picture, columns: int | None) -> str:
    """One table under the picture: a swatch and a description for each kind the picture uses,
    `columns` of them a row under the title, or all in one row after it (columns=None)."""
    # A kind whose every node is coloured by its gradient check shows the check's colours instead.
    kinds = {n.kind for n in picture.nodes.values() if n.check is None}
    rows = [(STYLES[kind], text) for kind, text in LEGEND.items() if kind in kinds]
    if any(n.grad is not None for n in picture.nodes.values()):
        rows.append(({"fillcolor": GRADIENT_CELL}, "gradient beside its value"))
    if any(edge.kind == "saved" for edge in picture.edges):
        rows.append((EDGE_STYLES["saved"], "dashed arrow: value backward reads"))
    if any(edge.kind == "backward" for edge in picture.edges):
        rows.append(({"color": GRADIENT_FLOW, "penwidth": "2"}, "arrow: the way the gradient flows"))
    if any(n.check is not None for n in picture.nodes.values()):
        rows.append(({"fillcolor": GRADCHECK_PASSED, **PASSED_BORDER}, "✓ gradcheck: passed"))
        failed = {**FAILED_BORDER, "style": "dashed"}
        rows.extend(({"fillcolor": fill, **failed}, text) for _, fill, text in GRADCHECK_BANDS)
    if picture.stepping:
        rows.append((CURRENT, "being finalised"))
    cells = [f'{_swatch(style)}<TD ALIGN="LEFT">{_small(text)}</TD>' for style, text in rows]
    title = '<TD ALIGN="LEFT"><B>legend</B></TD>'
    if columns is None:
        body = f"<TR>{title}{''.join(cells)}</TR>"
    else:
        lines = ["".join(cells[i : i + columns]) for i in range(0, len(cells), columns)]
        body = title.replace("<TD", f'<TR><TD COLSPAN="{2 * columns}"') + "</TR>"
        body += "".join(f"<TR>{line}</TR>" for line in lines)
    return _html(
        f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" COLOR="#9e9e9e">{body}</TABLE>'
    )
