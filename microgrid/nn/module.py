"""Module: the base class of layers and models, with its parameters, modes and saved state.

As in PyTorch, assigning a leaf Tensor with requires_grad=True as an attribute registers it as a
parameter, and assigning a Module registers it as a submodule; `named_parameters()` then names
every parameter by its path of attributes, e.g. `layers.0.W`. Any other value, a computed
tensor such as `self.last = self.layer(x)` included, is a plain attribute.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import secrets
import socket
import stat
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, BinaryIO, NamedTuple, TypeVar

import numpy as np

from microgrid.errors import LoadError
from microgrid.tensor import Tensor, as_array

StateDict = dict[str, np.ndarray]
# What train(), eval() and load() return: the module they were called on, with its own type.
Self = TypeVar("Self", bound="Module")


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(..., strict=False)` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """A layer or a model: `module(x, ...)` calls `forward(x, ...)`; parameters register by assignment.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Tensor(2.0, requires_grad=True)
    ...     def forward(self, x):
    ...         return self.w * x
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    training: bool
    _parameters: dict[str, Tensor]
    _modules: dict[str, Module]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if name in self._parameters and self._parameters[name] is value:
            return  # `layer.W -= ...` under no_grad assigns W itself back: it keeps its place
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """What the module computes; subclasses define it, with the arguments they need."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.forward(*args, **kwargs)

    # --- the tree of modules and its parameters --------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every submodule below it, with its path ("" for this one)."""
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and every submodule below it."""
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        yield from self._modules.values()

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """Every parameter with its path, e.g. ("layers.0.W", W[1]); a shared one only once."""
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{path}.{name}" if path else name), parameter

    def parameters(self) -> Iterator[Tensor]:
        """Every parameter, for an optimiser: `Adam(model.parameters(), lr=0.01)`."""
        for _, parameter in self.named_parameters():
            yield parameter

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (sets `.grad` to None), before the next backward."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self: Self, mode: bool = True) -> Self:
        """Training mode for this module and all below it (dropout active); returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self: Self) -> Self:
        """Evaluation mode (dropout off), for predictions; returns self."""
        return self.train(False)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return "\n".join(lines) + ("\n)" if len(lines) > 1 else ")")

    def extra_repr(self) -> str:
        """The module's settings as its repr shows them, e.g. `2 → 4`."""
        return ""

    # --- state: copying parameters out and in, saving and loading ---------------------------

    def state_dict(self) -> StateDict:
        """Every parameter's values as a copy, by path: {"layers.0.W": array, ...}.

        Copies, unlike PyTorch's views, so a state kept as "the best so far" does not change
        when the optimiser keeps updating the parameters.
        """
        return {name: parameter.data.copy() for name, parameter in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy `state` into the parameters (in place, so optimisers keep working).

        Refuses with a LoadError naming every missing key, unexpected key and wrong shape, and
        then changes nothing. With strict=False, missing and unexpected keys are skipped and
        returned instead; a wrong shape is still refused. This is also the way to set weights
        from numpy arrays with their shapes checked: `model.load_state_dict({"layers.0.W": W1,
        "layers.0.b": b1}, strict=False)`.
        """
        arrays = {name: as_array(state[name]) for name, _ in self.named_parameters() if name in state}
        keys = self._check(arrays, state, strict, f"{type(self).__name__}.load_state_dict")
        self._copy_in(arrays)
        return keys

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state dict to an .npz file (no pickles), replacing `path` in one step.

        The arrays go to a temporary file beside `path`, named after this machine and process,
        which is then renamed over `path`: a crash mid-write leaves the old file intact, never a
        half-written one, and a later save into the directory deletes the temporary files of
        processes that have died. A file that is replaced keeps its permissions.

        Refuses with a FileExistsError, writing nothing, a `path` that is a directory, a device,
        a FIFO or anything else but a regular file, and a symbolic link: a save neither follows a
        link (in a shared directory, someone else's link could aim it at any file you can write)
        nor replaces it. To write through a link, save to `os.path.realpath(path)`.
        """
        state = self.state_dict()
        target = os.fspath(path)
        existing = _replaceable(target, f"{type(self).__name__}.save {target!r}")
        _remove_leftovers(os.path.dirname(target) or ".")
        temporary = _temporary_path(target)
        # O_EXCL creates the file or fails, following no link planted in its place. A new file
        # gets 0o666 less the umask from the kernel, as open() would give it.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(temporary, flags, 0o666 if existing is None else 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                write_npz(file, state)
                file.flush()
                os.fsync(file.fileno())
            if existing is not None:
                os.chmod(temporary, existing.st_mode & 0o777)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
            raise

    def load(self: Self, path: str | os.PathLike[str]) -> Self:
        """Read a file written by `save` (or numpy's savez) into the parameters; returns self.

        Every member's .npy header (name, dtype, shape) is checked before any data is read or
        decompressed, so a small file cannot make a large allocation. Refuses with a LoadError,
        changing nothing, what is not a regular file (a FIFO, a device, a directory), a file that
        is truncated or not an .npz, a member whose declared size does not fit its sizes in the
        archive, pickled objects, and arrays that do not match the parameters by name and shape.
        A symbolic link is followed: reading through one is harmless.
        """
        where = f"{type(self).__name__}.load {os.fspath(path)!r}"
        with _open_npz(path, where) as (archive, members):
            headers = {name: _read_header(archive, member, where) for name, member in members.items()}
            self._check(headers, headers, True, where)
            arrays = {name: _read_array(archive, header, where) for name, header in headers.items()}
        self._copy_in(arrays)
        return self

    def _check(
        self, values: Mapping[str, np.ndarray | _Header], names: Collection[str], strict: bool, where: str
    ) -> IncompatibleKeys:
        """Refuse with a LoadError naming every problem, unless `names` and the `values` given for
        parameters (arrays, or the headers of saved ones) fit them by name, shape and dtype."""
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in names]
        unexpected = [name for name in names if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for name, parameter in own.items():
            if name not in values:
                continue
            value = values[name]
            if value.dtype.kind not in "fiub":
                problems.append(f"{name} holds {value.dtype} values, not numbers")
            elif value.shape != parameter.shape:
                problems.append(
                    f"{name} has shape {value.shape} but the model's {parameter.label} has {parameter.shape}"
                )
        if problems:
            raise LoadError(f"{where}: {'; '.join(problems)}; nothing was loaded")
        return IncompatibleKeys(missing, unexpected)

    def _copy_in(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Copy checked arrays into the parameters of those names."""
        own = dict(self.named_parameters())
        for name, array in arrays.items():
            own[name].data[...] = array


# --- the .npz file: writing in one step, reading with every header checked first -------------


def write_npz(file: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """The arrays as an .npz archive (the format numpy.savez writes), refusing object arrays."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(status: os.stat_result, where: str, error: type[Exception]) -> None:
    """Refuse anything but a regular file: reading a FIFO waits forever, a device never ends, and
    replacing one (as root, /dev/null) breaks the system."""
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS if test(status.st_mode)), "a special file")
        raise error(f"{where}: this is {kind}, not a regular file")


