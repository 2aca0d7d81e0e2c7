"""Pictures at slide size: the smallest text of a picture shrunk to fit 1280×720 px, and its glyphs.

A picture W×H px (the SVG's size in pt × 4/3) shown whole on a 1280×720 slide is scaled by
min(1280 / W, 720 / H); text of font-size s pt is then s × 4/3 × scale px high. Below about 9 px a
back row cannot read it.
"""

from __future__ import annotations

import html
import io
import os
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from microgrid.demos.gradcheck import WrongTanh

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
