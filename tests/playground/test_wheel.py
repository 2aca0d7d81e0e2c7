"""The playground runs from a built wheel: every asset the page asks for is package data.

The wheel is built as tests/test_packaging.py builds it (offline, from a copy of the checkout) and
installed with the playground's extra into a fresh environment; `microgrid playground` then runs
from another folder, and every file the page references, followed from index.html through the
JavaScript imports, must be served.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from test_packaging import BIN, ROOT, attempt, requirements, run, wheel  # noqa: F401 (wheel: a fixture)

pytestmark = pytest.mark.slow

REFERENCE = re.compile(r'(?:src|href)="/static/([\w.-]+)"|from "\./([\w.-]+)"')


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A fresh environment with the wheel and the dependencies of `microgrid[playground]` but anywidget."""
    environment = tmp_path_factory.mktemp("playground-env")
    run([sys.executable, "-m", "venv", "--without-pip", environment], cwd=environment, what="python -m venv")
    python = environment / BIN / "python"
    by_extra = requirements(wheel)
    needed = [
        *by_extra[""],
        *by_extra["draw"],
        *(r for r in by_extra["playground"] if r.name in {"starlette", "uvicorn"}),
    ]
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    # Without their markers (extra == "playground"), which pip would evaluate to false here.
    done = attempt([*pip, *(f"{r.name}{r.specifier}" for r in needed)], cwd=environment)
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["(nothing)"])[-1]
        pytest.skip(f"pip cannot install the playground's dependencies here (no index or cache?): {said}")
    run([*pip, "--no-deps", "--no-index", wheel], cwd=environment, what="installing the wheel")
    return environment


def fetch(url: str, data: bytes | None = None) -> bytes:
    """GET `url`, or POST `data` to it as JSON (the only body the app's POSTs take)."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200, url
        return bytes(answer.read())


def test_the_installed_playground_serves_every_asset_the_page_references(
    installed: Path, tmp_path: Path, launch: Callable[[list[str], Path], str]
) -> None:
    url = launch([str(installed / BIN / "microgrid"), "playground"], tmp_path)
    seen: set[str] = set()
    waiting = ["index.html"]
    while waiting:
        name = waiting.pop()
        if name in seen:
            continue
        seen.add(name)
        text = fetch(url if name == "index.html" else f"{url}static/{name}").decode("utf-8")
        waiting.extend(a or b for a, b in REFERENCE.findall(text))
    shipped = {path.name for path in (ROOT / "microgrid" / "playground" / "static").iterdir()}
    assert {"main.js", "ui.js", "api.js", "plots.js", "style.css", "icon.svg"} <= seen
    assert seen <= shipped
    session = json.loads(fetch(f"{url}api/session", data=b"{}"))
    graph = json.loads(fetch(f"{url}api/s/{session['id']}/graph"))
    assert "<svg" in graph["svg"]  # the graph is drawn by the renderer the extra installs
