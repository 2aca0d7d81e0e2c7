"""The palette: node kinds and gradient-check results stay apart for a reader with deuteranopia.

Colours are compared as CIE L*a*b* (CIE76 ΔE) after the Machado 2009 deuteranopia simulation;
ΔE ≈ 2 is the smallest difference people notice, and 10 is plain at a glance.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from microgrid.viz import dot

DISTINCT = 10.0  # ΔE
# Fills a reader must tell apart by colour: the node kinds drawn as same-size boxes, and the
# gradient check's results. Ops (ellipses), constants and partial results (small, dashed or
# unfilled) and saved values (dotted) differ by shape; a parameter that was checked takes the
# check's fill, so the parameter's own colour never meets the check's.
KINDS = {kind: dot.STYLES[kind]["fillcolor"] for kind in ("input", "parameter", "output", "gradient")}
CHECKS = {"passed": dot.GRADCHECK_PASSED, **{text: fill for _, fill, text in dot.GRADCHECK_BANDS}}


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB 0..255 as CIE L*a*b* (D65)."""
    c = srgb / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    t = to_xyz @ linear / np.array([0.9505, 1.0, 1.089])  # relative to the white point
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def difference(a: str, b: str, seen_by: str) -> float:
    """ΔE between two colours as a reader with normal vision or with deuteranopia sees them."""
    x, y = rgb(a), rgb(b)
    if seen_by == "deuteranopia":
        x, y = dot.as_deuteranope_sees(x), dot.as_deuteranope_sees(y)
    return float(np.linalg.norm(lab(x) - lab(y)))


PAIRS = [
    *itertools.combinations(KINDS.items(), 2),
    *itertools.combinations(CHECKS.items(), 2),
    *((("output", KINDS["output"]), check) for check in CHECKS.items()),
    *((("gradient", KINDS["gradient"]), check) for check in CHECKS.items()),
]


@pytest.mark.parametrize("seen_by", ["normal vision", "deuteranopia"])
@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a[0]}-{b[0]}" for a, b in PAIRS])
def test_fills_stay_distinct(first: tuple[str, str], second: tuple[str, str], seen_by: str) -> None:
    assert difference(first[1], second[1], seen_by) >= DISTINCT


def test_the_simulation_merges_red_and_green_as_deuteranopia_does() -> None:
    red, green = "#d62728", "#2ca02c"  # matplotlib's red and green: the classic clash
    assert difference(red, green, "normal vision") > 60
    assert difference(red, green, "deuteranopia") < difference(red, green, "normal vision") / 3


def test_the_palette_is_okabe_ito() -> None:
    for fill in [*KINDS.values(), *CHECKS.values()]:
        assert any(
            fill == dot.tint(colour, strength)
            for colour in dot.OKABE_ITO.values()
            for strength in np.arange(0, 1.001, 0.01).round(2)
        ), fill


def test_pass_and_fail_differ_by_mark_and_border_not_only_by_colour() -> None:
    passed, failed = dot.PASSED_BORDER, dot.FAILED_BORDER
    assert passed.get("peripheries") == "2" and "peripheries" not in failed  # double border on a pass
    assert float(failed["penwidth"]) >= 2.5  # a thick (and dashed) border on a failure
    assert all(text.startswith("✗") for _, _, text in dot.GRADCHECK_BANDS)
