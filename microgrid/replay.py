"""mg.replay: record a training step once, then run its numpy calls again into the same arrays.

    fast_step = mg.replay(step)      # step(X, Y) does forward, loss, backward(), optimizer.step()
    for X_batch, Y_batch in batches:
        J = fast_step(X_batch, Y_batch)

The first call with a given signature (the shapes and dtypes of the arrays passed, and the other
arguments themselves) runs the step eagerly while microgrid.trace records a kernel for every
array it computes. Later calls with that signature copy the new inputs into the recorded input
arrays and run the kernels: every op, the backward walk's arithmetic and the optimiser's update,
without making a tensor, a graph or a step of the walk. Each kernel writes into the array the
eager step allocated, so a replay allocates nothing but the loss it returns.

A recording holds under the conditions it was made in, checked before every replay: the same
parameters with the same arrays, the same grad and anomaly modes, the same layer modes
(dropout's training, keep_prob); otherwise the step is recorded again. Checks that read values
(label ranges) are kernels too, run where the step ran them: a replay refuses bad values on the
step the eager step would. `check=k` runs the first k replays beside an eager step from the same
state and raises if they differ.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from microgrid.errors import ReplayError
from microgrid.function import _error_kind
from microgrid.modes import current, enter, leave
from microgrid.tensor import Tensor, _creation_counter
from microgrid.trace import Recording, aligned_copy, reuse_dying_inputs

CACHE_SIZE = 8  # recordings kept, one per signature: the last, smaller mini-batch has its own
CHECK_TOLERANCE = 1e-10  # the largest relative difference `check` accepts between replay and eager


class ReplayMismatch(AssertionError):
    """With check=k, a replay gave other numbers than the eager step from the same state."""


class Recorded:
    """One recorded step: its kernels, where its inputs go, and what it must set again after."""

    def __init__(self, recording: Recording, inputs: list[tuple[Place, np.ndarray]]) -> None:
        self.recording = recording
        self.inputs = inputs  # (where the argument is, the array the kernels read it from)
        self.kernels = recording.kernels
        mode = current()
        self.modes = (mode.grad_enabled, mode.anomaly)
        # Every parameter the step used, with the array it had: a replay writes into that array.
        self.parameters = [(leaf, leaf._data) for leaf in recording.leaves.values()]
        # Each parameter's .grad after the step, and each leaf's the step made (which the caller
        # may keep): a tensor around an array the kernels refill (set again after each replay,
        # in case the caller cleared it), or None.
        self.grads = [
            (leaf, leaf._grad)
            for leaf in (*recording.leaves.values(), *recording.made_leaves.values())
            if leaf._grad is None or recording.is_made(leaf._grad._data)
        ]
        self.grad_arrays = [(grad, grad._data) for _, grad in self.grads if grad is not None]
        self.conditions = recording.conditions
        # The parameters the step changes in place (an optimiser's update, `w -= ...`): stamped
        # after every replay, as the eager step stamps them, so that a graph made before it
        # refuses its backward rather than read the new values.
        self.changed = [leaf for leaf in recording.leaves.values() if id(leaf._data) in recording.state]
        # Every .grad the step set and every tensor it stamped, in order (trace.Recording), for a
        # replay that fails part-way. Of a tensor the step made (an intermediate with
        # retain_grad()), a weak reference: the recording must not keep its graph alive.
        kept = {*recording.leaves, *recording.made_leaves}
        self.grads_set = [(_held(t, kept), grad, position) for t, grad, position in recording.grads_set]
        self.stamps = [(_held(t, kept), position) for t, position in recording.stamps]
        recording.stamps = []
        # The gradients the step sets of tensors other than those (zero_grad of a parameter the
        # step does not use), as it leaves them: set again after each replay.
        given = {id(leaf) for leaf, _ in self.grads}
        last = {id(t): (_held(t, kept), grad) for t, grad, _ in recording.grads_set}
        self.other_grads = [pair for key, pair in last.items() if key not in given]
        self.caller_grads = recording.caller_grads
        # A parameter the step made from numbers (a model made at its first call) is told from a
        # tensor it makes at every call (an adversarial delta) only by a second recording.
        # (ids: a check's eager step makes them anew, so their gradients are not compared)
        self.new_leaves = {key for key in recording.leaves if key in recording.new_tensors}
        self.provisional = bool(self.new_leaves)
        recording.new_tensors, recording.new_kept = set(), []
        # Data the step reads that needs no gradient and outlives it (a frozen layer, a mask the
        # caller holds), with its array: a replay computes no gradient for it and reads that
        # array, so one unfrozen (requires_grad_()) or given another (`.data = `) records again.
        self.frozen = [(leaf, leaf._data) for leaf in recording.frozen.values()]
        recording.frozen = {}
        recording.grads_set = []
        self.checks = recording.checks  # the guards' functions (see trace.guard)
        self.outputs: list[tuple[np.ndarray, str | None]] = []
        self.shape: type | None = None  # the step returned a Tensor (None) or this sequence type
        # What a refusal only a replay makes puts back, when that refusal comes after kernels
        # that change state (see save_before_each_replay); None, and nothing saved, otherwise.
        self.saved: SavedState | None = None

    def holds(self) -> bool:
        """True while the conditions of the recording hold, so a replay computes what the step would."""
        mode = current()
        if (mode.grad_enabled, mode.anomaly) != self.modes:
            return False
        for leaf, array in self.parameters:
            if leaf._data is not array or not leaf.requires_grad:  # (another array, or frozen)
                return False
        for leaf, array in self.frozen:
            if leaf.requires_grad or leaf._data is not array:
                return False
        # Tuples of numbers, flags and generators: == compares each by identity first, then by
        # value, and a generator equals only itself.
        return all(condition() == value for condition, value in self.conditions)

    def run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The step again: inputs copied in, kernels run (checks among them), gradients set, loss returned."""
        if self.saved is not None:  # (before the inputs: the step may have made one a leaf you keep)
            self.saved.save()
        for place, array in self.inputs:
            # The signature matched, so shapes and dtypes are the recorded ones: a plain copy, no
            # broadcasting or casting to decide (0.26 µs against np.copyto's 0.40 for (2, 400)).
            if isinstance(place, int):
                array[...] = _array(args[place])
            elif isinstance(place, str):
                array[...] = _array(kwargs[place])
            else:  # (an array inside a list, tuple or dict argument: its path)
                array[...] = _array(_at(args, kwargs, place))
        for tensor, before, _ in self.caller_grads:  # (what the caller left: see trace.adds_what_was_left)
            grad = tensor._grad
            before.value = None if grad is None else grad._data.copy()
        try:  # (free on Python 3.11 unless it raises: the common replay costs what it did)
            for kernel in self.kernels:
                kernel()
        except ReplayError:
            if self.saved is not None:
                self.saved.restore()
            self.forget_what_was_left()
            raise
        except BaseException as error:
            self.stop_where_eager_stops(kernel)
            self.forget_what_was_left()
            if self.saved is not None:
                self.saved.forget()
            if (
                not isinstance(error, (IndexError, ValueError))
                or getattr(kernel, "func", None) in self.checks
            ):
                raise  # (a guard's refusal is in the eager step's own words)
            # Numpy's words alone (an index tensor changed in place to a value out of bounds):
            # say which step of the recording failed, as the eager step names its op.
            raise _error_kind(error)(f"{self.line_of(kernel)}, replayed: {error}") from error
        self.forget_what_was_left()
        if self.saved is not None:
            self.saved.forget()
        for leaf, grad in self.grads:
            leaf._grad = grad
        for grad, array in self.grad_arrays:
            grad._data = array  # (the caller may have given it another: p.grad.data = clipped)
        for held, grad in self.other_grads:
            tensor = held()
            if tensor is not None:
                tensor._grad = grad
        for leaf in self.changed:
            leaf._version = next(_creation_counter)  # (Tensor._stamp_change, without its call)
        return self.result()

    def stop_where_eager_stops(self, kernel: Callable[[], Any]) -> None:
        """After `kernel` failed as the eager step would have failed there (a label check, an
        index out of bounds, numpy's error under np.errstate): each .grad as the step had set it
        by then (None after zero_grad, backward()'s once it has run) and the parameters updated
        before it stamped as changed, as the eager step leaves them. (A replay that goes to the
        end sets gradients and stamps only then.)"""
        failed_at = next((i for i, each in enumerate(self.kernels) if each is kernel), len(self.kernels))
        for held, grad, position in self.grads_set:
            tensor = held()
            if position <= failed_at and tensor is not None:  # (set before that kernel ran)
                tensor._grad = grad
        for tensor, before, position in self.caller_grads:
            # A gradient the caller left, which is the recording's own (the last call's), and
            # which the walk refilled before it failed, before its kernel added what was left.
            grad = tensor._grad
            if position >= failed_at and before.value is not None and any(grad is g for _, g in self.grads):
                grad._data[...] = before.value
        for held, position in self.stamps:
            tensor = held()
            if position <= failed_at and tensor is not None:
                tensor._version = next(_creation_counter)

    def forget_what_was_left(self) -> None:
        """Drop the copies of the gradients the caller left, once added (or put back): they
        would otherwise hold a copy of each such gradient until the next call."""
        for _, before, _ in self.caller_grads:
            before.value = None

    def line_of(self, kernel: Callable[[], Any]) -> str:
        """What `kernel` computes, as the listing says it."""
        for each, line in zip(self.kernels, self.recording.lines):
            if each is kernel:
                return line
        return "a step of the recording"

    def reuse_arrays(self) -> None:
        """Let kernels write into inputs they read for the last time (trace.reuse_dying_inputs),
        keeping every array the caller can see or the next step reads."""
        keep = [array for array, _ in self.outputs]
        keep += [array for _, array in self.inputs]
        keep += [array for _, array in self.parameters]
        keep += [leaf._data for leaf in self.recording.made_leaves.values()]
        keep += [grad._data for _, grad in self.grads if grad is not None]
        # (and every gradient the step set on the way, which a replay that fails part-way hands back)
        keep += [grad._data for _, grad, _ in self.grads_set if grad is not None]
        # (the arrays the step changes in place; the objects it changes hold no op's output,
        # which is all that is ever reused)
        keep += [item for item in self.recording.state.values() if isinstance(item, np.ndarray)]
        reuse_dying_inputs(self.recording, keep)

    def save_before_each_replay(self) -> None:
        """When a check only a replay can fail comes after kernels that change what the caller
        sees (a mask index read after backward() or optimizer.step()), a refusal must still change
        nothing: `run` saves what they change (trace.Recording) before anything else, to be put
        back."""
        changed = self.recording.changed_before_refusal
        if changed is None:
            return
        items = [*changed, *(leaf._data for leaf in self.recording.made_leaves.values())]
        if self.recording.gradients_before_refusal:
            items += [grad._data for _, grad in self.grads if grad is not None]
            items += [grad._data for _, grad in self.other_grads if grad is not None]  # (set by hand)
        if not items:
            return  # (the kernels before it write only the recording's own arrays)
        self.saved = SavedState(items)  # (run saves it first, before it copies the inputs in)

    def result(self) -> Any:
        """What the step returned, as new tensors holding copies (the arrays are refilled next time)."""
        results = []
        for array, name in self.outputs:
            value = Tensor._make(array.copy())
            value.name = name
            results.append(value)
        return results[0] if self.shape is None else self.shape(results)


