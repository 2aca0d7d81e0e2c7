"""Ways to make a tensor: from data, filled with a constant, or random with a seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

from microgrid import checks
from microgrid.tensor import DTypeLike, Tensor, as_dtype, shape_from_args

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
    """A tensor of zeros."""
    return Tensor(np.zeros(_shape("zeros", shape), as_dtype(dtype)), requires_grad=requires_grad, name=name)


def ones(
    *shape: int | Sequence[int],
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape("ones", shape), as_dtype(dtype)), requires_grad=requires_grad, name=name)


def randn(
    *shape: int | Sequence[int],
    seed: Seed = None,
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """Standard normal samples; the same `seed` gives the same numbers (see `generator`)."""
    values = generator(seed).standard_normal(_shape("randn", shape)).astype(as_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad, name=name)
