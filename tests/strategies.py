"""Hypothesis strategies shared by the tests: shapes that broadcast, and arrays for them."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Small shapes keep central differences cheap (every element is perturbed twice).
MAX_DIMS, MAX_SIDE = 3, 3


def shapes(min_dims: int = 0, min_side: int = 1) -> st.SearchStrategy[tuple[int, ...]]:
    """One array shape with up to three axes of size `min_side` (1 by default) to 3."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=MAX_DIMS, min_side=min_side, max_side=MAX_SIDE)


def broadcastable_shapes(count: int) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """`count` shapes that numpy can broadcast together, e.g. (4, 1) and (3,)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=count, min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE
    ).map(lambda result: result.input_shapes)


def values(rng: np.random.Generator, shape: tuple[int, ...], domain: str) -> np.ndarray:
    """Random values in `domain`. Drawn from a seeded generator rather than by hypothesis, which
    likes repeated values: ties would put max, maximum and abs exactly on their kinks."""
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "nonzero":  # away from the kink of relu, abs and friends at 0
        return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "above -1":  # log1p's domain, kept away from its pole at −1
        return rng.uniform(-0.7, 2.0, shape)
    if domain == "base":  # d(a^b)/db = a^b·log a vanishes at a = 1, where round-off dominates
        return rng.uniform(1.3, 2.5, shape)
    return rng.uniform(-2.0, 2.0, shape)
