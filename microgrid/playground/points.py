"""The playground's data: the built-in datasets, a CSV of the user's, and points clicked onto the plot.

Every dataset has two classes (labels 0.0 and 1.0) in the course's layout, X (2, m) and Y (1, m).
A CSV is read here, never by numpy's loaders, so that every refusal names the line and the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from microgrid import data
from microgrid.playground.settings import MAX_POINTS, SettingError, Settings, number, number_text, shown

MAX_CSV_BYTES = 200_000
MAX_COORDINATE = 1e4  # beyond this a point is a typo, and the boundary plot would be all margin
MIN_CLASS_POINTS = 2  # each class needs a few points for a boundary to mean anything

MAKERS = {
    "flower": lambda m, noise, seed: data.flower(m=m, noise=noise, seed=seed),
    "circles": lambda m, noise, seed: data.circles(m=m, noise=noise, seed=seed),
    "moons": lambda m, noise, seed: data.moons(m=m, noise=noise, seed=seed),
    "spirals": lambda m, noise, seed: data.spirals(m=m, noise=noise, seed=seed),
    "xor": lambda m, noise, seed: data.xor(m=m, noise=noise, seed=seed),
    "blobs": lambda m, noise, seed: data.blobs(m=m, noise=noise, seed=seed),
}


def dataset(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The built-in dataset the settings name, as float64 X (2, m) and Y (1, m) of 0.0 and 1.0."""
    X, Y = MAKERS[settings.dataset](settings.points, settings.noise, settings.seed)
    return X, Y.astype(np.float64)


def parse_csv(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """X (2, m) and Y (1, m) from CSV lines `x1,x2,label` (label 0 or 1), an optional header first.

    Refused with a SettingError naming the line: a file over MAX_CSV_BYTES or MAX_POINTS rows,
    text that is not UTF-8, a row without three fields, a value that is not a finite number, a
    coordinate beyond ±MAX_COORDINATE, a label other than 0 or 1, or fewer than two points of a class.
    """
    if len(raw) > MAX_CSV_BYTES:
        raise SettingError(
            "csv", f"The CSV file is {len(raw):,} bytes; the playground takes at most {MAX_CSV_BYTES:,}"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SettingError(
            "csv",
            f"The CSV file is not UTF-8 text (byte {error.start} cannot be read): save it as CSV UTF-8",
        ) from None
    lines = [(at, line.strip()) for at, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if lines and _is_header(lines[0][1]):
        lines = lines[1:]
    if not lines:
        raise SettingError("csv", "The CSV file has no rows; expected lines x1,x2,label with label 0 or 1")
    if len(lines) > MAX_POINTS:
        raise SettingError(
            "csv", f"The CSV file has {len(lines):,} rows; the playground takes at most {MAX_POINTS:,}"
        )
    rows = [_row(at, line) for at, line in lines]
    labels = [row[2] for row in rows]
    for label in (0.0, 1.0):
        count = labels.count(label)
        if count < MIN_CLASS_POINTS:
            raise SettingError(
                "csv",
                f"The CSV file has {count} point{'' if count == 1 else 's'} of class {label:g}; each class "
                f"needs at least {MIN_CLASS_POINTS} (rows x1,x2,label with label 0 or 1)",
            )
    table = np.array(rows, dtype=np.float64)
    return table[:, :2].T.copy(), table[:, 2:].T.copy()


def _is_header(line: str) -> bool:
    """A first line such as `x1,x2,label`: three fields, none a number. A line of data with another
    separator (`0;1;1`, tabs) is no header: refused as line 1, it shows the user what went wrong."""
    fields = line.split(",")
    return len(fields) == 3 and all(number_text(field) is None for field in fields)


def _row(line_number: int, line: str) -> tuple[float, float, float]:
    """One line `x1,x2,label`, checked."""
    fields = [field.strip() for field in line.split(",")]
    if len(fields) != 3:
        raise SettingError(
            "csv", f"CSV line {line_number}: expected 3 values x1,x2,label, got {len(fields)}: {line[:40]!r}"
        )
    return _checked(fields, f"CSV line {line_number}: ", "csv", lambda field: str(field)[:20])


def point(values: object) -> tuple[float, float, float]:
    """A clicked point {x1, x2, label}: coordinates within ±MAX_COORDINATE, label 0 or 1."""
    if not isinstance(values, dict):
        raise SettingError("point", f"A point must be {{x1, x2, label}}, got {type(values).__name__}")
    return _checked([values.get(name) for name in ("x1", "x2", "label")], "A point's ", "point", shown)


def _checked(
    raw: Sequence[object], where: str, field: str, quote: Callable[[object], str]
) -> tuple[float, float, float]:
    """x1, x2 and the label read from `raw` (a CSV row's fields or a clicked point's values):
    coordinates within ±MAX_COORDINATE, the label 0 or 1; a message starts with `where` and names
    the page's `field`, quoting the value as `quote` shows it."""
    values = []
    for name, item in zip(("x1", "x2", "label"), raw):
        value = number(item, f"{where}{name}", field)
        if abs(value) > MAX_COORDINATE:
            raise SettingError(field, f"{where}{name} must be within ±{MAX_COORDINATE:g}, got {quote(item)}")
        values.append(value)
    if values[2] not in (0.0, 1.0):
        raise SettingError(field, f"{where}label must be 0 or 1, got {quote(raw[2])}")
    return values[0], values[1], values[2]
