"""microgrid.exercises: every reference solution passes, every catalogued wrong solution fails with its
own diagnosis, the oracle's gradients agree with central differences, and a broken student function
gets a clear report, never a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import exercise_solutions as solutions
import numpy as np
import pytest

import microgrid as mg
from microgrid import exercises
from microgrid.viz import render


def test_the_exercises_are_listed_in_the_course_order():
    names = exercises.list()
    assert names[:3] == ["sigmoid", "tanh_backward", "linear_forward"]
    assert (
        names.index("linear_backward")
        < names.index("update_parameters")
        < names.index("initialize_parameters_he")
    )
    assert names[-1] == "exp_op"
    assert set(names) == set(solutions.CORRECT)


@pytest.mark.parametrize(
    ("name", "solution"),
    [(name, s) for name, found in solutions.CORRECT.items() for s in found],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_a_correct_solution_passes(name, solution):
    report = exercises.check(name, solution)
    assert report, str(report)
    assert report.diagnoses == []
    assert f"passed all {len(report.results)} cases" in str(report)


def test_every_catalogued_mistake_has_a_wrong_solution_and_every_wrong_solution_a_mistake():
    catalogue = {m.key for exercise in exercises.EXERCISES.values() for m in exercise.mistakes}
    assert catalogue == set(solutions.WRONG)


@pytest.mark.parametrize("key", sorted(solutions.WRONG))
def test_a_wrong_solution_fails_with_its_own_diagnosis(key):
    name, solution = solutions.WRONG[key]
    report = exercises.check(name, solution)
    assert not report
    assert report.diagnoses == [key], str(report)
    says = next(m.says for m in exercises.get(name).mistakes if m.key == key)
    assert f"✗ {says}" in str(report)


def test_two_mistakes_at_once_are_both_named():
    def linear_backward(dZ, cache):
        A_prev, W, _ = cache
        return np.dot(W.T, dZ), np.dot(dZ, A_prev.T), np.sum(dZ, axis=1) / A_prev.shape[1]

    report = exercises.check("linear_backward", linear_backward)
    assert report.diagnoses == ["dW-no-1/m", "db-no-keepdims"]
    text = str(report)
    assert "dW[1] is off by a factor m: the 1/m is missing" in text
    assert "db[1]  wrong shape: expected (3, 1), got (3,)" in text


def test_a_change_in_place_is_reported():
    report = exercises.check("relu_backward", solutions.IN_PLACE["relu_backward"])
    assert not report
    assert "changed dA in place" in str(report)
    assert "the function changes its argument dA" in str(report)


# --- the oracle against central differences -----------------------------------------------------------------


def central(f, x, eps=1e-6):
    """∂f/∂x by central differences, element by element."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def cases(name):
    return exercises.get(name).cases()


@pytest.mark.parametrize("case", cases("linear_backward"), ids=lambda c: c.name)
def test_linear_backward_agrees_with_central_differences(case):
    """dW, db: the gradients of J = (1/m) Σ dZ ⊙ Z; dA_prev, per example, m times that of J."""
    dZ, (A_prev, W, b) = case.args
    m = dZ.shape[1]
    J = lambda A, W, b: np.sum(dZ * (W @ A + b)) / m  # noqa: E731
    dA_prev, dW, db = solutions.linear_backward(dZ, (A_prev, W, b))
    np.testing.assert_allclose(dW, central(lambda w: J(A_prev, w, b), W), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, central(lambda c: J(A_prev, W, c), b), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dA_prev, m * central(lambda a: J(a, W, b), A_prev), rtol=1e-6, atol=1e-8)
    assert exercises.check("linear_backward", solutions.linear_backward)


ACTIVATIONS = {
    "sigmoid_backward": lambda z: 1 / (1 + np.exp(-z)),
    "relu_backward": lambda z: np.maximum(z, 0),
}


