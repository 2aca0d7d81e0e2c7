"""Optimisers and schedules: each step against its formula on numbers worked out by hand."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn, optim


def parameter(values: list[float], grad: list[float] | None = None) -> mg.Tensor:
    p = mg.tensor(values, requires_grad=True, name="p")
    if grad is not None:
        p.grad = np.array(grad)
    return p


# p = [1, −2] with gradient g = [0.5, −1] at every step; the comments show the arithmetic.


def test_sgd_is_p_minus_lr_g() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -1.9], rtol=1e-15)  # 1 − 0.1·0.5, −2 + 0.1·1


def test_sgd_momentum_accumulates_v_equals_mu_v_plus_g() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    sgd.step()  # v = g = [0.5, −1]: the first step is plain SGD, as in PyTorch
    np.testing.assert_allclose(p.data, [0.95, -1.9], rtol=1e-15)
    sgd.step()  # v = 0.9·g + g = [0.95, −1.9];  p = [0.95 − 0.095, −1.9 + 0.19]
    np.testing.assert_allclose(p.data, [0.855, -1.71], rtol=1e-14)


def test_momentum_is_the_course_moving_average() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    momentum = optim.Momentum([p], lr=0.1, beta=0.9)
    momentum.step()  # v = 0.1·g = [0.05, −0.1];  p = [0.995, −1.99]
    np.testing.assert_allclose(p.data, [0.995, -1.99], rtol=1e-14)
    momentum.step()  # v = 0.9·[0.05, −0.1] + 0.1·g = [0.095, −0.19];  p = [0.9855, −1.971]
    np.testing.assert_allclose(p.data, [0.9855, -1.971], rtol=1e-14)


def test_rmsprop_divides_by_the_root_mean_square() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    optim.RMSprop([p], lr=0.01, beta=0.9, eps=0.0).step()
    # s = 0.1·g² = [0.025, 0.1], so g/√s = [0.5/0.1581, −1/0.3162] = ±√10 for both entries.
    np.testing.assert_allclose(p.data, [1 - 0.01 * np.sqrt(10), -2 + 0.01 * np.sqrt(10)], rtol=1e-14)


def test_adam_bias_correction_makes_the_first_steps_lr_sized() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    adam = optim.Adam([p], lr=0.1, eps=0.0)
    adam.step()  # v̂ = g, ŝ = g²: each entry moves by lr·g/|g| = 0.1
    np.testing.assert_allclose(p.data, [0.9, -1.9], rtol=1e-14)
    adam.step()  # with the same g, v̂ and ŝ stay g and g²: another 0.1
    np.testing.assert_allclose(p.data, [0.8, -1.8], rtol=1e-14)


def test_adam_after_the_gradient_changes_sign() -> None:
    p = parameter([0.0], [1.0])
    adam = optim.Adam([p], lr=0.1, eps=0.0)
    adam.step()  # p = −0.1
    p.grad = np.array([-1.0])
    adam.step()
    # v = 0.9·0.1 − 0.1 = −0.01, v̂ = −0.01/0.19 = −1/19;  s = 0.999·0.001 + 0.001 = 0.001999,
    # ŝ = 0.001999/(1 − 0.998001) = 1;  p = −0.1 − 0.1·(−1/19)
    np.testing.assert_allclose(p.data, [-0.1 + 0.1 / 19], rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.Adam(ps, lr=0.1, eps=0.0),
        lambda ps: optim.Adam(ps, lr=0.1, betas=(0.5, 0.9), eps=0.0),
        lambda ps: optim.RMSprop(ps, lr=0.1),
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    ],
    ids=["adam", "adam other betas", "rmsprop", "sgd momentum"],
)
def test_a_parameter_whose_gradient_appears_late_steps_like_a_fresh_one(
    make: Callable[[list[mg.Tensor]], optim.Optimizer],
) -> None:
    busy, late = parameter([0.0], [1.0]), parameter([1.0, -2.0])
    optimiser = make([busy, late])
    for _ in range(9):  # only `busy` has a gradient for nine steps
        optimiser.step()
    late.grad = np.array([0.5, -1.0])
    optimiser.step()
    fresh = parameter([1.0, -2.0], [0.5, -1.0])
    make([fresh]).step()
    np.testing.assert_allclose(late.data, fresh.data, rtol=1e-14)
    assert optimiser.t == 10 and optimiser.state[1].t == 1


def test_adam_defaults_are_the_papers() -> None:
    adam = optim.Adam([parameter([0.0])])
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps) == (0.001, 0.9, 0.999, 1e-8)


def test_weight_decay_adds_lambda_p_to_the_gradient() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    optim.SGD([p], lr=0.1, weight_decay=0.5).step()  # g + 0.5·p = [1, −2];  p = [0.9, −1.8]
    np.testing.assert_allclose(p.data, [0.9, -1.8], rtol=1e-15)


OPTIMISERS: list[tuple[str, Callable[[list[mg.Tensor]], optim.Optimizer]]] = [
    ("sgd", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1)),
    ("momentum", lambda ps: optim.Momentum(ps, lr=0.1, weight_decay=0.1)),
    ("rmsprop", lambda ps: optim.RMSprop(ps, lr=0.1, weight_decay=0.1)),
    ("adam", lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1)),
]


@pytest.mark.parametrize("make", [make for _, make in OPTIMISERS], ids=[name for name, _ in OPTIMISERS])
def test_step_updates_data_in_place_and_never_touches_a_shared_gradient(
    make: Callable[[list[mg.Tensor]], optim.Optimizer],
) -> None:
    shared = mg.tensor([0.5, -1.0])
    first, second = parameter([1.0, -2.0]), parameter([1.0, -2.0])
    first.grad = second.grad = shared  # one gradient tensor for both
    arrays = (first.data, second.data)
    optimiser = make([first, second])
    optimiser.step()
    optimiser.step()
    np.testing.assert_array_equal(shared.data, [0.5, -1.0])
    np.testing.assert_array_equal(first.data, second.data)
    assert not np.array_equal(first.data, [1.0, -2.0])
    assert first.data is arrays[0] and second.data is arrays[1]  # updated in place
    assert first.is_leaf and first.grad is shared  # no graph recorded, the gradient left in place


def test_a_subclass_may_give_each_parameter_its_own_learning_rate_in_advance() -> None:
    # advance() sets the numbers each parameter's update reads: a layer-wise rate is one override.
    class Layerwise(optim.SGD):
        def advance(self, states: list[optim.ParameterState]) -> None:
            super().advance(states)
            for state, scale in zip(states, (1.0, 0.0)):
                state.numbers["lr"][()] = self.lr * scale

    A, B = mg.tensor([1.0], requires_grad=True), mg.tensor([1.0], requires_grad=True)
    sgd = Layerwise([A, B], lr=0.1)
    for _ in range(2):
        sgd.zero_grad()
        (A + B).sum().backward()
        sgd.step()
    assert np.allclose(A.data, [0.8]) and np.array_equal(B.data, [1.0])


def test_parameters_without_a_gradient_are_left_alone() -> None:
    with_grad, without = parameter([1.0], [1.0]), parameter([1.0])
    optim.SGD([with_grad, without], lr=0.5).step()
    assert (with_grad.data[0], without.data[0]) == (0.5, 1.0)


def test_zero_grad_clears_the_gradients() -> None:
    p = parameter([1.0], [1.0])
    sgd = optim.SGD([p])
    sgd.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: optim.SGD(nn.mlp([2, 1])), TypeError, r"params must be an iterable .*model.parameters\(\)"),
        (lambda: optim.Adam([]), ValueError, "empty list of parameters"),
        (lambda: optim.SGD([mg.tensor(1.0)]), TypeError, r"parameter 0 \(1\) must be a leaf"),
        (lambda: optim.SGD([parameter([1.0])] * 2), ValueError, r"p \(1,\) is listed twice"),
        (lambda: optim.SGD([parameter([1.0])], lr=-1), ValueError, "lr must be a finite number ≥ 0, got -1"),
        (
            lambda: optim.SGD([parameter([1.0])], lr="0.1"),
            TypeError,
            "SGD: lr must be a finite number ≥ 0, got '0.1'",
        ),
        (lambda: optim.SGD([parameter([1.0])], lr=float("inf")), ValueError, "lr must be a finite number"),
        (
            lambda: optim.SGD([parameter([1.0])], momentum=None),
            TypeError,
            r"momentum must be a number in \[0, 1\), got None",
        ),
        (lambda: optim.Adam([parameter([1.0])], betas=0.9), TypeError, r"betas must be a pair .*, got 0.9"),
        (lambda: optim.Adam([parameter([1.0])], eps=float("nan")), ValueError, "eps must be a finite number"),
        (
            lambda: optim.Momentum([parameter([1.0])], beta=1.0),
            ValueError,
            r"Momentum: momentum must be a number in \[0, 1\), got 1.0",
        ),
        (
            lambda: optim.Adam([parameter([1.0])], betas=(0.9, 1.2)),
            ValueError,
            r"Adam: betas\[1\] must be a number in \[0, 1\), got 1.2",
        ),
    ],
)
def test_bad_settings_are_refused_clearly(call: Callable[[], object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# --- learning-rate schedules ------------------------------------------------------------------------


def test_inverse_time_decay_every_call() -> None:
    sgd = optim.SGD([parameter([0.0])], lr=0.1)
    schedule = optim.InverseTimeDecay(sgd, decay_rate=1.0)
    rates = []
    for _ in range(3):
        schedule.step()
        rates.append(sgd.lr)
    np.testing.assert_allclose(rates, [0.1 / 2, 0.1 / 3, 0.1 / 4], rtol=1e-15)


def test_inverse_time_decay_at_a_fixed_interval_of_epochs() -> None:
    sgd = optim.SGD([parameter([0.0])], lr=0.1)
    schedule = optim.InverseTimeDecay(sgd, decay_rate=1.0, time_interval=2)
    rates = []
    for _epoch in range(5):
        schedule.step()
        rates.append(schedule.lr)
    # α0 / (1 + ⌊epoch / 2⌋) for epochs 1..5
    np.testing.assert_allclose(rates, [0.1, 0.05, 0.05, 0.1 / 3, 0.1 / 3], rtol=1e-15)


def test_exponential_decay() -> None:
    sgd = optim.SGD([parameter([0.0])], lr=0.2)
    schedule = optim.ExponentialDecay(sgd, gamma=0.5)
    schedule.step()
    schedule.step()
    assert sgd.lr == 0.05


def test_the_schedule_sets_the_rate_the_step_uses() -> None:
    p = parameter([1.0], [1.0])
    sgd = optim.SGD([p], lr=0.5)
    optim.InverseTimeDecay(sgd, decay_rate=1.0).step()  # lr = 0.25
    sgd.step()
    assert p.data[0] == 0.75


# --- resuming: state_dict / load_state_dict ---------------------------------------------------

OPTIMISERS: list[Callable[[list[mg.Tensor]], optim.Optimizer]] = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Momentum(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01),
    lambda ps: optim.Adam(ps, lr=0.01),
]


def _train(model: nn.Module, optimizer: optim.Optimizer, steps: int) -> None:
    X = mg.tensor(np.linspace(-1, 1, 12).reshape(2, 6))
    Y = mg.tensor([[0.0, 1.0, 0.0, 1.0, 1.0, 0.0]])
    for _ in range(steps):
        optimizer.zero_grad()
        nn.sigmoid_cross_entropy(model(X), Y).backward()
        optimizer.step()


@pytest.mark.parametrize("make_optimizer", OPTIMISERS)
def test_a_resumed_run_takes_exactly_the_steps_of_an_uninterrupted_one(
    make_optimizer: Callable[[list[mg.Tensor]], optim.Optimizer],
) -> None:
    model = nn.mlp([2, 3, 1], seed=0)
    optimizer = make_optimizer(list(model.parameters()))
    _train(model, optimizer, 3)
    saved_model, saved_optimizer = model.state_dict(), optimizer.state_dict()
    _train(model, optimizer, 3)

    resumed = nn.mlp([2, 3, 1], seed=1)  # other weights, fresh averages: all must be replaced
    resumed.load_state_dict(saved_model)
    resumed_optimizer = make_optimizer(list(resumed.parameters()))
    resumed_optimizer.load_state_dict(saved_optimizer)
    _train(resumed, resumed_optimizer, 3)
    for (name, expected), actual in zip(model.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    assert resumed_optimizer.t == optimizer.t == 6


def test_optimizer_state_is_copied_both_ways() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    adam = optim.Adam([p], lr=0.1)
    adam.step()
    state = adam.state_dict()
    assert state["optimizer"] == "Adam" and state["t"] == 1 and state["parameters"][0]["t"] == 1
    state["parameters"][0]["v"][:] = 99.0  # changing the snapshot leaves the optimiser alone
    assert adam.state[0].averages["v"][0] == pytest.approx(0.05)
    adam.load_state_dict(adam.state_dict())
    loaded = adam.state_dict()
    adam.step()  # stepping after a load leaves the loaded dict alone
    assert loaded["parameters"][0]["t"] == 1 and loaded["parameters"][0]["v"][0] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(optimizer="SGD"), r"the state is from 'SGD', not Adam"),
        (lambda s: s["parameters"].append({"t": 1}), r"the state holds 2 parameters, the optimiser 1"),
        (
            lambda s: s["parameters"][0].update(v=np.zeros(3)),
            r"parameter 0 \(p \(2,\)\): 'v' is a float64 array \(3,\)",
        ),
        (lambda s: s.update(lr=-1.0), r"lr must be a finite number ≥ 0, got -1.0"),
        (lambda s: s.update(t=1.5), r"t must be an int ≥ 0, got 1.5"),
        (
            lambda s: s["parameters"][0].update(t=-1),
            r"parameter 0 \(p \(2,\)\): t must be an int ≥ 0, got -1",
        ),
        (
            lambda s: s["parameters"].__setitem__(0, [1]),
            r"parameter 0 \(p \(2,\)\): needs a dict of t and averages, got list",
        ),
        (lambda s: s["parameters"][0].update(s=np.array(["a", "b"])), r"'s' is a <U1 array \(2,\)"),
        (lambda s: s.update(parameters=None), r"parameters must be a list, one entry per parameter"),
        (lambda s: s.update(lr=float("nan")), r"lr must be a finite number ≥ 0, got nan"),
        (lambda s: s.update(t=-1), r"t must be an int ≥ 0, got -1"),
        (lambda s: s.update(t=2**53 + 1), r"t must be an int ≤ 2\*\*53 \(MAX_COUNT\), got 9007199254740993"),
        (
            lambda s: s["parameters"][0].update(t=10**400),
            r"parameter 0 \(p \(2,\)\): t must be an int ≤ 2\*\*53",
        ),
        (
            lambda s: s["parameters"][0]["v"].__setitem__(0, np.nan),
            r"parameter 0 \(p \(2,\)\): 'v' holds NaN",
        ),
        (lambda s: s["parameters"][0]["s"].__setitem__(1, np.inf), r"'s' holds NaN or infinite values"),
        (
            lambda s: s["parameters"][0]["s"].__setitem__(0, -0.5),
            r"'s', an average of g², holds negative values \(min -0.5\)",
        ),
        (lambda s: s.pop("lr"), r"missing keys: lr"),
        (lambda s: s.update(momentum=0.9), r"unknown keys: momentum"),
        (lambda s: s["parameters"][0].pop("s"), r"parameter 0 \(p \(2,\)\): missing keys: s"),
        (lambda s: s["parameters"][0].update(m=np.zeros(2)), r"parameter 0 \(p \(2,\)\): unknown keys: m"),
    ],
)
def test_a_state_that_does_not_fit_is_refused_and_nothing_changes(
    change: Callable[[dict], None], message: str
) -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    adam = optim.Adam([p], lr=0.1)
    adam.step()
    before = adam.state_dict()
    bad = adam.state_dict()
    change(bad)
    with pytest.raises(mg.LoadError, match=r"^Adam\.load_state_dict: .*" + message + r".*nothing was loaded"):
        adam.load_state_dict(bad)
    after = adam.state_dict()
    assert (after["t"], after["lr"]) == (before["t"], before["lr"])
    np.testing.assert_array_equal(after["parameters"][0]["v"], before["parameters"][0]["v"])


def test_every_problem_of_a_state_is_named_at_once() -> None:
    adam = optim.Adam([parameter([1.0, -2.0], [0.5, -1.0])], lr=0.1)
    adam.step()
    bad = adam.state_dict()
    del bad["t"]
    bad["lr"] = float("nan")
    bad["extra"] = 1
    bad["parameters"][0]["s"][0] = -1.0
    with pytest.raises(mg.LoadError) as caught:
        adam.load_state_dict(bad)
    assert str(caught.value) == (
        "Adam.load_state_dict: missing keys: t; unknown keys: extra; lr must be a finite number ≥ 0, "
        "got nan; parameter 0 (p (2,)): 's', an average of g², holds negative values (min -1.0); "
        "nothing was loaded"
    )


def test_a_negative_first_moment_is_a_true_state() -> None:
    p = parameter([1.0, -2.0], [0.5, -1.0])
    adam = optim.Adam([p], lr=0.1)
    adam.step()  # v = 0.1·g = [0.05, −0.1]
    state = adam.state_dict()
    assert state["parameters"][0]["v"][1] < 0
    adam.load_state_dict(state)


@pytest.mark.parametrize("make", OPTIMISERS)
def test_the_averages_an_optimiser_declares_are_those_it_keeps(
    make: Callable[[list[mg.Tensor]], optim.Optimizer],
) -> None:
    stepped, idle = parameter([1.0, -2.0], [0.5, -1.0]), parameter([3.0])
    optimiser = make([stepped, idle])
    optimiser.step()
    assert tuple(optimiser.state[0].averages) == optimiser.averages
    assert optimiser.state[1].averages == {}  # no step yet, so no averages: loads as it is
    make([parameter([1.0, -2.0]), parameter([3.0])]).load_state_dict(optimiser.state_dict())


def test_an_optimiser_without_averages_refuses_a_state_with_them() -> None:
    momentum = optim.SGD([parameter([1.0], [1.0])], lr=0.1, momentum=0.9)
    momentum.step()
    plain = optim.SGD([parameter([1.0])], lr=0.1)
    assert plain.averages == ()
    with pytest.raises(mg.LoadError, match=r"parameter 0 \(p \(1,\)\): unknown keys: v"):
        plain.load_state_dict(momentum.state_dict())


def test_loading_something_that_is_not_a_state_dict_says_so() -> None:
    adam = optim.Adam([parameter([1.0])])
    with pytest.raises(
        TypeError, match=r"Adam\.load_state_dict: expected the dict state_dict\(\) returns, got list"
    ):
        adam.load_state_dict([1, 2])  # type: ignore[arg-type]


def test_a_resumed_schedule_continues_its_decay() -> None:
    p = parameter([1.0])
    optimizer = optim.SGD([p], lr=1.0)
    schedule = optim.InverseTimeDecay(optimizer, decay_rate=1.0)
    for _ in range(3):
        schedule.step()
    state, optimizer_state = schedule.state_dict(), optimizer.state_dict()
    fresh = optim.SGD([parameter([1.0])], lr=5.0)
    resumed = optim.InverseTimeDecay(fresh, decay_rate=1.0)
    resumed.load_state_dict(state)
    fresh.load_state_dict(optimizer_state)
    assert fresh.lr == pytest.approx(1 / 4)  # α0 / (1 + 3), restored with the optimiser
    resumed.step()
    assert fresh.lr == pytest.approx(1 / 5)  # the count goes on from 3, and α0 is still 1
    with pytest.raises(
        mg.LoadError, match=r"ExponentialDecay\.load_state_dict: the state is from 'InverseTimeDecay'"
    ):
        optim.ExponentialDecay(fresh).load_state_dict(state)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"count": True}, "count must be an int ≥ 0, got True"),
        ({"count": -1}, "count must be an int ≥ 0, got -1"),
        ({"initial_lr": "1"}, "initial_lr must be a finite number ≥ 0, got '1'"),
        ({"initial_lr": float("nan")}, "initial_lr must be a finite number ≥ 0, got nan"),
        ({"count": 2**53 + 1}, r"count must be an int ≤ 2\*\*53 \(MAX_COUNT\), got 9007199254740993"),
        ({"gamma": 0.5}, "unknown keys: gamma"),
    ],
)
def test_a_schedule_state_with_a_bad_count_or_rate_is_refused(change: dict, message: str) -> None:
    schedule = optim.InverseTimeDecay(optim.SGD([parameter([1.0])], lr=1.0))
    schedule.step()
    with pytest.raises(
        mg.LoadError, match=rf"^InverseTimeDecay\.load_state_dict: {message}; nothing was loaded"
    ):
        schedule.load_state_dict({**schedule.state_dict(), **change})
    assert (schedule.count, schedule.initial_lr) == (1, 1.0)


def test_a_schedule_state_names_its_missing_keys() -> None:
    schedule = optim.ExponentialDecay(optim.SGD([parameter([1.0])], lr=1.0))
    with pytest.raises(
        mg.LoadError,
        match=r"^ExponentialDecay\.load_state_dict: missing keys: count, initial_lr; nothing was loaded",
    ):
        schedule.load_state_dict({"scheduler": "ExponentialDecay"})


@pytest.mark.parametrize(
    "make",
    [
        lambda sgd: optim.InverseTimeDecay(sgd, decay_rate=1.0),
        lambda sgd: optim.InverseTimeDecay(sgd, decay_rate=1e300, time_interval=3),
        lambda sgd: optim.ExponentialDecay(sgd, gamma=0.5),
        lambda sgd: optim.ExponentialDecay(sgd, gamma=1.0),
    ],
    ids=["inverse time", "inverse time, huge rate", "exponential", "exponential, no decay"],
)
def test_a_schedule_gives_a_rate_for_any_count(make: Callable[[optim.Optimizer], optim.LRScheduler]) -> None:
    schedule = make(optim.SGD([parameter([1.0])], lr=1.0))
    rates = [schedule.lr_at(count) for count in (0, 10**6, optim.MAX_COUNT, 10**400)]
    assert all(0.0 <= rate <= 1.0 for rate in rates), rates
    assert rates == sorted(rates, reverse=True)
    assert rates[-1] == rates[-2]  # past MAX_COUNT, the rate at MAX_COUNT
    schedule.load_state_dict({**schedule.state_dict(), "count": optim.MAX_COUNT})
    schedule.step()
    assert schedule.lr == rates[-1]
    with pytest.raises(ValueError, match=r"count must be an int ≥ 0, got -1"):
        schedule.lr_at(-1)


def test_time_interval_is_a_count_of_calls() -> None:
    sgd = optim.SGD([parameter([1.0])])
    assert optim.InverseTimeDecay(sgd, time_interval=np.int64(3)).time_interval == 3
    for bad in (0, 2.0, True):
        with pytest.raises(
            ValueError, match=rf"InverseTimeDecay: time_interval must be an int ≥ 1, got {bad}"
        ):
            optim.InverseTimeDecay(sgd, time_interval=bad)
