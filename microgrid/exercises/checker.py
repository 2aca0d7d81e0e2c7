"""The checker: run a student's function on each case, compare with the engine, name the mistake.

An `Exercise` holds its cases, an oracle (the expected outputs, computed by microgrid's own
autograd) and a catalogue of `Mistake`s. Each mistake computes the outputs a known wrong solution
gives on a case; a student's output that agrees with one mistake on every case gets that mistake's
diagnosis. So a diagnosis is a measurement, never a guess from the code.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from microgrid.tensor import Tensor

Outputs = dict[str, Any]  # output name -> numpy array or Spec
Nodes = dict[str, Tensor]  # output name -> the graph tensor whose value or gradient it is

RTOL, ATOL = 1e-6, 1e-9  # numpy and the engine round differently: 1e-16 apart, far inside these
# float32's own rounding (ε ≈ 1.2e-7) summed over a (7, 50) product reaches ~1e-5 in a small entry.
RTOL_FLOAT32, ATOL_FLOAT32 = 1e-4, 1e-5
TIME_LIMIT = 10.0  # seconds a case may run: an endless loop is reported, not waited on forever


class Unreadable(Exception):
    """The student's return value is not what the exercise returns (None, a wrong type, a missing key)."""


# --- what an output should be: an array, or a Spec for random outputs ---------------------------------


class Spec:
    """An expected output known up to a tolerance (a finite difference) or in distribution (a random W)."""

    def matches(self, array: np.ndarray) -> bool:
        raise NotImplementedError

    def observed(self, array: np.ndarray) -> str:
        """`array` described by what this expectation speaks of: its spread, its share of ones."""
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        values = finite.astype(float)
        return (
            f"{array.shape} with mean {values.mean():.4g} and std {values.std():.4g}"
            if values.size
            else str(array)
        )


def _tolerance(size: int, spread: float) -> float:
    """Five standard errors of a mean of `size` draws of this spread: a false alarm ~1 in 10⁶."""
    return 5 * spread / np.sqrt(max(size, 1))


# Fewer draws than this do not pin down a spread: small arrays are checked for shape (and zeros) only.
ENOUGH_DRAWS = 1000


@dataclass(frozen=True)
class Normal(Spec):
    """Draws of N(0, std²) in an array of `shape` (std 0: all zeros)."""

    shape: tuple[int, ...]
    std: float

    def matches(self, array: np.ndarray) -> bool:
        if array.shape != self.shape or not np.all(np.isfinite(array)):
            return False
        if self.std == 0 or array.size < ENOUGH_DRAWS:
            return bool(np.all(array == 0)) == (self.std == 0)
        spread = abs(float(array.std()) / self.std - 1)  # the sample std's relative error is 1/√(2N)
        return spread <= _tolerance(2 * array.size, 1.0) and abs(float(array.mean())) <= _tolerance(
            array.size, self.std
        )

    def __str__(self) -> str:
        return f"{self.shape} drawn from N(0, {self.std:.4g}²)" if self.std else f"zeros {self.shape}"


@dataclass(frozen=True)
class Mask(Spec):
    """A 0/1 mask of `shape` whose entries are 1 with probability `keep` (bool or numbers)."""

    shape: tuple[int, ...]
    keep: float

    def matches(self, array: np.ndarray) -> bool:
        if array.shape != self.shape or not np.all((array == 0) | (array == 1)):
            return False
        if array.size < ENOUGH_DRAWS:
            return True
        spread = np.sqrt(self.keep * (1 - self.keep))
        return abs(float(array.mean()) - self.keep) <= _tolerance(array.size, spread)

    def __str__(self) -> str:
        return f"{self.shape} mask of 0s and 1s, 1 with probability {self.keep:g}"

    def observed(self, array: np.ndarray) -> str:
        if not np.all((array == 0) | (array == 1)):
            values = array.astype(float)
            return (
                f"{array.shape} of other numbers than 0 and 1, from {values.min():.3g} to {values.max():.3g}"
            )
        return f"{array.shape} of 0s and 1s, {np.mean(array == 1):.3g} of them 1"


