"""Figures the demos and docs share: datasets, decision boundaries, cost curves, gradient norms.

matplotlib is an optional extra (`pip install microgrid[demos]`), imported only when a function
here runs. New figures are `matplotlib.figure.Figure` objects on their own Agg canvas, never made
through pyplot, so nothing here touches pyplot's global state or the backend a user chose.

Each single-panel helper draws into `ax` when given one (a subplot of your own figure) or into a
new figure, and returns the Axes it drew on; `save_figure` takes that Axes or a Figure.

>>> from microgrid.data import datasets
>>> X, Y = datasets.moons(seed=0)
>>> save_figure(plot_dataset(X, Y, title="moons"), "out/moons.png")
PosixPath('out/moons.png')
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from microgrid import checks

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Maps points (2, k) to predictions (1, k): class-1 probabilities or labels; a Tensor will do.
PredictFn = Callable[[np.ndarray], Any]

# Okabe & Ito's palette: told apart with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# Markers and line styles vary too, so series differ even in grey.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINE_STYLES = ("-", "--", "-.", ":")
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 13, 11, 10
FIGURE_SIZE = (7.2, 4.8)
DPI = 110


# --- figures and style -----------------------------------------------------------------------


def new_figure(width: float = FIGURE_SIZE[0], height: float = FIGURE_SIZE[1]) -> Figure:
    """A Figure (inches) on its own Agg canvas; pyplot and the user's backend stay untouched."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "microgrid.plotting needs matplotlib, an optional extra: pip install microgrid[demos]"
        ) from error
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _axes(ax: Axes | None) -> Axes:
    """`ax`, or the Axes of a new single-panel figure."""
    return new_figure().add_subplot() if ax is None else ax


def _style(ax: Axes, title: str, xlabel: str, ylabel: str, legend: bool) -> None:
    """Title, axis labels, readable font sizes and (when asked) a legend beside the axes."""
    ax.set_title(title, fontsize=TITLE_SIZE)
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    if legend:
        # Outside, so that it never hides points or curves.
        ax.legend(fontsize=TICK_SIZE, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)


def save_figure(figure: Figure | Axes, path: str | os.PathLike[str]) -> Path:
    """Write `figure` (or the figure holding an Axes) as a PNG at `path`, making its folder."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_figure writes PNG files: the path must end in .png, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # The canvas belongs to the outermost figure, also for an Axes inside a subfigure.
    figure.figure.canvas.figure.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


# --- datasets and decision boundaries --------------------------------------------------------


def _class_labels(X: np.ndarray, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """X as a (2, m) float array and Y as m integer class labels, checked against each other."""
    X, labels = np.asarray(X, dtype=float), np.asarray(Y)
    if X.ndim != 2 or X.shape[0] != 2 or X.shape[1] == 0 or labels.size != X.shape[1]:
        raise ValueError(
            f"plotting needs X of shape (2, m) and Y of shape (1, m) in the course layout, m ≥ 1, "
            f"got X {X.shape} and Y {labels.shape}"
        )
    labels = labels.reshape(-1)
    if np.any(labels < 0) or np.any(labels != np.round(labels)):
        raise ValueError(f"Y must hold class labels 0, 1, 2, …, got values {np.unique(labels)[:6]}")
    return X, labels.astype(int)


def _scatter_classes(ax: Axes, X: np.ndarray, labels: np.ndarray) -> None:
    """The points, one colour and marker per class, labelled for the legend."""
    for label in np.unique(labels):
        at = labels == label
        ax.scatter(
            X[0, at],
            X[1, at],
            s=22,
            c=PALETTE[label % len(PALETTE)],
            marker=MARKERS[label % len(MARKERS)],
            edgecolors="white",
            linewidths=0.5,
            label=f"class {label}",
        )


def plot_dataset(X: np.ndarray, Y: Any, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Scatter plot of the examples (columns of X) coloured by their class in Y."""
    X, labels = _class_labels(X, Y)
    ax = _axes(ax)
    _scatter_classes(ax, X, labels)
    ax.set_aspect("equal")
    _style(ax, title or f"{X.shape[1]} examples", "x₁", "x₂", legend=True)
    return ax


def _predict(predict_fn: PredictFn, points: np.ndarray) -> np.ndarray:
    """predict_fn's answer for the columns of `points`, checked to be one value per column."""
    answer = np.asarray(predict_fn(points), dtype=float)
    if answer.size != points.shape[1]:
        raise ValueError(
            f"predict_fn must map a (2, k) array to predictions of shape (1, k); for k = "
            f"{points.shape[1]} it returned shape {answer.shape}"
        )
    return answer.reshape(-1)


def _as_classes(predictions: np.ndarray, classes: int) -> np.ndarray:
    """Predicted labels: probability > 0.5 with two classes, the nearest label with more."""
    return (predictions > 0.5).astype(int) if classes == 2 else np.rint(predictions).astype(int)


