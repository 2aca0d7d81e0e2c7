"""The backward walk: the chain rule, accumulation, broadcasting, grad(), second derivatives."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref
from typing import Any

import numpy as np
import pytest

import microgrid as mg


def test_lecture_example_J_equals_3_times_a_plus_b_c() -> None:
    a = mg.tensor(5.0, requires_grad=True, name="a")
    b = mg.tensor(3.0, requires_grad=True, name="b")
    c = mg.tensor(2.0, requires_grad=True, name="c")
    J = 3 * (a + b * c)
    J.backward()
    assert J.item() == 33.0
    assert (a.grad.item(), b.grad.item(), c.grad.item()) == (3.0, 6.0, 9.0)


def logistic_data(n_x: int = 3, m: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n_x, m))
    Y = (rng.uniform(size=(1, m)) > 0.5).astype(float)
    return X, Y


@pytest.mark.parametrize("stable", [False, True], ids=["course cost", "softplus cost"])
def test_logistic_regression_gradients_equal_the_vectorised_formulas(stable: bool) -> None:
    X, Y = logistic_data()
    n_x, m = X.shape
    rng = np.random.default_rng(2)
    w = mg.tensor(rng.standard_normal((n_x, 1)) * 0.1, requires_grad=True, name="w")
    b = mg.tensor(0.3, requires_grad=True, name="b")
    Z = w.T @ X + b
    if stable:  # −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − z·y
        J = (mg.softplus(Z) - Z * Y).mean()
    else:
        A = mg.sigmoid(Z)
        J = -(Y * mg.log(A) + (1 - Y) * mg.log(1 - A)).mean()
    J.backward()

    A = 1 / (1 + np.exp(-(w.data.T @ X + b.data)))
    dz = A - Y
    np.testing.assert_allclose(w.grad.data, X @ dz.T / m, rtol=1e-10)
    np.testing.assert_allclose(b.grad.item(), dz.sum() / m, rtol=1e-10)
    assert b.grad.shape == ()


def test_gradients_accumulate_over_consumers() -> None:
    x = mg.tensor(3.0, requires_grad=True)
    (x * x + x).backward()  # d/dx (x² + x) = 2x + 1, x reaches the output three times
    assert x.grad.item() == 7.0


def test_gradients_accumulate_over_backward_calls_until_zero_grad() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 4).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [7.0, 7.0])
    x.zero_grad()
    assert x.grad is None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])


def test_only_leaves_and_retained_tensors_keep_their_gradients() -> None:
    x = mg.tensor(2.0, requires_grad=True)
    z = x * 3
    y = z * z
    kept = (z * 1.0).retain_grad()
    (y + kept).backward()
    with pytest.warns(UserWarning, match="is not a leaf"):
        assert z.grad is None and y.grad is None  # as in PyTorch: intermediates free their gradient
    assert kept.grad.item() == 1.0 and x.grad.item() == 39.0  # d/dx (9x² + 3x) = 18x + 3
    with pytest.raises(mg.GradError, match="does not require grad"):
        mg.tensor(1.0).retain_grad()


def test_retained_gradients_accumulate_like_leaves() -> None:
    x = mg.tensor(1.0, requires_grad=True)
    z = (x * 2).retain_grad()
    y = z * z
    y.backward()
    assert z.grad.item() == 4.0  # 2z


def test_no_gradient_is_computed_for_inputs_that_do_not_require_it() -> None:
    W = mg.randn(3, 2, requires_grad=True)
    X = mg.randn(2, 5)
    (W @ X).sum().backward()
    assert X.grad is None
    assert (W @ X).op.needs_grad == (True, False)


def test_a_chain_of_100000_ops_backpropagates() -> None:
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.00001**100_000, rtol=1e-9)


def test_the_walk_visits_each_node_once_in_a_diamond() -> None:
    x = mg.tensor(1.0, requires_grad=True)
    layer = x
    for _ in range(30):  # 2^30 paths: a walk that follows paths instead of nodes never ends
        layer = layer * 1.0 + layer * 1.0
    layer.backward()
    assert x.grad.item() == 2.0**30
    steps = list(mg.autograd.walk(layer))
    assert len(steps) == 3 * 30  # two muls and an add per layer
    assert [leaf for step in steps for leaf, _ in step.finished] == [x]  # x is finished once


def test_recorded_tensors_are_numbered_after_their_inputs() -> None:
    # The walk takes the newest tensor first, which is only right if every op's output is
    # numbered after its inputs; leaves (no inputs) all share 0.
    x = mg.tensor(1.0, requires_grad=True)
    first = x * 2.0
    second = first + x
    assert (x.created, mg.tensor(3.0).created) == (0, 0)
    assert 0 < first.created < second.created
    assert first.detach().created == 0


class _FailingBackward(mg.Op):
    """x unchanged; its backward raises, as a buggy custom op's might."""

    name = "failing"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return a.copy()

    def backward(self, grad: mg.Tensor, out: mg.Tensor) -> mg.Tensor:
        raise RuntimeError("this backward is broken")


