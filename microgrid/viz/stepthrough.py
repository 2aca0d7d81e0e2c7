"""Backpropagation one gradient at a time: a self-contained HTML page, numbered SVG frames, a GIF.

Frame 0 is the graph after the forward pass. Frame k finalises the k-th tensor in reverse
topological order, the order of the engine's walk: its node has an orange border, the edges to
its consumers are orange, and the caption shows each consumer's contribution (the local
derivative from the op's docstring and its value) and their sum. Gradients still to come are
hidden, but keep their place, so the layout is the same in every frame.

    mg.step_through(J).save_html("backprop.html")   # previous / next / slider, no network needed
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from microgrid.autograd import sum_to
from microgrid.modes import no_grad
from microgrid.tensor import Tensor
from microgrid.viz import diagram, render


@dataclass
class Frame:
    """One step: the node it highlights, the consumers' op nodes, the caption, and the numbers."""

    key: str | None  # DOT key of the tensor whose gradient is finalised (None: before backward)
    consumer_ops: list[str]
    title: str
    lines: list[str]
    gradient: Tensor | None = None  # the finalised gradient
    contributions: list[Tensor] = field(default_factory=list)  # one per consumer; they sum to it


class StepThrough:
    """The frames of backpropagation through the graph behind `output`."""

    def __init__(self, output: Tensor, rankdir: str = "LR", max_nodes: int | None = 150) -> None:
        if rankdir not in diagram.RANKDIRS:
            raise ValueError(f"step_through: rankdir must be LR or TB, got {rankdir!r}")
        self.graph = diagram.Graph(output)
        self.rankdir = rankdir
        self.grads = self.graph.gradients()
        self.picture = diagram.forward_picture(self.graph, self.grads)
        self.picture.stepping = True
        diagram.check_size(self.picture, max_nodes, collapsed=False)
        self.frames = [self._start_frame(), *self._frames()]

    # --- frames --------------------------------------------------------------------------------

    def _start_frame(self) -> Frame:
        root = self.graph.roots[0]
        return Frame(
            None,
            [],
            f"Forward pass done: {self.graph.name(root)} = {_value(root)}",
            [
                "Backward visits the tensors in reverse topological order: each gradient is final "
                "once every consumer has sent its contribution."
            ],
        )

    def _frames(self) -> list[Frame]:
        order = [t for t in reversed(self.graph.tensors) if t.requires_grad]
        consumers = self.graph.consumers()
        frames = []
        for step, t in enumerate(order, start=1):
            name = diagram.grad_name(self.graph.name(t))
            title = f"Step {step} of {len(order)}: {name} is final"
            uses = [(out, position) for out, position in consumers.get(id(t), []) if id(out) in self.grads]
            gradient = self.grads[id(t)]
            if not uses:
                itself = self.graph.name(t)
                lines = [
                    f"{name} = {_value(gradient)}: the seed of the backward pass, d{itself}/d{itself} = 1"
                ]
                frames.append(Frame(self.graph.key(t), [], title, lines, gradient))
                continue
            parts = [self._contribution(t, out, position) for out, position in uses]
            lines = [text for _, text in parts]
            if len(uses) > 1:
                lines.append(
                    f"accumulated: {name} = the sum of these {len(uses)} contributions = {_value(gradient)}"
                )
            else:
                lines.append(f"{name} = {_value(gradient)}")
            ops = [f"op_{self.graph.key(out)}" for out, _ in uses]
            frames.append(Frame(self.graph.key(t), ops, title, lines, gradient, [c for c, _ in parts]))
        return frames

    def _contribution(self, t: Tensor, out: Tensor, position: int) -> tuple[Tensor, str]:
        """What `out`'s op sends back to input `position` (the op's own backward rule), and the
        caption line: `from J = mul(a=3, b=v): d/db = g · a with g = dJ → 3`."""
        op = out.op
        assert op is not None
        with no_grad():
            result = op.backward(self.grads[id(out)], out)
            part = (result,) if isinstance(result, Tensor) else tuple(result)
            contribution = part[position]
            assert contribution is not None
            summed = ""
            if contribution.shape != t.shape:
                summed = f", summed over broadcast axes {contribution.shape} → {t.shape}"
                contribution = sum_to(contribution, t.shape)
        names = [self.graph.name(x) for x in op.inputs]
        if len(names) <= 2:  # the docstrings call the inputs a and b
            names = [f"{letter}={name}" for letter, name in zip("ab", names)]
        g = diagram.grad_name(self.graph.name(out))
        rule = diagram.op_rule(op, position)
        text = (
            f"from {self.graph.name(out)} = {op.describe()}({', '.join(names)}): {rule} with g = {g}"
            f" → {_value(contribution)}{summed}"
        )
        return contribution, text

    # --- pictures ------------------------------------------------------------------------------------

    def source(self, index: int) -> str:
        """The DOT text of frame `index`: its node highlighted, later gradients hidden."""
        frame = self.frames[index]
        done = {f.key for f in self.frames[: index + 1]}
        for node in self.picture.nodes.values():
            node.current = node.key == frame.key
            node.grad_hidden = node.grad is not None and node.key not in done
        for edge in self.picture.edges:
            edge.current = edge.tail == frame.key and edge.head in frame.consumer_ops
        return str(diagram.to_digraph(self.picture, self.rankdir).source)

    def rendered(self, format: str) -> list[bytes]:
        """Every frame rendered (several Graphviz processes at once)."""
        sources = [self.source(i) for i in range(len(self.frames))]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            return list(pool.map(lambda source: render.pipe(source, format), sources))

    def captioned(self, format: str) -> list[bytes]:
        """Every frame in `format` (svg or png) with its caption underneath."""
        pictures = self.rendered(format)
        captions = [render.pipe(_caption_source(frame), format) for frame in self.frames]
        if format == "svg":
            return [_stack_svg(p.decode(), c.decode()).encode() for p, c in zip(pictures, captions)]
        return _stack_png(pictures, captions)

    # --- files -----------------------------------------------------------------------------------------

    def save_html(self, path: str | Path) -> Path:
        """One self-contained HTML file: every frame inlined, previous / next / slider, no network."""
        path = Path(path)
        svgs = [_inline_svg(svg.decode("utf-8"), index) for index, svg in enumerate(self.rendered("svg"))]
        captions = [{"title": f.title, "lines": f.lines} for f in self.frames]
        frames = "\n".join(f'<div class="frame" hidden>{svg}</div>' for svg in svgs)
        title = f"Backpropagation through {self.graph.name(self.graph.roots[0])}, step by step"
        page = _PAGE.format(
            title=html.escape(title),
            last=len(self.frames) - 1,
            frames=frames,
            captions=json.dumps(captions, ensure_ascii=False).replace("</", "<\\/"),
        )
        path.write_text(page, encoding="utf-8")
        return path

    def save_svgs(self, directory: str | Path, prefix: str = "step") -> list[Path]:
        """Frames as numbered SVG files with captions: step_00.svg, step_01.svg, ..."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        width = len(str(len(self.frames) - 1))
        paths = []
        for index, svg in enumerate(self.captioned("svg")):
            paths.append(directory / f"{prefix}_{index:0{width}d}.svg")
            paths[-1].write_bytes(svg)
        return paths

    def save_gif(self, path: str | Path, seconds_per_frame: float = 2.0) -> Path:
        """An animated GIF of the captioned frames (needs Pillow, which comes with matplotlib)."""
        from PIL import Image

        path = Path(path)
        images = [Image.open(io.BytesIO(png)).convert("RGB") for png in self.captioned("png")]
        images[0].save(
            path, save_all=True, append_images=images[1:], duration=int(seconds_per_frame * 1000), loop=0
        )
        return path


def step_through(output: Tensor, rankdir: str = "LR", max_nodes: int | None = 150) -> StepThrough:
    """The frames of backpropagation through the graph behind `output`; save them with
    `.save_html(path)`, `.save_svgs(directory)` or `.save_gif(path)`."""
    return StepThrough(output, rankdir, max_nodes)


def _value(t: Tensor) -> str:
    """A tensor's value as one line of text."""
    if t.ndim == 0:
        return diagram.number_text(t.data)
    return " ".join([str(t.shape), *diagram.value_lines(t.data)])


