"""An L-layer network on two interleaved spirals: depth beats width at the same number of parameters.

Run:  python demos/deep.py [--fast] [--out DIR]      (or: microgrid demo deep)

The course's L-layer model, [LINEAR → RELU] × (L − 1) → LINEAR → SIGMOID, here with L = 4 and
20 units in each hidden layer (921 parameters), trained with Adam on two spirals that wind twice
around each other. For comparison, one hidden layer of 230 units has the same 921 parameters
but has to carve every turn of the spirals from a single layer of ReLU "folds": it learns much
more slowly. Each extra layer can fold the space again, so a few layers go a long way.

Writes costs.png (both networks), boundaries.png (training and test set) and network.svg/.png:
the deep network's graph, forward and backward, each layer collapsed into one box that lists its
ops and parameters (or their gradients).
"""

from __future__ import annotations

from functools import partial

from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

# --- settings ----------------------------------------------------------------------------------
SEED = 0
EXAMPLES = 800
NOISE = 0.03
TURNS = 2.0  # how many times each spiral winds around the centre
DEEP = [2, 20, 20, 20, 1]  # L = 4 layers: 921 parameters
WIDE = [2, 230, 1]  # one hidden layer: also 921 parameters
LEARNING_RATE = 0.01  # Adam, full batch
ITERATIONS = 2000
FAST = 0.075  # --fast trains for this fraction of the iterations


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("deep", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.spirals(m=EXAMPLES, noise=NOISE, turns=TURNS, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)

    # --- the deep network and the wide one -----------------------------------------------------
    adam = partial(mg.optim.Adam, lr=LEARNING_RATE)
    names = {"deep": f"deep {DEEP}", "wide": f"wide {WIDE}"}
    settings = {
        names["deep"]: kit.Setting(mg.nn.mlp(DEEP, hidden="relu", init="he", seed=SEED), adam),
        names["wide"]: kit.Setting(mg.nn.mlp(WIDE, hidden="relu", init="he", seed=SEED), adam),
    }
    models, costs = kit.train_each(settings, split.X_train, split.Y_train, iterations)
    results: dict[str, float] = {}
    for key, name in names.items():
        results[f"{key}_parameters"] = sum(p.size for p in models[name].parameters())
        results[f"{key}_final_cost"] = costs[name][-1]
        results.update(kit.accuracies(models[name], split, prefix=f"{key}_"))

    # --- pictures ----------------------------------------------------------------------------
    parameters = results["deep_parameters"]
    run.save(
        plotting.plot_costs(
            costs,
            xlabel="iteration",
            ylabel="cost J (log scale)",
            log_scale=True,
            title=f"Spirals: cost, {parameters} parameters each (Adam, α = {LEARNING_RATE})",
        ),
        "costs.png",
    )
    run.save(
        kit.train_test_boundaries(
            models, split, f"Two spirals: a deep network vs a wide one, {parameters} parameters each"
        ),
        "boundaries.png",
    )

    # --- the deep network's graph, one box per layer ---------------------------------------------
    kit.draw_network(run, models[names["deep"]], split.X_train, split.Y_train)
    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