@dataclass(frozen=True)
class Uniform(Spec):
    """Draws of U[0, 1) in an array of `shape`: what np.random.rand gives before a comparison."""

    shape: tuple[int, ...]

    def matches(self, array: np.ndarray) -> bool:
        inside = np.all((array >= 0) & (array < 1))
        return array.shape == self.shape and bool(inside) and not np.all((array == 0) | (array == 1))

    def __str__(self) -> str:
        return f"{self.shape} uniform numbers in [0, 1)"


@dataclass(frozen=True, eq=False)
class Near(Spec):
    """A number known to `rtol` and `atol` (a finite-difference result)."""

    value: float
    rtol: float
    atol: float

    def matches(self, array: np.ndarray) -> bool:
        return array.shape == () and bool(
            abs(float(array) - self.value) <= self.atol + self.rtol * abs(self.value)
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Near) and self.matches(np.asarray(other.value))

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self.value:.6g} (± {self.atol + self.rtol * abs(self.value):.1g})"

    def observed(self, array: np.ndarray) -> str:
        return f"{float(array):.6g}" if array.shape == () else f"an array of shape {array.shape}"


def agrees(got: Any, want: Any) -> bool:
    """True when `got` (an array, or another expectation) is what `want` describes."""
    if isinstance(want, Spec):
        return want == got if isinstance(got, Spec) else want.matches(got)
    if isinstance(got, Spec):
        return got.matches(want)
    if got is None or np.shape(got) != np.shape(want):
        return False
    if np.asarray(got).dtype == np.float32:  # float32 keeps ~7 digits: a correct float32 answer passes
        return bool(np.allclose(got, want, rtol=RTOL_FLOAT32, atol=ATOL_FLOAT32, equal_nan=True))
    return bool(np.allclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True))


# --- the parts of an exercise --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One call of the student's function: `args` in the exercise's parameter order."""

    name: str
    args: tuple[Any, ...]
    seed: int = 1  # np.random.seed before the call: the course seeds its tests, and masks use it


@dataclass(frozen=True)
class Mistake:
    """A known wrong solution: the outputs it gives, and what to tell a student who gives them.

    `wrong(case, expected)` returns the outputs of the wrong solution (usually `expected` with one
    output changed); `node` names the graph tensor to highlight when it is not the output's own.
    """

    key: str
    says: str
    wrong: Callable[[Case, Outputs], Outputs]
    node: str | None = None


@dataclass(frozen=True)
class Exercise:
    """A graded function of the course: its signature, cases, oracle and catalogue of mistakes.

    oracle(case, got) gives the expected outputs (got, the student's, only matters for outputs
    that depend on the student's own random draws); read(returned, case) turns the student's return
    value into outputs or raises Unreadable; graph(case) builds the network around the function,
    backward already run, with the tensor behind each output.
    """

    name: str
    lesson: str
    signature: str
    doc: str
    params: tuple[str, ...]
    cases: Callable[[], list[Case]]
    oracle: Callable[[Case, Outputs | None], Outputs]
    read: Callable[[Any, Case], Outputs]
    mistakes: tuple[Mistake, ...]
    graph: Callable[[Case], tuple[Tensor, Nodes]] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # output name -> course node (dW -> dW[1])
    call: Callable[[Callable[..., Any], Case], Any] | None = None  # how to run the student's work
    may_change: tuple[str, ...] = ()  # parameters the course itself updates in place (the parameters dict)
    parts: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # a tuple's names: cache (A_prev, W, b)

    def label(self, output: str) -> str:
        return self.labels.get(output, output)

    def __str__(self) -> str:
        """What the exercise asks: its signature, its lesson and the formula to implement."""
        return f"{self.signature}    ({self.lesson})\n    {self.doc}"


