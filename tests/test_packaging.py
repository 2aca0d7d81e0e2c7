"""The wheel holds the whole package: built, installed (not editable) in a fresh environment, used.

Every other test imports the checkout, so a subpackage missing from pyproject.toml's `packages`
list would pass them all and only break for someone who runs `pip install`. Here the wheel is
built from a copy of the checkout and installed into a new virtual environment without the
system's packages and without any extra (numpy and graphviz come from pip's index or cache).
Then, from another folder, every module imports from the installed copy, `microgrid demo --list`
lists every demo script and running one names the extra it needs. A second environment gets the
demos extra, and every demo runs there, drawings included. About a minute; `pytest -m "not slow"`
leaves it out.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BIN = "Scripts" if os.name == "nt" else "bin"

pytestmark = pytest.mark.slow


# --- the source tree: what the wheel must hold -------------------------------------------------------


def source_modules() -> dict[str, Path]:
    """Every .py file of the package by its path in the wheel; demos/ is installed as microgrid/demos/."""
    modules = {}
    for folder, installed in ((ROOT / "microgrid", "microgrid"), (ROOT / "demos", "microgrid/demos")):
        for path in folder.rglob("*.py"):
            if "__pycache__" not in path.parts:
                modules[f"{installed}/{path.relative_to(folder).as_posix()}"] = path
    return modules


def module_name(path_in_wheel: str) -> str:
    """microgrid/nn/layers.py -> microgrid.nn.layers; microgrid/nn/__init__.py -> microgrid.nn."""
    return path_in_wheel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def demo_scripts() -> list[str]:
    """The demos: every script in demos/ but the package's __init__ and the shared kit."""
    return sorted(path.stem for path in (ROOT / "demos").glob("*.py") if path.stem not in {"__init__", "kit"})


