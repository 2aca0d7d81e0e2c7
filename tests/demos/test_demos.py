"""The demos: each runs with --fast, writes readable pictures, and its numbers tell its lesson.

Every demo runs once (a module-scoped fixture); the tests then read its files and the numbers its
main() returns. The ranges are the demos' claims (a hidden layer beats logistic regression on the
flower, zero initialisation stays at chance, ...), loose enough for the short --fast training.
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")

import matplotlib.image

from microgrid.cli import demo as demo_command
from microgrid.cli import main as cli
from microgrid.viz import dot, render

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"

# What each demo promises to write.
FILES = {
    "graph": ["forward.svg", "forward.png", "forward_backward.svg", "forward_backward.png", "backprop.html"],
    "logistic": ["cost.png", "boundary.png"],
    "planar": ["boundaries.png", "costs.png", "hidden_sizes.png"],
    "deep": ["costs.png", "boundaries.png", "network.svg", "network.png"],
    "init": ["costs.png", "boundaries.png", "symmetry.png"],
    "activations": ["linear.png", "training.png"],
    "vanishing": ["by_depth.png", "training.png"],
    "optimizers": ["costs.png", "boundaries.png"],
    "gradcheck": [
        "gradcheck_correct.svg",
        "gradcheck_correct.png",
        "gradcheck_wrong.svg",
        "gradcheck_wrong.png",
        "costs.png",
    ],
    "regularization": ["costs.png", "boundaries.png"],
}
DIAGRAM_DEMOS = {"graph", "deep", "gradcheck"}


@dataclass
class Ran:
    """One --fast run of a demo: its numbers, its folder, what it printed."""

    name: str
    results: dict[str, float]
    out: Path
    printed: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Ran]:
    """run(name): the demo's --fast run, made once for the whole module."""
    done: dict[str, Ran] = {}

    def run_once(name: str) -> Ran:
        if name in DIAGRAM_DEMOS and render.find_renderer() is None:
            pytest.skip("no Graphviz renderer: the draw extra (graphviz-pure) is not installed")
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                results = demo_command.load(name).main(fast=True, out=out)
            done[name] = Ran(name, results, out, printed.getvalue())
        return done[name]

    return run_once


# --- files ----------------------------------------------------------------------------------------


