"""Argument checks for settings such as a learning rate, a layer's size or a seed, refused in one form.

Every refusal reads `{owner}: {name} must be {what is allowed}, got {value!r}`. A value of the
wrong kind (a string, a bool, a float where an int is due) raises an `ArgumentTypeError`, which
is both a TypeError and a ValueError; a number out of range raises a ValueError.

>>> number("Adam", "lr", 0.01, at_least=0)
0.01
>>> number("Adam", "lr", -1, at_least=0)
Traceback (most recent call last):
ValueError: Adam: lr must be a finite number ≥ 0, got -1
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TypeGuard

import numpy as np

from microgrid.errors import ArgumentTypeError


def is_number(value: object) -> TypeGuard[float]:
    """True for a real number, numpy's included; False for a bool, a string or an array."""
    return isinstance(value, Real) and not isinstance(value, bool)


def number(
    owner: str,
    name: str,
    value: object,
    *,
    at_least: float = -math.inf,
    above: float = -math.inf,
    at_most: float = math.inf,
    below: float = math.inf,
) -> float:
    """`value` as a float, refused unless it is a finite number within the bounds given (at most
    one lower and one upper).

    >>> number("Dropout", "keep_prob", 1, above=0, at_most=1)
    1.0
    >>> number("SGD", "momentum", 1.0, at_least=0, below=1)
    Traceback (most recent call last):
    ValueError: SGD: momentum must be a number in [0, 1), got 1.0
    """
    allowed = _allowed(at_least, above, at_most, below)
    if not is_number(value):
        raise ArgumentTypeError(_refusal(owner, name, allowed, value))
    # NaN fails every comparison, and the open defaults -inf < value < inf refuse ±inf.
    if not (at_least <= value <= at_most and above < value < below):
        raise ValueError(_refusal(owner, name, allowed, value))
    return float(value)


def count(owner: str, name: str, value: object, *, at_least: int = 1, alternatives: str = "") -> int:
    """`value` as an int, refused unless it is a whole number ≥ `at_least` (numpy's included, a bool not).

    `alternatives` names what else the owner accepts, for the message only.

    >>> count("minibatches", "batch_size", True)
    Traceback (most recent call last):
    microgrid.errors.ArgumentTypeError: minibatches: batch_size must be an int ≥ 1, got True
    """
    allowed = f"an int ≥ {at_least}" + (f", {alternatives}" if alternatives else "")
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ArgumentTypeError(_refusal(owner, name, allowed, value))
    if value < at_least:
        raise ValueError(_refusal(owner, name, allowed, value))
    return int(value)


def _allowed(at_least: float, above: float, at_most: float, below: float) -> str:
    """The numbers allowed, in words: `a finite number ≥ 0`, or `a number in (0, 1]` between two bounds."""
    opening, low_sign, low = ("(", ">", above) if math.isfinite(above) else ("[", "≥", at_least)
    closing, high_sign, high = (")", "<", below) if math.isfinite(below) else ("]", "≤", at_most)
    if math.isfinite(low) and math.isfinite(high):
        return f"a number in {opening}{low:g}, {high:g}{closing}"
    bounds = [
        f"{sign} {bound:g}" for sign, bound in ((low_sign, low), (high_sign, high)) if math.isfinite(bound)
    ]
    return " ".join(["a finite number", *bounds])


def _refusal(owner: str, name: str, allowed: str, value: object) -> str:
    return f"{owner}: {name} must be {allowed}, got {value!r}"
