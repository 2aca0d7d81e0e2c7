"""Weight initialisers: each returns a fresh numpy array of the shape (n_out, n_in) it is given.

Every initialiser takes `seed`, read by `microgrid.creation.generator`: None draws from the
global generator (reseeded by `mg.manual_seed`), an int seeds a new generator, and a
`numpy.random.Generator` or a legacy `numpy.random.RandomState` is used as it is. The last
reproduces the course's notebooks number for number:
`np.random.seed(3); np.random.randn(n, n_prev) * np.sqrt(2 / n_prev)` draws exactly what
`he_normal((n, n_prev), seed=np.random.RandomState(3))` draws.

The variances follow the course's names: Xavier is 1/n_in, He is 2/n_in, and Glorot is
2/(n_in + n_out) (the formula of Glorot and Bengio's paper). A uniform variant draws from
[−limit, limit] with limit = √(3·variance), which has the same variance.

To re-initialise a layer in place: `layer.W.data[...] = init.he_normal(layer.W.shape, seed=0)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeAlias

import numpy as np

from microgrid import checks
from microgrid.creation import Seed, generator

Initializer: TypeAlias = "Callable[[tuple[int, ...], Seed], np.ndarray]"


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """(n_in, n_out) of a weight of shape (n_out, n_in)."""
    if len(shape) != 2:
        raise ValueError(f"init: a weight has the shape (n_out, n_in), got {tuple(shape)}")
    n_out, n_in = shape
    return checks.count("init", "n_in", n_in), checks.count("init", "n_out", n_out)


def _normal(shape: Sequence[int], std: float, seed: Seed) -> np.ndarray:
    # standard_normal exists on both Generator and RandomState, and RandomState.randn calls it.
    return generator(seed).standard_normal(tuple(shape)) * std


def _uniform(shape: Sequence[int], limit: float, seed: Seed) -> np.ndarray:
    return generator(seed).uniform(-limit, limit, tuple(shape))


def zeros(shape: Sequence[int], seed: Seed = None) -> np.ndarray:
    """All zeros (every hidden unit stays identical to its neighbours: symmetry is never broken)."""
    return np.zeros(tuple(shape))


def normal(shape: Sequence[int], seed: Seed = None, scale: float = 0.01) -> np.ndarray:
    """N(0, 1) · scale; the course's `np.random.randn(n, n_prev) * 0.01`."""
    return _normal(shape, scale, seed)


def uniform(shape: Sequence[int], seed: Seed = None, scale: float = 0.01) -> np.ndarray:
    """U(−scale, scale)."""
    return _uniform(shape, scale, seed)


def xavier_normal(shape: Sequence[int], seed: Seed = None) -> np.ndarray:
    """N(0, 1) · √(1/n_in): variance 1/n_in, the course's choice for tanh."""
    n_in, _ = fans(shape)
    return _normal(shape, math.sqrt(1 / n_in), seed)


def xavier_uniform(shape: Sequence[int], seed: Seed = None) -> np.ndarray:
    """U(−√(3/n_in), √(3/n_in)): variance 1/n_in."""
    n_in, _ = fans(shape)
    return _uniform(shape, math.sqrt(3 / n_in), seed)


def he_normal(shape: Sequence[int], seed: Seed = None) -> np.ndarray:
    """N(0, 1) · √(2/n_in): variance 2/n_in, for ReLU (He et al. 2015)."""
    n_in, _ = fans(shape)
    return _normal(shape, math.sqrt(2 / n_in), seed)


def he_uniform(shape: Sequence[int], seed: Seed = None) -> np.ndarray:
    """U(−√(6/n_in), √(6/n_in)): variance 2/n_in."""
    n_in, _ = fans(shape)
    return _uniform(shape, math.sqrt(6 / n_in), seed)


def glorot_normal(shape: Sequence[int], seed: Seed = None) -> np.ndarray:
    """N(0, 1) · √(2/(n_in + n_out)): variance 2/(n_in + n_out)."""
    n_in, n_out = fans(shape)
    return _normal(shape, math.sqrt(2 / (n_in + n_out)), seed)


def glorot_uniform(shape: Sequence[int], seed: Seed = None) -> np.ndarray:
    """U(−√(6/(n_in + n_out)), √(6/(n_in + n_out))): variance 2/(n_in + n_out)."""
    n_in, n_out = fans(shape)
    return _uniform(shape, math.sqrt(6 / (n_in + n_out)), seed)


# The names `Dense(init=...)` and `mlp(init=...)` accept; the short ones are the course's words.
INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "random": normal,
    "normal": normal,
    "uniform": uniform,
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "glorot": glorot_normal,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
}


def get(init: str | Initializer) -> Initializer:
    """The initialiser called `init` (see INITIALIZERS), or `init` itself if it is a function."""
    if callable(init):
        return init
    try:
        return INITIALIZERS[init]
    except KeyError:
        raise ValueError(
            f"init: unknown initialiser {init!r}; choose one of {', '.join(INITIALIZERS)} "
            "or pass a function (shape, seed) -> array"
        ) from None
