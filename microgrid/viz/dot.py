"""A picture as Graphviz DOT: styles, clusters for scopes, HTML-like labels and the legend.

graphviz (the Python package) is imported only here and only when DOT is made, so the engine,
nn, optim and data never need it.

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
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from microgrid.viz.picture import Node, Picture

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

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

# --- DOT ---------------------------------------------------------------------------------------------


def graphviz_package() -> Any:
    """The graphviz Python package, imported now, or an ImportError that says how to get it."""
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "drawing needs the Python package graphviz, a dependency of microgrid that is missing "
            'here: pip install graphviz (and, to render pictures, pip install "microgrid[draw]")'
        ) from error
    return graphviz


def to_digraph(picture: Picture, rankdir: str = "LR", legend: bool = True) -> graphviz.Digraph:
    """The picture as a graphviz.Digraph: scopes become (nested) clusters, styles come from STYLES."""
    dot = graphviz_package().Digraph(
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
