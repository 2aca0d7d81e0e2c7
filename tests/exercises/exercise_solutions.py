"""Reference solutions of the exercises (numpy, and microgrid ops where both make sense) and the
known-wrong solutions, one per catalogued mistake, written as a student would write them.

These live only here: the package holds the checker, never an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import microgrid as mg

# --- correct solutions --------------------------------------------------------------------------------------


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_mg(z):
    return mg.sigmoid(mg.tensor(z))


def tanh_backward(dA, A):
    return dA * (1 - np.power(A, 2))


def tanh_backward_mg(dA, A):
    A = mg.tensor(A)
    return mg.tensor(dA) * (1 - A * A)


def linear_forward(A, W, b):
    return np.dot(W, A) + b, (A, W, b)


def linear_forward_mg(A, W, b):
    return mg.tensor(W) @ mg.tensor(A) + mg.tensor(b), (A, W, b)


def compute_cost(AL, Y):
    m = Y.shape[1]
    cost = -1 / m * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    return np.squeeze(cost)


def compute_cost_mg(AL, Y):
    AL, Y = mg.tensor(AL), mg.tensor(Y)
    return -(Y * mg.log(AL) + (1 - Y) * mg.log(1 - AL)).mean()


def linear_backward(dZ, cache):
    A_prev, W, _ = cache
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def linear_backward_mg(dZ, cache):
    A_prev, W, _ = (mg.tensor(a) for a in cache)
    dZ = mg.tensor(dZ)
    m = A_prev.shape[1]
    return W.T @ dZ, dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m


def relu_backward(dA, cache):
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def relu_backward_mg(dA, cache):
    return mg.where(mg.tensor(cache) > 0, mg.tensor(dA), 0.0)


def sigmoid_backward(dA, cache):
    s = 1 / (1 + np.exp(-cache))
    return dA * s * (1 - s)


def sigmoid_backward_mg(dA, cache):
    s = mg.sigmoid(mg.tensor(cache))
    return mg.tensor(dA) * s * (1 - s)


def update_parameters(parameters, grads, learning_rate):
    L = len(parameters) // 2
    for layer in range(L):
        parameters["W" + str(layer + 1)] = (
            parameters["W" + str(layer + 1)] - learning_rate * grads["dW" + str(layer + 1)]
        )
        parameters["b" + str(layer + 1)] = (
            parameters["b" + str(layer + 1)] - learning_rate * grads["db" + str(layer + 1)]
        )
    return parameters


def he(
    scale: Callable[[int, int], float] = lambda n, n_prev: np.sqrt(2 / n_prev), transposed=False, b_shape=None
):
    """An initialize_parameters_he whose W[l] is randn ∗ scale(n[l], n[l−1])."""

    def initialize_parameters_he(layers_dims):
        np.random.seed(3)
        parameters = {}
        for layer in range(1, len(layers_dims)):
            n, n_prev = layers_dims[layer], layers_dims[layer - 1]
            shape = (n_prev, n) if transposed else (n, n_prev)
            parameters["W" + str(layer)] = np.random.randn(*shape) * scale(n, n_prev)
            parameters["b" + str(layer)] = np.zeros(b_shape(n) if b_shape else (n, 1))
        return parameters

    return initialize_parameters_he


initialize_parameters_he = he()


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1]
    W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]
    cross_entropy_cost = compute_cost(A3, Y)
    L2_regularization_cost = (
        lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))
    )
    return cross_entropy_cost + L2_regularization_cost


def compute_cost_with_regularization_mg(A3, Y, parameters, lambd):
    m = Y.shape[1]
    penalty = sum((mg.tensor(parameters[f"W{layer}"]) ** 2).sum() for layer in (1, 2, 3))
    return compute_cost_mg(A3, Y) + penalty * (lambd / (2 * m))


def dropout_forward(A, keep_prob):
    D = np.random.rand(A.shape[0], A.shape[1])
    D = (keep_prob > D).astype(int)
    A = A * D
    A = A / keep_prob
    return A, D


def dropout_forward_mg(A, keep_prob):
    D = np.random.rand(*A.shape) < keep_prob
    return mg.tensor(A) * mg.tensor(D.astype(float)) / keep_prob, D


def dropout_backward(dA, D, keep_prob):
    dA = dA * D
    return dA / keep_prob


def dropout_backward_mg(dA, D, keep_prob):
    return mg.tensor(dA) * mg.tensor(D.astype(float)) / keep_prob


def gradient_check(J, theta, grad, epsilon=1e-7):
    num_parameters = theta.shape[0]
    gradapprox = np.zeros((num_parameters, 1))
    for i in range(num_parameters):
        theta_plus = np.copy(theta)
        theta_plus[i] = theta_plus[i] + epsilon
        theta_minus = np.copy(theta)
        theta_minus[i] = theta_minus[i] - epsilon
        gradapprox[i] = (J(theta_plus) - J(theta_minus)) / (2 * epsilon)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return numerator / denominator


class Exp(mg.Op):
    """e^a; d/da = g · e^a, the output itself."""

    name = "exp"

    def forward(self, a):
        return np.exp(a)

    def backward(self, grad, out):
        return grad * out


CORRECT: dict[str, list[Any]] = {
    "sigmoid": [sigmoid, sigmoid_mg],
    "tanh_backward": [tanh_backward, tanh_backward_mg],
    "linear_forward": [linear_forward, linear_forward_mg],
    "compute_cost": [compute_cost, compute_cost_mg],
    "linear_backward": [linear_backward, linear_backward_mg],
    "relu_backward": [relu_backward, relu_backward_mg],
    "sigmoid_backward": [sigmoid_backward, sigmoid_backward_mg],
    "update_parameters": [update_parameters],
    "initialize_parameters_he": [initialize_parameters_he],
    "compute_cost_with_regularization": [
        compute_cost_with_regularization,
        compute_cost_with_regularization_mg,
    ],
    "dropout_forward": [dropout_forward, dropout_forward_mg],
    "dropout_backward": [dropout_backward, dropout_backward_mg],
    "gradient_check": [gradient_check],
    "exp_op": [Exp],
}

# --- wrong solutions: (exercise, the student's function), by the key of the mistake they make ---------------


def _gradient_check(nudge: Callable[..., tuple], divide: float = 2.0, measure: Callable | None = None):
    """A gradient_check whose loop makes θ⁺, θ⁻ with `nudge` and divides by divide·ε."""

    def check(J, theta, grad, epsilon=1e-7):
        gradapprox = np.zeros(theta.shape)
        state = {"plus": np.copy(theta), "minus": np.copy(theta)}
        for i in range(theta.shape[0]):
            plus, minus = nudge(theta, i, epsilon, state)
            gradapprox[i] = (J(plus) - J(minus)) / (divide * epsilon)
        if measure is not None:
            return measure(grad, gradapprox)
        return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))

    return check


def _central(theta, i, epsilon, state):
    plus, minus = np.copy(theta), np.copy(theta)
    plus[i] += epsilon
    minus[i] -= epsilon
    return plus, minus


def _one_sided(theta, i, epsilon, state):
    plus = np.copy(theta)
    plus[i] += epsilon
    return plus, np.copy(theta)


def _everywhere(theta, i, epsilon, state):
    return theta + epsilon, theta - epsilon


def _accumulating(theta, i, epsilon, state):
    state["plus"][i] += epsilon
    state["minus"][i] -= epsilon
    return state["plus"], state["minus"]


def _l2(term: Callable[[Any, Any], float], scale: Callable[[float, int], float]):
    def cost(A3, Y, parameters, lambd):
        m = Y.shape[1]
        total = sum(term(parameters[f"W{layer}"], parameters[f"b{layer}"]) for layer in (1, 2, 3))
        return compute_cost(A3, Y) + scale(lambd, m) * total

    return cost


def _exp(rule: Callable[[Any, Any, Any], Any]):
    class WrongExp(Exp):
        def backward(self, grad, out):
            return rule(grad, out, self.inputs[0])

    return WrongExp


def update_in_place_without_return(parameters, grads, learning_rate):
    for key in parameters:
        parameters[key] -= learning_rate * grads["d" + key]


def _relu_in_place(dA, cache):
    dA[cache <= 0] = 0
    return dA


def _update(
    sign: float,
    rate: Callable[[float], float] = lambda lr: lr,
    layers: Callable[[int], range] = lambda L: range(1, L + 1),
    biases: bool = True,
):
    def update(parameters, grads, learning_rate):
        L = len(parameters) // 2
        for layer in layers(L):
            parameters[f"W{layer}"] = (
                parameters[f"W{layer}"] + sign * rate(learning_rate) * grads[f"dW{layer}"]
            )
            if biases:
                parameters[f"b{layer}"] = (
                    parameters[f"b{layer}"] + sign * rate(learning_rate) * grads[f"db{layer}"]
                )
        return parameters

    return update


def _linear_backward(
    dA=lambda W, dZ, m: W.T @ dZ,
    dW=lambda dZ, A, m: dZ @ A.T / m,
    db=lambda dZ, m: dZ.sum(axis=1, keepdims=True) / m,
    swap=False,
):
    def backward(dZ, cache):
        A_prev, W, _ = cache
        m = A_prev.shape[1]
        result = (dA(W, dZ, m), dW(dZ, A_prev, m), db(dZ, m))
        return (result[1], result[0], result[2]) if swap else result

    return backward


def _linear_backward_cache_swapped(dZ, cache):
    W, A_prev, _ = cache  # linear_forward's cache is (A_prev, W, b)
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def _dropout_forward(keep: Callable, scale: Callable, compare: bool = True):
    def forward(A, keep_prob):
        D = np.random.rand(A.shape[0], A.shape[1])
        if compare:
            D = keep(D, keep_prob)
        return scale(A, D, keep_prob), D

    return forward


WRONG: dict[str, tuple[str, Any]] = {
    "sigmoid-sign": ("sigmoid", lambda z: 1 / (1 + np.exp(z))),
    "sigmoid-no-one-plus": ("sigmoid", lambda z: 1 / np.exp(-z)),
    "sigmoid-no-reciprocal": ("sigmoid", lambda z: 1 / 1 + np.exp(-z)),
    "sigmoid-minus-one": ("sigmoid", lambda z: 1 / (1 - np.exp(-z))),
    "tanh-backward-1-a": ("tanh_backward", lambda dA, A: dA * (1 - A)),
    "tanh-backward-square-bracket": ("tanh_backward", lambda dA, A: dA * (1 - A) ** 2),
    "tanh-backward-no-dA": ("tanh_backward", lambda dA, A: 1 - np.power(A, 2)),
    "tanh-backward-tanh-again": ("tanh_backward", lambda dA, A: dA * (1 - np.tanh(A) ** 2)),
    "tanh-backward-sign": ("tanh_backward", lambda dA, A: dA * (np.power(A, 2) - 1)),
    "linear-forward-no-b": ("linear_forward", lambda A, W, b: (np.dot(W, A), (A, W, b))),
    "linear-forward-b-row": ("linear_forward", lambda A, W, b: (np.dot(W, A) + b.T, (A, W, b))),
    "linear-forward-minus-b": ("linear_forward", lambda A, W, b: (np.dot(W, A) - b, (A, W, b))),
    "linear-forward-transposed": ("linear_forward", lambda A, W, b: (np.dot(A.T, W.T) + b.T, (A, W, b))),
    "linear-forward-cache-order": ("linear_forward", lambda A, W, b: (np.dot(W, A) + b, (W, A, b))),
    "cost-no-1/m": (
        "compute_cost",
        lambda AL, Y: np.squeeze(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))),
    ),
    "cost-no-minus": (
        "compute_cost",
        lambda AL, Y: np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / Y.shape[1],
    ),
    "cost-one-term": ("compute_cost", lambda AL, Y: -np.sum(Y * np.log(AL)) / Y.shape[1]),
    "cost-no-squeeze": (
        "compute_cost",
        lambda AL, Y: -(np.dot(Y, np.log(AL).T) + np.dot(1 - Y, np.log(1 - AL).T)) / Y.shape[1],
    ),
    "cost-not-summed": (
        "compute_cost",
        lambda AL, Y: -1 / Y.shape[1] * (Y * np.log(AL) + (1 - Y) * np.log(1 - AL)),
    ),
    "cost-outer-product": (
        "compute_cost",
        lambda AL, Y: np.squeeze(
            -1 / Y.shape[1] * np.sum(np.dot(Y.T, np.log(AL)) + np.dot((1 - Y).T, np.log(1 - AL)))
        ),
    ),
    "cost-outer-product-not-summed": (
        "compute_cost",
        lambda AL, Y: np.squeeze(
            -1 / Y.shape[1] * (np.dot(Y.T, np.log(AL)) + np.dot((1 - Y).T, np.log(1 - AL)))
        ),
    ),
    "cost-logs-swapped": (
        "compute_cost",
        lambda AL, Y: -np.sum(Y * np.log(1 - AL) + (1 - Y) * np.log(AL)) / Y.shape[1],
    ),
    "dW-no-1/m": ("linear_backward", _linear_backward(dW=lambda dZ, A, m: np.dot(dZ, A.T))),
    "db-no-1/m": ("linear_backward", _linear_backward(db=lambda dZ, m: np.sum(dZ, axis=1, keepdims=True))),
    "dW-integer-division": (
        "linear_backward",
        _linear_backward(dW=lambda dZ, A, m: 1 // m * np.dot(dZ, A.T)),
    ),
    "db-integer-division": (
        "linear_backward",
        _linear_backward(db=lambda dZ, m: 1 // m * np.sum(dZ, axis=1, keepdims=True)),
    ),
    "dA_prev-with-1/m": ("linear_backward", _linear_backward(dA=lambda W, dZ, m: np.dot(W.T, dZ) / m)),
    "db-no-keepdims": ("linear_backward", _linear_backward(db=lambda dZ, m: np.sum(dZ, axis=1) / m)),
    "db-axis-0": (
        "linear_backward",
        _linear_backward(db=lambda dZ, m: np.sum(dZ, axis=0, keepdims=True) / m),
    ),
    "db-sum-all": ("linear_backward", _linear_backward(db=lambda dZ, m: np.sum(dZ) / m)),
    "dW-transposed": ("linear_backward", _linear_backward(dW=lambda dZ, A, m: np.dot(A, dZ.T) / m)),
    "dA_prev-sign": ("linear_backward", _linear_backward(dA=lambda W, dZ, m: -np.dot(W.T, dZ))),
    "linear-backward-order": ("linear_backward", _linear_backward(swap=True)),
    "cache-unpacked-W-first": ("linear_backward", _linear_backward_cache_swapped),
    "relu-backward-ge": ("relu_backward", lambda dA, Z: np.where(Z >= 0, dA, 0)),
    "relu-backward-no-dA": ("relu_backward", lambda dA, Z: (Z > 0).astype(float)),
    "relu-backward-times-A": ("relu_backward", lambda dA, Z: dA * np.maximum(0, Z)),
    "relu-backward-mask-of-dA": ("relu_backward", lambda dA, Z: np.where(dA > 0, dA, 0)),
    "relu-backward-no-mask": ("relu_backward", lambda dA, Z: np.array(dA, copy=True)),
    "sigmoid-backward-z-as-a": ("sigmoid_backward", lambda dA, Z: dA * Z * (1 - Z)),
    "sigmoid-backward-no-dA": ("sigmoid_backward", lambda dA, Z: sigmoid(Z) * (1 - sigmoid(Z))),
    "sigmoid-backward-tanh-rule": ("sigmoid_backward", lambda dA, Z: dA * (1 - sigmoid(Z) ** 2)),
    "sigmoid-backward-s-of-dA": ("sigmoid_backward", lambda dA, Z: dA * sigmoid(dA) * (1 - sigmoid(dA))),
    "sigmoid-backward-sign": ("sigmoid_backward", lambda dA, Z: dA * sigmoid(Z) * (sigmoid(Z) - 1)),
    "update-plus": ("update_parameters", _update(+1)),
    "update-no-learning-rate": ("update_parameters", _update(-1, rate=lambda lr: 1)),
    "update-last-layer-skipped": ("update_parameters", _update(-1, layers=lambda L: range(1, L))),
    "update-first-layer-skipped": ("update_parameters", _update(-1, layers=lambda L: range(2, L + 1))),
    "update-b-skipped": ("update_parameters", _update(-1, biases=False)),
    "he-xavier": ("initialize_parameters_he", he(lambda n, n_prev: np.sqrt(1 / n_prev))),
    "he-fan-out": ("initialize_parameters_he", he(lambda n, n_prev: np.sqrt(2 / n))),
    "he-0.01": ("initialize_parameters_he", he(lambda n, n_prev: 0.01)),
    "he-no-sqrt": ("initialize_parameters_he", he(lambda n, n_prev: 2 / n_prev)),
    "he-transposed": ("initialize_parameters_he", he(transposed=True)),
    "he-b-no-column": ("initialize_parameters_he", he(b_shape=lambda n: (n,))),
    "he-b-random": (
        "initialize_parameters_he",
        lambda dims: {
            **initialize_parameters_he(dims),
            **{f"b{layer}": np.random.randn(dims[layer], 1) for layer in range(1, len(dims))},
        },
    ),
    "l2-no-half": (
        "compute_cost_with_regularization",
        _l2(lambda W, b: np.sum(np.square(W)), lambda lambd, m: lambd / m),
    ),
    "l2-no-1/m": (
        "compute_cost_with_regularization",
        _l2(lambda W, b: np.sum(np.square(W)), lambda lambd, m: lambd / 2),
    ),
    "l2-with-b": (
        "compute_cost_with_regularization",
        _l2(lambda W, b: np.sum(np.square(W)) + np.sum(np.square(b)), lambda lambd, m: lambd / (2 * m)),
    ),
    "l2-norm-not-squared": (
        "compute_cost_with_regularization",
        _l2(lambda W, b: np.linalg.norm(W), lambda lambd, m: lambd / (2 * m)),
    ),
    "l2-square-of-sum": (
        "compute_cost_with_regularization",
        _l2(lambda W, b: np.sum(W) ** 2, lambda lambd, m: lambd / (2 * m)),
    ),
    "l2-missing": ("compute_cost_with_regularization", lambda A3, Y, parameters, lambd: compute_cost(A3, Y)),
    "dropout-not-rescaled": ("dropout_forward", _dropout_forward(lambda D, k: k > D, lambda A, D, k: A * D)),
    "dropout-multiplied": (
        "dropout_forward",
        _dropout_forward(lambda D, k: k > D, lambda A, D, k: A * D * k),
    ),
    "dropout-no-mask": (
        "dropout_forward",
        _dropout_forward(lambda D, k: k > D, lambda A, D, k: A / k),
    ),
    "dropout-mask-inverted": (
        "dropout_forward",
        _dropout_forward(lambda D, k: k < D, lambda A, D, k: A * D / k),
    ),
    "dropout-mask-not-compared": (
        "dropout_forward",
        _dropout_forward(None, lambda A, D, k: A * D / k, compare=False),
    ),
    "dropout-backward-not-rescaled": ("dropout_backward", lambda dA, D, keep_prob: dA * D),
    "dropout-backward-new-mask": (
        "dropout_backward",
        lambda dA, D, keep_prob: dA * (np.random.rand(*dA.shape) < keep_prob) / keep_prob,
    ),
    "dropout-backward-multiplied": ("dropout_backward", lambda dA, D, keep_prob: dA * D * keep_prob),
    "dropout-backward-no-mask": ("dropout_backward", lambda dA, D, keep_prob: dA / keep_prob),
    "dropout-backward-mask-inverted": ("dropout_backward", lambda dA, D, keep_prob: dA * (1 - D) / keep_prob),
    "gc-one-sided": ("gradient_check", _gradient_check(_one_sided)),
    "gc-divided-by-eps": ("gradient_check", _gradient_check(_central, divide=1.0)),
    "gc-eps-everywhere": ("gradient_check", _gradient_check(_everywhere)),
    "gc-eps-accumulates": ("gradient_check", _gradient_check(_accumulating)),
    "gc-no-denominator": (
        "gradient_check",
        _gradient_check(_central, measure=lambda g, a: np.linalg.norm(g - a)),
    ),
    "gc-difference-of-norms": (
        "gradient_check",
        _gradient_check(
            _central,
            measure=lambda g, a: (
                (np.linalg.norm(g) - np.linalg.norm(a)) / (np.linalg.norm(g) + np.linalg.norm(a))
            ),
        ),
    ),
    "exp-forgot-grad": ("exp_op", _exp(lambda grad, out, a: out)),
    "exp-slope-one": ("exp_op", _exp(lambda grad, out, a: grad)),
    "exp-used-input": ("exp_op", _exp(lambda grad, out, a: grad * a)),
    "exp-sign": ("exp_op", _exp(lambda grad, out, a: -grad * out)),
    "exp-numpy-backward": ("exp_op", _exp(lambda grad, out, a: mg.tensor(grad.data * out.data))),
}

# Mistakes the checker sees without a catalogue entry: a changed argument.
IN_PLACE = {"relu_backward": _relu_in_place}
