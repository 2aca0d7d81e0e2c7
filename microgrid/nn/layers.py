"""Layers in the course's layout: X is (n_x, m) with one example per column, W[l] is
(n[l], n[l−1]) and b[l] is (n[l], 1). Every layer is composed of engine ops, so it has no
backward of its own and can be differentiated twice.

A layer that belongs to the course's layer l names what it makes as the lecture does (W[l],
b[l], Z[l], A[l], D[l]) and makes it inside `mg.scope("layer l")`, so a drawn graph reads like
the slides. `mlp` and `Sequential` number the layers; a lone layer has plain names (W, Z).
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any, ClassVar

import numpy as np

from microgrid.functional import as_tensor, leaky_relu, relu, sigmoid, softmax, tanh
from microgrid.modes import scope
from microgrid.nn import init as initializers
from microgrid.nn.module import Module, ModuleList
from microgrid.tensor import DTypeLike, Operand, Tensor


def scoped(name: str | None) -> contextlib.AbstractContextManager[Any]:
    """`mg.scope(name)`, or nothing for a layer without a number."""
    return scope(name) if name is not None else contextlib.nullcontext()


class Layer(Module):
    """A module of the course's layer l: its output is named `letter[l]` and made in "layer l"."""

    # The course's letter for what this layer outputs: Z for a linear step, A for an activation.
    letter: ClassVar[str] = "A"

    layer: int | None
    scope_name: str | None
    output_name: str

    def __init__(self, layer: int | None = None) -> None:
        super().__init__()
        self.number(layer)

    def number(self, layer: int | None) -> None:
        """Belong to the course's layer `layer`: rename the output and the parameters, move scope."""
        if layer is not None and (not isinstance(layer, int) or layer < 0):
            raise ValueError(f"{type(self).__name__}: layer must be a number ≥ 0, got {layer!r}")
        old_scope = self.__dict__.get("scope_name")
        self.layer = layer
        self.scope_name = None if layer is None else f"layer {layer}"
        self.output_name = self.name_of(self.letter)
        for attribute, parameter in self._parameters.items():
            parameter.name = self.name_of(attribute)
            outer = parameter.scope[:-1] if parameter.scope[-1:] == (old_scope,) else parameter.scope
            parameter.scope = outer if self.scope_name is None else (*outer, self.scope_name)

    def name_of(self, letter: str) -> str:
        """`W[2]` for letter W in layer 2; just `W` for a layer without a number."""
        return letter if self.layer is None else f"{letter}[{self.layer}]"

    def __call__(self, x: Operand) -> Tensor:
        with scoped(self.scope_name):
            out = self.forward(x)
        if out is not x:  # never rename the caller's own tensor (Identity, Dropout in eval mode)
            out.name = self.output_name
        return out

    def extra_repr(self) -> str:
        return "" if self.layer is None else f"layer={self.layer}"


class Dense(Layer):
    """Z[l] = W[l] A[l−1] + b[l]: W (n_out, n_in) from `init`, b (n_out, 1) zeros.

    `init` is a name from `microgrid.nn.init.INITIALIZERS` ("random", "xavier", "he",
    "glorot", their uniform variants, "zeros") or a function (shape, seed) -> array; `seed` is
    an int, a numpy Generator or a RandomState (to reproduce the course's notebooks).
    """

    letter = "Z"

    W: Tensor
    b: Tensor

    def __init__(
        self,
        n_in: int,
        n_out: int,
        init: str | initializers.Initializer = "xavier",
        seed: initializers.Seed = None,
        layer: int | None = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(layer)
        for what, size in (("n_in", n_in), ("n_out", n_out)):
            if not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"Dense: {what} must be a positive integer, got {size!r}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.init = init if isinstance(init, str) else getattr(init, "__name__", repr(init))
        weights = np.asarray(initializers.get(init)((self.n_out, self.n_in), seed))
        if weights.shape != (self.n_out, self.n_in):
            raise ValueError(
                f"Dense: init {self.init} gave shape {weights.shape}, expected ({self.n_out}, {self.n_in})"
            )
        with scoped(self.scope_name):
            self.W = Tensor(weights, requires_grad=True, name=self.name_of("W"), dtype=dtype)
            bias = np.zeros((self.n_out, 1))
            self.b = Tensor(bias, requires_grad=True, name=self.name_of("b"), dtype=dtype)

    def forward(self, x: Operand) -> Tensor:
        return self.W @ x + self.b

    def extra_repr(self) -> str:
        shape = f"{self.n_in} → {self.n_out}, init={self.init}"
        return ", ".join(filter(None, [shape, super().extra_repr()]))


class Sigmoid(Layer):
    """A = σ(Z) = 1 / (1 + e^−Z)."""

    def forward(self, x: Operand) -> Tensor:
        return sigmoid(x)


class Tanh(Layer):
    """A = tanh Z."""

    def forward(self, x: Operand) -> Tensor:
        return tanh(x)


class ReLU(Layer):
    """A = max(Z, 0)."""

    def forward(self, x: Operand) -> Tensor:
        return relu(x)


class LeakyReLU(Layer):
    """A = Z where Z > 0, else alpha · Z."""

    def __init__(self, alpha: float = 0.01, layer: int | None = None) -> None:
        super().__init__(layer)
        self.alpha = float(alpha)

    def forward(self, x: Operand) -> Tensor:
        return leaky_relu(x, self.alpha)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [f"alpha={self.alpha}", super().extra_repr()]))


