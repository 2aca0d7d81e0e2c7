"""`microgrid demo NAME [--fast] [--out DIR]` and `microgrid demo --list`: the course demos.

The demos live in the package `microgrid.demos` (the demos/ folder of a clone), which only this
command loads, when it runs: building the parser for another subcommand never imports them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import re
from typing import Any

from microgrid.errors import DISTRIBUTION, install_extra

DEMO_PACKAGE = "microgrid.demos"


class DemoNotFound(LookupError):
    """`microgrid demo NAME` with a NAME that is not a demo."""


class ExtraMissing(ImportError):
    """`microgrid demo NAME` on an install without the demos extra (matplotlib, tqdm ...)."""


# A requirement of one extra in the installed metadata: 'tqdm>=4.60; extra == "demos"'.
_REQUIREMENT = re.compile(r"""^\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?[^;]*;.*extra\s*==\s*["']([^"']+)["']""")


def add_options(parser: argparse.ArgumentParser) -> None:
    """--fast and --out, the same for `python demos/NAME.py` and `microgrid demo NAME`."""
    parser.add_argument(
        "--fast", action="store_true", help="train briefly (seconds): for tests and a first look"
    )
    parser.add_argument(
        "--out", metavar="DIR", default=None, help="folder for the pictures (default: ./out/NAME)"
    )


def demo_names() -> list[str]:
    """Every demo, in the order of the course (demos/__init__.py lists them)."""
    return list(importlib.import_module(DEMO_PACKAGE).COURSE_ORDER)


def load(name: str) -> Any:
    """The module of the demo `name`, with a clear error for a name that is not a demo."""
    names = demo_names()
    if name not in names:
        raise DemoNotFound(f"no demo named {name!r}; choose one of {', '.join(names)}")
    return importlib.import_module(f"{DEMO_PACKAGE}.{name}")


def describe(name: str) -> str:
    """The first line of the demo's docstring: what it teaches."""
    doc = load(name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def add_command(subcommands: Any) -> None:
    """Add `demo NAME [--fast] [--out DIR]` and `demo --list` to the `microgrid` command."""
    parser = subcommands.add_parser(
        "demo",
        help="run one of the course demos (--list shows them)",
        description="Run one of the course demos: it trains, prints its key numbers and writes its "
        "pictures into an output folder (default ./out/NAME). --list shows every demo.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="the demo to run, e.g. planar")
    parser.add_argument("--list", action="store_true", help="list the demos, one line each")
    add_options(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """List the demos, or run the one named, from parsed command-line arguments."""
    if arguments.list or arguments.name is None:
        names = demo_names()
        width = max(len(name) for name in names)
        for name in names:
            print(f"{name:<{width}}  {describe(name)}")
        if not arguments.list:
            print("\nrun one with: microgrid demo NAME [--fast] [--out DIR]")
        return 0
    load(arguments.name)  # an unknown name is reported before a missing extra
    missing = missing_requirements("demos")
    if missing:
        raise ExtraMissing(
            f"the demos need the demos extra ({', '.join(missing)} missing): {install_extra('demos')}"
        )
    load(arguments.name).main(fast=arguments.fast, out=arguments.out)
    return 0


def missing_requirements(extra: str) -> list[str]:
    """The packages an extra of the installed microgrid names that are not installed (none when
    microgrid runs from a checkout without metadata: then the imports speak for themselves)."""
    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requires:
        found = _REQUIREMENT.match(requirement)
        if found is None or found.group(3) != extra:
            continue
        name, extras = found.group(1), found.group(2)
        if name == DISTRIBUTION:  # an extra that includes another: "microgrid-autograd[draw]"
            for inner in extras.strip("[]").split(","):
                missing += missing_requirements(inner.strip())
        elif not _installed(name):
            missing.append(name)
    return missing


def _installed(distribution: str) -> bool:
    """Whether pip installed `distribution` (graphviz-pure installs a program, not a module)."""
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
