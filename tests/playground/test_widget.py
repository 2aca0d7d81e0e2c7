"""The playground as a Jupyter widget: a notebook run by nbclient (a kernel, no front end) drives it.

The front end is the web app's JavaScript, tested in Chromium by test_browser.py; here the kernel
side: the widget's state after steps taken from Python and from messages as the front end sends
them, and the one ES module anywidget loads, made from the page's files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

if not os.environ.get("CI"):  # under CI a missing package is a failure, not a skip
    pytest.importorskip(
        "anywidget", reason="the playground extra is not installed: pip install -e '.[playground]'"
    )
    pytest.importorskip("nbclient", reason="nbclient comes with the docs extra")

import nbclient
import nbformat

CELLS = [
    """\
import json
import microgrid as mg
from microgrid import playground

X, Y = mg.data.moons(m=200, seed=0)
w = playground.widget(mg.nn.mlp([2, 8, 1], hidden="tanh", seed=0), X, Y.astype(float), lr=0.5)
first = (w.step, w.cost)
w""",
    """\
w.train(60)
# A message as the page sends it when "+1 Step" is pressed, answered as the web app would.
w._answer(w, {"id": 1, "method": "control", "args": ["step"]}, [])
try:
    w.call("configure", [{"lr": "nan"}])
except ValueError as error:
    refused = str(error)
node = w.call("node", ["t1"])
print(json.dumps({"first": first, "step": w.step, "cost": w.cost, "refused": refused,
                  "node": node["name"], "history": len(w.session.history)}))""",
]


def test_the_widget_trains_from_python_and_from_front_end_messages(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    display = {key for output in notebook.cells[0].outputs for key in output.get("data", {})}
    assert display, notebook.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in display
    found = json.loads(notebook.cells[1].outputs[0]["text"])
    first_step, first_cost = found["first"]
    assert first_step == 0 and found["step"] == 61
    assert found["cost"] < first_cost - 0.2
    assert found["refused"] == "The learning rate must be a finite number, got 'nan'"
    assert found["node"] == "W[1]"


def test_the_widget_module_is_the_pages_files_joined_into_one_valid_module(tmp_path: Path) -> None:
    from microgrid.playground.notebook import MODULES, bundle

    text = bundle()
    assert "\nimport " not in text and text.count("export ") == 1 and "export default {" in text
    for name in MODULES:
        assert f"// --- {name}" in text
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing: it checks that the joined module parses")
    (tmp_path / "widget.mjs").write_text(text)
    done = subprocess.run([node, "--check", str(tmp_path / "widget.mjs")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        (
            [3, 4, 1],
            r"on X \(2, 60\) it fails: Dense W\[1\]: input \(2, 60\) must be \(n_in=3, m\)",
        ),  # inputs of the wrong size: the engine's error, explained
        ([2, 4, 2], r"on X \(2, 60\) it gives \(2, 60\)"),  # two logits per example
    ],
)
def test_a_model_of_the_wrong_shape_is_refused_before_a_session_is_made(
    sizes: list[int], message: str
) -> None:
    import microgrid as mg
    from microgrid import playground

    X, Y = mg.data.moons(m=60, seed=0)
    with pytest.raises(
        ValueError, match=r"playground.widget: the model must map X \(2, m\) to logits \(1, m\).*" + message
    ):
        playground.widget(mg.nn.mlp(sizes, hidden="tanh", seed=0), X, Y.astype(float))


def test_the_widget_function_can_be_called_again() -> None:
    import microgrid as mg
    from microgrid import playground

    X, Y = mg.data.moons(m=40, seed=0)
    first = playground.widget(mg.nn.mlp([2, 3, 1], hidden="tanh", seed=0), X, Y.astype(float))
    second = playground.widget(None, X, Y.astype(float))  # importing its module did not replace it
    assert first.session is not second.session and second.session.step == 0
