"""Pictures of the graph: forward and backward diagrams, the step-through, a text view, rendering.

    graph.py        the tensors behind some outputs, their names, and the walk's gradients
    picture.py      nodes and edges of a picture (forward, backward, collapsed scopes)
    dot.py          a picture as Graphviz DOT (graphviz is imported only here, when drawing)
    diagram.py      mg.draw and the Diagram it returns
    stepthrough.py  mg.step_through: the engine's walk one step per frame
    text.py         the graph as plain text
    render.py       DOT to SVG, PNG or PDF with whichever Graphviz is at hand

Drawing reads the graph and never changes it; the engine never imports this package.
"""

from microgrid.viz.diagram import Diagram, draw
from microgrid.viz.stepthrough import StepThrough, step_through

__all__ = ["Diagram", "StepThrough", "draw", "step_through"]
