"""Gradient checking: compare backward's gradients with central differences, as in the course.

For each input, the relative difference ‖g − g̃‖ / (‖g‖ + ‖g̃‖) between the analytic gradient g
and the numerical one g̃ = (f(x + ε) − f(x − ε)) / 2ε should be tiny (below 2e-7 by default),
unless g and g̃ agree element by element within `atol` (1e-8): finer than central differences
resolve, so what is left is round-off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from microgrid.autograd import grad
from microgrid.errors import GradError, ShapeError
from microgrid.modes import enable_grad
from microgrid.tensor import Tensor

Function = Callable[..., Tensor]

# The finite differences cannot see a gradient element much below one unit in the last place of
# f over 2ε: 1.1e-16 / 2e-7 ≈ 5.5e-10 for f ≈ 1 and ε = 1e-7 (tanh(15)'s 3.7e-13 is measured as 0).
# Elements that agree to 1e-8, twenty times that, are round-off; 1e-8 is also numpy.isclose's atol.
ATOL = 1e-8


@dataclass
class InputCheck:
    """The check of one input: its gradients both ways and how far apart they are."""

    tensor: Tensor
    name: str
    analytic: np.ndarray
    numerical: np.ndarray
    difference: float  # relative: ‖g − g̃‖ / (‖g‖ + ‖g̃‖)
    absolute: float  # max |g − g̃| over the elements
    passed: bool  # difference ≤ threshold or absolute ≤ atol


@dataclass
class GradcheckReport:
    """Per-input results of a gradient check; truthy only when every input passed."""

    checks: list[InputCheck]
    threshold: float
    atol: float = ATOL
    order: int = 1

    @property
    def passed(self) -> bool:
        """True when every input passed: the same as `bool(report)`."""
        return all(check.passed for check in self.checks)

    def __bool__(self) -> bool:
        return self.passed

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.checks)

    def __getitem__(self, name: str) -> InputCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"gradcheck report has no input named {name!r}")

    def __str__(self) -> str:
        title = "gradient check" if self.order == 1 else "second-derivative check"
        width = max([len("input")] + [len(c.name) for c in self.checks])
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"{title} (threshold {self.threshold:.0e}, atol {self.atol:.0e}): {verdict}"]
        lines.append(f"  {'input':<{width}}  {'shape':<12} {'difference':>11} {'absolute':>10}  result")
        for c in self.checks:
            # Passing on atol alone is said, so a large difference marked ok does not puzzle.
            result = "FAIL" if not c.passed else "ok" if c.difference <= self.threshold else "ok (atol)"
            numbers = f"{c.difference:>11.3e} {c.absolute:>10.1e}"
            lines.append(f"  {c.name:<{width}}  {c.analytic.shape!s:<12} {numbers}  {result}")
        return "\n".join(lines)

    __repr__ = __str__


def relative_difference(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """‖g − g̃‖ / (‖g‖ + ‖g̃‖), and 0 when both gradients are zero.

    The two must have one shape: a db of shape (3,) against (3, 1) would broadcast to (3, 3) and
    report a difference for values that are right, hiding the real slip (a lost keepdims).
    """
    analytic, numerical = np.asarray(analytic), np.asarray(numerical)
    if analytic.shape != numerical.shape:
        raise ShapeError(
            f"relative_difference: the gradients have shapes {analytic.shape} and {numerical.shape}; "
            "compare gradients of one shape (a lost keepdims=True turns (n, 1) into (n,))"
        )
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numerical)
    return float(np.linalg.norm(analytic - numerical) / denominator) if denominator else 0.0


def gradcheck(
    fn: Function,
    inputs: Sequence[Tensor],
    eps: float = 1e-7,
    threshold: float = 2e-7,
    seed: int = 0,
    atol: float = ATOL,
) -> GradcheckReport:
    """Check backward's gradient of fn(*inputs) for every input that requires grad.

    An input passes when its relative difference is at most `threshold`, or when no element of
    its two gradients differs by more than `atol` (both are then too small to measure).
    Differences are taken in float64 (float32 inputs are promoted for the check, then restored).
    A non-scalar output is reduced to Σ v·f with a fixed random v, which tests the whole Jacobian.
    The inputs' data are perturbed in place, so `fn` may also reach them through a closure
    (a model's parameters); their values and `.grad` are left as they were. `fn` always runs with
    recording on, even inside `no_grad()`, so it may call `mg.grad` itself (a Hessian-vector
    product, a gradient penalty).
    """
    checked = _checked_inputs(inputs)
    originals = [t.data for t in checked]
    try:
        for t in checked:
            t._data = np.array(t._data, dtype=np.float64)
        with enable_grad():  # fn's gradient needs a graph, and so does any mg.grad inside fn
            out = fn(*inputs)
            projection = _projection(out, seed)
            analytic = _gradients(out, projection, checked)
            results = []
            for i, (t, g) in enumerate(zip(checked, analytic)):
                exact = np.zeros(t.shape) if g is None else np.asarray(g.data, dtype=np.float64)
                numerical = _central_differences(fn, inputs, t, projection, eps)
                difference = relative_difference(exact, numerical)
                absolute = float(np.max(np.abs(exact - numerical), initial=0.0))
                passed = difference <= threshold or absolute <= atol
                name = t.name or f"input {i}"
                results.append(InputCheck(t, name, exact, numerical, difference, absolute, passed))
    finally:
        for t, original in zip(checked, originals):
            t._data = original
    return GradcheckReport(results, threshold, atol)


def gradgradcheck(
    fn: Function,
    inputs: Sequence[Tensor],
    eps: float = 1e-7,
    threshold: float = 2e-7,
    seed: int = 0,
    atol: float = ATOL,
) -> GradcheckReport:
    """Check second derivatives: gradcheck of x ↦ Σ u·∇f(x), with ∇f built by create_graph=True."""
    checked = _checked_inputs(inputs)
    rng = np.random.default_rng(seed + 1)
    directions = [rng.standard_normal(t.shape) for t in checked]

    def first_derivatives(*args: Tensor) -> Tensor:
        out = fn(*args)
        grads = _gradients(out, _projection(out, seed), checked, create_graph=True)
        total = Tensor(0.0)
        for g, u in zip(grads, directions):
            if g is not None:
                total = total + (g * u).sum()
        return total

    report = gradcheck(first_derivatives, inputs, eps, threshold, seed, atol)
    report.order = 2
    return report


def _checked_inputs(inputs: Sequence[Tensor]) -> list[Tensor]:
    """The inputs whose gradients are checked: tensors with requires_grad=True."""
    if isinstance(inputs, Tensor):
        raise TypeError("gradcheck: pass the inputs as a list, e.g. gradcheck(f, [x])")
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise GradError("gradcheck: no input requires grad, so there is nothing to check")
    return checked


def _projection(out: Tensor, seed: int) -> np.ndarray:
    """Weights v for Σ v·f: ones for a scalar output, fixed random numbers otherwise."""
    if out.size == 1:
        return np.ones(out.shape)
    return np.random.default_rng(seed).standard_normal(out.shape)


def _gradients(
    out: Tensor, projection: np.ndarray, inputs: list[Tensor], create_graph: bool = False
) -> list[Tensor | None]:
    """∇(Σ v·out) for each input, None where out does not depend on it: every input when out has
    no graph (a constant, or a linear op's second derivative); the finite differences confirm it."""
    if not out.requires_grad:
        return [None] * len(inputs)
    return grad((out * projection).sum(), inputs, create_graph=create_graph, allow_unused=True)


def _central_differences(
    fn: Function, inputs: Sequence[Tensor], t: Tensor, projection: np.ndarray, eps: float
) -> np.ndarray:
    """(f(x + ε) − f(x − ε)) / 2ε for each element of t, with f = Σ v·fn."""
    numerical = np.zeros(t.shape)
    flat = t.data.reshape(-1)  # a view: writing it perturbs t in place
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = float(np.sum(fn(*inputs).data * projection))
        flat[i] = saved - eps
        minus = float(np.sum(fn(*inputs).data * projection))
        flat[i] = saved
        numerical.flat[i] = (plus - minus) / (2 * eps)
    return numerical
