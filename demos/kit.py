"""What every demo shares: its command line, output folder, progress bar, training loop and summary.

A demo is a flat script in demos/ (shipped as the package `microgrid.demos`) whose
`main(fast=False, out=None)` returns its key numbers as a dict. It runs either way:

    python demos/planar.py --fast --out /tmp/planar
    microgrid demo planar --fast --out /tmp/planar
    microgrid demo --list

The flagship demos (logistic, planar) write their training loop out, so that a learner sees it;
the others compare several settings and train each with `train_each`.

matplotlib, tqdm and threadpoolctl come with the optional demos extra (`microgrid-autograd[demos]`); they are
imported only when a demo runs, so `import microgrid` and `microgrid demo --list` never need them.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import microgrid as mg
from microgrid import plotting
from microgrid.cli.demo import add_options

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Results = dict[str, float]


# --- command line --------------------------------------------------------------------------


def parse_args(doc: str | None, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The keyword arguments of a demo's main() from the command line; `doc` is the demo's help."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser)
    arguments = parser.parse_args(argv)
    return {"fast": arguments.fast, "out": arguments.out}


# --- one run of a demo -----------------------------------------------------------------------


class Run:
    """One run of the demo `name`: its output folder, the files written there, the clock."""

    def __init__(self, name: str, fast: bool = False, out: str | os.PathLike[str] | None = None) -> None:
        self.name = name
        self.out = Path("out", name) if out is None else Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self.started = time.perf_counter()
        print(f"{name}{' (--fast)' if fast else ''}: writing to {self.out}/", flush=True)

    def path(self, filename: str) -> Path:
        """Where to write `filename` in the output folder; the summary will list it."""
        path = self.out / filename
        self.files.append(path)
        return path

    def save(self, figure: Figure | Axes, filename: str) -> Path:
        """Write a matplotlib figure (or the figure holding an Axes) as a PNG in the output folder."""
        return plotting.save_figure(figure, self.path(filename))

    def finish(self, results: Mapping[str, float]) -> Results:
        """Print the key numbers and the files written; return the numbers for the caller."""
        seconds = time.perf_counter() - self.started
        width = max(len(key) for key in results)
        print(f"\n{self.name}: done in {seconds:.1f} s")
        for key, value in results.items():
            print(f"  {key.replace('_', ' '):<{width}}  {_format(key, value)}")
        print(f"pictures in {self.out.resolve()}/:")
        for path in self.files:
            print(f"  {path.name}")
        return dict(results)


def _format(key: str, value: float) -> str:
    """Accuracies as percentages, other numbers with 4 significant digits."""
    if "accuracy" in key and math.isfinite(value):
        return f"{value:.1%}"
    return f"{value:.4g}"


def progress(items: Iterable[Any], description: str, total: int | None = None) -> Any:
    """`items` with a tqdm progress bar on stderr (iterate over it; `set_postfix` adds numbers)."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(items, desc=description, total=total, dynamic_ncols=True)


def scale(count: int, fast: bool, fraction: float) -> int:
    """`count` (iterations, epochs, an interval) for this run: under --fast a `fraction` of it, at least 1.

    A demo scales every count of its training by the same fraction, so that a --fast run is the
    full run shortened, not a different experiment (a decay that steps every 40 epochs of 400
    steps every 4 of 40).
    """
    return max(1, round(count * fraction)) if fast else count


# --- training and evaluation -----------------------------------------------------------------