def _replaceable(target: str, where: str) -> os.stat_result | None:
    """The status of the regular file a save may replace at `target`, or None if there is none."""
    try:
        status = os.lstat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(status.st_mode):
        raise FileExistsError(
            f"{where}: this is a symbolic link (to {os.readlink(target)!r}), which save neither follows "
            "nor replaces; save to the file itself, or remove the link"
        )
    _check_regular(status, where, FileExistsError)
    return status


def _host() -> str:
    """This machine's name as a temporary file carries it (letters, digits, dots and dashes)."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())


def _temporary_path(target: str) -> str:
    """A fresh path for save's temporary file beside `target`, named after this machine and process."""
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{name}.saving-{_host()}-{os.getpid()}-{secrets.token_hex(4)}.tmp")


# What _temporary_path makes. HOST may hold dashes, so PID is the last number but one.
_LEFTOVER = re.compile(r"\..*\.saving-(?P<host>.*)-(?P<pid>[0-9]+)-[0-9a-f]{8}\.tmp")


def _remove_leftovers(directory: str) -> None:
    """Delete the temporary files that saves on this machine left in `directory` when their
    process died mid-write (killed, or the machine stopped); a live process's are kept."""
    try:
        entries = list(os.scandir(directory))
    except OSError:  # a directory that can be written but not listed: tidying is only a courtesy
        return
    host = _host()
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry.name)
        # Another machine's pid means nothing here (a directory may be shared over the network).
        if (
            match
            and match["host"] == host
            and entry.is_file(follow_symlinks=False)
            and _process_is_gone(int(match["pid"]))
        ):
            with contextlib.suppress(OSError):  # tidied by another save already, or not ours to delete
                os.remove(entry.path)


def _process_is_gone(pid: int) -> bool:
    """Whether no process `pid` runs on this machine. Never on Windows, where os.kill ends a
    process rather than asking about it: leftovers stay there."""
    if os.name == "nt":
        return False
    try:
        os.kill(pid, 0)  # signal 0 sends nothing: it only asks whether the process exists
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # another user's process (PermissionError), or no pid at all
        return False
    return False


class _Header(NamedTuple):
    """What an .npy member of an archive declares, read before its data."""

    member: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # where the data starts, after the header
    nbytes: int


# Reading a member fails in all these ways when the archive is damaged or truncated.
_DAMAGED = (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error)
# Deflate turns at most 1032 bytes into one compressed byte (a 258-byte match costs 2 bits).
_DEFLATE_MOST = 1032
# The magic string with the version, 2.0's 4-byte header length, and the 10,000 characters
# numpy's header readers accept: a member's header is read from at most this many first bytes.
_HEADER_MOST = np.lib.format.MAGIC_LEN + 4 + 10_000
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _open_regular(path: str | os.PathLike[str], where: str) -> BinaryIO:
    """`path` opened for reading, refused with a LoadError unless it is a regular file."""
    _check_regular(os.stat(path), where, LoadError)
    # Non-blocking: should a FIFO have taken the file's place since the check, the open returns
    # at once instead of waiting for a writer, and the second check refuses it.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        _check_regular(os.fstat(descriptor), where, LoadError)
    except BaseException:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