def _caption_source(frame: Frame) -> str:
    """A DOT graph of one left-aligned text block: the frame's caption, rendered like the diagram."""
    rows = [f"<B>{html.escape(frame.title)}</B>", *(html.escape(line) for line in frame.lines)]
    cells = "".join(f'<TR><TD ALIGN="LEFT">{row}</TD></TR>' for row in rows)
    label = f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="3">{cells}</TABLE>>'
    style = f'bgcolor=white; node [shape=plaintext fontname="{diagram.FONT}" fontsize=13]'
    return f"digraph caption {{ {style}; caption [label={label}] }}"


_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def _inline_svg(svg: str, index: int) -> str:
    """An SVG document as an element to inline in HTML: no XML prolog, ids unique to its frame."""
    start = svg.index("<svg")
    return re.sub(r'id="', f'id="f{index}_', svg[start:])


def _stack_svg(picture: str, caption: str) -> str:
    """One SVG with the caption under the picture."""
    (pw, ph), (cw, ch) = (_svg_size(s) for s in (picture, caption))
    width, height = max(pw, cw), ph + ch
    inner = _inline_svg(picture, 0).replace("<svg ", '<svg x="0" y="0" ', 1)
    below = _inline_svg(caption, 1).replace("<svg ", f'<svg x="0" y="{ph}" ', 1)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}pt" height="{height}pt" '
        f'viewBox="0 0 {width} {height}">\n<rect width="100%" height="100%" fill="white"/>\n'
        f"{inner}\n{below}\n</svg>\n"
    )


