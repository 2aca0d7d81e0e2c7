"""microgrid's benchmarks: time ratios against hand-written numpy measured in the same run.

Run:  make bench   (or python benchmarks/run.py [--quick])

The machine is shared and noisy, so each case alternates baseline and candidate in rounds,
counts the process's CPU time (not wall time, which other processes' load inflates) and
compares the fastest rounds; a ratio is meaningful, an absolute time is not.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread: on a shared 2-core machine a second thread spins while it waits for the
# other core, which adds CPU time at random. Set before numpy loads BLAS.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

import networks  # noqa: E402

import microgrid as mg  # noqa: E402


@dataclass
class Row:
    """One line of the table: what was measured, the figure, and the target it must meet."""

    case: str
    baseline: str
    value: float
    unit: str
    target: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.value <= self.target


def compare(
    baseline: Callable[[], object], candidate: Callable[[], object], rounds: int, repeat: int
) -> tuple[float, float, float]:
    """(baseline seconds per call, candidate seconds per call, ratio) from alternating rounds.

    The two run back to back in each round, so they see the same machine; the ratio is the median
    of the per-round ratios, and the times are each side's fastest round.
    """
    for fn in (baseline, candidate):  # warm caches and allocators
        for _ in range(max(1, repeat // 10)):
            fn()
    times: dict[int, list[float]] = {0: [], 1: []}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for which, fn in enumerate((baseline, candidate)):
                start = time.process_time()  # CPU time: other processes' load does not count
                for _ in range(repeat):
                    fn()
                times[which].append((time.process_time() - start) / repeat)
    finally:
        if gc_was_enabled:
            gc.enable()
    ratios = [c / b for b, c in zip(times[0], times[1])]
    return min(times[0]), min(times[1]), statistics.median(ratios)


def network_row(
    name: str,
    sizes: list[int],
    hidden: str,
    m: int,
    target: float,
    rounds: int,
    repeat: int,
    baseline: str = "hand-written numpy",
    candidate: str = "tensor ops",
) -> Row:
    """A training step written as `candidate` against the same step written as `baseline`
    (two of networks.STEPS: by hand in numpy, with raw microgrid tensor ops, with microgrid.nn)."""
    X, Y, params = networks.make_problem(sizes, m)
    base_step = networks.STEPS[baseline](hidden, X, Y, [p.copy() for p in params])
    candidate_step = networks.STEPS[candidate](hidden, X, Y, [p.copy() for p in params])
    # Both must compute the same step before their speeds mean anything.
    base_cost, candidate_cost = base_step(), candidate_step()
    if not np.isclose(base_cost, candidate_cost, rtol=1e-9):
        raise AssertionError(f"{name}: costs differ, {baseline} {base_cost} vs {candidate} {candidate_cost}")
    base_time, candidate_time, ratio = compare(base_step, candidate_step, rounds, repeat)
    detail = f"{baseline} {base_time * 1e6:,.0f} µs, {candidate} {candidate_time * 1e6:,.0f} µs per step"
    return Row(name, baseline, ratio, "×", target, detail)


def op_overhead_row(rounds: int, repeat: int) -> Row:
    """Adding two 4×400 tensors that require grad (recording the graph) against numpy's a + b."""
    a_np, b_np = np.ones((4, 400)), np.ones((4, 400))
    a, b = mg.tensor(a_np, requires_grad=True), mg.tensor(b_np, requires_grad=True)
    numpy_time, microgrid_time, ratio = compare(lambda: a_np + b_np, lambda: a + b, rounds, repeat * 20)
    overhead = (microgrid_time - numpy_time) * 1e6
    detail = f"numpy {numpy_time * 1e6:.2f} µs, microgrid {microgrid_time * 1e6:.2f} µs (+{overhead:.2f} µs)"
    return Row("add 4×400, requires_grad", "numpy a + b", ratio, "×", 4.0, detail)


def chain_row() -> Row:
    """Backward time of a 100,000-op chain over a 10,000-op chain: 10 when the walk is linear."""

    def backward_seconds(length: int) -> float:
        x = mg.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(length):
            y = y * 1.0
        start = time.perf_counter()
        y.backward()
        return time.perf_counter() - start

    short = min(backward_seconds(10_000) for _ in range(3))
    long = min(backward_seconds(100_000) for _ in range(3))
    detail = f"10k ops {short * 1e3:.0f} ms, 100k ops {long * 1e3:.0f} ms"
    return Row("backward of 100k-op chain", "10k-op chain × 10", long / short / 10, "×", 1.5, detail)


def memory_row(steps: int) -> Row:
    """Peak traced memory in the second half of `steps` training steps over the first half."""
    X, Y, params = networks.make_problem([2, 4, 1], 400)
    step = networks.microgrid_step("tanh", X, Y, params)
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
    return Row(f"memory over {steps:,} steps (2→4→1)", "first half", peaks[1] / peaks[0], "×", 1.05, detail)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test, noisier figures)")
    args = parser.parse_args()
    rounds, repeat = (6, 10) if args.quick else (40, 10)
    rows = [
        network_row("2→4→1 tanh, m=400", [2, 4, 1], "tanh", 400, 2.5, rounds, repeat),
        network_row("[2,20,7,5,1] relu, m=400", [2, 20, 7, 5, 1], "relu", 400, 2.0, rounds, repeat),
        network_row(
            "[784,256,256,1] relu, m=4096",
            [784, 256, 256, 1],
            "relu",
            4096,
            1.05,
            max(3, rounds // 3),
            2 if args.quick else 3,
        ),
        # microgrid.nn (mlp, sigmoid_cross_entropy, optim.SGD) may add at most 20 % to raw tensor ops.
        network_row(
            "2→4→1 tanh nn layers, m=400", [2, 4, 1], "tanh", 400, 3.0, rounds, repeat, candidate="nn layers"
        ),
        network_row(
            "2→4→1 tanh nn layers, m=400",
            [2, 4, 1],
            "tanh",
            400,
            1.2,
            rounds,
            repeat,
            baseline="tensor ops",
            candidate="nn layers",
        ),
        op_overhead_row(rounds, repeat),
        chain_row(),
        memory_row(1_000 if args.quick else 10_000),
    ]
    width = max(len(r.case) for r in rows)
    print(f"{'case':<{width}}  {'against':<20} {'ratio':>7}  {'target':>7}  {'':4}  detail")
    for r in rows:
        mark = "ok" if r.ok else "MISS"
        figures = f"{r.value:>6.2f}{r.unit}  ≤{r.target:>5.2f}{r.unit}"
        print(f"{r.case:<{width}}  {r.baseline:<20} {figures}  {mark:4}  {r.detail}")
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
