"""The playground's settings: every value the page sends, checked here, refused with a message the page shows.

The page sends what the user typed, as text or numbers; `parse` turns it into a `Settings` or raises a
`SettingError` that names the field and says what is allowed, e.g. `Units in hidden layer 2 must be a
whole number from 1 to 32, got 1000000000`. Nothing the page sends reaches the engine unchecked.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DATASETS = ("flower", "circles", "moons", "spirals", "xor", "blobs", "custom")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "identity")
# The course's initialisations: zeros (symmetry never breaks), random × 0.01, random × 10
# (saturated tanh, exploding), Xavier (variance 1/n_in) and He (variance 2/n_in).
INITS = ("zeros", "random", "large", "xavier", "he")
OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")
MAX_LAYERS = 6
MAX_UNITS = 32
MAX_POINTS = 2000  # of a dataset, however it is made: generated, uploaded or clicked
MAX_SPEED = 1000  # steps per second the playground aims at; the engine alone does thousands
MAX_SEED = 2**31 - 1


class SettingError(ValueError):
    """A value from the page that the playground refuses; `field` is the control it came from."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Layer:
    """One hidden layer: its number of units and its activation."""

    units: int
    activation: str


@dataclass(frozen=True)
class Settings:
    """Everything that decides a run; the defaults are the course's planar exercise."""

    dataset: str = "flower"
    points: int = 400
    noise: float = 0.2
    test_fraction: float = 0.2
    layers: tuple[Layer, ...] = (Layer(4, "tanh"),)
    init: str = "xavier"
    optimizer: str = "gd"
    lr: float = 1.2
    decay: float = 0.0
    batch_size: int = 0  # 0: the whole training set in every step (batch gradient descent)
    l2: float = 0.0
    keep_prob: float = 1.0
    seed: int = 1
    speed: int = 60

    def sizes(self) -> list[int]:
        """[n_x, n[1], …, n[L]]: two inputs, the hidden layers, one output unit."""
        return [2, *(layer.units for layer in self.layers), 1]

    def as_dict(self) -> dict[str, Any]:
        """The settings as the page reads them (JSON)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["layers"] = [{"units": layer.units, "activation": layer.activation} for layer in self.layers]
        return values


def choices() -> dict[str, Any]:
    """What the page's menus offer, and the limits it shows."""
    return {
        "datasets": DATASETS,
        "activations": ACTIVATIONS,
        "inits": INITS,
        "optimizers": OPTIMIZERS,
        "max_layers": MAX_LAYERS,
        "max_units": MAX_UNITS,
    }


# What changes the data, the network's shape or its starting point: a new run from step 0.
RESTARTS = ("dataset", "points", "noise", "test_fraction", "layers", "init", "keep_prob", "seed")
# What changes how a step is taken: a new optimiser (its moving averages start again), same weights.
# A new learning rate or speed changes neither.
RETRAINS = ("optimizer", "decay", "batch_size", "l2")


def parse(values: Mapping[str, Any], base: Settings | None = None) -> Settings:
    """`base` (the defaults when None) with the fields in `values` changed, each one checked."""
    base = Settings() if base is None else base
    if not isinstance(values, Mapping):
        raise SettingError("", f"Settings must be a JSON object, got {type(values).__name__}")
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(str(key) for key in values if key not in known)
    if unknown:
        raise SettingError(
            unknown[0], f"Unknown setting {unknown[0]!r}; the settings are {', '.join(sorted(known))}"
        )
    changes: dict[str, Any] = {}
    for name, value in values.items():
        changes[name] = _CHECKS[name](value)
    settings = dataclasses.replace(base, **changes)
    if settings.dataset == "custom" and base.dataset != "custom" and "dataset" in values:
        raise SettingError(
            "dataset", "Choose “custom” by uploading a CSV file or clicking points onto the plot"
        )
    return settings


# --- the checks, one per field -----------------------------------------------------------------


# The numbers a person types: digits, a point, an exponent. Python's float() also reads "1_000" and
# "٣" (Arabic-Indic three), which a learner would not expect the page or a CSV file to accept.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_NOT_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)


def number_text(text: str) -> float | None:
    """The number a person typed ("0.1", "-2", "1e-3", and "nan" or "inf", which `number` refuses by
    name), or None for any other text."""
    text = text.strip()
    if _NOT_FINITE.fullmatch(text) or _NUMBER.fullmatch(text):
        return float(text)
    return None


