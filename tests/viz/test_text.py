"""The text view: the forward graph line by line and the walk step by step, with real names."""

from __future__ import annotations

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
    assert listing.splitlines()[-1].startswith("J ") and walk.startswith("step 1: dJ = 1")