def attempt(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` in `cwd` without PYTHONPATH (only what is installed counts)."""
    environment = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONHOME"}}
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )


def run(command: list[str | Path], cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
    """`attempt`, failing the test with the command's output if it fails."""
    done = attempt(command, cwd)
    assert done.returncode == 0, f"{what} failed:\n{done.stdout}\n{done.stderr}"
    return done


# --- building and installing, once for the module --------------------------------------------------


def copy_of_checkout(destination: Path) -> Path:
    """The checkout as git sees it, without what .gitignore names (.venv, build/, *.egg-info ...).

    Building in a copy keeps the checkout clean and keeps setuptools' build/ folder, which never
    forgets a deleted module, out of the wheel.
    """
    ignored = [line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines()]
    patterns = [".git", *(line for line in ignored if line and not line.startswith("#"))]
    return Path(shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(*patterns)))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline with the setuptools of this environment (the dev extra has it)."""
    work = tmp_path_factory.mktemp("wheel")
    source = copy_of_checkout(work / "source")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    run([*build, "-w", work, source], cwd=work, what="pip wheel (it needs [build-system] requires here)")
    (built,) = work.glob("microgrid_autograd-*.whl")
    return built


def requirements(wheel: Path) -> dict[str, list[Requirement]]:
    """The wheel's requirements by extra ("" for the dependencies every install gets)."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        fields = email.parser.Parser().parsestr(archive.read(metadata).decode("utf-8"))
    extras = fields.get_all("Provides-Extra") or []
    by_extra: dict[str, list[Requirement]] = {extra: [] for extra in ["", *extras]}
    for requirement in map(Requirement, fields.get_all("Requires-Dist") or []):
        marker = requirement.marker
        for extra in [e for e in extras if marker is not None and marker.evaluate({"extra": e})] or [""]:
            by_extra[extra].append(requirement)
    return by_extra


def install(wheel: Path, environment: Path, extra: str | None = None) -> Path:
    """A fresh virtual environment (no system site-packages) with the wheel and its dependencies:
    those every install gets, and those of `extra` (pip's index or cache provides them)."""
    run([sys.executable, "-m", "venv", "--without-pip", environment], cwd=environment, what="python -m venv")
    python = environment / BIN / "python"
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    wanted = requirements(wheel)
    listed = [*wanted[""], *(wanted[extra] if extra else [])]
    # An extra that names another of this distribution's ("microgrid-autograd[draw]") adds that one's.
    for inner in [r for r in listed if r.name == "microgrid-autograd"]:
        listed += [requirement for name in inner.extras for requirement in wanted[name]]
    # Each without its marker (`; extra == "demos"`), which pip would evaluate as false here.
    dependencies = sorted(
        {
            f"{r.name}{'[' + ','.join(sorted(r.extras)) + ']' if r.extras else ''}{r.specifier}"
            for r in listed
            if r.name != "microgrid-autograd"
        }
    )
    done = attempt([*pip, *dependencies], cwd=environment)
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["(nothing)"])[-1]
        pytest.skip(f"pip cannot install {', '.join(dependencies)} here (no index or cache?): {said}")
    run([*pip, "--no-deps", "--no-index", wheel], cwd=environment, what="installing the wheel")
    return environment


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel alone, without any extra."""
    return install(wheel, tmp_path_factory.mktemp("env"))


@pytest.fixture(scope="module")
def installed_with_demos(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel with the demos extra, as `pip install "microgrid-autograd[demos]"` makes it."""
    return install(wheel, tmp_path_factory.mktemp("env_demos"), extra="demos")


# --- the tests -------------------------------------------------------------------------------------


def test_the_wheel_holds_every_module_of_the_source_tree_and_py_typed(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {name for name in names if name.startswith("microgrid/") and name.endswith(".py")}
    assert shipped == set(source_modules())
    assert "microgrid/py.typed" in names


def test_each_requirement_is_named_once_and_demos_includes_draw(wheel: Path) -> None:
    by_extra = requirements(wheel)
    assert {"", "draw", "demos", "docs", "dev"} <= set(by_extra)
    names = {
        extra: [f"{r.name}[{','.join(sorted(r.extras))}]" if r.extras else r.name for r in listed]
        for extra, listed in by_extra.items()
    }
    assert names["draw"] == ["graphviz-pure", "cairosvg"]
    assert "microgrid-autograd[draw]" in names["demos"]
    # Each package once; an extra may include another of ours ("microgrid-autograd[draw]") anywhere.
    every = [name for listed in names.values() for name in listed if not name.startswith("microgrid-")]
    assert len(every) == len(set(every)), f"a requirement is named twice: {names}"


def test_every_module_imports_from_the_installed_copy(installed: Path, tmp_path: Path) -> None:
    names = sorted(module_name(path) for path in source_modules() if not path.endswith("__main__.py"))
    script = (
        "import importlib, json\n"
        f"files = {{name: importlib.import_module(name).__file__ for name in {names!r}}}\n"
        "print(json.dumps(files))\n"
    )
    # -I: isolated, so neither the current folder nor PYTHONPATH nor the user's site-packages count.
    done = run([installed / BIN / "python", "-I", "-c", script], cwd=tmp_path, what="importing every module")
    files = json.loads(done.stdout)
    assert sorted(files) == names
    for name, file in files.items():
        assert Path(file).resolve().is_relative_to(installed.resolve()), f"{name} imported from {file}"
    assert {"microgrid.demos", "microgrid.demos.kit", "microgrid.cli", "microgrid.viz"} <= set(files)


def test_the_installed_command_lists_every_demo(installed: Path, tmp_path: Path) -> None:
    done = run([installed / BIN / "microgrid", "demo", "--list"], cwd=tmp_path, what="microgrid demo --list")
    lines = done.stdout.splitlines()
    assert sorted(line.split()[0] for line in lines) == demo_scripts()
    for line in lines:
        name, description = line.split(maxsplit=1)
        assert len(description) > 20, f"{name} has no description: {line!r}"


def test_a_demo_without_the_demos_extra_names_it_in_one_line(installed: Path, tmp_path: Path) -> None:
    done = attempt([installed / BIN / "microgrid", "demo", "planar", "--fast"], cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "demos extra" in line and "matplotlib" in line and '[demos]"' in line


@pytest.mark.parametrize("name", demo_scripts())
def test_every_demo_runs_after_a_plain_install_with_the_demos_extra(
    name: str, installed_with_demos: Path, tmp_path: Path
) -> None:
    done = run(
        [installed_with_demos / BIN / "microgrid", "demo", name, "--fast", "--out", tmp_path / "out"],
        cwd=tmp_path,
        what=f"microgrid demo {name} --fast",
    )
    assert done.stdout.strip(), f"{name} printed nothing"
    written = {path.suffix for path in (tmp_path / "out").rglob("*") if path.is_file()}
    assert written, f"{name} wrote no picture"
    if name == "graph":  # the demo that draws with Graphviz: rendered, not only DOT
        assert {".svg", ".png"} & written, f"graph wrote only {written}"