def number(text: object, label: str, name: str) -> float:
    """A finite number from a number or its text ("0.1", "1e-3"), or a SettingError for `name` that
    starts with `label`; NaN and infinity are refused. The one reader of numbers from the page, a
    CSV file and clicked points."""
    if isinstance(text, bool):
        raise SettingError(name, f"{label} must be a number, got {text!r}")
    if isinstance(text, int):
        # float() of a 400-digit int overflows; any int this large is out of every range anyway.
        value = float(max(-(10**300), min(text, 10**300)))
    elif isinstance(text, float):
        value = text
    elif isinstance(text, str) and len(text.strip()) > 40:
        raise SettingError(name, f"{label} must be a number of at most 40 characters, got {shown(text)}")
    elif isinstance(text, str) and (typed := number_text(text)) is not None:
        value = typed
    else:
        raise SettingError(name, f"{label} must be a number, got {shown(text)}")
    if not math.isfinite(value):
        raise SettingError(name, f"{label} must be a finite number, got {shown(text)}")
    return value + 0.0  # -0.0 becomes 0.0: the page would show "-0"


def shown(value: object) -> str:
    """A value as a message quotes it, cut short: a page may send anything."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _in_range(name: str, label: str, low: float, high: float, *, low_open: bool = False) -> Any:
    """A check for a number in [low, high] (or (low, high] with low_open)."""

    def check(value: object) -> float:
        found = number(value, label, name)
        if found < low or found > high or (low_open and found == low):
            opening = "(" if low_open else "["
            raise SettingError(
                name, f"{label} must be a number in {opening}{low:g}, {high:g}], got {shown(value)}"
            )
        return found

    return check


def _whole(name: str, label: str, low: int, high: int) -> Any:
    """A check for a whole number from low to high."""

    def check(value: object) -> int:
        found = number(value, label, name)
        if found != int(found) or not low <= found <= high:
            raise SettingError(
                name, f"{label} must be a whole number from {low} to {high}, got {shown(value)}"
            )
        return int(found)

    return check


def _choice(name: str, label: str, choices: tuple[str, ...]) -> Any:
    def check(value: object) -> str:
        if value not in choices:
            raise SettingError(name, f"{label} must be one of {', '.join(choices)}, got {shown(value)}")
        return str(value)

    return check


def _layers(value: object) -> tuple[Layer, ...]:
    """The hidden layers: a list of {units, activation}, at most MAX_LAYERS of them."""
    if not isinstance(value, list):
        raise SettingError("layers", f"The hidden layers must be a list, got {shown(value)}")
    if len(value) > MAX_LAYERS:
        raise SettingError("layers", f"At most {MAX_LAYERS} hidden layers, got {len(value)}")
    layers = []
    for number, layer in enumerate(value, start=1):
        if not isinstance(layer, Mapping):
            raise SettingError(
                "layers", f"Hidden layer {number} must be {{units, activation}}, got {shown(layer)}"
            )
        units = _whole(f"units{number}", f"Units in hidden layer {number}", 1, MAX_UNITS)(layer.get("units"))
        activation = _choice(f"activation{number}", f"The activation of hidden layer {number}", ACTIVATIONS)(
            layer.get("activation")
        )
        layers.append(Layer(units, activation))
    return tuple(layers)


_CHECKS = {
    "dataset": _choice("dataset", "The dataset", DATASETS),
    "points": _whole("points", "The number of points", 10, MAX_POINTS),
    "noise": _in_range("noise", "The noise", 0, 2),
    "test_fraction": _in_range("test_fraction", "The test fraction", 0, 0.9),
    "layers": _layers,
    "init": _choice("init", "The initialisation", INITS),
    "optimizer": _choice("optimizer", "The optimiser", OPTIMIZERS),
    "lr": _in_range("lr", "The learning rate", 0, 10, low_open=True),
    "decay": _in_range("decay", "The learning-rate decay", 0, 10),
    "batch_size": _whole("batch_size", "The batch size (0 for the whole training set)", 0, MAX_POINTS),
    "l2": _in_range("l2", "L2 λ", 0, 100),
    "keep_prob": _in_range("keep_prob", "keep_prob", 0, 1, low_open=True),
    "seed": _whole("seed", "The seed", 0, MAX_SEED),
    "speed": _whole("speed", "The speed (steps per second)", 1, MAX_SPEED),
}
