"""microgrid: a small, real reverse-mode autodiff engine on numpy, for learning how it works.

The engine is the flat modules here (tensor, function, ops, functional, autograd, modes, errors,
checks, creation, gradcheck). Built on it: `nn`, `optim` and `data`; reading it: `viz` (pictures)
and `cli`. `plotting` (matplotlib) is loaded the first time `mg.plotting` is used.
"""

from typing import Any

from microgrid import autograd, data, functional, nn, optim
from microgrid.autograd import backward, grad
from microgrid.creation import (
    arange,
    eye,
    full,
    generator,
    manual_seed,
    ones,
    ones_like,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from microgrid.errors import (
    AnomalyError,
    ArgumentTypeError,
    BroadcastWarning,
    GradError,
    LoadError,
    NumericalWarning,
    ReplayError,
    ShapeError,
)
from microgrid.function import Op
from microgrid.functional import *  # noqa: F403  (the public ops: functional.__all__)
from microgrid.gradcheck import GradcheckReport, gradcheck, gradgradcheck
from microgrid.modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad, scope, set_grad_enabled
from microgrid.ops import sum_to
from microgrid.replay import ReplayMismatch, replay
from microgrid.tensor import Tensor

# Drawing reads the graph and never changes it; the engine does not import it. graphviz (the
# Python package) is imported only when a picture is made.
from microgrid.viz import Diagram, draw, step_through

float32 = "float32"
float64 = "float64"

__version__ = "0.1.0"


# Imported on first use: plotting needs matplotlib and the playground Starlette (optional extras);
# the exercises are for learners who ask for them, and `import microgrid` need not load them.
LAZY_MODULES = ("plotting", "exercises", "playground")


def __getattr__(name: str) -> Any:
    """`mg.plotting`, `mg.exercises` and `mg.playground`, imported on first use."""
    if name in LAZY_MODULES:
        import importlib

        return importlib.import_module(f"microgrid.{name}")
    raise AttributeError(f"module 'microgrid' has no attribute {name!r}")


__all__ = [
    "AnomalyError",
    "BroadcastWarning",
    "ArgumentTypeError",
    "Diagram",
    "GradError",
    "GradcheckReport",
    "LoadError",
    "NumericalWarning",
    "ReplayError",
    "ReplayMismatch",
    "Op",
    "ShapeError",
    "Tensor",
    "arange",
    "autograd",
    "backward",
    "data",
    "detect_anomaly",
    "draw",
    "enable_grad",
    "eye",
    "float32",
    "float64",
    "full",
    "generator",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "randn",
    "replay",
    "scope",
    "set_grad_enabled",
    "step_through",
    "sum_to",
    "tensor",
    "zeros",
    "zeros_like",
    *functional.__all__,
]
