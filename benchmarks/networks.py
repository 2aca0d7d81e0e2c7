"""One gradient-descent training step of an L-layer network, written twice: by hand in numpy
(the course's vectorised formulas) and with microgrid tensors. Both take the same weights and
data, so the benchmark can check they compute the same thing before timing them."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

import microgrid as mg

LEARNING_RATE = 0.01


def make_problem(sizes: list[int], m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """X (n_x, m), Y (1, m) and He-initialised [W1, b1, W2, b2, ...] as numpy arrays."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((sizes[0], m))
    Y = (rng.uniform(size=(1, m)) > 0.5).astype(np.float64)
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params.append(rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in))
        params.append(np.zeros((n_out, 1)))
    return X, Y, params


def numpy_step(hidden: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]) -> Callable[[], float]:
    """A training step by hand: forward, cost, backward with the course formulas, update."""
    m = X.shape[1]
    n_layers = len(params) // 2

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
            params[2 * layer] -= LEARNING_RATE * dW
            params[2 * layer + 1] -= LEARNING_RATE * db
        return float(cost)

    return step


def microgrid_step(
    hidden: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]
) -> Callable[[], float]:
    """The same step with raw microgrid tensor ops; the cost is softplus(Z) − Z·Y, the stable
    form of the cross-entropy, and backward derives every gradient."""
    X_t, Y_t = mg.tensor(X), mg.tensor(Y)
    weights = [mg.tensor(p, requires_grad=True) for p in params]
    activation = mg.tanh if hidden == "tanh" else mg.relu
    n_layers = len(weights) // 2

    def step() -> float:
        A = X_t
        for layer in range(n_layers):
            Z = weights[2 * layer] @ A + weights[2 * layer + 1]
            A = activation(Z) if layer < n_layers - 1 else Z
        cost = (mg.softplus(Z) - Z * Y_t).mean()
        for w in weights:
            w.grad = None
        cost.backward()
        for w in weights:
            w.data -= LEARNING_RATE * w.grad.data  # type: ignore[union-attr]
        return cost.item()

    step.weights = weights  # type: ignore[attr-defined]
    return step


def layers_step(hidden: str, X: np.ndarray, Y: np.ndarray, params: list[np.ndarray]) -> Callable[[], float]:
    """The same step with microgrid.nn: an mlp of Dense layers, sigmoid_cross_entropy and optim.SGD."""
    sizes = [X.shape[0]] + [W.shape[0] for W in params[::2]]
    model = mg.nn.mlp(sizes, hidden=hidden)
    model.load_state_dict(dict(zip([name for name, _ in model.named_parameters()], params)))
    optimizer = mg.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    X_t, Y_t = mg.tensor(X), mg.tensor(Y)

    def step() -> float:
        cost = mg.nn.sigmoid_cross_entropy(model(X_t), Y_t)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        return cost.item()

    return step


# The ways of writing one training step that the benchmark compares, by the name its table shows.
STEPS: dict[str, Callable[[str, np.ndarray, np.ndarray, list[np.ndarray]], Callable[[], float]]] = {
    "hand-written numpy": numpy_step,
    "tensor ops": microgrid_step,
    "nn layers": layers_step,
}
