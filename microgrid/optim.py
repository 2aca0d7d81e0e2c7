"""Optimisers and learning-rate schedules.

An optimiser is not part of the graph: `step()` reads each parameter's `.grad` and updates the
parameter's array in place with numpy, one *kernel* per parameter (`microgrid.trace.kernel`):
the update `mg.replay` runs again at every replay, reading the optimiser's settings as they are
then, so a new learning rate or a schedule's step is honoured. It never writes into a gradient
(gradient tensors may be shared between tensors) and keeps its own moving averages. With g the gradient, α the
learning rate and λ the weight decay, every optimiser first forms g + λ·p (L2 weight decay, as
PyTorch does), then:

    SGD        p ← p − α·v,  v = μ·v + (1 − dampening)·g   (v = g when momentum μ = 0)
    Momentum   p ← p − α·v,  v = β·v + (1 − β)·g            (the course's form; v starts at 0)
    RMSprop    p ← p − α·g / (√s + ε),  s = β·s + (1 − β)·g²
    Adam       p ← p − α·v̂ / (√ŝ + ε),  v = β1·v + (1 − β1)·g,  s = β2·s + (1 − β2)·g²,
               v̂ = v / (1 − β1^t),  ŝ = s / (1 − β2^t)  (bias correction)

t counts the steps this parameter has taken, as in PyTorch: a parameter whose gradient first
appears at the optimiser's tenth step takes its first step with t = 1.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from microgrid import checks
from microgrid.errors import LoadError
from microgrid.modes import no_grad
from microgrid.tensor import Tensor
from microgrid.trace import aligned_copy, aligned_empty, creates, depends_on, kernel, recording, stamps

# The most steps or schedule calls a loaded state may count: 2**53, past which a float no longer
# tells one count from the next, and which no run reaches (at a step a microsecond, 285 years).
MAX_COUNT = 2**53
# The averages of g²: no true state holds a negative one (v, an average of g, may be negative).
_SQUARES = ("s",)


@dataclass
class ParameterState:
    """What an optimiser keeps for one parameter: the steps t it has taken and its moving averages;
    and, not saved, two scratch arrays its update writes into (so a step allocates nothing) and
    the numbers of this step (the learning rate, Adam's bias corrections) as 0-d arrays in the
    parameter's dtype, which the update reads and `Optimizer.advance` sets before it."""

    t: int = 0
    averages: dict[str, np.ndarray] = field(default_factory=dict)
    scratch: list[np.ndarray] = field(default_factory=list)
    numbers: dict[str, np.ndarray] = field(default_factory=dict)


class Optimizer:
    """Holds parameters; `step()` moves each one against its gradient, `zero_grad()` clears them."""

    # The moving averages delta() keeps per parameter, once it has taken a step.
    averages: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0) -> None:
        owner = type(self).__name__
        if not isinstance(params, Iterable) or isinstance(params, Tensor):
            hint = " (pass model.parameters())" if hasattr(params, "parameters") else ""
            raise TypeError(f"{owner}: params must be an iterable of tensors{hint}")
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError(f"{owner}: got an empty list of parameters")
        seen: set[int] = set()
        for position, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                what = p.describe() if isinstance(p, Tensor) else type(p).__name__
                raise TypeError(
                    f"{owner}: parameter {position} ({what}) must be a leaf tensor with requires_grad=True"
                )
            if id(p) in seen:
                raise ValueError(f"{owner}: parameter {p.describe()} is listed twice")
            seen.add(id(p))
        self.lr = checks.number(owner, "lr", lr, at_least=0)
        self.weight_decay = checks.number(owner, "weight_decay", weight_decay, at_least=0)
        self.t = 0  # calls of step()
        self.state: list[ParameterState] = [ParameterState() for _ in self.params]
        self._loads = 0
        creates(self, *self.state)  # (made inside a step that mg.replay records: the step's own)

    @no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient: p ← p − Δ(g + λ·p).

        Each update is a list of numpy calls into the parameter's own arrays (`update`), run now
        and kept as kernels by a recording, which replays them; the numbers that change from step
        to step (t, the learning rate) are set by `advance`, once per step, which is kept too.
        """
        depends_on(self.settings)  # a replay follows the settings it was recorded with
        moving = [(p, state) for p, state in zip(self.params, self.state) if p._grad is not None]
        for p, state in moving:
            if not state.scratch:  # the first step of this parameter (or since a load): its arrays
                for key in self.averages:
                    if key not in state.averages:
                        zeros = state.averages[key] = aligned_empty(p._data.shape, p._data.dtype)
                        zeros.fill(0)
                state.scratch = [aligned_empty(p._data.shape, p._data.dtype) for _ in range(2)]
                state.numbers = {key: np.zeros((), p.dtype) for key in ("lr", *self.numbers)}
        kernel(self.advance, [state for _, state in moving], changes=(self, *(state for _, state in moving)))
        recorded = recording() is not None
        for p, state in moving:
            assert p._grad is not None
            for call in self.update(p._data, p._grad._data, state):
                if recorded:
                    kernel(call, changes=(p._data,))
                else:
                    call()  # (what kernel() does when nothing records, without its call)
            # A graph made before this step holds the old values: its backward must refuse.
            p._stamp_change()
            if recorded:  # (where, for a replay that fails part-way: trace.Recording.stamps)
                stamps(p)

    # The numbers besides the learning rate that each step sets (Adam's bias corrections).
    numbers: tuple[str, ...] = ()

    def advance(self, states: list[ParameterState]) -> None:
        """Count the step, and set the numbers this step's updates read."""
        self.t += 1
        for state in states:
            state.t += 1
            state.numbers["lr"][()] = self.lr  # (a 0-d array's one number: [()] is quicker than [...])

    def settings(self) -> tuple[Any, ...]:
        """What an update depends on besides the learning rate and t (which `advance` reads at
        every step): a replay recorded with other settings is recorded again."""
        return (self.weight_decay, self._loads)

    def update(self, p: np.ndarray, g: np.ndarray, state: ParameterState) -> list[Callable[[], Any]]:
        """The numpy calls of one parameter's step, each into an array of its own, in order:
        the weight decay, then `delta`'s calls, then p ← p − Δ."""
        calls: list[Callable[[], Any]] = []
        if self.weight_decay:  # g + λ·p into scratch: the gradient itself stays as it was
            decayed = state.scratch[1]
            calls += [
                partial(np.multiply, p, self.weight_decay, decayed),
                partial(np.add, g, decayed, decayed),
            ]
            g = decayed
        calls += self.delta(g, state)
        calls.append(partial(np.subtract, p, state.scratch[0], p))
        return calls

    def delta(self, g: np.ndarray, state: ParameterState) -> list[Callable[[], Any]]:
        """The calls that leave the step Δ for gradient g in `state.scratch[0]` and update the
        moving averages. They may also write scratch[1] once g has been read from it."""
        raise NotImplementedError(f"{type(self).__name__} does not define delta()")

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (sets `.grad` to None), before the next backward."""
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        """What training has built up, as copies, to resume later: the optimiser's class, its
        step count t, its learning rate, and per parameter (in order) t and the moving averages:
        `{"optimizer": "Adam", "t": 5, "lr": 0.001, "parameters": [{"t": 5, "v": ..., "s": ...}]}`."""
        return {
            "optimizer": type(self).__name__,
            "t": self.t,
            "lr": self.lr,
            "parameters": [
                {"t": state.t, **{key: buffer.copy() for key, buffer in state.averages.items()}}
                for state in self.state
            ],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from a `state_dict()`, copying it in.

        Refused with a LoadError that names each problem, changing nothing: a state from another
        optimiser class or for another number of parameters, a missing or unknown key, a count t
        that is negative or past MAX_COUNT, a learning rate that is negative, NaN or infinite,
        and per parameter averages other than exactly those this optimiser keeps (none before
        its first step), or averages of the wrong shape, NaN or infinite, or, for s (an average
        of g²), negative.
        """
        checks_by_key = {"t": _count, "lr": _rate, "parameters": self._parameter_states}
        values = _load(self, "optimizer", state, checks_by_key)
        self.t, self.lr, self.state = values["t"], values["lr"], values["parameters"]
        self._loads += 1  # new arrays: a recorded step that wrote into the old ones records again

    def _parameter_states(self, owner: str, name: str, entries: object) -> list[ParameterState]:
        """The per-parameter state from a state dict's list, refusing (naming all) entries that do not fit."""
        if not isinstance(entries, (list, tuple)):
            raise ValueError(f"{owner}: {name} must be a list, one entry per parameter; got {entries!r}")
        if len(entries) != len(self.params):
            raise ValueError(
                f"{owner}: the state holds {len(entries)} parameters, the optimiser {len(self.params)}"
            )
        problems: list[str] = []
        restored = []
        for position, (p, entry) in enumerate(zip(self.params, entries)):
            where = f"parameter {position} ({p.describe()})"
            if not isinstance(entry, Mapping):
                problems.append(f"{where}: needs a dict of t and averages, got {type(entry).__name__}")
                continue
            # The averages appear at a parameter's first step: an entry holds none, or all of them.
            averages = self.averages if any(key != "t" for key in entry) else ()
            checks_by_key: dict[str, _Check] = {"t": _count}
            checks_by_key.update({key: functools.partial(_average, p) for key in averages})
            values = _fields(owner, where, entry, checks_by_key, problems)
            steps = values.pop("t", 0)
            restored.append(ParameterState(steps, values))
        if problems:
            raise ValueError(f"{owner}: {'; '.join(problems)}")
        return restored

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr:g}, {len(self.params)} parameters, t={self.t})"


