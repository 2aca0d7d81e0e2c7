"""Global switches of the engine: gradient recording, name scopes and anomaly detection."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    """What every new op reads: record a graph or not, the current scope, anomaly checks."""

    __slots__ = ("anomaly", "backward_of", "grad_enabled", "scope")

    def __init__(self) -> None:
        # Slots, not class attributes: every op reads these, and a slot is the fastest lookup.
        self.grad_enabled = True
        self.scope: tuple[str, ...] = ()
        self.anomaly = False
        # While anomaly mode runs a backward rule, the op whose rule it is (for error messages).
        self.backward_of: str | None = None


state = _State()


class _GradMode:
    """Context manager and decorator that sets whether ops record the graph."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(state.grad_enabled)
        state.grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self.previous.pop()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def no_grad() -> _GradMode:
    """Ops inside do not record the graph: `with no_grad():` or `@no_grad()`."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Ops inside record the graph again, even within `no_grad`."""
    return _GradMode(True)


def set_grad_enabled(enabled: bool) -> _GradMode:
    """Record the graph when `enabled`, as in PyTorch."""
    return _GradMode(enabled)


def is_grad_enabled() -> bool:
    """True when new ops record the graph."""
    return state.grad_enabled


class scope:
    """Tensors made inside belong to scope `name` (nested scopes stack); diagrams group them.

    A class rather than a @contextmanager generator: every layer of every step enters one
    (−2 % of an nn training step against the generator).
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"scope: the name must be a non-empty string, got {name!r}")
        self.name = name

    def __enter__(self) -> None:
        self.previous = state.scope
        state.scope = (*self.previous, self.name)

    def __exit__(self, *exc: object) -> None:
        state.scope = self.previous


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise at the first op whose forward or backward makes NaN or inf, naming it."""
    previous = state.anomaly
    state.anomaly = True
    try:
        yield
    finally:
        state.anomaly = previous
