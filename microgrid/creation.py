"""Ways to make a tensor: from data, filled with a constant, or random with a seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

from microgrid import checks, trace
from microgrid.errors import ArgumentTypeError, ReplayError
from microgrid.tensor import DTypeLike, Tensor, as_dtype, shape_from_args, to_array

Seed: TypeAlias = "int | np.random.Generator | np.random.RandomState | None"

_global_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator that everything random uses when it is given no seed."""
    global _global_generator
    _global_generator = np.random.default_rng(checks.count("manual_seed", "seed", seed, at_least=0))


def generator(seed: Seed = None) -> np.random.Generator | np.random.RandomState:
    """The random generator for `seed`, shared by everything random in microgrid.

    None: the global generator (reseeded by `manual_seed`, as in PyTorch); an int: a new
    generator seeded with it; a Generator, or a legacy RandomState (to reproduce the course's
    notebooks number for number), is used as it is.
    """
    if seed is None:
        return _global_generator
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    others = "a numpy.random.Generator or a numpy.random.RandomState"
    return np.random.default_rng(checks.count("generator", "seed", seed, at_least=0, alternatives=others))


def tensor(
    data: Any, requires_grad: bool = False, name: str | None = None, dtype: DTypeLike = None
) -> Tensor:
    """A new leaf tensor from numbers, nested lists or a numpy array (copied)."""
    return Tensor(data, requires_grad=requires_grad, name=name, dtype=dtype)


def _shape(owner: str, shape: tuple[int | Sequence[int], ...]) -> tuple[int, ...]:
    """The requested shape, each size checked to be an int ≥ 0."""
    resolved = shape_from_args(shape)
    return tuple(checks.count(owner, f"shape[{axis}]", n, at_least=0) for axis, n in enumerate(resolved))


def zeros(
    *shape: int | Sequence[int],
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`."""
    return _filled(_shape("zeros", shape), 0.0, requires_grad, name, dtype)


def ones(
    *shape: int | Sequence[int],
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """A tensor of ones: `ones(2, 3)` or `ones((2, 3))`."""
    return _filled(_shape("ones", shape), 1.0, requires_grad, name, dtype)


def full(
    shape: int | Sequence[int],
    fill_value: float,
    *,
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """A tensor of `shape` holding `fill_value` everywhere (±inf and NaN included)."""
    if not checks.is_number(fill_value):
        raise ArgumentTypeError(f"full: fill_value must be a number, got {fill_value!r}")
    return _filled(_shape("full", (shape,)), fill_value, requires_grad, name, dtype)


def zeros_like(
    like: Any, *, requires_grad: bool = False, name: str | None = None, dtype: DTypeLike = None
) -> Tensor:
    """Zeros in the shape of `like` (a tensor or an array) and, unless `dtype` says otherwise, its dtype."""
    array = to_array(like)
    return _filled(array.shape, 0.0, requires_grad, name, array.dtype if dtype is None else dtype)


def ones_like(
    like: Any, *, requires_grad: bool = False, name: str | None = None, dtype: DTypeLike = None
) -> Tensor:
    """Ones in the shape of `like` (a tensor or an array) and, unless `dtype` says otherwise, its dtype."""
    array = to_array(like)
    return _filled(array.shape, 1.0, requires_grad, name, array.dtype if dtype is None else dtype)


def _filled(
    shape: tuple[int, ...], value: float, requires_grad: bool, name: str | None, dtype: DTypeLike
) -> Tensor:
    """The leaf behind zeros, ones, full and their `_like`s: `value` everywhere."""
    return Tensor(np.full(shape, value, as_dtype(dtype)), requires_grad=requires_grad, name=name)


def arange(
    start: float,
    stop: float | None = None,
    step: float = 1,
    *,
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """start, start + step, … up to stop (not included), as numpy's arange; `arange(n)` is 0 to n − 1."""
    start = checks.number("arange", "start", start)
    if stop is None:  # arange(n)
        start, stop = 0.0, start
    stop = checks.number("arange", "stop", stop)
    if checks.number("arange", "step", step) == 0:
        raise ValueError(f"arange: step must be a finite number ≠ 0, got {step!r}")
    return Tensor(np.arange(start, stop, step), requires_grad=requires_grad, name=name, dtype=dtype)


def eye(
    n: int,
    m: int | None = None,
    *,
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """The n × m identity matrix (n × n when m is None): ones on the diagonal, zeros elsewhere."""
    rows = checks.count("eye", "n", n, at_least=0)
    columns = rows if m is None else checks.count("eye", "m", m, at_least=0)
    return Tensor(np.eye(rows, columns, dtype=as_dtype(dtype)), requires_grad=requires_grad, name=name)


def randn(
    *shape: int | Sequence[int],
    seed: Seed = None,
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """Standard normal samples; the same `seed` gives the same numbers (see `generator`)."""
    # New numbers at every call (no seed, or a generator): inside a step mg.replay records, noise
    # (drawn anew at every step) and a constant drawn once (on the first call) look the same, and
    # the replay would be wrong for one of them, silently. Weights (requires_grad) are drawn once.
    anew = seed is None or isinstance(seed, (np.random.Generator, np.random.RandomState))
    if anew and not requires_grad and trace.recording() is not None:
        raise ReplayError(
            "randn without a seed while mg.replay records the step: a replay cannot tell noise "
            "drawn at every step from numbers drawn once. Draw noise outside the step and pass it "
            "in, give a seed for the same numbers every time, or call the step without mg.replay"
        )
    values = generator(seed).standard_normal(_shape("randn", shape)).astype(as_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad, name=name)
