"""Figures the demos and docs share: datasets, decision boundaries, cost curves, gradient norms, accuracies.

matplotlib comes with the optional demos extra of microgrid-autograd and is imported only when a function
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
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from microgrid import checks
from microgrid.errors import install_extra

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
            f"microgrid.plotting needs matplotlib, in the demos extra: {install_extra('demos')}"
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


Extent = tuple[tuple[float, float], tuple[float, float]]


def _extent(*point_sets: np.ndarray) -> Extent:
    """The (x₁, x₂) ranges that hold every point of every set, plus a margin: one frame for all panels."""
    points = np.concatenate(point_sets, axis=1)
    low, high = points.min(axis=1), points.max(axis=1)
    margin = np.maximum(0.1 * (high - low), 0.5)
    (x1_low, x2_low), (x1_high, x2_high) = low - margin, high + margin
    return (float(x1_low), float(x1_high)), (float(x2_low), float(x2_high))


def _draw_boundary(
    ax: Axes, predict_fn: PredictFn, X: np.ndarray, labels: np.ndarray, resolution: int, extent: Extent
) -> float:
    """Shade predict_fn over `extent`, draw the points; return the accuracy on them."""
    from matplotlib.colors import LinearSegmentedColormap

    resolution = checks.count("plotting", "resolution (grid points per axis)", resolution, at_least=2)
    x1, x2 = np.meshgrid(*(np.linspace(low, high, resolution) for low, high in extent))
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
    ax.set_xlim(*extent[0])
    ax.set_ylim(*extent[1])
    return float(np.mean(_as_classes(_predict(predict_fn, X), classes) == labels))


def plot_decision_boundary(
    predict_fn: PredictFn,
    X: np.ndarray,
    Y: Any,
    ax: Axes | None = None,
    title: str | None = None,
    resolution: int = 300,
) -> Axes:
    """predict_fn shaded over a resolution × resolution grid around the data, with the points on top.

    predict_fn maps points (2, k) to (1, k) probabilities of class 1 (or 0/1 predictions); with
    more than two classes in Y it returns class labels. The title reports the accuracy on (X, Y).
    """
    X, labels = _class_labels(X, Y)
    ax = _axes(ax)
    accuracy = _draw_boundary(ax, predict_fn, X, labels, resolution, _extent(X))
    ax.set_aspect("equal")
    _style(ax, title or f"decision boundary: accuracy {accuracy:.1%}", "x₁", "x₂", legend=True)
    return ax


# A panel of `boundary_panels`: its name, the predictor, and the points (X, Y) drawn on it.
Panel = tuple[str, PredictFn, np.ndarray, Any]


def _grid_shape(panels: int, columns: int | None) -> tuple[int, int]:
    """(rows, columns) for `panels` panels; without `columns` a landscape grid (about 2:1) for slides."""
    if columns is None:
        rows = max(1, round(math.sqrt(panels / 2)))
        columns = math.ceil(panels / rows)
    columns = min(columns, panels)
    return math.ceil(panels / columns), columns


def boundary_panels(
    panels: Sequence[Panel],
    columns: int | None = None,
    title: str | None = None,
    notes: Mapping[str, str] | None = None,
    resolution: int = 200,
) -> Figure:
    """One decision-boundary panel per (name, predict_fn, X, Y), all with the same x₁ and x₂ limits.

    Each panel's title is its name and its accuracy on its points; `notes` maps a panel's name to
    a remark written inside it (e.g. why its boundary is flat). One legend serves every panel.
    """
    if not panels:
        raise ValueError("boundary_panels needs at least one panel, got none")
    checked = [(name, predict_fn, *_class_labels(X, Y)) for name, predict_fn, X, Y in panels]
    notes = dict(notes or {})
    unknown = set(notes) - {name for name, *_ in checked}
    if unknown:
        raise ValueError(f"boundary_panels: notes name no panel: {sorted(unknown)}")
    if columns is not None:
        columns = checks.count("boundary_panels", "columns", columns)
    extent = _extent(*(X for _, _, X, _ in checked))
    rows, columns = _grid_shape(len(checked), columns)
    # Each panel about as tall as the data's frame is for its width, so x₁ and x₂ keep nearly one
    # scale. Not exactly: a fixed aspect would let the layout run a panel's labels into its neighbour.
    (x1_low, x1_high), (x2_low, x2_high) = extent
    aspect = min(max((x2_high - x2_low) / (x1_high - x1_low), 0.4), 2.5)
    width = max(3.3, 9.0 / columns)  # inches per panel: a few panels get more room each
    figure = new_figure(width * columns + 1.6, ((width - 0.8) * aspect + 1.1) * rows + 0.5)
    for index, (name, predict_fn, X, labels) in enumerate(checked):
        ax = figure.add_subplot(rows, columns, index + 1)
        accuracy = _draw_boundary(ax, predict_fn, X, labels, resolution, extent)
        # The accuracy on a line of its own, unless the name has two already: titles must not collide.
        separator = ": " if "\n" in name else "\n"
        _style(ax, f"{name}{separator}accuracy {accuracy:.1%}", "x₁", "x₂", legend=False)
        if name in notes:
            ax.text(
                0.5,
                0.04,
                notes[name],
                transform=ax.transAxes,
                ha="center",
                va="bottom",
                fontsize=TICK_SIZE - 1,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "grey", "alpha": 0.9},
            )
    # One legend for the figure (the classes look the same in every panel), beside the panels and
    # below the title: at the top it would run into a title over the whole width.
    figure.legend(*figure.axes[0].get_legend_handles_labels(), loc="outside right center", fontsize=TICK_SIZE)
    if title:
        figure.suptitle(title, fontsize=TITLE_SIZE + 1)
    return figure


def grid_of_boundaries(
    predict_fns: Mapping[str, PredictFn],
    X: np.ndarray,
    Y: Any,
    columns: int | None = None,
    title: str | None = None,
    resolution: int = 200,
    notes: Mapping[str, str] | None = None,
) -> Figure:
    """One decision-boundary panel per named predict_fn (e.g. per hidden size) on the same (X, Y)."""
    if not predict_fns:
        raise ValueError("grid_of_boundaries needs at least one predict_fn, got none")
    if columns is not None:
        columns = checks.count("grid_of_boundaries", "columns", columns)
    panels = [(name, predict_fn, X, Y) for name, predict_fn in predict_fns.items()]
    return boundary_panels(panels, columns, title, notes, resolution)


# --- accuracies -----------------------------------------------------------------------------


def plot_accuracies(
    scores: Mapping[str, Mapping[str, float]],
    ax: Axes | None = None,
    title: str = "accuracy",
    xlabel: str = "model",
    chance: float | None = 0.5,
) -> Axes:
    """Bars from 0 to 100 % of each model's scores side by side, e.g. {"He": {"train": 0.99, "test": 0.95}}.

    Each bar carries its value; a dotted line marks `chance` (0.5 for two balanced classes).
    """
    from matplotlib.ticker import PercentFormatter

    names = list(scores)
    kinds = list(scores[names[0]]) if names else []
    if not kinds or any(list(score) != kinds for score in scores.values()):
        raise ValueError(
            f"plot_accuracies needs at least one model and the same scores for each, got {dict(scores)}"
        )
    ax = _axes(ax)
    width = 0.8 / len(kinds)
    positions = np.arange(len(names))
    for index, kind in enumerate(kinds):
        values = [scores[name][kind] for name in names]
        bars = ax.bar(
            positions + (index - (len(kinds) - 1) / 2) * width,
            values,
            width=width,
            color=PALETTE[index % len(PALETTE)],
            hatch=("", "//", "..", "xx")[index % 4],  # told apart in grey too
            edgecolor="white",
            label=kind,
        )
        ax.bar_label(bars, labels=[f"{value:.0%}" for value in values], fontsize=TICK_SIZE - 1, padding=2)
    if chance is not None:
        ax.axhline(chance, color="black", linestyle=":", linewidth=1.2, label=f"chance ({chance:.0%})")
    ax.set_xticks(positions, [textwrap.fill(name, 14) for name in names])  # long names on two lines
    ax.set_ylim(0, 1.1)  # room above 100 % for the values
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    _style(ax, title, xlabel, "accuracy", legend=True)
    return ax


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
        _plain_log_ticks(ax.yaxis)
    _style(ax, title, xlabel, ylabel, legend=len(series) > 1)
    return ax


def _tick_label(value: float, decades: float) -> str:
    """0.01, 0.5, 20 as plain decimals; on an axis spanning more than 6 decades, powers of ten (10⁻⁸)."""
    if value <= 0:
        return ""
    exponent = math.floor(math.log10(value) + 1e-9)
    if decades > 6 or not -5 <= exponent <= 5:
        leading = value / 10**exponent
        power = "10" + str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return power if round(leading, 6) == 1 else f"{leading:.3g}·{power}"
    plain = f"{value:.{max(0, 2 - exponent)}f}"
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def _plain_log_ticks(axis: Any) -> None:
    """Label a log axis in plain decimals (0.01, 0.1, 1), with 0.2, 0.3, 0.5 … where it spans little."""
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _position: int | None, minor: bool) -> str:
        low, high = sorted(axis.get_view_interval())
        decades = math.log10(high / low) if low > 0 else math.inf
        leading = round(value / 10 ** math.floor(math.log10(value) + 1e-9)) if value > 0 else 0
        powers_in_view = (
            math.floor(math.log10(high) + 1e-9) - math.ceil(math.log10(low) - 1e-9) + 1 if low > 0 else 3
        )
        # Minor ticks (2, 3, … × 10ᵏ) are labelled only where few powers of ten are in view: all
        # within one decade, 2 and 5 on a longer axis, none where three powers of ten are labelled.
        if minor and (powers_in_view >= 3 or (decades > 1 and leading not in (2, 5))):
            return ""
        return _tick_label(value, decades)

    axis.set_major_formatter(FuncFormatter(lambda value, position: label(value, position, minor=False)))
    axis.set_minor_formatter(FuncFormatter(lambda value, position: label(value, position, minor=True)))


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
