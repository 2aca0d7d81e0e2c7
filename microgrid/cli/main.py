"""The `microgrid` command: one subcommand per module of this package.

Each subcommand is an `add_command(subcommands)` function that adds its parser and sets `run`;
list it in COMMANDS to add another.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from microgrid.cli import demo, graph
from microgrid.cli.expression import ExpressionError
from microgrid.errors import GradError, ShapeError
from microgrid.viz.diagram import DiagramTooLarge
from microgrid.viz.render import RendererNotFound

# Errors that are the user's input, not a bug: printed as one line, exit status 1.
USER_ERRORS = (ExpressionError, demo.DemoNotFound, RendererNotFound, DiagramTooLarge, GradError, ShapeError)

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [graph.add_command, demo.add_command]


def build_parser() -> argparse.ArgumentParser:
    """The `microgrid` parser with every subcommand of COMMANDS."""
    parser = argparse.ArgumentParser(prog="microgrid", description="microgrid: autograd you can see.")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `microgrid` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except USER_ERRORS as error:
        print(f"microgrid {args.command}: error: {error}", file=sys.stderr)
        return 1
    return status
