"""Gradient checking: a correct network passes, a wrong backward rule is caught, and the diagram shows where.

Run:  python demos/gradcheck.py [--fast] [--out DIR]      (or: microgrid demo gradcheck)

The course's check compares backprop's gradient g with central differences
g̃ = (J(θ + ε) − J(θ − ε)) / 2ε, one parameter entry at a time, through the relative difference
‖g − g̃‖ / (‖g‖ + ‖g̃‖): around 1e-9 is right, above 1e-3 is a bug.

Here the same [2, 4, 1] tanh network on the flower is built twice: once with microgrid's tanh, once
with a hand-written tanh primitive (a subclass of mg.Op) whose backward rule forgets a square:
g · (1 − tanh) instead of g · (1 − tanh²). Trained, the second one stalls at a coin toss: its cost
curve says that something is wrong, not where. gradcheck flags W[1] and b[1] while W[2] and b[2]
pass, and the diagram colours them red and green: the faulty rule sits in layer 1, after Z[1].

Writes costs.png (the two networks training), gradcheck_correct.svg/.png and
gradcheck_wrong.svg/.png (the graph, parameters coloured by their relative difference).
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
CHECK_EXAMPLES = 20  # central differences need two forward passes per parameter entry
LAYER_SIZES = [2, 4, 1]
LEARNING_RATE = 0.5
ITERATIONS = 1500
FAST = 0.1  # --fast trains for this fraction of the iterations
# (key in the results, name in the pictures, with the faulty tanh?)
NETWORKS = (("correct", "correct tanh", False), ("wrong", "wrong tanh backward", True))


# --- the deliberate bug: a tanh primitive with a wrong backward rule -------------------------------
class WrongTanh(mg.Op):
    """tanh a;  d/da = g · (1 − tanh a)   (WRONG on purpose: the right rule is g · (1 − tanh² a))."""

    name = "wrong_tanh"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.tanh(a)

    def backward(self, grad: mg.Tensor, out: mg.Tensor) -> mg.Tensor:
        return grad * (1 - out)


class WrongTanhLayer(mg.nn.Layer):
    """A = tanh Z through WrongTanh."""

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        return WrongTanh.apply(x)


def network(wrong: bool) -> mg.nn.Sequential:
    """LINEAR → TANH → LINEAR, with the faulty tanh when `wrong`; the same starting weights either way."""
    n_x, n_h, n_y = LAYER_SIZES
    activation = WrongTanhLayer() if wrong else mg.nn.Tanh()
    return mg.nn.Sequential(
        mg.nn.Dense(n_x, n_h, seed=SEED), activation, mg.nn.Dense(n_h, n_y, seed=SEED + 1)
    )


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("gradcheck", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.flower(m=EXAMPLES, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)
    X_check = mg.tensor(split.X_train[:, :CHECK_EXAMPLES], name="X")
    Y_check = split.Y_train[:, :CHECK_EXAMPLES]

    # --- gradient check of each network, then its diagram coloured by the check -----------------------
    models = {name: network(wrong) for _, name, wrong in NETWORKS}
    results: dict[str, float] = {}
    for key, name, _ in NETWORKS:
        model = models[name]

        def cost(*parameters: mg.Tensor, model: mg.nn.Sequential = model) -> mg.Tensor:
            # gradcheck nudges the parameters in place; the cost reads them through the model.
            return mg.nn.sigmoid_cross_entropy(model(X_check), Y_check)

        report = mg.gradcheck(cost, list(model.parameters()))
        print(f"\n{name}: {report}")
        picture = mg.draw(cost(), gradcheck=report, rankdir="TB")
        for suffix in ("svg", "png"):
            picture.render(run.path(f"gradcheck_{key}.{suffix}"))
        results[f"{key}_passed"] = float(bool(report))
        for check in report.checks:
            results[f"{key}_difference_{check.name}"] = check.difference

    # --- training: the cost curve shows that something is wrong, not where ------------------------------
    gradient_descent = partial(mg.optim.SGD, lr=LEARNING_RATE)
    settings = {name: kit.Setting(model, gradient_descent) for name, model in models.items()}
    _, costs = kit.train_each(settings, split.X_train, split.Y_train, iterations)
    for key, name, _ in NETWORKS:
        results[f"{key}_final_cost"] = costs[name][-1]
        results.update(kit.accuracies(models[name], split, prefix=f"{key}_"))

    run.save(
        plotting.plot_costs(
            costs,
            xlabel="iteration",
            ylabel="cost J (training set)",
            title="A wrong backward rule stalls training",
        ),
        "costs.png",
    )
    return run.finish(results)


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
