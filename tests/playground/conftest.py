"""Fixtures of the playground's tests: a server running `microgrid playground` on a free port.

The browser tests drive it with the `browser` fixture of tests/conftest.py (Debian's Chromium through
Playwright; a skip without it, except under CI).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    """Return once `url` answers; fail with the server's output if it exits or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the playground exited with {process.returncode}:\n{process.communicate()[1]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the playground did not answer at {url} within {seconds} s")


def start_server(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[str, subprocess.Popen[str]]:
    """`command --port N --no-browser` started on a free port, once it serves; (url, process)."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port), "--no-browser"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process)
    except AssertionError:
        process.kill()
        raise
    return url, process


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def launch() -> Iterator[Callable[[list[str], Path], str]]:
    """A function that starts `command --port N --no-browser` in a folder and returns its URL;
    the servers it started are stopped after the test."""
    processes: list[subprocess.Popen[str]] = []

    def start(command: list[str], cwd: Path) -> str:
        url, process = start_server(command, cwd)
        processes.append(process)
        return url

    yield start
    for process in processes:
        stop(process)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The URL of `microgrid playground` run from this checkout, as a user runs it."""
    url, process = start_server([sys.executable, "-m", "microgrid.cli", "playground"], ROOT)
    yield url
    stop(process)
