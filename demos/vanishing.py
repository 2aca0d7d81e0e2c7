"""Vanishing and exploding gradients: the norm of dW[l] layer by layer in a deep network.

Run:  python demos/vanishing.py [--fast] [--out DIR]      (or: microgrid demo vanishing)

Backpropagation multiplies one factor per layer, W[l]ᵀ and g'(Z[l]), on the way from J back to
layer 1. When those factors are smaller than 1 the gradient shrinks geometrically with depth
(vanishing: sigmoid's slope is at most 1/4), when they are larger it grows (exploding: weights
too large for ReLU). An initialisation matched to the activation (Xavier for tanh, He for ReLU)
keeps the factors near 1, and every layer gets a usable gradient.

The same 15-layer network (14 hidden layers of 20 units) on the moons, with five pairs of
activation and initialisation: ‖dW[l]‖ for every layer at initialisation; the sigmoid network
again with 3, 6, 9 and 12 layers, where ‖dW[1]‖ / ‖dW[L]‖ shrinks by a factor of 40 or more
with every three layers added; then how the gradients of the first, middle and last
layers evolve while two of them train: the first layers of the sigmoid network barely move, those
of the ReLU network with He initialisation learn from the start.

Writes by_depth.png (‖dW[l]‖ against l for each pair; ‖dW[1]‖ / ‖dW[L]‖ of sigmoid against L)
and training.png (gradient norms of three layers while training, and the costs).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

# --- settings ----------------------------------------------------------------------------------
SEED = 0
EXAMPLES = 400
NOISE = 0.2
DEPTH = 15  # L: Dense layers
SIGMOID_DEPTHS = (3, 6, 9, 12, 15)  # the sigmoid network at these depths too: the deeper, the smaller ‖dW[1]‖
WIDTH = 20  # units in every hidden layer
LEARNING_RATE = 0.02
ITERATIONS = 600
FAST = 0.1  # --fast trains for this fraction of the iterations


def normal(scale: float) -> mg.nn.init.Initializer:
    """The initialiser N(0, 1) · scale, whatever the layer's size."""

    def initializer(shape: tuple[int, ...], seed: mg.nn.init.Seed = None) -> np.ndarray:
        return mg.nn.init.normal(shape, seed, scale=scale)

    return initializer


# (key in the results, name in the pictures, hidden activation, initialiser)
PAIRS = (
    ("sigmoid_xavier", "sigmoid, Xavier", "sigmoid", "xavier"),
    ("tanh_small", "tanh, N(0, 1)·0.05", "tanh", normal(0.05)),
    ("tanh_xavier", "tanh, Xavier", "tanh", "xavier"),
    ("relu_he", "ReLU, He", "relu", "he"),
    ("relu_large", "ReLU, N(0, 1)·1", "relu", normal(1.0)),
)
TRAINED = ("sigmoid_xavier", "relu_he")  # the pairs trained after the snapshot at initialisation


def weight_gradient_norms(model: mg.nn.Sequential) -> list[float]:
    """‖dW[l]‖ (Frobenius) for l = 1 … L, from the gradients the last backward() left."""
    dense = [layer for layer in model.layers if isinstance(layer, mg.nn.Dense)]
    return [float(np.linalg.norm(layer.W.grad.data)) for layer in dense if layer.W.grad is not None]


