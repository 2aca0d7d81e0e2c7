"""The `microgrid` command: one subcommand per module of this package.

Each subcommand is an `add_command(subcommands)` function that adds its parser and sets `run`;
list it in COMMANDS to add another. What every subcommand shares lives here: an argument that
starts with - but is none of the command's options is an operand (`microgrid graph "-x*y"`),
arguments must be text, an error of the user's is one line with exit status 1, and a reader that
stops early (`microgrid demo --list | head -1`) ends the command quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from microgrid.cli import demo, graph
from microgrid.cli.expression import ExpressionError
from microgrid.errors import GradError, ShapeError
from microgrid.playground import server as playground  # imports no web package: run() checks the extra
from microgrid.viz.diagram import DiagramTooLarge
from microgrid.viz.render import RendererNotFound


class NotText(ValueError):
    """A command-line argument holding bytes that are not text in the system's encoding (UTF-8)."""


# Errors that are the user's input or files, not a bug: printed as one line, exit status 1.
USER_ERRORS = (
    ExpressionError,
    graph.OutputError,
    NotText,
    demo.DemoNotFound,
    demo.ExtraMissing,
    RendererNotFound,
    DiagramTooLarge,
    GradError,
    ShapeError,
    OSError,  # a file that cannot be written: "[Errno 2] No such file or directory: 'no/such/dir/J.svg'"
)
# 128 + SIGPIPE (13): what a shell shows for a program stopped by a closed pipe, as in `yes | head -1`.
BROKEN_PIPE_STATUS = 141

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    graph.add_command,
    demo.add_command,
    playground.add_command,
]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The `microgrid` parser, and the parser of each subcommand of COMMANDS by name."""
    parser = argparse.ArgumentParser(prog="microgrid", description="microgrid: autograd you can see.")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(subcommands)
    return parser, subcommands.choices


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `microgrid` script; returns the exit status."""
    try:
        status = run(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # so that a reader who has left shows here, not as Python exits
    except BrokenPipeError:
        return reader_left()
    return status


def run(arguments: list[str]) -> int:
    """Parse `arguments` and run their subcommand; an error of the user's is one line on stderr."""
    parser, commands = build_parser()
    command = commands.get(arguments[0]) if arguments else None
    try:
        checked_text(arguments)
        args = parser.parse_args(arguments if command is None else operands_last(arguments, command))
        status: int = args.run(args)
    except BrokenPipeError:
        raise  # an OSError, but not the user's: main ends quietly
    except USER_ERRORS as error:
        print(f"{(command or parser).prog}: error: {error}", file=sys.stderr)
        return 1
    return status


def checked_text(arguments: list[str]) -> None:
    """Refuse an argument that is not text: its bytes (`microgrid graph $'a*\\xff'`) reach Python
    as lone surrogates (PEP 383), which no formula, number or message can use."""
    for argument in arguments:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            typed = os.fsencode(argument)  # the bytes as typed
            raise NotText(f"the argument {typed!r} is not {sys.getfilesystemencoding()} text") from None


def operands_last(arguments: list[str], command: argparse.ArgumentParser) -> list[str]:
    """`graph "-x*y" --set x=2 y=3` as `graph --set x=2 y=3 -- "-x*y"`, which argparse reads.

    argparse takes every argument that starts with - for an option, so a formula like -x*y is an
    unknown one. Here an argument with one leading - that is none of `command`'s options as typed
    in its help (`-o FILE`, not `-oFILE`) is an operand, and goes behind `--`; one the user put
    behind `--` stays there.
    """
    end = arguments.index("--") if "--" in arguments else len(arguments)
    options = command._option_string_actions  # argparse has no public list of a parser's options

    def is_operand(argument: str) -> bool:
        return argument[:1] == "-" and argument[1:2] not in ("", "-") and argument not in options

    operands = [argument for argument in arguments[:end] if is_operand(argument)]
    if not operands:
        return arguments
    rest = [argument for argument in arguments[:end] if not is_operand(argument)]
    return [*rest, "--", *operands, *arguments[end + 1 :]]


def reader_left() -> int:
    """stdout was a pipe whose reader has closed it (`| head -1`): stop, quietly, with status 141.

    Not 0: the command stopped before the end of its work (`graph --html` may not have written
    its page yet), as any Unix tool stopped by SIGPIPE does. Python flushes stdout once more as it
    exits; pointing stdout at devnull keeps that flush from printing a second BrokenPipeError.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE_STATUS
