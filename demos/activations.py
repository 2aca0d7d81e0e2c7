"""Why activations must be non-linear, and how sigmoid, tanh, ReLU and leaky ReLU compare in training.

Run:  python demos/activations.py [--fast] [--out DIR]      (or: microgrid demo activations)

Part 1. A deep network whose hidden activations are the identity, A[l] = Z[l], is still a linear
function of x: Z[4] = W[4](W[3](W[2](W[1]x + b[1]) + b[2]) + b[3]) + b[4] = W x + b with the
single matrix W = W[4]W[3]W[2]W[1]. However many layers it has, it learns only a straight
boundary, exactly the one the multiplied-out matrix draws. The same network with ReLU bends.

Part 2. The same network (Xavier initialisation, gradient descent) with each hidden activation:
sigmoid learns slowest (its slope is at most 1/4 and its outputs are not centred on 0); tanh,
ReLU and leaky ReLU learn much faster.

Writes linear.png (identity network, its one matrix, the ReLU network) and training.png (cost
and test accuracy for each activation).
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
NOISE = 0.25
LAYER_SIZES = [2, 10, 10, 10, 1]
LEARNING_RATE = 0.1
ITERATIONS = 1500
FAST = 0.1  # --fast trains for this fraction of the iterations
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
NAMES = {
    "identity": "identity",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "ReLU",
    "leaky_relu": "leaky ReLU",
}


def multiplied_out(model: mg.nn.Sequential) -> tuple[np.ndarray, np.ndarray]:
    """W, b with W x + b equal to the network when every activation is the identity."""
    dense = [layer for layer in model.layers if isinstance(layer, mg.nn.Dense)]
    W, b = np.eye(dense[0].n_in), np.zeros((dense[0].n_in, 1))
    for layer in dense:
        W, b = layer.W.data @ W, layer.W.data @ b + layer.b.data
    return W, b


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("activations", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.moons(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)

    # --- train one network per hidden activation, the identity included -------------------------------
    gradient_descent = partial(mg.optim.SGD, lr=LEARNING_RATE)
    settings = {
        activation: kit.Setting(
            mg.nn.mlp(LAYER_SIZES, hidden=activation, init="xavier", seed=SEED), gradient_descent
        )
        for activation in ("identity", *ACTIVATIONS)
    }
    models, costs = kit.train_each(settings, split.X_train, split.Y_train, iterations)

    # --- part 1: the identity network is one matrix ------------------------------------------------
    W, b = multiplied_out(models["identity"])
    with mg.no_grad():
        network_logits = models["identity"](mg.tensor(split.X_test)).data
    one_matrix_logits = W @ split.X_test + b
    print(f"W = W[4]W[3]W[2]W[1] = {W.round(3)}, b = {b.ravel().round(3)}")

    def one_matrix(points: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(W @ points + b)))

    depth = len(LAYER_SIZES) - 1
    run.save(
        plotting.grid_of_boundaries(
            {
                "identity activations": kit.probabilities(models["identity"]),
                f"one matrix W[{depth}]···W[1]": one_matrix,
                "ReLU activations": kit.probabilities(models["relu"]),
            },
            split.X_train,
            split.Y_train,
            title=f"Network {LAYER_SIZES}: without non-linear activations it draws a line",
        ),
        "linear.png",
    )

    # --- part 2: the activations in training ------------------------------------------------------
    figure = plotting.new_figure(12, 4.8)
    plotting.plot_costs(
        {NAMES[name]: costs[name] for name in ACTIVATIONS},
        ax=figure.add_subplot(1, 2, 1),
        log_scale=True,
        xlabel="iteration",
        ylabel="cost J (log scale)",
        title=f"Cost (gradient descent, α = {LEARNING_RATE})",
    )
    kit.accuracy_bars(
        {NAMES[name]: models[name] for name in ("identity", *ACTIVATIONS)},
        split,
        figure.add_subplot(1, 2, 2),
        "Accuracy after training",
        "hidden activation",
    )
    figure.suptitle(
        f"Hidden activations compared: network {LAYER_SIZES} on the moons, Xavier initialisation",
        fontsize=plotting.TITLE_SIZE + 1,
    )
    run.save(figure, "training.png")

    # --- summary -----------------------------------------------------------------------------
    results: dict[str, float] = {
        "one_matrix_difference": float(np.abs(network_logits - one_matrix_logits).max()),
    }
    for name in ("identity", *ACTIVATIONS):
        results[f"{name}_final_cost"] = costs[name][-1]
        results.update(kit.accuracies(models[name], split, prefix=f"{name}_"))
    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
