"""Exceptions that say which op, which tensors and which shapes went wrong."""


class ShapeError(ValueError):
    """An op got shapes it cannot combine: `matmul: W[2] (1, 4) @ A[1] (3, 400): ...`."""


class GradError(RuntimeError):
    """Backward was asked for something the graph cannot give."""


class AnomalyError(FloatingPointError):
    """Under `detect_anomaly()`, an op produced NaN or inf."""