def assert_png(path: Path) -> None:
    """A PNG (by its signature) that matplotlib reads back as a non-blank picture."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    image = matplotlib.image.imread(path)
    assert image.shape[0] >= 200 and image.shape[1] >= 200, (path, image.shape)
    assert image[..., :3].std() > 0.02, f"{path} looks blank"


def assert_svg(path: Path) -> None:
    root = ElementTree.parse(path).getroot()
    assert root.tag == f"{SVG}svg", path
    assert any(g.get("class") == "node" for g in root.iter(f"{SVG}g")), f"{path} draws no node"


def assert_html(path: Path, frames: int) -> None:
    """The step-through page: one inline SVG per frame and its controls."""
    page = path.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert page.count('<div class="frame"') == frames
    assert page.count("<svg") >= frames
    assert 'type="range"' in page and "<button" in page


@pytest.mark.parametrize("name", list(FILES))
def test_writes_every_promised_file_and_nothing_unreadable(name: str, run: Callable[[str], Ran]) -> None:
    ran = run(name)
    written = sorted(path.name for path in ran.out.iterdir())
    assert written == sorted(FILES[ran.name])
    for path in ran.out.iterdir():
        if path.suffix == ".png":
            assert_png(path)
        elif path.suffix == ".svg":
            assert_svg(path)
        else:
            assert_html(path, frames=int(ran.results["backprop_steps"]) + 1)


@pytest.mark.parametrize("name", list(FILES))
def test_prints_a_summary_naming_the_output_folder(name: str, run: Callable[[str], Ran]) -> None:
    ran = run(name)
    assert f"pictures in {ran.out.resolve()}/" in ran.printed
    for filename in FILES[ran.name]:
        assert re.search(rf"^  {re.escape(filename)}$", ran.printed, re.MULTILINE)
    if ran.name != "graph":
        assert "test accuracy" in ran.printed and "final cost" in ran.printed


# --- the numbers: each demo's lesson --------------------------------------------------------------


def test_graph_gives_the_lecture_gradients(run: Callable[[str], Ran]) -> None:
    r = run("graph").results
    a, b, c = 5.0, 3.0, 2.0
    assert r["J"] == 3 * (a + b * c)
    assert (r["dJ/da"], r["dJ/db"], r["dJ/dc"]) == (3.0, 3 * c, 3 * b)


def test_logistic_backward_matches_the_hand_derived_formulas(run: Callable[[str], Ran]) -> None:
    r = run("logistic").results
    assert r["gradient_vs_formula_difference"] < 1e-12
    assert r["train_accuracy"] > 0.85 and r["test_accuracy"] > 0.8


def test_planar_hidden_layer_beats_logistic_regression_by_far(run: Callable[[str], Ran]) -> None:
    r = run("planar").results
    assert r["logistic_train_accuracy"] < 0.65  # no line separates the petals
    assert r["train_accuracy"] > r["logistic_train_accuracy"] + 0.25
    assert r["test_accuracy"] > r["logistic_test_accuracy"] + 0.2
    # One or two units draw little more than a line; from three on they find the petals.
    assert max(r["hidden_1_test_accuracy"], r["hidden_2_test_accuracy"]) < 0.7
    assert min(r[f"hidden_{n_h}_test_accuracy"] for n_h in (3, 4, 5, 20, 50)) > 0.8


def test_deep_network_beats_the_equally_large_wide_one(run: Callable[[str], Ran]) -> None:
    r = run("deep").results
    assert r["deep_parameters"] == r["wide_parameters"] == 921
    assert r["deep_test_accuracy"] > 0.9
    assert r["deep_test_accuracy"] > r["wide_test_accuracy"] + 0.2


def test_deep_diagram_collapses_each_layer(run: Callable[[str], Ran]) -> None:
    ran = run("deep")
    svg = (ran.out / "network.svg").read_text(encoding="utf-8")
    for layer in range(1, 5):
        assert f"layer {layer} (backward)" in svg


def test_init_zeros_stays_at_chance_with_identical_units(run: Callable[[str], Ran]) -> None:
    r = run("init").results
    assert 0.4 <= r["zeros_train_accuracy"] <= 0.6 and 0.4 <= r["zeros_test_accuracy"] <= 0.6
    assert r["zeros_distinct_hidden_units"] == 1
    assert r["he_distinct_hidden_units"] == r["large_distinct_hidden_units"] == 10
    assert r["large_first_cost"] > 10 * r["he_first_cost"]  # huge logits, huge first cost
    assert r["he_test_accuracy"] > r["large_test_accuracy"] + 0.1  # matched to ReLU, He learns fastest
    assert r["he_train_accuracy"] > r["large_train_accuracy"] + 0.1


def test_activations_identity_network_is_one_matrix(run: Callable[[str], Ran]) -> None:
    r = run("activations").results
    assert r["one_matrix_difference"] < 1e-10
    for fast_learner in ("tanh", "relu", "leaky_relu"):
        assert r[f"{fast_learner}_final_cost"] < 0.5 * r["sigmoid_final_cost"]  # sigmoid learns slowest
        assert r[f"{fast_learner}_test_accuracy"] > r["identity_test_accuracy"]  # a line is not enough


def test_vanishing_sigmoid_gradients_shrink_with_depth(run: Callable[[str], Ran]) -> None:
    r = run("vanishing").results
    assert r["sigmoid_xavier_first_to_last_ratio"] < 1e-6
    # The deeper the sigmoid network, the smaller its first layer's gradient against its last one's.
    ratios = [r[f"sigmoid_depth_{depth}_first_to_last_ratio"] for depth in (3, 6, 9, 12, 15)]
    assert ratios[0] < 0.1
    assert all(deeper < 0.1 * shallower for shallower, deeper in itertools.pairwise(ratios))
    assert r["relu_he_first_to_last_ratio"] > 0.05 and r["tanh_xavier_first_to_last_ratio"] > 0.05
    assert r["relu_large_first_layer_norm"] > 1e3 * r["relu_he_first_layer_norm"]  # exploding
    assert r["tanh_small_first_layer_norm"] < 1e-6


def test_optimizers_momentum_and_adam_beat_gradient_descent(run: Callable[[str], Ran]) -> None:
    r = run("optimizers").results
    assert r["adam_test_accuracy"] >= r["gd_test_accuracy"] + 0.05
    assert r["adam_final_cost"] < 0.5 * r["gd_final_cost"]
    assert r["momentum_epochs_to_gd_final_cost"] < 0.5 * r["epochs"]
    assert r["momentum_test_accuracy"] >= r["gd_test_accuracy"]


def test_optimizers_decay_changes_every_run_and_lets_gd_catch_up(run: Callable[[str], Ran]) -> None:
    r = run("optimizers").results
    for optimizer in ("gd", "momentum", "adam"):
        assert r[f"{optimizer}_decay_final_cost"] != r[f"{optimizer}_final_cost"]
    assert (
        r["gd_decay_final_cost"] < r["gd_final_cost"] and r["gd_decay_test_accuracy"] > r["gd_test_accuracy"]
    )


def test_gradcheck_catches_the_wrong_rule_in_layer_one(run: Callable[[str], Ran]) -> None:
    r = run("gradcheck").results
    assert r["correct_passed"] == 1.0 and r["wrong_passed"] == 0.0
    for parameter in ("W[1]", "b[1]", "W[2]", "b[2]"):
        assert r[f"correct_difference_{parameter}"] < 1e-6
    assert r["wrong_difference_W[1]"] > 1e-2 and r["wrong_difference_b[1]"] > 1e-2
    assert r["wrong_difference_W[2]"] < 1e-6 and r["wrong_difference_b[2]"] < 1e-6


def node_fills(svg: Path) -> dict[str, set[str]]:
    """The fill colours of each node of a rendered diagram, by its name (its first line, shape dropped)."""
    fills: dict[str, set[str]] = {}
    for group in ElementTree.parse(svg).getroot().iter(f"{SVG}g"):
        texts = [t.text for t in group.iter(f"{SVG}text") if t.text]
        if group.get("class") == "node" and texts:
            name = re.sub(r" \([\d, ]*\)$", "", texts[0])  # "W[1] (4, 2)" is W[1]; "W[1] @ X (4, 20)" is not
            fills[name] = {e.get("fill", "") for e in group.iter() if e.get("fill")}
    return fills


def test_gradcheck_diagram_colours_the_faulty_layer(run: Callable[[str], Ran]) -> None:
    ran = run("gradcheck")
    r = ran.results
    wrong = node_fills(ran.out / "gradcheck_wrong.svg")
    correct = node_fills(ran.out / "gradcheck_correct.svg")
    passed = dot.gradcheck_fill(0.0, True)
    for parameter in ("W[1]", "b[1]"):
        assert dot.gradcheck_fill(r[f"wrong_difference_{parameter}"], False) in wrong[parameter]
        assert passed not in wrong[parameter]
    for parameter in ("W[1]", "b[1]", "W[2]", "b[2]"):
        assert passed in correct[parameter]
    assert passed in wrong["W[2]"] and passed in wrong["b[2]"]


def test_regularization_narrows_the_train_test_gap(run: Callable[[str], Ran]) -> None:
    r = run("regularization").results
    gap = {key: r[f"{key}_train_accuracy"] - r[f"{key}_test_accuracy"] for key in ("none", "l2", "dropout")}
    assert gap["none"] > 0.1  # learns the training set by heart
    assert gap["l2"] < gap["none"] and gap["dropout"] < gap["none"]
    assert r["l2_test_accuracy"] > r["none_test_accuracy"]
    assert r["dropout_test_accuracy"] > r["none_test_accuracy"]


# --- how the demos are found and run ----------------------------------------------------------------


def microgrid_imports(path: Path) -> set[str]:
    """What a script imports from microgrid: `microgrid` for `import microgrid as mg`, else module.name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "microgrid"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "microgrid":
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("path", sorted((REPO / "demos").glob("*.py")), ids=lambda path: path.stem)
def test_demos_import_microgrid_like_a_user(path: Path) -> None:
    public = {"microgrid", "microgrid.plotting", "microgrid.demos.kit"}
    if path.stem == "kit":
        public.add("microgrid.cli.demo.add_options")  # the same --fast and --out as `microgrid demo`
    assert microgrid_imports(path) <= public


