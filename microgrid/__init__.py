"""microgrid: a small, real reverse-mode autodiff engine on numpy, for learning how it works."""

# Tensor first: its operators call into functional and autograd, which import it back.
from microgrid.tensor import Tensor

# isort: split

from microgrid.autograd import Op, backward, grad, sum_to
from microgrid.creation import generator, manual_seed, ones, randn, tensor, zeros
from microgrid.errors import AnomalyError, GradError, ShapeError
from microgrid.functional import (
    abs,
    add,
    astype,
    broadcast_to,
    clip,
    concatenate,
    div,
    equal,
    exp,
    getitem,
    greater,
    greater_equal,
    leaky_relu,
    less,
    less_equal,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    not_equal,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    softplus,
    sqrt,
    stack,
    sub,
    sum,
    swapaxes,
    tanh,
    transpose,
    where,
)
from microgrid.gradcheck import GradcheckReport, gradcheck, gradgradcheck
from microgrid.modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad, scope, set_grad_enabled

# isort: split

# Layers, optimisers and data sit above the engine: they import it, it never imports them.
from microgrid import data, datasets, nn, optim

# Drawing reads the graph and never changes it; the engine does not import it.
from microgrid.diagram import Diagram, draw
from microgrid.stepthrough import step_through

float32 = "float32"
float64 = "float64"

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "Diagram",
    "GradError",
    "GradcheckReport",
    "Op",
    "ShapeError",
    "Tensor",
    "abs",
    "add",
    "astype",
    "backward",
    "broadcast_to",
    "clip",
    "concatenate",
    "data",
    "datasets",
    "detect_anomaly",
    "div",
    "draw",
    "enable_grad",
    "equal",
    "exp",
    "float32",
    "float64",
    "generator",
    "getitem",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "greater",
    "greater_equal",
    "is_grad_enabled",
    "leaky_relu",
    "less",
    "less_equal",
    "log",
    "log_softmax",
    "logsumexp",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "nn",
    "no_grad",
    "not_equal",
    "ones",
    "optim",
    "pow",
    "randn",
    "relu",
    "reshape",
    "scope",
    "set_grad_enabled",
    "sigmoid",
    "softmax",
    "softplus",
    "sqrt",
    "stack",
    "step_through",
    "sub",
    "sum",
    "sum_to",
    "swapaxes",
    "tanh",
    "tensor",
    "transpose",
    "where",
    "zeros",
]
