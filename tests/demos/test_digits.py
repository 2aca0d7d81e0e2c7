"""The digits demo under --fast: both networks learn the images, the binary one beats its "always no"
baseline, and the pictures of its mistakes and of the network are written and readable."""

from __future__ import annotations

import contextlib
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")

import matplotlib.image

from microgrid.cli import demo as demo_command
from microgrid.viz import render

FILES = ["costs.png", "mistakes.png", "network.svg", "network.png"]
TEST_IMAGES = 359  # 20 % of each digit's images in the 1797 of the file


@dataclass
class Ran:
    results: dict[str, float]
    out: Path
    printed: str
    seconds: float


def run_demo(out: Path, fast: bool) -> Ran:
    if render.find_renderer() is None:
        pytest.skip("no Graphviz renderer: the draw extra (graphviz-pure) is not installed")
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        results = demo_command.load("digits").main(fast=fast, out=out)
    return Ran(results, out, printed.getvalue(), time.perf_counter() - started)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """The --fast run, made once for the module."""
    return run_demo(tmp_path_factory.mktemp("digits"), fast=True)


def test_it_is_listed_after_the_deep_demo() -> None:
    names = demo_command.demo_names()
    assert names.index("digits") == names.index("deep") + 1


def test_its_docstring_says_how_to_run_it() -> None:
    doc = demo_command.load("digits").__doc__
    assert "python demos/digits.py" in doc and "microgrid demo digits" in doc


def test_both_networks_learn_the_digits(ran: Ran) -> None:
    r = ran.results
    assert r["binary_test_accuracy"] >= 0.90 and r["softmax_test_accuracy"] >= 0.90
    assert r["binary_train_accuracy"] >= r["binary_test_accuracy"] - 0.02
    assert r["softmax_final_cost"] < 0.5  # far below log 10 ≈ 2.3, the cost of a uniform answer


@pytest.mark.slow
def test_the_full_run_reaches_95_percent_on_both_tasks(tmp_path: Path) -> None:
    r = run_demo(tmp_path, fast=False).results
    assert r["binary_test_accuracy"] >= 0.95 and r["softmax_test_accuracy"] >= 0.95


def test_the_binary_network_beats_answering_no_every_time(ran: Ran) -> None:
    r = ran.results
    assert 0.88 < r["always_no_8_test_accuracy"] < 0.92  # one test image in ten is an 8
    # At least half of the baseline's errors gone: the network learned what an 8 looks like.
    assert 1 - r["binary_test_accuracy"] < 0.5 * (1 - r["always_no_8_test_accuracy"])


def test_the_mistakes_counted_are_the_accuracy_s(ran: Ran) -> None:
    r = ran.results
    for network in ("binary", "softmax"):
        assert r[f"{network}_test_mistakes"] == round((1 - r[f"{network}_test_accuracy"]) * TEST_IMAGES)
        assert r[f"{network}_test_mistakes"] >= 1  # the picture of mistakes has something to show


def test_it_takes_seconds(ran: Ran) -> None:
    assert ran.seconds < 60


def test_writes_its_pictures(ran: Ran) -> None:
    assert sorted(path.name for path in ran.out.iterdir()) == sorted(FILES)
    for name in ("costs.png", "mistakes.png", "network.png"):
        image = matplotlib.image.imread(ran.out / name)
        assert image[..., :3].std() > 0.02, f"{name} looks blank"
    mistakes = matplotlib.image.imread(ran.out / "mistakes.png")
    # Wide, for a slide: ten images of 8×8 pixels in a row, each at least 100 pixels wide.
    assert 1000 <= mistakes.shape[1] <= 1600 and mistakes.shape[0] < mistakes.shape[1]


def test_the_diagram_collapses_each_layer_and_the_cost(ran: Ran) -> None:
    svg = (ran.out / "network.svg").read_text(encoding="utf-8")
    for box in ("layer 1", "layer 2", "layer 3", "cost", "layer 3 (backward)", "cost (backward)"):
        assert f">{box}<" in svg
    assert "layer 4" not in svg
    assert "X (64, 1438)" in svg  # 64 pixels per column, 80 % of the 1797 images


def test_prints_the_key_numbers_and_the_files(ran: Ran) -> None:
    assert f"pictures in {ran.out.resolve()}/" in ran.printed
    for filename in FILES:
        assert re.search(rf"^  {re.escape(filename)}$", ran.printed, re.MULTILINE)
    for key in ("always no 8 test accuracy", "binary test accuracy", "softmax test accuracy", "final cost"):
        assert key in ran.printed
