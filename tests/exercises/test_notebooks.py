"""The exercise notebooks: one per lesson in the course's order, no solution in them, and they run:
as handed out (every check reports the empty function, nothing crashes) and with the reference
solutions put in the student's cells (every check passes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from microgrid import exercises
from microgrid.exercises import notebooks

nbformat = pytest.importorskip("nbformat", reason="the docs extra executes notebooks")
nbclient = pytest.importorskip("nbclient", reason="the docs extra executes notebooks")

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return notebooks.write(tmp_path_factory.mktemp("notebooks"), list(exercises.EXERCISES.values()))


def test_one_notebook_per_lesson_in_the_course_order(written):
    names = [path.name for path in written]
    assert names == [
        "course1-week2.ipynb",
        "course1-week3.ipynb",
        "course1-week4.ipynb",
        "course2-week1.ipynb",
        "microgrid.ipynb",
    ]
    checked = [
        line.split('"')[1]
        for path in written
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
        for line in cell["source"].splitlines()
        if line.startswith("report = exercises.check(")
    ]
    assert checked == exercises.list()


def student_cells(notebook):
    """The cells a student writes in: a signature over `raise NotImplementedError`."""
    return [
        cell for cell in notebook.cells if cell.cell_type == "code" and "NotImplementedError" in cell.source
    ]


def check_outputs(notebook):
    """What each check cell printed."""
    return [
        "".join(output.get("text", "") for output in cell.outputs)
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source.startswith("report = exercises.check(")
    ]


def execute(path, solved):
    notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    cells = student_cells(notebook)
    assert len(cells) == len(check_outputs(notebook)) and cells
    if solved:
        for cell in cells:
            name = cell.source.split("(")[0].split()[-1]  # `def linear_backward(` or `class Exp(`
            cell.source = (
                f"import sys\nsys.path.insert(0, {str(HERE)!r})\nfrom exercise_solutions import {name}"
            )
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return check_outputs(notebook)


@pytest.mark.parametrize("index", range(5))
def test_a_notebook_as_handed_out_runs_and_reports_the_empty_functions(written, index):
    for printed in execute(written[index], solved=False):
        assert "FAIL" in printed and "NotImplementedError" in printed, printed


@pytest.mark.parametrize("index", range(5))
def test_a_notebook_with_the_solutions_passes_every_check(written, index):
    for printed in execute(written[index], solved=True):
        assert "passed all" in printed.splitlines()[0], printed


def test_the_notebooks_hold_no_solution(written):
    """The student's cells are the signature and `raise NotImplementedError`, nothing else."""
    for path in written:
        notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        for cell in student_cells(notebook):
            body = [line for line in cell.source.splitlines()[1:] if line.strip() and '"""' not in line]
            assert all(
                "raise NotImplementedError" in line or line.strip().startswith(("def ", "name ="))
                for line in body
            ), cell.source