def train(
    model: mg.nn.Module,
    X: np.ndarray,
    Y: np.ndarray,
    optimizer: mg.optim.Optimizer,
    epochs: int,
    *,
    batch_size: int | None = None,
    schedule: mg.optim.LRScheduler | None = None,
    lambd: float = 0.0,
    seed: int = 0,
    after_backward: Callable[[], None] | None = None,
    description: str = "training",
    loss: Callable[[mg.Tensor, mg.Tensor], mg.Tensor] = mg.nn.sigmoid_cross_entropy,
) -> list[float]:
    """Minimise J = loss(model(X), Y) (+ λ/(2m)·Σ‖W[l]‖²); return J of every epoch. The loss is
    the cross-entropy of σ(model(X)) unless another is given (the softmax's for ten classes).

    Without batch_size an epoch is one full-batch step; with it, one pass over shuffled
    mini-batches, and J is their average weighted by size. `schedule.step()` runs once per epoch,
    `after_backward()` after every backward (the gradients are there to look at). The model is
    left in eval mode (dropout off) for predicting.

    The step runs through `mg.replay`: recorded once per batch shape, then replayed as flat numpy
    calls (the same numbers, faster). Not with `after_backward`, which reads the gradients in
    Python at every step, something a replay cannot follow.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    def step(X_batch: mg.Tensor, Y_batch: mg.Tensor) -> mg.Tensor:
        J = loss(model(X_batch), Y_batch)
        if lambd:
            J = J + mg.nn.l2_penalty(model, lambd, X_batch.shape[1])
        optimizer.zero_grad()
        J.backward()
        if after_backward is not None:
            after_backward()
        optimizer.step()
        return J

    run = step if after_backward is not None else mg.replay(step)
    rng = np.random.default_rng(seed)
    full_batch = [(mg.Tensor(X, name="X"), mg.Tensor(Y, name="Y"))]
    m = X.shape[1]
    costs: list[float] = []
    report_every = max(1, epochs // 100)
    # Say how the steps run: the progress bar names mg.replay when the step is replayed.
    bar = progress(range(epochs), description if run is step else f"{description} (mg.replay)")
    # The matrices are small: BLAS threads would only fight over the cores (2× slower on a busy machine).
    with threadpool_limits(limits=1, user_api="blas"):
        model.train()
        for epoch in bar:
            batches = full_batch if batch_size is None else mg.data.minibatches(X, Y, batch_size, seed=rng)
            total = 0.0
            for X_batch, Y_batch in batches:
                total += run(X_batch, Y_batch).item() * X_batch.shape[1]
            costs.append(total / m)
            if schedule is not None:
                schedule.step()
            if epoch % report_every == 0:
                bar.set_postfix(cost=f"{costs[-1]:.4f}", refresh=False)
    model.eval()
    return costs


@dataclass(frozen=True)
class Setting:
    """One contender of a comparison: a model and how to train it (`lambd`, `after_backward`: see `train`).

    `optimizer` makes the optimiser from the model's parameters, e.g. partial(mg.optim.SGD, lr=0.1);
    `schedule`, when given, makes a learning-rate schedule for that optimiser.
    """

    model: mg.nn.Module
    optimizer: Callable[[Iterable[mg.Tensor]], mg.optim.Optimizer]
    schedule: Callable[[mg.optim.Optimizer], mg.optim.LRScheduler] | None = None
    lambd: float = 0.0
    after_backward: Callable[[], None] | None = None


def train_each(
    settings: Mapping[str, Setting],
    X: np.ndarray,
    Y: np.ndarray,
    epochs: int,
    *,
    batch_size: int | None = None,
    seed: int = 0,
) -> tuple[dict[str, mg.nn.Module], dict[str, list[float]]]:
    """`train` each named setting's model on (X, Y), the name on its progress bar.

    Returns the trained models and the cost of every epoch, both by name, in the settings' order.
    """
    models: dict[str, mg.nn.Module] = {}
    costs: dict[str, list[float]] = {}
    for name, setting in settings.items():
        optimizer = setting.optimizer(setting.model.parameters())
        costs[name] = train(
            setting.model,
            X,
            Y,
            optimizer,
            epochs,
            batch_size=batch_size,
            schedule=None if setting.schedule is None else setting.schedule(optimizer),
            lambd=setting.lambd,
            seed=seed,
            after_backward=setting.after_backward,
            description=name,
        )
        models[name] = setting.model
    return models, costs


def draw_network(
    run: Run,
    model: mg.nn.Module,
    X: np.ndarray,
    Y: np.ndarray,
    loss: Callable[[mg.Tensor, mg.Tensor], mg.Tensor] = mg.nn.sigmoid_cross_entropy,
) -> None:
    """The model's forward and backward graph on (X, Y), one box per layer, as network.svg/.png."""
    J = loss(model(mg.tensor(X, name="X")), Y)  # the library's losses scope themselves as "cost"
    picture = mg.draw(J, show="both", collapse=True, rankdir="TB")
    for suffix in ("svg", "png"):
        picture.render(run.path(f"network.{suffix}"))


def probabilities(model: mg.nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """points (2, k) ↦ σ(model(points)) (1, k), the probability of class 1, without a graph."""

    def class_one(points: np.ndarray) -> np.ndarray:
        with mg.no_grad():
            return mg.sigmoid(model(mg.Tensor(points))).data

    return class_one


def evaluate(model: mg.nn.Module, X: np.ndarray, Y: np.ndarray) -> float:
    """The model's accuracy on (X, Y): class 1 where the logit z > 0, i.e. σ(z) > 0.5."""
    with mg.no_grad():
        return mg.nn.accuracy(mg.nn.predict(model(mg.Tensor(X)), from_logits=True), Y)


def accuracies(model: mg.nn.Module, split: mg.data.Split, prefix: str = "") -> Results:
    """`{prefix}train_accuracy` and `{prefix}test_accuracy` of the model, for a demo's results."""
    return {
        f"{prefix}train_accuracy": evaluate(model, split.X_train, split.Y_train),
        f"{prefix}test_accuracy": evaluate(model, split.X_test, split.Y_test),
    }


def boundaries(
    models: Mapping[str, mg.nn.Module],
    X: np.ndarray,
    Y: np.ndarray,
    title: str,
    columns: int | None = None,
    notes: Mapping[str, str] | None = None,
) -> Figure:
    """One decision-boundary panel per named model on (X, Y), its accuracy in the panel's title."""
    return plotting.grid_of_boundaries(
        {name: probabilities(model) for name, model in models.items()},
        X,
        Y,
        columns=columns,
        title=title,
        notes=notes,
    )


def accuracy_bars(
    models: Mapping[str, mg.nn.Module], split: mg.data.Split, ax: Axes, title: str, xlabel: str
) -> Axes:
    """Bars of each named model's accuracy on the training and the test set, from 0 % with chance marked."""
    scores = {
        name: {
            "training set": evaluate(model, split.X_train, split.Y_train),
            "test set": evaluate(model, split.X_test, split.Y_test),
        }
        for name, model in models.items()
    }
    return plotting.plot_accuracies(scores, ax=ax, title=title, xlabel=xlabel)


def train_test_boundaries(models: Mapping[str, mg.nn.Module], split: mg.data.Split, title: str) -> Figure:
    """Each named model's decision boundary on the training set and on the test set, in one frame.

    One or two models: a single row (train, test, train, test); more: a row of training sets
    above a row of test sets. Either way the figure is wider than tall, for a slide.
    """
    sets = (("training set", split.X_train, split.Y_train), ("test set", split.X_test, split.Y_test))
    if len(models) <= 2:
        order = [(name, model, where) for name, model in models.items() for where in sets]
        columns = 2 * len(models)
    else:
        order = [(name, model, where) for where in sets for name, model in models.items()]
        columns = len(models)
    panels = [(f"{name}\n{where}", probabilities(model), X, Y) for name, model, (where, X, Y) in order]
    return plotting.boundary_panels(panels, columns=columns, title=title)
