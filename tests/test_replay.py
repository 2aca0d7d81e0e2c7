"""mg.replay: a replayed step computes what the eager step computes, and records again when it must."""

from __future__ import annotations

import gc
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn, optim

Step = Callable[[mg.Tensor, mg.Tensor], mg.Tensor]


def problem(classes: int = 2, m: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, m))
    Y = rng.integers(0, classes, (1, m)).astype(np.float64 if classes == 2 else np.int64)
    return X, Y


def training(kind: str) -> tuple[nn.Module, Step]:
    """A model and its training step for one of the demos' kinds of network."""
    outputs = 3 if kind == "softmax" else 1
    hidden = "tanh" if kind == "tanh" else "relu"
    keep_prob = 0.8 if kind == "dropout" else 1.0
    model = nn.mlp([3, 5, 4, outputs], hidden=hidden, init="he", seed=1, keep_prob=keep_prob)
    if kind == "adam":
        optimizer: optim.Optimizer = optim.Adam(model.parameters(), lr=0.01)
        schedule: optim.LRScheduler | None = optim.ExponentialDecay(optimizer, gamma=0.97)
    else:
        optimizer, schedule = optim.SGD(model.parameters(), lr=0.1, momentum=0.9), None

    def step(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        loss = nn.softmax_cross_entropy if kind == "softmax" else nn.sigmoid_cross_entropy
        J = loss(model(X), Y)
        if kind == "l2":
            J = J + nn.l2_penalty(model, 0.7, X.shape[1])
        optimizer.zero_grad()
        J.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        return J

    return model, step


@pytest.mark.parametrize("kind", ["tanh", "relu", "softmax", "dropout", "l2", "adam"])
def test_a_hundred_replayed_steps_equal_the_eager_steps(kind: str) -> None:
    X, Y = problem(classes=3 if kind == "softmax" else 2)
    mg.manual_seed(5)
    eager_model, eager_step = training(kind)
    eager_costs = [eager_step(mg.tensor(X), mg.tensor(Y)).item() for _ in range(100)]
    mg.manual_seed(5)
    model, step = training(kind)
    fast = mg.replay(step)
    costs = [fast(mg.tensor(X), mg.tensor(Y)).item() for _ in range(100)]
    assert fast.recorded == 1 and fast.replayed == 99
    np.testing.assert_allclose(costs, eager_costs, rtol=1e-10)
    for (name, p), (_, q) in zip(model.named_parameters(), eager_model.named_parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12, err_msg=name)


def test_each_batch_shape_keeps_its_recording() -> None:
    X, Y = problem(m=50)
    _, step = training("relu")
    fast = mg.replay(step)
    for _epoch in range(3):
        for X_batch, Y_batch in mg.data.minibatches(X, Y, batch_size=16, seed=0):  # 16, 16, 16, 2
            fast(X_batch, Y_batch)
    assert fast.recorded == 2 and fast.replayed == 10


def test_a_dropped_replay_frees_its_recording_without_the_garbage_collector() -> None:
    # A recording holds every buffer of the step; nothing may tie it into a reference cycle
    # (a mode made while recording once linked back to its grad twin, and kept it alive).
    X, Y = problem()
    _, step = training("tanh")
    fast = mg.replay(step)
    fast(X, Y)
    fast(X, Y)
    (recorded,) = fast.recordings.values()
    alive = weakref.ref(recorded.recording)
    gc.disable()
    try:
        del fast, recorded
        assert alive() is None
    finally:
        gc.enable()


def test_the_loss_is_a_fresh_tensor_and_each_grad_the_replayed_one() -> None:
    X, Y = problem()
    model, step = training("tanh")
    fast = mg.replay(step)
    first = fast(mg.tensor(X), mg.tensor(Y))
    kept = first.item()
    second = fast(mg.tensor(X), mg.tensor(Y))
    assert first.item() == kept and second.item() != kept
    W = next(iter(model.parameters()))
    assert W.grad is not None and W.grad.shape == W.shape and np.isfinite(W.grad.data).all()


def plain_training(dtype: str = "float64") -> tuple[nn.Module, optim.SGD, Step]:
    """A 3→4→1 tanh network, plain gradient descent, and its training step."""
    model = nn.mlp([3, 4, 1], hidden="tanh", seed=0, dtype=dtype)
    sgd = optim.SGD(model.parameters(), lr=0.1)

    def step(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        J = nn.sigmoid_cross_entropy(model(X), Y)
        sgd.zero_grad()
        J.backward()
        sgd.step()
        return J

    return model, sgd, step


def test_a_new_learning_rate_is_honoured_without_recording_again() -> None:
    X, Y = problem()
    model, sgd, step = plain_training()
    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    sgd.lr = 0.0
    before = [p.data.copy() for p in model.parameters()]
    fast(mg.tensor(X), mg.tensor(Y))
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))
    assert fast.recorded == 1


def test_eval_mode_and_a_replaced_parameter_record_again() -> None:
    X, Y = problem()
    model, step = training("dropout")
    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    model.eval()
    fast(mg.tensor(X), mg.tensor(Y))
    assert fast.recorded == 2
    W = next(iter(model.parameters()))
    W.data = W.data.copy()
    fast(mg.tensor(X), mg.tensor(Y))
    assert fast.recorded == 3


def test_python_that_reads_a_value_inside_the_step_is_refused() -> None:
    X, Y = problem()
    model = nn.mlp([3, 4, 1], seed=0)

    def step(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        J = nn.sigmoid_cross_entropy(model(X), Y)
        if J.item() > 10:  # a decision a recording cannot follow
            raise AssertionError
        return J

    with pytest.raises(mg.ReplayError, match="cannot be replayed"):
        mg.replay(step)(mg.tensor(X), mg.tensor(Y))


def test_label_checks_run_again_before_every_replay() -> None:
    X, Y = problem()
    _, step = training("tanh")
    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    with pytest.raises(ValueError, match="must lie in"):
        fast(mg.tensor(X), mg.tensor(Y * 3))


def test_a_check_on_computed_labels_refuses_on_the_step_eager_refuses_and_changes_nothing() -> None:
    # Smoothed labels are computed in the step: their check must read this step's values, after
    # the kernels that compute them, and refuse before the optimiser's update changes a parameter.
    X, Y = problem()
    model, sgd, _ = plain_training()

    def smoothed(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        J = nn.sigmoid_cross_entropy(model(X), Y * 0.9 + 0.05)
        sgd.zero_grad()
        J.backward()
        sgd.step()
        return J

    fast = mg.replay(smoothed)
    fast(mg.tensor(X), mg.tensor(Y))
    fast(mg.tensor(X), mg.tensor(Y))
    bad = Y.copy()
    bad[0, 0] = 3.0
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="must lie in") as replayed:
        fast(mg.tensor(X), mg.tensor(bad))
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))
    with pytest.raises(ValueError) as eager:
        smoothed(mg.tensor(X), mg.tensor(bad))
    assert str(replayed.value) == str(eager.value)
    fast(mg.tensor(X), mg.tensor(Y))  # good labels again: accepted, by the same recording
    assert fast.recorded == 1 and fast.replayed == 2  # (the refused one is not counted)
    checked = mg.replay(smoothed, check=1)
    checked(mg.tensor(X), mg.tensor(Y))
    with pytest.raises(ValueError, match="must lie in"):
        checked(mg.tensor(X), mg.tensor(bad))
    assert checked.checks_left == 1  # a refused step is no check: the next replay is checked
    assert not all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))


def _same_gradients(replayed: Sequence[Any], eager: Sequence[Any]) -> None:
    """Arrays (or None) from a replayed and an eager step: None in the same places, equal elsewhere."""
    assert [g is None for g in replayed] == [g is None for g in eager]
    for r, e in zip(replayed, eager):
        if e is not None:
            np.testing.assert_allclose(r, e, rtol=1e-12)


# Where a step fails: labels refused before zero_grad(), after it, once backward() and the update
# have run (a validation cost after the update), and numpy's overflow under np.errstate.
FAILURES = ["labels after zero_grad", "labels before zero_grad", "labels after the update", "overflow"]


