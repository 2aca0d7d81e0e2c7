"""Module: registering parameters, modes, state dicts, and saving to and loading from .npz."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import microgrid as mg
from microgrid import nn


class TwoLayers(nn.Module):
    """A hand-written module: a parameter of its own, two submodules, one of them twice."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = mg.tensor(2.0, requires_grad=True, name="scale")
        self.hidden = nn.Dense(2, 3, seed=0)
        self.out = nn.Dense(3, 1, seed=1)
        self.same_out = self.out  # shared: its parameters must be listed once
        self.note = "not a parameter"
        self.constant = mg.tensor(1.0)  # no requires_grad: a plain attribute

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        return self.out(mg.tanh(self.hidden(x))) * self.scale


def test_assignment_registers_parameters_and_submodules_by_path() -> None:
    model = TwoLayers()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "hidden.W", "hidden.b", "out.W", "out.b"]
    assert list(model.parameters())[1] is model.hidden.W
    assert [name for name, _ in model.named_modules()] == ["", "hidden", "out", "same_out"]
    assert list(model.children())[:2] == [model.hidden, model.out]


def test_reassigning_or_deleting_an_attribute_unregisters_it() -> None:
    model = TwoLayers()
    model.scale = 3.0  # type: ignore[assignment]
    del model.same_out, model.out
    assert [name for name, _ in model.named_parameters()] == ["hidden.W", "hidden.b"]


