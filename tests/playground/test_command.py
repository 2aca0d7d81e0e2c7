"""`microgrid playground` on the command line: its options, a taken port, a missing extra."""

from __future__ import annotations

import socket
import subprocess
import sys

from microgrid.cli.main import run
from microgrid.errors import install_extra


def command(*arguments: str, blocked: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`microgrid ARGUMENTS` in a fresh interpreter in which importing `blocked` packages fails."""
    blocker = "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
    code = f"import sys\n{blocker}from microgrid.cli.main import main\nsys.exit(main({list(arguments)!r}))\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_without_the_extra_the_command_names_it_in_one_line() -> None:
    done = command("playground", "--no-browser", blocked=("starlette", "uvicorn"))
    assert done.returncode == 1
    assert done.stderr == (
        f"microgrid playground: the playground needs starlette, uvicorn: {install_extra('playground')}\n"
    )
    assert "microgrid-autograd[" not in done.stderr  # not on PyPI: no hint may send users there


def test_the_cli_lists_the_playground_and_imports_no_web_package() -> None:
    done = command("--help", blocked=("starlette", "uvicorn", "anywidget"))
    assert done.returncode == 0 and "playground" in done.stdout


def test_a_port_that_is_taken_is_one_line(capsys: object) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(["playground", "--port", str(port), "--no-browser"]) == 1
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert (
        err
        == f"microgrid playground: error: port {port} on 127.0.0.1 is in use; choose another with --port\n"
    )


def test_a_port_out_of_range_is_refused_by_the_parser() -> None:
    done = command("playground", "--port", "70000")
    assert done.returncode == 2
    assert "--port: must be a whole number from 1 to 65535, got '70000'" in done.stderr
