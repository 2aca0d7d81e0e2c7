"""The playground's speed as a learner sees it: training steps per second and page updates per second.

The app runs on uvicorn in this process; a client polls it as the page does (state every POLL
seconds, the graph with layer 1 open and the inspector of W[1] every GRAPH seconds) while the
session trains the flower's 2-layer network (4 tanh units) as fast as it may. The targets are the
issue's: at least 30 steps per second with the graph view open, and at least 5 page updates per
second. Steps run replayed (the playground's way) or eager (a recorded graph every step).

    python benchmarks/playground.py          # or: python benchmarks/run.py playground-steps-eager
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from run import Row

POLL = 0.12  # seconds between two polls of the page (ui.js POLL_MS)
GRAPH = 0.7  # seconds between two graph refreshes while training (ui.js GRAPH_MS)


def _get(url: str, data: bytes | None = None) -> Any:
    # Imported here, not above: run.py imports this module in every case's process, and
    # urllib.request loads ssl, whose allocations leave a numpy step's temporaries at the top of
    # the heap, where glibc gives them back to the kernel at every free: the [2,20,7,5,1] numpy
    # step took 262-270 µs instead of 95-100 µs (page faults), and replay looked 0.34× numpy.
    import urllib.request

    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def measure(seconds: float, replay: bool) -> tuple[float, float]:
    """(training steps per second, page updates per second) over `seconds` of play."""
    import uvicorn

    from microgrid.playground.app import create_app

    app = create_app(replay=replay)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    try:
        session_id = _get(f"{base}/api/session", b"{}")["id"]
        api = f"{base}/api/s/{session_id}"
        session = app.state.sessions.by_id[session_id]
        _get(f"{api}/settings", json.dumps({"speed": 1000}).encode())  # the most the playground allows
        _get(f"{api}/graph?expand=layer%201")
        node = next(key for key, t in session.view().by_key.items() if t.name == "W[1]")
        _get(f"{api}/control", json.dumps({"action": "play"}).encode())
        state = _get(f"{api}/state")
        start, first_step, updates, graph_at = time.perf_counter(), state["step"], 0, 0.0
        data = state["data"]["version"]
        while (now := time.perf_counter()) - start < seconds:
            state = _get(f"{api}/state?since={state['step']}&data={data}&run={state['run']}")
            updates += 1
            if now - graph_at >= GRAPH:
                _get(f"{api}/graph?expand=layer%201")
                _get(f"{api}/node/{node}")
                graph_at = now
            time.sleep(max(0.0, POLL - (time.perf_counter() - now)))
        elapsed = time.perf_counter() - start
        _get(f"{api}/control", json.dumps({"action": "pause"}).encode())
        return (state["step"] - first_step) / elapsed, updates / elapsed
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _steps_row(replay: bool) -> Callable[[bool], Row]:
    def row(quick: bool) -> Row:
        from run import Row  # here, not above: run.py imports this module

        steps, updates = measure(3.0 if quick else 10.0, replay)
        how = "replayed" if replay else "eager"
        return Row(
            f"playground: flower 2→4→1 tanh, {how} steps, graph open",
            "30 steps/s",
            1000 / steps,
            "ms",
            1000 / 30,
            f"{steps:,.0f} steps/s, {updates:.1f} page updates/s (capped at 1000 steps/s)",
        )

    return row


def updates_row(quick: bool) -> Row:
    from run import Row

    steps, updates = measure(3.0 if quick else 10.0, replay=False)
    return Row(
        "playground: page updates while training (eager)",
        "5 updates/s",
        1000 / updates,
        "ms",
        200.0,
        f"{updates:.1f} updates/s (the page polls every {POLL * 1000:.0f} ms), {steps:,.0f} steps/s",
    )


def cases() -> dict[str, Callable[[bool], Row]]:
    """The playground's cases for benchmarks/run.py."""
    return {
        "playground-steps-replay": _steps_row(replay=True),
        "playground-steps-eager": _steps_row(replay=False),
        "playground-updates": updates_row,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    for name, case in cases().items():
        print(name, case(quick=True))
