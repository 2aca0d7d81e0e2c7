"""Networks as the course derives them: the 2-layer backprop formulas, symmetry, and training."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn, optim


def circles(m: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (2, m) uniform in a square, Y (1, m) = 1 inside the circle of radius 1: not linearly separable."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.6, 1.6, (2, m))
    Y = (np.sum(X**2, axis=0, keepdims=True) < 1.0).astype(float)
    return X, Y


def named(output: mg.Tensor, name: str) -> mg.Tensor:
    """The tensor called `name` in the graph behind `output`."""
    stack = [output]
    while stack:
        t = stack.pop()
        if t.name == name:
            return t
        if t.op is not None:
            stack.extend(t.op.inputs)
    raise KeyError(name)


@pytest.mark.parametrize(
    ("output", "loss"),
    [("identity", nn.sigmoid_cross_entropy), ("sigmoid", nn.binary_cross_entropy)],
    ids=["logits", "probabilities"],
)
def test_two_layer_tanh_gradients_equal_the_course_formulas(
    output: str, loss: Callable[[mg.Tensor, np.ndarray], mg.Tensor]
) -> None:
    X, Y = circles(m=12)
    m = X.shape[1]
    model = nn.mlp([2, 4, 1], hidden="tanh", output=output, init="xavier", seed=3)
    model.layers[0].b.data[...] = np.arange(4).reshape(4, 1) * 0.1  # nonzero biases test db too
    J = loss(model(X), Y)
    J.backward()

    W1, b1, W2, b2 = (p.data for p in model.parameters())
    A1 = np.tanh(W1 @ X + b1)
    A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = W2.T @ dZ2 * (1 - A1**2)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m

    grads = [p.grad.data for p in model.parameters()]
    for got, formula in zip(grads, [dW1, db1, dW2, db2]):
        np.testing.assert_allclose(got, formula, rtol=1e-10, atol=1e-15)
    # d(J)/d(Z) of the intermediates, from mg.grad; the course's dZ is per example, so ·m.
    got_dZ2, got_dZ1 = mg.grad(J, [named(J, "Z[2]"), named(J, "Z[1]")])
    np.testing.assert_allclose(got_dZ2.data * m, dZ2, rtol=1e-10)
    np.testing.assert_allclose(got_dZ1.data * m, dZ1, rtol=1e-10, atol=1e-15)


def test_a_small_network_with_its_loss_has_correct_second_derivatives() -> None:
    X, Y = circles(m=5)
    model = nn.mlp([2, 3, 1], hidden="tanh", seed=1)
    report = mg.gradgradcheck(lambda *params: nn.sigmoid_cross_entropy(model(X), Y), list(model.parameters()))
    assert report, report


def train(
    model: nn.Module, optimizer: optim.Optimizer, X: np.ndarray, Y: np.ndarray, epochs: int
) -> list[float]:
    """The course's loop: for each mini-batch, forward, cost, backward, update; the costs per epoch."""
    costs = []
    for epoch in range(epochs):
        total = 0.0
        for X_batch, Y_batch in mg.data.minibatches(X, Y, 64, seed=epoch):
            J = nn.sigmoid_cross_entropy(model(X_batch), Y_batch)
            optimizer.zero_grad()
            J.backward()
            optimizer.step()
            total += J.item() * X_batch.shape[1]
        costs.append(total / X.shape[1])
    return costs


def constant(shape: tuple[int, ...], seed: object) -> np.ndarray:
    return np.full(shape, 0.5)


@pytest.mark.parametrize("init", ["zeros", constant], ids=["zeros", "constant"])
def test_symmetric_initialisation_keeps_every_hidden_unit_identical(init: object) -> None:
    X, Y = circles()
    model = nn.mlp([2, 5, 1], hidden="tanh", init=init, seed=0)  # type: ignore[arg-type]
    W1_before = model.layers[0].W.data.copy()
    train(model, optim.SGD(model.parameters(), lr=0.5), X, Y, epochs=5)
    W1, W2 = model.layers[0].W.data, model.layers[2].W.data
    # Five units computing one function (equal up to rounding: BLAS may sum rows in different orders).
    np.testing.assert_allclose(W1, np.broadcast_to(W1[0], W1.shape), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(W2, np.full(W2.shape, W2[0, 0]), rtol=1e-12, atol=1e-15)
    if init == "zeros":
        assert not W1.any()  # tanh(0) = 0 and W2 = 0: the hidden layer never learns at all
    else:
        assert not np.array_equal(W1, W1_before)  # it learns, but all units alike


def test_random_initialisation_breaks_the_symmetry() -> None:
    X, Y = circles()
    model = nn.mlp([2, 5, 1], hidden="tanh", init="random", seed=0)
    W1_before = model.layers[0].W.data.copy()
    train(model, optim.SGD(model.parameters(), lr=0.5), X, Y, epochs=5)
    updates = model.layers[0].W.data - W1_before
    assert np.linalg.matrix_rank(updates) == 2  # the units moved in different directions


OPTIMISERS: list[tuple[str, Callable[[list[mg.Tensor]], optim.Optimizer]]] = [
    ("sgd momentum", lambda params: optim.SGD(params, lr=0.3, momentum=0.9)),
    ("momentum", lambda params: optim.Momentum(params, lr=1.0, beta=0.9)),
    ("rmsprop", lambda params: optim.RMSprop(params, lr=0.01)),
    ("adam", lambda params: optim.Adam(params, lr=0.02)),
]


@pytest.mark.parametrize("make", [make for _, make in OPTIMISERS], ids=[name for name, _ in OPTIMISERS])
def test_each_optimiser_trains_an_mlp_on_a_nonlinear_problem(
    make: Callable[[list[mg.Tensor]], optim.Optimizer],
) -> None:
    X, Y = circles()
    model = nn.mlp([2, 8, 1], hidden="tanh", init="xavier", seed=0)
    costs = train(model, make(list(model.parameters())), X, Y, epochs=60)
    assert costs[-1] < 0.5 * costs[0]
    model.eval()
    with mg.no_grad():
        assert nn.accuracy(nn.predict(model(X), from_logits=True), Y) > 0.9


def test_regularised_training_with_dropout_l2_and_decay() -> None:
    X, Y = circles()
    model = nn.mlp([2, 16, 1], hidden="relu", init="he", seed=1, keep_prob=0.9)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    schedule = optim.InverseTimeDecay(optimizer, decay_rate=0.5, time_interval=20)
    m = X.shape[1]
    for epoch in range(60):
        for X_batch, Y_batch in mg.data.minibatches(X, Y, 64, seed=epoch):
            J = nn.sigmoid_cross_entropy(model(X_batch), Y_batch) + nn.l2_penalty(model, 0.1, m)
            optimizer.zero_grad()
            J.backward()
            optimizer.step()
        schedule.step()
    assert optimizer.lr == pytest.approx(0.02 / (1 + 0.5 * 3))
    model.eval()
    with mg.no_grad():
        assert nn.accuracy(nn.predict(model(X), from_logits=True), Y) > 0.9