@pytest.mark.parametrize("failure", FAILURES)
def test_a_step_that_fails_leaves_gradients_and_versions_as_the_eager_step_leaves_them(failure: str) -> None:
    # A replay sets gradients and stamps updated parameters only once its kernels have all run:
    # one that failed part-way left the previous step's gradients where eager's zero_grad() had
    # set None, and then None where eager's backward() had already set the new ones; and it did
    # not stamp a parameter the update had changed, so a graph made before went through backward.
    X, Y = problem()
    bad = Y.copy()
    bad[0, 0] = 3.0
    unused = mg.tensor(np.ones((1, 2)), requires_grad=True)  # zeroed by the step, never used

    def training() -> tuple[nn.Module, Callable[..., Any]]:
        model, sgd, _ = plain_training()

        def step(X: mg.Tensor, Y: mg.Tensor, Y_after: mg.Tensor) -> Any:
            if failure != "labels before zero_grad":
                sgd.zero_grad()
            unused.zero_grad()
            J = nn.sigmoid_cross_entropy(model(X), Y)
            if failure == "labels before zero_grad":
                sgd.zero_grad()
            J.backward()
            sgd.step()
            if failure == "labels after the update":
                return J, nn.sigmoid_cross_entropy(model(X), Y_after)  # (a validation cost)
            if failure == "overflow":
                return J, (model(X) * Y_after).exp().sum()  # (overflows for Y_after = 1e4 Y)
            return J

        return model, step

    outcomes = []
    for replayed in (False, True):
        model, step = training()
        run = mg.replay(step) if replayed else step
        for _ in range(3):
            unused.grad = mg.tensor(np.ones((1, 2)))
            run(mg.tensor(X), mg.tensor(Y), mg.tensor(Y))
        assert unused.grad is None  # (a successful replay sets what zero_grad set, too)
        parameters = list(model.parameters())
        before = (parameters[0] * 2.0).sum()  # a graph made before the failing step
        unused.grad = mg.tensor(np.ones((1, 2)))
        labels = [mg.tensor(Y), mg.tensor(Y)]
        if failure.startswith("labels"):
            labels[failure == "labels after the update"] = mg.tensor(bad)
        else:
            labels[1] = mg.tensor(Y * 1e4)
        with pytest.raises((ValueError, FloatingPointError)) as raised, np.errstate(over="raise"):
            run(mg.tensor(X), *labels)
        grads = [None if p.grad is None else p.grad.data.copy() for p in parameters]
        try:
            before.backward()
            stamped = False
        except mg.GradError:
            stamped = True
        outcomes.append((type(raised.value), grads, unused.grad, stamped))
    (eager_kind, eager_grads, eager_unused, eager_stamped), (kind, grads, unused_grad, stamped) = outcomes
    assert kind is eager_kind and stamped == eager_stamped == (
        failure in ("labels after the update", "overflow")
    )
    assert unused_grad is None and eager_unused is None  # (zeroed before the loss in every step)
    _same_gradients(grads, eager_grads)


def test_a_failed_update_marks_as_changed_only_the_parameters_it_changed() -> None:
    # Adam's update declares each parameter's array as changed at each of its calls, moving
    # averages first: a replay that overflowed in W's averages, before W was written, marked W
    # as changed, so a graph made before the step refused its backward where eager's did not.
    X, Y = problem(m=16)
    outcomes = []
    for replayed in (False, True):
        model = nn.mlp([3, 5, 1], seed=1)
        adam = optim.Adam(model.parameters(), lr=0.01)

        def step(X: mg.Tensor, Y: mg.Tensor, model: nn.Module = model, adam: optim.Adam = adam) -> mg.Tensor:
            adam.zero_grad()
            J = nn.sigmoid_cross_entropy(model(X), Y)
            J.backward()
            adam.step()
            return J

        run = mg.replay(step) if replayed else step
        for _ in range(3):
            run(mg.tensor(X), mg.tensor(Y))
        before = model(mg.tensor(X)).sum()
        with pytest.raises(FloatingPointError), np.errstate(over="raise"):
            run(mg.tensor(X * 1e200), mg.tensor(Y))
        before.backward()  # nothing was changed: no refusal
        outcomes.append([p.grad.data.copy() for p in model.parameters()])  # type: ignore[union-attr]
    for eager, replayed_grad in zip(*outcomes):
        np.testing.assert_allclose(replayed_grad, eager, rtol=1e-12)


def test_a_failed_step_that_adds_up_two_backwards_hands_back_this_steps_gradients() -> None:
    # The first backward()'s gradients were kept by the recording but not from reuse: a kernel
    # wrote into their arrays, and a step refused after that first backward() handed back the
    # recording's first gradients, not this step's.
    rng = np.random.default_rng(0)
    X1, X2 = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    Y = (rng.random((1, 8)) > 0.5).astype(float)
    bad = Y.copy()
    bad[0, 0] = 2.0
    grads = []
    for replayed in (False, True):
        model = nn.mlp([3, 4, 1], seed=1)
        sgd = optim.SGD(model.parameters(), lr=0.1)

        def step(
            X1: mg.Tensor, X2: mg.Tensor, Y2: mg.Tensor, model: nn.Module = model, sgd: Any = sgd
        ) -> Any:
            sgd.zero_grad()
            (nn.sigmoid_cross_entropy(model(X1), mg.tensor(Y)) + nn.l2_penalty(model, 0.7, 8)).backward()
            J = nn.sigmoid_cross_entropy(model(X2), Y2)
            J.backward()
            sgd.step()
            return J

        run = mg.replay(step) if replayed else step
        for i in range(3):
            run(mg.tensor(X1 * (i + 1)), mg.tensor(X2), mg.tensor(Y))
        with pytest.raises(ValueError, match="must lie in"):
            run(mg.tensor(X1 * 7), mg.tensor(X2), mg.tensor(bad))
        grads.append([p.grad.data.copy() for p in model.parameters()])  # type: ignore[union-attr]
    for eager, replayed_grad in zip(*grads):
        np.testing.assert_allclose(replayed_grad, eager, rtol=1e-12)


LOOPS = ["caller clears every other call", "fine-tunes the last layer", "clears at the end", "check"]


@pytest.mark.parametrize("loop", LOOPS)
def test_gradients_the_caller_leaves_are_added_to_as_the_eager_step_adds_to_them(loop: str) -> None:
    # backward() adds to the gradient a parameter has; a replay set it instead. So a step without
    # zero_grad() whose caller lets two calls add up (gradient accumulation), the parameters no
    # optimiser clears (fine-tuning a subset), and a step that clears only at its end after the
    # caller's own backward() all trained differently replayed, silently; check=k compared a
    # replay's gradients with an eager step that added to them.
    X, Y = problem()
    outcomes = []
    for replayed in (False, True):
        model = nn.mlp([3, 4, 1], hidden="tanh", seed=0)
        parameters = list(model.parameters())
        trained = parameters[2:] if loop == "fine-tunes the last layer" else parameters
        sgd = optim.SGD(trained, lr=0.1)

        def step(X: mg.Tensor, Y: mg.Tensor, model: nn.Module = model, sgd: Any = sgd) -> mg.Tensor:
            if loop == "fine-tunes the last layer":
                sgd.zero_grad()
            J = nn.sigmoid_cross_entropy(model(X), Y)
            J.backward()
            if loop in ("fine-tunes the last layer", "clears at the end"):
                sgd.step()
            if loop == "clears at the end":
                sgd.zero_grad()
            return J

        run = mg.replay(step, check=3 if loop == "check" else 0) if replayed else step
        for i in range(6):
            if loop == "caller clears every other call" and i % 2 == 0:
                sgd.zero_grad()
            if loop == "check":
                sgd.zero_grad()
            if loop == "clears at the end":  # the caller's own gradient, which the step adds to
                (model(mg.tensor(X)) ** 2).mean().backward()
            run(mg.tensor(X * (1 + 0.1 * i)), mg.tensor(Y))
            if loop in ("caller clears every other call", "check") and i % 2 == 1:
                sgd.step()
        if replayed:
            assert run.recorded == 1 and run.replayed == 5  # type: ignore[attr-defined]
        outcomes.append([p.data.copy() for p in parameters])
        outcomes.append([None if p.grad is None else p.grad.data.copy() for p in parameters])
    eager_values, eager_grads, values, grads = outcomes
    _same_gradients(values, eager_values)
    _same_gradients(grads, eager_grads)


def test_a_gradient_the_step_gives_from_outside_is_refused_in_the_steps_words() -> None:
    # The refusal said the gradient was one the parameter "had before the step", and told the
    # user to clear gradients, for a step that had set it itself, to an array of its own.
    X, Y = problem()
    model, _, _ = plain_training()

    def step(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        for p in model.parameters():
            p.grad = np.zeros(p.shape)
        J = nn.sigmoid_cross_entropy(model(X), Y)
        J.backward()
        return J

    with pytest.raises(mg.ReplayError, match=r"adds to the \.grad that .* the step gave, which"):
        mg.replay(step)(mg.tensor(X), mg.tensor(Y))


def test_a_tensor_the_step_makes_from_numbers_is_made_once_and_its_gradient_never_added_up() -> None:
    # Adversarial training makes delta = zeros(requires_grad=True) in the step and reads its
    # gradient: made once while recording, its gradient must not be taken for one the caller left.
    X, Y = problem(m=32)
    losses = []
    for replayed in (False, True):
        model = nn.mlp([3, 5, 1], seed=1)
        sgd = optim.SGD(model.parameters(), lr=0.1)

        def step(X: mg.Tensor, Y: mg.Tensor, model: nn.Module = model, sgd: Any = sgd) -> mg.Tensor:
            delta = mg.zeros(*X.shape, requires_grad=True)
            sgd.zero_grad()
            nn.sigmoid_cross_entropy(model(X + delta), Y).backward()
            X_adversarial = X + 0.1 * delta.grad.sign()  # type: ignore[union-attr]
            sgd.zero_grad()
            J = nn.sigmoid_cross_entropy(model(X_adversarial), Y)
            J.backward()
            sgd.step()
            return J

        run = mg.replay(step) if replayed else step
        losses.append([run(mg.tensor(X), mg.tensor(Y)).item() for _ in range(10)])
        if replayed:  # (recorded twice: see the next test)
            assert run.recorded == 2 and run.replayed == 8  # type: ignore[attr-defined]
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-12)