def _held(tensor: Tensor, kept: set[int]) -> Callable[[], Tensor | None]:
    """A call that gives `tensor`: strongly held when its id is in `kept`, else weakly."""
    return weakref.ref(tensor) if id(tensor) not in kept else (lambda: tensor)


class SavedState:
    """Arrays, generators and objects as they were before a replay, to put back if it refuses.
    (An object of its own, not a method of Recorded: a kernel that held the Recorded would make
    a reference cycle, and a dropped recording would wait for the garbage collector.)"""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.restores: list[Callable[[], None]] = []

    def save(self) -> None:
        self.restores = [_saved(item) for item in self.items]

    def restore(self) -> None:
        for put_back in self.restores:
            put_back()
        self.restores = []

    def forget(self) -> None:
        """Drop the copies once the replay has gone to its end (they can be megabytes)."""
        self.restores = []


class Replay:
    """A training step that records itself once per signature and replays after (see the module)."""

    def __init__(self, step: Callable[..., Any], check: int = 0) -> None:
        if not callable(step):
            raise TypeError(f"replay: step must be a function, got {type(step).__name__}")
        if not isinstance(check, int) or isinstance(check, bool) or check < 0:
            raise ValueError(f"replay: check must be a whole number ≥ 0 of replays to check, got {check!r}")
        self.step = step
        self.checks_left = check
        self.recordings: OrderedDict[Hashable, Recorded] = OrderedDict()
        self.recorded = 0  # how many times the step was recorded
        self.replayed = 0  # how many calls were replays that ran to the end

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        mode = current()
        if mode.recording is not None or mode.anomaly:
            # Inside another recording, or stopping at the first NaN: the step as it is.
            return self.step(*args, **kwargs)
        key = _signature(args, kwargs)
        recorded = self.recordings.get(key)
        if recorded is None or not recorded.holds():
            return self._record(key, args, kwargs)
        if recorded.provisional:  # (it made a leaf from numbers: recorded once more, see Recorded)
            result = self._record(key, args, kwargs)
            self.recordings[key].provisional = False
            return result
        self.recordings.move_to_end(key)
        if self.checks_left:
            result = self._checked(recorded, args, kwargs)
            self.checks_left -= 1  # (after: a refused step is no check)
        else:
            result = recorded.run(args, kwargs)
        self.replayed += 1  # (after: a refused or failed replay is not counted)
        return result

    def _record(self, key: Hashable, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the step eagerly, recording it; keep the recording under `key`."""
        recording = Recording()
        inputs: list[tuple[Place, np.ndarray]] = []

        step_args = tuple(_bound(i, value, recording, inputs) for i, value in enumerate(args))
        step_kwargs = {name: _bound(name, value, recording, inputs) for name, value in kwargs.items()}
        token = enter(current().with_recording(recording))
        try:
            result = self.step(*step_args, **step_kwargs)
        finally:
            leave(token)
        recorded = Recorded(recording, inputs)
        recorded.shape, outputs = _outputs(result)
        for output in outputs:
            if not recording.is_made(output._data):
                raise ReplayError(
                    f"replay: the step returned {output.describe()}, which it did not compute; return "
                    "what the step computes (the loss)"
                )
        recorded.outputs = [(output._data, output.name) for output in outputs]
        recorded.reuse_arrays()
        recorded.save_before_each_replay()
        self.recordings[key] = recorded
        if len(self.recordings) > CACHE_SIZE:
            self.recordings.popitem(last=False)
        self.recorded += 1
        return recorded.result()

    def _checked(self, recorded: Recorded, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Replay, then run the eager step from the same state, and compare everything they made."""
        changed = [*recorded.recording.state.values(), *(array for _, array in recorded.parameters)]
        before = [_saved(item) for item in changed]
        # (and the gradients the caller left, which both add to: the replay writes into them)
        left = [(leaf, leaf._grad) for leaf, _ in recorded.grads]
        left_values = [_saved(grad._data) for _, grad in left if grad is not None]
        replayed = recorded.run(args, kwargs)
        # (the parameters' gradients: a leaf the step makes is made anew by the eager step too)
        parameter_grads = [
            (leaf, grad)
            for leaf, grad in recorded.grads
            if id(leaf) in recorded.recording.leaves and id(leaf) not in recorded.new_leaves
        ]
        replayed_grads = [None if grad is None else grad._data.copy() for _, grad in parameter_grads]
        replayed_state = [_snapshot(item) for item in changed]
        for restore in before:
            restore()
        for restore in left_values:
            restore()
        for leaf, grad in left:
            leaf._grad = grad
        eager = self.step(*args, **kwargs)
        results = [
            (f"result {i}", r, e) for i, (r, e) in enumerate(zip(_outputs(replayed)[1], _outputs(eager)[1]))
        ]
        grads = [
            (f"{leaf.label}.grad", r, None if leaf._grad is None else leaf._grad)
            for (leaf, _), r in zip(parameter_grads, replayed_grads)
        ]
        states = [
            (f"state {i}", r, e)
            for i, (r, e) in enumerate(zip(replayed_state, (_snapshot(c) for c in changed)))
        ]
        for what, r, e in [*results, *grads, *states]:
            difference = _difference(r, e)
            if difference > CHECK_TOLERANCE:
                raise ReplayMismatch(
                    f"replay: {what} differs from the eager step's by {difference:.3g} (relative); "
                    "something the step computes outside microgrid's ops is not recorded"
                )
        return eager

    def listing(self) -> str:
        """What a replay runs, one numpy call per line: the last recording used, in its order.

        Each line is the op (or update) and the shapes it reads, then the shape it writes; a
        replay is these calls and nothing else (no tensors, no graph, no walk).
        """
        if not self.recordings:
            raise ReplayError("replay: nothing is recorded yet; call the step once first")
        recorded = next(reversed(self.recordings.values()))
        lines = recorded.recording.lines
        if recorded.saved is not None:  # (what run does first)
            lines = ["save what a refusal puts back (a mask check comes after other work)", *lines]
        width = len(str(len(lines)))
        return "\n".join(f"{i:>{width}}  {line}" for i, line in enumerate(lines, 1))

    def __repr__(self) -> str:
        name = getattr(self.step, "__name__", "a step")
        return f"<replay of {name}: {self.recorded} recorded, {self.replayed} replayed>"


def replay(step: Callable[..., Any], check: int = 0) -> Replay:
    """`step`, recorded once per signature and replayed after: the same results, faster.

    `step(X, Y, ...)` runs one training step (forward, loss, backward(), optimizer.step()) and
    returns the loss, a tensor (or a tuple of tensors). `check=k` checks the first k replays
    against the eager step from the same state and raises ReplayMismatch if they differ.
    """
    return Replay(step, check)


# --- helpers ---------------------------------------------------------------------------------------------


def _array(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


def _signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
    """What a recording is kept under: each array's shape and dtype, and every other argument."""
    key = tuple(map(_key, args))
    if kwargs:
        return key, tuple(sorted((name, _key(value)) for name, value in kwargs.items()))
    return key


def _key(value: Any) -> Hashable:
    """One argument's part of the signature (read at every call: the array types tested first).
    A list, tuple or dict is keyed by what it holds, so that a list of indices changed between
    two calls records the step again, and arrays inside it by their shapes, as arguments;
    another object that cannot be hashed, by its identity."""
    if isinstance(value, Tensor):
        array = value._data
        return array.shape, array.dtype, value.requires_grad
    if isinstance(value, np.ndarray):
        return value.shape, value.dtype
    kind = type(value)
    if kind is list or kind is tuple or (isinstance(value, tuple) and hasattr(value, "_fields")):
        return kind, tuple(map(_key, value))  # (a namedtuple too)
    if kind is dict:
        return kind, tuple((name, _key(item)) for name, item in value.items())
    try:
        hash(value)
    except TypeError:
        return "object", _Same(value)
    return kind, value


class _Same:
    """An unhashable argument in a signature: the object itself, compared by identity. Held, so
    that a new object cannot take its id (and its recording) while the recording is kept."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


# Where a step's argument is: its position or keyword, or the path to an array inside a list,
# tuple or dict argument (the position or keyword, then an index or key per level).
Place = int | str | tuple[Any, ...]


def _bound(place: Place, value: Any, recording: Recording, inputs: list[tuple[Place, np.ndarray]]) -> Any:
    """The argument the step is given while recording: a copy in an array of our own, which every
    replay refills (listed in `inputs`), so the caller's array is never written. Arrays inside a
    list, tuple or dict are bound too, each by its path (`(0, 1)`: the second item of the first
    argument), in a new container of the same kind. (A function of the module: a closure that
    called itself would be a reference cycle holding the recording until the garbage collector.)"""
    kind = type(value)
    if kind is list or kind is tuple:
        return kind(_bound(_path(place, i), item, recording, inputs) for i, item in enumerate(value))
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple: made from its fields
        return kind(*(_bound(_path(place, i), item, recording, inputs) for i, item in enumerate(value)))
    if kind is dict:
        return {name: _bound(_path(place, name), item, recording, inputs) for name, item in value.items()}
    if not isinstance(value, (Tensor, np.ndarray)):
        return value
    if isinstance(value, Tensor) and value.requires_grad:
        where = f"argument {place}" if not isinstance(place, tuple) else f"the argument at {place}"
        raise ReplayError(
            f"replay: {where} is {value.describe()}, which requires grad. A replay copies the "
            "tensors it is given into arrays of its own, so no gradient would reach this one and no "
            "optimiser would update it. Keep parameters in the model or the closure the step uses "
            "and pass data as arguments; for a gradient with respect to an input, call the step "
            "without mg.replay"
        )
    array = aligned_copy(_array(value))
    recording.computed(None, array)
    inputs.append((place, array))
    if isinstance(value, np.ndarray):
        return array
    given = Tensor._make(array)
    given.name = value.name
    return given


def _path(place: Place, step: Any) -> tuple[Any, ...]:
    return (*place, step) if isinstance(place, tuple) else (place, step)


def _at(args: tuple[Any, ...], kwargs: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """The argument at `path` (see Place)."""
    first, *rest = path
    value = args[first] if isinstance(first, int) else kwargs[first]
    for step in rest:
        value = value[step]
    return value


def _outputs(result: Any) -> tuple[type | None, list[Tensor]]:
    """The tensors a step returned, and how they were packed (None: one Tensor)."""
    if isinstance(result, Tensor):
        return None, [result]
    if isinstance(result, (tuple, list)) and result and all(isinstance(r, Tensor) for r in result):
        return type(result), list(result)
    raise ReplayError(
        f"replay: a step must return a tensor (the loss) or a tuple of tensors, got {type(result).__name__}"
    )


def _saved(item: Any) -> Callable[[], None]:
    """A call that puts `item` back as it is now: an array in place, a generator's state, or an
    object's numbers (and the arrays it holds, in place)."""
    if isinstance(item, np.ndarray):
        copy = item.copy()
        return lambda: np.copyto(item, copy)
    if isinstance(item, np.random.Generator):
        state = item.bit_generator.state
        return lambda: setattr(item.bit_generator, "state", state)
    if isinstance(item, np.random.RandomState):
        legacy = item.get_state()
        return lambda: item.set_state(legacy)
    restores = [_saved(value) for value in _arrays_of(item)]
    numbers = {name: value for name, value in vars(item).items() if isinstance(value, (int, float))}

    def restore() -> None:
        for put_back in restores:
            put_back()
        for name, value in numbers.items():
            setattr(item, name, value)

    return restore


def _arrays_of(item: Any) -> list[np.ndarray]:
    """The arrays an object holds in its attributes, directly or in a dict (its moving averages)."""
    found = []
    for value in vars(item).values():
        if isinstance(value, np.ndarray):
            found.append(value)
        elif isinstance(value, dict):
            found += [v for v in value.values() if isinstance(v, np.ndarray)]
    return found


def _snapshot(item: Any) -> Any:
    """Copies of what `item` holds now, to compare: its arrays and numbers."""
    if isinstance(item, np.ndarray):
        return item.copy()
    if isinstance(item, (np.random.Generator, np.random.RandomState)):
        return None  # compared through the arrays drawn from it
    return [
        *(a.copy() for a in _arrays_of(item)),
        *(v for v in vars(item).values() if isinstance(v, (int, float))),
    ]


def _difference(replayed: Any, eager: Any) -> float:
    """The largest relative difference between two results (0 when both are None or equal)."""
    if isinstance(replayed, list):
        return max((_difference(r, e) for r, e in zip(replayed, eager)), default=0.0)
    if replayed is None or eager is None:
        return 0.0 if replayed is eager else math.inf
    r, e = _array(replayed), _array(eager)
    if r.shape != e.shape:
        return math.inf
    scale = max(float(np.max(np.abs(e))) if e.size else 0.0, np.finfo(np.float64).tiny)
    gap = np.abs(r.astype(np.float64) - e.astype(np.float64))
    return float(np.max(gap)) / scale if gap.size else 0.0


__all__: Sequence[str] = ["Replay", "ReplayMismatch", "replay"]
