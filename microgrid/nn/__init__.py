"""Networks built from graph ops: modules and layers, initialisers, losses and metrics.

```python
model = mg.nn.mlp([2, 4, 1], hidden="tanh", seed=0)
J = mg.nn.sigmoid_cross_entropy(model(X), Y)
```
"""

from microgrid.nn import init
from microgrid.nn.layers import (
    Dense,
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    mlp,
)
from microgrid.nn.losses import (
    binary_cross_entropy,
    l2_penalty,
    mse,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)
from microgrid.nn.metrics import accuracy, predict
from microgrid.nn.module import IncompatibleKeys, Module, ModuleList

__all__ = [
    "Dense",
    "Dropout",
    "Identity",
    "IncompatibleKeys",
    "Layer",
    "LeakyReLU",
    "Module",
    "ModuleList",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "accuracy",
    "binary_cross_entropy",
    "init",
    "l2_penalty",
    "mlp",
    "mse",
    "predict",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
]
