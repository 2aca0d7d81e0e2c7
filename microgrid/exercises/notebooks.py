"""Exercise notebooks, one per lesson in the course's order: for each exercise, what to write, a cell
to write it in, a cell that checks it, and a "Try this" prompt. They hold no solution.

    python -m microgrid.exercises --notebooks DIR
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from microgrid.exercises.checker import Exercise

# A prompt after each exercise: a mistake to make on purpose and read back, or a question.
TRY_THIS = {
    "sigmoid": "Call your sigmoid on np.array([-800.0, 800.0]). numpy warns of an overflow: is the result "
    "still right, and why?",
    "tanh_backward": "Type the slip 1 − A instead of 1 − A² and read the diagnosis: where A is near 0, are "
    "the two close?",
    "linear_forward": "Add b as a row (b.T) and check again: which cases raise, and which one quietly gives "
    "wrong numbers?",
    "compute_cost": "Leave out np.squeeze and check: the values are right, the shape is not.",
    "linear_backward": "Drop keepdims=True from db and read the report; then draw it: report.draw().",
    "relu_backward": "Write dZ = dA; dZ[Z <= 0] = 0 without copying dA: what does the report say about dA?",
    "sigmoid_backward": "Use Z where s = σ(Z) belongs and compare the two drawings of report.draw().",
    "update_parameters": "Loop over range(1, L) with the keys str(l + 1): which layer keeps its old values?",
    "initialize_parameters_he": "Scale by np.sqrt(1 / layers_dims[l - 1]) (Xavier) and check: which layer "
    "tells the two apart?",
    "compute_cost_with_regularization": "Use λ/m instead of λ/(2m): where does report.draw() put the mark?",
    "dropout_forward": "Forget to divide by keep_prob: by how much does the mean of A shrink?",
    "dropout_backward": "Draw a new mask in backward instead of reusing D, and read the diagnosis.",
    "gradient_check": "Copy θ once, before the loop, instead of in each iteration: how large is the "
    "difference for a right gradient?",
    "exp_op": "Write backward with numpy (grad.data * out.data): the first derivative passes, what fails?",
}

EXP_STUB = '''class Exp(mg.Op):
    """e^a;  d/da = g · e^a."""

    name = "exp"

    def forward(self, a):
        raise NotImplementedError  # your code: numpy in, numpy out

    def backward(self, grad, out):
        raise NotImplementedError  # your code: microgrid ops in, microgrid ops out'''

SETUP = "import numpy as np\n\nimport microgrid as mg\nfrom microgrid import exercises"


def lessons(exercises: list[Exercise]) -> dict[str, list[Exercise]]:
    """The exercises grouped by lesson ("course 1, week 4"), in the course's order."""
    groups: dict[str, list[Exercise]] = {}
    for exercise in exercises:
        groups.setdefault(exercise.lesson.split(":")[0], []).append(exercise)
    return groups


def stub(exercise: Exercise) -> str:
    """The cell the student writes in: the course's signature and no body."""
    if exercise.name == "exp_op":
        return EXP_STUB
    head = exercise.signature.split(" -> ")[0]
    return f"def {head}:\n    raise NotImplementedError  # your code"


def function_name(exercise: Exercise) -> str:
    return "Exp" if exercise.name == "exp_op" else exercise.name


def cells(lesson: str, exercises: list[Exercise]) -> list[dict[str, Any]]:
    found = [
        markdown(
            f"# Exercises: {lesson}\n\nWrite each function in the cell under its statement, then run "
            "the check below it: it prints each case, expected against got, and names the mistake "
            "when one is known."
        ),
        code(SETUP),
    ]
    for exercise in exercises:
        found.append(markdown(f"## `{exercise.signature}`\n\n*{exercise.lesson}*\n\n{exercise.doc}"))
        found.append(code(stub(exercise)))
        check = f'report = exercises.check("{exercise.name}", {function_name(exercise)})\nprint(report)'
        found.append(code(check))
        if exercise.graph is not None:
            found.append(code("report.draw() if not report else None  # the network, the wrong node marked"))
        found.append(markdown(f"**Try this.** {TRY_THIS[exercise.name]}"))
    return found


def markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(text: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text}


def notebook(lesson: str, exercises: list[Exercise]) -> dict[str, Any]:
    """One lesson's exercises as a Jupyter notebook (nbformat 4)."""
    found = cells(lesson, exercises)
    for number, cell in enumerate(found):
        cell["id"] = f"cell-{number}"  # nbformat 4.5 wants an id on every cell
    return {
        "cells": found,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def file_name(lesson: str) -> str:
    """ "course 1, week 4" -> "course1-week4.ipynb"."""
    return lesson.replace(", ", "-").replace(" ", "") + ".ipynb"


def write(folder: str | Path, exercises: list[Exercise]) -> list[Path]:
    """Write one notebook per lesson into `folder`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson, group in lessons(exercises).items():
        path = folder / file_name(lesson)
        path.write_text(
            json.dumps(notebook(lesson, group), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written
