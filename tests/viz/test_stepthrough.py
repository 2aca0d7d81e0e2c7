"""The step-through of backpropagation: frames, contributions, HTML page, SVG frames, GIF."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
from pictures import central_difference, dot_edges, dot_nodes, lecture

import microgrid as mg
from microgrid.viz import dot
from microgrid.viz.diagram import DiagramTooLarge
from microgrid.viz.stepthrough import StepThrough


def issue_example() -> tuple[mg.Tensor, dict[str, mg.Tensor]]:
    """w = c·d, u = a·b, J = 2u + 3w: the walk visits J, 3w, 2u, u, w (newest first)."""
    a, b, c, d = (mg.tensor(v, requires_grad=True, name=n) for v, n in zip((1.0, 2.0, 3.0, 4.0), "abcd"))
    w = c * d
    w.name = "w"
    u = a * b
    u.name = "u"
    two_u, three_w = 2 * u, 3 * w
    two_u.name, three_w.name = "2u", "3w"
    J = two_u + three_w
    J.name = "J"
    return J, {"a": a, "b": b, "c": c, "d": d, "u": u, "w": w, "2u": two_u, "3w": three_w}


def test_frames_follow_the_engines_walk_and_finish_each_leaf_at_its_last_consumer() -> None:
    J, _ = issue_example()
    steps = mg.step_through(J)
    frames = steps.frames
    assert frames[0].key is None and "J = 40" in frames[0].title  # 2·(1·2) + 3·(3·4)
    visited = [f.step.tensor for f in frames[1:]]  # type: ignore[union-attr]
    assert visited == [step.tensor for step in mg.autograd.walk(J)]
    assert [t.name for t in visited] == ["J", "3w", "2u", "u", "w"]
    assert [f.title for f in frames[1:3]] == ["Step 1 of 5: dJ is final", "Step 2 of 5: d(3w) is final"]
    finished = {
        t.name: [steps.graph.name(leaf) for leaf, _ in f.step.finished] for f, t in zip(frames[1:], visited)
    }  # type: ignore[union-attr]
    assert finished == {"J": [], "3w": [], "2u": [], "u": ["a", "b"], "w": ["c", "d"]}
    assert "the seed" in frames[1].lines[0]


def test_each_frame_spells_the_rule_in_real_names_and_gradients_match_finite_differences() -> None:
    J, *_ = lecture()
    frames = {f.title.split(": ")[1]: f for f in mg.step_through(J).frames[1:]}

    def J_of(a: float = 5.0, b: float = 3.0, c: float = 2.0) -> float:
        return 3 * (a + b * c)

    du = frames["du is final"]
    assert du.lines[1:3] == ["mul sends db ← du · c = 6", "mul sends dc ← du · b = 9"]
    assert "mul sends dv ← dJ · 3 = 3" in frames["dJ is final"].lines
    found = {
        c.input.name: c.grad.item() for f in frames.values() for c in f.contributions if c.input.op is None
    }
    for name, x in (("a", 5.0), ("b", 3.0), ("c", 2.0)):
        expected = central_difference(lambda v, name=name: J_of(**{name: v}), x)
        assert found[name] == pytest.approx(expected)


def test_a_leaf_used_several_times_is_finished_with_the_sum_of_its_contributions() -> None:
    x = mg.tensor(3.0, requires_grad=True, name="x")
    J = x * x + 2 * x  # x reaches J three times: twice through one mul, once through the other
    J.name = "J"
    steps = mg.step_through(J)
    last = steps.frames[-1]
    assert [leaf.name for leaf, _ in last.step.finished] == ["x"]  # type: ignore[union-attr]
    parts = [c.grad.item() for f in steps.frames[1:] for c in f.contributions if c.input is x]
    assert sorted(parts) == [2.0, 3.0, 3.0]
    assert last.lines[-1].startswith("dx = 2 + 3 + 3 = 8: the sum of the 3 contributions")
    assert sum(parts) == pytest.approx(central_difference(lambda v: v * v + 2 * v, 3.0))


def test_a_broadcast_contribution_is_summed_back_and_says_so() -> None:
    b = mg.tensor([[1.0], [2.0]], requires_grad=True, name="b")
    Z = mg.tensor(np.ones((2, 5)), name="X") + b
    J = (Z * Z).sum()
    J.name = "J"
    frame = next(f for f in mg.step_through(J).frames if any(c.input is b for c in f.contributions))
    line = next(line for line in frame.lines if "sends db" in line)
    assert line.endswith("summed over broadcast axes (2, 5) → (2, 1)")
    (contribution,) = [c for c in frame.contributions if c.input is b]
    np.testing.assert_allclose(contribution.grad.data, 2 * (1 + b.data) * 5)  # Σ over 5 columns of 2Z


def test_frames_highlight_the_visited_node_and_its_op_and_hide_gradients_still_to_come() -> None:
    J, *_ = lecture()
    steps = mg.step_through(J)
    index = next(i for i, f in enumerate(steps.frames) if f.title.endswith("dv is final"))
    source = steps.source(index)
    nodes = dot_nodes(source)
    current = steps.frames[index].key
    assert current is not None
    for key in (current, f"op_{current}"):
        assert f'color="{dot.CURRENT["color"]}"' in nodes[key] and "penwidth=3" in nodes[key]
    hidden = f'<FONT COLOR="{dot.GRADIENT_CELL}">'
    a_key = next(k for k, v in nodes.items() if "<B>a = 5</B>" in v)
    b_key = next(k for k, v in nodes.items() if "<B>b = 3</B>" in v)
    assert hidden not in nodes[current] and hidden not in nodes[steps.graph.key(J)]  # done: shown
    assert hidden not in nodes[a_key]  # v's op, add, was a's last consumer: final in this frame
    assert hidden + "<B>db = 6</B>" in nodes[b_key]  # not final yet: same text, invisible
    lit = sorted((t, h) for t, h, attrs in dot_edges(source) if dot.CURRENT_EDGE["color"] in attrs)
    u_key = next(k for k, v in nodes.items() if "<B>u = 6</B>" in v)
    assert lit == sorted([(a_key, f"op_{current}"), (u_key, f"op_{current}"), (f"op_{current}", current)])


def test_the_layout_is_the_same_in_every_frame() -> None:
    J, *_ = lecture()
    svgs = mg.step_through(J).rendered("svg")
    positions = [re.findall(r'<text[^>]* x="([-\d.]+)" y="([-\d.]+)"', svg.decode()) for svg in svgs]
    assert all(p == positions[0] for p in positions[1:]) and len(positions[0]) > 10


def test_html_is_self_contained_with_every_frame_and_controls(tmp_path: Path) -> None:
    J, *_ = lecture()
    steps = mg.step_through(J)
    page = steps.save_html(tmp_path / "steps.html").read_text()
    assert page.count('<div class="frame" hidden><svg') == len(steps.frames)
    assert (
        'id="previous"' in page
        and 'id="next"' in page
        and f'type="range" min="0" max="{len(steps.frames) - 1}"' in page
    )
    # No network access: nothing is loaded from elsewhere (the xmlns names are not fetched).
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert "@import" not in page and "url(" not in page
    outside = re.sub(r'xmlns(:xlink)?="[^"]*"', "", page)
    assert "http" not in outside.replace("http-equiv", "")
    captions = json.loads(re.search(r"const captions = (.*);\n", page).group(1))  # type: ignore[union-attr]
    assert [c["title"] for c in captions] == [f.title for f in steps.frames]
    assert len(set(re.findall(r'id="(f\d+_[^"]+)"', page))) == len(re.findall(r'id="(f\d+_[^"]+)"', page))


def test_numbered_svg_frames_carry_their_captions(tmp_path: Path) -> None:
    J, *_ = lecture()
    steps = mg.step_through(J)
    paths = steps.save_svgs(tmp_path / "frames")
    assert [p.name for p in paths] == [f"step_{i}.svg" for i in range(4)]  # forward, then J, v, u
    for path, frame in zip(paths, steps.frames):
        root = ElementTree.parse(path).getroot()
        text = " ".join(root.itertext())
        assert frame.title in text


def test_gif_has_one_frame_per_step_all_the_same_size(tmp_path: Path) -> None:
    from PIL import Image

    J, *_ = lecture()
    path = mg.step_through(J).save_gif(tmp_path / "steps.gif", seconds_per_frame=0.5)
    gif = Image.open(io.BytesIO(path.read_bytes()))
    assert gif.n_frames == len(list(mg.autograd.walk(J))) + 1
    sizes = set()
    for index in range(gif.n_frames):
        gif.seek(index)
        sizes.add(gif.size)
    assert len(sizes) == 1


def test_step_through_refuses_large_graphs_and_tensors_without_a_graph() -> None:
    x = mg.tensor(1.0, requires_grad=True)
    for _ in range(200):
        x = x * 1.0
    with pytest.raises(DiagramTooLarge, match="max_nodes=150"):
        mg.step_through(x)
    with pytest.raises(mg.GradError, match="does not require grad"):
        mg.step_through(mg.tensor(1.0) * 2)


# --- the 2-layer network: order, arrows, options ---------------------------------------------------


def two_layer() -> mg.Tensor:
    """`mlp([2, 4, 1], hidden="tanh")` with sigmoid cross-entropy on 40 examples."""
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.uniform(-1.5, 1.5, (2, 40)), name="X")
    Y = mg.tensor((X.data[:1] * X.data[1:2] > 0).astype(float), name="Y")
    return mg.nn.sigmoid_cross_entropy(mg.nn.mlp([2, 4, 1], hidden="tanh", seed=0)(X), Y)


def test_dW2_is_final_before_dW1_in_the_order_of_the_engines_walk() -> None:
    J = two_layer()
    steps = mg.step_through(J)
    finished_at = {
        steps.graph.name(leaf): index
        for index, f in enumerate(steps.frames[1:], start=1)
        for leaf, _ in f.step.finished
    }  # type: ignore[union-attr]
    assert finished_at["W[2]"] < finished_at["W[1]"] and finished_at["b[2]"] < finished_at["b[1]"]
    walked = [[leaf.name for leaf, _ in step.finished] for step in mg.autograd.walk(J)]
    assert [[steps.graph.name(leaf) for leaf, _ in f.step.finished] for f in steps.frames[1:]] == walked  # type: ignore[union-attr]


def test_the_highlighted_arrows_point_the_way_the_gradient_flows() -> None:
    J, *_ = lecture()
    steps = mg.step_through(J)
    index = next(i for i, f in enumerate(steps.frames) if f.title.endswith("du is final"))
    source = steps.source(index)
    lit = [(t, h, attrs) for t, h, attrs in dot_edges(source) if dot.CURRENT_EDGE["color"] in attrs]
    current = steps.frames[index].key
    # b -> mul, c -> mul and mul -> u, each drawn with its arrowhead at the tail: u to mul to b, c.
    assert sorted(h for _, h, _ in lit).count(f"op_{current}") == 2
    assert any(t == f"op_{current}" and h == current for t, h, _ in lit)
    assert all("dir=back" in attrs for _, _, attrs in lit) and len(lit) == 3


def test_collapsed_frames_light_the_layer_the_walk_is_in_and_tb_draws_top_to_bottom() -> None:
    steps = mg.step_through(two_layer(), collapse=True, rankdir="TB")
    assert "rankdir=TB" in steps.source(0)
    lit = []
    for index in range(1, len(steps.frames)):
        nodes = steps.frame_picture(index).nodes
        lit.append([node.title for node in nodes.values() if node.current])
        assert [nodes[key].title for key in steps.focus(index)] == sorted(lit[-1], key=lambda t: t != "op")
    assert all(lit)  # every step lights what it visits: a node, or the box of its layer
    layers = [titles for titles in lit if titles in (["layer 1"], ["layer 2"])]
    assert layers.index(["layer 2"]) < layers.index(["layer 1"])  # back from layer 2 to layer 1


def test_jupyter_shows_the_page_inline_in_a_frame_of_its_own() -> None:
    J, *_ = lecture()
    steps = mg.step_through(J)
    shown = steps._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "</iframe>" in shown
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', shown).group(1))  # type: ignore[union-attr]
    assert srcdoc == steps.html()


# --- the page in a browser ---------------------------------------------------------------------------

# The `browser` fixture (headless Chromium, or a skip outside CI) is in tests/conftest.py.


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StepThrough]:
    steps = mg.step_through(two_layer())
    return steps.save_html(tmp_path_factory.mktemp("page") / "steps.html"), steps


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    return page


def shown_frame(page: Any) -> int:
    return int(page.evaluate("[...document.querySelectorAll('.frame')].findIndex((f) => !f.hidden)"))


def test_arrow_keys_step_through_the_frames_and_the_address_follows(
    browser: Any, page_file: tuple[Path, StepThrough]
) -> None:
    path, steps = page_file
    page = open_page(browser, path.as_uri())
    assert shown_frame(page) == 0
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert shown_frame(page) == 2 and page.url.endswith("#frame=2")
    assert page.inner_text("#caption h2") == steps.frames[2].title
    page.keyboard.press("ArrowLeft")
    assert shown_frame(page) == 1
    page.keyboard.press("End")
    assert shown_frame(page) == len(steps.frames) - 1
    page.close()


def test_frame_n_in_the_address_opens_frame_n(browser: Any, page_file: tuple[Path, StepThrough]) -> None:
    path, steps = page_file
    page = open_page(browser, f"{path.as_uri()}#frame=4")
    assert shown_frame(page) == 4 and page.inner_text("#caption h2") == steps.frames[4].title
    page.close()


def test_the_current_node_is_scrolled_into_view_at_a_readable_size(
    browser: Any, page_file: tuple[Path, StepThrough]
) -> None:
    path, steps = page_file
    page = open_page(browser, path.as_uri())
    view = page.locator("#view").bounding_box()
    for index in range(1, len(steps.frames)):
        page.evaluate(f"show({index})")
        key = steps.focus(index)[0]
        box = page.locator(f".frame:not([hidden]) g.node:has(> title:text-is('{key}'))").bounding_box()
        assert box is not None
        inside = (
            view["x"] <= box["x"] + box["width"] / 2 <= view["x"] + view["width"]
            and view["y"] <= box["y"] + box["height"] / 2 <= view["y"] + view["height"]
        )
        assert inside, f"frame {index}: node {key} at {box} is outside the view {view}"
    # Not shrunk to fit: the SVG is drawn at its own size, 1 pt of it = 4/3 px.
    svg = page.locator(".frame:not([hidden]) svg")
    width_pt = float(svg.get_attribute("width").removesuffix("pt"))
    assert svg.bounding_box()["width"] == pytest.approx(width_pt * 4 / 3, rel=0.01)
    assert width_pt * 4 / 3 > view["width"], "the 2-layer picture is wider than the page: it scrolls"
    page.close()


def test_a_gradient_passed_on_unchanged_is_named_both_ways_in_its_caption() -> None:
    # add passes dZ[2] on to W[2] @ A[1] unchanged; matmul's rules then read dZ[2], so the caption
    # of the step that completes d(W[2] @ A[1]) says the two are one gradient.
    steps = mg.step_through(two_layer())
    (frame,) = [f for f in steps.frames if f.title.endswith("d(W[2] @ A[1]) is final")]
    assert frame.lines[0].startswith("d(W[2] @ A[1]) = dZ[2] = ")
    assert any("dW[2] ← dZ[2] @ A[1]ᵀ" in line for line in frame.lines)