def test_a_model_the_step_makes_at_its_first_call_adds_up_what_the_caller_leaves() -> None:
    # A parameter made from numbers in the first call (a lazy model) and a tensor made anew at
    # every call (the adversarial delta above) look alike to one recording: the model's
    # gradients were set, not added to, when the caller let two calls add up. A step that makes
    # a leaf from numbers is recorded a second time, where the lazy model is made no more.
    X, Y = problem()
    outcomes = []
    for replayed in (False, True):
        made: list[nn.Module] = []

        def step(X: mg.Tensor, Y: mg.Tensor, made: list = made) -> mg.Tensor:
            if not made:
                made.append(nn.mlp([3, 4, 1], seed=0))
            J = nn.sigmoid_cross_entropy(made[0](X), Y)
            J.backward()
            return J

        run = mg.replay(step) if replayed else step
        for i in range(6):
            if i % 2 == 0 and made:
                made[0].zero_grad()
            run(mg.tensor(X * (1 + 0.1 * i)), mg.tensor(Y))
        outcomes.append([p.grad.data.copy() for p in made[0].parameters()])  # type: ignore[union-attr]
    for eager, replayed_grad in zip(*outcomes):
        np.testing.assert_allclose(replayed_grad, eager, rtol=1e-12)


def test_a_leaf_the_step_detaches_is_made_anew_and_a_failed_walk_keeps_what_the_caller_left() -> None:
    # detach() makes its leaf without Tensor(), so it was taken for a parameter whose gradient
    # the caller leaves, and added up over calls; and a walk that failed (√0's slope under
    # np.errstate) after refilling A's gradient, which the caller lets add up, left A this
    # call's partial gradient, where eager changes no .grad.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 16))
    Y = (rng.random((1, 16)) > 0.5).astype(float)
    Xp = rng.random((3, 8)) + 0.5
    bad = Xp.copy()
    bad[0, 0] = 0.0
    outcomes = []
    for replayed in (False, True):
        W = mg.tensor(np.ones((1, 3)), requires_grad=True)
        A, B = mg.tensor(np.ones((1, 3)), requires_grad=True), mg.tensor(np.ones((1, 3)), requires_grad=True)

        def detached(X: mg.Tensor, Y: mg.Tensor, W: mg.Tensor = W) -> mg.Tensor:
            Wd = W.detach().requires_grad_()
            J = nn.sigmoid_cross_entropy(Wd @ X, Y)
            J.backward()
            with mg.no_grad():
                W -= 0.1 * Wd.grad  # type: ignore[operator]
            return J

        def accumulated(X: mg.Tensor, A: mg.Tensor = A, B: mg.Tensor = B) -> mg.Tensor:
            J = (B.T * X).sqrt().sum() + (A @ X).sum()  # no zero_grad: the caller lets calls add up
            J.backward()
            return J

        first, second = (mg.replay(detached), mg.replay(accumulated)) if replayed else (detached, accumulated)
        losses = [first(mg.tensor(X), mg.tensor(Y)).item() for _ in range(4)]
        second(mg.tensor(Xp))
        second(mg.tensor(Xp * 2))
        with np.errstate(all="raise"), pytest.raises(FloatingPointError):
            second(mg.tensor(bad))
        outcomes.append((losses, A.grad.data.copy(), B.grad.data.copy()))  # type: ignore[union-attr]
    (eager_losses, *eager_grads), (losses, *grads) = outcomes
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-12)
    for replayed_grad, eager_grad in zip(grads, eager_grads):
        np.testing.assert_allclose(replayed_grad, eager_grad, rtol=1e-12)


def test_a_constant_given_another_array_records_again_and_check_skips_leaves_made_anew() -> None:
    # A mask the caller holds, given another array (m.data = ...), was read as recorded: the
    # kernels hold the array. And check=k compared the gradient of a leaf the step makes at
    # every call with the eager step's new leaf's, and failed at every call.
    X = np.arange(24.0).reshape(3, 8) / 10
    mask = mg.tensor(np.ones((3, 8)))
    make = descent(lambda W, x: ((W @ (x * mask)) ** 2).sum(), np.array([[0.3, -0.2, 0.5]]), lr=0.001)

    def masked(i: int) -> tuple:
        mask.data = (
            (np.random.default_rng(i).random((3, 8)) > 0.5).astype(float) if i % 2 else np.ones((3, 8))
        )
        return (mg.tensor(X),)

    _replayed_equals_eager(make, masked)

    W = mg.tensor(np.array([[0.3, -0.2, 0.5]]), requires_grad=True)

    def perturbed(x: mg.Tensor) -> mg.Tensor:
        W.grad = None
        delta = mg.tensor(np.zeros((3, 8)), requires_grad=True)
        J = ((W @ (x + delta)) ** 2).sum()
        J.backward()
        return J

    checked = mg.replay(perturbed, check=2)
    for i in range(5):
        checked(mg.tensor(X * (i + 1)))
    assert checked.checks_left == 0


@pytest.mark.parametrize("change", ["replaced array", "unfreeze", "create_graph"])
def test_replay_follows_what_the_caller_changes_between_steps_in_the_gradients_and_frozen_layers(
    change: str,
) -> None:
    # A gradient array the caller replaced (p.grad.data = clipped) was handed back at the next
    # replay; a layer frozen or unfrozen with requires_grad_() went on as recorded; backward with
    # create_graph=True set a gradient the caller had left instead of adding to it.
    X, Y = problem()
    outcomes = []
    for replayed in (False, True):
        model = nn.mlp([3, 4, 1], hidden="tanh", seed=0)
        parameters = list(model.parameters())
        sgd = optim.SGD(parameters, lr=0.1)

        def step(X: mg.Tensor, Y: mg.Tensor, model: nn.Module = model) -> mg.Tensor:
            J = nn.sigmoid_cross_entropy(model(X), Y)
            J.backward(create_graph=change == "create_graph")
            return J

        run = mg.replay(step) if replayed else step
        outcome: list[Any] = []
        for i in range(4):
            if change == "unfreeze":
                parameters[0].requires_grad_(i % 2 == 1)
            if change != "create_graph" or i % 2 == 0:  # (create_graph: two calls add up)
                sgd.zero_grad()
            try:
                outcome.append(run(mg.tensor(X * (1 + 0.1 * i)), mg.tensor(Y)).item())
            except mg.ReplayError:
                outcome.append("refused")
            if change == "replaced array":
                parameters[0].grad.data = np.clip(parameters[0].grad.data, -0.01, 0.01)  # type: ignore[union-attr]
            outcome.append([None if p.grad is None else p.grad.data.copy() for p in parameters])
        outcomes.append(outcome)
    eager, replayed_outcome = outcomes
    if change == "create_graph":  # not replayed as a sum: refused when the gradients add up
        assert "refused" in replayed_outcome
        return
    for e, r in zip(eager, replayed_outcome):
        if isinstance(e, list):
            _same_gradients(r, e)
        else:
            assert r == pytest.approx(e, rel=1e-12)


def test_an_index_tensor_given_a_new_array_at_every_step_is_replayed() -> None:
    # Its integer copy followed the array the tensor held when recorded: given another array at
    # every step, the step was recorded again at every call (8 times the eager step's time).
    X = np.random.default_rng(0).standard_normal((4, 6))
    columns = mg.tensor([0.0, 2.0, 5.0])
    _, step = descent(lambda W, X: ((W @ X[:, columns]) ** 2).mean(), np.ones((1, 4)))()
    fast = mg.replay(step)
    for i in range(5):
        columns.data = np.array([i % 6, (i + 1) % 6, (i + 3) % 6], dtype=float)
        fast(mg.tensor(X))
    assert fast.recorded == 1 and fast.replayed == 4