def norms_at_initialisation(
    depth: int, activation: str, init: str | mg.nn.init.Initializer, X: np.ndarray, Y: np.ndarray
) -> tuple[mg.nn.Sequential, list[float]]:
    """A new network of `depth` Dense layers, and ‖dW[l]‖ for every layer after one backward pass."""
    model = mg.nn.mlp([2] + [WIDTH] * (depth - 1) + [1], hidden=activation, init=init, seed=SEED)
    mg.nn.sigmoid_cross_entropy(model(mg.tensor(X)), Y).backward()
    return model, weight_gradient_norms(model)


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("vanishing", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.moons(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)

    # --- ‖dW[l]‖ at initialisation, one backward pass per pair ------------------------------------------
    names = {key: name for key, name, _, _ in PAIRS}
    at_init: dict[str, list[float]] = {}
    models: dict[str, mg.nn.Sequential] = {}
    for key, _, activation, init in kit.progress(PAIRS, "backward at initialisation"):
        models[key], at_init[key] = norms_at_initialisation(
            DEPTH, activation, init, split.X_train, split.Y_train
        )
    sigmoid_by_depth = {
        depth: norms_at_initialisation(depth, "sigmoid", "xavier", split.X_train, split.Y_train)[1]
        for depth in SIGMOID_DEPTHS
    }

    figure = plotting.new_figure(15, 5.2)
    ax = plotting.plot_gradient_norms(
        {names[key]: norms for key, norms in at_init.items()},
        ax=figure.add_subplot(1, 2, 1),
        xlabel="layer l (1 = next to the input, L = next to the cost)",
        ylabel="‖dW[l]‖ at initialisation (log scale)",
        title=f"{DEPTH}-layer networks: ‖dW[l]‖ layer by layer",
    )
    ax.set_xticks(range(DEPTH), [str(layer) for layer in range(1, DEPTH + 1)])
    ax = plotting.plot_gradient_norms(
        {"sigmoid, Xavier": [norms[0] / norms[-1] for norms in sigmoid_by_depth.values()]},
        ax=figure.add_subplot(1, 2, 2),
        xlabel="depth L (layers in the network)",
        ylabel="‖dW[1]‖ / ‖dW[L]‖ (log scale)",
        title="Sigmoid: the deeper, the less reaches layer 1",
    )
    ax.set_xticks(range(len(SIGMOID_DEPTHS)), [str(depth) for depth in SIGMOID_DEPTHS])
    ax.get_lines()[0].set_marker("o")
    figure.suptitle("Gradient norms at initialisation", fontsize=plotting.TITLE_SIZE + 1)
    run.save(figure, "by_depth.png")

    # --- training two of them: do the first layers learn? ---------------------------------------------
    watched = {"layer 1": 0, f"layer {DEPTH // 2 + 1}": DEPTH // 2, f"layer {DEPTH}": DEPTH - 1}
    during: dict[str, dict[str, list[float]]] = {key: {layer: [] for layer in watched} for key in TRAINED}

    def record(key: str) -> None:
        """After every backward: ‖dW[l]‖ of the watched layers of the network `key`, into during[key]."""
        norms = weight_gradient_norms(models[key])
        for layer, index in watched.items():
            during[key][layer].append(norms[index])

    gradient_descent = partial(mg.optim.SGD, lr=LEARNING_RATE)
    settings = {
        names[key]: kit.Setting(models[key], gradient_descent, after_backward=partial(record, key))
        for key in TRAINED
    }
    _, costs = kit.train_each(settings, split.X_train, split.Y_train, iterations)

    figure = plotting.new_figure(16, 5.0)
    first = figure.add_subplot(1, 3, 1)
    for column, key in enumerate(TRAINED, start=1):
        # One y scale for both panels, so that their gradient sizes compare at a glance.
        ax = first if column == 1 else figure.add_subplot(1, 3, column, sharey=first)
        plotting.plot_gradient_norms(
            during[key],
            ax=ax,
            xlabel="iteration",
            ylabel="‖dW[l]‖ (log scale)",
            title=f"{names[key]}: gradient norms while training",
        )
    plotting.plot_costs(
        costs,
        ax=figure.add_subplot(1, 3, 3),
        xlabel="iteration",
        ylabel="cost J",
        title=f"Cost (gradient descent, α = {LEARNING_RATE})",
    )
    figure.suptitle(
        f"Training the {DEPTH}-layer network: with sigmoid the first layers get almost no gradient",
        fontsize=plotting.TITLE_SIZE + 1,
    )
    run.save(figure, "training.png")

    # --- summary -----------------------------------------------------------------------------
    results: dict[str, float] = {}
    for key, norms in at_init.items():
        results[f"{key}_first_layer_norm"] = norms[0]
        results[f"{key}_first_to_last_ratio"] = norms[0] / norms[-1]
    for depth, norms in sigmoid_by_depth.items():
        results[f"sigmoid_depth_{depth}_first_to_last_ratio"] = norms[0] / norms[-1]
    for key in TRAINED:
        results[f"{key}_final_cost"] = costs[names[key]][-1]
        results.update(kit.accuracies(models[key], split, prefix=f"{key}_"))
    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