def _svg_size(svg: str) -> tuple[float, float]:
    match = _SVG_SIZE.search(svg)
    if match is None:
        raise RuntimeError("step_through: the renderer's SVG has no width and height in points")
    return float(match.group(1)), float(match.group(2))


def _stack_png(pictures: Sequence[bytes], captions: Sequence[bytes]) -> list[bytes]:
    """PNG frames with captions underneath, all padded to one size (a GIF needs equal frames)."""
    from PIL import Image

    pairs = [(Image.open(io.BytesIO(p)), Image.open(io.BytesIO(c))) for p, c in zip(pictures, captions)]
    width = max(max(p.width, c.width) for p, c in pairs)
    height = max(p.height + c.height for p, c in pairs)
    frames = []
    for picture, caption in pairs:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(picture, (0, 0))
        canvas.paste(caption, (0, picture.height))
        out = io.BytesIO()
        canvas.save(out, "PNG")
        frames.append(out.getvalue())
    return frames


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #111827; }}
  .controls {{ display: flex; gap: 0.8em; align-items: center; margin: 0.8em 0; }}
  .controls input {{ flex: 1; max-width: 40em; }}
  #caption {{ background: #fff7ed; border-left: 4px solid #ea580c; padding: 0.6em 1em; min-height: 4.5em; }}
  #caption h2 {{ font-size: 1.05em; margin: 0 0 0.4em 0; }}
  #caption p {{ margin: 0.15em 0; font-family: Menlo, Consolas, monospace; font-size: 0.9em; }}
  .frame svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="controls">
  <button id="previous">&#9664; previous</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
  <button id="next">next &#9654;</button>
  <span id="counter"></span>
</div>
<div id="caption"></div>
{frames}
<script>
const captions = {captions};
const frames = document.querySelectorAll(".frame");
const slider = document.getElementById("slider");
function show(index) {{
  index = Math.max(0, Math.min(frames.length - 1, index));
  frames.forEach((frame, i) => {{ frame.hidden = i !== index; }});
  slider.value = index;
  document.getElementById("counter").textContent = "frame " + index + " of " + (frames.length - 1);
  const box = document.getElementById("caption");
  box.replaceChildren();
  const heading = document.createElement("h2");
  heading.textContent = captions[index].title;
  box.appendChild(heading);
  for (const line of captions[index].lines) {{
    const p = document.createElement("p");
    p.textContent = line;
    box.appendChild(p);
  }}
}}
document.getElementById("previous").onclick = () => show(Number(slider.value) - 1);
document.getElementById("next").onclick = () => show(Number(slider.value) + 1);
slider.oninput = () => show(Number(slider.value));
document.addEventListener("keydown", (event) => {{
  if (event.key === "ArrowLeft") show(Number(slider.value) - 1);
  if (event.key === "ArrowRight") show(Number(slider.value) + 1);
}});
show(0);
</script>
</body>
</html>
"""
