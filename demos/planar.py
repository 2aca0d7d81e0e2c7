"""One hidden layer (tanh) on the flower: it beats logistic regression, and more units bend the boundary.

Run:  python demos/planar.py [--fast] [--out DIR]      (or: microgrid demo planar, or: make demo)

The flower's petals alternate between the two classes, so no straight line separates them:
logistic regression stays near a coin toss. A network with one hidden layer,
Z[1] = W[1] X + b[1], A[1] = tanh Z[1], Z[2] = W[2] A[1] + b[2], ŷ = σ(Z[2]),
learns a curved boundary. Trained the same way with 1, 2, 3, 4, 5, 20 and 50 hidden units, the
networks show how capacity grows: one unit is still almost a line, a few units find the petals,
many units start to fit the noise of the training set.

Writes boundaries.png (logistic regression vs 4 tanh units, training and test set), costs.png
(the cost of every network while training) and hidden_sizes.png (one boundary per hidden size).
"""

from __future__ import annotations

from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

# --- settings ----------------------------------------------------------------------------------
SEED = 1
EXAMPLES = 400
NOISE = 0.2
HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)
FLAGSHIP = 4  # the hidden size compared with logistic regression, as in the course
LEARNING_RATE = 0.5  # plain gradient descent on the full training set
ITERATIONS = 4000
FAST = 0.05  # --fast trains for this fraction of the iterations


def units(n_h: int) -> str:
    """The name of the network with n_h hidden units."""
    return f"{n_h} hidden unit{'s' if n_h > 1 else ''}"


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("planar", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.flower(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)

    # --- logistic regression (no hidden layer), then one hidden layer of n_h tanh units ---------------
    # Each trained by gradient descent on the whole training set: the course's loop, written out.
    layer_sizes = {"logistic regression": [2, 1], **{units(n_h): [2, n_h, 1] for n_h in HIDDEN_SIZES}}
    models: dict[str, mg.nn.Sequential] = {}
    costs: dict[str, list[float]] = {}
    for name, sizes in layer_sizes.items():
        model = mg.nn.mlp(sizes, hidden="tanh", init="xavier", seed=SEED)
        optimizer = mg.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        costs[name] = []
        for _ in kit.progress(range(iterations), name):
            optimizer.zero_grad()  # backward() adds to .grad: clear the last iteration's gradients
            J = mg.nn.sigmoid_cross_entropy(model(split.X_train), split.Y_train)  # forward, then the cost
            J.backward()  # backward: dJ/dW[l] and dJ/db[l] of every layer, into .grad
            optimizer.step()  # W[l] ← W[l] − α·dW[l], b[l] ← b[l] − α·db[l]
            costs[name].append(J.item())
        models[name] = model

    # --- pictures ----------------------------------------------------------------------------
    flagship = units(FLAGSHIP)
    run.save(
        kit.train_test_boundaries(
            {"logistic regression": models["logistic regression"], f"{flagship} (tanh)": models[flagship]},
            split,
            "Flower: a straight line fails, one hidden layer of tanh units finds the petals",
        ),
        "boundaries.png",
    )
    run.save(
        plotting.plot_costs(
            costs,
            xlabel="iteration",
            ylabel="cost J (cross-entropy, training set)",
            log_scale=True,
            title=f"Cost while training on the flower (gradient descent, α = {LEARNING_RATE})",
        ),
        "costs.png",
    )
    run.save(
        kit.boundaries(
            models,
            split.X_train,
            split.Y_train,
            "Decision boundary by hidden layer size (points: the training set)",
        ),
        "hidden_sizes.png",
    )

    # --- summary -----------------------------------------------------------------------------
    results = {
        "logistic_final_cost": costs["logistic regression"][-1],
        **kit.accuracies(models["logistic regression"], split, prefix="logistic_"),
        "final_cost": costs[flagship][-1],
        **kit.accuracies(models[flagship], split),
    }
    for n_h in HIDDEN_SIZES:
        model = models[units(n_h)]
        results[f"hidden_{n_h}_test_accuracy"] = kit.evaluate(model, split.X_test, split.Y_test)
    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
