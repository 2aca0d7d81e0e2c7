"""The engine: the Op base class and the reverse-mode walk over the recorded graph."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any, ClassVar

import numpy as np

from microgrid.errors import AnomalyError, GradError, ShapeError, cannot_broadcast
from microgrid.modes import set_grad_enabled, state
from microgrid.tensor import Operand, Tensor, to_array

Grads = Sequence["Tensor | None"]
ndarray = np.ndarray  # (one attribute lookup fewer on every op)


class Op:
    """A primitive: `forward` maps numpy arrays to an array, `backward` maps d(out) to d(inputs).

    Subclasses write `forward` with numpy and `backward` with microgrid ops, so the backward pass
    is itself a graph (differentiable again with `create_graph=True`). The instance is the
    context: it holds the inputs, its parameters and anything forward saves for backward.
    """

    name: ClassVar[str] = "op"
    # For binary ops, the infix symbol error messages use: `W[2] (1, 4) @ A[1] (3, 400)`.
    symbol: ClassVar[str | None] = None

    inputs: tuple[Tensor, ...] = ()
    needs_grad: tuple[bool, ...] = ()

    def forward(self, *arrays: Any, **unused: Any) -> np.ndarray:  # (*Any, **Any): any arity may override
        """The output array computed from the input arrays."""
        raise NotImplementedError

    def backward(self, grad: Tensor, out: Tensor) -> Tensor | Grads:
        """One gradient per input (None where `needs_grad` is False), from d(loss)/d(out)."""
        raise NotImplementedError

    def describe(self) -> str:
        """The op as diagrams label it, with its parameters: `sum axis=1 keepdims`."""
        return self.name

    def shape_problem(self, arrays: Sequence[np.ndarray]) -> str | None:
        """Why these input shapes cannot work, when forward raised; None to reuse numpy's words."""
        return None

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run forward on the inputs' data and, when recording, link the output to this op."""
        # Every op of every step passes through here, so the common arities get a path
        # without loops (a list comprehension is itself a function call before Python 3.12).
        op = cls(**params) if params else cls()  # (a call without ** is quicker)
        try:
            if len(inputs) == 2:
                a, b = inputs
                data = op.forward(a.data, b.data)
                needs_grad: tuple[bool, ...] = (a.requires_grad, b.requires_grad)
            elif len(inputs) == 1:
                data = op.forward(inputs[0].data)
                needs_grad = (inputs[0].requires_grad,)
            else:
                data = op.forward(*[t.data for t in inputs])
                needs_grad = tuple([t.requires_grad for t in inputs])
        except (ValueError, IndexError, TypeError) as error:
            # Say which op and which tensors, keep the kind of error (an IndexError stays one)
            # and chain the original, so a bug inside a custom op's forward still shows its line.
            raise _error_kind(error)(op.failure_message(inputs, error)) from error
        if data.__class__ is not ndarray:
            data = np.asarray(data)  # numpy reductions and 0-d ufuncs return scalars
        if state.anomaly:
            check_finite(data, f"{op.describe()} forward", inputs)
        if state.grad_enabled and True in needs_grad:
            op.inputs = inputs
            op.needs_grad = needs_grad
            return Tensor._make(data, op)
        return Tensor._make(data)

    def failure_message(self, inputs: Sequence[Tensor], error: Exception) -> str:
        """`op: W[2] (1, 4) @ A[1] (3, 400): inner sizes 4 and 3 differ`."""
        arrays = [t.data for t in inputs]
        if self.symbol is not None and len(inputs) == 2:
            operands = f"{inputs[0].describe()} {self.symbol} {inputs[1].describe()}"
        else:
            operands = ", ".join(t.describe() for t in inputs)
        reason = self.shape_problem(arrays)
        if reason is None and "broadcast" in str(error):
            reason = cannot_broadcast(*(a.shape for a in arrays))
        reason = reason or str(error).split("\n")[0]
        return f"{self.describe()}: {operands}: {reason}"


def _error_kind(error: Exception) -> type[Exception]:
    """What a failed forward raises: a ShapeError for numpy's ValueErrors (shapes that do not
    broadcast, reshape or reduce), else the same kind as numpy's error (IndexError, TypeError)."""
    if isinstance(error, ValueError):
        return ShapeError
    return IndexError if isinstance(error, IndexError) else TypeError


def check_finite(data: np.ndarray, where: str, inputs: Sequence[Tensor]) -> None:
    """Under detect_anomaly: raise if `data` holds NaN or inf, naming the op and its inputs."""
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = "nan" if np.isnan(data).any() else "inf"
        context = f" (while computing the backward of {state.backward_of})" if state.backward_of else ""
        operands = ", ".join(t.describe() for t in inputs)
        raise AnomalyError(f"{where} produced {bad}{context}; inputs: {operands}")


