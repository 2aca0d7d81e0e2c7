"""Module: registering parameters, modes, state dicts, and saving to and loading from .npz."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import struct
import subprocess
import sys
import threading
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

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
        (
            with_pickled_object,
            r"member 'layers.0.b.npy': holds pickled Python objects, which are never loaded",
        ),
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
    with pytest.raises(mg.LoadError, match=r"member 'layers.0.W.npy': truncated or damaged"):
        model.load(path)
    assert_same_values(values(model), before)


def test_loading_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        nn.mlp([2, 1]).load(tmp_path / "nowhere.npz")


def test_load_reads_what_numpy_writes_compressed_or_in_fortran_order(tmp_path: Path) -> None:
    source = nn.mlp([2, 4, 1], seed=0)
    path = tmp_path / "model.npz"
    np.savez_compressed(path, **{name: np.asfortranarray(a) for name, a in source.state_dict().items()})
    assert_same_values(values(nn.mlp([2, 4, 1], seed=1).load(path)), values(source))


# --- what save and load refuse: files that are not regular, links, lying archives ---------------

posix = pytest.mark.skipif(
    os.name != "posix", reason="FIFOs, symbolic links and file modes as POSIX has them"
)


def fake_status(path: Path, file_type: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make os.stat and os.lstat report `path` as a `file_type` (a device, say) while it stays a
    plain file in tmp_path: a test never opens a real device."""
    for function in ("stat", "lstat"):
        real = getattr(os, function)

        def status(
            target: str | os.PathLike[str],
            *args: object,
            real: Callable[..., os.stat_result] = real,
            **kwargs: object,
        ) -> os.stat_result:
            if os.fspath(target) == os.fspath(path):
                return os.stat_result((file_type | 0o666, 0, 0, 1, 0, 0, 8, 0, 0, 0))
            return real(target, *args, **kwargs)

        monkeypatch.setattr(os, function, status)