def test_a_backward_that_fails_leaves_every_grad_as_it_was() -> None:
    y = mg.tensor(2.0, requires_grad=True)
    broken = _FailingBackward.apply(y)
    x = mg.tensor(3.0, requires_grad=True)
    x.grad = mg.tensor(1.0)
    z = broken + x * 2.0  # the walk reaches x (made later) before the failing op
    with pytest.raises(RuntimeError, match="broken"):
        z.backward()
    assert x.grad.item() == 1.0 and y.grad is None


@pytest.mark.parametrize("run", [lambda z, y: z.backward(), lambda z, y: mg.grad(z, y)])
def test_a_backward_that_fails_gives_back_the_callers_grad_mode(run: Any) -> None:
    # backward() and grad() set the rules' mode (no_grad) once for the whole walk: a rule that
    # raises part-way must not leave the caller's code running without recording.
    y = mg.tensor(2.0, requires_grad=True)
    z = _FailingBackward.apply(y) * 2.0
    with pytest.raises(RuntimeError, match="broken"):
        run(z, y)
    assert mg.is_grad_enabled() and (y * 2.0).requires_grad


@pytest.mark.parametrize("duplicate", [copy.copy, copy.deepcopy, lambda t: pickle.loads(pickle.dumps(t))])
def test_a_copy_or_pickle_keeps_the_values_not_the_graph(duplicate: Any) -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * 3.0
    for _ in range(2000):  # a graph deeper than Python's recursion limit
        y = y * 1.0
    y.name = "y"
    twin = duplicate(y)
    assert twin.op is None and twin.is_leaf and twin.requires_grad and twin.name == "y"
    np.testing.assert_array_equal(twin.data, [3.0, 6.0])
    twin.sum().backward()  # a leaf of its own now: its gradient stops at it
    assert x.grad is None and twin.grad is not None


def test_a_pickled_loss_is_small_and_a_leaf_keeps_its_gradient() -> None:
    W = mg.randn(50, 50, requires_grad=True, name="W", seed=0)
    J = ((W @ W).tanh() ** 2).mean()
    J.backward()
    assert len(pickle.dumps(J)) < 1_000  # its value, not the graph and W behind it
    W_copy = copy.deepcopy(W)
    assert W_copy.grad is not None and W_copy.grad is not W.grad
    np.testing.assert_array_equal(W_copy.grad.data, W.grad.data)


def test_an_output_used_twice_in_grad_sums_its_seeds() -> None:
    x = mg.tensor(3.0, requires_grad=True)
    y = x * x
    (dx,) = mg.grad([y, y], [x], grad_outputs=[1.0, 2.0])
    assert dx.item() == 3 * 2 * 3.0


def test_non_scalar_backward_needs_a_gradient() -> None:
    x = mg.randn(2, 3, requires_grad=True, name="A[1]")
    with pytest.raises(mg.GradError, match=r"tanh\(\.\.\.\) \(2, 3\) is not a scalar"):
        x.tanh().backward()
    y = x.tanh()
    y.backward(gradient=np.ones((2, 3)))
    np.testing.assert_allclose(x.grad.data, 1 - np.tanh(x.data) ** 2)


def test_backward_gradient_with_the_wrong_shape_is_refused() -> None:
    y = mg.randn(2, 3, requires_grad=True, name="Z").tanh()
    with pytest.raises(mg.ShapeError, match=r"\(3, 2\)"):
        y.backward(gradient=np.ones((3, 2)))


def test_backward_through_a_tensor_that_needs_no_grad_says_so() -> None:
    x = mg.tensor([1.0, 2.0], name="x")
    with pytest.raises(mg.GradError, match="does not require grad.*requires_grad=True.*no_grad"):
        (x * 2).sum().backward()