# --- loading a state dict: every key checked, every problem named ---------------------------

# A check of one value of a state dict: (owner, key, value) → the value to keep, or a ValueError
# that starts with the owner, as those of microgrid.checks do.
_Check = Callable[[str, str, Any], Any]


def _load(loader: object, kind: str, state: Any, checks_by_key: Mapping[str, _Check]) -> dict[str, Any]:
    """The values of a state dict for `loader` through their checks, its class name (under `kind`)
    included, or a LoadError naming every problem."""
    owner = f"{type(loader).__name__}.load_state_dict"
    if not isinstance(state, Mapping):
        raise TypeError(f"{owner}: expected the dict state_dict() returns, got {type(state).__name__}")
    same_class = functools.partial(_same_class, expected=type(loader).__name__)
    problems: list[str] = []
    values = _fields(owner, "", state, {kind: same_class, **checks_by_key}, problems)
    if problems:
        raise LoadError(f"{owner}: {'; '.join(problems)}; nothing was loaded")
    return values


def _fields(
    owner: str, where: str, state: Mapping[Any, Any], checks_by_key: Mapping[str, _Check], problems: list[str]
) -> dict[str, Any]:
    """Each value of `state` through its check; missing and unknown keys, and refused values, go
    to `problems` (prefixed with `where`, owner said once)."""
    prefix = f"{where}: " if where else ""
    missing = [key for key in checks_by_key if key not in state]
    unknown = [str(key) for key in state if key not in checks_by_key]
    if missing:
        problems.append(f"{prefix}missing keys: {', '.join(missing)}")
    if unknown:
        problems.append(f"{prefix}unknown keys: {', '.join(unknown)}")
    values = {}
    for key, check in checks_by_key.items():
        if key in state:
            with _noted(problems, owner):
                values[key] = check(f"{owner}: {where}" if where else owner, key, state[key])
    return values


