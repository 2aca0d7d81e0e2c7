"""`microgrid playground [--port N] [--no-browser]`: the web app on 127.0.0.1, never on other interfaces."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
import webbrowser
from typing import Any

from microgrid.playground import MissingExtra, require

HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def add_command(subcommands: Any) -> None:
    """Add `playground [--port N] [--no-browser]` to the `microgrid` command."""
    parser = subcommands.add_parser(
        "playground",
        help="train a network live in the browser (needs the playground extra)",
        description="Start the playground on http://127.0.0.1:PORT/ and open it in the browser: train a "
        "network live and watch its decision boundary, costs, graph and gradients. Ctrl-C stops it.",
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Serve until Ctrl-C; one line on stderr and status 1 when the extra is missing."""
    try:
        require("starlette", "uvicorn")
    except MissingExtra as error:
        print(f"microgrid playground: {error}", file=sys.stderr)
        return 1
    serve(arguments.port, open_browser=not arguments.no_browser)
    return 0


def port_number(text: str) -> int:
    """--port's value: a whole number from 1 to 65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535, got {text!r}")
    return int(text)


def check_port(port: int) -> None:
    """Refuse a port that is taken, before uvicorn would print a traceback about it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a server just stopped is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise OSError(f"port {port} on {HOST} is in use; choose another with --port") from None


def serve(port: int = DEFAULT_PORT, open_browser: bool = True) -> None:
    """Run the app on 127.0.0.1:`port` until interrupted; open the page once it answers."""
    import uvicorn

    from microgrid.playground.app import create_app

    check_port(port)
    url = f"http://{HOST}:{port}/"
    server = uvicorn.Server(uvicorn.Config(create_app(), host=HOST, port=port, log_level="warning"))

    def announce() -> None:
        while not server.started:
            time.sleep(0.05)
        print(f"microgrid playground on {url} (Ctrl-C stops it)", flush=True)
        if open_browser:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
