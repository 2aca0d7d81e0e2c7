"""One gradient-descent training step of an L-layer network, written in each of the ways the
benchmark compares: by hand in numpy (the course's vectorised formulas, the baseline), with
microgrid tensor ops, with microgrid.nn, replayed by mg.replay, and with PyTorch when it is
installed. All take the same weights and data and return the cost as a float, so the benchmark
can check they compute the same step before timing them.

Two loss graphs, as a learner writes them:

    course    A = σ(Z), J = −mean(Y·log A + (1 − Y)·log(1 − A)): the course's formulas as ops
    stable    J = sigmoid_cross_entropy(Z, Y) on the logits (PyTorch's BCEWithLogitsLoss)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

import microgrid as mg

LEARNING_RATE = 0.01

Step = Callable[[], float]
# A way of writing the step: (hidden activation, loss graph, X, Y, [W1, b1, ...]) -> the step.
Maker = Callable[[str, str, np.ndarray, np.ndarray, list[np.ndarray]], Step]


def make_problem(
    sizes: list[int], m: int, seed: int = 0, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """X (n_x, m), Y (1, m) and He-initialised [W1, b1, W2, b2, ...] as numpy arrays of `dtype`."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((sizes[0], m)).astype(dtype)
    Y = (rng.uniform(size=(1, m)) > 0.5).astype(dtype)
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params.append((rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(dtype))
        params.append(np.zeros((n_out, 1), dtype))
    return X, Y, params


def numpy_step(hidden: str, loss: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]) -> Step:
    """A training step by hand: forward, cost, backward with the course formulas, update. The
    cost is the course's on A = σ(Z) for either loss graph (the two are the same number)."""
    m = X.shape[1]
    n_layers = len(params) // 2
    lr = X.dtype.type(LEARNING_RATE)

    def step() -> float:
        activations, pre = [X], []
        for layer in range(n_layers):
            W, b = params[2 * layer], params[2 * layer + 1]
            Z = W @ activations[-1] + b
            pre.append(Z)
            if layer == n_layers - 1:
                A = 1 / (1 + np.exp(-Z))
            elif hidden == "tanh":
                A = np.tanh(Z)
            else:
                A = np.maximum(Z, 0)
            activations.append(A)
        A_out = activations[-1]
        cost = -np.sum(Y * np.log(A_out) + (1 - Y) * np.log(1 - A_out)) / m
        dZ = A_out - Y
        for layer in reversed(range(n_layers)):
            W = params[2 * layer]
            dW = dZ @ activations[layer].T / m
            db = np.sum(dZ, axis=1, keepdims=True) / m
            if layer > 0:  # nobody needs dX
                dA = W.T @ dZ
                below = activations[layer]
                dZ = dA * (1 - below**2) if hidden == "tanh" else dA * (pre[layer - 1] > 0)
            params[2 * layer] -= lr * dW
            params[2 * layer + 1] -= lr * db
        return float(cost)

    return step


def _cost(Z: mg.Tensor, Y: mg.Tensor, loss: str) -> mg.Tensor:
    """The cost of logits Z, written as the loss graph says."""
    if loss == "stable":
        return mg.nn.sigmoid_cross_entropy(Z, Y)
    A = mg.sigmoid(Z)
    return -(Y * mg.log(A) + (1 - Y) * mg.log(1 - A)).mean()


def ops_step(hidden: str, loss: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]) -> Step:
    """The same step with raw microgrid tensor ops, as the tutorial writes it: backward derives
    every gradient, and each parameter is updated in place under no_grad."""
    X_t, Y_t = mg.tensor(X), mg.tensor(Y)
    weights = [mg.tensor(p, requires_grad=True) for p in params]
    activation = mg.tanh if hidden == "tanh" else mg.relu
    n_layers = len(weights) // 2

    def step() -> float:
        A = X_t
        for layer in range(n_layers):
            Z = weights[2 * layer] @ A + weights[2 * layer + 1]
            A = activation(Z) if layer < n_layers - 1 else Z
        cost = _cost(Z, Y_t, loss)
        for w in weights:
            w.grad = None
        cost.backward()
        with mg.no_grad():
            for w in weights:
                w -= LEARNING_RATE * w.grad  # type: ignore[operator]
        return cost.item()

    return step


def _nn_training(
    hidden: str, loss: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]
) -> Callable[[mg.Tensor, mg.Tensor], mg.Tensor]:
    """A training step with microgrid.nn: an mlp of Dense layers, the loss, and optim.SGD."""
    sizes = [X.shape[0]] + [W.shape[0] for W in params[::2]]
    model = mg.nn.mlp(sizes, hidden=hidden, dtype=X.dtype)
    model.load_state_dict(dict(zip([name for name, _ in model.named_parameters()], params)))
    optimizer = mg.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def train(X_batch: mg.Tensor, Y_batch: mg.Tensor) -> mg.Tensor:
        cost = _cost(model(X_batch), Y_batch, loss)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        return cost

    return train


def nn_step(hidden: str, loss: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]) -> Step:
    """The step with microgrid.nn, eager: every call builds the graph and walks it."""
    train = _nn_training(hidden, loss, X, Y, params)
    X_t, Y_t = mg.tensor(X), mg.tensor(Y)
    return lambda: train(X_t, Y_t).item()


def replay_step(hidden: str, loss: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]) -> Step:
    """The microgrid.nn step through mg.replay: recorded at the first call, replayed after."""
    fast = mg.replay(_nn_training(hidden, loss, X, Y, params))
    X_t, Y_t = mg.tensor(X), mg.tensor(Y)
    return lambda: fast(X_t, Y_t).item()


def torch_step(hidden: str, loss: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]) -> Step:
    """The same step in PyTorch eager (only when torch is installed: never a dependency)."""
    import torch

    torch.set_num_threads(1)
    X_t, Y_t = torch.from_numpy(X.copy()), torch.from_numpy(Y.copy())
    weights = [torch.from_numpy(p).requires_grad_() for p in params]
    activation = torch.tanh if hidden == "tanh" else torch.relu
    n_layers = len(weights) // 2

    def step() -> float:
        A = X_t
        for layer in range(n_layers):
            Z = weights[2 * layer] @ A + weights[2 * layer + 1]
            A = activation(Z) if layer < n_layers - 1 else Z
        if loss == "stable":
            cost = torch.nn.functional.binary_cross_entropy_with_logits(Z, Y_t)
        else:
            A = torch.sigmoid(Z)
            cost = -(Y_t * torch.log(A) + (1 - Y_t) * torch.log(1 - A)).mean()
        for w in weights:
            w.grad = None
        cost.backward()
        with torch.no_grad():
            for w in weights:
                w -= LEARNING_RATE * w.grad
        return cost.item()

    return step


# The ways of writing one training step, by the name the benchmark's table shows.
STEPS: dict[str, Maker] = {
    "numpy": numpy_step,
    "ops": ops_step,
    "nn": nn_step,
    "replay": replay_step,
    "torch": torch_step,
}
