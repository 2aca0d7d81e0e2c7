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
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from microgrid import checks
from microgrid.creation import Seed, generator
from microgrid.errors import ShapeError
from microgrid.functional import as_tensor, leaky_relu, relu, sigmoid, softmax, tanh
from microgrid.modes import scope
from microgrid.nn import init as initializers
from microgrid.nn.module import Module, ModuleList
from microgrid.tensor import DTypeLike, Operand, Tensor, to_array
from microgrid.trace import depends_on, kernel


def scoped(name: str | None) -> contextlib.AbstractContextManager[Any]:
    """`mg.scope(name)`, or nothing for a layer without a number."""
    return scope(name) if name is not None else contextlib.nullcontext()


def _keep_prob(owner: str, keep_prob: object) -> float:
    """`keep_prob` as a float, refused unless it is a probability in (0, 1]: 0 would keep nothing."""
    return checks.number(owner, "keep_prob", keep_prob, above=0, at_most=1)


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
        if layer is not None:
            layer = checks.count(type(self).__name__, "layer", layer, at_least=0)
        old_scope = self.__dict__.get("scope_name")
        self.layer = layer
        self.scope_name = None if layer is None else f"layer {layer}"
        self.output_name = self.name_of(self.letter)
        for attribute, parameter in self._parameters.items():
            parameter.name = self.name_of(attribute)
            outer = _outside(parameter.scope, old_scope)
            parameter.scope = outer if self.scope_name is None else (*outer, self.scope_name)

    def name_of(self, letter: str) -> str:
        """`W[2]` for letter W in layer 2; just `W` for a layer without a number."""
        return letter if self.layer is None else f"{letter}[{self.layer}]"

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        with scoped(self.scope_name):
            out = self.forward(*args, **kwargs)
        # Never rename the caller's own tensor (Identity and Dropout in eval mode return their input).
        # (by identity, and without a generator: `in` would compare tensors with ==, an op)
        if id(out) not in map(id, args) and (not kwargs or id(out) not in map(id, kwargs.values())):
            out.name = self.output_name
        return out

    def settings(self) -> list[str]:
        """The layer's own settings as its repr shows them, e.g. ["alpha=0.1"]."""
        return []

    def extra_repr(self) -> str:
        number = [] if self.layer is None else [f"layer={self.layer}"]
        return ", ".join([*self.settings(), *number])


