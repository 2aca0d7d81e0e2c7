"""DOT text to SVG, PNG or PDF with whichever Graphviz is at hand, no root needed.

The renderer is the system's `dot` when it is on PATH (full Graphviz: every format, vector PDF),
else the static `graphviz-pure` binary that microgrid's draw extra puts beside Python.
graphviz-pure lays out with DejaVu Sans's metrics but draws PNG with fonts of its own that lack
⊙, ✓ and ✗, so its SVG is the picture: PNG and (vector) PDF are that SVG drawn by cairosvg with
the system's DejaVu Sans. Without cairosvg (or the cairo library it needs), PNG is graphviz-pure's
own and a PDF is that PNG at 200 dpi wrapped by Pillow: a raster page, honest about being one.
With no renderer at all, the DOT file is still written and RendererNotFound says how to get one.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from microgrid.errors import install_extra

FORMATS = ("svg", "png", "pdf", "dot")
SLIDE = (1280, 720)  # px: a picture is judged shown whole on a slide this size
PT_TO_PX = 4 / 3  # SVG sizes are in pt; 1 pt is 4/3 px at 96 px per inch
PDF_DPI = 200  # resolution of the PNG inside a PDF made without system Graphviz
TIMEOUT = 120  # seconds; a layout that takes longer is a graph to collapse, not to wait for

HOW_TO_GET_ONE = (
    f"install one without root: `{install_extra('draw')}` (the graphviz-pure binary; "
    "`make test` and `make docs-images` install it into .venv), or system Graphviz "
    "(`apt install graphviz`, `brew install graphviz` or `conda install graphviz`)"
)


class RendererNotFound(RuntimeError):
    """Neither a `dot` on PATH nor the graphviz-pure binary was found."""


def find_renderer() -> str | None:
    """The path of the program that lays out DOT: system `dot` first, then graphviz-pure."""
    candidates = (
        shutil.which("dot"),
        shutil.which("graphviz-pure"),
        os.path.join(sysconfig.get_path("scripts"), "graphviz-pure"),
    )
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def makes_pdf(renderer: str) -> bool:
    """True for full Graphviz (its PNG and PDF draw with the system's fonts); graphviz-pure has no
    PDF output and draws PNG with fonts of its own."""
    return not Path(renderer).name.startswith("graphviz-pure")


def pipe(source: str, format: str = "svg") -> bytes:
    """The picture described by DOT `source`, rendered in `format` (svg, png, pdf or dot)."""
    format = check_format(format)
    if format == "dot":
        return source.encode("utf-8")
    renderer = find_renderer()
    if renderer is None:
        raise RendererNotFound(f"no Graphviz renderer found to make {format}; {HOW_TO_GET_ONE}")
    if format == "svg" or makes_pdf(renderer):
        return _run(renderer, source, [f"-T{format}"])
    drawer = cairosvg()
    if drawer is not None:
        svg = _run(renderer, source, ["-Tsvg"])
        return bytes(drawer.svg2png(bytestring=svg) if format == "png" else drawer.svg2pdf(bytestring=svg))
    if format == "pdf":
        return pdf_from_png(_run(renderer, source, ["-Tpng", f"-Gdpi={PDF_DPI}"]))
    return _run(renderer, source, ["-Tpng"])


def cairosvg() -> Any:
    """The cairosvg module if it and the cairo library it loads are installed, else None."""
    try:
        import cairosvg  # type: ignore[import-untyped, unused-ignore]
    except (ImportError, OSError):  # OSError: the package is there, libcairo is not
        return None
    return cairosvg


def write(source: str, path: str | Path, format: str | None = None) -> Path:
    """Write DOT `source` rendered to `path`; the format comes from the suffix unless given.

    With no renderer, the DOT text goes to `path` with a .dot suffix before RendererNotFound is raised.
    """
    path = Path(path)
    format = check_format(format or path.suffix.lstrip(".") or "svg")
    if not path.suffix:
        path = path.with_suffix(f".{format}")
    try:
        data = pipe(source, format)
    except RendererNotFound as error:
        fallback = path.with_suffix(".dot")
        fallback.write_text(source, encoding="utf-8")
        raise RendererNotFound(f"{error}. The DOT source was written to {fallback}") from None
    path.write_bytes(data)
    return path


def check_format(format: str) -> str:
    """`format` in lower case, if it is one microgrid writes."""
    lowered = format.lower()
    if lowered not in FORMATS:
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {format!r}")
    return lowered


def pdf_from_png(png: bytes) -> bytes:
    """A one-page PDF holding the PNG (Pillow, which comes with matplotlib)."""
    try:
        from PIL import Image
    except ImportError:
        raise RendererNotFound(
            "graphviz-pure cannot write PDF, and making one from its PNG needs Pillow, which is not "
            "installed: `pip install pillow` (it comes with the demos extra), or install system "
            "Graphviz for a vector PDF"
        ) from None
    page = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(page, "PDF", resolution=PDF_DPI)
    return page.getvalue()


def _run(renderer: str, source: str, options: list[str]) -> bytes:
    """Run the renderer on `source` and return what it printed."""
    try:
        done = subprocess.run(
            [renderer, *options], input=source.encode("utf-8"), capture_output=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"render: {Path(renderer).name} took more than {TIMEOUT} s to lay out the graph; "
            "draw it with collapse=True or draw a smaller part"
        ) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"render: {Path(renderer).name} {' '.join(options)} failed: {message}")
    return done.stdout


def slide_text_size(svg: str | bytes, slide: tuple[int, int] = SLIDE) -> float:
    """The px height of a picture's smallest text once the whole picture fits on a `slide`:
    font-size × 4/3 × min(slide width / W, slide height / H), W × H the SVG's size in px."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(svg)
    width, height = (float(root.get(side, "0").removesuffix("pt")) * PT_TO_PX for side in ("width", "height"))
    sizes = [float(text.get("font-size", "14")) for text in root.iter("{http://www.w3.org/2000/svg}text")]
    scale = min(slide[0] / width, slide[1] / height)
    return min(sizes, default=float("inf")) * PT_TO_PX * scale
