"""Ways to make a tensor: from data, filled with a constant, or random with a seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

from microgrid.tensor import DTypeLike, Tensor, as_dtype, shape_from_args

Seed: TypeAlias = "int | np.random.Generator | np.random.RandomState | None"

_global_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator that everything random uses when it is given no seed."""
    global _global_generator
    _global_generator = np.random.default_rng(seed)


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
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise TypeError(
        "seed must be an int ≥ 0, a numpy.random.Generator or a numpy.random.RandomState, "
        f"got {type(seed).__name__} {seed!r}"
    )


def tensor(
    data: Any, requires_grad: bool = False, name: str | None = None, dtype: DTypeLike = None
) -> Tensor:
    """A new leaf tensor from numbers, nested lists or a numpy array (copied)."""
    return Tensor(data, requires_grad=requires_grad, name=name, dtype=dtype)


def _shape(shape: tuple[int | Sequence[int], ...]) -> tuple[int, ...]:
    """The requested shape, checked to be non-negative."""
    resolved = shape_from_args(shape)
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in resolved):
        raise ValueError(f"shape must be non-negative integers, got {resolved}")
    return tuple(int(n) for n in resolved)


def zeros(
    *shape: int | Sequence[int],
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """A tensor of zeros."""
    return Tensor(np.zeros(_shape(shape), as_dtype(dtype)), requires_grad=requires_grad, name=name)


def ones(
    *shape: int | Sequence[int],
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape(shape), as_dtype(dtype)), requires_grad=requires_grad, name=name)


def randn(
    *shape: int | Sequence[int],
    seed: Seed = None,
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """Standard normal samples; the same `seed` gives the same numbers (see `generator`)."""
    values = generator(seed).standard_normal(_shape(shape)).astype(as_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad, name=name)
