"""Ways to make a tensor: from data, filled with a constant, or random with a seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from microgrid.tensor import DTypeLike, Tensor, as_dtype, shape_from_args

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator `randn` uses when it is given no seed."""
    global _generator
    _generator = np.random.default_rng(seed)


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
    seed: int | np.random.Generator | None = None,
    requires_grad: bool = False,
    name: str | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """Standard normal samples; the same `seed` gives the same numbers."""
    if isinstance(seed, np.random.Generator):
        rng = seed
    else:
        rng = _generator if seed is None else np.random.default_rng(seed)
    values = rng.standard_normal(_shape(shape)).astype(as_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad, name=name)