@pytest.mark.parametrize(
    ("name", "case"), [(name, case) for name in ACTIVATIONS for case in cases(name)], ids=str
)
def test_activation_backward_agrees_with_central_differences(name, case):
    dA, Z = case.args
    Z = np.where(Z == 0, 1e-3, Z)  # relu has no derivative at 0: its convention is tested by the checker
    expected = central(lambda z: np.sum(dA * ACTIVATIONS[name](z)), Z)
    np.testing.assert_allclose(getattr(solutions, name)(dA, Z), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", cases("tanh_backward"), ids=lambda c: c.name)
def test_tanh_backward_agrees_with_central_differences(case):
    dA, A = case.args
    expected = central(lambda z: np.sum(dA * np.tanh(z)), np.arctanh(A))
    np.testing.assert_allclose(solutions.tanh_backward(dA, A), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", cases("dropout_backward"), ids=lambda c: c.name)
def test_dropout_backward_agrees_with_central_differences(case):
    dA, D, keep_prob = case.args
    A = np.random.default_rng(0).standard_normal(dA.shape)
    expected = central(lambda a: np.sum(dA * a * D / keep_prob), A)
    np.testing.assert_allclose(solutions.dropout_backward(dA, D, keep_prob), expected, rtol=1e-6, atol=1e-8)


def test_the_exp_op_agrees_with_central_differences():
    x = mg.tensor(np.linspace(-2, 2, 5), requires_grad=True)
    assert mg.gradcheck(solutions.Exp.apply, [x])
    assert mg.gradgradcheck(solutions.Exp.apply, [x])


def test_gradient_check_cases_have_the_gradients_they_claim():
    """The right-gradient case's grad is dJ/dθ by central differences; the buggy one is off."""
    _, right, buggy, _ = cases("gradient_check")
    J, theta, grad = right.args
    np.testing.assert_allclose(grad, central(J, theta), rtol=1e-5, atol=1e-7)
    assert solutions.gradient_check(*right.args) < 1e-7
    assert solutions.gradient_check(*buggy.args) > 1e-2


def test_random_outputs_are_judged_in_distribution():
    """He's W passes with any seed; a W scaled √2 too small fails on the large layers."""

    def seeded(seed):
        def initialize(layers_dims):
            rng = np.random.default_rng(seed)
            return {
                key: value
                for layer in range(1, len(layers_dims))
                for key, value in (
                    (
                        f"W{layer}",
                        rng.standard_normal((layers_dims[layer], layers_dims[layer - 1]))
                        * np.sqrt(2 / layers_dims[layer - 1]),
                    ),
                    (f"b{layer}", np.zeros((layers_dims[layer], 1))),
                )
            }

        return initialize

    assert all(exercises.check("initialize_parameters_he", seeded(seed)) for seed in range(5))


def test_the_student_random_state_is_left_alone():
    np.random.seed(123)
    expected = np.random.RandomState(123).rand(3)
    exercises.check("dropout_forward", solutions.dropout_forward)
    np.testing.assert_array_equal(np.random.rand(3), expected)


# --- broken student functions: a report, never a traceback --------------------------------------------------


def test_a_function_that_raises_gets_the_error_and_its_line():
    def linear_backward(dZ, cache):
        A_prev, W, _ = cache
        dW = np.dot(dZ, A_prev) / A_prev.shape[1]
        return np.dot(W.T, dZ), dW, np.sum(dZ, axis=1, keepdims=True)

    report = exercises.check("linear_backward", linear_backward)
    text = str(report)
    assert not report
    assert "it raised ValueError: shapes (3,4) and (5,4) not aligned" in text
    assert "at `dW = np.dot(dZ, A_prev) / A_prev.shape[1]` (line" in text
    assert "gave no result" in text


def test_a_function_that_returns_none():
    def compute_cost(AL, Y):
        -np.sum(Y * np.log(AL))

    text = str(exercises.check("compute_cost", compute_cost))
    assert "the value returned (cost) is None: did the function end without `return`?" in text


class NoBackward(mg.Op):
    def forward(self, a):
        return np.exp(a)


class ListForward(solutions.Exp):
    def forward(self, a):
        return [1, 2]


class SilentBackward(solutions.Exp):
    def backward(self, grad, out):
        grad * out  # the student forgot `return`


@pytest.mark.parametrize(
    ("name", "solution", "message"),
    [
        (
            "linear_backward",
            lambda dZ, cache: dZ,
            "the value returned should be 3 values (dA_prev, dW, db); it is one ndarray",
        ),
        ("linear_backward", lambda dZ, cache: (dZ, dZ), "should be 3 values (dA_prev, dW, db); it has 2"),
        ("sigmoid", lambda z: [0.5], "the value returned (s) is a list; it should be a numpy array"),
        (
            "linear_forward",
            lambda A, W, b: (W @ A + b, [A, W]),
            "cache should be 3 values (A, W, b); it has 2",
        ),
        ("update_parameters", lambda p, g, lr: {"W1": p["W1"]}, "parameters has no b1"),
        (
            "update_parameters",
            solutions.update_in_place_without_return,
            "the function returned None: end it with `return parameters`",
        ),
        ("sigmoid", lambda z: np.asarray(z, dtype=complex), "is an array of complex128; it should hold real"),
        ("sigmoid", lambda z: np.array([z, "s"], dtype=object), "is an array of object"),
        ("exp_op", lambda x: x, "pass your Op subclass itself"),
        ("exp_op", NoBackward, "NoBackward has no backward(self, grad, out): write it in the class"),
        ("exp_op", NoBackward(), "pass the class itself, check('exp_op', NoBackward), not an instance"),
        ("exp_op", ListForward, "forward should return a float array of a's shape (1, 4), as np.exp(a) "),
        ("exp_op", SilentBackward, "backward returned None: end it with `return grad * out`"),
    ],
)
def test_a_wrong_kind_of_result_is_named(name, solution, message):
    report = exercises.check(name, solution)
    assert not report
    assert message in str(report)


def test_an_endless_loop_is_stopped_and_the_cases_after_it_are_not_run():
    def sigmoid(z):
        while True:
            try:
                z = z + 1
            except Exception:  # a student's catch-all must not swallow the stop
                z = 0

    report = exercises.check("sigmoid", sigmoid, seconds=0.2)
    assert not report
    first, *rest = report.results
    assert "it ran for more than 0.2 s and was stopped: an endless loop?" in first.error
    assert rest and all(r.error == "not run: the case before ran out of time" for r in rest)
    assert exercises.check("sigmoid", solutions.sigmoid, seconds=0.2)  # the alarm was taken down


def test_an_alarm_set_before_check_is_put_back():
    fired = []

    def handler(signum, frame):
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        assert exercises.check("sigmoid", solutions.sigmoid)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 20 < remaining <= 30 and signal.getsignal(signal.SIGALRM) is handler and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_off_the_main_thread_check_runs_without_a_time_limit():
    found = []
    worker = threading.Thread(target=lambda: found.append(exercises.check("sigmoid", solutions.sigmoid)))
    worker.start()
    worker.join()
    assert found and found[0]


def test_a_function_that_calls_exit_is_reported_and_the_session_lives_on():
    report = exercises.check("sigmoid", lambda z: sys.exit("bye"))
    assert not report and "it raised SystemExit: bye" in str(report)


def test_whole_numbers_where_fractions_belong_are_named():
    report = exercises.check("sigmoid", lambda z: np.round(solutions.sigmoid(z)).astype(int))
    assert "s holds whole numbers (int64) where fractions belong: was it rounded" in str(report)


def test_float32_arithmetic_is_not_a_mistake():
    def linear_backward(dZ, cache):
        return solutions.linear_backward(dZ.astype(np.float32), tuple(a.astype(np.float32) for a in cache))

    report = exercises.check("linear_backward", linear_backward)
    assert report, str(report)


@pytest.mark.parametrize(
    ("name", "solution", "message"),
    [
        (
            "linear_backward",
            lambda dZ, cache: (lambda dA, dW, db: (dA, db, dW))(*solutions.linear_backward(dZ, cache)),
            "the right values in the wrong order: return your 1st, 3rd, 2nd items, in the order of "
            "linear_backward(dZ, cache) -> (dA_prev, dW, db)",
        ),
        (
            "dropout_forward",
            lambda A, keep_prob: solutions.dropout_forward(A, keep_prob)[::-1],
            "the right values in the wrong order: return your 2nd, 1st items",
        ),
    ],
)
def test_the_right_values_in_the_wrong_order_are_named(name, solution, message):
    report = exercises.check(name, solution)
    assert report.diagnoses == ["returned-in-wrong-order"], str(report)
    assert message in str(report)


def test_a_tuple_that_only_reads_in_another_order_says_so():
    report = exercises.check("linear_forward", lambda A, W, b: solutions.linear_forward(A, W, b)[::-1])
    assert not report
    assert all(
        "the right values in the wrong order: return your 2nd, 1st items" in r.error for r in report.results
    )


def test_an_op_whose_backward_returns_numpy_is_reported():
    class Exp(solutions.Exp):
        def backward(self, grad, out):
            return grad.data * out.data

    text = str(exercises.check("exp_op", Exp))
    assert "it raised GradError" in text


def test_bad_arguments_to_check():
    with pytest.raises(
        KeyError, match="no exercise 'linear_backwards'; the exercises: sigmoid, tanh_backward"
    ):
        exercises.check("linear_backwards", solutions.linear_backward)
    with pytest.raises(TypeError, match="pass your function itself"):
        exercises.check("sigmoid", solutions.sigmoid(np.zeros(2)))
    with pytest.raises(ValueError, match="seconds must be a positive number of seconds or None, got -1"):
        exercises.check("sigmoid", solutions.sigmoid, seconds=-1)


# --- pointing at the node -----------------------------------------------------------------------------------


def wrong_report():
    return exercises.check("linear_backward", solutions.WRONG["dW-no-1/m"][1])


def test_where_marks_the_wrong_node_in_text():
    lines = wrong_report().where().splitlines()
    marked = [line for line in lines if "✗" in line]
    assert len(marked) == 1
    assert marked[0].startswith("W[1] (3, 5)") and marked[0].endswith("✗ dW[1]: yours differs (dW-no-1/m)")


def test_a_mistake_in_a_term_marks_that_term():
    report = exercises.check("compute_cost_with_regularization", solutions.WRONG["l2-no-half"][1])
    marked = [line for line in report.where().splitlines() if "✗" in line]
    assert len(marked) == 1 and marked[0].startswith("L2 = ")
    assert marked[0].endswith("✗ L2: your J goes wrong here (l2-no-half)")


def test_draw_outlines_the_wrong_node():
    report = wrong_report()
    diagram = report.draw()
    key = diagram.graph.key(next(t for t in diagram.graph.tensors if t.name == "W[1]"))
    assert f'{key} [color="#d55e00" penwidth=4 xlabel="✗ dW[1]: yours differs (dW-no-1/m)"]' in diagram.source
    assert diagram.source.count("#d55e00") == 1  # that node only
    if render.find_renderer() is None:
        pytest.skip("no Graphviz renderer: the DOT is checked, not the picture")
    assert "✗ dW[1]: yours differs (dW&#45;no&#45;1/m)" in diagram.svg()  # Graphviz escapes the hyphens


def test_draw_refuses_an_exercise_without_a_network():
    report = exercises.check("gradient_check", solutions.WRONG["gc-one-sided"][1])
    with pytest.raises(ValueError, match="gradient_check is not one node of a network"):
        report.draw()


def test_draw_takes_a_case_by_name_or_number():
    report = wrong_report()
    assert report.draw(case="m = 1").graph.tensors[-1].shape == (2, 1)  # Z[1]: (n[1], m = 1)
    with pytest.raises(ValueError, match="no case named 'm = 2'"):
        report.draw(case="m = 2")


def test_the_module_lists_the_exercises():
    done = subprocess.run(
        [sys.executable, "-m", "microgrid.exercises"], capture_output=True, text=True, check=True
    )
    assert "linear_backward(dZ, cache) -> (dA_prev, dW, db)" in done.stdout
    assert done.stdout.index("sigmoid(z)") < done.stdout.index("gradient_check(")


def test_a_case_shows_its_arguments():
    case = exercises.get("linear_backward").cases()[1]
    text = exercises.report.arguments(exercises.get("linear_backward"), case.args)
    assert text == "dZ (2, 1), cache (A_prev (3, 1), W (2, 3), b (2, 1))"


def test_a_random_output_is_shown_by_its_statistics():
    text = str(exercises.check("initialize_parameters_he", solutions.WRONG["he-xavier"][1]))
    assert "W[1]  expected (100, 400) drawn from N(0, 0.07071²)" in text
    std = float(text.split("got      (100, 400) with mean ")[1].split("std ")[1].split("\n")[0])
    assert abs(std - np.sqrt(1 / 400)) < 1e-3  # Xavier's spread, measured
    text = str(exercises.check("dropout_forward", solutions.WRONG["dropout-mask-inverted"][1]))
    assert "got      (50, 100) of 0s and 1s, 0.2 of them 1" in text


def test_a_difference_is_shown_as_a_number():
    text = str(exercises.check("gradient_check", solutions.WRONG["gc-one-sided"][1]))
    assert "difference  expected 0 (± 1e-06)\n                   got      0.333333" in text


def test_what_a_solution_prints_is_shown_with_its_case_not_above_the_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def sigmoid(z: np.ndarray) -> np.ndarray:
        print("shape", np.shape(z))
        return 1 / (1 + np.exp(-z))

    report = mg.exercises.check("sigmoid", sigmoid)
    assert capsys.readouterr().out == ""  # nothing escaped while checking
    text = str(report)
    assert bool(report) and "printed: shape (3, 4)" in text
    lines = text.splitlines()
    (case,) = [i for i, line in enumerate(lines) if "a (3, 4) array" in line]
    assert lines[case + 1].strip() == "printed: shape (3, 4)"
