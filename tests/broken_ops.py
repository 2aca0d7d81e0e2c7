"""Ops with a deliberately wrong backward rule, for the tests that must catch one."""

from __future__ import annotations

import numpy as np

import microgrid as mg


class WrongTanh(mg.Op):
    """tanh a with a deliberately wrong backward: g · (1 − tanh a) instead of g · (1 − tanh² a)."""

    name = "wrong_tanh"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.tanh(a)

    def backward(self, grad: mg.Tensor, out: mg.Tensor) -> mg.Tensor:
        return grad * (1 - out)