def test_grad_returns_gradients_without_touching_dot_grad() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    gx, gw = mg.grad(y, [x, w])
    np.testing.assert_array_equal(gx.data, [3.0, 4.0])
    np.testing.assert_array_equal(gw.data, [1.0, 2.0])
    assert x.grad is None and w.grad is None and y._grad is None


def test_grad_with_grad_outputs_and_unused_inputs() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    unused = mg.tensor(1.0, requires_grad=True, name="unused")
    y = x * x
    (gx,) = mg.grad(y, [x], grad_outputs=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(gx.data, [2.0, 40.0])
    with pytest.raises(mg.GradError, match="unused.*allow_unused"):
        mg.grad(y.sum(), [x, unused])
    assert mg.grad(y.sum(), [x, unused], allow_unused=True)[1] is None


def test_second_derivative_of_tanh() -> None:
    x = mg.tensor([-1.5, 0.0, 0.3, 2.0], requires_grad=True)
    (dy,) = mg.grad(mg.tanh(x).sum(), [x], create_graph=True)
    assert dy.requires_grad
    (d2y,) = mg.grad(dy.sum(), [x])
    t = np.tanh(x.data)
    np.testing.assert_allclose(dy.data, 1 - t**2, rtol=1e-12)
    np.testing.assert_allclose(d2y.data, -2 * t * (1 - t**2), rtol=1e-12)


def test_backward_create_graph_lets_x_grad_be_differentiated_again() -> None:
    x = mg.tensor(2.0, requires_grad=True)
    (x**3).backward(create_graph=True)
    assert x.grad.item() == 12.0  # 3x²
    first = x.grad
    x.grad = None
    first.backward()
    assert x.grad.item() == 12.0  # 6x


def test_second_derivatives_of_a_small_network_match_central_differences() -> None:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 7))
    Y = (rng.uniform(size=(1, 7)) > 0.5).astype(float)
    W1 = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True, name="W[1]")
    b1 = mg.tensor(rng.standard_normal((3, 1)), requires_grad=True, name="b[1]")
    W2 = mg.tensor(rng.standard_normal((1, 3)), requires_grad=True, name="W[2]")

    def cost(W1: mg.Tensor, b1: mg.Tensor, W2: mg.Tensor) -> mg.Tensor:
        Z2 = W2 @ mg.tanh(W1 @ X + b1)
        return (mg.softplus(Z2) - Z2 * Y).mean()

    report = mg.gradgradcheck(cost, [W1, b1, W2], threshold=1e-6)
    assert report, str(report)


def test_graph_is_freed_by_reference_counting_after_backward() -> None:
    gc.disable()  # prove there are no reference cycles: nothing may wait for the collector
    try:
        W = mg.randn(4, 3, requires_grad=True)
        hidden = mg.tanh(W @ mg.randn(3, 50))
        watched = weakref.ref(hidden)
        loss = mg.sigmoid(hidden).sum()
        loss.backward()
        del hidden, loss
        assert watched() is None
        assert W.grad is not None and W.grad.op is None  # a plain backward records no graph
    finally:
        gc.enable()


def test_a_custom_op_with_a_shape_bug_in_backward_is_named() -> None:
    class BadSum(mg.Op):
        """Σ a, with a backward that returns the wrong shape."""

        name = "bad_sum"

        def forward(self, a: np.ndarray) -> np.ndarray:
            return a.sum()

        def backward(self, grad: mg.Tensor, out: mg.Tensor) -> mg.Tensor:
            return mg.ones(5)

    x = mg.randn(3, requires_grad=True, name="x")
    with pytest.raises(mg.GradError, match=r"backward of bad_sum.*\(5,\).*x \(3,\)"):
        BadSum.apply(x).backward()


class _TwoInputs(mg.Op):
    """a · b, with a backward that returns whatever the test puts in `rule`, given g, a and b."""

    name = "two_inputs"
    rule: Any = None

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    def backward(self, grad: mg.Tensor, out: mg.Tensor) -> Any:
        return self.rule(grad, *self.inputs)


