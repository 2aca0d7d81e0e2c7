"""The engine's switches: gradient recording, name scopes and anomaly detection, per thread and task.

They live in one context variable, as PyTorch keeps its grad mode per thread: a `no_grad()` in one
thread (an evaluation loop beside training) or in one asyncio task (a web server's request) never
changes what another records. Each switch is a context manager that restores exactly what it
found, so overlapping blocks in different threads cannot leave grad mode off for everyone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from microgrid.errors import ReplayError

F = TypeVar("F", bound=Callable[..., Any])


class Mode:
    """What every new op reads: record a graph or not, the current scope, anomaly checks.

    Its switches never change once made: each switch makes a new Mode (grad's reuses the twin it
    made the first time). A class with __slots__, not a NamedTuple: Op.apply reads four fields per
    op, and a slot is read in a tenth of the instructions of a NamedTuple's field (−2.0 % of the
    instructions, about −4 % of the time, of the 2→4→1 training step).
    """

    __slots__ = (
        "_other_grad",
        "_scoped",
        "anomaly",
        "backward_of",
        "grad_enabled",
        "recording",
        "scope",
        "watching",
    )

    def __init__(
        self,
        grad_enabled: bool = True,
        anomaly: bool = False,
        scope: tuple[str, ...] = (),
        backward_of: str | None = None,  # while anomaly mode runs a rule, whose (for messages)
        recording: Any = None,  # while mg.replay records a step, where its calls go (a Recording)
    ) -> None:
        self.grad_enabled = grad_enabled
        self.anomaly = anomaly
        self.scope = scope
        self.backward_of = backward_of
        self.recording = recording
        # Either of the two that make every op do more: one test for the usual case, neither.
        self.watching = anomaly or recording is not None
        self._other_grad: Mode | None = None  # this mode with grad_enabled flipped, once made
        self._scoped: dict[tuple[str, ...], Mode] | None = None  # this mode in other scopes, once made

    def with_grad(self, enabled: bool) -> Mode:
        # Made once and kept: every backward() and every `with no_grad():` of a training loop
        # leaves the same mode for the same twin (−0.4 % of the 2→4→1 step's instructions). Kept
        # one way only: a link back would make a cycle, which only the garbage collector frees,
        # and a mode made while recording holds the replay's recording with all its arrays.
        if enabled == self.grad_enabled:
            return self
        other = self._other_grad
        if other is None:
            other = Mode(enabled, self.anomaly, self.scope, self.backward_of, self.recording)
            self._other_grad = other
        return other

    def with_anomaly(self, anomaly: bool) -> Mode:
        return Mode(self.grad_enabled, anomaly, self.scope, self.backward_of, self.recording)

    def with_scope(self, scope: tuple[str, ...]) -> Mode:
        # Kept, as the grad twin is: every layer of every step enters its scope, and a new Mode
        # each time cost an nn training step 2 % of its bytecodes. At most _MAX_SCOPED per mode,
        # for a scope named anew at every step (f"step {i}"); one way only, as the twin.
        scoped = self._scoped
        if scoped is None:
            scoped = self._scoped = {}
        found = scoped.get(scope)
        if found is None:
            if len(scoped) >= _MAX_SCOPED:
                scoped.clear()
            found = Mode(self.grad_enabled, self.anomaly, scope, self.backward_of, self.recording)
            scoped[scope] = found
        return found

    def with_backward_of(self, text: str | None) -> Mode:
        return Mode(self.grad_enabled, self.anomaly, self.scope, text, self.recording)

    def with_recording(self, recording: Any) -> Mode:
        return Mode(self.grad_enabled, self.anomaly, self.scope, self.backward_of, recording)


_MAX_SCOPED = 64  # the scopes' modes one mode keeps (see Mode.with_scope)

# One variable holding the whole mode: an op reads it once (one lookup instead of three).
_mode: ContextVar[Mode] = ContextVar("microgrid_mode", default=Mode())  # noqa: B039 (never changed)
# The engine's three verbs, the variable's own methods: `current().grad_enabled`;
# `token = enter(mode)` makes a mode current until `leave(token)` restores what was there.
current = _mode.get
enter = _mode.set
leave = _mode.reset


class _GradMode:
    """Context manager and decorator that sets whether ops record the graph."""

    __slots__ = ("enabled", "tokens")  # (no __dict__ to make: a training loop makes one per step)

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled if enabled.__class__ is bool else bool(enabled)
        self.tokens: list[Token[Mode]] = []  # one per `with`, so one object may be entered twice

    def __enter__(self) -> None:
        self.tokens.append(enter(current().with_grad(self.enabled)))

    def __exit__(self, *exc: object) -> None:
        leave(self.tokens.pop())

    def __call__(self, fn: F) -> F:
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(enabled):  # a new one per call: calls in other threads keep their own
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def no_grad() -> _GradMode:
    """Ops inside do not record the graph: `with no_grad():` or `@no_grad()`."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Ops inside record the graph again, even within `no_grad`."""
    return _GradMode(True)


def set_grad_enabled(enabled: bool) -> _GradMode:
    """Record the graph when `enabled`, as in PyTorch: `with set_grad_enabled(training):`."""
    return _GradMode(enabled)


def is_grad_enabled() -> bool:
    """True when new ops record the graph (in this thread or task)."""
    return _mode.get().grad_enabled


class scope:  # lower case: a context manager used like a function, `with mg.scope("layer 1"):`
    """Tensors made inside belong to scope `name` (nested scopes stack); diagrams group them.

    A class rather than a @contextmanager generator: every layer of every step enters one
    (−2 % of an nn training step against the generator).
    """

    __slots__ = ("name", "token")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"scope: the name must be a non-empty string, got {name!r}")
        self.name = name

    def __enter__(self) -> None:
        mode = _mode.get()
        self.token = enter(mode.with_scope((*mode.scope, self.name)))

    def __exit__(self, *exc: object) -> None:
        leave(self.token)


class detect_anomaly:  # lower case: used like a function, `with mg.detect_anomaly():`
    """Raise at the first op whose forward or backward makes NaN or inf, naming it."""

    __slots__ = ("token",)

    def __enter__(self) -> None:
        mode = _mode.get()
        if mode.recording is not None:
            raise ReplayError(
                "detect_anomaly inside a step mg.replay records: a replay runs the step's numpy calls, "
                "not the checks, so it would not stop at the first NaN. Call the replayed step inside "
                "detect_anomaly instead (it then runs eagerly), or the step without mg.replay"
            )
        self.token = enter(mode.with_anomaly(True))

    def __exit__(self, *exc: object) -> None:
        leave(self.token)


class backward_of:  # lower case: used like a function, as the other switches
    """While anomaly mode runs a backward rule: say whose rule it is in any AnomalyError."""

    __slots__ = ("text", "token")

    def __init__(self, text: str) -> None:
        self.text = text

    def __enter__(self) -> None:
        mode = _mode.get()
        self.token = enter(mode.with_backward_of(self.text))

    def __exit__(self, *exc: object) -> None:
        leave(self.token)
