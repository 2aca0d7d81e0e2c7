"""Backpropagation one step at a time: a self-contained HTML page, numbered SVG frames, a GIF.

The frames are the engine's own walk (`mg.autograd.walk`), one per step, in its order. Frame 0 is
the graph after the forward pass. Frame k is the walk's k-th step: the tensor it visits, whose
gradient is now complete (an orange border); its op (orange, with the arrows from its inputs)
applies its local rules and sends each input a contribution, spelled out in the caption with
real names and numbers; a leaf whose last consumer this was gets its final gradient too.
Gradients still to come are hidden but keep their place, so the layout is the same in every frame.

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

from microgrid.autograd import Contribution, Step
from microgrid.tensor import Tensor
from microgrid.viz import dot, render
from microgrid.viz.diagram import RANKDIRS
from microgrid.viz.graph import Graph, grad_name, number_text, value_text
from microgrid.viz.picture import check_size, forward_picture


@dataclass
class Frame:
    """One step of the walk: the node it visits, the caption, and the numbers behind it."""

    key: str | None  # DOT key of the tensor the walk visits (None: the forward frame)
    title: str
    lines: list[str]
    step: Step | None = None
    finished: list[str] = field(default_factory=list)  # DOT keys of the leaves finished here

    @property
    def gradient(self) -> Tensor | None:
        """The visited tensor's complete gradient."""
        return None if self.step is None else self.step.grad

    @property
    def contributions(self) -> list[Contribution]:
        """What the visited tensor's op sends each of its inputs, with the rule that made it."""
        return [] if self.step is None else self.step.contributions()


class StepThrough:
    """The frames of backpropagation through the graph behind `output`."""

    def __init__(self, output: Tensor, rankdir: str = "LR", max_nodes: int | None = 150) -> None:
        if rankdir not in RANKDIRS:
            raise ValueError(f"step_through: rankdir must be LR or TB, got {rankdir!r}")
        self.graph = Graph(output)
        self.rankdir = rankdir
        self.grads = self.graph.gradients()
        self.picture = forward_picture(self.graph, self.grads)
        self.picture.stepping = True
        check_size(self.picture, max_nodes, collapsed=False)
        self.frames = [self._start_frame(), *self._frames()]

    # --- frames --------------------------------------------------------------------------------

    def _start_frame(self) -> Frame:
        root = self.graph.roots[0]
        return Frame(
            None,
            f"Forward pass done: {self.graph.name(root)} = {value_text(root)}",
            [
                "Backward now walks the recorded tensors newest first, as the engine does: a "
                "tensor's gradient is complete once every op that used it has sent its share."
            ],
        )

    def _frames(self) -> list[Frame]:
        steps = self.graph.steps()
        received: dict[int, list[Tensor]] = {}  # id(tensor) -> the contributions it has had so far
        frames = []
        for number, step in enumerate(steps, start=1):
            t = step.tensor
            name = self.graph.name(t)
            title = f"Step {number} of {len(steps)}: {grad_name(name)} is final"
            lines = [self._complete(t, step.grad, received.get(id(t), []))]
            for contribution in step.contributions():
                received.setdefault(id(contribution.input), []).append(contribution.grad)
                lines.append(self.graph.sent(step, contribution))
            for leaf, leaf_grad in step.finished:
                lines.append(self._complete(leaf, leaf_grad, received.get(id(leaf), [])))
            finished = [self.graph.key(leaf) for leaf, _ in step.finished]
            frames.append(Frame(self.graph.key(t), title, lines, step, finished))
        return frames

    def _complete(self, t: Tensor, gradient: Tensor | None, parts: list[Tensor]) -> str:
        """`dv = 3, complete`, with the sum when several ops contributed, or the seed."""
        name = self.graph.name(t)
        if gradient is None:
            return f"{grad_name(name)}: no gradient reached it"
        if any(t is root for root in self.graph.roots):
            return f"{grad_name(name)} = {value_text(gradient)}: the seed, d{name}/d{name} = 1"
        if len(parts) > 1:
            terms = " + ".join(number_text(p.data) if p.ndim == 0 else "…" for p in parts)
            return (
                f"{grad_name(name)} = {terms} = {value_text(gradient)}: the sum of the {len(parts)} "
                f"contributions of the ops that use {name}, now complete"
            )
        return f"{grad_name(name)} = {value_text(gradient)}, complete"

    # --- pictures ------------------------------------------------------------------------------------

    def source(self, index: int) -> str:
        """The DOT text of frame `index`: the visited node and its op highlighted, gradients
        not yet complete hidden."""
        frame = self.frames[index]
        done = {key for f in self.frames[: index + 1] for key in (f.key, *f.finished)}
        op_key = None if frame.key is None else f"op_{frame.key}"
        for node in self.picture.nodes.values():
            node.current = node.key in (frame.key, op_key)
            node.grad_hidden = node.grad is not None and node.key not in done
        for edge in self.picture.edges:
            edge.current = edge.head == op_key
        return str(dot.to_digraph(self.picture, self.rankdir).source)

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


def _caption_source(frame: Frame) -> str:
    """A DOT graph of one left-aligned text block: the frame's caption, rendered like the diagram."""
    rows = [f"<B>{html.escape(frame.title)}</B>", *(html.escape(line) for line in frame.lines)]
    cells = "".join(f'<TR><TD ALIGN="LEFT">{row}</TD></TR>' for row in rows)
    label = f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="3">{cells}</TABLE>>'
    style = f'bgcolor=white; node [shape=plaintext fontname="{dot.FONT}" fontsize=13]'
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