class Remembering(nn.Module):
    """Keeps its last output as an attribute, as a PyTorch module may (for a hook or a plot)."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = nn.Dense(2, 1, seed=0)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        self.last = self.dense(x)
        return self.last


def test_a_computed_tensor_is_a_plain_attribute_not_a_parameter() -> None:
    model = Remembering()
    out = model(np.ones((2, 3)))
    assert model.last is out and out.op is not None
    assert [name for name, _ in model.named_parameters()] == ["dense.W", "dense.b"]
    model.dense.W = model.dense.W * 0.01  # a parameter overwritten by a computed tensor: unregistered
    assert [name for name, _ in model.named_parameters()] == ["dense.b"]


class Pair(nn.Module):
    """A module whose forward takes two inputs and a keyword."""

    def forward(self, x: mg.Tensor, y: mg.Tensor, *, scale: float = 1.0) -> mg.Tensor:
        return (x + y) * scale


def test_calling_a_module_passes_every_argument_to_forward() -> None:
    out = Pair()(mg.tensor([1.0]), mg.tensor([2.0]), scale=2.0)
    np.testing.assert_array_equal(out.data, [6.0])


def test_forgetting_super_init_is_explained() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.w = mg.tensor(1.0, requires_grad=True)

    with pytest.raises(AttributeError, match=r"Broken: call super\(\).__init__\(\) before"):
        Broken()


def test_zero_grad_clears_every_parameter_gradient() -> None:
    model = TwoLayers()
    model(np.ones((2, 4))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_reach_every_submodule_and_return_the_model() -> None:
    model = TwoLayers()
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * 4
    assert model.train() is model
    assert [m.training for m in model.modules()] == [True] * 4


# --- state dicts -------------------------------------------------------------------------------


def values(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.data.copy() for name, p in model.named_parameters()}


def assert_same_values(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_state_dict_is_a_copy_by_path() -> None:
    model = nn.mlp([2, 3, 1], seed=0)
    state = model.state_dict()
    assert list(state) == ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    W = model.layers[0].W
    np.testing.assert_array_equal(state["layers.0.W"], W.data)
    W.data += 1.0
    assert not np.array_equal(state["layers.0.W"], W.data)


def test_load_state_dict_copies_in_place_so_optimisers_keep_their_parameters() -> None:
    source, target = nn.mlp([2, 3, 1], seed=0), nn.mlp([2, 3, 1], seed=1)
    W = target.layers[0].W
    array_before = W.data
    result = target.load_state_dict(source.state_dict())
    assert result == nn.IncompatibleKeys([], [])
    assert_same_values(values(target), values(source))
    assert target.layers[0].W is W and W.data is array_before


def test_load_state_dict_names_every_problem_and_changes_nothing() -> None:
    model = nn.mlp([2, 3, 1], seed=0)
    before = values(model)
    state = model.state_dict()
    del state["layers.2.b"]
    state["layers.9.W"] = np.zeros((1, 1))
    state["layers.0.W"] = np.zeros((4, 2))
    state["layers.0.b"] = np.zeros((3, 1)) + 5.0  # fine on its own, but nothing may be loaded
    with pytest.raises(mg.LoadError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert "missing keys: layers.2.b" in message
    assert "unexpected keys: layers.9.W" in message
    assert "layers.0.W has shape (4, 2) but the model's W[1] has (3, 2)" in message
    assert "nothing was loaded" in message
    assert_same_values(values(model), before)


def test_load_state_dict_not_strict_skips_and_reports_keys_but_not_shapes() -> None:
    model = nn.mlp([2, 3, 1], seed=0)
    result = model.load_state_dict({"layers.0.b": np.ones((3, 1)), "extra": np.ones(1)}, strict=False)
    assert result.unexpected_keys == ["extra"]
    assert result.missing_keys == ["layers.0.W", "layers.2.W", "layers.2.b"]
    np.testing.assert_array_equal(model.layers[0].b.data, np.ones((3, 1)))
    with pytest.raises(mg.LoadError, match=r"layers.0.b has shape \(2, 1\)"):
        model.load_state_dict({"layers.0.b": np.ones((2, 1))}, strict=False)


# --- save and load ----------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    trained = nn.mlp([2, 4, 1], hidden="tanh", seed=0)
    trained.save(path)
    fresh = nn.mlp([2, 4, 1], hidden="tanh", seed=1)
    assert fresh.load(path) is fresh
    assert_same_values(values(fresh), values(trained))
    X = np.random.default_rng(2).standard_normal((2, 5))
    np.testing.assert_array_equal(fresh(X).data, trained(X).data)
    with np.load(path, allow_pickle=False) as archive:  # a plain .npz that numpy itself reads
        assert sorted(archive.files) == sorted(trained.state_dict())
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_crash_while_saving_leaves_the_old_file_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    good = nn.mlp([2, 4, 1], seed=0)
    good.save(path)
    saved_bytes = path.read_bytes()

    def crash_halfway(file: object, arrays: object) -> None:
        file.write(b"PK\x03\x04 half an archive")  # type: ignore[attr-defined]
        raise KeyboardInterrupt  # as if the process were stopped mid-write

    monkeypatch.setattr(nn.module, "write_npz", crash_halfway)
    with pytest.raises(KeyboardInterrupt):
        nn.mlp([2, 4, 1], seed=5).save(path)
    assert path.read_bytes() == saved_bytes
    assert os.listdir(tmp_path) == ["model.npz"]  # and no temporary file left behind


class Exploit:
    """Unpickling this would run `os.system`; a loader that unpickles is unsafe."""

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return (os.system, ("touch pwned",))


def truncated(path: Path, state: dict[str, np.ndarray]) -> None:
    np.savez(path, **state)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def with_extra_array(path: Path, state: dict[str, np.ndarray]) -> None:
    np.savez(path, **state, **{"layers.4.W": np.zeros((1, 1))})


def with_missing_array(path: Path, state: dict[str, np.ndarray]) -> None:
    del state["layers.2.W"]
    np.savez(path, **state)


def with_wrong_shape(path: Path, state: dict[str, np.ndarray]) -> None:
    state["layers.2.W"] = np.zeros((1, 3))
    np.savez(path, **state)


def with_pickled_object(path: Path, state: dict[str, np.ndarray]) -> None:
    state["layers.0.b"] = np.array([Exploit()], dtype=object)
    np.savez(path, **state)  # numpy pickles object arrays when allowed to, as it is here


def single_npy(path: Path, state: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as file:
        np.save(file, state["layers.0.W"])


def not_numbers(path: Path, state: dict[str, np.ndarray]) -> None:
    state["layers.0.W"] = np.full((4, 2), "x")
    np.savez(path, **state)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (truncated, r"truncated"),
        (with_extra_array, r"unexpected keys: layers.4.W"),
        (with_missing_array, r"missing keys: layers.2.W"),
        (with_wrong_shape, r"layers.2.W has shape \(1, 3\) but the model's W\[2\] has \(1, 4\)"),
        (with_pickled_object, r"array 'layers.0.b' holds pickled Python objects, which are never loaded"),
        (single_npy, r"a single .npy array, not an .npz archive"),
        (not_numbers, r"layers.0.W holds <U1 values, not numbers"),
    ],
)
def test_a_bad_file_is_refused_clearly_and_the_model_is_unchanged(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: Callable[[Path, dict[str, np.ndarray]], None],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "model.npz"
    damage(path, nn.mlp([2, 4, 1], seed=9).state_dict())
    model = nn.mlp([2, 4, 1], seed=0)
    before = values(model)
    with pytest.raises(mg.LoadError, match=message) as caught:
        model.load(path)
    assert str(path) in str(caught.value)
    assert_same_values(values(model), before)
    assert not (tmp_path / "pwned").exists()


def test_a_damaged_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model = nn.mlp([2, 4, 1], seed=0)
    model.save(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        offset = archive.getinfo("layers.0.W.npy").header_offset
    data[offset + 200] ^= 0xFF  # flip bits inside the first array's data: its CRC no longer matches
    path.write_bytes(bytes(data))
    before = values(model)
    with pytest.raises(mg.LoadError, match=r"array 'layers.0.W' is truncated or damaged"):
        model.load(path)
    assert_same_values(values(model), before)


def test_loading_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        nn.mlp([2, 1]).load(tmp_path / "nowhere.npz")
