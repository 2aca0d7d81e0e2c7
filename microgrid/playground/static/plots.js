// The playground's plots, drawn on canvases: decision boundary with the points, cost curves and
// gradient norms. Colours: blue and orange (safe for colour-blind readers), with shapes as a second
// cue (class 1 a circle, class 0 a square; test points hollow).

export const BLUE = [37, 99, 235];
export const ORANGE = [234, 88, 12];
const LAYER_COLOURS = ["#2563eb", "#ea580c", "#059669", "#9333ea", "#db2777", "#0891b2", "#65a30d"];

export function fitCanvas(canvas) {
  // Sharp on any screen: the backing store follows the device pixel ratio.
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { context, width, height };
}

function mix(p) {
  // p = σ(z): orange at 0, white at 0.5, blue at 1, pale so that the points stand out.
  const [colour, strength] = p >= 0.5 ? [BLUE, (p - 0.5) * 2] : [ORANGE, (0.5 - p) * 2];
  const amount = 0.55 * strength;
  return colour.map((c) => Math.round(255 + (c - 255) * amount));
}

export function drawBoundary(canvas, data, boundary, grid) {
  const { context, width, height } = fitCanvas(canvas);
  context.clearRect(0, 0, width, height);
  if (boundary) {
    const bytes = Uint8Array.from(atob(boundary), (c) => c.charCodeAt(0));
    const image = new ImageData(grid, grid);
    for (let i = 0; i < grid * grid; i++) {
      const [r, g, b] = mix(bytes[i] / 255);
      image.data.set([r, g, b, 255], i * 4);
    }
    const small = document.createElement("canvas");
    small.width = grid;
    small.height = grid;
    small.getContext("2d").putImageData(image, 0, 0);
    context.imageSmoothingEnabled = true;
    context.drawImage(small, 0, 0, width, height);
  }
  if (!data) return;
  const [x0, x1, y0, y1] = data.extent;
  const toPixel = (x, y) => [((x - x0) / (x1 - x0)) * width, ((y1 - y) / (y1 - y0)) * height];
  const draw = (rows, hollow) => {
    for (const [x, y, label] of rows) {
      const [px, py] = toPixel(x, y);
      const colour = label > 0.5 ? BLUE : ORANGE;
      context.beginPath();
      if (label > 0.5) context.arc(px, py, 4, 0, 2 * Math.PI);
      else context.rect(px - 3.6, py - 3.6, 7.2, 7.2);
      context.lineWidth = hollow ? 2 : 1;
      if (hollow) {
        context.fillStyle = "white";
        context.strokeStyle = `rgb(${colour.join(",")})`;
      } else {
        context.fillStyle = `rgb(${colour.join(",")})`;
        context.strokeStyle = "white";
      }
      context.fill();
      context.stroke();
    }
  };
  draw(data.train, false);
  draw(data.test, true);
}

export function pixelToData(canvas, data, event) {
  const box = canvas.getBoundingClientRect();
  const [x0, x1, y0, y1] = data.extent;
  return [
    x0 + ((event.clientX - box.left) / box.width) * (x1 - x0),
    y1 - ((event.clientY - box.top) / box.height) * (y1 - y0),
  ];
}

function axes(context, width, height, margin, xMax, yLabel, ticks) {
  context.strokeStyle = "#9ca3af";
  context.lineWidth = 1;
  context.beginPath();
  context.moveTo(margin.left, margin.top);
  context.lineTo(margin.left, height - margin.bottom);
  context.lineTo(width - margin.right, height - margin.bottom);
  context.stroke();
  context.fillStyle = "#374151";
  context.font = "12px system-ui, sans-serif";
  context.textAlign = "right";
  context.textBaseline = "middle";
  for (const [value, y] of ticks) context.fillText(value, margin.left - 5, y);
  context.textAlign = "center";
  context.textBaseline = "top";
  context.fillText(`step ${Math.round(xMax).toLocaleString()}`, width - margin.right - 30, height - margin.bottom + 4);
  context.fillText("0", margin.left, height - margin.bottom + 4);
  context.save();
  context.translate(12, (height - margin.bottom + margin.top) / 2);
  context.rotate(-Math.PI / 2);
  context.fillText(yLabel, 0, -6);
  context.restore();
}

