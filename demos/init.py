"""Initialisation: zeros vs large random (×10) vs He on the circles, and the symmetry zeros never break.

Run:  python demos/init.py [--fast] [--out DIR]      (or: microgrid demo init)

The same 3-layer ReLU network, LINEAR → RELU → LINEAR → RELU → LINEAR → SIGMOID with 10 and 5
hidden units, trained three times from three starting points:

  zeros   every hidden unit computes the same thing and receives the same gradient, so they stay
          identical forever (here even exactly zero: ReLU passes no gradient at 0). The network
          predicts one class everywhere: chance accuracy.
  ×10     weights drawn from N(0, 1)·10: huge logits, a huge first cost, saturated predictions;
          training limps.
  He      weights from N(0, 1)·√(2/n[l−1]): activations keep their scale through the ReLUs, and
          the network separates the circles.

Writes costs.png, boundaries.png (one panel per initialisation, training set; the zeros panel
says why it has no boundary) and
symmetry.png (the trained W[1] of each network, one row per hidden unit).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

# --- settings ----------------------------------------------------------------------------------
SEED = 1
EXAMPLES = 400
NOISE = 0.08
LAYER_SIZES = [2, 10, 5, 1]
LEARNING_RATE = 0.1
ITERATIONS = 3000
FAST = 0.1  # --fast trains for this fraction of the iterations
LARGE_SCALE = 10.0


def large_random(shape: tuple[int, ...], seed: mg.nn.init.Seed = None) -> np.ndarray:
    """N(0, 1) · 10: the course's "too large" initialisation."""
    return mg.nn.init.normal(shape, seed, scale=LARGE_SCALE)


INITIALISATIONS: dict[str, str | mg.nn.init.Initializer] = {
    "zeros": "zeros",
    f"large random ×{LARGE_SCALE:g}": large_random,
    "He": "he",
}


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("init", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.circles(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)

    # --- one network per initialisation, each trained by gradient descent ------------------------------
    gradient_descent = partial(mg.optim.SGD, lr=LEARNING_RATE)
    settings = {
        name: kit.Setting(mg.nn.mlp(LAYER_SIZES, hidden="relu", init=init, seed=SEED), gradient_descent)
        for name, init in INITIALISATIONS.items()
    }
    models, costs = kit.train_each(settings, split.X_train, split.Y_train, iterations)

    # --- pictures ----------------------------------------------------------------------------
    run.save(
        plotting.plot_costs(
            costs,
            xlabel="iteration",
            ylabel="cost J (log scale)",
            log_scale=True,
            title=f"Cost by initialisation (gradient descent, α = {LEARNING_RATE})",
        ),
        "costs.png",
    )
    run.save(
        kit.boundaries(
            models,
            split.X_train,
            split.Y_train,
            "Decision boundary by initialisation (points: the training set)",
            notes={
                "zeros": "All hidden units start equal, get\nequal gradients and stay equal\n"
                "(here: zero). The output is the\nsame everywhere: no boundary."
            },
        ),
        "boundaries.png",
    )

    # --- symmetry: the rows of W[1] are the hidden units' weights -------------------------------------
    first_weights = {name: model.layers[0].W.data for name, model in models.items()}
    distinct_units = {name: len(np.unique(W.round(12), axis=0)) for name, W in first_weights.items()}
    figure = plotting.new_figure(11, 4.6)
    for column, (name, W) in enumerate(first_weights.items(), start=1):
        ax = figure.add_subplot(1, len(first_weights), column)
        limit = max(float(np.abs(W).max()), 1e-3)
        image = ax.imshow(W, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        verdict = (
            f"all {W.shape[0]} units identical"
            if distinct_units[name] == 1
            else f"{distinct_units[name]} different units of {W.shape[0]}"
        )
        ax.set_title(f"{name}\n{verdict}", fontsize=plotting.TITLE_SIZE)
        ax.set_xticks([0, 1], ["x₁", "x₂"])  # the circles are 2-D
        ax.set_xlabel("weight from input", fontsize=plotting.LABEL_SIZE)
        ax.set_yticks(range(W.shape[0]), [str(i + 1) for i in range(W.shape[0])])
        ax.set_ylabel("hidden unit of layer 1", fontsize=plotting.LABEL_SIZE)
        figure.colorbar(image, ax=ax, label="weight")
    figure.suptitle(
        "W[1] after training: with zeros every hidden unit (row) stays identical",
        fontsize=plotting.TITLE_SIZE + 1,
    )
    run.save(figure, "symmetry.png")

    # --- summary -----------------------------------------------------------------------------
    results: dict[str, float] = {}
    for prefix, name in zip(("zeros_", "large_", "he_"), INITIALISATIONS):
        results[f"{prefix}first_cost"] = costs[name][0]
        results[f"{prefix}final_cost"] = costs[name][-1]
        results.update(kit.accuracies(models[name], split, prefix=prefix))
        results[f"{prefix}distinct_hidden_units"] = distinct_units[name]
    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
