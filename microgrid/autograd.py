"""The backward walk: one generator, `walk`, that everything which needs gradients consumes.

`backward()` and `grad()` store what it yields; the step-through shows it one step at a time; the
diagrams draw the backward graph it records with create_graph=True. Nothing else runs a backward
rule, undoes broadcasting or decides an order.

    >>> a = mg.tensor(2.0, requires_grad=True, name="a")
    >>> u = a * a
    >>> u.name = "u"
    >>> J = 3 * u
    >>> [(step.tensor.label, step.grad.item()) for step in walk(J)]
    [('mul(...)', 1.0), ('u', 3.0)]
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from contextvars import Token
from heapq import heappop, heappush
from typing import Any, NamedTuple

import numpy as np

from microgrid import trace
from microgrid.errors import GradError, ShapeError
from microgrid.function import Grads, Op, _ndarray, check_finite
from microgrid.modes import Mode, backward_of, current, enter, leave, set_grad_enabled
from microgrid.ops import Add, Cast, sum_to
from microgrid.tensor import Operand, Tensor, to_array

# A gradient as the walk carries it: a Tensor, or a numpy array in a walk of arrays (see _walk).
Gradient = Any
Pairs = list[tuple[Tensor, Gradient]]


class Contribution(NamedTuple):
    """What one op sent one of its inputs: `grad`, in the input's shape, made by `rule`."""

    input: Tensor
    position: int  # which input of the op
    grad: Tensor
    rule: str | None  # the op's local rule for this input, e.g. "g · b"
    broadcast_shape: tuple[int, ...] | None  # the rule's shape when the engine summed it back


class Step:
    """One visit of the walk. `tensor`'s gradient `grad` is complete (every consumer has sent
    its share), and its op has sent each input a contribution (`input_grads`, one per input of
    `tensor.op`, None where none was sent). `finished` pairs each leaf whose last consumer this
    was with its now complete gradient."""

    __slots__ = ("finished", "grad", "input_grads", "raw_grads", "tensor")

    def __init__(
        self,
        tensor: Tensor,
        grad: Tensor | None,
        input_grads: Sequence[Tensor | None],
        raw_grads: Sequence[Tensor | None],
        finished: Pairs,
    ) -> None:
        self.tensor = tensor
        self.grad = grad  # None when no consumer sent anything (a custom rule returned None)
        self.input_grads = input_grads
        self.raw_grads = raw_grads  # as the rule returned them, before broadcasting was undone
        self.finished = finished

    def contributions(self) -> list[Contribution]:
        """Each input's contribution with the rule that made it, in the order of the op's inputs."""
        op = self.tensor.op
        if op is None:
            return []
        found = []
        for position, (parent, sent, raw) in enumerate(zip(op.inputs, self.input_grads, self.raw_grads)):
            if sent is not None:
                assert raw is not None
                summed = raw.shape if raw.shape != sent.shape else None
                found.append(Contribution(parent, position, sent, op.rule(position), summed))
        return found

    def __repr__(self) -> str:
        grad = "no gradient" if self.grad is None else f"grad {self.grad.shape}"
        leaves = f", finishes {', '.join(leaf.label for leaf, _ in self.finished)}" if self.finished else ""
        return f"<Step {self.tensor.label}: {grad}{leaves}>"