@contextlib.contextmanager
def _noted(problems: list[str], owner: str) -> Iterator[None]:
    """Run a check, adding its refusal to `problems` (without the owner, said once) instead of raising it."""
    try:
        yield
    except ValueError as error:  # a refused kind too: checks raise an ArgumentTypeError, a ValueError
        problems.append(str(error).removeprefix(f"{owner}: "))


def _same_class(owner: str, key: str, value: object, *, expected: str) -> str:
    """Refuse a state saved by another class."""
    if not (isinstance(value, str) and value == expected):
        raise ValueError(f"{owner}: the state is from {value!r}, not {expected}")
    return value


def _count(owner: str, name: str, value: object) -> int:
    """A count of steps or calls: an int from 0 to MAX_COUNT."""
    count = checks.count(owner, name, value, at_least=0)
    if count > MAX_COUNT:
        raise ValueError(f"{owner}: {name} must be an int ≤ 2**53 (MAX_COUNT), got {count}")
    return count


def _rate(owner: str, name: str, value: object) -> float:
    """A learning rate: a finite number ≥ 0."""
    return checks.number(owner, name, value, at_least=0)


def _average(p: Tensor, owner: str, key: str, value: object) -> np.ndarray:
    """A moving average for parameter p, as a copy in p's dtype: finite numbers of p's shape, and
    never negative if it averages squares."""
    array = np.asarray(value)
    if array.shape != p.shape or array.dtype.kind not in "fiu":
        raise ValueError(
            f"{owner}: {key!r} is a {array.dtype} array {array.shape}, not numbers of shape {p.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{owner}: {key!r} holds NaN or infinite values")
    if key in _SQUARES and (array < 0).any():
        raise ValueError(f"{owner}: {key!r}, an average of g², holds negative values (min {array.min()})")
    return aligned_copy(array.astype(p.dtype, copy=False))