def mistake(
    key: str, output: str, says: str, value: Callable[[Case, Outputs], Any], node: str | None = None
) -> Mistake:
    """A mistake that changes one output: `value(case, expected)` is what the wrong solution returns."""
    return Mistake(key, says, lambda case, want: {**want, output: value(case, want)}, node)


# --- reading what the student returned -------------------------------------------------------------------


def array(name: str, value: Any) -> np.ndarray:
    """`value` as a numpy array, or Unreadable naming what came back instead."""
    if isinstance(value, Tensor):
        return value.data.copy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":  # complex, object, text: no comparison would mean anything
            raise Unreadable(f"{name} is an array of {value.dtype}; it should hold real numbers (float)")
        return value.copy()
    if isinstance(value, (int, float, np.number, np.bool_)) and not isinstance(value, bool):
        return np.asarray(value)
    if value is None:
        raise Unreadable(f"{name} is None: did the function end without `return`?")
    raise Unreadable(
        f"{name} is a {type(value).__name__}; it should be a numpy array (or a microgrid Tensor)"
    )


def one(name: str) -> Callable[[Any, Case], Outputs]:
    """Read a single returned array called `name`."""
    return lambda returned, case: {name: array(f"the value returned ({name})", returned)}


def unpack(value: Any, names: Sequence[str], what: str) -> Sequence[Any]:
    """`value` as a tuple of len(names) items, or Unreadable saying what came back instead."""
    wanted = f"{len(names)} values ({', '.join(names)})"
    if not isinstance(value, (tuple, list)):
        found = "None (no `return`?)" if value is None else f"one {type(value).__name__}"
        raise Unreadable(f"{what} should be {wanted}; it is {found}")
    if len(value) != len(names):
        raise Unreadable(f"{what} should be {wanted}; it has {len(value)}")
    return value


def several(names: Sequence[str]) -> Callable[[Any, Case], Outputs]:
    """Read a returned tuple (dA_prev, dW, db)."""

    def read(returned: Any, case: Case) -> Outputs:
        values = unpack(returned, names, "the value returned")
        return {name: array(name, value) for name, value in zip(names, values)}

    return read


def keyed(names: Callable[[Case], Sequence[str]], what: str) -> Callable[[Any, Case], Outputs]:
    """Read a returned dictionary with the keys `names(case)` ("W1", "b1", ...)."""

    def read(returned: Any, case: Case) -> Outputs:
        if returned is None:
            raise Unreadable(
                f"the function returned None: end it with `return {what}` (changing the dictionary in "
                "place is not enough: the caller uses what the function returns)"
            )
        if not isinstance(returned, Mapping):
            raise Unreadable(
                f"the function should return the dictionary {what}; it returned {type(returned).__name__}"
            )
        keys = list(names(case))
        missing = [k for k in keys if k not in returned]
        if missing:
            raise Unreadable(
                f"{what} has no {', '.join(missing)} (its keys: {', '.join(map(str, returned))})"
            )
        return {k: array(f"{what}[{k!r}]", returned[k]) for k in keys}

    return read


# --- running the student's function ---------------------------------------------------------------------


@dataclass
class CaseResult:
    """What happened on one case: an error, or the outputs got and wanted."""

    case: Case
    want: Outputs | None = None
    got: Outputs | None = None
    error: str | None = None  # the function raised, or returned something unreadable
    changed: list[str] = field(default_factory=list)  # parameters the function changed in place
    order: tuple[int, ...] | None = None  # the returned items, reordered so, give the right outputs
    timed_out: bool = False
    printed: str = ""  # what the function printed, shown with its case rather than above the report

    @property
    def wrong(self) -> list[str]:
        """The outputs that disagree with the expected ones."""
        if self.got is None or self.want is None:
            return []
        return [name for name, want in self.want.items() if not agrees(self.got.get(name), want)]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.wrong and not self.changed


