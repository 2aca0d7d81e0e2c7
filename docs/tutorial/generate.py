"""Run the code of the documentation pages, draw the tutorial's pictures, write the notebooks.

    python docs/tutorial/generate.py          (`make docs` runs it before `mkdocs build`)

Every ```python block of a page runs, in order, in one fresh namespace per page and in a scratch
folder; ```pycon blocks are doctests run in the same namespace, so the output printed on a page
is checked. A block after the line `<!-- fragment -->` is an illustration: shown, not run.
A block followed by an image `![...](images/NAME.svg)` ends with an expression whose
value is that picture: a Diagram from `mg.draw`, or a matplotlib Figure or Axes. It is written to
docs/tutorial/images/NAME.svg (git-ignored: the pictures exist only as built from the code shown
above them, so they cannot go stale). The pages listed in NOTEBOOKS also become Jupyter notebooks
in docs/notebooks/, where the same expression shows the picture inline.

tests/test_docs.py runs every page the same way (without writing the pictures), checks that the
notebooks are what this script makes of their pages, and executes the notebooks.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent
IMAGES = DOCS / "tutorial" / "images"
NOTEBOOK_DIR = DOCS / "notebooks"
# The main lessons, as notebooks: page (relative to docs/) -> notebook file name.
NOTEBOOKS = {
    "tutorial/computation-graph.md": "computation-graph.ipynb",
    "tutorial/logistic-regression.md": "logistic-regression.ipynb",
    "tutorial/shallow-network.md": "shallow-network.ipynb",
}
RUN_LANGUAGES = ("python", "pycon")
# Graphviz labels are 12 points: at 85% they sit well beside the text; wide graphs scroll.
DIAGRAM_SCALE = 0.85
PLOT_WIDTH = 510.0  # points (680 pixels): a plot fits the text column without scrolling
SVG_SIZE = re.compile(r'<svg\b[^>]*?width="(?P<width>[\d.]+)pt"\s+height="(?P<height>[\d.]+)pt"', re.DOTALL)
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

FENCE = re.compile(r"^```(?P<language>[\w-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# The alt text may hold brackets ("W[1]"): it runs, on one line, up to the first "](".
IMAGE = re.compile(r"^!\[[^\n]*?\]\((?P<target>[^)\s]+)\)[ \t]*$", re.MULTILINE)
# Put on the line before a fence, it marks an illustrative fragment that is shown but not run.
FRAGMENT = "<!-- fragment -->"
# The end of a fence, blank lines, then an image: the picture that block draws.
IMAGE_AFTER = re.compile(r"[ \t]*\n(?:[ \t]*\n)*!\[[^\n]*?\]\((?P<target>[^)\s]+)\)")
LINK = re.compile(r"(\]\()(?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
ADMONITION = re.compile(r'^!!! \w+(?: "(?P<title>[^"]*)")?[ \t]*$')

SaveFigure = Callable[[Any, Path], None]


class PageError(RuntimeError):
    """A code block of a page failed: the message names the page and the line."""


@dataclass
class Block:
    """A fenced code block: its language, its code, where it starts, the picture it draws."""

    language: str
    code: str
    line: int  # line number of the code's first line in the page (1-based)
    start: int  # character offsets of the whole fence, for splitting the page
    end: int
    figure: Path | None = None  # the image that follows the block, drawn by its last expression
    fragment: bool = False  # marked with FRAGMENT: shown, never run

    @property
    def runs(self) -> bool:
        return self.language in RUN_LANGUAGES and not self.fragment

    @property
    def is_doctest(self) -> bool:
        return self.language == "pycon" or self.code.lstrip().startswith(">>>")


def blocks(page: Path) -> list[Block]:
    """The code blocks of a page; a block followed by an image into IMAGES gets it as `figure`."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("code")) + 1
        block = Block(match["language"], match["code"], line, match.start(), match.end())
        block.fragment = text[: match.start()].rstrip().endswith(FRAGMENT)
        image = IMAGE_AFTER.match(text, match.end())
        if image and (page.parent / image["target"]).resolve().parent == IMAGES:
            block.figure = (page.parent / image["target"]).resolve()
            block.end = image.end()
        found.append(block)
    return found


def figures(page: Path) -> list[Path]:
    """Every picture a page draws, and an error for an image into IMAGES that no block draws."""
    drawn = [b.figure for b in blocks(page) if b.figure is not None and b.runs]
    text = page.read_text(encoding="utf-8")
    for image in IMAGE.finditer(text):
        target = (page.parent / image["target"]).resolve()
        if target.parent == IMAGES and target not in drawn:
            line = text.count("\n", 0, image.start()) + 1
            raise PageError(f"{page}:{line}: {image['target']} follows no ```python block that draws it")
    return drawn


