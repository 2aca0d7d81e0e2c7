"""The text view: the forward graph line by line and the walk step by step, with real names."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from pictures import lecture

import microgrid as mg


def test_the_forward_listing_shows_each_tensor_after_its_inputs_with_formula_and_value() -> None:
    J, *_ = lecture()
    lines = mg.draw(J).text().splitlines()
    names = [line.split()[0] for line in lines]
    assert names.index("b") < names.index("u") < names.index("v") < names.index("J")
    u_line = next(line for line in lines if line.startswith("u "))
    assert "= mul(b, c)" in u_line and "b · c" in u_line and "value 6" in u_line
    assert "du" not in u_line  # no backward has run: no gradient to show
    assert lines[lines.index(u_line) + 1] == "    db ← du · c;  dc ← du · b"  # its rules, in real names


def test_after_backward_the_listing_shows_the_stored_gradients() -> None:
    J, *_ = lecture()
    J.backward()
    a_line = next(line for line in mg.draw(J).text().splitlines() if line.startswith("a "))
    assert "parameter" in a_line and "da = 3" in a_line


def test_the_backward_text_is_the_walk_with_rules_in_real_names() -> None:
    J, *_ = lecture()
    text = mg.draw(J, show="backward").text()
    steps = [line for line in text.splitlines() if line.startswith("step")]
    assert steps == ["step 1: dJ = 1", "step 2: dv = 3", "step 3: du = 3"]  # the walk's order
    assert "mul sends dc ← du · b = 9" in text and "db = 6, final" in text
    assert len(steps) == len(list(mg.autograd.walk(J)))


def test_both_puts_the_listing_before_the_walk_and_needs_no_renderer(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from microgrid.viz import render

    monkeypatch.setattr(render, "find_renderer", lambda: None)
    J, *_ = lecture()
    text = mg.draw(J, show="both").text()
    listing, walk = text.split("\n\n")
    assert listing.splitlines()[-2:] == ["J = mul(3, v)   3 · v   value 33    dJ = 1", "    dv ← dJ · 3"]
    assert walk.startswith("step 1: dJ = 1")


def course_network() -> mg.Tensor:
    """mlp([2, 4, 1], tanh) with sigmoid cross-entropy on numpy data, as a learner writes it."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((2, 400)), (rng.random((1, 400)) > 0.5).astype(float)
    return mg.nn.sigmoid_cross_entropy(mg.nn.mlp([2, 4, 1], hidden="tanh", seed=1)(X), Y)


def test_the_network_listing_names_every_tensor_as_the_pictures_do() -> None:
    text = mg.draw(course_network()).text()
    assert "\n    dZ[1] ← dA[1] · (1 − A[1]²)\n" in text and text.endswith(
        "\n    dZ[2] ← dJ · (σ(Z[2]) − Y) / m"
    )
    lines = [line for line in text.splitlines() if not line.startswith(" ")]
    names = [line.split(" (")[0].split(" = ")[0] for line in lines]
    assert names == [
        "W[2]", "W[1]", "X", "W[1] @ X", "b[1]", "Z[1]", "A[1]", "W[2] @ A[1]", "b[2]", "Z[2]", "Y", "J",
    ]  # fmt: skip
    by_name = dict(zip(names, lines))
    assert "input   value (2, 400) min" in by_name["X"] and "parameter" in by_name["W[1]"]
    assert re.fullmatch(
        r"Z\[1\] \(4, 400\) = add\(W\[1\] @ X, b\[1\]\) +\(W\[1\] @ X\) \+ b\[1\]   value .*", by_name["Z[1]"]
    )
    assert re.fullmatch(
        r"J = sigmoid_cross_entropy\(Z\[2\], Y\) +mean\(softplus\(Z\[2\]\) − Z\[2\]·Y\)   value 0\.6\d+",
        by_name["J"],
    )


def test_the_network_walk_reads_as_the_course_equations() -> None:
    text = mg.draw(course_network(), show="backward").text()
    assert not re.search(r"\bd?t\d+\b|constant|\b[ab]ᵀ", text)  # no made-up names, no slot names
    for line in (
        "sigmoid_cross_entropy sends dZ[2] ← dJ · (σ(Z[2]) − Y) / m = (1, 400)",
        "step 3: d(W[2] @ A[1]) = dZ[2], passed on unchanged by add",
        "matmul sends dW[2] ← dZ[2] @ A[1]ᵀ = (1, 4)",
        "matmul sends dA[1] ← W[2]ᵀ @ dZ[2] = (4, 400)",
        "tanh sends dZ[1] ← dA[1] · (1 − A[1]²) = (4, 400)",
        "add sends db[1] ← dZ[1] = (4, 1)",
        "matmul sends dW[1] ← dZ[1] @ Xᵀ = (4, 2)",
    ):
        assert line in text


def test_the_text_needs_neither_graphviz_nor_a_renderer(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from microgrid.viz import render

    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` now fails
    monkeypatch.setattr(render, "find_renderer", lambda: None)
    drawn = mg.draw(course_network(), show="both")
    text = drawn.text()
    assert text.startswith("W[2] (1, 4)") and "step 6: d(W[1] @ X)" in text
    with pytest.raises(ImportError, match="pip install graphviz"):
        drawn.source  # noqa: B018 (the picture is what needs graphviz)