class SGD(Optimizer):
    """Gradient descent p ← p − α·g; with momentum μ, p ← p − α·v where v = μ·v + (1 − dampening)·g."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.momentum = checks.number(owner, "momentum", momentum, at_least=0, below=1)
        self.dampening = checks.number(owner, "dampening", dampening, at_least=0, at_most=1)
        self.averages = ("v",) if self.momentum else ()

    def delta(self, g: np.ndarray, state: ParameterState) -> list[Callable[[], Any]]:
        step, lr = state.scratch[0], state.numbers["lr"]
        if not self.momentum:
            return [partial(np.multiply, g, lr, step)]  # Δ = α·g
        v = state.averages["v"]
        return [
            *_moving_average(v, g, self.momentum, 1.0 - self.dampening, step),
            partial(np.multiply, v, lr, step),
        ]

    def settings(self) -> tuple[Any, ...]:
        return (*super().settings(), self.momentum, self.dampening)


class Momentum(SGD):
    """The course's momentum: v = β·v + (1 − β)·g, p ← p − α·v (SGD with dampening = momentum = β)."""

    def __init__(
        self, params: Iterable[Tensor], lr: float = 0.01, beta: float = 0.9, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr, momentum=beta, dampening=beta, weight_decay=weight_decay)
        self.beta = self.momentum


