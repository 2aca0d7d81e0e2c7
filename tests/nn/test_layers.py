"""Layers: gradients against central differences, course names and scopes, dropout, mlp."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn


def away_from_zero(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Values in ±[0.2, 2], off the kinks of relu and leaky relu at 0."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def graph_tensors(output: mg.Tensor) -> dict[str, mg.Tensor]:
    """Every named tensor behind `output` (parameters, inputs, intermediates), by name."""
    found, stack = {}, [output]
    while stack:
        t = stack.pop()
        if t.name and t.name not in found:
            found[t.name] = t
        if t.op is not None:
            stack.extend(t.op.inputs)
    return found


# --- gradients -------------------------------------------------------------------------------

ACTIVATION_LAYERS: list[tuple[str, Callable[[], nn.Layer]]] = [
    ("sigmoid", nn.Sigmoid),
    ("tanh", nn.Tanh),
    ("relu", nn.ReLU),
    ("leaky_relu", lambda: nn.LeakyReLU(0.1)),
    ("softmax", nn.Softmax),
    ("identity", nn.Identity),
    ("dropout", lambda: nn.Dropout(keep_prob=0.7, seed=3)),  # a new layer per call: the same mask each time
]


@pytest.mark.parametrize(
    "make", [make for _, make in ACTIVATION_LAYERS], ids=[name for name, _ in ACTIVATION_LAYERS]
)
@pytest.mark.parametrize("check", [mg.gradcheck, mg.gradgradcheck], ids=["first", "second"])
def test_activation_layer_gradients_match_central_differences(
    make: Callable[[], nn.Layer], check: Callable[..., mg.GradcheckReport]
) -> None:
    Z = mg.tensor(away_from_zero((3, 5)), requires_grad=True, name="Z")
    report = check(lambda z: make()(z), [Z])
    assert report, report


@pytest.mark.parametrize("check", [mg.gradcheck, mg.gradgradcheck], ids=["first", "second"])
def test_dense_gradients_match_central_differences(check: Callable[..., mg.GradcheckReport]) -> None:
    layer = nn.Dense(3, 2, init="he", seed=0, layer=1)
    layer.b.data[...] = [[0.3], [-0.2]]
    X = mg.tensor(away_from_zero((3, 4)), requires_grad=True, name="X")
    report = check(lambda x, W, b: mg.tanh(layer(x)), [X, layer.W, layer.b])
    assert report, report
    assert {c.name for c in report} == {"X", "W[1]", "b[1]"}


def test_whole_mlp_with_dropout_is_gradient_checked() -> None:
    model = nn.mlp([3, 5, 4, 2], hidden="relu", output="sigmoid", init="he", seed=2, keep_prob=0.8)
    X = away_from_zero((3, 6), seed=1)
    dropouts = [m for m in model.layers if isinstance(m, nn.Dropout)]

    def forward() -> mg.Tensor:
        for seed, layer in enumerate(dropouts):  # the same masks on every call
            layer.rng = np.random.default_rng(seed)
        return model(X)

    report = mg.gradcheck(lambda *params: forward(), list(model.parameters()))
    assert report, report
    assert len(report.checks) == 6


# --- course layout, names and scopes ------------------------------------------------------------


def test_dense_computes_W_A_plus_b_in_the_course_layout() -> None:
    layer = nn.Dense(3, 2, seed=0)
    assert layer.W.shape == (2, 3) and layer.b.shape == (2, 1)
    assert np.all(layer.b.data == 0)
    A_prev = np.random.default_rng(1).standard_normal((3, 7))
    Z = layer(A_prev)
    np.testing.assert_allclose(Z.data, layer.W.data @ A_prev + layer.b.data)
    assert Z.shape == (2, 7)


def test_mlp_tensors_carry_course_names_and_layer_scopes() -> None:
    model = nn.mlp([2, 3, 1], hidden="tanh", output="sigmoid", seed=0)
    X = mg.tensor(np.ones((2, 4)), name="X")
    A2 = model(X)
    named = graph_tensors(A2)
    assert {"X", "W[1]", "b[1]", "Z[1]", "A[1]", "W[2]", "b[2]", "Z[2]", "A[2]"} <= set(named)
    for name, t in named.items():
        if name != "X":
            assert t.scope == (f"layer {name[-2]}",), name
    assert named["A[2]"] is A2 and A2.op is not None and A2.op.name == "sigmoid"
    assert named["Z[1]"].op is not None and named["Z[1]"].op.name == "add"


def test_layer_scopes_nest_inside_the_callers_scope() -> None:
    model = nn.mlp([2, 3, 1], hidden="relu", seed=0)
    with mg.scope("model"):
        Z2 = model(np.ones((2, 4)))
    assert Z2.name == "Z[2]" and Z2.scope == ("model", "layer 2")
    assert model.layers[0].W.scope == ("layer 1",)


def test_sequential_numbers_unnumbered_layers_like_the_course() -> None:
    model = nn.Sequential(nn.Dense(2, 3), nn.Tanh(), nn.Dropout(keep_prob=0.9), nn.Dense(3, 1), nn.Sigmoid())
    assert [getattr(m, "layer", None) for m in model.layers] == [1, 1, 1, 2, 2]
    W2 = model.layers[3].W
    assert (W2.name, W2.scope) == ("W[2]", ("layer 2",))
    assert model(np.ones((2, 5))).name == "A[2]"


def test_a_lone_layer_has_plain_names_and_no_scope() -> None:
    layer = nn.Dense(2, 3)
    assert (layer.W.name, layer.b.name, layer.W.scope) == ("W", "b", ())
    Z = layer(np.ones((2, 1)))
    assert (Z.name, Z.scope) == ("Z", ())


def test_identity_returns_its_input_without_renaming_it() -> None:
    Z = mg.tensor(np.ones((2, 2)), name="Z[3]")
    assert nn.Identity(layer=3)(Z) is Z
    assert Z.name == "Z[3]"


def test_dense_names_the_wrong_input_shape() -> None:
    model = nn.mlp([2, 4, 1], seed=0)
    with pytest.raises(mg.ShapeError, match=r"Dense W\[1\]: input X \(3, 10\) must be \(n_in=2, m\)"):
        model(mg.tensor(np.ones((3, 10)), name="X"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: nn.Dense(3, 2)(np.array([1.0, 2.0, 3.0])),
            r"^Dense W: input \(3,\) must be \(n_in=3, m\), one example per column; "
            r"for a single example use x.reshape\(3, 1\)$",
        ),
        (lambda: nn.mlp([3, 4, 1], seed=0)(np.ones(3)), r"Dense W\[1\]: input \(3,\) .* x.reshape\(3, 1\)"),
        (
            lambda: nn.mlp([3, 4, 1], seed=0)(np.ones((10, 3))),
            r"examples look like rows: use x.T, of shape \(3, 10\)",
        ),
        (lambda: nn.Dense(1, 2)(np.ones(5)), r"for 5 examples of one feature use x.reshape\(1, 5\)"),
        (lambda: nn.Dense(3, 2)(5.0), r"input \(\) must be \(n_in=3, m\)"),
        (lambda: nn.Dense(3, 2)(np.ones((3, 2, 1))), r"input \(3, 2, 1\) must be \(n_in=3, m\)"),
    ],
    ids=["vector", "mlp vector", "rows", "one feature", "scalar", "rank 3"],
)
def test_dense_refuses_an_input_that_is_not_n_in_by_m(call: Callable[[], object], message: str) -> None:
    # Before this check, W (2, 3) @ x (3,) gave (2,), and + b (2, 1) broadcast that to (2, 2).
    with pytest.raises(mg.ShapeError, match=message):
        call()


def test_a_float32_layer_converts_numpy_input_and_refuses_a_float64_tensor() -> None:
    model = nn.mlp([3, 4, 1], hidden="tanh", seed=0, dtype="float32")
    X = np.random.default_rng(0).standard_normal((3, 5))  # float64, as numpy makes it
    out = model(X)
    assert out.dtype == np.float32
    W1, b1, W2, b2 = (p.data.astype(np.float64) for p in model.parameters())
    np.testing.assert_allclose(out.data, W2 @ np.tanh(W1 @ X + b1) + b2, rtol=1e-5, atol=1e-6)
    assert model(X.tolist()).dtype == np.float32
    with pytest.raises(
        TypeError, match=r"Dense W\[1\]: input X \(3, 5\) is float64 but the layer is float32"
    ):
        model(mg.tensor(X, name="X"))
    assert model(mg.tensor(X, dtype="float32")).dtype == np.float32


def test_parameters_can_be_set_from_numpy_arrays() -> None:
    model = nn.mlp([2, 2, 1], hidden="tanh", seed=0)
    W1 = np.array([[1.0, 2.0], [3.0, 4.0]])
    model.layers[0].W.data[...] = W1
    model.load_state_dict({"layers.2.W": np.array([[1.0, -1.0]])}, strict=False)
    X = np.array([[1.0], [0.5]])
    expected = np.array([[1.0, -1.0]]) @ np.tanh(W1 @ X)
    np.testing.assert_allclose(model(X).data, expected)


# --- dropout ---------------------------------------------------------------------------------------


def test_dropout_is_inverted_keeps_the_expectation_and_is_seeded() -> None:
    A = np.ones((50, 400))
    out = nn.Dropout(keep_prob=0.8, seed=0)(A).data
    assert set(np.unique(out)) == {0.0, 1.0 / 0.8}
    assert abs((out > 0).mean() - 0.8) < 0.01
    assert abs(out.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(out, nn.Dropout(keep_prob=0.8, seed=0)(A).data)
    layer = nn.Dropout(keep_prob=0.8, seed=0)
    assert not np.array_equal(layer(A).data, layer(A).data)  # a fresh mask on every call


def test_dropout_is_off_in_eval_mode_and_train_turns_it_back_on() -> None:
    model = nn.mlp([3, 20, 1], hidden="relu", seed=0, keep_prob=0.5)
    X = mg.tensor(np.ones((3, 8)))
    model.eval()
    assert not any(m.training for m in model.modules())
    np.testing.assert_array_equal(model(X).data, model(X).data)
    dropout = model.layers[2]
    A = mg.tensor(np.ones((2, 2)))
    assert dropout(A) is A
    model.train()
    assert all(m.training for m in model.modules())
    assert not np.array_equal(model(X).data, model(X).data)


def test_dropout_takes_keep_prob_by_name_and_explains_pytorchs_p() -> None:
    with pytest.raises(TypeError, match=r"pass keep_prob by name.*Dropout\(0.2\) in PyTorch drops 0.2 of the "
                       r"units, which is Dropout\(keep_prob=0.8\) here"):  # fmt: skip
        nn.Dropout(0.2)  # type: ignore[call-arg]
    assert nn.Dropout(keep_prob=0.2).keep_prob == 0.2


def test_unseeded_dropout_follows_manual_seed_when_it_draws() -> None:
    layer = nn.Dropout(keep_prob=0.5)  # built before the seed is set: the mask is drawn later
    A = np.ones((20, 30))
    mg.manual_seed(5)
    first = layer(A).data
    mg.manual_seed(5)
    np.testing.assert_array_equal(layer(A).data, first)
    assert not np.array_equal(layer(A).data, first)  # without reseeding, a new mask
    model = nn.mlp([2, 30, 1], seed=None, keep_prob=0.5)
    mg.manual_seed(1)
    Z = model(np.ones((2, 40))).data
    mg.manual_seed(1)
    np.testing.assert_array_equal(model(np.ones((2, 40))).data, Z)


def test_dropout_names_its_mask_D() -> None:
    out = nn.Dropout(keep_prob=0.5, seed=0, layer=2)(mg.tensor(np.ones((2, 3)), requires_grad=True))
    assert out.name == "A[2]"
    assert "D[2]" in graph_tensors(out)


@pytest.mark.parametrize("keep_prob", [0.0, -0.1, 1.5, "0.5", True])
def test_dropout_refuses_a_keep_prob_outside_0_1(keep_prob: float) -> None:
    refusal = rf"keep_prob must be a number in \(0, 1\], got {re.escape(repr(keep_prob))}$"
    with pytest.raises(ValueError, match=rf"^Dropout: {refusal}"):
        nn.Dropout(keep_prob=keep_prob)
    with pytest.raises(ValueError, match=rf"^mlp: {refusal}"):
        nn.mlp([2, 3, 1], keep_prob=keep_prob)


# --- mlp -------------------------------------------------------------------------------------------


def test_mlp_builds_the_course_L_layer_model() -> None:
    model = nn.mlp([2, 20, 7, 5, 1], hidden="relu", output="sigmoid", init="he", seed=1)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Dense", "ReLU"] * 3 + ["Dense", "Sigmoid"]
    shapes = [(name, p.shape) for name, p in model.named_parameters()]
    assert shapes == [
        ("layers.0.W", (20, 2)), ("layers.0.b", (20, 1)),
        ("layers.2.W", (7, 20)), ("layers.2.b", (7, 1)),
        ("layers.4.W", (5, 7)), ("layers.4.b", (5, 1)),
        ("layers.6.W", (1, 5)), ("layers.6.b", (1, 1)),
    ]  # fmt: skip
    out = model(np.zeros((2, 3)))
    assert out.shape == (1, 3) and np.all((out.data > 0) & (out.data < 1))


def test_mlp_default_output_is_the_logits() -> None:
    model = nn.mlp([2, 3, 1], hidden="tanh", seed=0)
    assert isinstance(model.layers[-1], nn.Dense)
    assert model(np.ones((2, 2))).name == "Z[2]"


def test_mlp_with_keep_prob_puts_dropout_after_every_hidden_activation() -> None:
    model = nn.mlp([2, 3, 3, 1], hidden="tanh", seed=0, keep_prob=0.8)
    assert [type(m).__name__ for m in model.layers] == [
        "Dense", "Tanh", "Dropout", "Dense", "Tanh", "Dropout", "Dense",
    ]  # fmt: skip


def test_the_same_seed_gives_the_same_network() -> None:
    first, second = (nn.mlp([3, 4, 1], init="he", seed=7) for _ in range(2))
    for (_, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    third = nn.mlp([3, 4, 1], init="he", seed=8)
    assert not np.array_equal(first.layers[0].W.data, third.layers[0].W.data)


def test_manual_seed_makes_unseeded_networks_repeat() -> None:
    mg.manual_seed(0)
    first = nn.mlp([3, 4, 1], init="he")
    mg.manual_seed(0)
    second = nn.mlp([3, 4, 1], init="he")
    third = nn.mlp([3, 4, 1], init="he")  # the global generator has moved on
    for (_, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(second.layers[0].W.data, third.layers[0].W.data)


def test_a_random_state_reproduces_the_course_notebooks_weights() -> None:
    layers_dims = [2, 10, 5, 1]
    np.random.seed(3)  # the course's initialize_parameters_he
    expected = [
        np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2.0 / layers_dims[l - 1])
        for l in range(1, len(layers_dims))  # noqa: E741 (the course's name for the layer)
    ]
    model = nn.mlp(layers_dims, init="he", seed=np.random.RandomState(3))
    got = [p.data for name, p in model.named_parameters() if name.endswith("W")]
    for W_course, W in zip(expected, got):
        np.testing.assert_array_equal(W, W_course)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nn.mlp([3]), "needs the input size and at least one layer"),
        (lambda: nn.mlp([3, 1], hidden="swish"), "unknown hidden activation 'swish'"),
        (lambda: nn.mlp([3, 1], output="softmaxx"), "unknown output activation 'softmaxx'"),
        (lambda: nn.Dense(0, 3), "Dense: n_in must be an int ≥ 1, got 0"),
        (lambda: nn.Dense(True, 3), "Dense: n_in must be an int ≥ 1, got True"),
        (lambda: nn.Dense(2, np.int64(-2)), r"Dense: n_out must be an int ≥ 1, got np.int64\(-2\)"),
        (lambda: nn.Dense(2, 3, layer=True), "Dense: layer must be an int ≥ 0, got True"),
        (lambda: nn.mlp(5), r"sizes needs the input size and at least one layer, e.g. \[2, 4, 1\], got 5"),
        (lambda: nn.LeakyReLU("x"), "LeakyReLU: alpha must be a finite number, got 'x'"),
        (lambda: nn.LeakyReLU(float("nan")), "LeakyReLU: alpha must be a finite number, got nan"),
        (lambda: nn.Dense(2, 3, init="kaiming"), "unknown initialiser 'kaiming'; choose one of"),
        (
            lambda: nn.Dense(2, 3, init=lambda shape, seed: np.zeros((3,))),
            r"gave shape \(3,\), expected \(3, 2\)",
        ),
        (
            lambda: nn.Sequential(nn.Dense(2, 3), nn.Tanh),
            r"item 1 .*not a Module \(pass an instance: Tanh\(\)\)",
        ),
    ],
)
def test_bad_layer_settings_are_refused_clearly(call: Callable[[], object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# --- calling a layer, and its repr ---------------------------------------------------------------


class Scaled(nn.Layer):
    """A layer whose forward takes a second argument: A = s · Z."""

    def forward(self, x: mg.Tensor, s: float = 1.0) -> mg.Tensor:
        return x * s


def test_a_layer_passes_every_argument_to_forward_and_still_names_its_output() -> None:
    Z = mg.tensor(np.ones((2, 2)), name="Z[3]")
    out = Scaled(layer=3)(Z, s=2.0)
    np.testing.assert_array_equal(out.data, 2.0 * np.ones((2, 2)))
    assert (out.name, out.scope) == ("A[3]", ("layer 3",))
    assert nn.Identity(layer=3)(x=Z) is Z and Z.name == "Z[3]"  # the input, passed by name, kept


def test_each_layer_repr_lists_its_settings_then_its_number() -> None:
    assert repr(nn.Dense(2, 3, init="he", layer=1)) == "Dense(2 → 3, init=he, layer=1)"
    assert repr(nn.LeakyReLU(alpha=0.1, layer=2)) == "LeakyReLU(alpha=0.1, layer=2)"
    assert repr(nn.Dropout(keep_prob=0.8)) == "Dropout(keep_prob=0.8)"
    assert repr(nn.Tanh(layer=1)) == "Tanh(layer=1)"
