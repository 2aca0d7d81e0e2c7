"""Exceptions and warnings that say which op, which tensors and which shapes went wrong."""

import sys
import warnings

# The name pip knows microgrid by (pyproject.toml): "microgrid" on PyPI is another project.
DISTRIBUTION = "microgrid-autograd"


def install_extra(extra: str) -> str:
    """How to get one of the optional extras, said the same way in every message: from a clone
    (or an unpacked source), since microgrid-autograd is not on PyPI yet."""
    return f'pip install "/path/to/microgrid[{extra}]"'


def cannot_broadcast(*shapes: tuple[int, ...]) -> str:
    """The reason every broadcasting error gives: `shapes (4, 400) and (3, 1) cannot be broadcast`."""
    return f"shapes {' and '.join(map(str, shapes))} cannot be broadcast (each axis must match or be 1)"


class ShapeError(ValueError):
    """An op got shapes it cannot combine: `matmul: W[2] (1, 4) @ A[1] (3, 400): ...`."""


class GradError(RuntimeError):
    """Backward was asked for something the graph cannot give."""


class AnomalyError(FloatingPointError):
    """Under `detect_anomaly()`, an op produced NaN or inf."""


class LoadError(ValueError):
    """A state dict or a saved file that does not fit the model or optimiser; nothing was changed."""


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong kind, such as a string or a bool where a number is due.

    A TypeError, as Python has it, and a ValueError too, so that `except ValueError` catches every
    refused setting, whether its kind or its value is wrong.
    """


# --- warnings ----------------------------------------------------------------------------------


class BroadcastWarning(UserWarning):
    """An elementwise op broadcast a row (1, k) against a column (k, 1) into a k × k result:
    almost always labels mixed up with predictions. Silence it with the warnings module."""


class NumericalWarning(RuntimeWarning):
    """An op's numpy computation overflowed, divided by zero or made NaN (reported once per line)."""


# numpy warns from inside the ufunc an op's forward calls, so its warning points at a line of
# microgrid/ops.py (or function.py, which calls an op's ufunc itself). This filter makes that
# warning an exception there, which Op.apply catches and reports as a NumericalWarning at the
# user's own line instead. Only warnings attributed to these two modules are affected; filters
# a test runner installs per test take precedence over it.
OPS_MODULE = r"microgrid\.(ops|function)$"


def report_numerical_warnings() -> None:
    """(Re)install the filter that turns numpy's warnings inside microgrid's ops into reports."""
    warnings.filterwarnings("error", category=RuntimeWarning, module=OPS_MODULE)


_reported: set[tuple[str, int]] = set()  # the lines a NumericalWarning has been reported for


def warn_at_call_site(message: str, category: type[Warning], once: bool = False) -> None:
    """Warn at the first line outside microgrid (the user's call), as warnings dedupes per line.

    once=True: at most one warning of this kind per line, whatever the message says.
    """
    frame = sys._getframe(1)
    while frame.f_back is not None and _inside_microgrid(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
    place = (frame.f_code.co_filename, frame.f_lineno)
    if once:
        if place in _reported:
            return
        _reported.add(place)
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    module = frame.f_globals.get("__name__", "<unknown>")
    warnings.warn_explicit(message, category, place[0], place[1], module=module, registry=registry)


def _inside_microgrid(module: str) -> bool:
    return (module == "microgrid" or module.startswith("microgrid.")) and not module.startswith(
        "microgrid.demos"
    )


class ReplayError(RuntimeError):
    """mg.replay was asked to record what it cannot replay (Python that reads a tensor's value), or
    a replay met what its recording cannot follow (a mask that picks another number of entries)."""
