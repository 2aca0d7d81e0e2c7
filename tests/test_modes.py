"""no_grad, scopes and anomaly detection."""

from __future__ import annotations

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