@contextlib.contextmanager
def _open_npz(
    path: str | os.PathLike[str], where: str
) -> Iterator[tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]]:
    """The archive at `path` and its members by array name, once each member's sizes are checked."""
    with _open_regular(path, where) as file:
        if file.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX:
            raise LoadError(f"{where}: this is a single .npy array, not an .npz archive of parameters")
        try:
            archive = zipfile.ZipFile(file)
        except _DAMAGED as error:
            raise LoadError(
                f"{where}: not an .npz archive, or truncated ({type(error).__name__}: {error})"
            ) from None
        with archive:
            size = os.fstat(file.fileno()).st_size
            members: dict[str, zipfile.ZipInfo] = {}
            for member in archive.infolist():
                name = member.filename.removesuffix(".npy")
                if name in members:
                    raise LoadError(f"{where}: member {member.filename!r} appears twice")
                _check_sizes(member, size, f"{where}: member {member.filename!r}")
                members[name] = member
            yield archive, members


def _check_sizes(member: zipfile.ZipInfo, size: int, where: str) -> None:
    """Refuse a member that is not a plain .npy, or whose sizes in the archive cannot be true."""
    if not member.filename.endswith(".npy"):
        raise LoadError(f"{where}: not an .npy array")
    if member.flag_bits & 0x1:
        raise LoadError(f"{where}: encrypted, which numpy never does")
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise LoadError(
            f"{where}: compressed with method {member.compress_type}; numpy writes only stored (0) "
            "or deflated (8) members"
        )
    if member.compress_size > size:
        raise LoadError(
            f"{where}: claims {member.compress_size} compressed bytes, more than the file's {size}"
        )
    stored = member.compress_type == zipfile.ZIP_STORED
    if member.file_size > (member.compress_size if stored else (member.compress_size + 1) * _DEFLATE_MOST):
        raise LoadError(
            f"{where}: claims {member.file_size} bytes, more than its {member.compress_size} "
            f"{'stored' if stored else 'deflated'} bytes can hold"
        )


@contextlib.contextmanager
def _reading(where: str) -> Iterator[None]:
    """Report a member that zipfile or numpy cannot read as a LoadError naming it."""
    try:
        yield
    except LoadError:
        raise
    except _DAMAGED as error:
        raise LoadError(f"{where}: truncated or damaged ({type(error).__name__}: {error})") from None


def _read_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> _Header:
    """The shape and dtype a member declares, read from its first bytes and checked against its size."""
    where = f"{where}: member {member.filename!r}"
    with _reading(where):
        with archive.open(member) as stream:
            start = io.BytesIO(stream.read(_HEADER_MOST))
        version = np.lib.format.read_magic(start)
        if version not in _HEADER_READERS:
            raise LoadError(f"{where}: .npy format {version[0]}.{version[1]}, not 1.0 or 2.0")
        shape, fortran_order, dtype = _HEADER_READERS[version](start)
    if dtype.hasobject:
        raise LoadError(
            f"{where}: holds pickled Python objects, which are never loaded (unpickling can run code)"
        )
    if any(size < 0 for size in shape):
        raise LoadError(f"{where}: declares shape {shape}, with a negative size")
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow, however large the shape
    if nbytes != member.file_size - start.tell():
        raise LoadError(
            f"{where}: declares {dtype} values of shape {shape} ({nbytes} bytes) but holds "
            f"{member.file_size - start.tell()} bytes after its header"
        )
    return _Header(member, shape, dtype, fortran_order, start.tell(), nbytes)


def _read_array(archive: zipfile.ZipFile, header: _Header, where: str) -> np.ndarray:
    """The data of a member whose header has been checked against the model (so its size is bounded)."""
    where = f"{where}: member {header.member.filename!r}"
    with _reading(where), archive.open(header.member) as stream:
        stream.seek(header.offset)
        data = stream.read(header.nbytes)  # its last byte ends the member, where zipfile checks the CRC
    if len(data) != header.nbytes:
        raise LoadError(f"{where}: truncated ({len(data)} of {header.nbytes} bytes)")
    return np.frombuffer(data, header.dtype).reshape(header.shape, order="F" if header.fortran_order else "C")


class ModuleList(Module):
    """A list of modules, registered as "0", "1", ... so their parameters are named `0.W`."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end; returns self."""
        if not isinstance(module, Module):
            hint = (
                f" (pass an instance: {module.__name__}())"
                if isinstance(module, type) and issubclass(module, Module)
                else ""
            )
            raise TypeError(f"ModuleList: item {len(self)} is {module!r}, not a Module{hint}")
        setattr(self, str(len(self)), module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
