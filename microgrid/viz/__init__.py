"""Pictures of the graph: forward and backward diagrams, the step-through, rendering.

Drawing reads the graph and never changes it; the engine never imports this package.
"""

from microgrid.viz.diagram import Diagram, draw
from microgrid.viz.stepthrough import StepThrough, step_through

__all__ = ["Diagram", "StepThrough", "draw", "step_through"]