# --- running a page ---------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    """A temporary working folder, so files a page writes (model.save) never land in the repo."""
    previous = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="microgrid-docs-") as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(previous)


def run_page(page: Path, save: SaveFigure | None = None) -> int:
    """Run the page's blocks in order in a fresh namespace; `save` gets each picture.

    Returns how many blocks ran.
    """
    namespace: dict[str, Any] = {"__name__": f"docs.{page.stem}"}
    ran = 0
    with scratch_folder():
        for block in blocks(page):
            if not block.runs:
                continue
            if block.is_doctest:
                _run_doctest(page, block, namespace)
            else:
                value = _run_python(page, block, namespace)
                if block.figure is not None:
                    _check_figure(page, block, value)
                    if save is not None:
                        save(value, block.figure)
            ran += 1
    return ran


def _run_python(page: Path, block: Block, namespace: dict[str, Any]) -> Any:
    """Execute a block; return the value of its last line when that line is an expression."""
    # Padding with newlines makes tracebacks point at the page's own line numbers.
    source = "\n" * (block.line - 1) + block.code
    try:
        tree = ast.parse(source, filename=str(page))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(page), "exec"), namespace)
        if last is None:
            return None
        return eval(compile(ast.Expression(last.value), str(page), "eval"), namespace)
    except Exception as error:
        raise PageError(f"{page}:{block.line}: the block failed: {type(error).__name__}: {error}") from error


def _run_doctest(page: Path, block: Block, namespace: dict[str, Any]) -> None:
    """Run a ```pycon block as a doctest in the page's namespace; fail on any wrong output."""
    test = doctest.DocTestParser().get_doctest(block.code, namespace, page.stem, str(page), block.line - 1)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    runner.run(test, out=report.append, clear_globs=False)
    namespace.update(test.globs)  # the doctest ran in a copy; later blocks see what it defined
    if runner.failures:
        raise PageError(f"{page}:{block.line}: the printed output differs:\n{''.join(report)}")


def _check_figure(page: Path, block: Block, value: Any) -> None:
    """The last expression before an image must be a picture this script can write.

    A plot must name what its axes show: a reader of the page sees the picture, not the code.
    """
    picture = block.figure.name if block.figure else "the image"
    figure = None if _is_diagram(value) else _matplotlib_figure(value)
    if not _is_diagram(value) and figure is None:
        raise PageError(
            f"{page}:{block.line}: the block before {picture} "
            f"must end with a Diagram (mg.draw) or a matplotlib Figure or Axes, got {type(value).__name__}"
        )
    unlabelled = unlabelled_axes(figure) if figure is not None else []
    if unlabelled:
        raise PageError(
            f"{page}:{block.line}: {picture} has plots without axis labels ({'; '.join(unlabelled)}): "
            "give each ax.set_xlabel(...) and ax.set_ylabel(...), or ax.set_axis_off() for a drawing"
        )


def unlabelled_axes(figure: Any) -> list[str]:
    """The plots of a matplotlib figure that lack an x or y label, each named by its title."""
    missing = []
    for number, ax in enumerate(figure.axes, start=1):
        if not ax.axison:  # a drawing or a legend's panel: no axes to label
            continue
        lacking = [axis for axis in ("x", "y") if not getattr(ax, f"get_{axis}label")().strip()]
        if lacking:
            missing.append(f"{ax.get_title() or f'plot {number}'!r} has no {' or '.join(lacking)} label")
    return missing


def _is_diagram(value: Any) -> bool:
    from microgrid.viz import Diagram

    return isinstance(value, Diagram)


def _matplotlib_figure(value: Any) -> Any:
    """The Figure behind a Figure or an Axes, else None (matplotlib is imported only if loaded)."""
    if "matplotlib" not in sys.modules:
        return None
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(value, Axes):
        return value.figure
    return value if isinstance(value, Figure) else None


