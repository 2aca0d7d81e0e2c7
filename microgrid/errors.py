"""Exceptions that say which op, which tensors and which shapes went wrong."""


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