class Softmax(Layer):
    """A = e^Z / Σ e^Z down each column (the classes are rows, axis 0)."""

    def forward(self, x: Operand) -> Tensor:
        return softmax(x, axis=0)


class Identity(Layer):
    """A = Z, unchanged (the same tensor, not a copy)."""

    def forward(self, x: Operand) -> Tensor:
        return as_tensor(x)


class Dropout(Layer):
    """Inverted dropout: A = A · D / keep_prob with D[l] a random 0/1 mask, P(D = 1) = keep_prob.

    Dividing by keep_prob keeps the expected activation unchanged, so nothing needs rescaling at
    test time; in eval mode the layer passes its input through untouched.
    """

    def __init__(
        self, keep_prob: float = 0.5, seed: initializers.Seed = None, layer: int | None = None
    ) -> None:
        super().__init__(layer)
        if not 0.0 < keep_prob <= 1.0:
            raise ValueError(f"Dropout: keep_prob must be in (0, 1], got {keep_prob!r}")
        self.keep_prob = float(keep_prob)
        self.rng = initializers.random_state(seed)

    def forward(self, x: Operand) -> Tensor:
        x = as_tensor(x)
        if not self.training or self.keep_prob == 1.0:
            return x
        mask = self.rng.random(x.shape) < self.keep_prob
        D = Tensor(mask, name=self.name_of("D"), dtype=x.dtype)
        return x * D * (1.0 / self.keep_prob)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [f"keep_prob={self.keep_prob}", super().extra_repr()]))


class Sequential(Module):
    """The modules applied one after another: `Sequential(Dense(2, 4), Tanh(), Dense(4, 1))`.

    Layers given without a number are numbered as in the course: each layer with parameters
    (Dense) starts the next layer l, and the activation or dropout after it joins that layer.
    """

    layers: ModuleList

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        self.layers = ModuleList(modules)
        current = 0
        for module in self.layers:
            if not isinstance(module, Layer):
                continue
            if module.layer is not None:
                current = module.layer
            elif module._parameters:
                current += 1
                module.number(current)
            elif current:
                module.number(current)

    def forward(self, x: Operand) -> Tensor:
        for module in self.layers:
            x = module(x)
        return as_tensor(x)

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)


ACTIVATIONS: dict[str, type[Layer]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
    "identity": Identity,
}


def activation(name: str, layer: int) -> Layer | None:
    """The activation layer called `name` for layer `layer` (None for "identity": nothing to add)."""
    return None if name == "identity" else ACTIVATIONS[name](layer=layer)


def mlp(
    sizes: list[int],
    hidden: str = "relu",
    output: str = "identity",
    init: str | initializers.Initializer = "xavier",
    seed: initializers.Seed = None,
    keep_prob: float = 1.0,
    dtype: DTypeLike = None,
) -> Sequential:
    """The course's L-layer network: sizes [n_x, n[1], ..., n[L]] gives L Dense layers.

    Hidden layers use `hidden`, the last uses `output`. The default output "identity" leaves the
    logits Z[L] for `sigmoid_cross_entropy` or `softmax_cross_entropy` (the stable losses);
    output="sigmoid" gives probabilities for `binary_cross_entropy` and `predict`. With
    keep_prob < 1, inverted dropout follows every hidden activation. One generator made from
    `seed` draws every layer's weights in order, then the dropout masks.

    >>> model = mlp([2, 20, 7, 5, 1], hidden="relu", output="sigmoid", init="he", seed=1)
    >>> [name for name, _ in model.named_parameters()][:2]
    ['layers.0.W', 'layers.0.b']
    """
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes needs the input size and at least one layer, got {sizes!r}")
    for role, name in (("hidden", hidden), ("output", output)):
        if name not in ACTIVATIONS:
            choices = ", ".join(ACTIVATIONS)
            raise ValueError(f"mlp: unknown {role} activation {name!r}; choose one of {choices}")
    rng = initializers.random_state(seed)
    modules: list[Layer | None] = []
    n_layers = len(sizes) - 1
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        modules.append(Dense(n_in, n_out, init=init, seed=rng, layer=layer, dtype=dtype))
        if layer < n_layers:
            modules.append(activation(hidden, layer))
            if keep_prob < 1.0:
                modules.append(Dropout(keep_prob, seed=rng, layer=layer))
        else:
            modules.append(activation(output, layer))
    return Sequential(*(module for module in modules if module is not None))
