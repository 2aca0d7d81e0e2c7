"""Make every picture in docs/diagrams.md, so the pictures never drift from the code.

Run:  make docs-images   (or python docs/generate_images.py)

Each example builds its graph with microgrid, exactly as docs/diagrams.md shows, and renders it
into docs/images/. The networks are written with raw tensor ops inside `mg.scope("layer l")`
blocks; `network()` is the one place to switch to `mg.nn.mlp` layers.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import numpy as np
from microgrid.demos.gradcheck import WrongTanh  # the gradcheck demo's deliberate bug

import microgrid as mg
from microgrid.cli import main as cli
from microgrid.viz import render

# --- settings --------------------------------------------------------------------------------
OUT = Path(__file__).resolve().parent / "images"
SEED = 0
M = 400  # examples: the columns of X, as in the course


# --- the graphs ----------------------------------------------------------------------------------


def lecture() -> mg.Tensor:
    """J = 3(a + b·c) at a = 5, b = 3, c = 2, with u = b·c and v = a + u named as in the lecture."""
    a = mg.tensor(5.0, requires_grad=True, name="a")
    b = mg.tensor(3.0, requires_grad=True, name="b")
    c = mg.tensor(2.0, requires_grad=True, name="c")
    u = b * c
    u.name = "u"
    v = a + u
    v.name = "v"
    J = 3 * v
    J.name = "J"
    return J


def data(n_x: int, m: int = M) -> tuple[mg.Tensor, mg.Tensor]:
    """X (n_x, m) and labels Y (1, m): is the point inside the unit circle?"""
    rng = np.random.default_rng(SEED)
    X = rng.uniform(-1.5, 1.5, (n_x, m))
    Y = (np.sum(X**2, axis=0, keepdims=True) < 1.0).astype(float)
    return mg.tensor(X, name="X"), mg.tensor(Y, name="Y")


def cross_entropy(A: mg.Tensor, Y: mg.Tensor) -> mg.Tensor:
    """J = −mean(Y log A + (1 − Y) log(1 − A))."""
    with mg.scope("cost"):
        J = -(Y * mg.log(A) + (1 - Y) * mg.log(1 - A)).mean()
    J.name = "J"
    return J


def logistic_regression() -> mg.Tensor:
    """A = σ(wᵀX + b), J = cross-entropy."""
    X, Y = data(2)
    w = mg.tensor([[0.5], [-0.3]], requires_grad=True, name="w")
    b = mg.tensor(0.1, requires_grad=True, name="b")
    Z = w.T @ X + b
    Z.name = "Z"
    A = mg.sigmoid(Z)
    A.name = "A"
    return cross_entropy(A, Y)


def init(sizes: list[int]) -> list[tuple[mg.Tensor, mg.Tensor]]:
    """(W[l], b[l]) for each layer l, made inside its scope so diagrams group them with the layer."""
    rng = np.random.default_rng(SEED + 1)
    layers = []
    for layer in range(1, len(sizes)):
        with mg.scope(f"layer {layer}"):
            W = rng.standard_normal((sizes[layer], sizes[layer - 1])) / np.sqrt(sizes[layer - 1])
            layers.append(
                (
                    mg.tensor(W, requires_grad=True, name=f"W[{layer}]"),
                    mg.zeros(sizes[layer], 1, requires_grad=True, name=f"b[{layer}]"),
                )
            )
    return layers


def network(
    layers: list[tuple[mg.Tensor, mg.Tensor]], hidden: Callable[[mg.Tensor], mg.Tensor] = mg.tanh
) -> mg.Tensor:
    """Z[l] = W[l] A[l−1] + b[l], A[l] = hidden(Z[l]) (σ in the last layer), J = cross-entropy."""
    X, Y = data(layers[0][0].shape[1])
    A = X
    for layer, (W, b) in enumerate(layers, start=1):
        with mg.scope(f"layer {layer}"):
            Z = W @ A + b
            Z.name = f"Z[{layer}]"
            A = hidden(Z) if layer < len(layers) else mg.sigmoid(Z)
            A.name = f"A[{layer}]"
    return cross_entropy(A, Y)


def walk_example() -> mg.Tensor:
    """w = c·d, u = a·b, J = 2u + 3w: the engine guide's example of the walk's order."""
    a, b, c, d = (
        mg.tensor(value, requires_grad=True, name=name) for value, name in zip((1.0, 2.0, 3.0, 4.0), "abcd")
    )
    w = c * d
    w.name = "w"
    u = a * b
    u.name = "u"
    two_u, three_w = 2 * u, 3 * w
    two_u.name, three_w.name = "2u", "3w"
    J = two_u + three_w
    J.name = "J"
    return J


# The layers of the package, bottom to top; a module's layer is its subpackage's (or the engine's).
LAYERS = {
    "engine": (
        "the engine\ntensor · function · ops · functional\nautograd · modes · errors · checks\n"
        "creation · gradcheck"
    ),
    "nn": "nn/\nlayers, losses",
    "optim": "optim.py\noptimisers",
    "data": "data/\ndatasets, batches",
    "viz": "viz/\npictures, text",
    "cli": "cli/\nthe microgrid command",
    "plotting": "plotting.py\nmatplotlib",
    "demos": "demos/\nthe course demos",
}


def package_of(module: str) -> str:
    """`microgrid.nn.layers` -> nn; `microgrid.tensor` -> engine; `microgrid.demos.kit` -> demos."""
    part = module.split(".")[1] if module.count(".") else "engine"
    return part if part in LAYERS else "engine"


def layer_imports() -> set[tuple[str, str]]:
    """(importer, imported) pairs between the package's layers, read from the source's imports."""
    root = Path(__file__).resolve().parent.parent
    sources = {
        **{
            p: "microgrid." + ".".join(p.relative_to(root / "microgrid").with_suffix("").parts)
            for p in (root / "microgrid").rglob("*.py")
        },
        **{p: f"microgrid.demos.{p.stem}" for p in (root / "demos").glob("*.py")},
    }
    pairs = set()
    for path, module in sources.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("microgrid"):
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.startswith("microgrid")]
            else:
                continue
            for target in targets:
                pair = (package_of(module), package_of(target))
                if pair[0] != pair[1] and module != "microgrid.__init__":
                    pairs.add(pair)
    return pairs


def layers_picture() -> str:
    """DOT of the layers: an arrow from each layer to each layer it imports, pointing down."""
    rank = {"engine": 0, "nn": 1, "optim": 1, "data": 1, "viz": 2, "cli": 3, "plotting": 2, "demos": 4}
    lines = [
        "digraph layers {",
        "  rankdir=BT; nodesep=0.35; ranksep=0.55; bgcolor=white;",
        '  node [shape=box style="rounded,filled" fontname="DejaVu Sans" fontsize=18 color="#0072B2"];',
        '  edge [color="#555555" arrowsize=0.8];',
    ]
    for layer, label in LAYERS.items():
        fill = "#fde9c9" if layer == "engine" else "#e8f1fa" if rank[layer] == 1 else "#f3f4f6"
        lines.append(f'  {layer} [label="{label}" fillcolor="{fill}"];')
    for level in sorted(set(rank.values())):
        members = " ".join(layer for layer, r in rank.items() if r == level)
        lines.append(f"  {{ rank=same; {members} }}")
    for importer, imported in sorted(layer_imports()):
        lines.append(f"  {importer} -> {imported};")
    lines.append("}")
    return "\n".join(lines)


# --- the pictures --------------------------------------------------------------------------------


def main() -> None:
    OUT.mkdir(exist_ok=True)
    written = []

    written.append(render.write(layers_picture(), OUT / "layers.svg"))

    steps = mg.step_through(walk_example())
    written.append(steps.save_gif(OUT / "walk_steps.gif", seconds_per_frame=3.0))

    J = lecture()
    for t in mg.autograd.graph([J]):
        if t.op is not None:
            t.retain_grad()  # keep dJ/du, dJ/dv and dJ/dJ too, to draw them beside u, v, J
    J.backward()
    written.append(mg.draw(J).render(OUT / "lecture_forward.png"))
    written.append(mg.draw(J, show="both").render(OUT / "lecture_both.png"))
    steps = mg.step_through(J)
    written.append(steps.save_html(OUT / "lecture_steps.html"))
    written.append(steps.save_gif(OUT / "lecture_steps.gif", seconds_per_frame=2.5))

    J = logistic_regression()
    J.backward()
    written.append(mg.draw(J, rankdir="TB").render(OUT / "logistic_forward.png"))
    written.append(mg.draw(J, show="backward", rankdir="TB").render(OUT / "logistic_backward.png"))

    J = network(init([2, 4, 1]))
    J.backward()
    written.append(mg.draw(J, rankdir="TB").render(OUT / "network_forward.png"))
    written.append(mg.draw(J, show="backward", rankdir="TB").render(OUT / "network_backward.png"))

    J = network(init([2] + [8] * 10 + [1]))
    written.append(mg.draw(J, show="both", collapse=True, rankdir="TB").render(OUT / "deep_collapsed.png"))

    layers = init([2, 4, 1])
    report = mg.gradcheck(lambda *_: network(layers, WrongTanh.apply), [p for layer in layers for p in layer])
    print(report)
    J = network(layers, WrongTanh.apply)
    written.append(mg.draw(J, gradcheck=report, rankdir="TB").render(OUT / "gradcheck.png"))

    cli.main(
        ["graph", "sigmoid(w*x + b)", "--set", "w=0.5", "x=2", "b=-1", "-o", str(OUT / "cli_neuron.png")]
    )
    written.append(OUT / "cli_neuron.png")
    for path in written:
        print(f"wrote {path.relative_to(OUT.parent.parent)}")


if __name__ == "__main__":
    main()
