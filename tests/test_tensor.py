"""Tensor: construction, conversion, attributes, helpers and the errors for bad input."""

from __future__ import annotations

import inspect
import pickle
import typing
import warnings

import numpy as np
import pytest

import microgrid as mg


@pytest.mark.parametrize(
    "data,shape",
    [
        (3, ()),
        (2.5, ()),
        (True, ()),
        ([1, 2, 3], (3,)),
        ([[1.0], [2.0]], (2, 1)),
        (np.arange(6).reshape(2, 3), (2, 3)),
    ],
)
def test_numbers_lists_arrays_ints_and_bools_become_float64(data: object, shape: tuple) -> None:
    t = mg.Tensor(data)
    assert t.dtype == np.float64 and t.shape == shape
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=float))


def test_float32_is_kept_or_asked_for() -> None:
    assert mg.Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert mg.Tensor([1, 2], dtype="float32").dtype == np.float32
    assert mg.Tensor([1, 2], dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("dtype", ["int32", np.int64, "float16", "complex128", "banana"])
def test_other_dtypes_are_refused(dtype: object) -> None:
    with pytest.raises(TypeError, match="float32 or float64"):
        mg.Tensor([1.0], dtype=dtype)


@pytest.mark.parametrize(
    "data,message",
    [
        ("abc", "numeric.*str"),
        (None, "numeric"),
        ({"a": 1}, "number.*dict"),
        ([["a", "b"]], "numeric"),
        (np.array([1 + 2j]), "complex"),
        (np.array([object()], dtype=object), "numeric"),
        ([[1, 2], [3]], "cannot make an array"),
    ],
)
def test_non_numeric_data_is_refused_clearly(data: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        mg.Tensor(data)


def test_requires_grad_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="requires_grad"):
        mg.Tensor(1.0, requires_grad="yes")


def test_new_tensor_copies_the_callers_array() -> None:
    array = np.zeros(3)
    t = mg.tensor(array)
    array[0] = 5.0
    assert t.data[0] == 0.0


def test_attributes() -> None:
    t = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, name="W[1]")
    assert (t.shape, t.ndim, t.size, t.dtype) == ((2, 3), 2, 6, np.float64)
    assert t.name == "W[1]" and t.requires_grad and t.is_leaf and t.grad is None
    assert t.T.shape == (3, 2)
    assert t.numpy() is t.data
    assert len(t) == 2 and [row.shape for row in t] == [(3,), (3,)]
    assert mg.tensor([[7.0]]).item() == 7.0
    d = t.detach()
    assert not d.requires_grad and d.data is t.data and d.is_leaf


def test_data_can_be_updated_in_place_like_an_optimiser_does() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.1 * w.grad.data
    np.testing.assert_allclose(w.data, [0.8, 1.6])


def test_grad_is_assignable_and_checked() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    w.grad = np.array([0.5, 0.5])
    assert isinstance(w.grad, mg.Tensor)
    w.grad = None
    assert w.grad is None
    with pytest.raises(ValueError, match=r"w has shape \(2,\).*\(3,\)"):
        w.grad = np.ones(3)


def test_item_of_a_larger_tensor_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"item\(\) of A \(2, 2\) is ambiguous: it has 4 elements"):
        mg.ones(2, 2, name="A").item()


def test_repr_is_readable() -> None:
    small = mg.tensor([1.0, 2.0], requires_grad=True, name="b[1]")
    assert repr(small) == "Tensor([1., 2.], name='b[1]', requires_grad=True)"
    big = mg.zeros(4, 400, name="A[1]").tanh()
    text = repr(big)
    assert "shape=(4, 400)" in text and "..." in text and len(text) < 300
    assert "op=tanh" in repr(mg.tanh(small))
    assert "dtype=float32" in repr(mg.tensor([1.0], dtype="float32"))