class TookTooLong(BaseException):
    """The student's function ran past the time limit. A BaseException, as KeyboardInterrupt is, so
    that an `except Exception` in the student's loop does not swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise TookTooLong in the code run inside after `seconds` (None: no limit).

    SIGALRM interrupts pure Python between two bytecodes, so it only works on the main thread
    of a Unix process; a notebook's kernel runs its cells there. Elsewhere (Windows, a thread)
    there is no limit, and an endless loop needs Ctrl-C or the kernel's interrupt button.
    """
    if (
        seconds is None
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise TookTooLong(
            f"it ran for more than {seconds:g} s and was stopped: an endless loop? (check(..., "
            "seconds=N) allows more)"
        )

    previous = signal.signal(signal.SIGALRM, alarm)
    started = time.monotonic()
    # Someone else's alarm (a test runner's timeout) is put back afterwards, minus the time spent.
    other, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if other:
            signal.setitimer(signal.ITIMER_REAL, max(other - (time.monotonic() - started), 1e-3))


def run_cases(
    exercise: Exercise, solution: Callable[..., Any], seconds: float | None = TIME_LIMIT
) -> list[CaseResult]:
    """Every case of the exercise; after one runs out of time the rest are not run (each would wait too)."""
    results: list[CaseResult] = []
    for case in exercise.cases():
        if results and results[-1].timed_out:
            skipped = "not run: the case before ran out of time"
            results.append(CaseResult(case, want=exercise.oracle(case, None), error=skipped, timed_out=True))
        else:
            results.append(run_case(exercise, solution, case, seconds))
    return results


def run_case(
    exercise: Exercise, solution: Callable[..., Any], case: Case, seconds: float | None = TIME_LIMIT
) -> CaseResult:
    """Call the solution on a fresh copy of the case's arguments, with numpy's global generator seeded
    (then restored, so the student's own stream is left as it was), for at most `seconds`; what it
    prints is kept with the case (a debugging print would otherwise land above the whole report)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = _judge(exercise, solution, case, seconds)
    result.printed = printed.getvalue()
    return result


def _judge(exercise: Exercise, solution: Callable[..., Any], case: Case, seconds: float | None) -> CaseResult:
    """run_case's work: the call, its outputs read and compared, or the error it gave."""
    args = copy.deepcopy(case.args)
    state = np.random.get_state()
    np.random.seed(case.seed)
    returned: Any = None
    try:
        with np.errstate(all="ignore"), time_limit(seconds):  # an overflow is judged by the values it gives
            returned = exercise.call(solution, case) if exercise.call else solution(*args)
        got = exercise.read(returned, case)
    except TookTooLong as stopped:
        return CaseResult(case, want=exercise.oracle(case, None), error=str(stopped), timed_out=True)
    except Unreadable as problem:
        order = reordered(exercise, returned, case)
        message = str(problem) if order is None else in_order(exercise, order)
        return CaseResult(case, want=exercise.oracle(case, None), error=message)
    # The student's code: any error at all is reported, not raised; exit() too, which would end the kernel.
    except (Exception, SystemExit) as error:
        return CaseResult(case, want=exercise.oracle(case, None), error=raised(error))
    finally:
        np.random.set_state(state)
    changed = [
        name
        for name, before, after in zip(exercise.params, case.args, args)
        if name not in exercise.may_change and not same(before, after)
    ]
    result = CaseResult(case, want=exercise.oracle(case, got), got=got, changed=changed)
    if result.wrong:
        result.order = reordered(exercise, returned, case)
    return result


def reordered(exercise: Exercise, returned: Any, case: Case) -> tuple[int, ...] | None:
    """The order of the returned tuple's items in which they are all right, when it is another one."""
    if not isinstance(returned, (tuple, list)) or not 2 <= len(returned) <= 4:
        return None
    for order in itertools.permutations(range(len(returned))):
        if order == tuple(range(len(returned))):
            continue
        try:
            with np.errstate(all="ignore"):
                got = exercise.read(tuple(returned[i] for i in order), case)
                want = exercise.oracle(case, got)
        except Exception:  # this order does not even read: not the one
            continue
        if all(agrees(got.get(name), value) for name, value in want.items()):
            return order
    return None


def in_order(exercise: Exercise, order: tuple[int, ...]) -> str:
    """`the right values in the wrong order: return your 2nd, 1st, 3rd items, as ... -> (dA_prev, dW, db)`."""
    ordinals = ", ".join(_ORDINALS[i] for i in order)
    return (
        f"the right values in the wrong order: return your {ordinals} items, in the order of "
        f"{exercise.signature}"
    )


_ORDINALS = ("1st", "2nd", "3rd", "4th")


def same(a: Any, b: Any) -> bool:
    """Equal values all the way down (arrays, tuples, dictionaries)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True)
        )
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return True  # numbers, functions, classes: not changed in place


# Frames inside numpy and microgrid (this checker included) are not the student's line.
_LIBRARIES = (
    os.path.dirname(os.path.abspath(np.__file__)) + os.sep,
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
)


def raised(error: BaseException) -> str:
    """`ValueError: shapes (3,4) and (5,4) not aligned, at `dW = np.dot(dZ, A_prev)` (line 4)`: the
    error and the last line of the student's own code it passed through."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(_LIBRARIES)]
    where = ""
    if frames:
        frame = frames[-1]
        code = f"`{frame.line}` " if frame.line else ""
        where = f" at {code}(line {frame.lineno} of {os.path.basename(frame.filename)})"
    message = str(error).split("\n")[0]
    return f"it raised {type(error).__name__}: {message}{where}"


# --- the diagnosis: which catalogued mistakes reproduce the student's outputs ----------------------------


@dataclass(frozen=True)
class Finding:
    """A catalogued mistake that reproduces the student's outputs `outputs`, on every case."""

    mistake: Mistake
    outputs: tuple[str, ...]


def diagnose(exercise: Exercise, results: Sequence[CaseResult]) -> list[Finding]:
    """The catalogued mistakes that reproduce the student's outputs.

    A mistake is found when it changes some output, and on every case the function returned from,
    the student's value of each output it changes agrees with the mistake's. Two mistakes in
    different outputs (dW without 1/m, db without keepdims) are both found; one that explains a
    part of what another explains is left out.
    """
    readable = [(r.case, r.want, r.got) for r in results if r.got is not None and r.want is not None]
    order = list(dict.fromkeys(name for _, want, _ in readable for name in want))
    findings = []
    for mistake in exercise.mistakes:
        outcomes = []
        for case, want, got in readable:
            try:
                with np.errstate(all="ignore"):
                    outcomes.append((want, got, mistake.wrong(case, want)))
            except Exception:  # the wrong solution fails on this case, so it cannot be the student's
                outcomes = []
                break
        changes = {
            name for want, _, theirs in outcomes for name in want if not agrees(theirs.get(name), want[name])
        }
        reproduced = all(
            agrees(got[name], theirs.get(name))
            for _, got, theirs in outcomes
            for name in changes & got.keys()
        )
        if changes and reproduced:
            findings.append(Finding(mistake, tuple(name for name in order if name in changes)))
    orders = {r.order for r in results if r.wrong}
    if not findings and len(orders) == 1 and None not in orders:
        # Every failing case is right once its items are put in one other order.
        (items,) = orders
        assert items is not None
        says = in_order(exercise, items)
        wrong = tuple(dict.fromkeys(name for r in results for name in r.wrong))
        findings.append(Finding(Mistake("returned-in-wrong-order", says, lambda case, want: want), wrong))
    # A mistake that explains only part of what another explains is that other's shadow: a backward
    # that returns grad unchanged also loses the second derivative, as a numpy backward does.
    return [f for f in findings if not any(set(f.outputs) < set(g.outputs) for g in findings)]
