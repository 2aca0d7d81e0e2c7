"""Handwritten digits: the course's L-layer network on real images, then softmax for all ten digits.

Run:  python demos/digits.py [--fast] [--out DIR]      (or: microgrid demo digits)

The 8×8 digits of UCI (1797 images, shipped with microgrid: mg.data.load_digits) come in the
course's layout: each image is a column of its 64 pixels in [0, 1], so X is (64, m) and the
networks of the 2-D demos apply unchanged. First the course's L-layer model,
[LINEAR → RELU] × 3 → LINEAR → SIGMOID with sizes [64, 20, 7, 5, 1], answers "is it an 8?": one
digit against the nine others, like the course's cat against non-cat. Only one image in ten is
an 8, so answering "no" every time already scores 90 %: an accuracy means something only next
to that baseline, and the cost of the best constant answer is the plateau to get under.
Then [64, 25, 12, 10] ends in ten outputs and a softmax: one network for all ten digits, trained
by the same loop with softmax_cross_entropy in place of the sigmoid's. Both networks learn by
plain gradient descent on the whole training set.

Writes costs.png (both networks, with the cost of each one's best constant answer), mistakes.png
(the test images each network got wrong: the true digit, the answer and its probability) and
network.svg/.png (the ten-digit network's graph, forward and backward, one box per layer).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from microgrid.demos import kit

import microgrid as mg
from microgrid import plotting

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# --- settings ----------------------------------------------------------------------------------
SEED = 0
POSITIVE = 8  # "is it an 8?": of the ten one-against-the-rest tasks the hardest (measured)
BINARY = [64, 20, 7, 5, 1]  # the course's L-layer sizes, with 64 pixels for its 12288
SOFTMAX = [64, 25, 12, 10]  # the hidden sizes of the course's softmax network, ten classes
LEARNING_RATE = 0.5  # plain gradient descent on the full training set, both networks
ITERATIONS = 3000
FAST = 0.1  # --fast trains for this fraction of the iterations
SHOWN = 20  # mistakes.png shows at most this many of each network's mistakes, the most confident first
COLUMNS = 10


def class_probabilities(model: mg.nn.Module, X: np.ndarray) -> np.ndarray:
    """P (C, m), each column the model's probability of each class: [1 − σ(z); σ(z)] for one output."""
    with mg.no_grad():
        Z = model(mg.tensor(X))
        if Z.shape[0] == 1:
            p = mg.sigmoid(Z).data
            return np.concatenate([1 - p, p])
        return mg.softmax(Z, axis=0).data


def best_constant_cost(Y: np.ndarray, classes: int) -> float:
    """The cost of answering every example with the classes' shares q: −Σ q·log q, the entropy."""
    shares = np.bincount(Y.reshape(-1).astype(np.int64), minlength=classes) / Y.size
    return float(-sum(q * math.log(q) for q in shares if q > 0))


class Mistakes(NamedTuple):
    """The test images a network got wrong, as columns of X_test, most confident first, and every
    column's answer and the probability the network gave it."""

    columns: np.ndarray
    answer: np.ndarray
    confidence: np.ndarray


def find_mistakes(model: mg.nn.Module, split: mg.data.Split) -> Mistakes:
    """Where the most probable class of `model` differs from Y_test."""
    P = class_probabilities(model, split.X_test)
    answer, confidence = P.argmax(axis=0), P.max(axis=0)
    wrong = np.flatnonzero(answer != split.Y_test[0])
    return Mistakes(wrong[np.argsort(-confidence[wrong], kind="stable")], answer, confidence)


def percent(probability: float) -> str:
    """A probability as a whole percentage, never a rounded-up "100%" for an answer that was wrong."""
    return "> 99%" if probability > 0.99 else f"{probability:.0%}"