def test_creation_helpers() -> None:
    assert mg.zeros(2, 3).shape == (2, 3) and mg.zeros((2, 3)).data.sum() == 0
    assert mg.ones(4).data.sum() == 4
    np.testing.assert_array_equal(mg.randn(3, 2, seed=7).data, mg.randn(3, 2, seed=7).data)
    assert not np.array_equal(mg.randn(3, 2, seed=7).data, mg.randn(3, 2, seed=8).data)
    mg.manual_seed(4)
    first = mg.randn(5).data
    mg.manual_seed(4)
    np.testing.assert_array_equal(first, mg.randn(5).data)
    assert mg.randn(2, dtype="float32", requires_grad=True).dtype == np.float32
    with pytest.raises(ValueError, match=r"zeros: shape\[0\] must be an int ≥ 0, got -1"):
        mg.zeros(-1, 2)
    with pytest.raises(ValueError, match=r"randn: shape\[1\] must be an int ≥ 0, got True"):
        mg.randn((2, True))
    with pytest.raises(ValueError, match="manual_seed: seed must be an int ≥ 0, got -1"):
        mg.manual_seed(-1)


def test_truth_value_of_a_multi_element_tensor_is_ambiguous() -> None:
    assert bool(mg.tensor(1.0) > 0)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mg.ones(3) > 0)


def test_numpy_functions_refuse_tensors_instead_of_silently_detaching() -> None:
    with pytest.raises(TypeError):
        np.exp(mg.ones(2))
    assert np.asarray(mg.ones(2)).tolist() == [1.0, 1.0]  # plotting libraries can still read a tensor


def test_shape_errors_name_the_op_the_nodes_and_the_shapes() -> None:
    W = mg.randn(1, 4, name="W[2]")
    A = mg.randn(3, 400, name="A[1]")
    with pytest.raises(mg.ShapeError) as error:
        W @ A
    assert str(error.value) == "matmul: W[2] (1, 4) @ A[1] (3, 400): inner sizes 4 and 3 differ"
    with pytest.raises(
        mg.ShapeError, match=r"add: Z\[1\] \(4, 400\) \+ b\[1\] \(3, 1\): shapes .* cannot be broadcast"
    ):
        mg.randn(4, 400, name="Z[1]") + mg.randn(3, 1, name="b[1]")
    with pytest.raises(mg.ShapeError, match=r"reshape \(7,\): x \(2, 3\)"):
        mg.ones(2, 3, name="x").reshape(7)
    with pytest.raises(mg.ShapeError, match=r"sum axis=2: x \(2, 3\)"):
        mg.ones(2, 3, name="x").sum(axis=2)
    with pytest.raises(IndexError, match=r"getitem .*x \(2, 3\)"):
        mg.ones(2, 3, name="x")[5]
    with pytest.raises(mg.ShapeError, match=r"maximum: a \(2,\), b \(3,\): shapes"):
        mg.maximum(mg.ones(2, name="a"), mg.ones(3, name="b"))


def test_numpy_array_of_a_tensor_is_a_copy() -> None:
    t = mg.tensor([1.0, 2.0])
    saved = np.array(t)
    saved[0] = 5.0
    assert t.data[0] == 1.0


def test_bad_shapes_and_axes_are_clear_errors() -> None:
    with pytest.raises(TypeError, match="a shape is integers"):
        mg.zeros(2.5)
    with pytest.raises(TypeError, match=r"axis must be an int.*1\.5"):
        mg.ones(2, 3).sum(axis=1.5)
    with pytest.raises(mg.ShapeError, match="use swapaxes"):
        mg.ones(2, 3, 4).transpose(0, 1)


def test_names_survive_in_the_errors_of_composite_ops() -> None:
    Z, b = mg.randn(4, 400, name="Z[1]"), mg.randn(3, 1, name="b[1]")
    with pytest.raises(mg.ShapeError, match=r"^sub: Z\[1\] \(4, 400\) - b\[1\] \(3, 1\)"):
        Z - b
    with pytest.raises(mg.ShapeError, match=r"^div: Z\[1\] \(4, 400\) / b\[1\] \(3, 1\)"):
        Z / b
    with pytest.raises(mg.ShapeError, match=r"^where: condition \(5,\), x \(3,\)"):
        mg.where(np.ones(5), mg.ones(3, name="x"), 0.0)


def test_an_index_error_stays_an_index_error_and_keeps_its_cause() -> None:
    x = mg.ones(2, 3, name="x")
    with pytest.raises(IndexError, match=r"getitem \[5\]: x \(2, 3\)") as error:
        x[5]
    assert isinstance(error.value.__cause__, IndexError)  # numpy's own error, with its traceback


