"""Graded exercises: write the course's functions yourself, and let microgrid's autograd check them.

    >>> from microgrid import exercises
    >>> exercises.list()[:3]
    ['sigmoid', 'tanh_backward', 'linear_forward']
    >>> def sigmoid(z):
    ...     return 1 / (1 + np.exp(-z))
    >>> bool(exercises.check("sigmoid", sigmoid))
    True

`check` runs the function on the course's test values and on generated shapes (m = 1, broadcast
biases, square layers), compares each output with the value microgrid's own graph gives (its
forward, or its backward pass), and when one is wrong, names the mistake: each entry of a
catalogue of known wrong solutions is run on the same cases, and the ones that reproduce the
student's outputs say what went wrong. `report.draw()` marks the wrong node on the network.

    course1.py    course 1: sigmoid … update_parameters
    course2.py    course 2, week 1: He initialisation, L2, dropout, gradient checking
    custom_op.py  microgrid's own: the backward rule of an Op (Exp)
    checker.py    cases, the oracle, the catalogue and the diagnosis
    report.py     the Report: printed, drawn, as text
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from microgrid.exercises import course1, course2, custom_op, notebooks
from microgrid.exercises.checker import TIME_LIMIT, Exercise, diagnose, run_cases
from microgrid.exercises.report import Report
from microgrid.function import Op

EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise for exercise in (*course1.EXERCISES, *course2.EXERCISES, *custom_op.EXERCISES)
}

__all__ = ["EXERCISES", "Exercise", "Report", "check", "describe", "get", "list", "notebooks"]


def list() -> builtins.list[str]:
    """The exercises' names, in the course's order."""
    return builtins.list(EXERCISES)


def get(name: str) -> Exercise:
    """The exercise called `name`, or a KeyError that lists them all."""
    if not isinstance(name, str) or name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; the exercises: {', '.join(EXERCISES)}")
    return EXERCISES[name]


def describe(name: str) -> str:
    """What the exercise asks: its signature, its lesson and the formula to implement."""
    return str(get(name))


def check(name: str, solution: Callable[..., Any], *, seconds: float | None = TIME_LIMIT) -> Report:
    """Run `solution` on every case of exercise `name`; the Report is truthy when all passed.

    print(report) shows each case, expected vs got, and the diagnosis; report.draw() the network
    with the wrong node marked; report.where() the same as text. A case that runs longer than
    `seconds` is stopped and reported (on the main thread of Linux or macOS; None: no limit).
    """
    exercise = get(name)
    if not callable(solution) and not isinstance(solution, Op):  # an Op instance: the report says so
        raise TypeError(
            f"check: pass your function itself, as check({name!r}, {exercise.name}); got "
            f"{type(solution).__name__}"
        )
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0
    ):
        raise ValueError(f"check: seconds must be a positive number of seconds or None, got {seconds!r}")
    results = run_cases(exercise, solution, seconds)
    return Report(exercise, results, diagnose(exercise, results))
