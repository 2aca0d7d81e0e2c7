"""no_grad, scopes and anomaly detection, each per thread and per asyncio task."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

import microgrid as mg


def test_no_grad_as_context_manager_records_nothing() -> None:
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        y = x * 2
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            z = x * 2
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.op is None
    assert z.requires_grad and z.op is not None


def test_no_grad_as_decorator() -> None:
    @mg.no_grad()
    def update(w: mg.Tensor) -> mg.Tensor:
        return w * 0.5

    w = mg.ones(2, requires_grad=True)
    assert not update(w).requires_grad
    assert mg.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(RuntimeError), mg.no_grad():
        raise RuntimeError
    assert mg.is_grad_enabled()


def test_scopes_nest_and_label_tensors() -> None:
    with mg.scope("layer 1"):
        W = mg.randn(2, 2, requires_grad=True, name="W[1]")
        with mg.scope("activation"):
            A = mg.tanh(W)
    outside = A * 2
    assert W.scope == ("layer 1",)
    assert A.scope == ("layer 1", "activation")
    assert outside.scope == ()
    with pytest.raises(ValueError, match="non-empty string"), mg.scope(""):
        pass


def test_a_scope_named_anew_at_every_step_keeps_a_bounded_number_of_modes() -> None:
    # Each mode keeps the modes of the scopes entered from it (a layer enters the same one at
    # every step), but never more than a bound: f"step {i}" must not grow memory forever.
    from microgrid import modes

    for i in range(3 * modes._MAX_SCOPED):
        with mg.scope(f"step {i}"):
            t = mg.tensor([1.0], requires_grad=True) * 2
        assert t.scope == (f"step {i}",)
    kept = modes.current()._scoped
    assert kept is not None and 0 < len(kept) <= modes._MAX_SCOPED
    with mg.scope("layer 1"), mg.no_grad():  # a kept scope's mode, and its grad twin
        assert modes.current().scope == ("layer 1",) and not modes.current().grad_enabled


def test_detect_anomaly_names_the_forward_op_that_made_nan() -> None:
    x = mg.tensor([1.0, -1.0], requires_grad=True, name="Z[1]")
    with (
        np.errstate(all="ignore"),
        pytest.raises(mg.AnomalyError, match=r"log forward produced nan.*Z\[1\] \(2,\)"),
        mg.detect_anomaly(),
    ):
        mg.log(x)
    with np.errstate(all="ignore"):
        assert np.isnan(mg.log(x).data[1])  # without detect_anomaly, numpy's nan passes through


def test_detect_anomaly_names_the_backward_that_made_inf() -> None:
    x = mg.tensor([0.0, 4.0], requires_grad=True, name="x")
    y = mg.sqrt(x)  # finite forward, infinite derivative 1/(2√x) at 0
    with pytest.raises(mg.AnomalyError, match=r"produced inf.*backward of pow"), mg.detect_anomaly():
        y.sum().backward()


# --- per thread and per task -----------------------------------------------------------------------


def test_no_grad_in_one_thread_leaves_recording_on_in_another() -> None:
    inside, done = threading.Event(), threading.Event()

    def evaluate() -> None:
        with mg.no_grad():
            inside.set()
            done.wait(5)

    evaluator = threading.Thread(target=evaluate)
    evaluator.start()
    assert inside.wait(5)
    x = mg.tensor(2.0, requires_grad=True)
    recorded = [(x * x).requires_grad for _ in range(100)]  # while the other thread is in no_grad
    done.set()
    evaluator.join()
    assert all(recorded) and mg.is_grad_enabled()


def test_overlapping_no_grad_blocks_in_two_threads_restore_each_their_own_mode() -> None:
    # Thread A enters, thread B enters, A leaves, B leaves: with one global switch, B would
    # restore A's "off" and leave the whole process without gradients.
    steps = [threading.Event() for _ in range(3)]
    seen: dict[str, bool] = {}

    def a() -> None:
        with mg.no_grad():
            steps[0].set()
            steps[1].wait(5)
        seen["a after"] = mg.is_grad_enabled()
        steps[2].set()

    def b() -> None:
        steps[0].wait(5)
        with mg.no_grad():
            steps[1].set()
            steps[2].wait(5)
            seen["b inside"] = mg.is_grad_enabled()
        seen["b after"] = mg.is_grad_enabled()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a after": True, "b inside": False, "b after": True}
    assert mg.is_grad_enabled()


def test_a_no_grad_decorator_shared_by_threads_keeps_each_calls_mode() -> None:
    @mg.no_grad()
    def slow_eval(started: threading.Event, release: threading.Event) -> bool:
        started.set()
        release.wait(5)
        return mg.is_grad_enabled()

    started, release = threading.Event(), threading.Event()
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(slow_eval(started, release)))
    thread.start()
    assert started.wait(5)
    assert mg.is_grad_enabled()  # this thread is not inside the decorated call
    assert slow_eval(threading.Event(), _set_event()) is False
    release.set()
    thread.join()
    assert results == [False] and mg.is_grad_enabled()


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def test_asyncio_tasks_each_have_their_own_mode_and_scope() -> None:
    async def training() -> tuple[bool, tuple[str, ...]]:
        with mg.scope("train"):
            await asyncio.sleep(0.01)  # the evaluating task runs meanwhile, in no_grad
            x = mg.tensor(1.0, requires_grad=True)
            y = x * 2
            return y.requires_grad, y.scope

    async def evaluating() -> bool:
        with mg.no_grad():
            await asyncio.sleep(0.02)
            return (mg.tensor(1.0, requires_grad=True) * 2).requires_grad

    async def both() -> list[Any]:
        return list(await asyncio.gather(training(), evaluating()))

    (recorded, scope), evaluated = asyncio.run(both())
    assert recorded and scope == ("train",) and not evaluated
