"""Mini-batches in the course's layout: the examples are the columns (the last axis) of X and Y."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from microgrid import checks
from microgrid.creation import Seed, generator
from microgrid.errors import ShapeError
from microgrid.tensor import Operand, Tensor, as_array


def minibatches(
    X: Operand, Y: Operand, batch_size: int = 64, seed: Seed = None, shuffle: bool = True
) -> Iterator[tuple[Tensor, Tensor]]:
    """(X{t}, Y{t}) for t = 1, 2, ...: the columns shuffled, then cut into batches of `batch_size`.

    The last batch holds the m mod batch_size columns left over, when there are any. The same
    `seed` gives the same order; pass a new one each epoch (`seed=epoch`) or one
    numpy.random.Generator for all epochs. seed=None shuffles with the global generator, which
    `mg.manual_seed` reseeds. A RandomState reproduces the course's
    `np.random.seed(seed); np.random.permutation(m)`.

    >>> X, Y = np.zeros((2, 5)), np.zeros((1, 5))
    >>> [x.shape for x, _ in minibatches(X, Y, batch_size=2, seed=0)]
    [(2, 2), (2, 2), (2, 1)]
    """
    inputs, labels = as_array(X), as_array(Y)
    if inputs.ndim == 0 or labels.ndim == 0 or inputs.shape[-1] != labels.shape[-1]:
        raise ShapeError(
            f"minibatches: X {inputs.shape} and Y {labels.shape} need the same number of examples "
            "in their last axis (one example per column)"
        )
    batch_size = checks.count("minibatches", "batch_size", batch_size)
    m = inputs.shape[-1]
    order = generator(seed).permutation(m) if shuffle else np.arange(m)
    # The checks above run at the call; the batches are cut as they are asked for.
    return _batches(inputs, labels, order, batch_size)


def _batches(
    inputs: np.ndarray, labels: np.ndarray, order: np.ndarray, batch_size: int
) -> Iterator[tuple[Tensor, Tensor]]:
    for t, start in enumerate(range(0, len(order), batch_size), start=1):
        columns = order[start : start + batch_size]
        yield (
            Tensor(inputs[..., columns], name=f"X{{{t}}}"),
            Tensor(labels[..., columns], name=f"Y{{{t}}}"),
        )
