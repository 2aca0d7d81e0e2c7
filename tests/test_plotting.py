"""microgrid.plotting: every helper draws what it promises and writes a PNG matplotlib can read back."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import microgrid as mg
from microgrid import plotting
from microgrid.data import datasets

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path, min_width: int = 400, min_height: int = 300) -> None:
    """`path` is a PNG that matplotlib reads back as a non-blank image of at least the given size."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= min_height
    assert image[..., :3].std() > 0.05  # something was drawn on the white background


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [text.get_text() for text in legend.get_texts()]


def half_plane(points: np.ndarray) -> np.ndarray:
    """Class 1 right of the vertical axis, as (1, k) probabilities."""
    return (points[0:1] > 0).astype(float)


# --- datasets and decision boundaries --------------------------------------------------------


def test_plot_dataset_draws_every_class_and_saves(tmp_path: Path) -> None:
    X, Y = datasets.blobs(m=90, classes=3)
    ax = plotting.plot_dataset(X, Y, title="three blobs")
    assert isinstance(ax, Axes) and ax.get_title() == "three blobs"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert legend_texts(ax) == ["class 0", "class 1", "class 2"]
    assert sum(len(collection.get_offsets()) for collection in ax.collections) == 90
    assert_png(plotting.save_figure(ax, tmp_path / "blobs.png"))


def test_plot_dataset_draws_into_a_given_axes() -> None:
    figure = plotting.new_figure()
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    assert plotting.plot_dataset(*datasets.moons(m=20), ax=right) is right
    assert right.collections and not left.collections


def test_decision_boundary_asks_for_a_grid_covering_the_data(tmp_path: Path) -> None:
    X, Y = datasets.flower(m=200)
    asked: list[np.ndarray] = []

    def predict(points: np.ndarray) -> np.ndarray:
        asked.append(points.copy())
        return 1 / (1 + np.exp(points[0:1] * points[1:2]))

    ax = plotting.plot_decision_boundary(predict, X, Y, resolution=50)
    grid = asked[0]
    assert grid.shape == (2, 50 * 50)
    assert np.all(grid.min(axis=1) < X.min(axis=1)) and np.all(grid.max(axis=1) > X.max(axis=1))
    span = X.max(axis=1) - X.min(axis=1)
    assert np.all(grid.max(axis=1) - grid.min(axis=1) < 1.5 * span)  # a margin, not a zoom-out
    assert len(np.unique(grid[0])) == 50 and len(np.unique(grid[1])) == 50
    assert "decision boundary" in legend_texts(ax) and "class 1" in legend_texts(ax)
    assert_png(plotting.save_figure(ax, tmp_path / "boundary.png"))


def test_decision_boundary_title_reports_the_accuracy() -> None:
    X = np.linspace(-1, 1, 40).reshape(1, 40).repeat(2, axis=0)
    Y = (X[0:1] > 0).astype(float)
    Y[0, :4] = 1 - Y[0, :4]  # four examples the half-plane rule gets wrong
    ax = plotting.plot_decision_boundary(half_plane, X, Y)
    assert ax.get_title() == "decision boundary: accuracy 90.0%"


def test_decision_boundary_takes_a_tensor_from_predict_fn() -> None:
    X, Y = datasets.xor(m=40)
    ax = plotting.plot_decision_boundary(lambda points: mg.tensor(half_plane(points)), X, Y, title="t")
    assert ax.get_title() == "t"


def test_decision_boundary_with_several_classes_uses_labels(tmp_path: Path) -> None:
    X, Y = datasets.blobs(m=90, classes=3, noise=0.1)

    def nearest_centre(points: np.ndarray) -> np.ndarray:
        angle = np.arctan2(points[1], points[0]) % (2 * np.pi)
        return (np.rint(angle / (2 * np.pi / 3)) % 3).reshape(1, -1)

    ax = plotting.plot_decision_boundary(nearest_centre, X, Y)
    assert ax.get_title() == "decision boundary: accuracy 100.0%"
    assert_png(plotting.save_figure(ax, tmp_path / "three.png"))


def test_decision_boundary_refuses_a_predict_fn_of_the_wrong_size() -> None:
    X, Y = datasets.moons(m=20)
    with pytest.raises(ValueError, match=r"predict_fn must map a \(2, k\) array .* returned shape \(1, 1\)"):
        plotting.plot_decision_boundary(lambda points: np.zeros((1, 1)), X, Y, resolution=10)