def test_grad_of_another_dtype_is_refused() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    with pytest.raises(TypeError, match="w is float64, the gradient given is float32"):
        w.grad = mg.tensor([1.0, 1.0], dtype="float32")


# --- in place, the way learners write updates -------------------------------------------------------


def test_in_place_update_under_no_grad_keeps_the_parameter_registered() -> None:
    model = mg.nn.Dense(2, 3, layer=1, seed=0)
    W, b = model.W, model.b
    before = W.data.copy()
    x = mg.tensor(np.ones((2, 4)))
    model(x).sum().backward()
    with mg.no_grad():
        W -= 0.1 * W.grad
        b -= 0.1 * b.grad
    assert model.W is W and W.requires_grad and W.is_leaf
    assert [name for name, _ in model.named_parameters()] == ["W", "b"]
    np.testing.assert_allclose(W.data, before - 0.1 * W.grad.data)
    assert W.version > 0 and mg.tensor(1.0).version == 0


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/="])
def test_every_in_place_operator_changes_the_same_tensor(symbol: str) -> None:
    x = mg.tensor([2.0, 4.0], requires_grad=True, name="x")
    same = x
    with mg.no_grad():
        exec(f"x {symbol} 2.0", {}, {"x": x})  # the statement itself, as a learner types it
    expected = {"+=": [4.0, 6.0], "-=": [0.0, 2.0], "*=": [4.0, 8.0], "/=": [1.0, 2.0]}[symbol]
    np.testing.assert_array_equal(same.data, expected)


def test_in_place_on_a_parameter_while_recording_is_refused_clearly() -> None:
    W = mg.tensor([1.0, 2.0], requires_grad=True, name="W[1]")
    with pytest.raises(mg.GradError, match=r"-=: W\[1\] \(2,\) is a leaf that requires grad.*mg.no_grad"):
        W -= 0.1
    np.testing.assert_array_equal(W.data, [1.0, 2.0])


def test_in_place_on_a_recorded_tensor_while_recording_makes_a_new_recorded_tensor() -> None:
    x = mg.tensor(3.0, requires_grad=True)
    y = x * 2
    old = y
    y += x  # y = y + x, recorded
    assert y is not old and y.op is not None and y.op.name == "add"
    y.backward()
    assert x.grad.item() == 3.0


def test_in_place_keeps_the_shape_and_says_so() -> None:
    x = mg.tensor([[1.0, 2.0]], name="x")
    with pytest.raises(mg.ShapeError, match=r"\+=: x \(1, 2\) \+= tensor \(2, 2\): .*shape stays \(1, 2\)"):
        x += np.ones((2, 2))


def test_reading_grad_of_a_tensor_that_is_no_longer_a_leaf_warns_with_the_fix() -> None:
    W = mg.tensor([1.0, 2.0], requires_grad=True, name="W")
    (W * W).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaf's gradient: no warning
        W = W - 0.1 * W.grad  # the slip: W is now a recorded tensor, not the parameter
    (W * W).sum().backward()
    with pytest.warns(UserWarning, match=r"not a leaf.*W = W - lr \* W.grad.*mg.no_grad\(\): W -= lr"):
        assert W.grad is None


def test_assigning_data_checks_what_it_is_given() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True, name="w")
    w.sum().backward()
    refused = r"data: w \(2,\) was given a Tensor.*mg.no_grad\(\): w -= lr \* w.grad"
    with pytest.raises(TypeError, match=refused):
        w.data = w.data - 0.5 * w.grad
    with pytest.raises(mg.ShapeError, match=r"cannot take an array of shape \(3,\)"):
        w.data = np.zeros(3)
    with pytest.raises(TypeError, match=r"is float64, the array given is float32.*astype\('float64'\)"):
        w.data = np.zeros(2, dtype=np.float32)
    w.data = w.data - 0.5 * w.grad.data
    w.data = [0.0, 1.0]  # a list is converted to the tensor's dtype
    np.testing.assert_array_equal(w.data, [0.0, 1.0])