class _TwoInputsVjp(mg.Op):
    """The same with a vjp: in a plain backward, `rule` gets arrays."""

    name = "two_inputs_vjp"
    rule: Any = None

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    def vjp(self, g: Any, out: Any, a: Any, b: Any) -> Any:
        return self.rule(g, a, b)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (lambda g, a, b: g * b, r"returned 1 gradients for its 2 inputs"),
        (lambda g, a, b: [g, g, g], r"returned 3 gradients for its 2 inputs"),
        (lambda g, a, b: (g, g.data), r"returned a ndarray for input 2; gradients must be Tensors"),
        (lambda g, a, b: 1.0, r"returned a float; return a Tensor or one per input"),
        (lambda g, a, b: None, r"returned None: a missing `return`\?"),
        (lambda g, a, b: (g * b, 1.0), r"returned a float for input 2; gradients must be Tensors"),
    ],
)
@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize(
    ("op", "rule_of"), [(_TwoInputs, "backward"), (_TwoInputsVjp, "vjp")], ids=["backward", "vjp"]
)
def test_a_custom_rule_that_breaks_the_protocol_is_told_how(
    op: Any, rule_of: str, rule: Any, message: str, create_graph: bool
) -> None:
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    op.rule = staticmethod(rule)
    with pytest.raises(mg.GradError, match=rf"^{rule_of} of {op.name} " + message):
        op.apply(a, b).sum().backward(create_graph=create_graph)
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
def test_a_custom_vjp_may_return_a_tuple_or_a_list(create_graph: bool) -> None:
    for rule in (lambda g, a, b: (g * b, g * a), lambda g, a, b: [g * b, g * a]):
        a = mg.tensor([1.0, 2.0], requires_grad=True)
        b = mg.tensor([3.0, 4.0], requires_grad=True)
        _TwoInputsVjp.rule = staticmethod(rule)
        _TwoInputsVjp.apply(a, b).sum().backward(create_graph=create_graph)
        np.testing.assert_array_equal(a.grad.data, [3.0, 4.0])  # type: ignore[union-attr]
        np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])  # type: ignore[union-attr]


def test_a_vjp_that_calls_numpy_works_plain_and_is_told_why_it_cannot_be_recorded() -> None:
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    _TwoInputsVjp.rule = staticmethod(lambda g, a, b: (np.multiply(g, b), np.multiply(g, a)))
    _TwoInputsVjp.apply(a, b).sum().backward()  # on arrays, numpy's functions work
    np.testing.assert_array_equal(a.grad.data, [3.0, 4.0])  # type: ignore[union-attr]
    with pytest.raises(mg.GradError, match=r"vjp of two_inputs_vjp called a numpy function on Tensors"):
        _TwoInputsVjp.apply(a, b).sum().backward(create_graph=True)


def test_a_one_input_vjp_that_forgets_to_return_is_told() -> None:
    class Softsign(mg.Op):
        name = "softsign"

        def forward(self, a: np.ndarray) -> np.ndarray:
            return a / (1 + np.abs(a))

        def vjp(self, g: Any, out: Any, a: Any) -> Any:
            g / (1 + abs(a)) ** 2  # the mistake under test: no return

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for create_graph in (False, True):
        with pytest.raises(mg.GradError, match=r"^vjp of softsign returned None: a missing `return`"):
            Softsign.apply(x).sum().backward(create_graph=create_graph)
    assert x.grad is None


def test_a_vjp_that_makes_tensors_from_arrays_still_gets_its_gradient() -> None:
    """mg.exp on an array makes a Tensor: such a vjp is run on Tensors instead, in either order."""

    class MyExp(mg.Op):
        name = "my_exp"

        def forward(self, a: np.ndarray) -> np.ndarray:
            return np.exp(a)

        def vjp(self, g: Any, out: Any, a: Any) -> Any:
            return g * mg.exp(a)

    for loss in (lambda x: (MyExp.apply(x) + x * 2).sum(), lambda x: (x * 2 + MyExp.apply(x)).sum()):
        x = mg.tensor([1.0, 2.0], requires_grad=True)
        loss(x).backward()
        np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]) + 2, rtol=1e-15)  # type: ignore[union-attr]


def test_a_vjp_may_use_an_array_its_forward_saved() -> None:
    class ELU(mg.Op):
        name = "elu"

        def forward(self, a: np.ndarray) -> np.ndarray:
            self.positive = a > 0  # a numpy mask, saved on the op
            return np.where(self.positive, a, np.expm1(a))

        def vjp(self, g: Any, out: Any, a: Any) -> Any:
            return mg.ops.Where.call(self.positive, g, g * (out + 1))

    z = mg.tensor([[-1.5, -0.2, 0.3, 2.0]], requires_grad=True, name="z")
    assert mg.gradcheck(ELU.apply, [z]) and mg.gradgradcheck(ELU.apply, [z])