def a_directory(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path.mkdir()
    (path / "inside.txt").write_text("kept")


def a_fifo(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.mkfifo(path)


def a_character_device(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path.write_bytes(b"precious")
    fake_status(path, stat.S_IFCHR, monkeypatch)


def a_block_device(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path.write_bytes(b"precious")
    fake_status(path, stat.S_IFBLK, monkeypatch)


NOT_REGULAR = pytest.mark.parametrize(
    ("make", "kind"),
    [
        (a_directory, "a directory"),
        pytest.param(a_fifo, r"a FIFO \(named pipe\)", marks=posix),
        (a_character_device, "a character device"),
        (a_block_device, "a block device"),
    ],
)


def unchanged(path: Path, make: Callable[..., None]) -> bool:
    """Whether `path` is still what `make` made of it."""
    if make is a_directory:
        return path.is_dir() and os.listdir(path) == ["inside.txt"]
    if make is a_fifo:
        return stat.S_ISFIFO(os.lstat(path).st_mode)
    return path.read_bytes() == b"precious"


@contextlib.contextmanager
def never_hanging(fifo: Path) -> Iterator[None]:
    """Should a reader block on `fifo` (the bug a test looks for), open it for writing after 2 s,
    so that the read ends and the test fails instead of hanging."""

    def release() -> None:
        with contextlib.suppress(OSError):  # ENXIO: nobody is reading, so nobody waits
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(2.0, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@NOT_REGULAR
def test_save_and_load_refuse_anything_but_a_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[..., None], kind: str
) -> None:
    path = tmp_path / "model.npz"
    make(path, monkeypatch)
    model = nn.mlp([2, 4, 1], seed=0)
    with pytest.raises(
        FileExistsError,
        match=rf"^Sequential.save '{re.escape(str(path))}': this is {kind}, not a regular file$",
    ):
        model.save(path)
    with never_hanging(path), pytest.raises(mg.LoadError, match=rf"this is {kind}, not a regular file"):
        model.load(path)
    assert unchanged(path, make)
    assert os.listdir(tmp_path) == ["model.npz"]  # and no temporary file left behind


@posix
def test_load_refuses_a_fifo_put_in_the_files_place_after_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    os.mkfifo(path)
    fake_status(path, stat.S_IFREG, monkeypatch)  # what the check before opening saw: a regular file
    with never_hanging(path), pytest.raises(mg.LoadError, match=r"this is a FIFO \(named pipe\)"):
        nn.mlp([2, 4, 1], seed=0).load(path)


@posix
def test_save_refuses_a_symbolic_link_and_load_follows_one(tmp_path: Path) -> None:
    real = tmp_path / "real.npz"
    real.write_bytes(b"precious")
    link, dangling = tmp_path / "model.npz", tmp_path / "dangling.npz"
    link.symlink_to(real)
    dangling.symlink_to(tmp_path / "nowhere.npz")
    model = nn.mlp([2, 4, 1], seed=0)
    for path in (link, dangling):
        with pytest.raises(
            FileExistsError,
            match=r"this is a symbolic link \(to '.*'\), which save neither follows nor replaces",
        ):
            model.save(path)
    assert link.is_symlink() and real.read_bytes() == b"precious"
    assert dangling.is_symlink() and not (tmp_path / "nowhere.npz").exists()

    model.save(os.path.realpath(link))  # writing through the link, on purpose
    assert link.is_symlink()
    assert_same_values(values(nn.mlp([2, 4, 1], seed=1).load(link)), values(model))
    (tmp_path / "folder").mkdir()
    (tmp_path / "linked folder").symlink_to(tmp_path / "folder")
    model.save(tmp_path / "linked folder" / "model.npz")  # a link higher up the path is any path
    assert os.listdir(tmp_path / "folder") == ["model.npz"]


@posix
def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model = nn.mlp([2, 4, 1], seed=0)
    model.save(path)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # a new file: as open() makes one
    path.chmod(0o640)
    model.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def temporary_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of the temporary file a save writes in tmp_path, seen while it writes."""
    seen = []
    write_npz = nn.module.write_npz

    def spy(file: object, arrays: dict[str, np.ndarray]) -> None:
        seen.extend(name for name in os.listdir(tmp_path) if name != "model.npz")
        write_npz(file, arrays)

    monkeypatch.setattr(nn.module, "write_npz", spy)
    nn.mlp([2, 4, 1], seed=0).save(tmp_path / "model.npz")
    [name] = seen
    return name


def test_the_temporary_file_names_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = temporary_name(tmp_path, monkeypatch)
    assert re.fullmatch(rf"\.model\.npz\.saving-.+-{os.getpid()}-[0-9a-f]{{8}}\.tmp", name), name
    assert os.listdir(tmp_path) == ["model.npz"]


@posix
def test_a_save_removes_the_temporary_files_of_dead_processes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = temporary_name(tmp_path, monkeypatch)
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # its pid now names no process
    dead = ours.replace(f"-{os.getpid()}-", f"-{child.pid}-")
    left = {
        dead: False,
        dead.replace(".model.npz.", ".best.npz."): False,  # another file's, in the same directory
        ours: True,  # a save still running in this process
        ours.replace(f"-{os.getpid()}-", f"-{os.getppid()}-"): True,  # in another live process
        dead.replace(".saving-", ".saving-elsewhere."): True,  # another machine's: its pids mean nothing here
        ".model.npz.saving-notes.tmp": True,  # not a temporary file of save's
    }
    for name in left:
        (tmp_path / name).write_bytes(b"half an archive")
    (tmp_path / dead.replace("model", "folder")).mkdir()  # a folder, whatever its name
    nn.mlp([2, 4, 1], seed=0).save(tmp_path / "model.npz")
    kept = {name for name, kept in left.items() if kept}
    assert set(os.listdir(tmp_path)) == {"model.npz", dead.replace("model", "folder"), *kept}


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """The header numpy writes at the start of an .npy file, here for any shape at all."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue()


class Member(NamedTuple):
    """A file in a handmade zip archive, and the sizes its headers claim if not the true ones."""

    name: str
    content: bytes
    method: int = zipfile.ZIP_STORED
    file_size: int | None = None
    compress_size: int | None = None
    flags: int = 0


def zip_by_hand(path: Path, *members: Member) -> None:
    """A zip archive written field by field, so that its headers can lie."""
    files, directory = b"", b""
    for member in members:
        data = member.content
        if member.method == zipfile.ZIP_DEFLATED:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = packer.compress(data) + packer.flush()
        name = member.name.encode()
        # flags, method, time, date (1980-01-01), CRC, compressed and uncompressed sizes, name length
        fields = (
            member.flags,
            member.method,
            0,
            0x21,
            zlib.crc32(member.content),
            len(data) if member.compress_size is None else member.compress_size,
            len(member.content) if member.file_size is None else member.file_size,
            len(name),
        )
        directory += struct.pack("<4s6H3L5H2L", b"PK\1\2", 20, 20, *fields, 0, 0, 0, 0, 0, len(files)) + name
        files += struct.pack("<4s5H3L2H", b"PK\3\4", 20, *fields, 0) + name + data
    count = len(members)
    end = struct.pack("<4s4H2LH", b"PK\5\6", 0, 0, count, count, len(directory), len(files), 0)
    path.write_bytes(files + directory + end)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (
            (10**12,),
            r"declares float64 values of shape \(1000000000000,\) \(8000000000000 bytes\) but holds 0",
        ),
        (
            (2**40, 2**40),
            r"declares float64 values of shape \(1099511627776, 1099511627776\) \(9671406556917033397649408 ",
        ),
        (
            (2**64, 2**64, 0, -1),
            r"declares shape \(18446744073709551616, 18446744073709551616, 0, -1\), with a negative",
        ),
    ],
)
def test_a_header_declaring_an_impossible_shape_is_refused_before_any_allocation(
    tmp_path: Path, shape: tuple[int, ...], message: str
) -> None:
    path = tmp_path / "model.npz"
    zip_by_hand(path, Member("layers.0.W.npy", npy_header(shape)))
    with pytest.raises(mg.LoadError, match=rf"member 'layers.0.W.npy': {message}"):
        nn.mlp([2, 4, 1]).load(path)


def test_a_small_file_cannot_make_a_large_allocation(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    zeros = bytes(100 * 2**20)  # 100 MB of zeros deflate to about 100 KB: a "zip bomb"
    zip_by_hand(path, Member("layers.0.W.npy", npy_header((len(zeros) // 8,)) + zeros, zipfile.ZIP_DEFLATED))
    del zeros
    assert path.stat().st_size < 120_000
    model = nn.mlp([2, 4, 1], seed=0)
    tracemalloc.start()
    try:
        with pytest.raises(mg.LoadError, match=r"layers.0.W has shape \(13107200,\) but the model's W\[1\]"):
            model.load(path)  # refused by its header, before its data is read
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"loading allocated {peak} bytes"


W = npy_header((4, 2)) + bytes(64)  # a zero W[1] of mlp([2, 4, 1]), 192 bytes


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (
            [Member("layers.0.W.npy", W, file_size=10**9)],
            r"claims 1000000000 bytes, more than its 192 stored",
        ),
        (
            [Member("layers.0.W.npy", W, zipfile.ZIP_DEFLATED, file_size=800_000_192)],
            r"claims 800000192 bytes, more than its \d+ deflated bytes can hold",
        ),
        (
            [Member("layers.0.W.npy", W, compress_size=10**9)],
            r"claims 1000000000 compressed bytes, more than the file's \d+",
        ),
        (
            [Member("layers.0.W.npy", W + bytes(10**7), zipfile.ZIP_DEFLATED)],
            r"declares float64 values of shape \(4, 2\) \(64 bytes\) but holds 10000064 bytes after",
        ),
        ([Member("layers.0.W.npy", W, flags=0x1)], r"encrypted"),
        ([Member("layers.0.W.npy", W, zipfile.ZIP_BZIP2)], r"compressed with method 12"),
        ([Member("layers.0.W", W)], r"member 'layers.0.W': not an .npy array"),
        ([Member("layers.0.W.npy", W)] * 2, r"member 'layers.0.W.npy' appears twice"),
        (
            [Member("layers.0.W.npy", npy_header((4, 2), "|O") + bytes(64))],
            r"holds pickled Python objects, which are never loaded",
        ),
    ],
)
def test_a_member_whose_sizes_or_kind_cannot_be_true_is_refused(
    tmp_path: Path, members: list[Member], message: str
) -> None:
    path = tmp_path / "model.npz"
    zip_by_hand(path, *members)
    model = nn.mlp([2, 4, 1], seed=0)
    before = values(model)
    with pytest.raises(mg.LoadError, match=rf"^Sequential.load '{re.escape(str(path))}': .*{message}"):
        model.load(path)
    assert_same_values(values(model), before)


def test_an_in_place_update_of_a_parameter_attribute_keeps_its_place() -> None:
    model = mg.nn.mlp([2, 3, 1], seed=0)
    layer = model.layers[0]
    order = [name for name, _ in model.named_parameters()]
    model(mg.tensor(np.ones((2, 5)))).sum().backward()
    with mg.no_grad():
        layer.W -= 0.1 * layer.W.grad  # Python assigns layer.W = (the same W) afterwards
    assert [name for name, _ in model.named_parameters()] == order