def test_a_mask_tensor_from_outside_the_step_is_checked_before_anything_else_runs() -> None:
    # Its copy, a kernel, came before the mask-count check, so the check came after a kernel, and
    # every replay first saved the parameters and the optimiser's state, to put back on refusal.
    X, Y = problem()
    keep = mg.tensor(np.arange(3) != 1) > 0.5  # a boolean tensor: features 0 and 2
    model = nn.mlp([2, 4, 1], seed=0)
    adam = optim.Adam(model.parameters(), lr=0.01)

    def step(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        adam.zero_grad()
        J = nn.sigmoid_cross_entropy(model(X[keep]), Y)
        J.backward()
        adam.step()
        return J

    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    assert fast.listing().splitlines()[0].split()[1] == "check_mask_count:"
    keep.data[...] = np.arange(3) != 0  # in place, and still two features: followed
    fast(mg.tensor(X), mg.tensor(Y))
    assert fast.replayed == 1
    keep.data[...] = np.arange(3) == 0  # one feature: refused, by the check, before any change
    with pytest.raises(mg.ReplayError, match="selects 1 of its 3 entries"):
        fast(mg.tensor(X), mg.tensor(Y))
    assert fast.replayed == 1  # (a refused replay is not one)


def test_the_recording_keeps_no_tensor_of_the_step_alive_through_its_gradient() -> None:
    # Noting each .grad the step sets kept every such tensor: an intermediate with retain_grad()
    # (and its graph), and a tensor the step zeroes that the caller then drops.
    X = np.random.default_rng(0).standard_normal((3, 8))
    W = mg.tensor(np.ones((1, 3)), requires_grad=True)
    sgd = optim.SGD([W], lr=0.1)
    held = {"G": mg.tensor(np.zeros((100, 100)), requires_grad=True)}
    refs = {"G": weakref.ref(held["G"])}

    def step(X: mg.Tensor) -> mg.Tensor:
        sgd.zero_grad()
        if "G" in held:
            held["G"].zero_grad()
        h = (W @ X).tanh()
        h.retain_grad()
        refs["h"] = weakref.ref(h)
        J = (h**2).mean()
        J.backward()
        scrubbed = (W @ X).tanh()  # an intermediate changed in place (its change is noted too)
        with mg.no_grad():
            scrubbed *= 0.0
        refs["scrubbed"] = weakref.ref(scrubbed)
        sgd.step()
        return J

    fast = mg.replay(step)
    for _ in range(2):
        fast(mg.tensor(X))
    del held["G"]
    gc.collect()
    assert refs["h"]() is None and refs["G"]() is None and refs["scrubbed"]() is None


def test_a_check_reads_the_array_its_tensor_was_written_into() -> None:
    # a * 0.05 + 0.5 is computed into a's array, which nothing reads after: the check given
    # the sum's array must read that array at every replay, not the one the recording made.
    from microgrid.nn.losses import check_labels
    from microgrid.trace import guard

    X = np.random.default_rng(0).standard_normal((3, 8))
    W = mg.tensor(np.ones((1, 3)), requires_grad=True)
    sgd = optim.SGD([W], lr=0.0)

    def step(X: mg.Tensor) -> mg.Tensor:
        shifted = (W @ X) * 0.05 + 0.5
        guard(check_labels, "shifted", shifted.data)
        J = (shifted**2).mean()
        sgd.zero_grad()
        J.backward()
        sgd.step()
        return J

    fast = mg.replay(step)
    fast(mg.tensor(X))
    fast(mg.tensor(X))
    assert fast.listing().splitlines()[2].endswith("(into an input's array)")
    with pytest.raises(ValueError, match="shifted: labels"):
        fast(mg.tensor(X * 100))


def test_check_compares_replays_with_the_eager_step_and_names_a_difference() -> None:
    X, Y = problem()
    model = nn.mlp([3, 4, 1], seed=0)
    hidden = {"scale": np.array(1.0)}

    def honest(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        return nn.sigmoid_cross_entropy(model(X), Y)

    fast = mg.replay(honest, check=3)
    for _ in range(4):
        fast(mg.tensor(X), mg.tensor(Y))

    def sly(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        hidden["scale"] = hidden["scale"] * 2  # numpy outside microgrid's ops: not recorded
        return nn.sigmoid_cross_entropy(model(X) * mg.tensor(hidden["scale"]), Y)

    fast = mg.replay(sly, check=2)
    fast(mg.tensor(X), mg.tensor(Y))
    with pytest.raises(mg.ReplayMismatch, match="differs"):
        fast(mg.tensor(X), mg.tensor(Y))


def test_check_accepts_a_step_that_makes_a_leaf_with_a_gradient_from_what_it_computes() -> None:
    # A gradient penalty: the step makes X a leaf to take d(out)/dX. That leaf is the step's own,
    # made anew by every step, not a parameter whose array check must restore and compare.
    X = np.random.default_rng(0).standard_normal((3, 8))

    def make() -> tuple[list[mg.Tensor], Callable[..., mg.Tensor]]:
        W = mg.tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
        adam = optim.Adam([W], lr=0.01)

        def step(X: mg.Tensor) -> mg.Tensor:
            leaf = mg.tensor(X * 1.0, requires_grad=True)
            out = (W @ leaf).tanh().sum()
            (dX,) = mg.grad(out, [leaf], create_graph=True)
            J = out * 0.01 + (dX * dX).mean()
            adam.zero_grad()
            J.backward()
            adam.step()
            return J

        return [W], step

    _replayed_equals_eager(make, lambda i: (mg.tensor(X * (1 + 0.1 * i)),))
    _, step = make()
    fast = mg.replay(step, check=3)
    for i in range(4):
        fast(mg.tensor(X * (1 + 0.1 * i)))


@pytest.mark.parametrize("made", ["mg.tensor", "detach"])
def test_a_leaf_the_step_makes_and_the_caller_keeps_holds_each_steps_values_and_gradient(made: str) -> None:
    # A saliency map: the step makes its input a leaf and the caller reads, then clears, its .grad.
    # Such a leaf is no parameter (19a015e), and so its array was reused by a kernel after its
    # last read, and its .grad, accumulated over two backward() calls, was not set again.
    X = np.random.default_rng(0).standard_normal((3, 8))

    def make() -> tuple[dict[str, mg.Tensor], Callable[..., mg.Tensor]]:
        W = mg.tensor(np.random.default_rng(1).standard_normal((3, 1)), requires_grad=True)
        b = mg.tensor(np.ones((1, 1)), requires_grad=True)
        sgd = optim.SGD([W, b], lr=0.1)
        kept: dict[str, mg.Tensor] = {}

        def step(X: mg.Tensor) -> mg.Tensor:
            if made == "mg.tensor":
                leaf = mg.tensor(X * 1.0, requires_grad=True)
            else:
                leaf = (X * 1.0).detach().requires_grad_()
            kept["x"] = leaf
            sgd.zero_grad()
            (leaf * W).tanh().sum().backward()
            J = ((leaf + b) ** 2).mean()  # (the leaf's last read: an add that may write into it)
            J.backward()  # leaf.grad accumulates both
            sgd.step()
            return J

        return kept, step

    eager_kept, eager_step = make()
    kept, step = make()
    fast = mg.replay(step)
    for i in range(4):
        eager_step(mg.tensor(X * (1 + i)))
        fast(mg.tensor(X * (1 + i)))
        np.testing.assert_allclose(kept["x"].data, eager_kept["x"].data, rtol=1e-12)
        for kept_by in (eager_kept, kept):
            assert kept_by["x"].grad is not None
        np.testing.assert_allclose(kept["x"].grad.data, eager_kept["x"].grad.data, rtol=1e-12)  # type: ignore[union-attr]
        kept["x"].grad = eager_kept["x"].grad = None  # the caller clears it after reading it
    _, step = make()
    checked = mg.replay(step, check=3)
    for i in range(4):
        checked(mg.tensor(X * (1 + i)))


def inner_loop(
    make_optimizer: Callable[[mg.Tensor], optim.Optimizer],
) -> Callable[[], tuple[list[mg.Tensor], Callable[..., mg.Tensor]]]:
    """A step that first moves a perturbation of X up the loss with an optimiser it makes itself
    (adversarial training), then trains W on the perturbed X."""

    def make() -> tuple[list[mg.Tensor], Callable[..., mg.Tensor]]:
        W = mg.tensor(np.random.default_rng(1).standard_normal((1, 3)), requires_grad=True)
        outer = optim.SGD([W], lr=0.05)

        def step(X: mg.Tensor) -> mg.Tensor:
            delta = mg.tensor(X * 0.0, requires_grad=True)
            inner = make_optimizer(delta)
            for _ in range(3):
                J_inner = -((W @ (X + delta)) ** 2).mean()
                inner.zero_grad()
                J_inner.backward()
                inner.step()
            J = ((W @ (X + delta)) ** 2).mean()
            outer.zero_grad()
            J.backward()
            outer.step()
            return J

        return [W], step

    return make


def test_check_accepts_a_step_that_makes_an_optimiser() -> None:
    # The inner optimiser's count was taken for state that outlives the step: check restored the
    # recording's optimiser, which the eager step beside it never touches, and found t differ.
    make = inner_loop(lambda delta: optim.SGD([delta], lr=0.1))
    X = np.random.default_rng(0).standard_normal((3, 8))
    _replayed_equals_eager(make, lambda i: (mg.tensor(X * (1 + 0.1 * i)),))
    _, step = make()
    fast = mg.replay(step, check=3)
    for i in range(4):
        fast(mg.tensor(X * (1 + 0.1 * i)))


def test_float32_replays_in_float32() -> None:
    X, Y = problem()
    model, _, step = plain_training("float32")
    fast = mg.replay(step)
    X32, Y32 = mg.tensor(X, dtype="float32"), mg.tensor(Y, dtype="float32")
    costs = [fast(X32, Y32) for _ in range(5)]
    assert all(c.dtype == np.float32 for c in costs)
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert costs[-1].item() < costs[0].item()


def test_the_listing_shows_one_line_per_numpy_call_of_the_replay() -> None:
    X, Y = problem()
    _, step = training("tanh")
    fast = mg.replay(step)
    with pytest.raises(mg.ReplayError, match="nothing is recorded"):
        fast.listing()
    fast(mg.tensor(X), mg.tensor(Y))
    lines = fast.listing().splitlines()
    recorded = next(iter(fast.recordings.values()))
    assert len(lines) == len(recorded.kernels)
    assert lines[0].split() == ["1", "matmul:", "(5,", "3),", "(3,", "64)", "→", "(5,", "64)"]
    assert any("matmul a @ bᵀ" in line for line in lines)  # dW = dZ Aᵀ, the transpose as a flag
    updates = [line for line in lines if line.endswith("(in place)")]
    assert len(updates) > 6  # the optimiser's update of each of the 6 parameters, after the step's ops
    assert lines.index(updates[0]) > max(i for i, line in enumerate(lines) if "matmul" in line)


def test_a_replay_computes_into_arrays_aligned_to_cache_lines_and_copies_no_gradient() -> None:
    # Misaligned operands make a ufunc up to twice as slow, and a replay reuses its arrays at
    # every step: each array it computes into, and each it copies inputs into, starts a line.
    X, Y = problem()
    _, step = training("adam")
    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    recording = next(iter(fast.recordings.values())).recording
    computed = [array for array in recording.kept if id(array) in recording.private]
    inputs = [array for _, array in next(iter(fast.recordings.values())).inputs]
    assert len(computed) > 10
    misaligned = [a.shape for a in computed + inputs if a.ctypes.data % mg.trace.ALIGNMENT]
    assert not misaligned
    # A gradient in an aligned array is a view of its block, shared with no other array: it is
    # handed to .grad as it is, not copied at every replay.
    assert not [line for line in fast.listing().splitlines() if line.split()[1] == "copy:"]
    first = fast(mg.tensor(X), mg.tensor(Y)).item()
    assert np.isfinite(first)


def test_a_graph_made_before_a_replayed_step_is_refused_as_after_an_eager_one() -> None:
    X, Y = problem()
    _, _, step = plain_training()
    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    stale = step(mg.tensor(X), mg.tensor(Y))  # an eager step: its graph, then its update
    with pytest.raises(mg.GradError, match="changed in place"):
        stale.backward()
    model, _, step = plain_training()
    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    fast(mg.tensor(X), mg.tensor(Y))
    before = nn.sigmoid_cross_entropy(model(mg.tensor(X)), mg.tensor(Y))
    fast(mg.tensor(X), mg.tensor(Y))  # replayed: the optimiser's Python does not run
    with pytest.raises(mg.GradError, match="changed in place"):
        before.backward()


def test_arguments_of_any_dtype_and_memory_order_are_copied_as_they_are() -> None:
    X, Y = problem()
    _, _, step = plain_training()
    seen = []

    def tagged(X: mg.Tensor, Y: mg.Tensor, tags: np.ndarray) -> mg.Tensor:
        seen.append(tags)
        return step(X, Y)

    fast = mg.replay(tagged)
    tags = np.array(["a", None], dtype=object)  # no aligned block can hold Python objects
    fast(mg.tensor(X), mg.tensor(Y), tags)
    assert list(seen[0]) == ["a", None] and seen[0] is not tags
    assert np.isfinite(fast(mg.tensor(X), mg.tensor(Y), tags).item())
    from microgrid.trace import aligned_copy

    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    copy = aligned_copy(fortran)
    assert copy.flags.f_contiguous and copy.ctypes.data % mg.trace.ALIGNMENT == 0
    np.testing.assert_array_equal(copy, fortran)


def test_a_kernel_writes_into_an_input_it_reads_for_the_last_time() -> None:
    # Z = W @ A + b adds into the product's array, which nothing reads after: the replay touches
    # less memory (as numpy's own step does, by reusing what it freed) and computes the same
    # numbers (the hundred-step test above compares every kind of network with its eager step).
    X, Y = problem()
    _, step = training("relu")
    fast = mg.replay(step)
    fast(mg.tensor(X), mg.tensor(Y))
    recorded = next(iter(fast.recordings.values()))
    lines = fast.listing().splitlines()
    reused = [line for line in lines if line.endswith("(into an input's array)")]
    assert reused and all(line.split()[1] in {"add:", "mul:", "sub:", "div:"} for line in reused)
    assert lines[1].split()[1] == "add:" and lines[1] in reused  # the bias, added into W @ X
    # Every kernel that writes into an input names, as its result, an array it also reads.
    for kernel, line in zip(recorded.kernels, lines):
        if line in reused:
            assert any(kernel.args[-1] is a for a in kernel.args[:-1])
    # What the caller sees is never reused: the loss and each parameter's gradient.
    writes = [k.args[-1] for k, line in zip(recorded.kernels, lines) if line in reused]
    for _, grad in recorded.grads:
        assert grad is not None and not any(np.shares_memory(w, grad.data) for w in writes)


# What makes a fresh copy of a training: its parameters and its step.
Make = Callable[[], tuple[list[mg.Tensor], Callable[..., mg.Tensor]]]


def _replayed_equals_eager(make: Make, args: Callable[[int], tuple]) -> None:
    """Ten steps of `make()`'s step, eager and replayed from the same start, give the same losses,
    parameters and gradients."""
    eager_params, eager_step = make()
    params, step = make()
    fast = mg.replay(step)
    for i in range(10):
        np.testing.assert_allclose(fast(*args(i)).item(), eager_step(*args(i)).item(), rtol=1e-12)
        for p, q in zip(eager_params, params):
            np.testing.assert_allclose(q.data, p.data, rtol=1e-12)
            np.testing.assert_allclose(q.grad.data, p.grad.data, rtol=1e-12)  # type: ignore[union-attr]


def descent(loss: Callable[..., mg.Tensor], start: Any, lr: float = 0.1) -> Make:
    """A `make` for _replayed_equals_eager: a parameter W from `start`, plain SGD on it, and a step
    that takes one SGD step on loss(W, *the step's arguments) and returns that loss."""

    def make() -> tuple[list[mg.Tensor], Callable[..., mg.Tensor]]:
        W = mg.tensor(start, requires_grad=True)
        sgd = optim.SGD([W], lr=lr)

        def step(*args: Any) -> mg.Tensor:
            sgd.zero_grad()
            J = loss(W, *args)
            J.backward()
            sgd.step()
            return J

        return [W], step

    return make


# A step that picks the columns `index` of X, for index tensors and arrays given to the step.
gathering = descent(lambda W, X, index: ((W @ X[:, index]) ** 2).mean(), np.ones((1, 4)))


def test_an_index_given_to_the_step_is_the_one_each_replay_gathers() -> None:
    # mg.tensor holds whole numbers as floats: getitem casts them to integers, and the cast must
    # follow each step's index (it was a copy made once, so every replay gathered the first one).
    X = np.random.default_rng(0).standard_normal((4, 6))
    columns = [np.array([i % 6, (i + 2) % 6, (i + 5) % 6]) for i in range(10)]
    _replayed_equals_eager(gathering, lambda i: (mg.tensor(X), mg.tensor(columns[i])))
    _replayed_equals_eager(gathering, lambda i: (mg.tensor(X), columns[i]))
    masks = [np.arange(6) % 2 == i % 2 for i in range(10)]  # three columns each
    _replayed_equals_eager(gathering, lambda i: (mg.tensor(X), masks[i]))


def test_an_index_tensor_the_loop_changes_in_place_is_followed_by_each_replay() -> None:
    # Its integer copy was made once, while recording: every replay gathered the first columns,
    # and an index changed to one out of bounds went through, while the guard before it read the
    # new values.
    X = np.random.default_rng(0).standard_normal((4, 6))
    columns = mg.tensor([0.0, 2.0, 5.0])

    def changed_in_place(i: int) -> tuple:
        columns.data[...] = [i % 6, (i + 1) % 6, (i + 3) % 6]
        return (mg.tensor(X),)

    make = descent(lambda W, X: ((W @ X[:, columns]) ** 2).mean(), np.ones((1, 4)))
    _replayed_equals_eager(make, changed_in_place)

    def given_another_array(i: int) -> tuple:  # (the kernels held the array it had: recorded again)
        columns.data = np.array([(i + 2) % 6, i % 6, (i + 5) % 6], dtype=float)
        return (mg.tensor(X),)

    _replayed_equals_eager(make, given_another_array)
    _, step = make()
    fast = mg.replay(step)
    for i in range(2):
        fast(*changed_in_place(i))
    columns.data[...] = [0, 7, 1]  # out of bounds: refused, and named as the eager step names it
    with pytest.raises(
        IndexError, match=r"^getitem \[:, int64 array \(3,\)\]: \(4, 6\) → \(4, 3\)"
    ) as raised:
        fast(mg.tensor(X))
    assert str(raised.value).endswith("replayed: index 7 is out of bounds for axis 1 with size 6")


def test_an_index_too_large_for_any_array_is_refused_not_cast_to_another() -> None:
    # 1e30 is a whole number, so it passed the check, and its cast to int64 gave another index
    # (with a RuntimeWarning about the cast); inf and NaN were refused with a RuntimeWarning
    # about the remainder first, and under np.errstate a FloatingPointError instead.
    X = mg.tensor(np.random.default_rng(0).standard_normal((4, 6)))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        with pytest.raises(IndexError, match=r"holds -1e\+30, too large to be an index of any array"):
            X[:, mg.tensor([0.0, -1e30])]
        for value in (np.inf, np.nan):
            with pytest.raises(IndexError, match="holds non-integer values"):
                X[:, mg.tensor([0.0, value])]
    _, step = gathering()
    fast = mg.replay(step)
    for _ in range(2):
        fast(X, mg.tensor([0.0, 2.0]))
    with pytest.raises(IndexError) as replayed:
        fast(X, mg.tensor([0.0, -1e30]))
    with pytest.raises(IndexError) as eager:
        step(X, mg.tensor([0.0, -1e30]))
    assert str(replayed.value) == str(eager.value)


def test_a_replayed_op_that_fails_raises_what_the_eager_op_raises() -> None:
    # A ValueError from an op's forward is a ShapeError in eager (Op.apply says which op and
    # tensors); replayed, it kept numpy's (or the op's) ValueError.
    from microgrid.function import Op

    class PositiveLog(Op):
        name = "positive_log"

        def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
            if (a <= 0).any():
                raise ValueError("needs positive entries")
            return np.log(a, out=out)

        def vjp(self, g: Any, out: Any, a: Any) -> Any:
            return g / a

    make = descent(lambda W, x: PositiveLog.apply(W * x).sum(), np.ones(3))
    _, step = make()
    fast = mg.replay(step)
    for _ in range(2):
        fast(mg.tensor(np.ones(3)))
    with pytest.raises(mg.ShapeError, match=r"^positive_log: \(3,\) → \(3,\), replayed: needs positive"):
        fast(mg.tensor(-np.ones(3)))
    with pytest.raises(mg.ShapeError, match="needs positive entries"):
        step(mg.tensor(-np.ones(3)))


def test_lists_tuples_and_dicts_given_to_the_step_are_followed_by_what_they_hold() -> None:
    # A list was keyed by its identity: the same list, changed between two calls, replayed the
    # recording's indices; and the arrays inside a list or dict were frozen into the recording.
    X = np.random.default_rng(0).standard_normal((4, 6))
    index = [0, 2, 4]

    def changed_in_place(i: int) -> tuple:
        index[0] = i % 2  # the same list object, other contents
        return mg.tensor(X), index

    _replayed_equals_eager(gathering, changed_in_place)

    def loss(W: mg.Tensor, batch: dict[str, Any]) -> mg.Tensor:
        X, (Y, scale) = batch["X"], batch["labels"]
        return (((W @ X) - Y) ** 2).mean() * scale

    rng = np.random.default_rng(1)
    batches = [{"X": mg.tensor(rng.standard_normal((4, 6))), "labels": [rng.standard_normal((1, 6)), 2.0]}]
    batches += [{"X": mg.tensor(rng.standard_normal((4, 6))), "labels": [rng.standard_normal((1, 6)), 2.0]}]
    _replayed_equals_eager(descent(loss, np.ones((1, 4))), lambda i: (batches[i % 2],))


def test_argmax_and_argmin_inside_the_step_find_each_steps_indices() -> None:
    # They return index arrays, not Tensors: a replay used the recording's indices at every step
    # until finding them became a kernel of its own.
    def loss(W: mg.Tensor, X: mg.Tensor) -> mg.Tensor:
        best, worst = mg.argmax(X, axis=0, keepdims=True), mg.argmin(X)  # (1, 6) and a flat index
        return ((W @ X) * mg.tensor(best)).mean() + X.reshape(-1)[worst] * W.sum()

    X = np.random.default_rng(0).standard_normal((4, 6))
    _replayed_equals_eager(descent(loss, np.ones((1, 4))), lambda i: (mg.tensor(np.roll(X, i, axis=0)),))
    # and the index arrays a replayed step returns are its own step's
    found: list[np.ndarray] = []
    fast = mg.replay(lambda X: found.append(mg.argmin(X, axis=1)) or (X * 2.0).sum())
    for i in range(3):
        fast(mg.tensor(np.roll(X, i, axis=1)))
        np.testing.assert_array_equal(found[-1], np.argmin(np.roll(X, i, axis=1), axis=1))


def test_an_index_a_replay_cannot_follow_is_refused_as_the_eager_step_refuses_it() -> None:
    X = np.random.default_rng(0).standard_normal((4, 6))
    _, step = gathering()
    fast = mg.replay(step)
    for _ in range(2):
        fast(mg.tensor(X), mg.tensor([0.0, 2.0]))
    with pytest.raises(IndexError, match="non-integer") as replayed:
        fast(mg.tensor(X), mg.tensor([0.0, 2.5]))
    with pytest.raises(IndexError) as eager:
        step(mg.tensor(X), mg.tensor([0.0, 2.5]))
    assert str(replayed.value) == str(eager.value)
    # A boolean mask picks as many entries as it holds True: the eager step follows any number,
    # a replay only the one it recorded, since its arrays keep their shapes.
    fast(mg.tensor(X), np.arange(6) < 3)
    with pytest.raises(mg.ReplayError, match="selects 1 of its 6 entries"):
        fast(mg.tensor(X), np.arange(6) < 1)


def masked_problem() -> tuple[np.ndarray, mg.Tensor, optim.Adam, nn.Dropout]:
    """Eight examples of three features, a 1×3 W of ones under Adam, and dropout, all seeded."""
    X = np.random.default_rng(0).standard_normal((3, 8))
    mg.manual_seed(0)
    W = mg.tensor(np.ones((1, 3)), requires_grad=True)
    return X, W, optim.Adam([W], lr=0.1), nn.Dropout(keep_prob=0.5)


def test_a_mask_refused_after_the_update_or_a_random_draw_changes_nothing() -> None:
    # Only a replay refuses a mask that picks another count, and the eager step would go on: a
    # mask read after optimizer.step() or dropout's draw was refused after the replay had
    # updated W, counted Adam's step and advanced the generator.
    X, W, adam, drop = masked_problem()

    def step(X: mg.Tensor, mask: np.ndarray) -> tuple[mg.Tensor, mg.Tensor]:
        h = drop(W @ X)
        J = (h**2).mean()
        adam.zero_grad()
        J.backward()
        adam.step()
        return J, h[:, mask].mean()  # a metric over the examples the mask picks

    fast = mg.replay(step)
    for _ in range(2):
        fast(mg.tensor(X), np.arange(8) < 3)
    state = adam.state_dict()
    assert W.grad is not None
    W_before, grad_before = W.data.copy(), W.grad.data.copy()
    draws = mg.creation.generator().bit_generator.state
    with pytest.raises(mg.ReplayError, match="selects 4 of its 8 entries"):
        fast(mg.tensor(X), np.arange(8) < 4)
    assert np.array_equal(W.data, W_before) and np.array_equal(W.grad.data, grad_before)
    assert adam.t == state["t"] and all(
        np.array_equal(adam.state_dict()["parameters"][0][key], state["parameters"][0][key]) for key in "vs"
    )
    assert mg.creation.generator().bit_generator.state == draws
    fast(mg.tensor(X), np.arange(8) < 3)  # the recorded count again: replayed, and the step counted
    assert adam.t == state["t"] + 1 and fast.recorded == 1


@pytest.mark.parametrize("dropout", [False, True])
def test_a_mask_read_in_the_forward_pass_saves_only_what_changed_before_it(dropout: bool) -> None:
    # A masked loss reads its mask after the forward's kernels, which write only the recording's
    # own arrays, and after dropout's, which advance the generator: each replay saved every
    # parameter, gradient and moving average all the same (8.6 MB a replay for a 784-256-256-10
    # network with Adam), and held the copies until the next call.
    X, W, adam, drop = masked_problem()

    def step(X: mg.Tensor, mask: np.ndarray) -> mg.Tensor:
        adam.zero_grad()
        h = drop(W @ X) if dropout else W @ X
        J = (h[:, mask] ** 2).mean()  # the loss over the examples the mask picks
        J.backward()
        adam.step()
        return J

    fast = mg.replay(step)
    for _ in range(2):
        fast(mg.tensor(X), np.arange(8) < 3)
    (recorded,) = fast.recordings.values()
    if dropout:  # the generator alone, and the copy dropped once a replay has run
        assert recorded.saved is not None and recorded.saved.restores == []
        assert not any(isinstance(item, np.ndarray) for item in recorded.saved.items)
    else:
        assert recorded.saved is None and "save what a refusal puts back" not in fast.listing()
    assert W.grad is not None
    seen, state = [W.data.copy(), W.grad.data.copy()], adam.state_dict()
    draws = mg.creation.generator().bit_generator.state
    with pytest.raises(mg.ReplayError, match="selects 4 of its 8 entries"):
        fast(mg.tensor(X), np.arange(8) < 4)
    assert all(np.array_equal(a, b) for a, b in zip(seen, [W.data, W.grad.data]))
    assert adam.t == state["t"] and np.array_equal(
        adam.state_dict()["parameters"][0]["v"], state["parameters"][0]["v"]
    )
    assert mg.creation.generator().bit_generator.state == draws


def test_a_mask_refused_after_backward_leaves_the_gradients_and_kept_leaves_as_they_were() -> None:
    # Read after backward() but before any state changed, a refused mask had already refilled
    # W.grad, and a leaf the caller keeps, with the refused step's values.
    X = np.random.default_rng(0).standard_normal((3, 8))
    W = mg.tensor(np.ones((1, 3)), requires_grad=True)
    sgd = optim.SGD([W], lr=0.1)
    kept: list[mg.Tensor] = []

    def step(X: mg.Tensor, mask: np.ndarray) -> tuple[mg.Tensor, mg.Tensor]:
        x = mg.tensor(X * 1.0, requires_grad=True)  # an input made a leaf, for its gradient
        kept.append(x)
        h = W @ x
        J = (h**2).mean()
        sgd.zero_grad()
        J.backward()
        metric = h[:, mask].mean()
        sgd.step()
        return J, metric

    fast = mg.replay(step)
    for i in range(2):
        fast(mg.tensor(X * (1 + i)), np.arange(8) < 3)
    assert W.grad is not None and kept[0].grad is not None
    seen = [W.data.copy(), W.grad.data.copy(), kept[0].data.copy(), kept[0].grad.data.copy()]
    with pytest.raises(mg.ReplayError, match="selects 4 of its 8 entries"):
        fast(mg.tensor(X * 7), np.arange(8) < 4)
    now = [W.data, W.grad.data, kept[0].data, kept[0].grad.data]
    assert all(np.array_equal(a, b) for a, b in zip(seen, now))


def test_a_refused_mask_changes_nothing_the_caller_sees_where_no_state_changed_before_it() -> None:
    # Places where a mask check follows a kernel that refills what the caller sees, though no
    # state changed: a leaf the step makes from its input (kept by the caller) masked before any
    # op reads it; tensors that become leaves the caller keeps only after the mask, or that no op
    # reads; the step's own argument made a leaf, whose array a replay refilled with the new
    # input before it saved anything; a mask inside a hand-written backward, after the walk had
    # refilled V.grad; and a gradient the step sets by hand on a tensor no op reads.
    X = np.random.default_rng(0).standard_normal((3, 8))
    W, V = mg.tensor(np.ones((1, 3)), requires_grad=True), mg.tensor(np.ones((1, 1)), requires_grad=True)
    kept: list[mg.Tensor] = []

    class Picked(mg.Op):  # the sum of the entries the mask picks, (1, 1)
        def __init__(self, mask: np.ndarray) -> None:
            self.mask = mask

        def forward(self, a: np.ndarray) -> np.ndarray:
            return a[:, self.mask].sum(keepdims=True)

        def backward(self, grad: mg.Tensor, out: mg.Tensor) -> mg.Tensor:
            (a,) = self.inputs
            (a * 0.0)[:, self.mask]  # a tensor indexed with the mask: its count is checked here
            return (a * 0.0 + grad) * mg.tensor(self.mask.astype(float))

    def leaf_first(X: mg.Tensor, mask: np.ndarray) -> mg.Tensor:
        x = mg.tensor(X * 1.0, requires_grad=True)
        kept.append(x)
        J = ((W @ x[:, mask]) ** 2).mean()
        W.grad = None
        J.backward()
        return J

    def in_backward(X: mg.Tensor, mask: np.ndarray) -> mg.Tensor:
        W.grad = V.grad = None
        J = Picked.apply(W @ X, mask=mask) * V
        J.backward()
        return J

    def set_by_hand(X: mg.Tensor, mask: np.ndarray) -> tuple[mg.Tensor, mg.Tensor]:
        W.grad = None
        h = W @ X
        V.grad = h.sum(keepdims=True).detach()  # a gradient of a tensor no op of the step reads
        J = (h**2).mean()
        J.backward()
        return J, h[:, mask].mean()

    def late_leaf(X: mg.Tensor, mask: np.ndarray) -> mg.Tensor:
        x = (X * 2.0).detach()
        kept.append(x)
        J = ((W @ x[:, mask]) ** 2).mean()
        x.requires_grad_()  # (a leaf only after the mask was read)
        z = (X * 3.0).detach().requires_grad_()  # a leaf the caller keeps and no op reads
        kept.append(z)
        W.grad = None
        J.backward()
        return J

    def leaf_after_mask(X: mg.Tensor, mask: np.ndarray) -> mg.Tensor:
        h = X * 2.0
        J = ((W @ X)[:, mask] ** 2).mean()
        x = h.detach().requires_grad_()  # a leaf made after the mask was read, from what came before
        kept.append(x)
        J = J + ((W @ x) ** 2).mean()
        W.grad = None
        J.backward()
        return J

    def argument_leaf(X: mg.Tensor, mask: np.ndarray) -> tuple[mg.Tensor, mg.Tensor]:
        X.requires_grad_()  # the step's own argument made a leaf (a saliency map), kept
        kept.append(X)
        h = W @ X
        J = (h**2).mean()
        W.grad = None
        J.backward()
        return J, h[:, mask].mean()

    for step, seen_by_caller in (
        (argument_leaf, lambda: [W.grad, kept[0], kept[0].grad]),
        (late_leaf, lambda: [W.grad, kept[0], kept[1]]),
        (leaf_after_mask, lambda: [W.grad, kept[0], kept[0].grad]),
        (leaf_first, lambda: [W.grad, kept[0], kept[0].grad]),
        (in_backward, lambda: [W.grad, V.grad]),
        (set_by_hand, lambda: [W.grad, V.grad]),
    ):
        kept.clear()
        fast = mg.replay(step)
        for i in range(2):
            fast(mg.tensor(X * (1 + i)), np.arange(8) < 3)
        seen = [t.data.copy() for t in seen_by_caller()]
        with pytest.raises(mg.ReplayError, match="selects 4 of its 8 entries"):
            fast(mg.tensor(X * 7), np.arange(8) < 4)
        assert all(np.array_equal(a, t.data) for a, t in zip(seen, seen_by_caller())), step.__name__


def test_reused_arrays_never_hold_what_a_view_a_mask_index_or_a_guard_reads() -> None:
    # What a kernel reads through a view of data it did not compute, through an op's own
    # attributes (a mask index) or in a guard (a kernel too), must keep its array until then.
    from microgrid.nn.losses import check_labels
    from microgrid.trace import guard

    rng = np.random.default_rng(0)
    X, table = rng.standard_normal((3, 8)), rng.standard_normal((4, 8))
    Y, Z = np.array([[1.0, 0, 1, 0, 1, 1, 0, 0]]), np.array([[1.0, 1, 0, 0, 1, 0, 1, 0]])

    def make(kind: str) -> Callable[[], tuple[list[mg.Tensor], Callable[..., mg.Tensor]]]:
        def made() -> tuple[list[mg.Tensor], Callable[..., mg.Tensor]]:
            W = mg.tensor(np.random.default_rng(1).standard_normal((1, 3)), requires_grad=True)
            fixed = mg.tensor(table)  # a target the caller holds
            sgd = optim.SGD([W], lr=0.1)

            def step(X: mg.Tensor) -> mg.Tensor:
                h = W @ X
                if kind == "view":
                    J = ((fixed[1:2] - h) ** 2).mean()  # a slice of data, then a subtraction
                elif kind == "mask":
                    m = mg.tensor(Y) > 0.5
                    k = m == (mg.tensor(Z) > 0.5)  # the mask's last read but for h[m]'s own index
                    J = (h[m] ** 2).sum() + (h * k.astype("float64")).sum()
                elif kind == "guard":  # a guard on a computed tensor: the loss checks p is in [0, 1]
                    p = mg.clip(mg.sigmoid(h), 0.1, 0.9)
                    J = nn.binary_cross_entropy(p, mg.tensor(Y)) + (p**-1).mean() * 0.01
                else:  # a guard given half's array after its last read by an op (4 · half is not)
                    half = mg.sigmoid(h) * 0.5
                    twice = half * 4.0
                    guard(check_labels, "half", half.data)
                    J = (twice**2).mean()
                sgd.zero_grad()
                J.backward()
                sgd.step()
                return J

            return [W], step

        return made

    for kind in ("view", "mask", "guard", "guard on an array"):
        _replayed_equals_eager(make(kind), lambda i: (mg.tensor(X * (1 + 0.1 * i)),))
    assert np.array_equal(mg.tensor(table).data, table)


def test_a_kernel_whose_reads_cannot_be_listed_turns_reuse_off() -> None:
    class Callable2x:  # a custom kernel: an object, not a partial or a function
        def __init__(self, a: np.ndarray, out: np.ndarray) -> None:
            self.call = lambda: np.multiply(a, 2.0, out)

        def __call__(self) -> None:
            self.call()

    class Double(mg.Op):
        def forward(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
            return np.multiply(a, 2.0, out=out)

        def kernel(self, arrays: Sequence[np.ndarray], out: np.ndarray) -> Callable[[], Any]:
            return Callable2x(arrays[0], out)

        def vjp(self, g: Any, out: Any, a: Any) -> Any:
            return g * 2.0

    X = np.random.default_rng(0).standard_normal((3, 8))

    def make() -> tuple[list[mg.Tensor], Callable[..., mg.Tensor]]:
        W = mg.tensor(np.random.default_rng(1).standard_normal((1, 3)), requires_grad=True)
        sgd = optim.SGD([W], lr=0.1)

        def step(X: mg.Tensor) -> mg.Tensor:
            h = W @ X
            t = h * 0.5  # h's last visible read: reuse would write t into h
            J = (Double.apply(h) ** 2).mean() + t.mean()
            sgd.zero_grad()
            J.backward()
            sgd.step()
            return J

        return [W], step

    _replayed_equals_eager(make, lambda i: (mg.tensor(X * (1 + 0.1 * i)),))


def test_a_kernel_of_the_users_own_that_reads_a_computed_tensor_sees_it_every_replay() -> None:
    # trace.kernel runs code of the caller's at every replay; what it reads (here y, through the
    # Tensor in its closure) cannot be pointed elsewhere, so no array is reused in such a step.
    from microgrid import trace

    X = np.random.default_rng(0).standard_normal((3, 8))

    def make() -> tuple[list[mg.Tensor], Callable[..., mg.Tensor]]:
        W = mg.tensor(np.random.default_rng(1).standard_normal((1, 3)), requires_grad=True)
        sgd = optim.SGD([W], lr=0.1)
        total = np.zeros((1, 8))

        def step(X: mg.Tensor) -> mg.Tensor:
            y = (W @ X) * 2.0  # would be written into W @ X's array, which nothing else reads
            trace.kernel(lambda: np.add(total, y.data, out=total), changes=(total,))
            J = (y**2).mean() + mg.tensor(total).sum() * 0.0
            sgd.zero_grad()
            J.backward()
            sgd.step()
            return J

        step.total = total  # type: ignore[attr-defined]
        return [W], step

    eager_params, eager = make()
    params, step = make()
    fast = mg.replay(step)
    for i in range(6):
        fast(mg.tensor(X * (1 + 0.1 * i)))
        eager(mg.tensor(X * (1 + 0.1 * i)))
    np.testing.assert_allclose(step.total, eager.total, rtol=1e-12)  # type: ignore[attr-defined]
    np.testing.assert_allclose(params[0].data, eager_params[0].data, rtol=1e-12)


def test_state_holding_code_of_the_users_does_not_stop_a_recording() -> None:
    # A schedule (changed by every step) that holds a function of the caller's: the reuse pass
    # keeps what the step changes in place, and must not try to read into such objects.
    X, Y = problem()
    _, sgd, step = plain_training()

    class Noted(optim.ExponentialDecay):
        def __init__(self, optimizer: optim.Optimizer) -> None:
            super().__init__(optimizer, gamma=0.9)
            self.note = lambda: "the caller's"

    schedule = Noted(sgd)

    def scheduled(X: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
        J = step(X, Y)
        schedule.step()
        return J

    fast = mg.replay(scheduled, check=2)
    costs = [fast(mg.tensor(X), mg.tensor(Y)).item() for _ in range(4)]
    assert costs[-1] < costs[0] and sgd.lr == pytest.approx(0.1 * 0.9**4)


def test_a_tensor_that_requires_grad_given_to_the_step_is_refused_by_name() -> None:
    # A replay copies its arguments: a parameter passed as one would never move (its optimiser
    # holds the caller's tensor), and a gradient for an input would never reach the caller's.
    W = mg.tensor(np.ones((1, 4)), requires_grad=True, name="W")
    sgd = optim.SGD([W], lr=0.1)

    def step(W: mg.Tensor, X: mg.Tensor) -> mg.Tensor:
        J = ((W @ X) ** 2).mean()
        sgd.zero_grad()
        J.backward()
        sgd.step()
        return J

    X = mg.tensor(np.random.default_rng(0).standard_normal((4, 6)))
    fast = mg.replay(step)
    with pytest.raises(mg.ReplayError, match=r"argument 0 is W \(1, 4\), which requires grad"):
        fast(W, X)
    with pytest.raises(mg.ReplayError, match=r"the argument at \(0, 'W'\)"):
        mg.replay(lambda batch: step(batch["W"], X))({"W": W})
    np.testing.assert_array_equal(W.data, np.ones((1, 4)))  # refused before anything ran


def test_randn_without_a_seed_in_the_step_is_refused_and_with_one_replays() -> None:
    # Noise drawn at every step and a constant drawn once on the first call look the same to a
    # recording, and a replay would be silently wrong for one of them: refused, by name.
    W = mg.tensor(np.ones((1, 3)), requires_grad=True)
    X = mg.tensor(np.random.default_rng(0).standard_normal((3, 8)))

    def step(X: mg.Tensor, seed: Any) -> mg.Tensor:
        J = ((W @ (X + 0.1 * mg.randn(3, 8, seed=seed))) ** 2).mean()
        W.grad = None
        J.backward()
        return J

    for seed in (None, mg.creation.generator()):
        with pytest.raises(mg.ReplayError, match="randn without a seed"):
            mg.replay(step)(X, seed)
    fast = mg.replay(step)
    for seed in (3, np.int64(3)):  # the same numbers at every call, eager or replayed
        np.testing.assert_allclose(fast(X, seed).item(), step(X, seed).item(), rtol=1e-12)


def test_argmax_of_a_parameter_follows_its_updates() -> None:
    # A parameter changes in place at every replay, as the step's own results do.
    def loss(W: mg.Tensor, X: np.ndarray) -> mg.Tensor:
        return (W[:, mg.argmax(W, axis=1)] * X).sum()  # push the largest entry down

    _replayed_equals_eager(descent(loss, [[0.0, 1.0, 0.5]], lr=1.0), lambda i: (np.array([[1.0]]),))


def test_a_namedtuple_or_an_object_given_to_the_step_is_never_taken_for_another() -> None:
    # A namedtuple is followed by what it holds, as a tuple; another unhashable object is kept by
    # its identity, held by the signature so that a new object cannot take its id.
    import collections

    Batch = collections.namedtuple("Batch", "X Y")
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((3, 8)), rng.standard_normal((1, 8))) for _ in range(10)]

    make = descent(lambda W, b: ((W @ mg.tensor(b.X) - mg.tensor(b.Y)) ** 2).mean(), [[0.1, -0.2, 0.3]])
    _replayed_equals_eager(make, lambda i: (Batch(*batches[i]),))

    class Holder:  # unhashable, made anew for every call
        __hash__ = None  # type: ignore[assignment]

        def __init__(self, X: np.ndarray, Y: np.ndarray) -> None:
            self.X, self.Y = X, Y

    _replayed_equals_eager(make, lambda i: (Holder(*batches[i]),))


def test_detect_anomaly_inside_a_recorded_step_is_refused() -> None:
    def step(X: mg.Tensor) -> mg.Tensor:
        with mg.detect_anomaly():
            return (X * 2.0).sum()

    with pytest.raises(mg.ReplayError, match="detect_anomaly inside a step mg.replay records"):
        mg.replay(step)(mg.tensor([1.0, 2.0]))
