"""Optimisers: mini-batch gradient descent vs momentum vs Adam on the moons, with and without decay.

Run:  python demos/optimizers.py [--fast] [--out DIR]      (or: microgrid demo optimizers)

The same 3-layer ReLU network [2, 5, 2, 1] is trained six times on mini-batches of 64 examples,
from the same starting weights:

  GD (gradient descent)  W ← W − α·dW
  momentum               v ← β·v + dW,  W ← W − α·v   (β = 0.9: the gradients add up along the
                         directions they agree on, so the steps grow there; the course's form
                         v ← β·v + (1 − β)·dW makes the same steps with a 1/(1 − β) = 10× larger α)
  Adam                   momentum and RMSprop together: each weight's step is divided by the size
                         of its recent gradients, so even weights with tiny gradients move at ~α

First all three with the same constant α = 0.05, as in the course: GD crawls, momentum reaches
GD's final cost in a fraction of the epochs, and Adam gets furthest. Then all three with the
course's decay α = α0 / (1 + ⌊epoch / 100⌋) from a 10× larger start, α0 = 0.5: large steps
while far away, small ones near the end, where mini-batches make the cost noisy. With decay,
plain GD catches up.

Writes costs.png (the cost of every run, with and without decay) and boundaries.png (one decision
boundary per run, test set).
"""

from __future__ import annotations

from functools import partial

from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

# --- settings ----------------------------------------------------------------------------------
SEED = 3
EXAMPLES = 400
NOISE = 0.2
LAYER_SIZES = [2, 5, 2, 1]
BATCH_SIZE = 64
LEARNING_RATE = 0.05  # α of the runs without decay
DECAY_START = 10  # the runs with decay start from α0 = 10·α
EPOCHS = 400
DECAY_INTERVAL = 100  # epochs between two steps of the decay: α ends at α0 / 4
FAST = 0.1  # --fast: this fraction of the epochs, and of the decay interval with them

# (key in the results, name in the pictures, the optimiser's class and its options but α)
OPTIMIZERS = (
    ("gd", "GD", mg.optim.SGD),
    ("momentum", "momentum", partial(mg.optim.SGD, momentum=0.9)),
    ("adam", "Adam", mg.optim.Adam),
)


def label(name: str, decay: bool) -> str:
    """The name of a run in the pictures: "Adam", or "Adam + decay"."""
    return f"{name} + decay" if decay else name


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("optimizers", fast, out)
    epochs = kit.scale(EPOCHS, fast, FAST)
    decay_interval = kit.scale(DECAY_INTERVAL, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.moons(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)

    # --- six runs: three optimisers, with and without decay ---------------------------------------------
    decay_schedule = partial(mg.optim.InverseTimeDecay, time_interval=decay_interval)
    settings = {
        label(name, decay): kit.Setting(
            mg.nn.mlp(LAYER_SIZES, hidden="relu", init="he", seed=SEED),  # the same weights every time
            partial(optimizer, lr=LEARNING_RATE * DECAY_START if decay else LEARNING_RATE),
            schedule=decay_schedule if decay else None,
        )
        for decay in (False, True)
        for _, name, optimizer in OPTIMIZERS
    }
    models, costs = kit.train_each(
        settings, split.X_train, split.Y_train, epochs, batch_size=BATCH_SIZE, seed=SEED
    )
    results: dict[str, float] = {}
    for decay in (False, True):
        for key, name, _ in OPTIMIZERS:
            prefix = f"{key}_decay_" if decay else f"{key}_"
            results[f"{prefix}final_cost"] = costs[label(name, decay)][-1]
            results.update(kit.accuracies(models[label(name, decay)], split, prefix=prefix))
    # How soon momentum gets as low as GD's cost after the whole run (epochs, counted from 1).
    below = [epoch for epoch, cost in enumerate(costs["momentum"], start=1) if cost <= costs["GD"][-1]]
    results["epochs"] = epochs
    results["momentum_epochs_to_gd_final_cost"] = below[0] if below else float("inf")

    # --- pictures ----------------------------------------------------------------------------
    figure = plotting.new_figure(13, 4.8)
    first = figure.add_subplot(1, 2, 1)
    for column, decay in enumerate((False, True), start=1):
        ax = first if column == 1 else figure.add_subplot(1, 2, column, sharey=first)
        rate = f"α = {LEARNING_RATE}"
        if decay:
            rate = f"α = α0 / (1 + ⌊epoch / {decay_interval}⌋), α0 = {LEARNING_RATE * DECAY_START:g}"
        plotting.plot_costs(
            {name: costs[label(name, decay)] for _, name, _ in OPTIMIZERS},
            ax=ax,
            log_scale=True,
            xlabel="epoch",
            ylabel="cost J (log scale)",
            title=f"{'with' if decay else 'without'} decay: {rate}",
        )
    figure.suptitle(
        f"Mini-batches of {BATCH_SIZE} on the moons, network {LAYER_SIZES}; "
        "GD: gradient descent; momentum: β = 0.9",
        fontsize=plotting.TITLE_SIZE + 1,
    )
    run.save(figure, "costs.png")
    run.save(
        kit.boundaries(
            models, split.X_test, split.Y_test, "Decision boundary after training (points: the test set)"
        ),
        "boundaries.png",
    )

    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