class RMSprop(Optimizer):
    """s = β·s + (1 − β)·g²,  p ← p − α·g / (√s + ε)."""

    averages = ("s",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        beta: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        self.beta = checks.number(owner, "beta", beta, at_least=0, below=1)
        self.eps = checks.number(owner, "eps", eps, at_least=0)

    def delta(self, g: np.ndarray, state: ParameterState) -> list[Callable[[], Any]]:
        step, other = state.scratch
        s = state.averages["s"]
        return [
            partial(np.multiply, g, g, step),
            *_moving_average(s, step, self.beta, 1.0 - self.beta, step),  # s = β·s + (1 − β)·g²
            partial(np.multiply, g, state.numbers["lr"], other),  # α·g (g is read: scratch[1] is free)
            partial(np.sqrt, s, step),
            partial(np.add, step, self.eps, step),  # √s + ε
            partial(np.true_divide, other, step, step),
        ]

    def settings(self) -> tuple[Any, ...]:
        return (*super().settings(), self.beta, self.eps)


class Adam(Optimizer):
    """Momentum and RMSprop together, bias-corrected: p ← p − α·v̂ / (√ŝ + ε)."""

    averages = ("v", "s")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        owner = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{owner}: betas must be a pair (β1, β2) such as (0.9, 0.999), got {betas!r}")
        self.beta1 = checks.number(owner, "betas[0]", betas[0], at_least=0, below=1)
        self.beta2 = checks.number(owner, "betas[1]", betas[1], at_least=0, below=1)
        self.eps = checks.number(owner, "eps", eps, at_least=0)

    numbers = ("v_bias", "s_bias")  # 1 − β1^t and 1 − β2^t, set by advance() at each step

    def advance(self, states: list[ParameterState]) -> None:
        super().advance(states)
        for state in states:
            state.numbers["v_bias"][()] = 1.0 - self.beta1**state.t
            state.numbers["s_bias"][()] = 1.0 - self.beta2**state.t

    def delta(self, g: np.ndarray, state: ParameterState) -> list[Callable[[], Any]]:
        step, other = state.scratch
        v, s, numbers = state.averages["v"], state.averages["s"], state.numbers
        # α·v̂ / (√ŝ + ε), with v̂ = v / (1 − β1^t) and ŝ = s / (1 − β2^t): t as it is at this step.
        return [
            *_moving_average(v, g, self.beta1, 1.0 - self.beta1, step),
            partial(np.multiply, g, g, step),
            *_moving_average(s, step, self.beta2, 1.0 - self.beta2, step),
            partial(np.true_divide, v, numbers["v_bias"], other),  # v̂ (g is read: scratch[1] is free)
            partial(np.multiply, other, numbers["lr"], other),  # α·v̂
            partial(np.true_divide, s, numbers["s_bias"], step),  # ŝ
            partial(np.sqrt, step, step),
            partial(np.add, step, self.eps, step),  # √ŝ + ε
            partial(np.true_divide, other, step, step),
        ]

    def settings(self) -> tuple[Any, ...]:
        return (*super().settings(), self.beta1, self.beta2, self.eps)


def _moving_average(
    buffer: np.ndarray, value: np.ndarray, decay: float, scale: float, scratch: np.ndarray
) -> list[Any]:
    """The calls of buffer ← decay·buffer + scale·value, in place (scale·value into `scratch`)."""
    return [
        partial(np.multiply, buffer, decay, buffer),
        partial(np.multiply, value, scale, scratch),
        partial(np.add, buffer, scratch, buffer),
    ]


# --- learning-rate schedules ----------------------------------------------------------------


class LRScheduler:
    """Sets `optimizer.lr` from its initial value α0 each time `step()` is called.

    Call `step()` once per epoch (as in PyTorch) or once per optimiser step: the schedule counts
    its own calls, whatever they stand for.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.initial_lr = optimizer.lr
        self.count = 0

    def step(self) -> None:
        """Advance the count and set the optimiser's learning rate for it (a kernel: called inside
        a step that mg.replay records, it runs again at every replay)."""
        kernel(self._advance, changes=(self, self.optimizer))

    def _advance(self) -> None:
        self.count += 1
        self.optimizer.lr = self.lr_at(self.count)

    def lr_at(self, count: int) -> float:
        """The learning rate after `count` calls of `step()`; past MAX_COUNT calls, the rate at MAX_COUNT.

        The bound keeps every formula finite (`γ**count` and `decay_rate · count` overflow past
        about 10**308) and changes nothing a run can see: no run makes 2**53 calls.
        """
        return self._lr_at(min(checks.count(type(self).__name__, "count", count, at_least=0), MAX_COUNT))

    def _lr_at(self, count: int) -> float:
        """The learning rate after `count` calls, 0 ≤ count ≤ MAX_COUNT: what each schedule defines."""
        raise NotImplementedError(f"{type(self).__name__} does not define _lr_at()")

    @property
    def lr(self) -> float:
        """The learning rate now."""
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        """The schedule's class, its count of calls and its initial rate α0, to resume later."""
        return {"scheduler": type(self).__name__, "count": self.count, "initial_lr": self.initial_lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from a `state_dict()`; one from another schedule, with a missing or unknown key,
        a count that is negative or past MAX_COUNT, or a bad rate, is refused with a LoadError
        naming each problem, and nothing is changed."""
        values = _load(self, "scheduler", state, {"count": _count, "initial_lr": _rate})
        self.count, self.initial_lr = values["count"], values["initial_lr"]


class InverseTimeDecay(LRScheduler):
    """The course's decay: α = α0 / (1 + decay_rate · ⌊count / time_interval⌋).

    time_interval=1 decays at every call; time_interval=k, called once per epoch, lowers the
    rate only every k epochs (the course's "fixed interval scheduling").
    """

    def __init__(self, optimizer: Optimizer, decay_rate: float = 1.0, time_interval: int = 1) -> None:
        super().__init__(optimizer)
        owner = type(self).__name__
        self.decay_rate = checks.number(owner, "decay_rate", decay_rate, at_least=0)
        self.time_interval = checks.count(owner, "time_interval", time_interval)

    def _lr_at(self, count: int) -> float:
        return self.initial_lr / (1.0 + self.decay_rate * (count // self.time_interval))


class ExponentialDecay(LRScheduler):
    """α = α0 · γ^count, e.g. γ = 0.95 per epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float = 0.95) -> None:
        super().__init__(optimizer)
        self.gamma = checks.number(type(self).__name__, "gamma", gamma, at_least=0, at_most=1)

    def _lr_at(self, count: int) -> float:
        return self.initial_lr * self.gamma**count
