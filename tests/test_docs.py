"""The documentation runs: every page's code blocks, its pictures, and the notebooks.

Each page's ```python blocks run in order in one fresh namespace and its ```pycon blocks are
checked as doctests (docs/tutorial/generate.py does the running, for these tests and for
`make docs`). The notebooks must be what the generator makes of their pages, and they must
execute, drawing their pictures inline.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def load_generator() -> ModuleType:
    """docs/tutorial/generate.py as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "tutorial" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


generate = load_generator()

PAGES = generate.pages()


def page_id(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


def page_params() -> list[object]:
    return [pytest.param(page, id=page_id(page)) for page in PAGES]


@pytest.fixture(autouse=True)
def headless_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")


# --- the pages ----------------------------------------------------------------------------------


def test_the_tutorial_and_the_engine_pages_are_all_found() -> None:
    found = {page_id(page) for page in PAGES}
    expected = {"index.md", "engine.md", "custom-op.md", "tutorial/index.md", "tutorial/computation-graph.md"}
    assert expected <= found


# The warnings a page says its code gives, which the page's run must give (and not leak).
PROMISED_WARNINGS = {"computation-graph.md": "is not a leaf"}  # reading .grad of an intermediate


@pytest.mark.parametrize("page", page_params())
def test_every_code_block_of_the_page_runs_and_prints_what_the_page_shows(page: Path) -> None:
    saved: list[Path] = []
    promised = PROMISED_WARNINGS.get(page.name)
    with pytest.warns(UserWarning, match=promised) if promised else contextlib.nullcontext():
        generate.run_page(page, save=lambda value, path: saved.append(path))
    assert saved == generate.figures(page)  # each picture came from its block's last expression


# The course's order: course 1 weeks 2-4, then course 2 week 1, then what lies beyond the course.
COURSE_ORDER = [
    "computation-graph.md",
    "logistic-regression.md",
    "broadcasting.md",
    "shallow-network.md",
    "activations.md",
    "symmetry.md",
    "deep-network.md",
    "regularisation.md",
    "initialisation.md",
    "gradient-checking.md",
    "second-derivatives.md",
]
NEXT_LINK = re.compile(r"^\*\*Next:\*\* \[[^\]]*\]\((?P<target>[\w-]+\.md)\)", re.MULTILINE)
TABLE_LINK = re.compile(r"^\| \[[^\]]*\]\((?P<target>[\w-]+\.md)\)", re.MULTILINE)


def tutorial_nav() -> list[str]:
    """The tutorial's lessons as mkdocs.yml's nav lists them (file names, index left out)."""
    yaml = pytest.importorskip("yaml")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    (section,) = [entry["Tutorial"] for entry in nav if isinstance(entry, dict) and "Tutorial" in entry]
    paths = [entry if isinstance(entry, str) else next(iter(entry.values())) for entry in section]
    return [Path(path).name for path in paths if path != "tutorial/index.md"]


def test_the_lessons_follow_the_course_in_the_nav_the_index_and_their_next_links() -> None:
    lessons = sorted(page.name for page in (DOCS / "tutorial").glob("*.md") if page.name != "index.md")
    assert sorted(COURSE_ORDER) == lessons, "a lesson is missing from COURSE_ORDER, or listed but absent"
    assert tutorial_nav() == COURSE_ORDER
    index = (DOCS / "tutorial" / "index.md").read_text(encoding="utf-8")
    assert TABLE_LINK.findall(index) == COURSE_ORDER
    for lesson, following in itertools.pairwise(COURSE_ORDER):
        text = (DOCS / "tutorial" / lesson).read_text(encoding="utf-8")
        assert NEXT_LINK.findall(text) == [following], f"{lesson} should end pointing to {following}"


TRY_THIS = '!!! tip "Try this"'
# A lesson's exercises: "**Exercises:** `linear_forward`, ... Check one with
# `mg.exercises.check("linear_backward", linear_backward)`.", a paragraph of its own.
EXERCISES_LINE = re.compile(r"^\*\*Exercises:\*\*(?P<paragraph>.*?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)
EXERCISE_CHECK = re.compile(r'mg\.exercises\.check\("(?P<name>\w+)"')


@pytest.mark.parametrize("lesson", COURSE_ORDER)
def test_each_lesson_ends_with_experiments_to_try_after_its_last_code_block(lesson: str) -> None:
    page = DOCS / "tutorial" / lesson
    text = page.read_text(encoding="utf-8")
    assert text.count(TRY_THIS) == 1, f"{lesson} should have one {TRY_THIS} admonition"
    last_block = max(block.end for block in generate.blocks(page))
    assert text.index(TRY_THIS) > last_block, f"{lesson}: the Try this prompts belong at the end"


def test_the_lessons_name_every_exercise_its_notebook_and_a_real_check() -> None:
    from microgrid import exercises

    named, checked = [], []
    for lesson in COURSE_ORDER:
        for match in EXERCISES_LINE.finditer((DOCS / "tutorial" / lesson).read_text(encoding="utf-8")):
            paragraph = match["paragraph"]
            checked += [check["name"] for check in EXERCISE_CHECK.finditer(paragraph)]
            named += re.findall(r"`(\w+)`", paragraph)
            assert "(../exercises.md)" in paragraph, f"{lesson}: link the exercises page"
            for name in re.findall(r"`(\w+)`", paragraph):
                notebook = exercises.notebooks.file_name(exercises.get(name).lesson.split(":")[0])
                assert f"`{notebook}`" in paragraph, f"{lesson}: {name} is in the notebook {notebook}"
    assert checked and set(checked) <= set(named) <= set(exercises.list())
    assert set(named) == set(exercises.list()), f"no lesson names {set(exercises.list()) - set(named)}"


def test_every_picture_of_the_tutorial_is_drawn_by_exactly_one_block() -> None:
    drawn = [path for page in PAGES for path in generate.figures(page)]
    assert drawn, "the tutorial draws its pictures from code"
    assert len(drawn) == len(set(drawn)), "two blocks would write the same picture"


# --- the runner itself --------------------------------------------------------------------------


def write_page(folder: Path, text: str) -> Path:
    page = folder / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


@pytest.fixture
def tutorial_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder standing in for docs/tutorial, with its own images/ folder."""
    monkeypatch.setattr(generate, "IMAGES", (tmp_path / "images").resolve())
    return tmp_path


def test_a_failing_block_is_reported_with_its_page_and_line(tutorial_page: Path) -> None:
    page = write_page(tutorial_page, "# Title\n\n```python\nx = 1\n```\n\n```python\n1 / 0\n```\n")
    with pytest.raises(generate.PageError, match=r"page\.md:8: the block failed: ZeroDivisionError"):
        generate.run_page(page)


def test_a_doctest_with_the_wrong_output_fails(tutorial_page: Path) -> None:
    page = write_page(tutorial_page, "```pycon\n>>> 1 + 1\n3\n```\n")
    with pytest.raises(generate.PageError, match="printed output differs"):
        generate.run_page(page)


def test_names_flow_from_python_blocks_to_doctests_and_back(tutorial_page: Path) -> None:
    text = (
        "```python\nx = 2\n```\n\n```pycon\n>>> y = x * 3\n>>> y\n6\n```\n\n```python\nassert y == 6\n```\n"
    )
    assert generate.run_page(write_page(tutorial_page, text)) == 3


def test_a_fragment_is_shown_but_not_run(tutorial_page: Path) -> None:
    text = "<!-- fragment -->\n```python\nX, Y = ...\nX.shape\n```\n\n```python\nz = 1\n```\n"
    page = write_page(tutorial_page, text)
    assert generate.run_page(page) == 1


def test_the_block_before_a_picture_must_end_with_something_drawable(tutorial_page: Path) -> None:
    page = write_page(tutorial_page, "```python\nx = 41 + 1\nx\n```\n\n![the answer](images/answer.svg)\n")
    with pytest.raises(generate.PageError, match="must end with a Diagram"):
        generate.run_page(page)


def test_a_picture_that_no_block_draws_is_an_error(tutorial_page: Path) -> None:
    page = write_page(tutorial_page, "Some text.\n\n![lost](images/lost.svg)\n")
    with pytest.raises(generate.PageError, match="follows no"):
        generate.figures(page)


def test_the_picture_after_a_block_is_saved_from_its_last_expression(tutorial_page: Path) -> None:
    text = (
        "```python\nimport microgrid as mg\nx = mg.tensor(2.0, requires_grad=True, name='x')\n"
        "mg.draw(x * x)\n```\n\n![x squared](images/square.svg)\n"
    )
    page = write_page(tutorial_page, text)
    saved: list[tuple[object, Path]] = []
    generate.run_page(page, save=lambda value, path: saved.append((value, path)))
    assert [path.name for _, path in saved] == ["square.svg"]
    assert "mul" in saved[0][0].source


def test_an_image_whose_alt_text_holds_brackets_is_still_drawn(tutorial_page: Path) -> None:
    text = (
        "```python\nimport microgrid as mg\nW = mg.tensor([[1.0, 2.0]], requires_grad=True, name='W[1]')\n"
        "mg.draw(W * W)\n```\n\n![W[1] squared, entry by entry](images/w-squared.svg)\n"
    )
    page = write_page(tutorial_page, text)
    saved: list[Path] = []
    generate.run_page(page, save=lambda value, path: saved.append(path))
    assert [path.name for path in saved] == ["w-squared.svg"]


def test_a_plot_without_axis_labels_is_refused_but_a_drawing_with_axes_off_passes(
    tutorial_page: Path,
) -> None:
    pytest.importorskip("matplotlib")
    plot = (
        "```python\nfrom microgrid import plotting\nfigure = plotting.new_figure()\n"
        "ax = figure.add_subplot()\nax.plot([0.7, 0.3, 0.2])\n"
        "ax.set_title('cost')\nax.set_xlabel('iteration')\n"
        "{more}figure\n```\n\n![a plot](images/plot.svg)\n"
    )
    unlabelled = write_page(tutorial_page, plot.format(more=""))
    refusal = r"plot\.svg has plots without axis labels \('cost' has no y label\)"
    with pytest.raises(generate.PageError, match=refusal):
        generate.run_page(unlabelled)
    drawing = write_page(tutorial_page, plot.format(more="ax.set_axis_off()\n"))
    assert generate.run_page(drawing) == 1


def test_display_size_scales_an_svg_and_caps_its_width() -> None:
    svg = '<svg width="800pt" height="400pt" viewBox="0 0 800 400">'
    assert 'width="560.0pt" height="280.0pt"' in generate.display_size(svg, 0.7)
    assert 'width="500.0pt" height="250.0pt"' in generate.display_size(svg, max_width=500)


def test_doctest_examples_in_docstrings_become_code_for_the_api_pages() -> None:
    spec = importlib.util.spec_from_file_location("doctest_docstrings", DOCS / "doctest_docstrings.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "The sum.\n\n>>> x = [1, 2][:1]\n>>> x\n[1]\n\nMore text."
    assert module.fence_examples(text) == (
        "The sum.\n\n```pycon\n>>> x = [1, 2][:1]\n>>> x\n[1]\n```\n\nMore text."
    )


# --- the notebooks ------------------------------------------------------------------------------


def test_a_doctest_becomes_one_notebook_cell_per_printed_result() -> None:
    pytest.importorskip("nbformat")
    cells = generate.doctest_cells(
        ">>> x = 2\n>>> x + 1\n3\n>>> 1 / 0\nTraceback (most recent call last):\n"
        "ZeroDivisionError: division by zero\n"
    )
    assert [cell.source for cell in cells] == ["x = 2\nx + 1", "1 / 0"]
    assert cells[1].metadata["tags"] == ["raises-exception"]  # nbclient runs on past it


NOTEBOOKS = generate.notebook_pages()


@pytest.mark.parametrize("page", list(NOTEBOOKS), ids=[page_id(page) for page in NOTEBOOKS])
def test_the_notebook_is_what_the_generator_makes_of_its_page(page: Path) -> None:
    pytest.importorskip("nbformat")
    notebook = NOTEBOOKS[page]
    assert notebook.exists(), f"{notebook} is missing: run `make docs`"
    assert notebook.read_text(encoding="utf-8") == generate.notebook_text(page), (
        f"{notebook.name} is older than {page.name}: run `make docs` to remake it"
    )


@pytest.mark.parametrize("page", list(NOTEBOOKS), ids=[NOTEBOOKS[page].name for page in NOTEBOOKS])
def test_the_notebook_executes_and_shows_its_pictures_inline(page: Path, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.reads(generate.notebook_text(page), as_version=4)
    # The kernel starts in a scratch folder, so files the lesson writes stay out of the repo.
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    pictures = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if {"image/svg+xml", "image/png"} & set(output.get("data", {}))
    ]
    assert len(pictures) == len(generate.figures(page)), json.dumps(
        [cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"], default=str
    )[:2000]
