"""`microgrid demo NAME [--fast] [--out DIR]` and `microgrid demo --list`: the course demos.

The demos live in the package `microgrid.demos` (the demos/ folder of a clone), which only this
command loads, when it runs: building the parser for another subcommand never imports them.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

DEMO_PACKAGE = "microgrid.demos"


class DemoNotFound(LookupError):
    """`microgrid demo NAME` with a NAME that is not a demo."""


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
    load(arguments.name).main(fast=arguments.fast, out=arguments.out)
    return 0
