"""Pictures at slide size: the smallest text of a picture shrunk to fit 1280×720 px, and its glyphs.

A picture W×H px (the SVG's size in pt × 4/3) shown whole on a 1280×720 slide is scaled by
min(1280 / W, 720 / H); text of font-size s pt is then s × 4/3 × scale px high. Below about 9 px a
back row cannot read it.
"""

from __future__ import annotations

import html
import io
import itertools
import os
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from microgrid.demos.gradcheck import WrongTanh
from pictures import lecture

import microgrid as mg
from microgrid.viz import dot, render
from microgrid.viz.render import slide_text_size

SVG = "{http://www.w3.org/2000/svg}"
PT_TO_PX = 4 / 3


def network(sizes: list[int], m: int = 400) -> mg.Tensor:
    """The course's network `sizes` with tanh hidden layers and sigmoid cross-entropy on m examples."""
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.uniform(-1.5, 1.5, (sizes[0], m)), name="X")
    Y = mg.tensor((X.data[:1] * X.data[1:2] > 0).astype(float), name="Y")
    return mg.nn.sigmoid_cross_entropy(mg.nn.mlp(sizes, hidden="tanh", seed=0)(X), Y)


@pytest.mark.parametrize(
    ("sizes", "options", "readable"),
    [
        ([2, 4, 1], {"show": "backward"}, 9.0),
        ([2, 4, 1], {"show": "both", "collapse": True}, 9.0),
        ([2] + [8] * 9 + [1], {"show": "both", "collapse": True}, 7.0),
    ],
    ids=["2-layer backward", "2-layer collapsed both", "10-layer collapsed both"],
)
def test_text_stays_readable_when_the_picture_is_shown_on_a_slide(
    sizes: list[int], options: dict[str, object], readable: float
) -> None:
    svg = mg.draw(network(sizes), **options).svg()  # type: ignore[arg-type]
    assert all(text.get("font-size") for text in ElementTree.fromstring(svg).iter(f"{SVG}text"))
    assert slide_text_size(svg) >= readable


def test_the_measure_sees_a_picture_too_wide_for_a_slide() -> None:
    wide = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="3840pt" height="100pt">'
        '<text font-size="10">x</text></svg>'
    )
    assert slide_text_size(wide) == pytest.approx(10 * PT_TO_PX * 1280 / (3840 * PT_TO_PX))


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_collapsed_layers_line_up_each_backward_level_with_its_forward(rankdir: str) -> None:
    """LR: each layer's backward box under its forward box; TB: beside it, to the right. The
    forward layers in one row (column), no staircase."""
    svg = mg.draw(network([2] + [8] * 4 + [1]), show="both", collapse=True, rankdir=rankdir).svg()
    centres = {}
    for group in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        texts = [t.text for t in group.iter(f"{SVG}text") if t.text]
        shape = group.find(f"{SVG}polygon")
        if group.get("class") == "node" and texts and shape is not None:
            corners = [tuple(map(float, point.split(","))) for point in shape.get("points", "").split()]
            xs, ys = [x for x, _ in corners], [y for _, y in corners]
            centres[texts[0]] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    along, across = (0, 1) if rankdir == "LR" else (1, 0)  # the axis of the flow, and the other
    forward = [centres[f"layer {layer}"] for layer in range(1, 6)]
    backward = [centres[f"layer {layer} (backward)"] for layer in range(1, 6)]
    for f, b in zip(forward, backward):
        assert b[along] == pytest.approx(f[along], abs=1.0) and b[across] > f[across]
    for row in (forward, backward):
        spread = [point[across] for point in row]
        assert max(spread) - min(spread) < 20
    assert [f[along] for f in forward] == sorted(f[along] for f in forward)  # layer 1 first


