"""Gradient checking: compare backward's gradients with central differences, as in the course.

For each input, the relative difference ‖g − g̃‖ / (‖g‖ + ‖g̃‖) between the analytic gradient g
and the numerical one g̃ = (f(x + ε) − f(x − ε)) / 2ε should be tiny (below 2e-7 by default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from microgrid.autograd import grad
from microgrid.errors import GradError
from microgrid.modes import enable_grad, no_grad
from microgrid.tensor import Tensor

Function = Callable[..., Tensor]


@dataclass
class InputCheck:
    """The check of one input: its gradients both ways and how far apart they are."""

    tensor: Tensor
    name: str
    analytic: np.ndarray
    numerical: np.ndarray
    difference: float
    passed: bool


@dataclass
class GradcheckReport:
    """Per-input results of a gradient check; truthy only when every input passed."""

    checks: list[InputCheck]
    threshold: float
    order: int = 1

    def __bool__(self) -> bool:
        return all(check.passed for check in self.checks)

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
        lines = [f"{title} (threshold {self.threshold:.0e}): {'passed' if self else 'FAILED'}"]
        lines.append(f"  {'input':<{width}}  {'shape':<12} {'difference':>11}  result")
        for c in self.checks:
            result = "ok" if c.passed else "FAIL"
            lines.append(f"  {c.name:<{width}}  {c.analytic.shape!s:<12} {c.difference:>11.3e}  {result}")
        return "\n".join(lines)

    __repr__ = __str__


def relative_difference(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """‖g − g̃‖ / (‖g‖ + ‖g̃‖), and 0 when both gradients are zero."""
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numerical)
    return float(np.linalg.norm(analytic - numerical) / denominator) if denominator else 0.0


def gradcheck(
    fn: Function,
    inputs: Sequence[Tensor],
    eps: float = 1e-7,
    threshold: float = 2e-7,
    seed: int = 0,
) -> GradcheckReport:
    """Check backward's gradient of fn(*inputs) for every input that requires grad.

    Differences are taken in float64 (float32 inputs are promoted for the check, then restored).
    A non-scalar output is reduced to Σ v·f with a fixed random v, which tests the whole Jacobian.
    The inputs' data are perturbed in place, so `fn` may also reach them through a closure
    (a model's parameters); their values and `.grad` are left as they were.
    """
    checked = _checked_inputs(inputs)
    originals = [t.data for t in checked]
    try:
        for t in checked:
            t._data = np.array(t._data, dtype=np.float64)
        out = fn(*inputs)
        projection = _projection(out, seed)
        # An output with no graph does not depend on the inputs: its analytic gradient is zero
        # (a linear op's second derivative); the finite differences below confirm it or not.
        analytic = (
            grad((out * projection).sum(), checked, allow_unused=True)
            if out.requires_grad
            else [None] * len(checked)
        )
        results = []
        for i, (t, g) in enumerate(zip(checked, analytic)):
            exact = np.zeros(t.shape) if g is None else np.asarray(g.data, dtype=np.float64)
            numerical = _central_differences(fn, inputs, t, projection, eps)
            difference = relative_difference(exact, numerical)
            name = t.name or f"input {i}"
            results.append(InputCheck(t, name, exact, numerical, difference, difference <= threshold))
    finally:
        for t, original in zip(checked, originals):
            t._data = original
    return GradcheckReport(results, threshold)


def gradgradcheck(
    fn: Function,
    inputs: Sequence[Tensor],
    eps: float = 1e-7,
    threshold: float = 2e-7,
    seed: int = 0,
) -> GradcheckReport:
    """Check second derivatives: gradcheck of x ↦ Σ u·∇f(x), with ∇f built by create_graph=True."""
    checked = _checked_inputs(inputs)
    rng = np.random.default_rng(seed + 1)
    directions = [rng.standard_normal(t.shape) for t in checked]

    @enable_grad()  # the finite differences call this under no_grad, but it needs a graph
    def first_derivatives(*args: Tensor) -> Tensor:
        out = fn(*args)
        grads = grad((out * _projection(out, seed)).sum(), checked, create_graph=True, allow_unused=True)
        total = Tensor(0.0)
        for g, u in zip(grads, directions):
            if g is not None:
                total = total + (g * u).sum()
        return total

    report = gradcheck(first_derivatives, inputs, eps, threshold, seed)
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


@no_grad()
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
