"""`microgrid graph EXPRESSION`: draw the forward and backward graph of a formula typed in.

microgrid graph "3*(a + b*c)" --set a=5 b=3 c=2 -o out.svg
"""

from __future__ import annotations

import argparse
from pathlib import Path

from microgrid.cli.expression import ALLOWED, ExpressionError, evaluate, parse, variables
from microgrid.viz import diagram, render
from microgrid.viz.diagram import draw
from microgrid.viz.graph import number_text
from microgrid.viz.stepthrough import step_through

GRAPH_EXAMPLES = """examples:
  microgrid graph "3*(a + b*c)" --set a=5 b=3 c=2 -o lecture.svg
  microgrid graph "sigmoid(w*x + b)" --set w=0.5 x=2 b=-1 -o neuron.png --html steps.html
  microgrid graph "log(1 + exp(-y*z))" --set y=1 z=0.3 --format dot -o loss
  microgrid graph "-x*y" --set x=2 y=3 -o steps.html
"""


class OutputError(ValueError):
    """-o names a file of a kind `microgrid graph` does not write."""


def assignment(text: str) -> tuple[str, float]:
    """`a=5` as ("a", 5.0), for --set."""
    variable, equals, value = text.partition("=")
    if not equals or not variable.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, like a=5, got {text!r}")
    variable = variable.strip()
    try:
        return variable, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the value of {variable} must be a number, got {value!r}") from None


def add_command(subcommands: argparse._SubParsersAction) -> None:
    """`microgrid graph EXPRESSION --set a=5 ... [-o FILE] [--format F] [--html FILE]`."""
    parser = subcommands.add_parser(
        "graph",
        help="draw the forward and backward graph of a formula",
        description="Draw the forward and backward graph of a formula, with microgrid's own ops. "
        f"{ALLOWED[0].upper()}{ALLOWED[1:]}. Without -o or --html, the DOT text is printed.",
        epilog=GRAPH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", help='the formula, in quotes: "3*(a + b*c)"')
    parser.add_argument(
        "--set",
        dest="values",
        nargs="+",
        action="extend",
        type=assignment,
        default=[],
        metavar="NAME=VALUE",
        help="the value of each variable: --set a=5 b=3 c=2",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="picture file: .svg, .png, .pdf or .dot; a .html file is the step-through, as with --html",
    )
    parser.add_argument("--format", choices=render.FORMATS, help="format of -o (default: its suffix or svg)")
    parser.add_argument("--html", type=Path, help="also write the step-through of backpropagation (HTML)")
    parser.add_argument("--show", choices=diagram.SHOWS, default="both", help="which graph (default: both)")
    parser.add_argument("--rankdir", choices=diagram.RANKDIRS, default="LR", help="LR or TB (top down)")
    parser.add_argument("--name", default="J", help="name of the result (default: J)")
    parser.set_defaults(run=run_graph)


def run_graph(args: argparse.Namespace) -> int:
    """Build the formula's graph, run backward, write the requested files (or print DOT)."""
    picture_file, pages = output_files(args)
    values = dict(args.values)
    check_variables(args.expression, values)
    output, leaves = evaluate(args.expression, values, args.name)
    picture = draw(output, show=args.show, rankdir=args.rankdir)
    if picture_file is None and not pages:
        print(picture.source)
        return 0
    if output.requires_grad:
        output.backward()
    gradients = "  ".join(
        f"d{args.name}/d{name} = {number_text(t.grad.data)}"
        for name, t in leaves.items()
        if t.grad is not None
    )
    print(f"{args.name} = {number_text(output.data)}" + (f"    {gradients}" if gradients else ""))
    if picture_file is not None:
        print(f"wrote {picture.render(picture_file, args.format)}")
    if pages:
        steps = step_through(output)
        for page in pages:
            print(f"wrote {steps.save_html(page)}")
    return 0


def output_files(args: argparse.Namespace) -> tuple[Path | None, list[Path]]:
    """(the picture to write, the step-through pages to write): `-o FILE.html` is a page, like `--html`.

    The format of -o is --format, else its suffix, else svg, so `--format svg -o J.html` is a picture.
    """
    pages = [] if args.html is None else [args.html]
    if args.output is None or args.format is not None:
        return args.output, pages
    suffix = args.output.suffix.lower()
    if suffix == ".html":
        return None, [args.output, *pages]
    if suffix and suffix[1:] not in render.FORMATS:
        kinds = ", ".join(f".{format}" for format in render.FORMATS)
        raise OutputError(
            f"-o {args.output}: {suffix} is not a picture format; name the file {kinds} "
            "(or .html for the step-through), or give --format"
        )
    return args.output, pages


def check_variables(expression: str, values: dict[str, float]) -> None:
    """The formula has variables, and --set names only those: a name it does not use is a typo."""
    used = variables(parse(expression))
    if not used:
        raise ExpressionError(f"{expression!r} has no variables, so no gradient to draw; {ALLOWED}")
    unused = [name for name in values if name not in used]
    if unused:
        are = "is not a variable" if len(unused) == 1 else "are not variables"
        formula = expression.strip()
        raise ExpressionError(
            f"--set: {', '.join(unused)} {are} of {formula!r}, whose variables are {', '.join(used)}"
        )