def test_a_subclass_of_a_primitive_may_wrap_its_backward() -> None:
    class DoubledMul(mg.ops.Mul):
        def backward(self, grad: mg.Tensor, out: mg.Tensor) -> Any:
            grad_a, grad_b = super().backward(grad, out)  # Mul's vjp, on the tensors
            return grad_a * 2, grad_b

    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    DoubledMul.apply(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [6.0, 8.0])  # type: ignore[union-attr]
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])  # type: ignore[union-attr]


def test_a_custom_backward_in_a_plain_walk_gets_tensors_of_arrays() -> None:
    seen: list[type] = []

    class Twice(mg.Op):
        name = "twice"

        def forward(self, a: np.ndarray) -> np.ndarray:
            return 2 * a

        def backward(self, grad: mg.Tensor, out: mg.Tensor) -> mg.Tensor:
            seen.append(type(grad.data))
            return grad * 2

    a = mg.tensor(1.5, requires_grad=True)
    b = mg.tensor(3.0, requires_grad=True)
    (Twice.apply(a) * b).backward()  # 0-d: numpy's arithmetic on them gives scalars
    assert seen == [np.ndarray] and a.grad.item() == 6.0  # type: ignore[union-attr]


def test_backward_with_create_graph_into_an_existing_grad_keeps_its_history() -> None:
    """The second backward adds its recorded gradient to the first: d(x.grad)/dw must see both."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([[3.0], [4.0]], requires_grad=True)
    for _ in range(2):  # x.grad = 2 · w², through a reshape whose gradient is a view
        (x.reshape(2, 1) * w * w).sum().backward(create_graph=True)
    (dw,) = mg.grad(x.grad.sum(), [w])  # type: ignore[union-attr]
    np.testing.assert_array_equal(dw.data, [[12.0], [16.0]])  # type: ignore[union-attr]


def test_grad_results_are_their_own_arrays() -> None:
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    da, db = mg.grad((a + b).sum(), [a, b])  # add hands the same gradient to both inputs
    da.data *= 0
    np.testing.assert_array_equal(db.data, [1.0, 1.0])
    g = mg.tensor([5.0, 6.0])
    (dy,) = mg.grad(a, [a], grad_outputs=g)
    dy.data[0] = 0.0
    assert g.data[0] == 5.0  # the caller's gradient is not the one returned


def test_leaves_never_share_a_gradient_array() -> None:
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # add hands the same gradient to both inputs
    a.grad.data *= 0
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    g = mg.tensor([5.0, 6.0])
    y = a + 0
    a.grad = None
    y.backward(gradient=g)
    a.grad.data[0] = 0.0
    assert g.data[0] == 5.0  # the caller's gradient is not the stored one


def test_power_zero_has_slope_zero_everywhere_even_at_zero() -> None:
    x = mg.tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_grad_names_itself_in_its_errors() -> None:
    with pytest.raises(mg.GradError, match="^grad: "):
        mg.grad(mg.ones(2, requires_grad=True) * 2, [mg.ones(1, requires_grad=True)])


def test_logsumexp_of_only_minus_infinity_is_minus_infinity() -> None:
    with np.errstate(divide="ignore"):
        assert mg.logsumexp(mg.tensor([-np.inf, -np.inf])).item() == -np.inf


# --- the walk ------------------------------------------------------------------------------------------


def test_the_walk_visits_newest_first_and_finishes_each_leaf_at_its_last_consumer() -> None:
    a, b, c, d = (mg.tensor(v, requires_grad=True, name=n) for v, n in zip((1.0, 2.0, 3.0, 4.0), "abcd"))
    w = c * d
    u = a * b
    J = 2 * u + 3 * w
    steps = list(mg.autograd.walk(J))
    created = [step.tensor.created for step in steps]
    assert created == sorted(created, reverse=True) and len(steps) == 5
    finished = {step.tensor is u: [leaf.name for leaf, _ in step.finished] for step in steps if step.finished}
    assert finished == {True: ["a", "b"], False: ["c", "d"]}
    grads = {leaf.name: g.item() for step in steps for leaf, g in step.finished}
    assert grads == {"a": 4.0, "b": 2.0, "c": 12.0, "d": 9.0}  # dJ/da = 2b, dJ/db = 2a, 3d, 3c


def test_each_step_reports_every_contribution_with_its_rule_and_shape() -> None:
    b = mg.tensor([[1.0], [2.0]], requires_grad=True, name="b")
    W = mg.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True, name="W")
    Z = W @ mg.ones(2, 3) + b
    step = next(iter(mg.autograd.walk(Z.sum())))  # the sum: sends dZ
    (to_Z,) = step.contributions()
    assert to_Z.input is Z and to_Z.rule == "g repeated along the summed axes"
    add_step = next(s for s in mg.autograd.walk(Z.sum()) if s.tensor is Z)
    by_input = {c.input.name: c for c in add_step.contributions()}
    assert by_input["b"].broadcast_shape == (2, 3) and by_input["b"].grad.shape == (2, 1)
    np.testing.assert_array_equal(by_input["b"].grad.data, [[3.0], [3.0]])
    assert by_input["b"].rule == "g"


def test_the_callers_code_between_steps_runs_in_the_callers_grad_mode() -> None:
    x = mg.tensor(2.0, requires_grad=True)
    y = x * x * x
    modes = [mg.is_grad_enabled() for _ in mg.autograd.walk(y)]
    assert modes == [True, True]  # the rules ran under no_grad, the loop body did not
    with mg.no_grad():
        assert [mg.is_grad_enabled() for _ in mg.autograd.walk(y, create_graph=True)] == [False, False]


def test_a_leaf_as_the_output_is_one_step_and_its_own_gradient() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    (step,) = mg.autograd.walk(x, np.array([3.0, 4.0]))
    assert step.tensor is x and [leaf for leaf, _ in step.finished] == [x]
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_walking_to_some_inputs_visits_only_the_paths_to_them() -> None:
    x = mg.tensor(2.0, requires_grad=True, name="x")
    y = mg.tensor(3.0, requires_grad=True, name="y")
    J = (x * x) + mg.exp(y) * 5
    visited = [step.tensor.op.name for step in mg.autograd.walk(J, inputs=[x])]  # type: ignore[union-attr]
    assert visited == ["add", "mul"]  # the exp(y) branch is skipped


# --- the version check: an input changed in place after it was used ------------------------------------


def test_backward_through_a_tensor_changed_after_it_was_used_names_it() -> None:
    W = mg.tensor([[1.0, 2.0]], requires_grad=True, name="W")
    x = mg.tensor([[3.0], [4.0]], name="x")
    J = (W @ x).sum()
    with mg.no_grad():
        x *= 2  # the gradient of W needs x as it was when matmul used it
    with pytest.raises(mg.GradError, match=r"x \(2, 1\) was changed in place .* after matmul used it"):
        J.backward()
    assert W.grad is None


def test_an_op_output_changed_after_it_was_made_is_refused() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = mg.exp(x)  # exp's rule reads its output
    y.name = "y"
    with mg.no_grad():
        y += 1
    with pytest.raises(mg.GradError, match=r"y \(2,\) was changed in place .* after exp made"):
        y.sum().backward()


@pytest.mark.parametrize("optimizer", [mg.optim.SGD, mg.optim.Adam])
def test_a_loss_from_before_an_optimiser_step_is_refused_not_walked_with_new_values(optimizer: type) -> None:
    # The classic slip: the loss computed once, outside the loop. Its graph holds W as it was;
    # after step() changed W, a backward would mix old and new values (2·W read from the new W).
    W = mg.tensor([[1.0, 2.0]], requires_grad=True, name="W")
    opt = optimizer([W], lr=0.1)
    loss = (W * W).sum()
    loss.backward()
    opt.step()
    opt.zero_grad()
    stale = r"W \(1, 2\) was changed in place .*step\(\).*Compute the graph again"
    with pytest.raises(mg.GradError, match=stale):
        loss.backward()
    assert W.grad is None


def test_changes_after_backward_are_what_optimisers_do_and_are_fine() -> None:
    W = mg.tensor([1.0, -1.0], requires_grad=True, name="W")
    for _ in range(3):
        W.grad = None
        J = (W * W).sum()
        J.backward()
        with mg.no_grad():
            W -= 0.25 * W.grad  # a new graph each step: nothing recorded before the change
    np.testing.assert_allclose(W.data, [0.125, -0.125])


def test_backward_takes_a_gradient_of_the_outputs_shape_as_a_list() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward([1.0, 10.0])
    np.testing.assert_array_equal(x.grad.data, [2.0, 20.0])  # type: ignore[union-attr]
    with pytest.raises(mg.ShapeError, match=r"gradient has shape \(1,\) but"):
        (x.sum() * 2).backward([5.0])