def cluster_boxes(svg: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each cluster's label and its box (left, right, top, bottom) in the SVG's coordinates."""
    found = []
    for group in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        outline = group.find(f"{SVG}path")
        if group.get("class") == "cluster" and outline is not None:
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", outline.get("d", ""))]
            xs, ys = numbers[0::2], numbers[1::2]
            label = " ".join(t.text or "" for t in group.iter(f"{SVG}text"))
            found.append((label, (min(xs), max(xs), min(ys), max(ys))))
    return found


@pytest.mark.parametrize("show", ["backward", "both"])
def test_a_layers_clusters_stack_without_a_staircase(show: str) -> None:
    """Top to bottom, the 2-layer network's clusters of each part are stacked, each overlapping
    the next across most of its width (a staircase shifts each one aside, past the last)."""
    svg = mg.draw(network([2, 4, 1]), show=show, rankdir="TB").svg()  # type: ignore[arg-type]
    boxes = cluster_boxes(svg)
    parts = [box for label, box in boxes if label in ("forward", "backward: gradients flow bottom to top")]
    layers = [(label, box) for label, box in boxes if label in ("layer 1", "layer 2", "cost")]
    assert len(layers) == 3 * max(len(parts), 1)
    for part in parts or [(-np.inf, np.inf, -np.inf, np.inf)]:
        inside = sorted(
            (box for _, box in layers if part[0] <= box[0] and box[1] <= part[1]), key=lambda box: box[2]
        )
        assert len(inside) == 3
        for upper, lower in itertools.pairwise(inside):
            assert upper[3] <= lower[2], "clusters share a rank"
            overlap = min(upper[1], lower[1]) - max(upper[0], lower[0])
            assert overlap >= 0.6 * min(upper[1] - upper[0], lower[1] - lower[0]), (upper, lower)


def arrow_labels_over_nodes(svg: str) -> dict[str, list[str]]:
    """Each arrow label's text, and the titles of the nodes its text overlaps (an estimate of its
    extent: DejaVu Sans averages under 0.6 em a character)."""
    root = ElementTree.fromstring(svg)
    nodes = []
    for group in root.iter(f"{SVG}g"):
        # (the first shape inside: a node with a tooltip wraps it in a link)
        outline = next(group.iter(f"{SVG}polygon"), None)
        outline = outline if outline is not None else next(group.iter(f"{SVG}path"), None)
        ellipse = next(group.iter(f"{SVG}ellipse"), None)
        if group.get("class") != "node" or (outline is None and ellipse is None):
            continue
        if outline is not None:
            numbers = [
                float(n)
                for n in re.findall(r"-?\d+(?:\.\d+)?", outline.get("points") or outline.get("d", ""))
            ]
            xs, ys = numbers[0::2], numbers[1::2]
            box = (min(xs), max(xs), min(ys), max(ys))
        else:
            cx, cy, rx, ry = (float(ellipse.get(k, 0)) for k in ("cx", "cy", "rx", "ry"))
            box = (cx - rx, cx + rx, cy - ry, cy + ry)
        nodes.append((next((t.text for t in group.iter(f"{SVG}text") if t.text), ""), box))
    found = {}
    for group in root.iter(f"{SVG}g"):
        for text in group.iter(f"{SVG}text") if group.get("class") == "edge" else ():
            x, y, size = (float(text.get(k, 0)) for k in ("x", "y", "font-size"))
            half = 0.6 * size * len(text.text or "") / 2
            extent = (x - half, x + half, y - 0.75 * size, y + 0.2 * size)  # text-anchor middle
            found[text.text or ""] = [
                title
                for title, (left, right, top, bottom) in nodes
                if extent[0] < right and left < extent[1] and extent[2] < bottom and top < extent[3]
            ]
    return found


def test_arrow_labels_stay_clear_of_the_nodes() -> None:
    """The lecture's `du = dv · 1` and the collapsed layers' dZ[2], dA[1] are drawn clear of every
    node; in a row of 10 layers, the box that gives a gradient names it (`gives dA[8]`), since a
    label on each arrow would widen every gap past what a slide can show."""
    J, *_ = lecture()
    for picture, expected in (
        (mg.draw(J, show="backward"), {"du = dv · 1", "da = dv · 1"}),
        (mg.draw(J, show="both"), {"du = dv · 1", "da = dv · 1"}),
        (mg.draw(network([2, 4, 1]), show="both", collapse=True), {"dZ[2]", "dA[1]"}),
    ):
        labels = arrow_labels_over_nodes(picture.svg())
        assert set(labels) == expected
        assert not any(labels.values()), labels
    deep = mg.draw(network([2] + [8] * 9 + [1]), show="both", collapse=True).source
    assert 'label="dA[' not in deep and "xlabel" not in deep
    assert "gives dA[8]" in deep and "gives dZ[10]" in deep


# --- glyphs ----------------------------------------------------------------------------------------


def rasterised(character: str, family: str, weight: str) -> bytes:
    """`character` drawn alone by cairosvg, as raw pixels."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" '
        f'fill="white"/><text x="6" y="36" font-family="{family}" font-weight="{weight}" '
        f'font-size="30">{html.escape(character)}</text></svg>'
    )
    from PIL import Image

    cairosvg = render.cairosvg()
    if cairosvg is None or not any(Path("/usr/share/fonts").rglob("DejaVuSans.ttf")):
        missing = "cairosvg (dev extra) and the cairo library, and DejaVu Sans (fonts-dejavu-core)"
        if os.environ.get("CI"):
            pytest.fail(f"the glyph check needs {missing} on CI")
        pytest.skip(f"the glyph check needs {missing}")
    return Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg.encode()))).convert("L").tobytes()


