"""Module: the base class of layers and models, with its parameters, modes and saved state.

As in PyTorch, assigning a leaf Tensor with requires_grad=True as an attribute registers it as a
parameter, and assigning a Module registers it as a submodule; `named_parameters()` then names
every parameter by its path of attributes, e.g. `layers.0.W`. Any other value, a computed
tensor such as `self.last = self.layer(x)` included, is a plain attribute.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

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
        return self._load(state, strict, f"{type(self).__name__}.load_state_dict")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state dict to an .npz file (no pickles), replacing `path` in one step.

        The arrays go to a temporary file in the same directory, which is then renamed over
        `path`: a crash mid-write leaves the old file intact, never a half-written one.
        """
        state = self.state_dict()
        target = os.fspath(path)
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=os.path.dirname(target) or "."
        )
        try:
            with os.fdopen(descriptor, "wb") as file:
                write_npz(file, state)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, _mode_for(target))
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
            raise

    def load(self: Self, path: str | os.PathLike[str]) -> Self:
        """Read a file written by `save` into the parameters; returns self.

        Refuses with a LoadError, changing nothing, a file that is truncated or not an .npz,
        holds pickled objects, or whose arrays do not match the parameters by name and shape.
        """
        self._load(read_npz(path), True, f"{type(self).__name__}.load {os.fspath(path)!r}")
        return self

    def _load(self, state: Mapping[str, Any], strict: bool, where: str) -> IncompatibleKeys:
        """Check every entry of `state` against the parameters, then (only if all fit) copy them in."""
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        values: StateDict = {}
        for name, parameter in own.items():
            if name not in state:
                continue
            value = as_array(state[name])
            if value.dtype.kind not in "fiub":
                problems.append(f"{name} holds {value.dtype} values, not numbers")
            elif value.shape != parameter.shape:
                problems.append(
                    f"{name} has shape {value.shape} but the model's {parameter.label} has {parameter.shape}"
                )
            else:
                values[name] = value
        if problems:
            raise LoadError(f"{where}: {'; '.join(problems)}; nothing was loaded")
        for name, value in values.items():
            own[name].data[...] = value
        return IncompatibleKeys(missing, unexpected)


def write_npz(file: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """The arrays as an .npz archive (the format numpy.savez writes), refusing object arrays."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def read_npz(path: str | os.PathLike[str]) -> StateDict:
    """Every array of an .npz file, read with allow_pickle=False; a LoadError if it is damaged."""
    where = f"load {os.fspath(path)!r}"
    damaged = (ValueError, EOFError, OSError, zipfile.BadZipFile)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except damaged as error:
        raise LoadError(
            f"{where}: not an .npz archive, or truncated ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise LoadError(f"{where}: this is a single .npy array, not an .npz archive of parameters")
    arrays = {}
    with loaded as archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except damaged as error:
                if isinstance(error, ValueError) and "allow_pickle" in str(error):
                    raise LoadError(
                        f"{where}: array {name!r} holds pickled Python objects, which are never "
                        "loaded (allow_pickle=False)"
                    ) from None
                raise LoadError(
                    f"{where}: array {name!r} is truncated or damaged ({type(error).__name__}: {error})"
                ) from None
    return arrays


def _mode_for(path: str) -> int:
    """The permissions a file at `path` should get: an existing file's, else the umask's default."""
    with contextlib.suppress(FileNotFoundError):
        return os.stat(path).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