@pytest.mark.parametrize("name", ["logistic", "planar"])
def test_the_flagship_demos_write_their_training_loop_out(name: str) -> None:
    source = (REPO / "demos" / f"{name}.py").read_text(encoding="utf-8")
    steps = ("optimizer.zero_grad()", "J = mg.nn.sigmoid_cross_entropy(", "J.backward()", "optimizer.step()")
    for step in steps:
        assert step in source
    assert not re.search(r"kit\.train(_each)?\(", source), "the loop is the kit's, not written out"


def test_the_course_order_lists_every_demo_script_and_each_is_tested() -> None:
    scripts = {path.stem for path in (REPO / "demos").glob("*.py")} - {"__init__", "kit"}
    assert sorted(demo_command.demo_names()) == sorted(scripts)
    # Each demo is run by this file, or by a test file of its own (a longer one, like digits).
    untested = {
        name for name in scripts - set(FILES) if not (REPO / "tests" / "demos" / f"test_{name}.py").exists()
    }
    assert not untested, f"demos that no test runs: {sorted(untested)}"


@pytest.mark.parametrize("name", list(FILES))
def test_each_docstring_says_how_to_run_it(name: str) -> None:
    doc = demo_command.load(name).__doc__
    assert f"python demos/{name}.py" in doc and f"microgrid demo {name}" in doc


def test_demo_list_shows_one_line_per_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == demo_command.demo_names()
    for line, name in zip(lines, demo_command.demo_names()):
        assert demo_command.describe(name) in line and len(demo_command.describe(name)) > 20


@pytest.mark.skipif(render.find_renderer() is None, reason="no Graphviz renderer")
def test_demo_command_runs_a_demo_into_the_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "graph", "--fast"]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "graph").iterdir()) == sorted(FILES["graph"])
    assert f"pictures in {tmp_path.resolve() / 'out' / 'graph'}/" in capsys.readouterr().out


def test_demo_command_refuses_an_unknown_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "plannar"]) == 1
    error = capsys.readouterr().err
    assert "microgrid demo: error: no demo named 'plannar'" in error and "planar" in error


def test_a_demo_runs_as_a_plain_script(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(REPO / "demos" / "logistic.py"), "--fast", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert f"pictures in {tmp_path.resolve()}/" in finished.stdout
    assert "gradient descent" in finished.stderr  # the progress bar
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES["logistic"])
