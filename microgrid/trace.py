"""Recording a training step's numpy calls, so that mg.replay can run them again without Python.

While `mg.replay` records a step, the engine reports every array it computes here: each op
(`Op.apply` calls `recorded_op`), each change in place (an optimiser's update, `w -= ...`), each
copy, each random draw. A Recording keeps, in order, one *kernel* per computation: a call that
computes the same array again, into the same array, from arrays that the kernels before it
refilled. Running the kernels is the step, without building tensors, a graph or a walk.

What a kernel cannot follow is Python that looks at values (`if loss < 0.1`, `loss.item()`):
a recording cannot know which way the next step would go, so reading a value while recording
is refused (`refuse_read`). Checks that read values only to refuse bad input (label ranges,
NaN) are *guards* instead: kernels that compute nothing, run at every replay where the step ran
them, so that they read this step's values and refuse before anything after them runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from microgrid.errors import ReplayError
from microgrid.modes import current


class Recording:
    """The kernels and bindings of one recorded step, filled while the step runs eagerly."""

    def __init__(self) -> None:
        self.kernels: list[Callable[[], Any]] = []
        self.lines: list[str] = []  # what each kernel computes, in words, for Replay.listing()
        # Conditions the recording holds under (a layer's mode, a generator): when one no longer
        # holds, the step is recorded again. Each is (a call, the value it gave when recorded).
        self.conditions: list[tuple[Callable[[], Any], Any]] = []
        self.made: set[int] = set()  # ids of the arrays the kernels compute (refilled each replay)
        self.kept: list[Any] = []  # keeps every array whose id is in `made` alive (ids stay unique)
        self.state: dict[int, Any] = {}  # arrays and generators the step changes that outlive it
        self.leaves: dict[int, Any] = {}  # its parameters: leaves needing a gradient, on arrays not made here
        # Leaves needing a gradient that the step makes from what it computes (the input made a
        # leaf, for a saliency map): not parameters, but the caller may keep them and read .grad.
        self.made_leaves: dict[int, Any] = {}
        self.private: set[int] = set()  # ids of the ops' outputs, each in an aligned block of its own
        # ids of the objects the step creates (an optimiser made inside it): what kernels change in
        # them is the step's own, made anew by every eager step, not state that outlives it.
        self.created: set[int] = set()
        # A refusal only a replay makes (a guard the eager step passes) may come after kernels that
        # change what the caller sees: a replay must then save that first, to put it back if it
        # refuses. What the kernels before the last such guard change (see guard): state that
        # outlives the step, the arrays of tensors the step made from numbers it computed (one may
        # become a leaf the caller keeps), and whether gradients had been refilled. None: no such
        # guard comes after a kernel. (The leaves the step makes are added when it has ended.)
        self.changed_before_refusal: list[Any] | None = None
        self.gradients_before_refusal = False
        self.walked = False  # backward() has begun: kernels refill gradients the caller may hold
        # The functions the guards' kernels call (see guard): a guard's kernel is partial(check,
        # ...), and stays one when its arrays are substituted (reuse_dying_inputs).
        self.checks: set[Callable[..., Any]] = set()
        # Every .grad the step sets, in order, as (tensor, the gradient or None, how many kernels
        # came before): zero_grad's None, backward()'s gradients. A replay sets gradients only
        # once its kernels have all run; one that fails part-way sets them as far as the eager
        # step had got.
        self.grads_set: list[tuple[Any, Any, int]] = []
        # The same for the tensors the step marks as changed in place (an optimiser's update
        # stamps each parameter once its update has run): (tensor, how many kernels came before).
        self.stamps: list[tuple[Any, int]] = []
        # Parameters whose gradient backward() sets before the step sets it any other way (no
        # zero_grad() in the step before it: the caller clears it, or lets calls add up, or never
        # clears a parameter no optimiser holds): with what each held when the call began, which
        # a kernel adds to what backward() computes, as the eager step adds to it.
        # (each with the position of the kernel that adds it)
        self.caller_grads: list[tuple[Any, Before, int]] = []
        # ids of the tensors the step makes from numbers (Tensor(...), detach()), made once while
        # recording, and the tensors (kept only while recording, so that their ids stay theirs)
        self.new_tensors: set[int] = set()
        self.new_kept: list[Any] = []
        # Leaves the step reads that need no gradient and outlive it (a frozen layer, a mask the
        # caller holds): unfreezing one, or giving it another array, records the step again.
        self.frozen: dict[int, Any] = {}

    def computed(self, kernel: Callable[[], Any] | None, out: Any, what: str = "") -> None:
        """`out` is computed by `kernel`, which does `what` (None: a view of an array that is
        computed already)."""
        self.made.add(id(out))
        self.kept.append(out)
        if kernel is not None:
            self.kernels.append(kernel)
            self.lines.append(f"{what} → {_shape(out, self.is_made)}")

    def is_made(self, array: Any) -> bool:
        return id(array) in self.made


def is_private_output(array: np.ndarray) -> bool:
    """True when `array` is the output of an op being recorded, in an aligned block that no other
    array shares (a view of it, a reshape, is another array with another id)."""
    rec = recording()
    return rec is not None and id(array) in rec.private


def recording() -> Recording | None:
    """The Recording of the step being recorded in this thread or task, if one is."""
    return current().recording


def recorded_op(recording: Recording, op: Any, inputs: tuple[Any, ...], out: np.ndarray) -> np.ndarray:
    """Called by Op.apply while recording: `op` computed `out` from the tensors `inputs`. Returns
    the array the output tensor holds: `out` itself for a view, else a copy in a buffer aligned
    to a cache line, which every replay refills."""
    arrays = tuple(t._data for t in inputs)
    for t in inputs:
        # A parameter, whose array must stay the one recorded; not a leaf the step makes from
        # what it computes (mg.tensor(X * 1.0, requires_grad=True)), anew at every step.
        if t.op is None and t.requires_grad:
            if recording.is_made(t._data):
                recording.made_leaves[id(t)] = t
            else:
                recording.leaves[id(t)] = t
        elif (
            t.op is None
            and t._data.flags.writeable  # (not a number: ops.scalar's arrays are read-only)
            and not recording.is_made(t._data)
            and id(t) not in recording.new_tensors
        ):
            recording.frozen[id(t)] = t
    if any(out is array for array in arrays) or _is_view_of(out, arrays):
        recording.computed(None, out)  # a view follows its array: nothing to compute again
        return out
    out = aligned_copy(out)
    what = f"{op.describe()}: {', '.join(_shape(a, recording.is_made) for a in arrays)}"
    recording.computed(op.kernel(arrays, out), out, what)
    recording.private.add(id(out))
    return out


# Bytes: a cache line, and one AVX-512 register. numpy's arrays start wherever malloc put them,
# at any multiple of 16 bytes, and a ufunc whose operands straddle lines runs slower: a (20, 400)
# multiply takes 1.75 µs on aligned arrays against 3.2-3.4 µs on others. A replay reuses its
# arrays at every step, so it makes each of them once, aligned (the [2,20,7,5,1] replayed step
# runs 5-7 % faster for it, and no longer faster or slower by where malloc happened to put it).
ALIGNMENT = 64


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array that starts at a multiple of ALIGNMENT bytes: a view into a block of
    its own, which nothing else shares."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    block = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -block.ctypes.data % ALIGNMENT
    return block[start : start + nbytes].view(dtype).reshape(shape)


def aligned_copy(array: np.ndarray) -> np.ndarray:
    """`array` copied into an aligned array of its own (see aligned_empty), in the same memory
    order (an op on a transposed array makes one in Fortran order). An array of Python objects
    cannot live in a block of bytes: it is copied as numpy allocates it."""
    if array.dtype.hasobject:
        return np.array(array)
    if array.flags.f_contiguous and not array.flags.c_contiguous:
        return aligned_copy(array.T).T
    copy = aligned_empty(array.shape, array.dtype)
    copy[...] = array
    return copy


def reuse_dying_inputs(recording: Recording, keep: list[np.ndarray]) -> None:
    """After a step is recorded: let each elementwise kernel write into an input it reads for the
    last time, instead of an array of its own (`Z = W @ A + b` adds into the product's array).

    numpy's own step does as much by accident, since a temporary freed is the next one
    allocated; a replay that kept one array per result touched more memory, and on the
    [784,256,256,1] network ran 4-6 % slower for it. `keep` holds the arrays that must stay as
    they are: the step's inputs, outputs, gradients, parameters and state. A guard is a kernel,
    so what it reads lives at least until it runs, as for any other kernel.
    Only ops' outputs in blocks of their own take part. Memory is followed by the block an array
    lives in, so that a view (a transposed operand made inside a kernel, a reshape) counts as a use
    of what it views, and an array seen as more than one view is left alone, as is one a kernel
    reads other than as an argument (through a Tensor, an op's attribute). A kernel whose reads
    cannot be listed (code from outside microgrid: a custom op's forward) turns reuse off.
    """
    kernels = recording.kernels
    views: dict[int, set[int]] = {}  # a block -> the ids of the arrays seen on it
    last: dict[int, int] = {}  # a block -> the last kernel that reads or writes it
    for array in recording.kept:
        if isinstance(array, np.ndarray):
            views.setdefault(_block(array), set()).add(id(array))
    try:
        found = [reads(kernel) for kernel in kernels]
    except (Opaque, RecursionError):  # (RecursionError: a structure that holds itself)
        return  # a kernel may read arrays no one can list: reuse none
    kept = {_block(array) for array in keep}
    for position, pairs in enumerate(found):
        for array, direct in pairs:
            views.setdefault(_block(array), set()).add(id(array))
            last[_block(array)] = position
            if not direct:  # (read where no substitute can be given: kept as it is)
                kept.add(_block(array))
    kept |= {block for block, seen in views.items() if len(seen) > 1}  # (views of each other)
    replaced: dict[int, np.ndarray] = {}  # a result's array id -> the input array that holds it now
    for position, kernel in enumerate(kernels):
        if replaced:
            kernel = kernels[position] = _substituted(kernel, replaced)
        into = _dying_input(kernel, position, last, kept, recording)
        if into is None:
            continue
        assert isinstance(kernel, partial)  # (_dying_input takes only a ufunc's partial)
        out = kernel.args[-1]
        replaced[id(out)] = into
        last[_block(into)] = last[_block(out)]
        kernels[position] = partial(kernel.func, *kernel.args[:-1], into)
        recording.lines[position] += " (into an input's array)"
    # The arrays given up are no longer the recording's: free them.
    recording.kept = [a for a in recording.kept if id(a) not in replaced]
    recording.made -= replaced.keys()
    recording.private -= replaced.keys()


def _block(array: np.ndarray) -> int:
    """The id of the memory `array` lives in: its base's (numpy collapses chains of views), or its own."""
    return id(array.base) if array.base is not None else id(array)


def _dying_input(
    kernel: Any, position: int, last: dict[int, int], kept: set[int], recording: Recording
) -> np.ndarray | None:
    """An input of the elementwise ufunc `kernel` that it may write its result into: like the
    result, an op's output in an aligned block of its own (never a view, an input, a constant or
    state), read for the last time here, laid out as the result is."""
    func = getattr(kernel, "func", None)
    if not isinstance(func, np.ufunc) or func.signature is not None or func.nout != 1 or kernel.keywords:
        return None  # (not elementwise: a matmul may not write into what it reads)
    args = kernel.args
    if len(args) != func.nin + 1 or not isinstance(args[-1], np.ndarray):
        return None
    out = args[-1]
    if id(out) not in recording.private or _block(out) in kept:
        return None  # (an op's own result, in a block no other array shares, or nothing)
    if any(isinstance(a, np.ndarray) and _block(a) == _block(out) for a in args[:-1]):
        return None
    for array in args[:-1]:
        if (
            isinstance(array, np.ndarray)
            and id(array) in recording.private
            and last.get(_block(array)) == position
            and _block(array) not in kept
            and array.shape == out.shape
            and array.dtype == out.dtype
            and array.strides == out.strides
        ):
            return array
    return None


def reads(value: Any, direct: bool = True, depth: int = 4) -> list[tuple[np.ndarray, bool]]:
    """Each array a kernel may read or write, and whether it is *direct*: an argument of the
    kernel's partials (or in a list or tuple among them), which `_substituted` can point at
    another array. Arrays reached through a Tensor, a dict, a closure or a bound method's object
    (an op's mask index, an optimiser's state) are indirect. Code from outside microgrid, and
    objects nested deeper than `depth`, cannot be listed: Opaque."""
    if isinstance(value, np.ndarray):
        return [(value, direct)]
    data = getattr(value, "_data", None)  # (a Tensor: trace cannot import it)
    if isinstance(data, np.ndarray):
        return [(data, False)]
    if isinstance(value, partial):
        found = reads(value.func, direct, depth)
        for item in (*value.args, *value.keywords.values()):
            found += reads(item, direct, depth)
        return found
    if isinstance(value, (list, tuple)):
        return [pair for item in value for pair in reads(item, direct, depth)]
    if isinstance(value, dict):
        return [pair for item in value.values() for pair in reads(item, False, depth)]
    if value is None or isinstance(value, (np.ufunc, type, int, float, complex, str, bytes, np.generic)):
        return []
    if callable(value):
        owner = getattr(value, "__self__", None)
        if isinstance(owner, (np.ufunc, type)) or (owner is None and type(value).__name__ in _BUILTIN):
            return []  # np.add.reduce, np.copyto: numpy's own, reading only their arguments
        if not _ours(value):
            raise Opaque(value)  # (its reads may go anywhere: module globals, deep objects)
        if hasattr(value, "__func__"):  # a bound method: what its object holds
            return reads(_fields(owner), False, depth - 1)
        if hasattr(value, "__code__"):  # a function: what its closure and defaults hold
            cells = [cell.cell_contents for cell in value.__closure__ or () if _filled(cell)]
            return reads([*cells, *(value.__defaults__ or ())], False, depth)
        raise Opaque(value)
    if hasattr(value, "__dict__") or hasattr(type(value), "__slots__"):  # an object (an optimiser's state)
        if depth <= 0:
            raise Opaque(value)
        return reads(_fields(value), False, depth - 1)
    return []


def _fields(owner: Any) -> dict[str, Any]:
    """What an object holds: its __dict__, and its __slots__ (where a class may keep its fields)."""
    fields = dict(vars(owner)) if hasattr(owner, "__dict__") else {}
    for cls in type(owner).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(owner, name):
                fields[name] = getattr(owner, name)
    return fields


def _ours(function: Any) -> bool:
    """True for microgrid's own functions and methods, whose reads `reads` can list."""
    module = getattr(getattr(function, "__func__", function), "__module__", None) or ""
    return module == "microgrid" or module.startswith("microgrid.")


_BUILTIN = ("builtin_function_or_method", "_ArrayFunctionDispatcher")


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:  # (an empty cell)
        return False
    return True


class Opaque(Exception):
    """A kernel whose reads `reads` cannot list: reuse_dying_inputs then reuses nothing."""


def _substituted(value: Any, replaced: dict[int, np.ndarray]) -> Any:
    """`value` (a kernel, or one of its arguments) reading each replaced array's substitute."""
    if isinstance(value, np.ndarray):
        return replaced.get(id(value), value)
    if isinstance(value, partial):
        return partial(
            _substituted(value.func, replaced),
            *[_substituted(item, replaced) for item in value.args],
            **{name: _substituted(item, replaced) for name, item in value.keywords.items()},
        )
    if isinstance(value, list):
        return [_substituted(item, replaced) for item in value]
    if isinstance(value, tuple):
        return tuple(_substituted(item, replaced) for item in value)
    return value


def _is_view_of(out: np.ndarray, arrays: tuple[np.ndarray, ...]) -> bool:
    """True when `out` is a view (reshape, transpose, slice) of one of `arrays`."""
    base = out.base
    if base is None:
        return False
    return any(base is array or (array.base is not None and base is array.base) for array in arrays)


def kernel(
    fn: Callable[..., Any], *args: Any, changes: tuple[Any, ...] = (), makes: tuple[np.ndarray, ...] = ()
) -> Any:
    """Run `fn(*args)` now and, while recording, again at every replay, in this order.

    For what changes arrays in place (an optimiser's update) or draws random numbers: `changes`
    names what it changes that outlives the step (a parameter, a moving average, an optimiser's
    count, a generator), which a replay's `check` saves and restores; `makes` names the arrays it
    fills that are new in this step (a dropout mask).
    """
    result = fn(*args)
    rec = recording()
    if rec is not None:
        rec.kernels.append(partial(fn, *args))
        for array in makes:
            rec.made.add(id(array))
            rec.kept.append(array)
        rec.lines.append(f"{_call_text(fn, args, rec.is_made)} (in place)")  # (a made array by its shape)
        for item in changes:
            if id(item) not in rec.created and not (isinstance(item, np.ndarray) and rec.is_made(item)):
                rec.state[id(item)] = item
    return result


def creates(*objects: Any) -> None:
    """While recording: the step creates `objects` (an optimiser and its per-parameter state, made
    inside the step), so what kernels change in them is not state that outlives the step."""
    rec = recording()
    if rec is not None:
        rec.created.update(map(id, objects))
        rec.kept += objects  # (alive while the recording is, so that their ids stay theirs)


def depends_on(condition: Callable[[], Any]) -> None:
    """While recording: the step did what it did because `condition()` gave what it gives now (a
    layer's training mode, the generator it draws from); if that changes, record the step again."""
    rec = recording()
    if rec is not None:
        rec.conditions.append((condition, condition()))


def copied(source: np.ndarray, copy: np.ndarray, owner: Any = None) -> np.ndarray:
    """`copy`, a new array made from `source` outside any op (a cast, a defensive copy): while
    recording, copying it again is a kernel, so that it follows `source` at every replay, when
    the step computed `source`. Of an array from outside the step, a copy is made once: a model
    made at the first call must not be reset to its initial weights. Given the tensor that holds
    `source` (`owner`: an index tensor, which a loop may change between steps, in place or with
    `.data = ...`), the kernel copies whatever array it holds at each replay."""
    rec = recording()
    if rec is not None and (owner is not None or rec.is_made(source)):
        what = f"copy: {_shape(source, rec.is_made)}"
        if owner is None:
            rec.computed(partial(np.copyto, copy, source, "unsafe"), copy, what)
        else:
            rec.computed(partial(_copy_held, copy, owner), copy, what)
    return copy


def _copy_held(copy: np.ndarray, owner: Any) -> None:
    """The array `owner` (a Tensor) holds now, into `copy` (casting it: an index's integers)."""
    np.copyto(copy, owner._data, "unsafe")


def guard(check: Callable[..., Any], *args: Any, replay_only: bool = False) -> None:
    """Run a check that reads values only to refuse bad input: now and, while recording, again at
    every replay in this place among the kernels. There it reads this step's values (computed
    by the kernels before it, as labels smoothed in the step) and refuses the step where the
    eager step would, before the kernels after it (the optimiser's update) change anything.

    `replay_only`: a check that only a replay can fail, raising ReplayError (a mask that picks
    another count than recorded), where the eager step would have gone on. Placed after a kernel
    that changes what the caller can see (state such as a parameter or a generator, a gradient
    backward() set, a leaf the step made from numbers), it makes each replay save that first,
    to put it back on refusal; after the forward's kernels alone (`out[:, keep]` in a masked
    loss), which write only the recording's own arrays, there is nothing to save."""
    check(*args)
    rec = recording()
    if rec is not None:
        if replay_only:
            _note_what_a_refusal_puts_back(rec)
        rec.checks.add(check)
        rec.kernels.append(partial(check, *args))
        arrays = [getattr(arg, "_data", arg) for arg in args]  # (a Tensor's array: trace cannot import it)
        rec.lines.append(f"{_call_text(check, tuple(arrays), rec.is_made)} (refuses bad values)")


def _note_what_a_refusal_puts_back(rec: Recording) -> None:
    """At a check only a replay can fail: note what the kernels so far change that the caller can
    see, which a replay must save before it runs them, to put back if the check refuses. State
    that outlives the step (a parameter, a generator), the gradients once backward() has begun or
    the step has set one, and the arrays of tensors the step made from numbers it computed; with
    the leaves the step makes (Replay adds them at its end: a tensor may become one after the
    check). Only that: a masked loss after dropout saves the generator, not every parameter and
    moving average."""
    if not rec.kernels:
        return  # (nothing has run yet, so nothing has changed)
    made = [t._data for t in rec.new_kept if rec.is_made(t._data)]
    rec.changed_before_refusal = [*rec.state.values(), *made]
    rec.gradients_before_refusal = rec.walked or any(grad is not None for _, grad, _ in rec.grads_set)


def stamps(tensor: Any) -> None:
    """The step being recorded has just marked `tensor` as changed in place (see Recording.stamps)."""
    rec = recording()
    if rec is not None:
        rec.stamps.append((tensor, len(rec.kernels)))


def sets_grad(tensor: Any) -> None:
    """The step being recorded has just set `tensor.grad` (see Recording.grads_set)."""
    rec = recording()
    if rec is not None:
        rec.grads_set.append((tensor, tensor._grad, len(rec.kernels)))


class Before:
    """What a parameter's .grad held when a replayed call began (set by Recorded.run): a copy,
    since it may be the very array the replay refills (the last call's gradient), or None."""

    __slots__ = ("value",)

    def __init__(self, value: np.ndarray | None) -> None:
        self.value = value


def left_by_caller(tensors: Sequence[Any]) -> set[int]:
    """While recording: the ids of the tensors among those backward() is about to give a
    gradient that are parameters whose gradient the step has not set before (see
    Recording.caller_grads). Any other tensor's gradient from before the step is refused
    (adds_to), before any is set."""
    rec = recording()
    if rec is None:
        return set()
    earlier = {id(t) for t, _, _ in rec.grads_set}
    left = {
        id(t)
        for t in tensors
        if id(t) in rec.leaves and id(t) not in rec.new_tensors and id(t) not in earlier
    }
    for t in tensors:
        if id(t) not in left and t._grad is not None:
            adds_to(t)
    return left


def adds_what_was_left(tensor: Any, previous: Any) -> None:
    """backward() has just set `tensor.grad` to what it computed, and the caller had left it
    `previous` (a Tensor or None): the eager step adds the two. So does a kernel, now and at each
    replay, with what the tensor held when that call began (Recorded.run sets it)."""
    rec = recording()
    assert rec is not None
    before = Before(None if previous is None else previous._data.copy())
    grad = tensor._grad._data
    _add_before(before, grad)
    rec.kernels.append(partial(_add_before, before, grad))
    rec.lines.append(f"add what {tensor.label}.grad held before the step, if anything (in place)")
    rec.caller_grads.append((tensor, before, len(rec.kernels) - 1))


def _add_before(before: Before, grad: np.ndarray) -> None:
    if before.value is not None:
        np.add(grad, before.value, grad)


def makes_tensor(tensor: Any) -> None:
    """While recording: the step made `tensor` from numbers (see Recording.new_tensors)."""
    rec = recording()
    if rec is not None:
        rec.new_tensors.add(id(tensor))
        rec.new_kept.append(tensor)  # (alive while the recording is, so that its id stays its own)


def expects_no_grad(tensor: Any) -> None:
    """backward(create_graph=True) sets the .grad of a parameter the caller left one in: that
    cannot be replayed as a sum, so it is refused when there is one, and the recording holds
    only while there is none (else the step records again, and is refused then)."""
    if tensor._grad is not None:
        adds_to(tensor)
    rec = recording()
    if rec is not None:
        rec.conditions.append((partial(_has_no_grad, tensor), True))


def _has_no_grad(tensor: Any) -> bool:
    return tensor._grad is None


def adds_to(tensor: Any) -> None:
    """backward() is about to add to `tensor.grad`: refused while recording if that gradient is
    from before the step, since every replay would add to the recording's gradient instead."""
    rec = recording()
    if rec is not None and not rec.is_made(tensor._grad._data):
        given = any(t is tensor for t, _, _ in rec.grads_set)
        where = "the step gave" if given else "had before the step (with create_graph=True)"
        raise ReplayError(
            f"backward() adds to the .grad that {tensor.describe()} {where}, which microgrid's ops "
            "did not compute in the step, and a replay cannot follow a gradient from outside it: "
            "clear it (zero_grad()) before backward(), in the step or before each call, or call the "
            "step without mg.replay"
        )


def refuse_read(what: str) -> None:
    """Refuse to turn a tensor's value into Python while recording: Python that decides by a
    value (`if loss < 0.1`, a print of loss.item()) runs once, and a replay could not follow it."""
    if recording() is not None:
        raise ReplayError(
            f"{what} while mg.replay records the step: a replay runs the step's numpy calls again, "
            "not its Python, so Python that reads a value (.item(), float(), if loss < ...) cannot "
            "be replayed. Return the tensor from the step and read it outside, or call the step "
            "without mg.replay"
        )


def _call_text(fn: Callable[..., Any], args: tuple[Any, ...], computed: Callable[[Any], bool]) -> str:
    """`fn(*args)` in words: the function's name and the shapes of the arrays it is given."""
    if isinstance(fn, partial):
        args = (*fn.args, *args)
        fn = fn.func
    arrays = [_shape(arg, computed) for arg in args if isinstance(arg, (np.ndarray, np.generic))]
    name = getattr(fn, "__name__", type(fn).__name__)
    return f"{name}: {', '.join(arrays)}" if arrays else name


def _shape(array: Any, computed: Callable[[Any], bool]) -> str:
    """An array as a listing shows it: its shape, or its value when it is one number that no
    kernel computes (a constant such as 1/m or the learning rate)."""
    if np.ndim(array) == 0 and not computed(array):
        return f"{np.asarray(array).item():.4g}"
    return str(np.shape(array))