def test_one_number_converts_with_float_int_round_and_bool() -> None:
    t = mg.tensor([[2.75]])
    assert float(t) == 2.75 and int(t) == 2 and round(t) == 3 and round(t, 1) == 2.8 and bool(t)
    with pytest.raises(ValueError, match=r"float\(\) of tensor \(2,\) is ambiguous"):
        float(mg.ones(2))


def test_a_new_number_at_every_step_does_not_grow_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # A learning rate decayed by hand is a new Python number at every update; each number's 0-d
    # array is cached, and the cache must stop growing rather than keep one per step.
    import importlib

    from microgrid import ops

    cache: dict = {}  # (this test's own, so it leaves no other full)
    monkeypatch.setattr(ops, "_scalars", cache)
    # (and the operators' name for it: mg.tensor is the function, the module is imported by name)
    monkeypatch.setattr(importlib.import_module("microgrid.tensor"), "_number_arrays", cache)
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    w.grad = mg.tensor([1.0, 1.0])
    steps = ops._MAX_SCALARS + 300
    for t in range(steps):
        with mg.no_grad():
            w -= (0.1 / (1 + 0.01 * t)) * w.grad
    assert len(ops._scalars) <= ops._MAX_SCALARS
    expected = np.array([1.0, 2.0]) - sum(0.1 / (1 + 0.01 * t) for t in range(steps))
    np.testing.assert_allclose(w.data, expected)


def test_the_rules_constants_stop_growing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A rule's 1/m is a constant per batch size: a loop over many sizes must not keep them all.
    from microgrid import ops

    monkeypatch.setattr(ops, "_constants", {})
    x = mg.tensor(np.ones(3), requires_grad=True)
    for m in range(1, ops._MAX_SCALARS + 300):
        one_over_m = ops.constant(1.0 / m, x, "1/m")
        assert one_over_m.item() == 1.0 / m and one_over_m.name == "1/m"
    assert len(ops._constants) <= ops._MAX_SCALARS


def test_a_zero_keeps_its_sign_whichever_comes_first() -> None:
    # 0.0 and −0.0 are equal and hash alike, so a cache of numbers keyed by value alone would
    # hand out whichever came first: x · 0.0 would be −0.0 (and 1 / it −inf) after an x · −0.0.
    x = mg.tensor([1.0, 2.0])
    for _ in range(2):
        assert np.signbit((x * -0.0).data).all()
        assert not np.signbit((x * 0.0).data).any()
        assert not np.signbit((x * 0).data).any()


def test_the_operators_are_named_and_called_as_methods() -> None:
    # Each operator is its op's apply, made as the method it stands for: help(), pickle (a bound
    # operator is found again by its name) and a call by hand see a method of (self, other).
    t = mg.tensor([1.0, 2.0])
    for name in ("__add__", "__rsub__", "__matmul__", "__neg__"):
        method = getattr(mg.Tensor, name)
        assert method.__name__ == name and method.__qualname__ == f"Tensor.{name}"
    assert str(inspect.signature(mg.Tensor.__mul__)) == "(self, other: 'Operand', /) -> 'Tensor'"
    assert np.array_equal(pickle.loads(pickle.dumps(t.__mul__))(2.0).data, [2.0, 4.0])
    assert np.array_equal(t.__rsub__(1).data, [0.0, -1.0]) and np.array_equal(t.__add__(t).data, [2.0, 4.0])
    for call, got in (
        (lambda: t.__add__(), "takes self and one other operand.*got 1 argument$"),
        (lambda: t.__rsub__(1, 2), "got 3 arguments$"),
        (lambda: t.__add__(t, t), "got 3 arguments$"),
        (lambda: t.__add__(other=1), "got 1 argument and the keywords other$"),
        (lambda: t.__matmul__(t, transpose_a=True), "got 2 arguments and the keywords transpose_a$"),
        (lambda: t.__neg__(1), "takes only self.*got 2 arguments$"),
        (lambda: mg.Tensor.__rsub__(1, 2), "Tensor.__rsub__: self must be a Tensor, got int$"),
    ):
        with pytest.raises(TypeError, match=got):
            call()
    assert typing.get_type_hints(mg.Tensor.__mul__)["return"] is mg.Tensor
    assert mg.Tensor.__rsub__.__code__.co_name == "__rsub__"  # (what a traceback prints)
