"""The demos' kit: `train_each` trains every named setting with its own optimiser and options."""

from __future__ import annotations

from functools import partial

import pytest

pytest.importorskip("tqdm")
pytest.importorskip("threadpoolctl")

from microgrid.demos import kit

import microgrid as mg

X, Y = mg.data.moons(m=64, noise=0.1, seed=0)
GRADIENT_DESCENT = partial(mg.optim.SGD, lr=0.5)


class Count:
    """An `after_backward` that counts the backward passes."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def network() -> mg.nn.Sequential:
    """The same small network, with the same starting weights, every time."""
    return mg.nn.mlp([2, 4, 1], hidden="tanh", seed=0)


def test_train_each_trains_every_setting_with_its_own_options() -> None:
    backward_passes = Count()
    settings = {
        "plain": kit.Setting(network(), GRADIENT_DESCENT),
        "L2": kit.Setting(network(), GRADIENT_DESCENT, lambd=10.0),
        "decay": kit.Setting(network(), GRADIENT_DESCENT, schedule=mg.optim.InverseTimeDecay),
        "watched": kit.Setting(network(), GRADIENT_DESCENT, after_backward=backward_passes),
    }
    models, costs = kit.train_each(settings, X, Y, epochs=5)

    assert list(models) == list(costs) == list(settings)
    for name, setting in settings.items():
        assert models[name] is setting.model
        assert len(costs[name]) == 5
    assert costs["plain"][-1] < costs["plain"][0]
    assert costs["watched"] == costs["plain"] and backward_passes.calls == 5
    assert costs["L2"][0] > costs["plain"][0]  # the same weights, plus the penalty
    # The schedule lowers α only after the first epoch, so the runs part from the second cost on.
    assert costs["decay"][0] == costs["plain"][0] and costs["decay"][1:] != costs["plain"][1:]


def test_train_each_shuffles_mini_batches_by_its_seed() -> None:
    backward_passes = Count()

    def costs(seed: int) -> list[float]:
        setting = kit.Setting(network(), GRADIENT_DESCENT, after_backward=backward_passes)
        return kit.train_each({"run": setting}, X, Y, epochs=2, batch_size=16, seed=seed)[1]["run"]

    assert costs(1) == costs(1) != costs(2)
    assert backward_passes.calls == 3 * 2 * 64 // 16  # three runs of two epochs of four mini-batches


def test_scale_shortens_every_count_by_the_same_fraction_under_fast() -> None:
    assert kit.scale(400, fast=False, fraction=0.1) == 400
    assert (kit.scale(400, fast=True, fraction=0.1), kit.scale(100, fast=True, fraction=0.1)) == (40, 10)
    assert kit.scale(3, fast=True, fraction=0.1) == 1  # never zero epochs


@pytest.mark.parametrize(("models", "shape"), [(1, (1, 2)), (2, (1, 4)), (3, (2, 3))])
def test_train_test_boundaries_is_landscape_with_each_model_on_both_sets(
    models: int, shape: tuple[int, int]
) -> None:
    pytest.importorskip("matplotlib")
    split = mg.data.train_test_split(X, Y, seed=0)
    figure = kit.train_test_boundaries({f"model {i}": network() for i in range(models)}, split, "title")
    rows = {ax.get_subplotspec().rowspan.start for ax in figure.axes}
    columns = {ax.get_subplotspec().colspan.start for ax in figure.axes}
    assert (len(rows), len(columns)) == shape
    titles = [ax.get_title() for ax in figure.axes]
    for i in range(models):
        assert sum(title.startswith(f"model {i}\ntraining set: accuracy") for title in titles) == 1
        assert sum(title.startswith(f"model {i}\ntest set: accuracy") for title in titles) == 1
    assert len({(ax.get_xlim(), ax.get_ylim()) for ax in figure.axes}) == 1  # one frame for all
