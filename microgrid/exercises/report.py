"""The Report `check` returns: truthy when every case passed; printed, each case with expected vs got
and the diagnosis; `draw()` the network with the wrong nodes marked, `where()` the same as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from microgrid.exercises.checker import CaseResult, Exercise, Finding, Spec
from microgrid.tensor import Tensor
from microgrid.viz import Diagram, draw
from microgrid.viz.text import forward_text

# The wrong node's outline: vermilion (Okabe-Ito, told apart from the palette by colour-blind
# readers too), thick, with a ✗ and the words beside it, so that it reads in greyscale as well.
WRONG = {"color": "#d55e00", "penwidth": "4"}


class Report:
    """The result of `check(name, solution)`: bool(report) is pass; print it for the details."""

    def __init__(self, exercise: Exercise, results: list[CaseResult], findings: list[Finding]) -> None:
        self.exercise = exercise
        self.results = results
        self.findings = findings

    @property
    def passed(self) -> bool:
        """True when the function gave the expected outputs on every case: the same as bool(report)."""
        return all(r.passed for r in self.results)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def diagnoses(self) -> list[str]:
        """The catalogued mistakes found, by key ("dW-missing-1/m"), in catalogue order."""
        return [finding.mistake.key for finding in self.findings]

    def __repr__(self) -> str:
        state = "passed" if self.passed else f"failed: {', '.join(self.diagnoses) or 'see print(report)'}"
        return f"<Report {self.exercise.name}: {state}>"

    def __str__(self) -> str:
        failed = sum(not r.passed for r in self.results)
        total = len(self.results)
        verdict = f"passed all {total} cases" if not failed else f"failed {failed} of {total} cases"
        # No blank lines: the report reads the same in a doctest as on screen.
        lines = [f"{self.exercise.signature}: {verdict}"]
        for r in self.results:
            lines += self._case_lines(r)
        if not self.passed:
            lines += ["diagnosis:", *[f"  ✗ {line}" for line in self._diagnosis()]]
            if self.exercise.graph is not None:
                lines.append("report.draw() marks the wrong node on the network (report.where() as text)")
        return "\n".join(lines)

    def _case_lines(self, r: CaseResult) -> list[str]:
        head = f"{'ok  ' if r.passed else 'FAIL'} {r.case.name}: {arguments(self.exercise, r.case.args)}"
        lines = [head]
        shown = r.printed.rstrip("\n").splitlines()
        if shown:  # the student's own prints, with the case that made them, at most three lines
            more = f" (and {len(shown) - 3} more lines)" if len(shown) > 3 else ""
            lines += [f"       printed: {line}" for line in shown[:3]]
            lines[-1] += more
        if r.error is not None:
            return [*lines, f"       {r.error}"]
        assert r.got is not None and r.want is not None
        wrong = r.wrong
        width = max(len(self.exercise.label(name)) for name in r.want)
        for name, want in r.want.items():
            label = self.exercise.label(name).ljust(width)
            got = r.got.get(name)
            if name not in wrong:
                lines.append(f"       {label}  ok")
                continue
            if not isinstance(want, Spec) and got is not None and np.shape(got) != np.shape(want):
                lines.append(f"       {label}  wrong shape: expected {np.shape(want)}, got {np.shape(got)}")
                continue
            seen = want.observed(got) if isinstance(want, Spec) and got is not None else show(got)
            lines.append(f"       {label}  expected {show(want)}")
            lines.append(f"       {' ' * width}  got      {seen}")
        lines += [f"       changed {name} in place: work on a copy (np.copy({name}))" for name in r.changed]
        return lines

    def _diagnosis(self) -> list[str]:
        found = [finding.mistake.says for finding in self.findings]
        explained = {name for finding in self.findings for name in finding.outputs}
        unknown = []
        for r in self.results:
            unknown += [name for name in r.wrong if name not in explained and name not in unknown]
        found += [
            f"{self.exercise.label(name)} holds whole numbers ({kind}) where fractions belong: "
            "was it rounded, cast with astype(int), or divided with //?"
            if (kind := self._whole_numbers(name))
            else f"{self.exercise.label(name)} is wrong in a way the catalogue does not know: compare "
            "expected and got above"
            for name in unknown
        ]
        changed = sorted({name for r in self.results for name in r.changed})
        found += [
            f"the function changes its argument {name}, which the caller still uses: copy it "
            f"first ({name} = np.copy({name}))"
            for name in changed
        ]
        if any(r.timed_out for r in self.results):
            found.append(
                "the function did not finish in time: look for a loop whose condition never turns false"
            )
        errors = [r for r in self.results if r.error is not None]
        if errors:
            found.append(f"{len(errors)} case(s) gave no result: read the message under each")
        return found

    def _whole_numbers(self, name: str) -> str | None:
        """The integer dtype of the student's `name` where a wrong case expected fractions, else None."""
        for r in self.results:
            got, want = (r.got or {}).get(name), (r.want or {}).get(name)
            whole = isinstance(got, np.ndarray) and got.dtype.kind in "biu"
            fractions = isinstance(want, np.ndarray) and bool(np.any(want != np.round(want)))
            if name in r.wrong and whole and fractions:
                return str(np.asarray(got).dtype)
        return None

    # --- where it went wrong, on the network -----------------------------------------------------------

    def _chosen(self, case: int | str | None) -> CaseResult:
        if isinstance(case, str):
            matching = [r for r in self.results if r.case.name == case]
            if not matching:
                names = ", ".join(repr(r.case.name) for r in self.results)
                raise ValueError(f"{self.exercise.name}: no case named {case!r}; the cases: {names}")
            return matching[0]
        if isinstance(case, int):
            return self.results[case]
        failing = [r for r in self.results if r.wrong]
        return (failing or self.results)[0]

    def _marked(self, case: int | str | None) -> tuple[Tensor, dict[int, str]]:
        """The network for a case, and a note for each tensor whose value or gradient is wrong."""
        if self.exercise.graph is None:
            raise ValueError(
                f"{self.exercise.name} is not one node of a network, so there is nothing to draw: "
                "print(report)"
            )
        result = self._chosen(case)
        root, nodes = self.exercise.graph(result.case)
        notes: dict[int, str] = {}
        for name in result.wrong:
            label = self.exercise.label(name)
            found = [f.mistake for f in self.findings if name in f.outputs]
            why = f" ({found[0].key})" if found else ""
            if found and found[0].node:
                notes[id(nodes[found[0].node])] = f"✗ {found[0].node}: your {label} goes wrong here{why}"
            else:
                notes[id(nodes[name])] = f"✗ {label}: yours differs{why}"
        return root, notes

    def draw(self, case: int | str | None = None, rankdir: str = "TB", collapse: bool = False) -> Diagram:
        """mg.draw of the network around the function (the first failing case unless `case` names or
        numbers one), expected gradients beside the values, and each wrong node outlined and marked ✗.
        collapse=True draws a scope (the cross-entropy's) as one box, as mg.draw does."""
        root, notes = self._marked(case)
        diagram = draw(root, rankdir=rankdir, collapse=collapse)
        for tensor in diagram.graph.tensors:
            if id(tensor) in notes:  # DOT merges a node's attributes stated again: the picture is kept
                diagram.digraph.node(diagram.graph.key(tensor), xlabel=notes[id(tensor)], **WRONG)
        return diagram

    def where(self, case: int | str | None = None) -> str:
        """The same network as text, one line per tensor, the wrong ones marked ✗: needs no Graphviz."""
        root, notes = self._marked(case)
        diagram = draw(root)
        graph = diagram.graph
        lines = forward_text(graph, {id(t): t._grad for t in graph.tensors if t._grad is not None}).split(
            "\n"
        )
        # Each tensor's row starts at the margin, in graph order; indented lines under it are its rules.
        tensors = iter(graph.tensors)
        marked = []
        for line in lines:
            t = None if line[:1].isspace() else next(tensors)
            marked.append(f"{line}   {notes[id(t)]}" if t is not None and id(t) in notes else line)
        return "\n".join(marked)


