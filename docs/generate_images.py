"""Make every picture in docs/diagrams.md, and the gallery of reference pictures, from one list.

Run:  make docs-images   (or python docs/generate_images.py)          -> docs/images/
      make gallery       (or python docs/generate_images.py --gallery gallery)
                                                                       -> gallery/index.html

Each example builds its graph with microgrid, exactly as docs/diagrams.md shows. `REFERENCE` lists
the reference pictures; the docs' images are the ones with a file name there, so the docs and the
gallery never disagree. The gallery shows every picture as it looks on a 1280×720 slide, with the
size its smallest text has there, beside the same picture as a reader with deuteranopia sees it.
"""

from __future__ import annotations

import argparse
import ast
import html
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from microgrid.demos.gradcheck import WrongTanhLayer  # the demo's deliberate bug

import microgrid as mg
from microgrid.cli import main as cli
from microgrid.viz import dot, render

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


def course_network(sizes: list[int], m: int = M) -> mg.Tensor:
    """`mg.nn.mlp(sizes, hidden="tanh")` and `sigmoid_cross_entropy`: the library's own layers and loss."""
    X, Y = data(sizes[0], m)
    return mg.nn.sigmoid_cross_entropy(mg.nn.mlp(sizes, hidden="tanh", seed=SEED)(X), Y)


def softmax_classifier() -> mg.Tensor:
    """Three classes of points by angle, `mlp([2, 8, 3])` and `softmax_cross_entropy`."""
    X, _ = data(2)
    labels = (np.arctan2(X.data[1], X.data[0]) + np.pi) // (2 * np.pi / 3)
    return mg.nn.softmax_cross_entropy(mg.nn.mlp([2, 8, 3], hidden="tanh", seed=SEED)(X), labels.astype(int))


def after_backward(J: mg.Tensor, keep_every_gradient: bool = False) -> mg.Tensor:
    """J after J.backward(), so the forward picture draws gradients beside the values; with
    keep_every_gradient, those of intermediate tensors too (dJ/du, dJ/dv, dJ/dJ), not only leaves'."""
    if keep_every_gradient:
        for t in mg.autograd.graph([J]):
            if t.op is not None:
                t.retain_grad()
    J.backward()
    return J


def wrong_gradcheck(collapse: bool = False) -> mg.Diagram:
    """The gradcheck demo's 2-4-1 network, whose layer 1 uses a tanh with a wrong backward rule,
    coloured by mg.gradcheck: layer 1's parameters fail, layer 2's pass."""
    X, Y = data(2, m=40)
    model = mg.nn.Sequential(mg.nn.Dense(2, 4, seed=SEED), WrongTanhLayer(), mg.nn.Dense(4, 1, seed=SEED + 1))

    def cost(*parameters: mg.Tensor) -> mg.Tensor:
        return mg.nn.sigmoid_cross_entropy(model(X), Y)  # gradcheck nudges the parameters in place

    report = mg.gradcheck(cost, list(model.parameters()))
    return mg.draw(cost(), gradcheck=report, collapse=collapse, rankdir="TB")


@dataclass
class Reference:
    """One reference picture: a title, what to look for, how to draw it, and its docs file if any."""

    title: str
    note: str
    draw: Callable[[], mg.Diagram]
    docs: str | None = None  # file name in docs/images/


REFERENCE = [
    Reference(
        "Lecture: forward",
        "J = 3(a + b·c), gradients beside values",
        lambda: mg.draw(after_backward(lecture(), keep_every_gradient=True)),
        "lecture_forward.png",
    ),
    Reference(
        "Lecture: backward",
        "each chain-rule step, du = dv · 1 included",
        lambda: mg.draw(lecture(), show="backward"),
    ),
    Reference(
        "Lecture: both",
        "forward on top, backward underneath, each gradient level with its tensor",
        lambda: mg.draw(lecture(), show="both"),
        "lecture_both.png",
    ),
    Reference(
        "Logistic regression: forward",
        "",
        lambda: mg.draw(after_backward(logistic_regression()), rankdir="TB"),
        "logistic_forward.png",
    ),
    Reference(
        "Logistic regression: backward",
        "db sums over the examples",
        lambda: mg.draw(logistic_regression(), show="backward"),
        "logistic_backward.png",
    ),
    Reference(
        "2-layer network: forward",
        "mlp([2, 4, 1], hidden='tanh'), sigmoid_cross_entropy",
        lambda: mg.draw(after_backward(course_network([2, 4, 1])), rankdir="TB"),
        "network_forward.png",
    ),
    Reference(
        "2-layer network: backward",
        "dZ[2], dW[2] = dZ[2] A[1]ᵀ, dA[1], dZ[1] = dA[1] ⊙ (1 − A[1]²)",
        lambda: mg.draw(course_network([2, 4, 1]), show="backward"),
        "network_backward.png",
    ),
    Reference(
        "2-layer network: both",
        "each gradient level with its tensor; layers stacked in two columns, no staircase",
        lambda: mg.draw(course_network([2, 4, 1]), show="both", rankdir="TB"),
    ),
    Reference(
        "2-layer network: collapsed",
        "layer l's backward under layer l: dA[l] in, dA[l−1] out, labels clear of the boxes",
        lambda: mg.draw(course_network([2, 4, 1]), show="both", collapse=True),
        "network_collapsed.png",
    ),
    Reference(
        "10-layer network: collapsed",
        "",
        lambda: mg.draw(course_network([2] + [8] * 9 + [1]), show="both", collapse=True),
        "deep_collapsed.png",
    ),
    Reference(
        "Softmax classifier: backward",
        "dZ[2] = (softmax(Z[2]) − Y) · (dJ · 1/m), softmax one node for the five ops of its rule",
        lambda: mg.draw(softmax_classifier(), show="backward"),
        "softmax_backward.png",
    ),
    Reference(
        "Gradient check with a wrong op",
        "W[1], b[1] ✗ (thick dashed border), W[2], b[2] ✓ (double border)",
        wrong_gradcheck,
        "gradcheck.png",
    ),
    Reference("Gradient check, collapsed", "layer 1 ✗, layer 2 ✓", lambda: wrong_gradcheck(collapse=True)),
]


