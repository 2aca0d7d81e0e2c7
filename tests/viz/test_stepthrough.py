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
from microgrid.viz import diagram


def test_one_frame_per_reverse_topological_step_after_the_forward_frame() -> None:
    J, *_ = lecture()
    frames = mg.step_through(J).frames
    assert len(frames) == 1 + 6  # the forward frame, then J, v, u, a, b, c
    assert frames[0].key is None and "J = 33" in frames[0].title
    assert frames[1].title == "Step 1 of 6: dJ is final" and "seed" in frames[1].lines[0]
    finalised = [re.search(r": (d\w+) is final", f.title).group(1) for f in frames[1:]]  # type: ignore[union-attr]
    # Reverse topological: a gradient is final only after every consumer's.
    assert finalised.index("dJ") < finalised.index("dv") < finalised.index("du") < finalised.index("db")
    assert finalised.index("dv") < finalised.index("da")


def test_each_frame_shows_the_local_derivative_and_gradients_match_finite_differences() -> None:
    J, *_ = lecture()
    frames = {f.title.split(": ")[1]: f for f in mg.step_through(J).frames[1:]}

    def J_of(a: float = 5.0, b: float = 3.0, c: float = 2.0) -> float:
        return 3 * (a + b * c)

    numerical = {
        "da is final": central_difference(lambda x: J_of(a=x), 5.0),
        "db is final": central_difference(lambda x: J_of(b=x), 3.0),
        "dc is final": central_difference(lambda x: J_of(c=x), 2.0),
    }
    for title, expected in numerical.items():
        assert frames[title].gradient.item() == pytest.approx(expected)  # type: ignore[union-attr]
    db = frames["db is final"]
    assert db.lines[0].startswith("from u = mul(a=b, b=c): d/da = g · b with g = du")  # b·c: b is input a
    dv = frames["dv is final"]
    assert "from J = mul(a=3, b=v): d/db = g · a" in dv.lines[0]


def test_accumulation_lists_each_consumer_and_the_sum() -> None:
    x = mg.tensor(3.0, requires_grad=True, name="x")
    J = x * x + 2 * x  # x reaches J three times: twice through one mul, once through the other
    J.name = "J"
    frame = next(f for f in mg.step_through(J).frames if f.title.endswith("dx is final"))
    assert len(frame.contributions) == 3
    assert [line.split(" = ")[0] for line in frame.lines[:3]] == ["from t1", "from t1", "from t2"]
    assert frame.lines[3].startswith("accumulated: dx = the sum of these 3 contributions")
    total = sum(c.item() for c in frame.contributions)
    assert total == pytest.approx(central_difference(lambda v: v * v + 2 * v, 3.0))
    assert frame.gradient.item() == pytest.approx(total)  # type: ignore[union-attr]


def test_a_broadcast_contribution_is_summed_back_and_says_so() -> None:
    b = mg.tensor([[1.0], [2.0]], requires_grad=True, name="b")
    Z = mg.tensor(np.ones((2, 5)), name="X") + b
    J = (Z * Z).sum()
    J.name = "J"
    frame = next(f for f in mg.step_through(J).frames if f.title.endswith("db is final"))
    assert "summed over broadcast axes (2, 5) → (2, 1)" in frame.lines[0]
    np.testing.assert_allclose(frame.contributions[0].data, 2 * (1 + b.data) * 5)  # Σ over 5 columns of 2Z


def test_frames_highlight_the_current_node_and_hide_gradients_still_to_come() -> None:
    J, *_ = lecture()
    steps = mg.step_through(J)
    index = next(i for i, f in enumerate(steps.frames) if f.title.endswith("du is final"))
    source = steps.source(index)
    nodes = dot_nodes(source)
    current = steps.frames[index].key
    assert current is not None and 'color="#ea580c"' in nodes[current] and "penwidth=3" in nodes[current]
    hidden = f'<FONT COLOR="{diagram.GRADIENT_CELL}">'
    assert hidden not in nodes[current] and hidden not in nodes[steps.graph.key(J)]  # done: shown
    a_key = next(k for k, v in nodes.items() if "<B>a = 5</B>" in v)
    assert hidden + "<B>da = 3</B>" in nodes[a_key]  # not final yet: same text, invisible
    orange = [(t, h) for t, h, attrs in dot_edges(source) if "#ea580c" in attrs]
    assert orange == [
        (current, "op_" + steps.graph.key(next(t for t in steps.graph.tensors if t.name == "v")))
    ]


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
    assert [p.name for p in paths] == [f"step_{i}.svg" for i in range(7)]
    for path, frame in zip(paths, steps.frames):
        root = ElementTree.parse(path).getroot()
        text = " ".join(root.itertext())
        assert frame.title in text


def test_gif_has_one_frame_per_step_all_the_same_size(tmp_path: Path) -> None:
    from PIL import Image

    J, *_ = lecture()
    path = mg.step_through(J).save_gif(tmp_path / "steps.gif", seconds_per_frame=0.5)
    gif = Image.open(io.BytesIO(path.read_bytes()))
    assert gif.n_frames == 7
    sizes = set()
    for index in range(gif.n_frames):
        gif.seek(index)
        sizes.add(gif.size)
    assert len(sizes) == 1


def test_step_through_refuses_large_graphs_and_tensors_without_a_graph() -> None:
    x = mg.tensor(1.0, requires_grad=True)
    for _ in range(200):
        x = x * 1.0
    with pytest.raises(diagram.DiagramTooLarge, match="max_nodes=150"):
        mg.step_through(x)
    with pytest.raises(mg.GradError, match="does not require grad"):
        mg.step_through(mg.tensor(1.0) * 2)