class Dense(Layer):
    """Z[l] = W[l] A[l−1] + b[l]: W (n_out, n_in) from `init`, b (n_out, 1) zeros.

    `init` is a name from `microgrid.nn.init.INITIALIZERS` ("random", "xavier", "he",
    "glorot", their uniform variants, "zeros") or a function (shape, seed) -> array; `seed` is
    None (the global generator, reseeded by `mg.manual_seed`), an int, a numpy Generator or a
    RandomState (to reproduce the course's notebooks).

    The input A[l−1] must be (n_in, m), one example per column. Numpy arrays and lists are
    converted to the layer's dtype; a Tensor of another dtype is refused, as in PyTorch.
    """

    letter = "Z"

    W: Tensor
    b: Tensor

    def __init__(
        self,
        n_in: int,
        n_out: int,
        init: str | initializers.Initializer = "xavier",
        seed: Seed = None,
        layer: int | None = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(layer)
        self.n_in, self.n_out = checks.count("Dense", "n_in", n_in), checks.count("Dense", "n_out", n_out)
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
        dtype = self.W.data.dtype
        given = x
        if not isinstance(x, Tensor):
            x = as_tensor(to_array(x, dtype))  # data, not a graph node: no copy, no op
        shape = x.data.shape
        if len(shape) != 2 or shape[0] != self.n_in:
            raise ShapeError(self._input_problem(x))
        if x.data.dtype != dtype:
            raise TypeError(
                f"Dense {self.W.label}: input {self._given(x)} is {x.dtype} but the layer is {dtype}; "
                f"convert the input with mg.astype(x, {str(dtype)!r}) or build the layer with "
                f"dtype={str(x.dtype)!r}"
            )
        if x is not given:  # made here, so named here: a caller's own tensor keeps its name
            x.name = self.input_name()
            x.scope = _outside(x.scope, self.scope_name)  # the caller's data, not the layer's
        return self.W @ x + self.b

    def input_name(self) -> str:
        """What the course calls this layer's input: A[l−1], X for layer 1 or a lone layer."""
        return "X" if self.layer is None or self.layer <= 1 else f"A[{self.layer - 1}]"

    def _given(self, x: Tensor) -> str:
        """The input as an error message shows it: its name and shape, or just its shape."""
        return x.describe() if x.name or x.op is not None else str(x.shape)

    def _input_problem(self, x: Tensor) -> str:
        """Why `x` cannot be this layer's input (n_in, m), with the likely fix."""
        n_in = self.n_in
        if x.size == n_in:
            hint = f"; for a single example use x.reshape({n_in}, 1)"
        elif x.ndim == 1 and n_in == 1:
            hint = f"; for {x.size} examples of one feature use x.reshape(1, {x.size})"
        elif x.ndim == 2 and x.shape[1] == n_in:
            hint = f"; its examples look like rows: use x.T, of shape ({n_in}, {x.shape[0]})"
        else:
            hint = ""
        return (
            f"Dense {self.W.label}: input {self._given(x)} must be (n_in={n_in}, m), "
            f"one example per column{hint}"
        )

    def settings(self) -> list[str]:
        return [f"{self.n_in} → {self.n_out}", f"init={self.init}"]


def _outside(scope: tuple[str, ...], name: str | None) -> tuple[str, ...]:
    """`scope` without its innermost scope when that is `name`: where the caller is."""
    return scope[:-1] if name is not None and scope[-1:] == (name,) else scope


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
        self.alpha = checks.number("LeakyReLU", "alpha", alpha)

    def forward(self, x: Operand) -> Tensor:
        return leaky_relu(x, self.alpha)

    def settings(self) -> list[str]:
        return [f"alpha={self.alpha}"]


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
    test time; in eval mode the layer passes its input through untouched. keep_prob is the
    course's probability of keeping a unit and is passed by name: PyTorch's `Dropout(p)` takes
    the probability of dropping it, so its `Dropout(0.2)` is `Dropout(keep_prob=0.8)` here.
    With seed=None the masks come from the global generator (`mg.manual_seed`) when drawn.
    """

    rng: np.random.Generator | np.random.RandomState | None

    def __init__(
        self,
        *positional: object,
        keep_prob: float = 0.5,
        seed: Seed = None,
        layer: int | None = None,
    ) -> None:
        if positional:
            given = positional[0]
            meaning = (
                f"; Dropout({given!r}) in PyTorch drops {given!r} of the units, which is "
                f"Dropout(keep_prob={1 - given:g}) here"
                if checks.is_number(given) and 0 <= given < 1
                else ""
            )
            raise TypeError(
                "Dropout: pass keep_prob by name, e.g. Dropout(keep_prob=0.8): keep_prob is the "
                f"probability of keeping a unit, not PyTorch's p, the probability of dropping it{meaning}"
            )
        super().__init__(layer)
        self.keep_prob = _keep_prob("Dropout", keep_prob)
        # None stays None, so that each mask is drawn from the global generator of that moment.
        self.rng = None if seed is None else generator(seed)

    def forward(self, x: Operand) -> Tensor:
        x = as_tensor(x)
        depends_on(self._settings)  # a replayed step follows the mode and keep_prob it was recorded in
        if not self.training or self.keep_prob == 1.0:
            return x
        rng = generator() if self.rng is None else self.rng
        # The mask is drawn by a kernel, so that every replay of a recorded step draws a new one.
        draws, mask = np.empty(x.shape), np.empty(x.shape, dtype=x.dtype)
        kernel(_draw_mask, rng, draws, self.keep_prob, mask, changes=(rng,), makes=(mask,))
        D = Tensor._make(mask)
        D.name = self.name_of("D")
        return x * D * (1.0 / self.keep_prob)

    def _settings(self) -> tuple[bool, float, Any]:
        """What the mask depends on: the mode, keep_prob, and the generator it is drawn from."""
        return self.training, self.keep_prob, generator() if self.rng is None else self.rng

    def settings(self) -> list[str]:
        return [f"keep_prob={self.keep_prob}"]


def _draw_mask(rng: Any, draws: np.ndarray, keep_prob: float, mask: np.ndarray) -> None:
    """D = [u < keep_prob] for uniform draws u, into `mask` (1.0 keeps a unit, 0.0 drops it)."""
    if isinstance(rng, np.random.Generator):
        rng.random(out=draws)
    else:  # a legacy RandomState, for the course's notebooks: it has no `out`
        draws[...] = rng.random_sample(draws.shape)
    np.less(draws, keep_prob, out=mask)


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
    sizes: Sequence[int],
    hidden: str = "relu",
    output: str = "identity",
    init: str | initializers.Initializer = "xavier",
    seed: Seed = None,
    keep_prob: float = 1.0,
    dtype: DTypeLike = None,
) -> Sequential:
    """The course's L-layer network: sizes [n_x, n[1], ..., n[L]] gives L Dense layers.

    Hidden layers use `hidden`, the last uses `output`. The default output "identity" leaves the
    logits Z[L] for `sigmoid_cross_entropy` or `softmax_cross_entropy` (the stable losses);
    output="sigmoid" gives probabilities for `binary_cross_entropy` and `predict` (on logits,
    `predict(Z, from_logits=True)`). With keep_prob < 1, inverted dropout follows every hidden
    activation. One generator made from `seed` draws every layer's weights in order, then the
    dropout masks; with seed=None both come from the global generator (`mg.manual_seed`).

    >>> model = mlp([2, 20, 7, 5, 1], hidden="relu", output="sigmoid", init="he", seed=1)
    >>> [name for name, _ in model.named_parameters()][:2]
    ['layers.0.W', 'layers.0.b']
    """
    if not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(
            f"mlp: sizes needs the input size and at least one layer, e.g. [2, 4, 1], got {sizes!r}"
        )
    for role, name in (("hidden", hidden), ("output", output)):
        if name not in ACTIVATIONS:
            choices = ", ".join(ACTIVATIONS)
            raise ValueError(f"mlp: unknown {role} activation {name!r}; choose one of {choices}")
    keep_prob = _keep_prob("mlp", keep_prob)
    rng = generator(seed)
    # Unseeded dropout draws from the global generator when it runs, not when it was built.
    dropout_seed = None if seed is None else rng
    modules: list[Layer | None] = []
    n_layers = len(sizes) - 1
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        modules.append(Dense(n_in, n_out, init=init, seed=rng, layer=layer, dtype=dtype))
        if layer < n_layers:
            modules.append(activation(hidden, layer))
            if keep_prob < 1.0:
                modules.append(Dropout(keep_prob=keep_prob, seed=dropout_seed, layer=layer))
        else:
            modules.append(activation(output, layer))
    return Sequential(*(module for module in modules if module is not None))