@pytest.mark.parametrize(
    "X,Y,message",
    [
        (np.zeros((3, 5)), np.zeros((1, 5)), r"X of shape \(2, m\)"),
        (np.zeros((2, 5)), np.zeros((1, 4)), r"got X \(2, 5\) and Y \(1, 4\)"),
        (np.zeros((2, 3)), np.array([[0.0, 0.5, 1.0]]), "class labels"),
    ],
)
def test_bad_points_or_labels_are_refused(X: np.ndarray, Y: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plotting.plot_dataset(X, Y)
    with pytest.raises(ValueError, match=message):
        plotting.plot_decision_boundary(half_plane, X, Y)


def test_grid_of_boundaries_has_one_panel_per_model_with_its_accuracy(tmp_path: Path) -> None:
    X = np.array([[-2.0, -1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    Y = np.array([[0.0, 0.0, 1.0, 1.0]])
    models = {
        "right": half_plane,
        "wrong": lambda points: 1 - half_plane(points),
        "always 1": lambda points: np.ones((1, points.shape[1])),
    }
    figure = plotting.grid_of_boundaries(models, X, Y, columns=2, title="sweep")
    assert isinstance(figure, Figure)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == ["right\naccuracy 100.0%", "wrong\naccuracy 0.0%", "always 1\naccuracy 50.0%"]
    assert len(figure.legends) == 1
    assert_png(plotting.save_figure(figure, tmp_path / "grid.png"), min_width=800)


def test_grid_of_boundaries_needs_models() -> None:
    with pytest.raises(ValueError, match="at least one predict_fn"):
        plotting.grid_of_boundaries({}, *datasets.moons(m=10))


def test_a_grid_too_coarse_or_a_column_count_that_is_not_a_count_is_refused() -> None:
    X, Y = datasets.moons(m=10)
    with pytest.raises(
        ValueError, match=r"^plotting: resolution \(grid points per axis\) must be an int ≥ 2, got 1$"
    ):
        plotting.plot_decision_boundary(half_plane, X, Y, resolution=1)
    with pytest.raises(ValueError, match="^grid_of_boundaries: columns must be an int ≥ 1, got True$"):
        plotting.grid_of_boundaries({"half plane": half_plane}, X, Y, columns=True)


# --- curves ----------------------------------------------------------------------------------


def test_plot_costs_of_one_run(tmp_path: Path) -> None:
    costs = [0.69, 0.5, 0.3, 0.2, 0.15]
    ax = plotting.plot_costs(costs)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), costs)
    assert ax.get_xlabel() == "iterations (×100)" and ax.get_ylabel() == "cost" and ax.get_title()
    assert ax.get_legend() is None and ax.get_yscale() == "linear"
    assert_png(plotting.save_figure(ax, tmp_path / "cost.png"))


def test_plot_costs_compares_named_runs_on_a_log_scale() -> None:
    runs = {"lr 0.01": [1.0, 0.9], "lr 0.1": [1.0, 0.5], "lr 1": [1.0, 0.1]}
    ax = plotting.plot_costs(runs, title="learning rates", xlabel="epochs", log_scale=True)
    assert [line.get_label() for line in ax.get_lines()] == list(runs)
    assert len({line.get_color() for line in ax.get_lines()}) == 3
    assert legend_texts(ax) == list(runs)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epochs" and ax.get_title() == "learning rates"


def test_plot_costs_refuses_empty_series() -> None:
    with pytest.raises(ValueError, match="series 'cost' must be a non-empty list of numbers"):
        plotting.plot_costs([])


def test_plot_gradient_norms_is_log_scale_with_a_legend(tmp_path: Path) -> None:
    norms = {f"layer {layer}": list(10.0 ** -np.arange(layer, layer + 5)) for layer in (1, 2, 3)}
    ax = plotting.plot_gradient_norms(norms)
    assert ax.get_yscale() == "log" and legend_texts(ax) == list(norms)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert_png(plotting.save_figure(ax, tmp_path / "norms.png"))


# --- saving and the optional dependency ------------------------------------------------------


def test_save_figure_makes_the_folder_and_refuses_other_formats(tmp_path: Path) -> None:
    figure = plotting.plot_dataset(*datasets.moons(m=30)).figure
    path = plotting.save_figure(figure, str(tmp_path / "a" / "b" / "moons.png"))
    assert path == tmp_path / "a" / "b" / "moons.png"
    assert_png(path)
    with pytest.raises(ValueError, match="must end in .png, got '.*moons.pdf'"):
        plotting.save_figure(figure, tmp_path / "moons.pdf")


def test_plotting_leaves_pyplot_and_the_backend_alone(tmp_path: Path) -> None:
    # A fresh interpreter: other tests may have imported pyplot in this one.
    script = (
        "import sys, matplotlib; matplotlib.use('svg'); "
        "from microgrid import plotting; from microgrid.data import datasets; "
        f"plotting.save_figure(plotting.plot_dataset(*datasets.moons()), {str(tmp_path / 'm.png')!r}); "
        "print('matplotlib.pyplot' in sys.modules, matplotlib.get_backend())"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "svg"]
    assert_png(tmp_path / "m.png")


def test_missing_matplotlib_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"demos extra: pip install \".*microgrid\[demos\]\""):
        plotting.plot_costs([1.0, 0.5])


# --- what a student reads: frames, bars, log ticks -----------------------------------------------------


def tick_texts(axis: object, minor: bool = False) -> list[str]:
    """The non-empty tick labels of a drawn axis."""
    return [text.get_text() for text in axis.get_ticklabels(minor=minor) if text.get_text()]  # type: ignore[attr-defined]


def test_boundary_panels_share_one_frame_in_a_landscape_grid() -> None:
    X_train, Y_train = datasets.moons(m=40, seed=0)
    X_test = X_train * 2.0  # a wider spread: the frame must hold both sets
    panels = [
        (f"{name}\n{where}", half_plane, X, Y_train)
        for name in ("a", "b", "c")
        for where, X in (("training set", X_train), ("test set", X_test))
    ]
    figure = plotting.boundary_panels(panels, notes={"a\ntraining set": "why it is flat"})
    axes = figure.axes
    width, height = figure.get_size_inches()
    assert len(axes) == 6 and width > height
    rows = {ax.get_subplotspec().rowspan.start for ax in axes}
    columns = {ax.get_subplotspec().colspan.start for ax in axes}
    assert len(columns) > len(rows)
    assert all(ax.get_xlim() == axes[0].get_xlim() and ax.get_ylim() == axes[0].get_ylim() for ax in axes)
    assert axes[0].get_xlim()[1] > X_test[0].max() and axes[0].get_xlim()[0] < X_test[0].min()
    assert all(ax.get_xlabel() == "x₁" and ax.get_ylabel() == "x₂" for ax in axes)
    assert [text.get_text() for text in axes[0].texts] == ["why it is flat"]


def test_boundary_panels_refuse_a_note_for_no_panel() -> None:
    X, Y = datasets.moons(m=10)
    with pytest.raises(ValueError, match=r"notes name no panel: \['nope'\]"):
        plotting.boundary_panels([("a", half_plane, X, Y)], notes={"nope": "?"})


def test_grid_of_boundaries_defaults_to_a_landscape_grid() -> None:
    X, Y = datasets.moons(m=10)
    figure = plotting.grid_of_boundaries({str(n): half_plane for n in range(8)}, X, Y, resolution=20)
    rows = {ax.get_subplotspec().rowspan.start for ax in figure.axes}
    columns = {ax.get_subplotspec().colspan.start for ax in figure.axes}
    assert (len(rows), len(columns)) == (2, 4)


def test_plot_accuracies_starts_at_zero_marks_chance_and_keeps_the_legend_outside(tmp_path: Path) -> None:
    scores = {
        "leaky ReLU": {"training set": 0.9, "test set": 0.85},
        "sigmoid": {"training set": 0.52, "test set": 0.44},
    }
    ax = plotting.plot_accuracies(scores, title="accuracy", xlabel="hidden activation")
    ax.figure.canvas.draw()
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 1
    assert ax.get_xlabel() == "hidden activation" and ax.get_ylabel() == "accuracy"
    assert legend_texts(ax) == ["chance (50%)", "training set", "test set"]
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1  # beside the bars, never on them
    assert [text.get_text() for text in ax.texts] == ["90%", "52%", "85%", "44%"]  # each bar its value
    assert tick_texts(ax.xaxis) == ["leaky ReLU", "sigmoid"]
    assert_png(plotting.save_figure(ax, tmp_path / "bars.png"))


@pytest.mark.parametrize(
    "low,high,expected",
    [
        (0.01, 0.9, {"0.01", "0.1"}),
        (0.07, 0.7, {"0.1", "0.2", "0.5"}),
        (0.25, 0.7, {"0.3", "0.4", "0.5", "0.6"}),
    ],
)
def test_log_axes_read_in_plain_decimals(low: float, high: float, expected: set[str]) -> None:
    ax = plotting.plot_costs({"a": [high, low], "b": [high, (low + high) / 2]}, log_scale=True)
    ax.figure.canvas.draw()
    labels = set(tick_texts(ax.yaxis)) | set(tick_texts(ax.yaxis, minor=True))
    assert expected <= labels
    assert all(re.fullmatch(r"\d+(\.\d+)?", label) for label in labels), labels  # no 10⁻¹, no 1e-1


def test_log_axes_over_many_decades_read_in_powers_of_ten() -> None:
    ax = plotting.plot_gradient_norms({"layer 1": [1e-10, 1e-9], "layer 2": [1.0, 1e3]})
    ax.figure.canvas.draw()
    assert {"10⁻⁸", "10⁰"} <= set(tick_texts(ax.yaxis))


def test_shared_log_axes_keep_their_plain_labels() -> None:
    figure = plotting.new_figure(10, 4)
    left = figure.add_subplot(1, 2, 1)
    plotting.plot_costs({"a": [0.9, 0.06]}, ax=left, log_scale=True)
    right = figure.add_subplot(1, 2, 2, sharey=left)
    plotting.plot_costs({"a": [0.8, 0.07]}, ax=right, log_scale=True)
    figure.canvas.draw()
    assert {"0.1", "0.2", "0.5"} <= set(tick_texts(right.yaxis)) | set(tick_texts(right.yaxis, minor=True))


@pytest.mark.parametrize("scores", [{}, {"a": {"train": 0.9}, "b": {"test": 0.8}}])
def test_plot_accuracies_needs_the_same_scores_for_every_model(scores: dict[str, dict[str, float]]) -> None:
    with pytest.raises(ValueError, match="the same scores for each"):
        plotting.plot_accuracies(scores)
