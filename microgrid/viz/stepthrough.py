"""Backpropagation one step at a time: a self-contained HTML page, numbered SVG frames, a GIF.

The frames are the engine's own walk (`mg.autograd.walk`), one per step, in its order. Frame 0 is
the graph after the forward pass. Frame k is the walk's k-th step: the tensor it visits, whose
gradient is now complete (a thick vermillion border); its op (the same border) applies its local
rules and sends each input a contribution, spelled out in the caption with real names and
numbers; a leaf whose last consumer this was gets its final gradient too. The highlighted arrows
point the way the gradient flows: from the visited tensor into its op, and from the op back to
each input. Gradients still to come are hidden but keep their place, so the layout is the same
in every frame.

    mg.step_through(J).save_html("backprop.html")   # arrow keys, zoom, #frame=N; no network needed
    mg.step_through(J, collapse=True)                # each layer one box, lit while the walk is in it
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
from microgrid.viz.picture import Picture, check_size, collapse_scopes, forward_picture


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

    def __init__(
        self, output: Tensor, rankdir: str = "LR", max_nodes: int | None = 150, collapse: bool = False
    ) -> None:
        if rankdir not in RANKDIRS:
            raise ValueError(f"step_through: rankdir must be LR or TB, got {rankdir!r}")
        self.graph = Graph(output)
        self.rankdir = rankdir
        self.collapse = collapse
        self.grads = self.graph.gradients()
        self.picture = forward_picture(self.graph, self.grads)
        self.picture.stepping = True
        check_size(collapse_scopes(self.picture) if collapse else self.picture, max_nodes, collapse)
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
        alias = self.graph.grad_label(t)  # dZ[2] for the W[2] @ A[1] that add passed it to unchanged
        also = f" = {alias}" if alias != grad_name(name) else ""
        return f"{grad_name(name)}{also} = {value_text(gradient)}, complete"

    # --- pictures ------------------------------------------------------------------------------------

    def frame_picture(self, index: int) -> Picture:
        """Frame `index`'s picture: the visited node and its op highlighted, the arrows the
        gradient takes from them highlighted, gradients not yet complete hidden."""
        frame = self.frames[index]
        done = {key for f in self.frames[: index + 1] for key in (f.key, *f.finished)}
        op_key = None if frame.key is None else f"op_{frame.key}"
        for node in self.picture.nodes.values():
            node.current = node.key in (frame.key, op_key)
            node.grad_hidden = node.grad is not None and node.key not in done
        for edge in self.picture.edges:
            edge.current = op_key is not None and (
                edge.head == op_key or (edge.tail, edge.head) == (op_key, frame.key)
            )
        return collapse_scopes(self.picture) if self.collapse else self.picture

    def source(self, index: int) -> str:
        """The DOT text of frame `index` (see frame_picture)."""
        return str(dot.to_digraph(self.frame_picture(index), self.rankdir).source)

    def focus(self, index: int) -> list[str]:
        """The DOT keys of the nodes frame `index` highlights (its page scrolls them into view)."""
        lit = [node for node in self.frame_picture(index).nodes.values() if node.current]
        return [node.key for node in sorted(lit, key=lambda node: node.kind != "op")]  # its op first

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

    def html(self) -> str:
        """The self-contained page: every frame inlined, previous / next / slider, arrow keys,
        zoom, `#frame=N` in the address, the highlighted node scrolled into view; no network."""
        svgs = [_inline_svg(svg.decode("utf-8"), index) for index, svg in enumerate(self.rendered("svg"))]
        captions = [
            {"title": f.title, "lines": f.lines, "focus": self.focus(index)}
            for index, f in enumerate(self.frames)
        ]
        frames = "\n".join(f'<div class="frame" hidden>{svg}</div>' for svg in svgs)
        title = f"Backpropagation through {self.graph.name(self.graph.roots[0])}, step by step"
        return _PAGE.format(
            title=html.escape(title),
            last=len(self.frames) - 1,
            frames=frames,
            captions=json.dumps(captions, ensure_ascii=False).replace("</", "<\\/"),
        )

    def save_html(self, path: str | Path) -> Path:
        """The page (see `html`) as one file to open in a browser."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        """Jupyter shows the page inline, in a frame of its own so that several never clash."""
        return (
            f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" title="step-through" '
            'style="width: 100%; height: 640px; border: 1px solid #d0d0d0"></iframe>'
        )

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


def step_through(
    output: Tensor, rankdir: str = "LR", max_nodes: int | None = 150, collapse: bool = False
) -> StepThrough:
    """The frames of backpropagation through the graph behind `output`; save them with
    `.save_html(path)`, `.save_svgs(directory)` or `.save_gif(path)`, or show them in Jupyter.
    rankdir "TB" draws top to bottom; collapse=True draws each scope (layer) as one box."""
    return StepThrough(output, rankdir, max_nodes, collapse)


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
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  html, body {{ height: 100%; margin: 0; }}
  body {{ font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #111111;
         display: flex; flex-direction: column; padding: 0 1em; box-sizing: border-box; }}
  h1 {{ font-size: 1.15em; margin: 0.5em 0 0.2em 0; }}
  .controls {{ display: flex; gap: 0.6em; align-items: center; margin: 0.3em 0; flex-wrap: wrap; }}
  .controls input {{ flex: 1; min-width: 8em; max-width: 30em; }}
  #caption {{ background: #fbeee6; border-left: 4px solid #D55E00; padding: 0.4em 0.8em; }}
  #caption h2 {{ font-size: 1em; margin: 0 0 0.3em 0; }}
  #caption p {{ margin: 0.1em 0; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
               font-size: 0.85em; }}
  #view {{ flex: 1; min-height: 12em; overflow: auto; border: 1px solid #d0d0d0; margin: 0.4em 0; }}
  .frame svg {{ display: block; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="controls">
  <button id="previous" title="previous step (left arrow)">&#9664; previous</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
  <button id="next" title="next step (right arrow)">next &#9654;</button>
  <span id="counter"></span>
  <button id="smaller" title="zoom out (-)">&minus;</button>
  <span id="zoom">100%</span>
  <button id="larger" title="zoom in (+)">+</button>
  <button id="fit" title="fit the width (0)">fit</button>
</div>
<div id="caption" aria-live="polite"></div>
<div id="view">
{frames}
</div>
<script>
const captions = {captions};
const frames = document.querySelectorAll(".frame");
const slider = document.getElementById("slider");
const view = document.getElementById("view");
let current = 0;
let zoom = 1;
// Each SVG's own size in pt: zoom scales it, 1 is the size Graphviz laid the text out for.
const sizes = Array.from(frames, (frame) => {{
  const svg = frame.querySelector("svg");
  return [parseFloat(svg.getAttribute("width")), parseFloat(svg.getAttribute("height"))];
}});
function applyZoom() {{
  frames.forEach((frame, i) => {{
    const svg = frame.querySelector("svg");
    svg.style.width = sizes[i][0] * zoom + "pt";
    svg.style.height = sizes[i][1] * zoom + "pt";
  }});
  document.getElementById("zoom").textContent = Math.round(zoom * 100) + "%";
}}
function setZoom(value) {{
  zoom = Math.max(0.2, Math.min(4, value));
  applyZoom();
  reveal();
}}
function reveal() {{
  // Scroll the highlighted node (the gradient being finalised) into the middle of the view.
  const keys = captions[current].focus;
  for (const group of frames[current].querySelectorAll("g.node")) {{
    const title = group.querySelector("title");
    if (title && keys.includes(title.textContent)) {{
      group.scrollIntoView({{block: "center", inline: "center"}});
      return;
    }}
  }}
}}
function show(index) {{
  current = Math.max(0, Math.min(frames.length - 1, index));
  frames.forEach((frame, i) => {{ frame.hidden = i !== current; }});
  slider.value = current;
  document.getElementById("counter").textContent = "frame " + current + " of " + (frames.length - 1);
  const box = document.getElementById("caption");
  box.replaceChildren();
  const heading = document.createElement("h2");
  heading.textContent = captions[current].title;
  box.appendChild(heading);
  for (const line of captions[current].lines) {{
    const p = document.createElement("p");
    p.textContent = line;
    box.appendChild(p);
  }}
  try {{
    history.replaceState(null, "", "#frame=" + current);
  }} catch (error) {{
    // A page without an address of its own (Jupyter's srcdoc frame) keeps its place anyway.
  }}
  reveal();
}}
function fromAddress() {{
  const match = /frame=(\\d+)/.exec(location.hash);
  return match ? Number(match[1]) : 0;
}}
document.getElementById("previous").onclick = () => show(current - 1);
document.getElementById("next").onclick = () => show(current + 1);
document.getElementById("smaller").onclick = () => setZoom(zoom / 1.25);
document.getElementById("larger").onclick = () => setZoom(zoom * 1.25);
document.getElementById("fit").onclick = () => setZoom((view.clientWidth - 4) / (sizes[current][0] * 4 / 3));
slider.oninput = () => show(Number(slider.value));
window.addEventListener("hashchange", () => show(fromAddress()));
document.addEventListener("keydown", (event) => {{
  if (event.target === slider && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {{
    event.preventDefault();  // the slider would move too: one step per key press
  }}
  const moves = {{ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: frames.length - 1}};
  if (event.key in moves) show(moves[event.key]);
  if (event.key === "+" || event.key === "=") setZoom(zoom * 1.25);
  if (event.key === "-") setZoom(zoom / 1.25);
  if (event.key === "0") document.getElementById("fit").click();
}});
applyZoom();
show(fromAddress());
</script>
</body>
</html>
"""
