"""Logistic regression as a neural network: one sigmoid unit, its cost curve and its decision boundary.

Run:  python demos/logistic.py [--fast] [--out DIR]      (or: microgrid demo logistic)

The course's first model is a network with no hidden layer: ŷ = a = σ(wᵀx + b), trained by
gradient descent on J = −(1/m) Σ y·log a + (1 − y)·log(1 − a). Here backward() finds the
gradients, and the demo checks them against the formulas derived by hand in the lecture,
dw = (1/m) X (A − Y)ᵀ and db = (1/m) Σ (A − Y). The data are two overlapping clouds of points
that a straight line separates well (the `planar` demo shows data that no line can separate).

Writes cost.png (J over the iterations) and boundary.png (the line σ(wᵀx + b) = 0.5 on the
training and the test set).
"""

from __future__ import annotations

import numpy as np
from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

# --- settings ----------------------------------------------------------------------------------
SEED = 0
EXAMPLES = 400  # two Gaussian clouds of points, half of each class
NOISE = 1.2  # their standard deviation: they overlap, so no line is perfect
LEARNING_RATE = 0.05
ITERATIONS = 1500
FAST = 0.1  # --fast trains for this fraction of the iterations


# --- the model: w (n_x, 1), b a number, as in the course --------------------------------------
class LogisticRegression(mg.nn.Module):
    """z = wᵀx + b: the logit; σ(z) is the probability of class 1."""

    def __init__(self, n_x: int) -> None:
        super().__init__()
        # Zeros are fine here: with a single unit there is no symmetry to break.
        self.w = mg.zeros(n_x, 1, requires_grad=True, name="w")
        self.b = mg.zeros(1, 1, requires_grad=True, name="b")

    def forward(self, X: mg.Tensor) -> mg.Tensor:
        return self.w.T @ X + self.b


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("logistic", fast, out)

    # --- data --------------------------------------------------------------------------------
    X, Y = mg.data.blobs(m=EXAMPLES, noise=NOISE, seed=SEED)
    split = mg.data.train_test_split(X, Y, seed=SEED)
    X_train, Y_train, X_test, Y_test = split

    # --- backward() against the lecture's formulas, at the start (w = 0, b = 0) ---------------------
    model = LogisticRegression(n_x=X.shape[0])
    m = X_train.shape[1]
    J = mg.nn.sigmoid_cross_entropy(model(mg.tensor(X_train)), Y_train)
    J.backward()
    A = kit.probabilities(model)(X_train)
    dw_by_hand = X_train @ (A - Y_train).T / m
    db_by_hand = np.sum(A - Y_train) / m
    assert model.w.grad is not None and model.b.grad is not None
    print(f"dw from backward(): {model.w.grad.data.ravel()}, by hand: {dw_by_hand.ravel()}")
    print(f"db from backward(): {model.b.grad.item():.6f}, by hand: {db_by_hand:.6f}")
    formula_difference = max(
        np.abs(model.w.grad.data - dw_by_hand).max(), np.abs(model.b.grad.data - db_by_hand).max()
    )

    # --- training: gradient descent on the whole training set ----------------------------------------
    optimizer = mg.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    iterations = kit.scale(ITERATIONS, fast, FAST)
    costs: list[float] = []
    for _ in kit.progress(range(iterations), "gradient descent"):
        optimizer.zero_grad()  # backward() adds to .grad: clear the last iteration's gradients
        J = mg.nn.sigmoid_cross_entropy(model(X_train), Y_train)  # forward: A = σ(wᵀX + b), then the cost
        J.backward()  # backward: dJ/dw and dJ/db into w.grad and b.grad
        optimizer.step()  # w ← w − α·dw, b ← b − α·db
        costs.append(J.item())

    # --- pictures ----------------------------------------------------------------------------
    run.save(
        plotting.plot_costs(
            costs,
            xlabel="iteration",
            ylabel="cost J (cross-entropy)",
            title=f"Logistic regression: cost during gradient descent (α = {LEARNING_RATE})",
        ),
        "cost.png",
    )
    figure = kit.train_test_boundaries(
        {"logistic regression": model},
        split,
        "Logistic regression: the boundary σ(wᵀx + b) = 0.5 is a straight line",
    )
    run.save(figure, "boundary.png")

    return run.finish(
        {
            "final_cost": costs[-1],
            "train_accuracy": kit.evaluate(model, X_train, Y_train),
            "test_accuracy": kit.evaluate(model, X_test, Y_test),
            "gradient_vs_formula_difference": float(formula_difference),
        }
    )


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
