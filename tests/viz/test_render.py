"""Rendering: finding Graphviz or graphviz-pure, SVG / PNG / PDF files, Jupyter display, no renderer.

Rendered pictures are checked by structure (nodes and clusters in the SVG), not by bytes: layouts
differ between Graphviz versions.
"""

from __future__ import annotations

import io
import shutil
import sysconfig
from pathlib import Path
from xml.etree import ElementTree

import pytest

import microgrid as mg
from microgrid.viz import render
from microgrid.viz.render import RendererNotFound

SVG = "{http://www.w3.org/2000/svg}"


def scoped_graph() -> mg.Tensor:
    with mg.scope("layer 1"):
        w = mg.tensor([1.0, -2.0], requires_grad=True, name="w")
        z = mg.tanh(w * 3.0)
        z.name = "z"
    J = z.sum()
    J.name = "J"
    return J


def svg_groups(svg: bytes | str, kind: str) -> list[ElementTree.Element]:
    """The <g class="node"> (or "cluster", "edge") groups of an SVG document."""
    root = ElementTree.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == kind]


@pytest.fixture
def no_renderer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with neither `dot` on PATH nor graphviz-pure beside Python."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path / "no-scripts"))


def test_a_renderer_is_found_after_the_readme_set_up() -> None:
    renderer = render.find_renderer()
    assert renderer is not None, "make test installs .[dev,demos,render]: graphviz-pure should be there"
    assert Path(renderer).name in ("dot", "graphviz-pure")


def test_svg_file_has_every_node_and_cluster_of_the_diagram(tmp_path: Path) -> None:
    drawn = mg.draw(scoped_graph(), legend=False)
    path = drawn.render(tmp_path / "graph.svg")
    assert path == tmp_path / "graph.svg"
    svg = path.read_bytes()
    assert len(svg_groups(svg, "node")) == drawn.node_count == 8  # w, 3, w·3, z, J; mul, tanh, sum
    clusters = svg_groups(svg, "cluster")
    assert len(clusters) == 1
    assert "layer 1" in "".join(clusters[0].itertext())
    assert len(svg_groups(svg, "edge")) == 2 + 1 + 1 + 1 + 1 + 1


@pytest.mark.parametrize(
    ("name", "format", "magic"),
    [
        ("graph.png", None, b"\x89PNG"),
        ("graph.pdf", None, b"%PDF"),
        ("graph", "png", b"\x89PNG"),
        ("graph.out", "svg", b"<?xml"),
        ("graph.dot", None, b"digraph"),
    ],
)
def test_files_in_each_format_from_the_suffix_or_the_format_argument(
    tmp_path: Path, name: str, format: str | None, magic: bytes
) -> None:
    path = mg.draw(scoped_graph()).render(tmp_path / name, format=format)
    assert path.exists() and path.read_bytes().startswith(magic)
    if "." not in name:
        assert path.suffix == f".{format}"


def graphviz_pure() -> str:
    return shutil.which("graphviz-pure") or str(Path(sysconfig.get_path("scripts")) / "graphviz-pure")


def test_pdf_without_graphviz_or_cairosvg_is_the_png_on_a_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render, "find_renderer", graphviz_pure)
    monkeypatch.setattr(render, "cairosvg", lambda: None)
    assert not render.makes_pdf(graphviz_pure())
    pdf = render.pipe(mg.draw(scoped_graph()).source, "pdf")
    assert pdf.startswith(b"%PDF") and b"/Image" in pdf  # a raster page, as documented


def test_with_graphviz_pure_png_and_pdf_are_its_svg_drawn_by_cairo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """graphviz-pure's own PNG lacks ⊙, ✓, ✗: PNG and PDF come from its SVG, with DejaVu Sans."""
    from PIL import Image

    if render.cairosvg() is None:
        pytest.skip("cairosvg (dev extra) or the cairo library it loads is missing")
    monkeypatch.setattr(render, "find_renderer", graphviz_pure)
    source = mg.draw(scoped_graph()).source
    pdf = render.pipe(source, "pdf")
    assert pdf.startswith(b"%PDF") and b"/Image" not in pdf  # vector: text and paths
    root = ElementTree.fromstring(render.pipe(source, "svg"))
    width, height = (float(root.get(side, "").removesuffix("pt")) * 4 / 3 for side in ("width", "height"))
    png = Image.open(io.BytesIO(render.pipe(source, "png")))
    assert png.size == (pytest.approx(width, abs=1), pytest.approx(height, abs=1))


def test_unknown_formats_are_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be one of svg, png, pdf, dot, got 'jpg'"):
        mg.draw(scoped_graph()).render(tmp_path / "graph.jpg")


def test_jupyter_displays_the_svg() -> None:
    drawn = mg.draw(scoped_graph())
    bundle = drawn._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"]
    nodes = [g.findtext(f"{SVG}title") for g in svg_groups(bundle["image/svg+xml"], "node")]
    assert len([title for title in nodes if title != "legend"]) == drawn.node_count
    assert "legend" in "".join(ElementTree.fromstring(bundle["image/svg+xml"]).itertext())
    assert drawn._repr_svg_() == bundle["image/svg+xml"]


@pytest.mark.usefixtures("no_renderer")
def test_without_a_renderer_the_dot_file_is_written_and_the_error_says_how_to_get_one(tmp_path: Path) -> None:
    assert render.find_renderer() is None
    drawn = mg.draw(scoped_graph())
    with pytest.raises(
        RendererNotFound, match=r"pip install \".*microgrid\[draw\]\".*apt install graphviz"
    ) as error:
        drawn.render(tmp_path / "graph.png")
    fallback = tmp_path / "graph.dot"
    assert fallback.read_text() == drawn.source
    assert str(fallback) in str(error.value)
    assert drawn._repr_svg_() is None  # Jupyter then falls back to the text below
    assert "microgrid[draw]" in drawn._repr_mimebundle_()["text/plain"]
    assert drawn.render(tmp_path / "only.dot").read_text() == drawn.source  # DOT needs no renderer


def test_a_renderer_error_is_reported_with_its_message() -> None:
    with pytest.raises(RuntimeError, match="failed: .*"):
        render.pipe("digraph { a -> }", "svg")
