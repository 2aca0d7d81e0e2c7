"""What the picture tests share: DOT text read as nodes, edges and clusters, and the lecture's graph."""

from __future__ import annotations

import re

import microgrid as mg

NODE = re.compile(r"^\t+(\w+) \[(.*)\]$", re.M)
EDGE = re.compile(r"^\t+(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)
KEYWORDS = {"graph", "node", "edge"}


def dot_nodes(source: str) -> dict[str, str]:
    """Node key -> the node statement's attributes, from DOT text."""
    return {key: attrs for key, attrs in NODE.findall(source) if key not in KEYWORDS}


def dot_edges(source: str) -> list[tuple[str, str, str]]:
    """(tail, head, attributes) of every edge statement."""
    return EDGE.findall(source)


def key_of(source: str, text: str) -> str:
    """The key of the one node whose label contains `text` in bold (its title)."""
    found = [key for key, attrs in dot_nodes(source).items() if f"<B>{text}" in attrs]
    assert len(found) == 1, f"{len(found)} nodes titled {text!r}"
    return found[0]


def cluster_body(source: str, label: str) -> str:
    """The DOT text inside the cluster labelled `label`, nested clusters included."""
    start = source.rindex("{", 0, source.index(f"label=<{label}>"))
    depth = 0
    for end in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[end], 0)
        if depth == 0:
            return source[start:end]
    raise AssertionError(f"cluster {label!r} is not closed")


def producer(source: str, key: str) -> str:
    """The op node whose edge leads into `key` (data-flow direction, also when mirrored)."""
    for tail, head, attrs in dot_edges(source):
        if head == key and "dir=back" not in attrs and tail.startswith("op_"):
            return tail
        if tail == key and "dir=back" in attrs:
            return head
    raise AssertionError(f"nothing produces {key}")


def lecture() -> tuple[mg.Tensor, ...]:
    """J = 3(a + b·c) at a = 5, b = 3, c = 2, with the lecture's names u = b·c, v = a + u."""
    a = mg.tensor(5.0, requires_grad=True, name="a")
    b = mg.tensor(3.0, requires_grad=True, name="b")
    c = mg.tensor(2.0, requires_grad=True, name="c")
    u = b * c
    u.name = "u"
    v = a + u
    v.name = "v"
    J = 3 * v
    J.name = "J"
    return J, a, b, c, u, v


def central_difference(f, x: float, h: float = 1e-6) -> float:  # type: ignore[no-untyped-def]
    return (f(x + h) - f(x - h)) / (2 * h)
