"""microgrid's benchmarks: time ratios against hand-written numpy measured in the same process.

Run:  make bench   (or python benchmarks/run.py [--quick] [--runs N] [case ...]; --list names the cases)

Each case runs in a fresh Python process, as a user's script would: nothing one workload
allocated or warmed up helps the next. Inside it, baseline and candidate alternate in rounds
(the order flipped every round), each timed by the process's CPU time, not wall time, which
other processes' load inflates; a ratio is the median of the rounds' ratios. The machine is
shared and noisy, so a ratio is meaningful and an absolute time is not. Two fresh processes can
still give one case figures further apart than an engine change moves them (3.37× and 3.52× for
the eager 2→4→1 step): `--runs N` runs each case in N processes and reports the median and range,
which is how the README's figures are measured. Between builds the range can move further still:
the same commit checked out at two paths ran the small replay at 0.92–0.94× and 0.96–0.98×, with
the same instruction counts (valgrind --tool=callgrind): where Python's objects and numpy's
arrays land in memory decides which cache entries collide and how arrays align with cache
lines (a 4×400 multiply takes 0.41 µs on arrays aligned to 64 bytes, 0.49 µs on 16). To compare
two versions of the engine, count instructions, or time each in several checkouts.

The table says which numpy, BLAS and SIMD extensions the figures were measured with: numpy's
kernels differ by CPU (an AVX-512 exp is several times an SSE2 one), and so do the ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

# One BLAS thread: on a shared machine a second thread spins while it waits for a core, which
# adds CPU time at random. Set before numpy loads BLAS.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

import draw  # noqa: E402
import networks  # noqa: E402
import playground  # noqa: E402

import microgrid as mg  # noqa: E402

NETWORKS = {  # name: (layer sizes, hidden activation, m)
    "2→4→1 tanh": ([2, 4, 1], "tanh", 400),
    "[2,20,7,5,1] relu": ([2, 20, 7, 5, 1], "relu", 400),
    "[784,256,256,1] relu": ([784, 256, 256, 1], "relu", 4096),
}
SMALL, MEDIUM, BIG = NETWORKS


@dataclass
class Row:
    """One line of the table: what was measured, against what, the figure and its target."""

    case: str
    baseline: str
    value: float
    unit: str
    target: float | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.target is None or self.value <= self.target


def compare(
    baseline: Callable[[], object], candidate: Callable[[], object], rounds: int, repeat: int
) -> tuple[float, float, float]:
    """(baseline seconds per call, candidate seconds per call, ratio) from alternating rounds:
    the times are each side's fastest round, the ratio the median of the rounds' ratios."""
    for fn in (baseline, candidate):  # warm caches, allocators, a replay's recording
        for _ in range(max(2, repeat // 5)):
            fn()
    times: dict[int, list[float]] = {0: [], 1: []}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_number in range(rounds):
            order = (0, 1) if round_number % 2 == 0 else (1, 0)
            for which in order:
                fn = (baseline, candidate)[which]
                start = time.process_time()
                for _ in range(repeat):
                    fn()
                times[which].append((time.process_time() - start) / repeat)
    finally:
        if gc_was_enabled:
            gc.enable()
    ratios = [c / b for b, c in zip(times[0], times[1])]
    return min(times[0]), min(times[1]), statistics.median(ratios)


def step_row(
    network: str,
    candidate: str,
    loss: str,
    target: float | None,
    quick: bool,
    baseline: str = "numpy",
    dtype: str = "float64",
) -> Row:
    """A training step written as `candidate` against the same step written as `baseline`
    (two of networks.STEPS), on the same weights and data: they must agree before they are timed."""
    # ssl in the process moves a numpy step's temporaries to the top of the heap, where glibc
    # trims them at every free: page faults that made the [2,20,7,5,1] numpy step 2.7× slower.
    if "ssl" in sys.modules:
        raise RuntimeError("a step case must run in a process without ssl (see playground._get)")
    sizes, hidden, m = NETWORKS[network]
    X, Y, params = networks.make_problem(sizes, m, dtype=np.dtype(dtype))
    base_step = networks.STEPS[baseline](hidden, loss, X, Y, [p.copy() for p in params])
    candidate_step = networks.STEPS[candidate](hidden, loss, X, Y, [p.copy() for p in params])
    base_cost, candidate_cost = base_step(), candidate_step()
    tolerance = 1e-4 if dtype == "float32" else 1e-9
    if not np.isclose(base_cost, candidate_cost, rtol=tolerance):
        raise AssertionError(
            f"{network}: costs differ, {baseline} {base_cost} vs {candidate} {candidate_cost}"
        )
    big = network == BIG
    rounds, repeat = (3, 2) if big and quick else (7, 3) if big else (6, 10) if quick else (30, 20)
    base_time, candidate_time, ratio = compare(base_step, candidate_step, rounds, repeat)
    name = f"{network}, {candidate} ({loss} loss{', ' + dtype if dtype != 'float64' else ''})"
    detail = f"{baseline} {_us(base_time)}, {candidate} {_us(candidate_time)} per step"
    return Row(name, baseline, ratio, "×", target, detail)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs" if seconds >= 1e-4 else f"{seconds * 1e6:.1f} µs"


def op_overhead_row(quick: bool) -> Row:
    """What microgrid adds to numpy's a + b for two 4×400 tensors that require grad: the op, its
    output tensor and its link into the graph."""
    a_np, b_np = np.ones((4, 400)), np.ones((4, 400))
    a, b = mg.tensor(a_np, requires_grad=True), mg.tensor(b_np, requires_grad=True)
    rounds = 6 if quick else 30
    numpy_time, microgrid_time, _ = compare(lambda: a_np + b_np, lambda: a + b, rounds, 2000)
    overhead = (microgrid_time - numpy_time) * 1e6
    detail = f"numpy {numpy_time * 1e6:.2f} µs, microgrid {microgrid_time * 1e6:.2f} µs"
    return Row("a + b, 4×400, requires_grad", "numpy a + b", overhead, " µs", 0.8, detail)


def chain_row(quick: bool) -> Row:
    """Backward time of a 100,000-op chain over a 10,000-op chain: 10 when the walk is linear."""

    def backward_seconds(length: int) -> float:
        x = mg.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(length):
            y = y * 1.0
        start = time.process_time()
        y.backward()
        return time.process_time() - start

    short = min(backward_seconds(10_000) for _ in range(3))
    long = min(backward_seconds(100_000) for _ in range(3))
    detail = f"10k ops {short * 1e3:.0f} ms, 100k ops {long * 1e3:.0f} ms"
    return Row("backward of a 100k-op chain", "10k-op chain × 10", long / short / 10, "×", 1.5, detail)


def memory_row(quick: bool) -> Row:
    """Peak traced memory in the second half of the training steps over the first half."""
    steps = 1_000 if quick else 10_000
    sizes, hidden, m = NETWORKS[SMALL]
    X, Y, params = networks.make_problem(sizes, m)
    step = networks.ops_step(hidden, "stable", X, Y, params)
    tracemalloc.start()
    try:
        peaks = []
        for _half in range(2):
            tracemalloc.reset_peak()
            for _ in range(steps // 2):
                step()
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    detail = f"peak {peaks[0] / 1024:.0f} KiB in steps 1-{steps // 2}, {peaks[1] / 1024:.0f} KiB after"
    return Row(
        f"memory over {steps:,} eager steps (2→4→1)", "first half", peaks[1] / peaks[0], "×", 1.05, detail
    )


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cases() -> dict[str, Callable[[bool], Row]]:
    """Every case by name, each run in a process of its own: eager on the course's graph (the
    targets of a leaner engine), replay of the nn step (the targets of mg.replay), and figures
    without a target that put them in context (the stable loss eager, PyTorch when installed)."""
    found: dict[str, Callable[[bool], Row]] = {}

    def add(name: str, *args: object, **kwargs: object) -> None:
        found[name] = lambda quick: step_row(*args, quick=quick, **kwargs)  # type: ignore[arg-type]

    eager_targets = {SMALL: 3.0, MEDIUM: 2.2, BIG: 1.05}
    replay_targets = {SMALL: 0.95, MEDIUM: 0.95, BIG: 1.0}
    for key, network in zip(("small", "medium", "big"), NETWORKS):
        add(f"{key}-ops-course", network, "ops", "course", eager_targets[network])
        add(f"{key}-ops-stable", network, "ops", "stable", None)
        add(f"{key}-replay", network, "replay", "stable", replay_targets[network])
        add(f"{key}-replay-course", network, "replay", "course", None)
        if _have_torch():
            add(f"{key}-torch-course", network, "torch", "course", None)
            add(f"{key}-torch-stable", network, "torch", "stable", None)
    add("small-replay-float32", SMALL, "replay", "stable", None, dtype="float32")
    # microgrid.nn (mlp, sigmoid_cross_entropy, optim.SGD) against the same step in raw ops.
    add("small-nn-vs-ops", SMALL, "nn", "stable", 1.15, baseline="ops")
    found["add-overhead"] = op_overhead_row
    found["chain"] = chain_row
    found["memory"] = memory_row
    found.update(playground.cases())
    found.update(draw.cases())
    return found


def environment() -> list[str]:
    """What the figures depend on: Python, numpy, its BLAS and the SIMD extensions it uses."""
    lines = [f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}"]
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[func-returns-value]
        lines.append(f"BLAS: {blas.get('name')} {blas.get('version', '')} (one thread)".rstrip())
    except (TypeError, KeyError):
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

        found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
        lines.append(f"SIMD: baseline {' '.join(__cpu_baseline__)}; dispatched {' '.join(found) or 'none'}")
    except ImportError:
        pass
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    lines.append(
        f"CPU: {cpu}, {os.cpu_count()} cores; PyTorch {'installed' if _have_torch() else 'not installed'}"
    )
    return lines


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def median_row(runs: list[Row]) -> Row:
    """One row for a case run in several processes: the median run's (of an odd number), its
    detail saying the range. (A process's figure can differ from another's by more than a change
    to the engine does.)"""
    ordered = sorted(runs, key=lambda row: row.value)
    middle = ordered[len(ordered) // 2]
    if len(runs) == 1:
        return middle
    low, high = ordered[0].value, ordered[-1].value
    spread = f"{len(runs)} processes: {low:.2f}–{high:.2f}{middle.unit}"
    return Row(
        middle.case, middle.baseline, middle.value, middle.unit, middle.target, f"{middle.detail}; {spread}"
    )


def run_case(name: str, quick: bool) -> int:
    """The child process: one case, its row as JSON on stdout."""
    row = cases()[name](quick)
    print(json.dumps(asdict(row)))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test, noisier figures)")
    parser.add_argument("--list", action="store_true", help="name the cases and stop")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="run each case in N fresh processes (N odd) and report the median and range (default 1)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)  # the child process's one case
    args = parser.parse_args()
    if args.runs < 1 or args.runs % 2 == 0:
        parser.error(f"--runs must be an odd number (its median is one run's figure), got {args.runs}")
    if args.case:
        return run_case(args.case, args.quick)
    known = cases()
    if args.list:
        print("\n".join(known))
        return 0
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; --list names them")
    print("\n".join(environment()))
    print()
    rows = []
    width = 52
    print(f"{'case':<{width}}  {'against':<12} {'figure':>8}  {'target':>8}  {'':4}  detail")
    for name in args.names or known:
        command = [sys.executable, __file__, "--case", name, *(["--quick"] if args.quick else [])]
        runs = []
        for _ in range(args.runs):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{name}: failed\n{done.stderr}", file=sys.stderr)
                return 1
            runs.append(Row(**json.loads(done.stdout.strip().splitlines()[-1])))
        row = median_row(runs)
        rows.append(row)
        mark = "" if row.target is None else "ok" if row.ok else "MISS"
        target = f"≤{row.target:.2f}{row.unit}" if row.target is not None else ""
        figures = f"{row.value:>6.2f}{row.unit:<2} {target:>8}  {mark:4}"
        print(f"{row.case:<{width}}  {row.baseline:<12} {figures}  {row.detail}", flush=True)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