def mistakes_figure(panels: dict[str, tuple[np.ndarray, Mistakes, list[str]]], digit: np.ndarray) -> Figure:
    """One panel per network (title: (X_test, its mistakes, the name of each answer)): a grid of the
    images it got wrong, each titled with its true digit, the answer and the answer's probability."""
    shown = {title: mistakes.columns[:SHOWN] for title, (_, mistakes, _) in panels.items()}
    rows = {title: max(1, math.ceil(len(columns) / COLUMNS)) for title, columns in shown.items()}
    # Inches: an image 1.25 wide and high, its two-line title, and each panel's own title.
    figure = plotting.new_figure(COLUMNS * 1.25, sum(1.75 * n + 0.5 for n in rows.values()) + 0.4)
    figure.suptitle(
        "Test images the networks got wrong, the most confident mistakes first: "
        "the true digit, then the network's answer and its probability",
        fontsize=plotting.LABEL_SIZE,
    )
    parts = figure.subfigures(len(panels), 1, height_ratios=[1.75 * n + 0.5 for n in rows.values()])
    for part, (title, (X, mistakes, answers)) in zip(parts, panels.items()):
        wrong, columns = len(mistakes.columns), shown[title]
        more = f", the {len(columns)} most confident shown" if len(columns) < wrong else ""
        part.suptitle(
            f"{title}: wrong on {wrong} of {X.shape[1]} test images{more}", fontsize=plotting.TITLE_SIZE
        )
        for place, column in enumerate(columns):
            ax = part.add_subplot(rows[title], COLUMNS, place + 1)
            image = X[:, column].reshape(8, 8)  # the 64 pixels, row by row
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            truth = f"an {digit[column]}" if digit[column] == 8 else f"a {digit[column]}"  # an 8, a 3
            said = f"said {answers[mistakes.answer[column]]}, {percent(mistakes.confidence[column])}"
            ax.set_title(f"{truth}\n{said}", fontsize=plotting.LABEL_SIZE)
        if not wrong:
            part.text(0.5, 0.4, "no mistake", ha="center", va="center", fontsize=plotting.TITLE_SIZE)
    return figure


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("digits", fast, out)
    iterations = kit.scale(ITERATIONS, fast, FAST)

    # --- data: 64 pixels per column --------------------------------------------------------------
    digits = mg.data.load_digits(seed=SEED)  # Y: the digit, 0..9
    # The same seed gives the same images in the same order: digits.Y_test names each one's digit.
    eights = mg.data.load_digits(positive=POSITIVE, seed=SEED)  # Y: 1.0 for an 8, 0.0 for the rest

    # --- the L-layer network: is it an 8? -----------------------------------------------------------
    binary = mg.nn.mlp(BINARY, hidden="relu", init="he", seed=SEED)
    gradient_descent = mg.optim.SGD(binary.parameters(), lr=LEARNING_RATE)
    question = f"is it an {POSITIVE}?"
    binary_costs = kit.train(
        binary, eights.X_train, eights.Y_train, gradient_descent, iterations, description=question
    )

    # --- ten digits: the same loop with ten outputs and the softmax cross-entropy ---------------------
    ten = mg.nn.mlp(SOFTMAX, hidden="relu", init="he", seed=SEED)
    optimizer = mg.optim.SGD(ten.parameters(), lr=LEARNING_RATE)
    # Y holds class indices; the loss one-hots them.
    ten_costs = kit.train(
        ten,
        digits.X_train,
        digits.Y_train,
        optimizer,
        iterations,
        description="ten digits",
        loss=mg.nn.softmax_cross_entropy,
    )

    # --- pictures ------------------------------------------------------------------------------------
    figure = plotting.new_figure(10.0, 4.8)
    ax = plotting.plot_costs(
        {f"{question} {BINARY}": binary_costs, f"ten digits {SOFTMAX}": ten_costs},
        ax=figure.add_subplot(),
        xlabel="iteration",
        ylabel="cost J (cross-entropy, log scale)",
        log_scale=True,
        title=f"Digits: cost while training (gradient descent, α = {LEARNING_RATE})",
    )
    # In the same order and colours as the curves: the plateau each network has to get under.
    constants = (best_constant_cost(eights.Y_train, 2), best_constant_cost(digits.Y_train, 10))
    for index, cost in enumerate(constants):
        ax.axhline(cost, color=plotting.PALETTE[index], linestyle=":", linewidth=1.5)
        ax.annotate(
            f"the same answer for every image: J = {cost:.2f}",
            (1, cost),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            color=plotting.PALETTE[index],
            fontsize=plotting.TICK_SIZE,
        )
    run.save(figure, "costs.png")

    mistakes = {"binary": find_mistakes(binary, eights), "softmax": find_mistakes(ten, digits)}
    panels = {
        f"“{question}”": (eights.X_test, mistakes["binary"], ["no", "yes"]),
        "Ten digits": (digits.X_test, mistakes["softmax"], [str(d) for d in range(10)]),
    }
    figure = mistakes_figure(panels, digits.Y_test[0])
    run.save(figure, "mistakes.png")

    # --- the ten-digit network's graph, one box per layer ------------------------------------------
    kit.draw_network(run, ten, digits.X_train, digits.Y_train, mg.nn.softmax_cross_entropy)

    # --- summary ----------------------------------------------------------------------------------
    return run.finish(
        {
            f"always_no_{POSITIVE}_test_accuracy": 1 - float(eights.Y_test.mean()),
            "binary_final_cost": binary_costs[-1],
            **kit.accuracies(binary, eights, prefix="binary_"),
            "binary_test_mistakes": len(mistakes["binary"].columns),
            "softmax_final_cost": ten_costs[-1],
            **kit.accuracies(ten, digits, prefix="softmax_"),
            "softmax_test_mistakes": len(mistakes["softmax"].columns),
        }
    )


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
