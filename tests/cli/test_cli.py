"""`microgrid graph ...`: files in each format, the step-through, DOT on stdout, errors, subcommands."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from pictures import dot_nodes

from microgrid.cli import main as cli

LECTURE = ["graph", "3*(a + b*c)", "--set", "a=5", "b=3", "c=2"]


def test_lecture_example_writes_an_svg_and_prints_the_gradients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.svg"
    assert cli.main([*LECTURE, "-o", str(out)]) == 0
    svg = out.read_text()
    assert "forward" in svg and "backward: gradients flow right to left" in svg  # both graphs drawn
    assert "dJ/da = 3  dJ/db = 6  dJ/dc = 9" in capsys.readouterr().out  # 3, 3c, 3b by hand


@pytest.mark.parametrize(("option", "magic"), [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("dot", b"digraph")])
def test_format_option_chooses_the_file_type(tmp_path: Path, option: str, magic: bytes) -> None:
    assert cli.main([*LECTURE, "--format", option, "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / f"out.{option}").read_bytes().startswith(magic)


@pytest.mark.parametrize("option", ["--html", "-o"])
def test_html_option_or_an_html_output_writes_the_step_through(tmp_path: Path, option: str) -> None:
    assert cli.main([*LECTURE, option, str(tmp_path / "steps.html")]) == 0
    page = (tmp_path / "steps.html").read_text()
    assert page.count('<div class="frame" hidden>') == 4  # forward, then the walk's J, a + b*c, b*c
    assert [path.name for path in tmp_path.iterdir()] == ["steps.html"]  # and no picture beside it


@pytest.mark.parametrize(
    "arguments",
    [
        ["-x*y", "--set", "x=2", "y=3"],
        ["--set", "x=2", "y=3", "-x*y"],
        ["--set", "x=2", "y=3", "--", "-x*y"],  # the usual separator still works
        ["-x*y", "--set", "x=2", "y=3", "--show", "forward"],
    ],
)
def test_a_formula_starting_with_a_minus_is_not_an_option(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["graph", *arguments]) == 0
    assert "<B>J = -6</B>" in " ".join(dot_nodes(capsys.readouterr().out).values())


def test_the_options_of_graph_stay_options_beside_a_formula_starting_with_a_minus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["graph", "-o*h", "--set", "o=2", "h=3", "-o", str(tmp_path / "J.dot")]) == 0
    assert "J = -6    dJ/do = -3  dJ/dh = -2" in capsys.readouterr().out  # -o*h is the formula
    assert (tmp_path / "J.dot").read_text().startswith("digraph")
    with pytest.raises(SystemExit) as exit:
        cli.main(["graph", "-x", "-h"])
    assert exit.value.code == 0 and capsys.readouterr().out.startswith("usage: microgrid graph")


def test_without_an_output_the_dot_text_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*LECTURE, "--show", "forward", "--rankdir", "TB"]) == 0
    source = capsys.readouterr().out
    assert source.startswith("digraph") and "rankdir=TB" in source
    titles = " ".join(dot_nodes(source).values())
    assert "<B>b*c = 6</B>" in titles and "<B>a + b*c = 11</B>" in titles and "<B>J = 33</B>" in titles


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["graph", "os.system('ls')"], "is not allowed"),
        (["graph", "a*d", "--set", "a=1"], "undefined variable d; give each a value, e.g. --set d=1"),
        (["graph", "2*3"], "has no variables"),
        (
            ["graph", "a*b", "--set", "a=1", "b=2", "c=3"],
            "--set: c is not a variable of 'a*b', whose variables are a, b",
        ),
        (["graph", "a*b", "--set", "a=1", "bb=2", "cc=3"], "--set: bb, cc are not variables of 'a*b'"),
        (["graph", "a*\udcff", "--set", "a=1"], "the argument b'a*\\xff' is not utf-8 text"),  # bytes a*\xff
        (["graph", "a", "--set", "a=\udcff"], "the argument b'a=\\xff' is not utf-8 text"),
        (["graph", "a", "--set", "a=1", "-o", "J.jpg"], "-o J.jpg: .jpg is not a picture format"),
        (["graph", "a", "--set", "a=1", "-o", "missing/J.dot"], "No such file or directory: 'missing/J.dot'"),
    ],
)
def test_user_errors_are_one_clear_line_and_status_1(
    arguments: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(arguments) == 1
    error = capsys.readouterr().err
    assert error.startswith("microgrid graph: error: ") and message in error and error.count("\n") == 1


def test_malformed_assignments_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(["graph", "a", "--set", "a"])
    assert exit.value.code == 2 and "expected NAME=VALUE, like a=5, got 'a'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["graph", "a", "--set", "a=five"])
    assert "the value of a must be a number, got 'five'" in capsys.readouterr().err


def test_without_a_renderer_the_dot_is_kept_and_the_error_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path / "no-scripts"))
    assert cli.main([*LECTURE, "-o", str(tmp_path / "out.png")]) == 1
    assert "microgrid[draw]" in capsys.readouterr().err
    assert (tmp_path / "out.dot").read_text().startswith("digraph")


def test_subcommands_are_pluggable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def add_hello_command(subcommands: argparse._SubParsersAction) -> None:
        parser = subcommands.add_parser("hello")
        parser.add_argument("name")
        parser.set_defaults(run=lambda args: print(f"hello {args.name}") or 0)

    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, add_hello_command])
    assert cli.main(["hello", "demo"]) == 0
    assert capsys.readouterr().out == "hello demo\n"
    with pytest.raises(SystemExit):
        cli.main([])  # a subcommand is required
    assert "graph" in capsys.readouterr().err


def test_the_module_runs_as_a_program(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "microgrid.cli", *LECTURE, "-o", str(tmp_path / "out.dot")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "J = 33" in done.stdout and (tmp_path / "out.dot").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX arguments are bytes; Windows passes text")
def test_an_argument_that_is_not_utf8_is_refused_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "microgrid.cli", "graph", b"a*\xff", "--set", "a=1"],
        capture_output=True,
        env={**os.environ, "PYTHONUTF8": "1"},  # whatever the locale, arguments are read as UTF-8
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == b"microgrid graph: error: the argument b'a*\\xff' is not utf-8 text\n"


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    """`microgrid graph ... | head -1`: the reader closes the pipe while the command is still writing."""
    name = "J" * 20_000  # in the label of every gradient: DOT text far longer than a pipe holds (64 KiB)
    command = [sys.executable, "-m", "microgrid.cli", *LECTURE, "--name", name]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as program:
        assert program.stdout is not None and program.stderr is not None
        assert program.stdout.readline() == b"digraph microgrid {\n"
        program.stdout.close()
        errors = program.stderr.read()
    assert errors == b"" and program.returncode == cli.BROKEN_PIPE_STATUS