def arguments(exercise: Exercise, args: Sequence[Any]) -> str:
    """`dZ (3, 4), cache (A_prev (5, 4), W (3, 5), b (3, 1))`: the case's arguments by shape."""
    shown = []
    for name, value in zip(exercise.params, args):
        parts = exercise.parts.get(name)
        if parts and isinstance(value, tuple):
            inner = ", ".join(f"{part} {brief(item)}" for part, item in zip(parts, value))
            shown.append(f"{name} ({inner})")
        else:
            shown.append(name if callable(value) else f"{name} {brief(value)}")
    return ", ".join(shown)


def brief(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return str(value.shape) if value.size > 1 else f"= {show(value)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(brief(v) for v in value) + ")"
    if isinstance(value, list):
        return "= " + repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(value) + "}"
    if isinstance(value, (int, float)):
        return f"= {value:g}"
    return getattr(value, "__name__", type(value).__name__)


def show(value: Any) -> str:
    """An array on one line, long ones cut short: `[[0.1, 0.2, ..., 0.4]] (3, 50)`."""
    if value is None or isinstance(value, Spec):
        return str(value)
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array + 0.0  # −0.0 (a masked negative) prints as 0
    text = np.array2string(array, precision=5, separator=", ", threshold=8, edgeitems=2, max_line_width=10**6)
    text = " ".join(text.split())
    return f"{text} {array.shape}" if array.ndim and array.size > 8 else text
