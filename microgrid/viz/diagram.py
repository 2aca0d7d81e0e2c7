"""`mg.draw`: the graph behind a tensor as a picture: forward, backward, or both, aligned.

Drawing reads the graph and never changes it. The backward picture is the engine's own walk,
recorded with create_graph=True; it leaves every `.grad` as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microgrid.gradcheck import GradcheckReport
from microgrid.tensor import Tensor
from microgrid.viz import dot, render, text
from microgrid.viz.graph import Graph
from microgrid.viz.picture import (
    DiagramTooLarge,
    backward_picture,
    check_size,
    collapse_scopes,
    forward_picture,
    group_by_rule,
)

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

SHOWS = ("forward", "backward", "both")
RANKDIRS = ("LR", "TB")

__all__ = ["RANKDIRS", "SHOWS", "Diagram", "DiagramTooLarge", "draw"]


class Diagram:
    """A drawn graph: DOT text (`source`), a graphviz.Digraph to restyle, files, Jupyter display.

    Render with `render` (it finds Graphviz or the graphviz-pure binary), not `digraph.render`,
    which needs a system Graphviz.
    """

    def __init__(
        self, make: Callable[[], graphviz.Digraph], node_count: int, graph: Graph, show: str
    ) -> None:
        self._make = make  # the Digraph is made when first asked for: text() needs no graphviz
        self._digraph: graphviz.Digraph | None = None
        self.node_count = node_count
        self.graph = graph
        self.show = show
        self._svg: tuple[str, str] | None = None  # (source, its SVG): re-rendered after restyling

    def text(self) -> str:
        """The same graph as plain text: for show="forward" the graph line by line (gradients
        beside the values once backward has run), for "backward" the engine's walk step by step,
        for "both" the two."""
        if self.show == "forward":
            return text.forward_text(self.graph, stored_gradients(self.graph))
        walked = text.backward_text(self.graph)
        if self.show == "backward":
            return walked
        return f"{text.forward_text(self.graph, self.graph.gradients())}\n\n{walked}"

    @property
    def digraph(self) -> graphviz.Digraph:
        """The picture as a graphviz.Digraph, to restyle (made once, on first use)."""
        if self._digraph is None:
            self._digraph = self._make()
        return self._digraph

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
    rankdir: str | None = None,
    gradcheck: GradcheckReport | None = None,
    legend: bool = True,
    max_nodes: int | None = 400,
) -> Diagram:
    """Draw the graph that made `output`, like torchviz's make_dot.

    show: "forward" (tensors and ops, gradients beside the values once backward has run),
    "backward" (the backward pass as the engine records it with create_graph=True) or "both"
    (side by side, each gradient level with its tensor). collapse=True draws each scope as one box.
    rankdir: "LR" (left to right: forward on top, backward underneath) or "TB" (top to bottom:
    forward on the left, backward on the right); by default TB for show="backward" (a chain from
    dJ down to dW[1], which fits a slide best so) and LR otherwise.
    gradcheck: a report from mg.gradcheck; parameters are coloured by their relative difference.
    """
    if show not in SHOWS:
        raise ValueError(f"draw: show must be one of {', '.join(SHOWS)}, got {show!r}")
    if rankdir is None:
        rankdir = "TB" if show == "backward" else "LR"
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw: rankdir must be LR (left to right) or TB (top to bottom), got {rankdir!r}")
    graph = Graph(output, max_nodes, collapse)  # refuses an oversized graph while collecting it
    checks = None
    if gradcheck is not None:
        checks = {id(check.tensor): (check.difference, check.passed) for check in gradcheck.checks}
    if show == "forward":
        picture = forward_picture(graph, stored_gradients(graph), checks)
    else:
        grads = graph.gradients()
        beside = forward_picture(graph, None, checks) if show == "both" else None
        picture = group_by_rule(backward_picture(graph, grads, checks, beside))
        if beside is not None:  # each gradient level with its tensor: dW[1] right under W[1]
            picture.aligned = [(k, f"d_{k}") for k in graph.keys.values() if f"d_{k}" in picture.nodes]
    if collapse:
        picture = collapse_scopes(picture)
    check_size(picture, max_nodes, collapse)
    return Diagram(partial(dot.to_digraph, picture, rankdir, legend), len(picture.nodes), graph, show)


def stored_gradients(graph: Graph) -> dict[int, Tensor]:
    """The `.grad` backward has stored (leaves, and tensors that retain theirs), by id."""
    return {id(t): t._grad for t in graph.tensors if t._grad is not None}