def deuteranopia_png(png: bytes) -> bytes:
    """The PNG as a reader with deuteranopia sees it (Machado 2009, see dot.as_deuteranope_sees)."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)
    seen = Image.fromarray(np.round(dot.as_deuteranope_sees(image)).astype(np.uint8))
    out = io.BytesIO()
    seen.save(out, "PNG")
    return out.getvalue()


def write_docs_images() -> list[Path]:
    """docs/images/: the reference pictures the docs show, the step-throughs, the CLI's and the layers'."""
    OUT.mkdir(exist_ok=True)
    written = [render.write(layers_picture(), OUT / "layers.svg")]
    written.append(mg.step_through(walk_example()).save_gif(OUT / "walk_steps.gif", seconds_per_frame=3.0))
    for reference in REFERENCE:
        if reference.docs is not None:
            written.append(reference.draw().render(OUT / reference.docs))
    steps = mg.step_through(lecture())
    written.append(steps.save_html(OUT / "lecture_steps.html"))
    written.append(steps.save_gif(OUT / "lecture_steps.gif", seconds_per_frame=2.5))
    cli.main(  # it says itself that it wrote the file
        ["graph", "sigmoid(w*x + b)", "--set", "w=0.5", "x=2", "b=-1", "-o", str(OUT / "cli_neuron.png")]
    )
    return written


def write_gallery(folder: Path) -> Path:
    """folder/index.html: every reference picture at slide size, normal and deuteranopia, and the
    step-throughs (their pages and frames); one page, no network."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = []
    for number, reference in enumerate(REFERENCE, start=1):
        diagram = reference.draw()
        svg = diagram.svg()
        png = diagram.pipe("png")
        stem = f"{number:02d}"
        (folder / f"{stem}.svg").write_text(svg, encoding="utf-8")
        (folder / f"{stem}.png").write_bytes(png)
        (folder / f"{stem}_deuteranopia.png").write_bytes(deuteranopia_png(png))
        text_px = render.slide_text_size(svg)
        verdict = "readable" if text_px >= 9 else "small" if text_px >= 7 else "too small for a slide"
        figures.append(
            f"<section><h2>{html.escape(reference.title)}</h2><p>{html.escape(reference.note)} "
            f"· smallest text on a slide: <b>{text_px:.1f} px</b> ({verdict})"
            f' · <a href="{stem}.svg">full size</a></p><div class="pair">'
            f'<figure><img src="{stem}.png" alt=""><figcaption>as drawn</figcaption></figure>'
            f'<figure><img src="{stem}_deuteranopia.png" alt=""><figcaption>seen with deuteranopia'
            "</figcaption></figure></div></section>"
        )
    for name, steps in (
        ("lecture", mg.step_through(lecture())),
        ("network", mg.step_through(course_network([2, 4, 1], m=40))),
    ):
        page = steps.save_html(folder / f"{name}_steps.html")
        frames = []
        for index, png in enumerate(steps.captioned("png")):
            (folder / f"{name}_step_{index}.png").write_bytes(png)
            image = f'<img src="{name}_step_{index}.png" alt="">'
            frames.append(f'<figure class="frame">{image}<figcaption>frame {index}</figcaption></figure>')
        figures.append(
            f'<section><h2>Step-through: {name}</h2><p><a href="{page.name}">open the page</a> '
            f'(arrow keys, zoom, #frame=N)</p><div class="frames">{"".join(frames)}</div></section>'
        )
    index = folder / "index.html"
    index.write_text(GALLERY.format(figures="\n".join(figures)), encoding="utf-8")
    return index


GALLERY = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>microgrid: reference pictures</title>
<style>
  body {{ font-family: "DejaVu Sans", sans-serif; margin: 1em; color: #111; }}
  section {{ margin-bottom: 2em; }}
  h2 {{ font-size: 1.1em; margin: 0.3em 0; }}
  p {{ margin: 0.2em 0 0.5em 0; font-size: 0.9em; }}
  .pair {{ display: flex; gap: 1em; flex-wrap: wrap; }}
  .pair figure {{ margin: 0; width: 1280px; max-width: 100%; }}
  /* a slide: the whole picture fitted into 1280×720, as it would be projected */
  .pair img {{ width: 100%; aspect-ratio: 16 / 9; object-fit: contain; border: 1px solid #ccc; }}
  .frames {{ display: flex; gap: 0.5em; overflow-x: auto; }}
  .frame {{ margin: 0; }}
  .frame img {{ height: 360px; border: 1px solid #ccc; }}
  figcaption {{ font-size: 0.8em; color: #555; }}
</style></head>
<body>
<h1>microgrid: reference pictures at slide size</h1>
<p>Each picture is fitted into a 1280×720 slide, as it would be projected; beside it, the same
picture as a reader with deuteranopia sees it (Machado 2009). Made by docs/generate_images.py.</p>
{figures}
</body></html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--gallery", type=Path, help="write the gallery into this folder instead of docs/images"
    )
    args = parser.parse_args()
    written = [write_gallery(args.gallery)] if args.gallery else write_docs_images()
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