function line(context, points, colour, dashed) {
  if (points.length === 0) return;
  context.strokeStyle = colour;
  context.lineWidth = 2.2;
  context.setLineDash(dashed ? [6, 4] : []);
  context.beginPath();
  points.forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
  context.stroke();
  context.setLineDash([]);
}

function legend(context, entries, x, y) {
  context.font = "12px system-ui, sans-serif";
  context.textAlign = "left";
  context.textBaseline = "middle";
  for (const [label, colour, dashed] of entries) {
    line(context, [[x, y], [x + 22, y]], colour, dashed);
    context.fillStyle = "#111827";
    context.fillText(label, x + 27, y);
    x += 34 + context.measureText(label).width;
  }
}

export function drawCurves(canvas, rows) {
  const { context, width, height } = fitCanvas(canvas);
  context.clearRect(0, 0, width, height);
  const margin = { left: 46, right: 10, top: 24, bottom: 20 };
  const xMax = Math.max(1, ...rows.map((r) => r.step));
  const costs = rows.flatMap((r) => [r.train, r.test]).filter((v) => v !== null && Number.isFinite(v));
  const yMax = Math.max(0.1, Math.min(5, ...costs.length ? [Math.max(...costs)] : [1]));
  const x = (step) => margin.left + (step / xMax) * (width - margin.left - margin.right);
  const y = (v) => height - margin.bottom - (Math.min(v, yMax) / yMax) * (height - margin.top - margin.bottom);
  const ticks = [0, yMax / 2, yMax].map((v) => [v.toFixed(2), y(v)]);
  axes(context, width, height, margin, xMax, "cost J", ticks);
  const series = (key) => rows.filter((r) => r[key] !== null).map((r) => [x(r.step), y(r[key])]);
  line(context, series("train"), "#2563eb", false);
  line(context, series("test"), "#ea580c", true);
  legend(context, [["train", "#2563eb", false], ["test", "#ea580c", true]], margin.left + 8, 10);
}

export function drawNorms(canvas, rows, layers) {
  const { context, width, height } = fitCanvas(canvas);
  context.clearRect(0, 0, width, height);
  const margin = { left: 46, right: 10, top: 24, bottom: 20 };
  const values = rows.flatMap((r) => r.norms).filter((v) => v !== null && v > 0);
  const xMax = Math.max(1, ...rows.map((r) => r.step));
  // A log scale: vanishing gradients sink by decades, exploding ones rise by decades.
  let low = values.length ? Math.floor(Math.log10(Math.min(...values))) : -4;
  let high = values.length ? Math.ceil(Math.log10(Math.max(...values))) : 0;
  if (high - low < 2) low = high - 2;
  const x = (step) => margin.left + (step / xMax) * (width - margin.left - margin.right);
  const y = (v) => height - margin.bottom - ((Math.log10(v) - low) / (high - low)) * (height - margin.top - margin.bottom);
  const ticks = [low, Math.round((low + high) / 2), high].map((e) => [`1e${e}`, y(10 ** e)]);
  axes(context, width, height, margin, xMax, "‖dW‖", ticks);
  const entries = [];
  // An exact zero (zero initialisation: no gradient at all) has no logarithm: it lies on the
  // floor of the plot, and the legend says "= 0", so that the plot is never silently empty.
  const floor = height - margin.bottom;
  const last = rows.length ? rows[rows.length - 1].norms : [];
  for (let layer = 0; layer < layers; layer++) {
    const colour = LAYER_COLOURS[layer % LAYER_COLOURS.length];
    const points = rows
      .filter((r) => r.norms[layer] !== null && r.norms.length === layers)
      .map((r) => [x(r.step), r.norms[layer] > 0 ? y(r.norms[layer]) : floor]);
    line(context, points, colour, false);
    entries.push([last[layer] === 0 ? `dW[${layer + 1}] = 0` : `dW[${layer + 1}]`, colour, false]);
  }
  legend(context, entries, margin.left + 8, 10);
}