def walk(
    outputs: Tensor | Sequence[Tensor],
    grad_outputs: Operand | Sequence[Operand | None] | None = None,
    *,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> Iterator[Step]:
    """Reverse-mode sweep from `outputs`: one Step per recorded tensor behind them, newest first.

    A tensor is made after its inputs, so when the newest unvisited tensor is taken, everything
    made from it has been visited and its gradient is complete: the sum of one contribution per
    use. Each leaf is reported in the step of its last consumer. `grad_outputs` seeds
    d(output)/d(output) (ones for a scalar). The rules run under `no_grad()` unless
    `create_graph`, which records the gradients as a graph of their own. `inputs` prunes the walk
    to the paths that reach them. Nothing is stored anywhere: the consumer decides (`backward`
    fills `.grad`, `grad` returns a list).
    """
    outputs, seeds = _seeds(outputs, grad_outputs, "walk")
    visits = _walk(outputs, seeds, create_graph, inputs, for_caller=True, arrays=False)
    return (Step(*visit) for visit in visits)


# The walk keys its dicts and sets by the tensors themselves, not by id(): a lookup takes 51 ns
# instead of 94. Tensor.__hash__ is identity, and two live objects never hash alike, so the
# elementwise == of Tensors is never asked.


# A step as _walk yields it: the tensor, its gradient, what each input was sent (left empty for
# backward() and grad(), which do not look), what the rule returned, the leaves it finished.
Visit = tuple[Tensor, "Gradient | None", Sequence["Gradient | None"], Sequence["Gradient | None"], Pairs]


def _walk(
    outputs: list[Tensor],
    seeds: list[Tensor],
    create_graph: bool,
    inputs: Sequence[Tensor] | None,
    for_caller: bool,
    arrays: bool,
) -> Iterator[Visit]:
    """The walk itself, for outputs and seeds already checked: each step as the tuple of a Step's
    fields (`walk` makes them Steps; backward() and grad() unpack them, −1.6 % of a training step).

    `for_caller`: the steps go to a caller's code (`walk`), which runs between them in its own
    mode and learns each leaf's gradient at its last consumer. That takes a look at the whole
    graph first (`_uses`); backward() stores every gradient when the walk ends (for_caller=False),
    so it is spared that look, and every leaf is reported in the last step (grad(), which prunes
    the walk to its inputs, takes the look for that).
    Such a walk holds the rules' mode from its first step to its end, so its consumer must run it
    to the end (or to an exception) in its own frame, as those two do.

    `arrays`: a plain backward's walk (no create_graph, no anomaly mode, no replay recording),
    which nobody watches step by step. Its gradients are numpy arrays, not Tensors, and each op
    whose rule is a `vjp` runs it on arrays: the same rule, with numpy doing the arithmetic and no
    Tensor made (the backward of the 2→4→1 training step takes 13–23 % less time). An op that
    writes `backward` itself gets Tensors, made for it and unwrapped after.
    """
    uses, wanted = _uses(outputs, inputs) if for_caller or inputs is not None else (None, None)
    watched = for_caller or wanted is not None  # every step is yielded, not only the last
    # tensor -> the sum of its gradient contributions so far (arrays in a walk of arrays)
    pending: dict[Tensor, Any] = {}
    # The rules run in the caller's mode with recording as create_graph says.
    mode = current()
    rules_mode = mode.with_grad(create_graph)
    anomaly = mode.anomaly  # (a mode's field is a lookup per read; once: −0.2 % of a step)
    # Recorded tensors with a gradient, newest first: a tensor's consumers are all newer, so when
    # it is taken they have all been visited and its gradient is complete. A heap of
    # (−created, tensor): creation numbers are unique, so two entries are ordered by their
    # numbers alone and tensors, whose `<` is an op that makes a new tensor, are never compared.
    waiting: list[tuple[int, Tensor]] = []
    # backward() and grad() run no code of their own between steps, so for them the rules' mode is
    # set once for the whole walk, not around each step's rules (−1.2 % of the instructions of
    # the 2→4→1 training step); a caller's walk has it only while the seeds are summed.
    token = enter(rules_mode)
    held: Token[Mode] | None = token
    try:
        for output, seed in zip(outputs, seeds):
            value = seed._data if arrays else seed
            if output in pending:
                pending[output] = Add.call(pending[output], value)
            elif wanted is None or output in wanted:
                pending[output] = value
                if output.op is not None:
                    heappush(waiting, (-output.created, output))
        if for_caller:
            held = None
            leave(token)
        # A leaf among the outputs that nothing in the graph reads is complete from the start.
        finished: Pairs = (
            [
                (output, pending.pop(output))
                for output in dict.fromkeys(outputs)
                if output.op is None and output in pending and (uses is None or output not in uses)
            ]
            if len(outputs) > 1 or outputs[0].op is None
            else []  # (the usual one output an op made: no list to build)
        )
        if not waiting:
            for leaf, leaf_grad in finished:
                yield leaf, leaf_grad, (), (), [(leaf, leaf_grad)]
            return
        while waiting:
            node = heappop(waiting)[1]
            op = node.op
            assert op is not None  # only recorded tensors wait in the heap
            grad = pending.pop(node)
            created = node.created
            if node._version > created:  # backward would read `out`, changed after it was made
                raise _changed_after_use(node, node)
            inputs = op.inputs  # (read once: a read of a field of ops of many classes is slow)
            if arrays:
                raw = _array_rule(op, inputs, grad, node)
            else:
                # (a caller's walk, which holds no mode, sets the rules' mode around each rule)
                raw = _tensor_step(op, grad, node, rules_mode if held is None else None, anomaly)
            # What each input was sent, for walk's Steps; backward() and grad() read none of it,
            # so they leave it empty (−1 % of a training step), and share one empty tuple.
            sent: Any = [] if for_caller else ()
            for parent, needed, parent_grad in zip(inputs, op.needs_grad, raw):
                if parent._version > created:  # the rule read its value as it is now, not as then
                    raise _changed_after_use(parent, node)
                if not needed or (wanted is not None and parent not in wanted):
                    if for_caller:
                        sent.append(None)
                    continue
                if parent_grad is not None:
                    data = parent._data
                    # (`is not`: two equal dtypes need not be one object, and _fit compares them)
                    if parent_grad.shape != data.shape or parent_grad.dtype is not data.dtype:
                        parent_grad = _fit(parent_grad, parent, op)
                    if parent in pending:  # (Add.call reports numpy's overflow as Op.apply does)
                        pending[parent] = Add.call(pending[parent], parent_grad)
                    else:
                        pending[parent] = parent_grad
                        if parent.op is not None:
                            heappush(waiting, (-parent.created, parent))
                if uses is not None:  # (None in backward(): one test per input spares it two)
                    if for_caller:
                        sent.append(parent_grad)
                    if parent.op is None:  # a leaf: complete after its last consumer
                        left = uses[parent] - 1
                        uses[parent] = left
                        if not left and parent in pending:
                            finished.append((parent, pending.pop(parent)))
            if not waiting:  # the last step: every leaf still waiting is complete
                finished += [(t, g) for t, g in pending.items() if t.op is None]
            elif not (watched or node.retains_grad):
                continue  # a step backward() has no use for: no yield (−5 % of a plain backward's time)
            yield node, grad, sent, raw, finished
            finished = []
    finally:
        if held is not None:
            leave(held)


def _changed_after_use(t: Tensor, out: Tensor) -> GradError:
    """The error for an input changed in place after an op used it (as PyTorch's version check)."""
    op = out.op
    assert op is not None
    used = "made" if t is out else f"used it to make {out.label}"
    return GradError(
        f"backward: {t.describe()} was changed in place (by an operator such as `-=`, or an "
        f"optimiser's step()) after {op.describe()} {used}, and its gradient needs the value from "
        "then. Compute the graph again after the change (a training loop computes its loss anew at "
        "every step), change it only after backward(), or change a copy"
    )


def _uses(
    outputs: Sequence[Tensor], inputs: Sequence[Tensor] | None
) -> tuple[dict[Tensor, int], set[Tensor] | None]:
    """How many recorded ops behind `outputs` use each leaf; and, when `inputs` is given, the
    tensors on a path to one of them (else None), counting only uses on those paths.

    A stack, not recursion, so a chain of 100,000 ops needs no deep Python stack.
    """
    order: list[Tensor] = []
    uses: dict[Tensor, int] = {}
    seen: set[Tensor] = set()
    stack = []
    for output in outputs:
        if output.op is not None and output not in seen:
            seen.add(output)
            stack.append(output)
    while stack:
        node = stack.pop()
        order.append(node)
        op = node.op
        assert op is not None
        for parent, needed in zip(op.inputs, op.needs_grad):
            if needed:
                if parent.op is None:
                    uses[parent] = uses.get(parent, 0) + 1
                elif parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    if inputs is None:
        return uses, None
    order.sort(key=_creation_number)
    wanted = set(inputs)
    for node in order:  # oldest first: a tensor's inputs are decided before it
        op = node.op
        assert op is not None
        if any(needed and parent in wanted for parent, needed in zip(op.inputs, op.needs_grad)):
            wanted.add(node)
    uses = {}
    for node in order:
        op = node.op
        assert op is not None
        if node in wanted:
            for parent, needed in zip(op.inputs, op.needs_grad):
                if needed and parent.op is None and parent in wanted:
                    uses[parent] = uses.get(parent, 0) + 1
    return uses, wanted


_creation_number = operator.attrgetter("created")


def _seeds(
    outputs: Tensor | Sequence[Tensor], grad_outputs: Any, caller: str
) -> tuple[list[Tensor], list[Tensor]]:
    """The outputs as a list, and d(output)/d(output) for each: ones for a scalar, else given."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray, np.generic, float, int)):
        given: list[Any] = [grad_outputs] * len(outputs)
    else:
        given = list(grad_outputs)
    if len(given) != len(outputs):
        raise ValueError(f"{caller}: {len(outputs)} outputs but {len(given)} grad_outputs")
    return outputs, [_seed(output, gradient, caller) for output, gradient in zip(outputs, given)]


def _seed(output: Tensor, gradient: Operand | None, caller: str) -> Tensor:
    """d(output)/d(output): ones for a scalar, else the `gradient` the caller supplies."""
    if not isinstance(output, Tensor):
        raise TypeError(f"{caller}: outputs must be Tensors, got {type(output).__name__}")
    if not output.requires_grad:
        raise GradError(
            f"{caller}: {output.describe()} does not require grad, so it has no graph to walk: "
            "no input it depends on has requires_grad=True, or it was computed under no_grad()"
        )
    if gradient is None:
        data = output._data
        if data.size != 1:
            raise GradError(
                f"{caller}: {output.describe()} is not a scalar; pass a gradient of its shape "
                "(usually you want a scalar loss, e.g. .mean())"
            )
        ones = np.empty(data.shape, data.dtype)
        ones.fill(1)  # (np.ones is two Python calls: −0.5 % of a training step)
        return Tensor._make(ones)
    seed = gradient if isinstance(gradient, Tensor) else Tensor._make(to_array(gradient, output.dtype))
    if seed.shape != output.shape:
        raise ShapeError(
            f"{caller}: gradient has shape {seed.shape} but {output.describe()} has {output.shape}"
        )
    return seed


def _fit(grad: Any, parent: Tensor, op: Op) -> Any:
    """`grad` (a Tensor, or an array in a plain backward) in the shape and dtype of `parent`:
    where broadcasting is undone (by `sum_to`). A shape broadcasting could not have made is a
    bug in the op's backward, named as such."""
    shape = parent._data.shape
    if grad.shape != shape:
        try:
            grad = sum_to(grad, shape)
        except GradError as error:
            raise GradError(
                f"backward of {op.describe()}: gradient of shape {grad.shape} "
                f"does not fit {parent.describe()}"
            ) from error
    if grad.dtype != parent._data.dtype:
        grad = Cast.call(grad, dtype=parent._data.dtype)
    return grad


def _tensor_step(op: Op, grad: Tensor, out: Tensor, rules_mode: Mode | None, anomaly: bool) -> Grads:
    """`op`'s rule on Tensors, one gradient (or None) per input, checked against the protocol:
    in `rules_mode` when given (a caller's walk sets it around each step's rule), and each
    gradient checked for NaN and inf under detect_anomaly."""
    token = None if rules_mode is None else enter(rules_mode)
    try:
        return _checked_backward(op, grad, out) if anomaly else _as_grads(op, op.backward(grad, out))
    finally:
        if token is not None:
            leave(token)


def _array_rule(op: Op, inputs: tuple[Tensor, ...], grad: np.ndarray, out: Tensor) -> Sequence[Any]:
    """`op`'s rule in a walk of arrays, one array (or None) per input (op.inputs): its vjp on the arrays.
    The op's backward on Tensors instead (`_tensor_rule`) for an op that writes backward itself,
    and for a vjp that failed on arrays, or that numpy warned in (escalated to an error in
    microgrid's own ops), or that did not return one array or None per input: on Tensors the
    warning is reported and the mistake named. (The arrays are unpacked for the usual arities: a
    list comprehension is a call of its own before Python 3.12.)"""
    if op.array_rule:
        count = len(inputs)
        try:
            if count == 1:
                raw = op.vjp(grad, out._data, inputs[0]._data)
                if raw.__class__ is _ndarray or isinstance(raw, np.generic):
                    return (raw,)  # a one-input op's rule may return the value alone
            elif count == 2:
                raw = op.vjp(grad, out._data, inputs[0]._data, inputs[1]._data)
            else:
                raw = op.vjp(grad, out._data, *[t._data for t in inputs])
        except (RuntimeWarning, ValueError, TypeError, AttributeError, IndexError):
            raw = None  # (the Tensor path runs after this block, so one traceback shows, not three)
        if (
            (raw.__class__ is tuple or raw.__class__ is list)
            and len(raw) == count
            and (not op.check_values or _arrays(raw))
        ):
            return raw
    return _tensor_rule(op, grad, out)


def _arrays(values: Sequence[Any]) -> bool:
    """True when each of a vjp's values is an array, a numpy scalar (0-d arithmetic) or None."""
    for value in values:
        if value is not None and value.__class__ is not _ndarray and not isinstance(value, np.generic):
            return False
    return True


def _tensor_rule(op: Op, grad: Any, out: Tensor) -> list[Any]:
    """`op`'s backward on Tensors in a walk of arrays (see _array_rule): its gradients as arrays,
    once checked against the protocol, since the walk reads only their arrays."""
    raw = _as_grads(
        op, op.backward(Tensor._make(grad if grad.__class__ is _ndarray else np.asarray(grad)), out)
    )
    return [None if g is None else g._data for g in raw]


# --- the backward protocol: what a rule must return ----------------------------------------------


def _checked_backward(op: Op, grad: Tensor, out: Tensor) -> Grads:
    """op.backward under detect_anomaly: every gradient it returns must be finite."""
    with backward_of(f"{op.describe()} -> {out.label}"), np.errstate(all="ignore"):
        grads = _as_grads(op, op.backward(grad, out))
    for parent, parent_grad in zip(op.inputs, grads):
        if parent_grad is not None:
            check_finite(
                parent_grad._data, f"backward of {op.describe()} (gradient for {parent.label})", op.inputs
            )
    return grads


def _as_grads(op: Op, raw: Any) -> Grads:
    """A rule's value on Tensors as one gradient (a Tensor or None) per input: a one-input op's
    lone Tensor made a tuple; anything else is a mistake, which check_protocol names."""
    if raw.__class__ is Tensor:
        raw = (raw,)
    if (raw.__class__ is not tuple and raw.__class__ is not list) or len(raw) != len(op.inputs):
        check_protocol(op, raw)
    for g in raw:
        if g is not None and g.__class__ is not Tensor:
            check_protocol(op, raw)
    return raw


def check_protocol(op: Op, grads: Any) -> None:
    """Raise a GradError if a backward rule returned something other than one Tensor (or None)
    per input: the mistakes a new custom op makes, said in its own terms. The walk asks only
    when a rule's value does not look right, so a correct rule pays nothing for the words."""
    where = f"{'vjp' if op.array_rule else 'backward'} of {op.describe()}"
    count = len(op.inputs)
    if grads is None:
        raise GradError(f"{where} returned None: a missing `return`? Return a Tensor or one per input")
    if not isinstance(grads, (tuple, list)):
        raise GradError(f"{where} returned a {type(grads).__name__}; return a Tensor or one per input")
    if len(grads) != count:
        raise GradError(f"{where} returned {len(grads)} gradients for its {count} inputs")
    for position, g in enumerate(grads, 1):
        if g is not None and not isinstance(g, Tensor):
            raise GradError(
                f"{where} returned a {type(g).__name__} for input {position}; gradients must be "
                "Tensors made with microgrid ops (or None for no gradient)"
            )


# --- what the walk is used for ------------------------------------------------------------------------


def _own(grad: Tensor | np.ndarray, handed_out: set[int]) -> Tensor:
    """`grad` (a Tensor, or a plain walk's array) as a Tensor, its array copied if it may be
    shared: a numpy view of another array, an array already handed out (add gives one gradient to
    both inputs), or the caller's seed. So `a.grad.data *= 0` never changes `b.grad`; fresh
    arrays, the usual case, are not copied, and neither are the outputs a recording puts in
    aligned blocks of their own (trace.is_private_output)."""
    if grad.__class__ is Tensor:
        data = grad._data
    else:  # a plain walk's array, or the numpy scalar a 0-d array's arithmetic gives
        data = grad if grad.__class__ is _ndarray else np.asarray(grad)
    if (data.base is not None and not trace.is_private_output(data)) or id(data) in handed_out:
        data = trace.copied(data, data.copy())
    elif grad.__class__ is Tensor:
        handed_out.add(id(data))
        return grad
    handed_out.add(id(data))
    return Tensor._make(data)


def _plain(create_graph: bool) -> bool:
    """True when backward() or grad() may walk with arrays (see _walk): no graph of the gradients
    is wanted, anomaly mode does not check each rule's Tensors, and mg.replay is not recording
    the rules' ops as kernels."""
    mode = current()
    return not (create_graph or mode.anomaly) and mode.recording is None


def backward(output: Tensor, gradient: Operand | None = None, create_graph: bool = False) -> None:
    """Accumulate d(output)/d(t) into `t.grad` for every leaf t (and tensor with retain_grad()).

    Nothing is stored until the walk has ended, so a rule that fails part-way changes no `.grad`.
    """
    if output.__class__ is Tensor:  # (one output, the usual case, without _seeds's lists)
        outputs, seeds = [output], [_seed(output, gradient, "backward")]
    else:
        outputs, seeds = _seeds(output, gradient, "backward")
    found: Pairs = []
    recording = current().recording
    if recording is not None:  # (mg.replay: the kernels from here on refill gradients a caller sees)
        recording.walked = True
    visits = _walk(outputs, seeds, create_graph, None, for_caller=False, arrays=_plain(create_graph))
    for tensor, tensor_grad, _, _, finished in visits:
        if tensor.retains_grad and tensor.op is not None and tensor_grad is not None:
            found.append((tensor, tensor_grad))
        found += finished
    handed_out = {id(seed._data) for seed in seeds}
    # (mg.replay: each gradient set is noted, and what the caller left in one is added by a kernel)
    recorded = found and recording is not None
    left = trace.left_by_caller([t for t, _ in found]) if recorded else ()
    if create_graph and left:  # (a graph of the sum cannot be replayed: hold while there is none)
        for tensor, _ in found:
            if id(tensor) in left:
                trace.expects_no_grad(tensor)
        left = ()
    for tensor, tensor_grad in found:
        if left and id(tensor) in left:
            previous = tensor._grad
            tensor._grad = _own(tensor_grad, handed_out)
            trace.adds_what_was_left(tensor, previous)
        elif tensor._grad is not None:  # (while recording, left_by_caller has checked it)
            with set_grad_enabled(create_graph):
                tensor._grad = tensor._grad + (tensor_grad if create_graph else _own(tensor_grad, handed_out))
        else:
            tensor._grad = tensor_grad if create_graph else _own(tensor_grad, handed_out)
        if recorded:
            trace.sets_grad(tensor)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Operand | Sequence[Operand | None] | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Tensor | None]:
    """d(outputs)/d(inputs) as a list, one per input, leaving every `.grad` untouched."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            label = t.describe() if isinstance(t, Tensor) else type(t).__name__
            raise GradError(f"grad: input {label} does not require grad")
    outputs, seeds = _seeds(outputs, grad_outputs, "grad")
    wanted = {id(t) for t in inputs}
    found: dict[int, Any] = {}  # (arrays in a walk of arrays)
    visits = _walk(outputs, seeds, create_graph, inputs, for_caller=False, arrays=_plain(create_graph))
    for tensor, tensor_grad, _, _, finished in visits:
        if id(tensor) in wanted and tensor_grad is not None:
            found[id(tensor)] = tensor_grad
        for leaf, leaf_grad in finished:
            found[id(leaf)] = leaf_grad
    result = [found.get(id(t)) for t in inputs]
    if not create_graph:
        handed_out = {id(seed._data) for seed in seeds}
        result = [None if g is None else _own(g, handed_out) for g in result]
    if not allow_unused:
        for t, g in zip(inputs, result):
            if g is None:
                raise GradError(
                    f"grad: {t.describe()} is not used to compute the outputs "
                    "(pass allow_unused=True to get None for it)"
                )
    return result


def graph(
    roots: Sequence[Tensor],
    stop: frozenset[int] = frozenset(),
    visit: Callable[[Tensor], object] | None = None,
) -> list[Tensor]:
    """Every tensor behind `roots` (leaves and constants too), each once, each after its inputs:
    what a picture of the forward graph shows. Tensors whose id is in `stop` end the search;
    `visit` sees each tensor as it is found (a picture counts them, to refuse a huge graph early)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False) for root in reversed(list(roots))]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        if visit is not None:
            visit(node)
        stack.append((node, True))
        if node.op is not None and id(node) not in stop:
            stack.extend((parent, False) for parent in reversed(node.op.inputs) if id(parent) not in visited)
    return order
