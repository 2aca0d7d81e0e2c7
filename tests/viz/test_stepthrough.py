"""The step-through of backpropagation: frames, contributions, HTML page, SVG frames, GIF."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from pictures import central_difference, dot_edges, dot_nodes, lecture

import microgrid as mg
from microgrid.viz import dot
from microgrid.viz.diagram import DiagramTooLarge


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
        assert 'color="#ea580c"' in nodes[key] and "penwidth=3" in nodes[key]
    hidden = f'<FONT COLOR="{dot.GRADIENT_CELL}">'
    a_key = next(k for k, v in nodes.items() if "<B>a = 5</B>" in v)
    b_key = next(k for k, v in nodes.items() if "<B>b = 3</B>" in v)
    assert hidden not in nodes[current] and hidden not in nodes[steps.graph.key(J)]  # done: shown
    assert hidden not in nodes[a_key]  # v's op, add, was a's last consumer: final in this frame
    assert hidden + "<B>db = 6</B>" in nodes[b_key]  # not final yet: same text, invisible
    orange = sorted((t, h) for t, h, attrs in dot_edges(source) if "#ea580c" in attrs)
    u_key = next(k for k, v in nodes.items() if "<B>u = 6</B>" in v)
    assert orange == sorted([(a_key, f"op_{current}"), (u_key, f"op_{current}")])


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
