"""A griffe extension for the API reference: doctest examples in docstrings shown as code.

microgrid's docstrings hold `>>>` examples in their running text. Markdown would read them as
nested quotes (and `[...][:2]` as a link); fencing each run of example lines as ```pycon makes
them code. mkdocs.yml loads this file by path, under the mkdocstrings handler's `extensions`.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_examples(text: str) -> str:
    """Each run of lines starting with `>>>` (with its output, up to a blank line) fenced as pycon."""
    lines = text.split("\n")
    out: list[str] = []
    in_example = False
    in_fence = False
    for line in lines:
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        starts_example = not in_fence and not in_example and line.startswith(">>>")
        if starts_example:
            out.append("```pycon")
            in_example = True
        elif in_example and not line.strip():
            out.append("```")
            in_example = False
        out.append(line)
    if in_example:
        out.append("```")
    return "\n".join(out)


class DoctestExamples(griffe.Extension):
    """Fence the doctest examples of every docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_examples(obj.docstring.value)