def missing_glyphs(svg: str) -> set[str]:
    """The characters of the SVG's text that its fonts draw as the empty box (.notdef)."""
    found = set()
    for text in ElementTree.fromstring(svg).iter(f"{SVG}text"):
        family, weight = text.get("font-family", ""), text.get("font-weight", "normal")
        notdef = rasterised("\ue000", family, weight)  # a private-use character: no font has it
        for character in set("".join(text.itertext())) - set(" "):
            if rasterised(character, family, weight) == notdef:
                found.add(character)
    return found


def test_the_glyph_check_finds_a_character_the_font_lacks() -> None:
    lacking = '<svg xmlns="http://www.w3.org/2000/svg"><text font-family="DejaVu Sans">a\ue001</text></svg>'
    assert missing_glyphs(lacking) == {"\ue001"}


def test_the_font_has_the_course_notation() -> None:
    notation = (
        f'<svg xmlns="http://www.w3.org/2000/svg"><text font-family="{dot.FONT}">ᵀ²⊙σ−·✓✗←→Σ</text></svg>'
    )
    bold = notation.replace("<text ", '<text font-weight="bold" ')
    assert missing_glyphs(notation) == set() and missing_glyphs(bold) == set()


def test_every_character_of_the_pictures_has_a_glyph_in_their_font() -> None:
    J = network([2, 4, 1])
    w = mg.tensor([[0.5, -1.0]], requires_grad=True, name="w")
    X = mg.tensor([[1.0, 2.0], [3.0, -1.0]], name="X")
    report = mg.gradcheck(lambda w: (WrongTanh.apply(w @ X) + mg.tanh(w @ X)).sum(), [w])
    checked = (WrongTanh.apply(w @ X) + mg.tanh(w @ X)).sum()
    pictures = [
        mg.draw(J, show="backward").svg(),
        mg.draw(J, show="both", collapse=True).svg(),
        mg.draw(checked, gradcheck=report).svg(),
    ]
    text = "".join("".join(ElementTree.fromstring(svg).itertext()) for svg in pictures)
    assert {"ᵀ", "✗"} <= set(text), "the pictures use the characters this test is about"
    for svg in pictures:
        assert f'font-family="{dot.FONT}"' in svg
        assert missing_glyphs(svg) == set()