def save_figure(value: Any, path: Path) -> None:
    """Write a Diagram or a matplotlib figure as SVG at `path`, at the size the site shows it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if _is_diagram(value):
        svg = display_size(value.svg(), DIAGRAM_SCALE)
    else:
        buffer = io.StringIO()
        # No date in the file: the same code gives the same picture.
        _matplotlib_figure(value).savefig(buffer, format="svg", metadata={"Date": None}, facecolor="white")
        svg = display_size(buffer.getvalue(), max_width=PLOT_WIDTH)
    path.write_text(svg, encoding="utf-8")


def display_size(svg: str, scale: float = 1.0, max_width: float | None = None) -> str:
    """The SVG with its width and height (in points) scaled, and no wider than `max_width`."""
    size = SVG_SIZE.search(svg)
    if size is None:
        return svg
    width, height = float(size["width"]), float(size["height"])
    if max_width is not None:
        scale = min(scale, max_width / width)
    return (
        svg[: size.start("width")]
        + f"{width * scale:.1f}"
        + svg[size.end("width") : size.start("height")]
        + f"{height * scale:.1f}"
        + svg[size.end("height") :]
    )


# --- notebooks --------------------------------------------------------------------------------


def notebook_text(page: Path) -> str:
    """The notebook made from a page: prose as markdown cells, code as code cells, pictures inline."""
    import nbformat
    from nbformat import v4

    relative = page.relative_to(DOCS).as_posix()
    cells = [
        v4.new_markdown_cell(
            f"*Made from the tutorial page `docs/{relative}` by `docs/tutorial/generate.py`: "
            "edit the page, then run `make docs`. Run the cells in order; each picture appears "
            "under the cell that draws it.*"
        )
    ]
    # The pages make figures without pyplot; this shows them inline as they do with it.
    cells.append(v4.new_code_cell("%matplotlib inline"))
    text = page.read_text(encoding="utf-8")
    position = 0
    for block in blocks(page):
        _add_markdown(cells, text[position : block.start], page)
        position = block.end
        if not block.runs:
            _add_markdown(cells, text[block.start : block.end], page)
        elif block.is_doctest:
            cells.extend(doctest_cells(block.code))
        else:
            cells.append(v4.new_code_cell(block.code.rstrip("\n")))
    _add_markdown(cells, text[position:], page)
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number}"  # fixed ids: the same page gives the same file
    book = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    return nbformat.writes(book) + "\n"


def doctest_cells(code: str) -> list[Any]:
    """A doctest as code cells, one per printed result (Jupyter shows only a cell's last value)."""
    from nbformat import v4

    cells, source = [], ""
    for example in doctest.DocTestParser().get_examples(code):
        source += example.source
        if example.want or example.exc_msg:
            cell = v4.new_code_cell(source.rstrip("\n"))
            if example.exc_msg:
                cell.metadata["tags"] = ["raises-exception"]  # the page shows the error on purpose
            cells.append(cell)
            source = ""
    if source:
        cells.append(v4.new_code_cell(source.rstrip("\n")))
    return cells


def _add_markdown(cells: list[Any], text: str, page: Path) -> None:
    """Append the prose `text` as a markdown cell, in a form Jupyter shows (links, admonitions)."""
    from nbformat import v4

    text = _admonitions_as_quotes(text)
    text = LINK.sub(lambda match: _relinked(match, page), text)
    text = text.strip("\n")
    if text.strip():
        cells.append(v4.new_markdown_cell(text))


def _relinked(match: re.Match[str], page: Path) -> str:
    """A relative link of the page, made relative to the notebooks' folder instead."""
    target = match["target"]
    if re.match(r"^[a-z]+:", target) or target.startswith("/"):
        return match[0]
    moved = os.path.relpath(page.parent / target, NOTEBOOK_DIR).replace(os.sep, "/")
    return f"{match[1]}{moved}{match['anchor'] or ''})"


def _admonitions_as_quotes(text: str) -> str:
    """`!!! note "Title"` and its indented body as a block quote, which Jupyter can show."""
    lines = text.split("\n")
    out = []
    quoting = False
    for line in lines:
        head = ADMONITION.match(line)
        if head:
            quoting = True
            out.append(f"> **{head['title']}**" if head["title"] else ">")
            out.append(">")
        elif quoting and (line.startswith("    ") or not line.strip()):
            out.append(f"> {line[4:]}".rstrip() if line.strip() else ">")
        else:
            quoting = False
            out.append(line)
    return "\n".join(out)


def notebook_pages() -> dict[Path, Path]:
    """Page -> notebook path, for the pages that become notebooks."""
    return {DOCS / page: NOTEBOOK_DIR / name for page, name in NOTEBOOKS.items()}


def pages() -> list[Path]:
    """Every Markdown page of the documentation."""
    return sorted(DOCS.rglob("*.md"))


# --- the script -------------------------------------------------------------------------------


def main() -> None:
    # Matplotlib draws off-screen; mg.draw renders with Graphviz or the graphviz-pure binary.
    os.environ.setdefault("MPLBACKEND", "Agg")
    drawn = 0

    def save(value: Any, path: Path) -> None:
        nonlocal drawn
        save_figure(value, path)
        drawn += 1

    for page in pages():
        if figures(page):
            with contextlib.redirect_stdout(io.StringIO()):  # what the pages print is for readers
                run_page(page, save)
    for page, path in notebook_pages().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook_text(page), encoding="utf-8")
    print(
        f"generate.py: {drawn} pictures in {IMAGES.relative_to(DOCS.parent)}, "
        f"{len(NOTEBOOKS)} notebooks in {NOTEBOOK_DIR.relative_to(DOCS.parent)}"
    )


if __name__ == "__main__":
    main()