def _draw_boundary(
    ax: Axes, predict_fn: PredictFn, X: np.ndarray, labels: np.ndarray, resolution: int
) -> float:
    """Shade predict_fn over the data's range plus a margin, draw the points; return the accuracy."""
    from matplotlib.colors import LinearSegmentedColormap

    resolution = checks.count("plotting", "resolution (grid points per axis)", resolution, at_least=2)
    low, high = X.min(axis=1), X.max(axis=1)
    margin = np.maximum(0.1 * (high - low), 0.5)
    x1, x2 = np.meshgrid(*(np.linspace(lo, hi, resolution) for lo, hi in zip(low - margin, high + margin)))
    surface = _predict(predict_fn, np.stack([x1.ravel(), x2.ravel()])).reshape(x1.shape)

    classes = max(int(labels.max()) + 1, 2)
    if classes == 2:
        # The probability of class 1 shades from class 0's colour through white to class 1's.
        cmap = LinearSegmentedColormap.from_list("class 0 to 1", [PALETTE[0], "white", PALETTE[1]])
        surface = np.clip(surface, 0, 1)
        ax.contourf(x1, x2, surface, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.45)
        boundaries = np.array([0.5])
    else:
        # One flat colour per predicted label; the boundaries lie halfway between labels.
        surface = np.clip(surface, 0, classes - 1)
        ax.contourf(x1, x2, surface, levels=np.arange(classes + 1) - 0.5, colors=PALETTE[:classes], alpha=0.3)
        boundaries = np.arange(1, classes) - 0.5
    ax.contour(x1, x2, surface, levels=boundaries, colors="black", linewidths=1.2)
    _scatter_classes(ax, X, labels)
    ax.plot([], [], color="black", linewidth=1.2, label="decision boundary")  # a legend entry only
    ax.set_aspect("equal")
    return float(np.mean(_as_classes(_predict(predict_fn, X), classes) == labels))


def plot_decision_boundary(
    predict_fn: PredictFn,
    X: np.ndarray,
    Y: Any,
    ax: Axes | None = None,
    title: str | None = None,
    resolution: int = 200,
) -> Axes:
    """predict_fn shaded over a resolution × resolution grid around the data, with the points on top.

    predict_fn maps points (2, k) to (1, k) probabilities of class 1 (or 0/1 predictions); with
    more than two classes in Y it returns class labels. The title reports the accuracy on (X, Y).
    """
    X, labels = _class_labels(X, Y)
    ax = _axes(ax)
    accuracy = _draw_boundary(ax, predict_fn, X, labels, resolution)
    _style(ax, title or f"decision boundary: accuracy {accuracy:.1%}", "x₁", "x₂", legend=True)
    return ax


def grid_of_boundaries(
    predict_fns: Mapping[str, PredictFn],
    X: np.ndarray,
    Y: Any,
    columns: int = 3,
    title: str | None = None,
    resolution: int = 120,
) -> Figure:
    """One decision-boundary panel per named predict_fn (e.g. per hidden size), accuracy in each title."""
    if not predict_fns:
        raise ValueError("grid_of_boundaries needs at least one predict_fn, got none")
    columns = checks.count("grid_of_boundaries", "columns", columns)
    X, labels = _class_labels(X, Y)
    columns = min(columns, len(predict_fns))
    rows = math.ceil(len(predict_fns) / columns)
    figure = new_figure(4.0 * columns + 1.5, 4.0 * rows)
    for index, (name, predict_fn) in enumerate(predict_fns.items()):
        ax = figure.add_subplot(rows, columns, index + 1)
        accuracy = _draw_boundary(ax, predict_fn, X, labels, resolution)
        _style(ax, f"{name}: accuracy {accuracy:.1%}", "x₁", "x₂", legend=False)
    # One legend for the figure: the classes look the same in every panel.
    figure.legend(*figure.axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=TICK_SIZE)
    if title:
        figure.suptitle(title, fontsize=TITLE_SIZE + 1)
    return figure


# --- curves over training --------------------------------------------------------------------


def _plot_series(
    ax: Axes, series: Mapping[str, Sequence[float]], title: str, xlabel: str, ylabel: str, log_scale: bool
) -> Axes:
    """One line per named series against its index, styled; a legend when there are several."""
    if not series:
        raise ValueError(f"{title}: nothing to plot, got no series")
    for index, (name, values) in enumerate(series.items()):
        curve = np.asarray(values, dtype=float)
        if curve.ndim != 1 or curve.size == 0:
            raise ValueError(
                f"{title}: series {name!r} must be a non-empty list of numbers, got shape {curve.shape}"
            )
        ax.plot(
            curve,
            color=PALETTE[index % len(PALETTE)],
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            linewidth=2,
            label=name,
        )
    if log_scale:
        ax.set_yscale("log")
    _style(ax, title, xlabel, ylabel, legend=len(series) > 1)
    return ax


def plot_costs(
    costs: Mapping[str, Sequence[float]] | Sequence[float],
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "iterations (×100)",
    ylabel: str = "cost",
    log_scale: bool = False,
) -> Axes:
    """The cost recorded during training: one list, or {name: list} to compare runs (e.g. learning rates)."""
    series = costs if isinstance(costs, Mapping) else {"cost": costs}
    return _plot_series(_axes(ax), series, title or "cost during training", xlabel, ylabel, log_scale)


def plot_gradient_norms(
    norms_by_layer: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "iterations",
    ylabel: str = "gradient norm ‖dW‖",
) -> Axes:
    """Gradient norm of each layer over training on a log scale, where vanishing or exploding shows."""
    return _plot_series(_axes(ax), norms_by_layer, title or "gradient norm per layer", xlabel, ylabel, True)