def sum_to(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Undo broadcasting: sum `grad` over the axes that broadcasting added or stretched."""
    grad_shape = grad.data.shape
    lead = len(grad_shape) - len(shape)  # axes broadcasting added in front
    if lead < 0:
        raise GradError(f"sum_to: gradient of shape {grad_shape} cannot be summed to {shape}")
    axes = list(range(lead))
    for axis, size in enumerate(shape, lead):
        if size != grad_shape[axis]:
            if size != 1:  # only a size-1 axis can have been stretched
                raise GradError(f"sum_to: gradient of shape {grad_shape} cannot be summed to {shape}")
            axes.append(axis)
    if axes:
        grad = ops.Sum.apply(grad, axis=tuple(axes), keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    return grad


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor that requires grad behind `roots`, each once, inputs before their consumers.

    A stack collects the graph (no recursion, so a chain of 100,000 ops needs no deep Python
    stack); sorting by creation number orders it, since a tensor is made after its inputs.
    """
    seen = {id(root) for root in roots}
    stack = list(roots)
    nodes = []
    while stack:
        node = stack.pop()
        nodes.append(node)
        if node.op is not None:
            for parent in node.op.inputs:
                if parent.requires_grad and id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
    nodes.sort(key=_creation_number)
    return nodes


_creation_number = operator.attrgetter("created")


def _leads_to(order: list[Tensor], targets: set[int]) -> set[int]:
    """The ids of the tensors in `order` from which some target can be reached going backward."""
    reach: set[int] = set()
    for node in order:  # inputs come first, so each node's inputs are already decided
        if id(node) in targets or (
            node.op is not None and any(id(parent) in reach for parent in node.op.inputs)
        ):
            reach.add(id(node))
    return reach


def _seed(output: Tensor, gradient: Operand | None, caller: str) -> Tensor:
    """d(output)/d(output): ones for a scalar, else the `gradient` the caller supplies."""
    if not output.requires_grad:
        raise GradError(
            f"{caller}: {output.describe()} does not require grad, so it has no graph to walk: "
            "no input it depends on has requires_grad=True, or it was computed under no_grad()"
        )
    if gradient is None:
        if output.size != 1:
            raise GradError(
                f"{caller}: {output.describe()} is not a scalar; pass a gradient of its shape "
                "(usually you want a scalar loss, e.g. .mean())"
            )
        return Tensor._make(np.ones(output.data.shape, output.data.dtype))
    seed = gradient if isinstance(gradient, Tensor) else Tensor._make(to_array(gradient, output.dtype))
    if seed.shape != output.shape:
        raise ShapeError(
            f"{caller}: gradient has shape {seed.shape} but {output.describe()} has {output.shape}"
        )
    return seed


def _walk(
    outputs: Sequence[Tensor],
    seeds: Sequence[Tensor],
    create_graph: bool,
    targets: set[int] | None,
) -> list[tuple[Tensor, Tensor]]:
    """Reverse-mode sweep from `outputs`, seeded with d(output)/d(output) = `seeds`.

    Returns (tensor, its whole gradient) for every leaf reached, every tensor that retains its
    gradient and, for grad(), every target. Other gradients are dropped once passed on, so they
    free as the walk goes. `targets` (ids) also prunes the walk to the paths that reach them.
    """
    wanted = None if targets is None else _leads_to(topological_order(outputs), targets)
    pending: dict[int, Tensor] = {}  # id(tensor) -> the sum of its gradient contributions so far
    # Recorded tensors with a gradient, newest first: a tensor's consumers are all newer, so when
    # it is taken they have all been visited and its gradient is complete. The heap holds creation
    # numbers, not tensors, because comparing tensors makes new tensors (`a < b` is an op).
    waiting: list[int] = []  # a heap of −created
    by_number: dict[int, Tensor] = {}
    leaves: list[Tensor] = []  # no op to visit: they collect contributions until the walk ends
    finished: list[tuple[Tensor, Tensor]] = []
    # The seeds enter as the first batch of contributions, as if from an op above the outputs.
    op: Op | None = None  # the op whose backward made the current contributions
    input_grads: Any = None
    contributions: Any = zip(outputs, [True] * len(outputs), seeds)
    with set_grad_enabled(create_graph):
        try:
            while True:
                for parent, needed, parent_grad in contributions:
                    if not needed or parent_grad is None:
                        continue
                    if wanted is not None and id(parent) not in wanted:
                        continue
                    data = parent_grad.data  # (`is not`: a quick test; _fit compares dtypes properly)
                    if data.shape != parent.data.shape or data.dtype is not parent.data.dtype:
                        parent_grad = _fit(parent_grad, parent, op)
                    key = id(parent)
                    if key in pending:
                        pending[key] = pending[key] + parent_grad
                    else:
                        pending[key] = parent_grad
                        if parent.op is None:
                            leaves.append(parent)
                        else:
                            heappush(waiting, -parent.created)
                            by_number[parent.created] = parent
                if not waiting:
                    break
                node = by_number.pop(-heappop(waiting))
                grad = pending.pop(id(node))
                if node.retains_grad or (targets is not None and id(node) in targets):
                    finished.append((node, grad))
                op = node.op
                assert op is not None  # only recorded tensors wait in the heap
                input_grads = None
                if state.anomaly:
                    input_grads = _checked_backward(op, grad, node)
                else:
                    result = op.backward(grad, node)
                    input_grads = (result,) if isinstance(result, Tensor) else result
                contributions = zip(op.inputs, op.needs_grad, input_grads, strict=True)
        except (ValueError, TypeError, AttributeError):
            if op is not None and input_grads is not None:
                _check_backward_result(op, input_grads)  # say so if the rule broke the protocol
            raise
    finished += [(leaf, pending[id(leaf)]) for leaf in leaves]
    return finished


def _checked_backward(op: Op, grad: Tensor, out: Tensor) -> Grads:
    """op.backward under detect_anomaly: every gradient it returns must be finite."""
    previous, state.backward_of = state.backward_of, f"{op.describe()} -> {out.label}"
    try:
        with np.errstate(all="ignore"):
            result = op.backward(grad, out)
    finally:
        state.backward_of = previous
    grads = (result,) if isinstance(result, Tensor) else result
    for parent, parent_grad in zip(op.inputs, grads):
        if parent_grad is not None:
            check_finite(
                parent_grad.data, f"backward of {op.describe()} (gradient for {parent.label})", op.inputs
            )
    return grads


def _check_backward_result(op: Op, grads: Any) -> None:
    """Raise a GradError if a backward rule returned something other than one Tensor (or None)
    per input: the mistakes a new custom op makes, said in its own terms."""
    where = f"backward of {op.describe()}"
    count = len(op.inputs)
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


def _fit(grad: Tensor, parent: Tensor, op: Op | None) -> Tensor:
    """`grad` in the shape and dtype of `parent`: the one place where broadcasting is undone
    (summing over the axes it added or stretched). A shape broadcasting could not have made is
    a bug in the op's backward, named as such."""
    shape = parent.data.shape
    if grad.data.shape != shape:
        try:
            grad = sum_to(grad, shape)
        except GradError as error:
            assert op is not None  # _seed checked the seeds' shapes
            raise GradError(
                f"backward of {op.describe()}: gradient of shape {grad.shape} "
                f"does not fit {parent.describe()}"
            ) from error
    if grad.data.dtype != parent.data.dtype:
        grad = grad.astype(parent.data.dtype)
    return grad


def _own(grad: Tensor, handed_out: set[int]) -> Tensor:
    """`grad`, copied if it may be shared: a numpy view of another array, a gradient already handed
    out (add gives one gradient to both inputs), or the caller's seed. So `a.grad.data *= 0` never
    changes `b.grad`; fresh arrays, the usual case, are not copied."""
    if grad.data.base is not None or id(grad) in handed_out:
        grad = Tensor._make(grad.data.copy())
    handed_out.add(id(grad))
    return grad


def backward(output: Tensor, gradient: Operand | None = None, create_graph: bool = False) -> None:
    """Accumulate d(output)/d(t) into `t.grad` for every leaf t (and tensor with retain_grad())."""
    seed = _seed(output, gradient, "backward")
    handed_out = {id(seed)}  # the caller's seed, and the gradients this call has stored
    for tensor, tensor_grad in _walk([output], [seed], create_graph, targets=None):
        if tensor._grad is not None:
            with set_grad_enabled(create_graph):
                tensor._grad = tensor._grad + tensor_grad
        else:
            tensor._grad = tensor_grad if create_graph else _own(tensor_grad, handed_out)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Operand | Sequence[Operand | None] | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Tensor | None]:
    """d(outputs)/d(inputs) as a list, one per input, leaving every `.grad` untouched."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray, np.generic, float, int)):
        seeds_given: list[Any] = [grad_outputs] * len(outputs)
    else:
        seeds_given = list(grad_outputs)
    if len(seeds_given) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(seeds_given)} grad_outputs")
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            label = t.describe() if isinstance(t, Tensor) else type(t).__name__
            raise GradError(f"grad: input {label} does not require grad")
    seeds = [_seed(o, g, "grad") for o, g in zip(outputs, seeds_given)]
    found = {id(t): g for t, g in _walk(outputs, seeds, create_graph, targets={id(t) for t in inputs})}
    result = [found.get(id(t)) for t in inputs]
    if not create_graph:
        handed_out = {id(seed) for seed in seeds}
        result = [None if g is None else _own(g, handed_out) for g in result]
    if not allow_unused:
        for t, g in zip(inputs, result):
            if g is None:
                raise GradError(
                    f"grad: {t.describe()} is not used to compute the outputs "
                    "(pass allow_unused=True to get None for it)"
                )
    return result


# The primitives build on Op, so they are imported once it exists (sum_to applies Sum).
from microgrid import ops  # noqa: E402
