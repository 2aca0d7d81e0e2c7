"""Regularisation: no regularisation vs L2 vs dropout on a small, noisy dataset, train vs test accuracy.

Run:  python demos/regularization.py [--fast] [--out DIR]      (or: microgrid demo regularization)

A network much bigger than its data ([2, 60, 60, 1], ReLU, 150 training examples of a noisy XOR)
learns the training set by heart, noise included: 100% on the training set, much less on the
300-odd examples it never saw. Two cures from the course:

  L2        J = cross-entropy + λ/(2m)·Σ‖W[l]‖²: large weights cost, so the boundary stays smooth
            (backward adds (λ/m)·W[l] to every dW[l]: "weight decay").
  dropout   during training each hidden unit is kept with probability keep_prob (inverted dropout:
            A[l] · D[l] / keep_prob), so no unit can rely on any single other one; at test time
            every unit is used.

Both trade a little training accuracy for better test accuracy. Writes costs.png (costs and
train/test accuracy) and boundaries.png (each model on the training and the test set).
"""

from __future__ import annotations

from functools import partial

from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

# --- settings ----------------------------------------------------------------------------------
SEED = 2
EXAMPLES = 600
NOISE = 0.6
TEST_FRACTION = 0.75  # few training examples: easy to overfit
LAYER_SIZES = [2, 60, 60, 1]
LEARNING_RATE = 0.01  # Adam, full batch
LAMBD = 3.0  # L2 strength λ
KEEP_PROB = 0.5  # dropout: the probability of keeping a hidden unit
ITERATIONS = 1500
FAST = 0.15  # --fast trains for this fraction of the iterations

# (key in the results, name in the pictures, λ, keep_prob)
VARIANTS = (
    ("none", "no regularisation", 0.0, 1.0),
    ("l2", f"L2, λ = {LAMBD:g}", LAMBD, 1.0),
    ("dropout", f"dropout, keep {KEEP_PROB:.0%} of units", 0.0, KEEP_PROB),
)


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("regularization", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.xor(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, test_fraction=TEST_FRACTION, seed=SEED)

    # --- one network per variant ---------------------------------------------------------------
    adam = partial(mg.optim.Adam, lr=LEARNING_RATE)
    settings = {
        name: kit.Setting(
            mg.nn.mlp(LAYER_SIZES, hidden="relu", init="he", seed=SEED, keep_prob=keep_prob),
            adam,
            lambd=lambd,
        )
        for _, name, lambd, keep_prob in VARIANTS
    }
    models, costs = kit.train_each(settings, split.X_train, split.Y_train, iterations)
    results: dict[str, float] = {}
    for key, name, _, _ in VARIANTS:
        results[f"{key}_final_cost"] = costs[name][-1]
        results.update(kit.accuracies(models[name], split, prefix=f"{key}_"))

    # --- pictures ----------------------------------------------------------------------------
    figure = plotting.new_figure(13, 4.8)
    plotting.plot_costs(
        costs,
        ax=figure.add_subplot(1, 2, 1),
        log_scale=True,
        xlabel="iteration",
        ylabel="cost J on the training set (log scale)",
        title="Cost (with L2: including the penalty)",
    )
    kit.accuracy_bars(
        models,
        split,
        figure.add_subplot(1, 2, 2),
        "Accuracy: regularisation narrows the gap",
        "regularisation",
    )
    figure.suptitle(
        f"Network {LAYER_SIZES} on {split.X_train.shape[1]} noisy XOR examples (Adam, α = {LEARNING_RATE})",
        fontsize=plotting.TITLE_SIZE + 1,
    )
    run.save(figure, "costs.png")
    run.save(
        kit.train_test_boundaries(models, split, "Overfitting and two cures: L2 and dropout"),
        "boundaries.png",
    )
    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
