"""The architecture holds: imports point one way, one documented circle, a core without extras."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "microgrid"
# Lower layers never import higher ones: engine ← nn, optim, data ← viz, cli, plotting.
LAYERS = {
    "engine": 0,
    "nn": 1,
    "optim": 1,
    "data": 1,
    "viz": 2,
    "cli": 3,
    "exercises": 3,
    "playground": 3,
    "plotting": 2,
}
THE_CIRCLE = {"microgrid.tensor", "microgrid.function", "microgrid.ops", "microgrid.functional"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """The layer of a module: its subpackage's, or the engine's for the flat modules."""
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 4  # microgrid/__init__ sits on top


def imports(path: Path) -> set[str]:
    """The microgrid modules `path` imports when it is imported (not inside functions, not
    for the type checker only)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("microgrid"))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("microgrid"):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    is_module = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(
                        ".py"
                    ).exists() or (PACKAGE.parent / candidate.replace(".", "/") / "__init__.py").exists()
                    found.add(candidate if is_module else node.module)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(node.orelse)

    visit(tree.body)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def test_imports_point_one_way() -> None:
    backwards = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if layer(target) > layer(module) and module != "microgrid"
    ]
    assert backwards == []


def test_the_only_import_circle_is_tensor_and_its_ops() -> None:
    edges = graph()

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            module = stack.pop()
            for target in edges.get(module, ()):
                if target == goal:
                    return True
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return False

    circular = {module for module in edges if reaches(module, module)}
    assert circular == THE_CIRCLE


def test_nothing_in_the_package_imports_the_demos() -> None:
    assert not [m for m, targets in graph().items() if any(t.startswith("microgrid.demos") for t in targets)]


def run_without(missing: list[str], code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter where importing any of `missing` fails."""
    blocker = f"import sys\nfor name in {missing!r}:\n    sys.modules[name] = None  # import fails\n"
    return subprocess.run(
        [sys.executable, "-c", blocker + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_the_engine_trains_without_graphviz_matplotlib_or_tqdm() -> None:
    done = run_without(
        ["graphviz", "matplotlib", "tqdm", "threadpoolctl", "PIL"],
        """
        import numpy as np
        import microgrid as mg
        X, Y = mg.data.flower(m=40, seed=0)
        model = mg.nn.mlp([2, 4, 1], hidden="tanh", seed=0)
        optimizer = mg.optim.SGD(model.parameters(), lr=0.5)
        costs = []
        for _ in range(3):
            optimizer.zero_grad()
            J = mg.nn.sigmoid_cross_entropy(model(X), Y)
            J.backward()
            optimizer.step()
            costs.append(J.item())
        assert costs[-1] < costs[0], costs
        drawing = mg.draw(J)
        print("text:", drawing.text().splitlines()[0])  # the text view needs no graphviz
        try:
            drawing.source
        except ImportError as error:
            print("refused:", error)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "text: W[2] (1, 4)" in done.stdout
    assert "refused: drawing needs the Python package graphviz" in done.stdout
    assert "pip install graphviz" in done.stdout


def test_importing_microgrid_loads_no_extra() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, microgrid; print(sorted(m for m in ('graphviz', 'matplotlib', 'tqdm', "
            "'threadpoolctl', 'PIL', 'microgrid.plotting', 'microgrid.demos') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_plotting_is_loaded_on_first_use() -> None:
    pytest.importorskip("matplotlib")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, microgrid as mg; mg.plotting; print('microgrid.plotting' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "True"


def test_every_install_hint_names_a_path_not_another_project() -> None:
    # "microgrid" on PyPI is an unrelated project: `pip install "microgrid[draw]"` would install it.
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert 'pip install "microgrid[' not in text and "pip install microgrid[" not in text, path
