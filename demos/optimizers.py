"""Optimisers: mini-batch gradient descent vs momentum vs Adam on the moons, with and without decay.

Run:  python demos/optimizers.py [--fast] [--out DIR]      (or: microgrid demo optimizers)

The same 3-layer ReLU network [2, 5, 2, 1] is trained six times on mini-batches of 64 examples,
from the same starting weights and with the same learning rate α:

  GD (gradient descent)  W ← W − α·dW
  momentum               v ← β·v + (1 − β)·dW,  W ← W − α·v   (an average of recent gradients)
  Adam                   momentum and RMSprop together: each weight's step is divided by the size
                         of its recent gradients, so even weights with tiny gradients move at ~α

each once with a constant α and once with the course's decay α = α0 / (1 + ⌊epoch / 40⌋).
Mini-batches make the cost noisy; Adam's steps stay large, and decay is what calms them
near the end. Decay also shrinks the slow optimisers' steps before they have arrived.

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
LEARNING_RATE = 0.05
DECAY_INTERVAL = 40  # epochs between two steps of the decay
EPOCHS = 400
FAST_EPOCHS = 30

# (key in the results, name in the pictures, how to make it from the parameters)
OPTIMIZERS = (
    ("gd", "GD", partial(mg.optim.SGD, lr=LEARNING_RATE)),
    ("momentum", "momentum", partial(mg.optim.Momentum, lr=LEARNING_RATE, beta=0.9)),
    ("adam", "Adam", partial(mg.optim.Adam, lr=LEARNING_RATE)),
)
INVERSE_TIME_DECAY = partial(mg.optim.InverseTimeDecay, time_interval=DECAY_INTERVAL)


def label(name: str, decay: bool) -> str:
    """The name of a run in the pictures: "Adam", or "Adam + decay"."""
    return f"{name} + decay" if decay else name


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("optimizers", fast, out)
    epochs = FAST_EPOCHS if fast else EPOCHS

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.moons(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)

    # --- six runs: three optimisers, with and without decay ---------------------------------------------
    settings = {
        label(name, decay): kit.Setting(
            mg.nn.mlp(LAYER_SIZES, hidden="relu", init="he", seed=SEED),  # the same weights every time
            optimizer,
            schedule=INVERSE_TIME_DECAY if decay else None,
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

    # --- pictures ----------------------------------------------------------------------------
    figure = plotting.new_figure(13, 4.8)
    first = figure.add_subplot(1, 2, 1)
    for column, decay in enumerate((False, True), start=1):
        ax = first if column == 1 else figure.add_subplot(1, 2, column, sharey=first)
        rate = f"α = {LEARNING_RATE}"
        if decay:
            rate = f"α = α0 / (1 + ⌊epoch / {DECAY_INTERVAL}⌋), α0 = {LEARNING_RATE}"
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
        "GD: gradient descent, momentum: β = 0.9",
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
