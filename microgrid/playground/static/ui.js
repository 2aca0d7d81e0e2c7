// The playground's page: controls, live plots, the graph with its inspector, backprop one op at a
// time. `mount(root, api)` builds it inside `root` and drives it through `api` (api.js or the
// notebook widget's), polling the Python side a few times a second; training itself never runs here.

import { drawBoundary, drawCurves, drawNorms, pixelToData } from "./plots.js";

const POLL_MS = 120;
const GRAPH_MS = 700;
const LABELS = {
  flower: "flower", circles: "circles", moons: "moons", spirals: "spirals", xor: "XOR", blobs: "blobs",
  custom: "custom data",
  tanh: "tanh", relu: "ReLU", sigmoid: "sigmoid", leaky_relu: "leaky ReLU", identity: "none (linear)",
  zeros: "zeros", random: "random × 0.01", large: "random × 10", xavier: "Xavier", he: "He",
  gd: "gradient descent", momentum: "momentum (β 0.9)", rmsprop: "RMSprop", adam: "Adam",
};

const TEMPLATE = `
<header class="mg-bar">
  <h1>microgrid <span>playground</span></h1>
  <div class="mg-buttons">
    <button data-action="play" class="mg-play" title="train (space)">▶ Play</button>
    <button data-action="step" title="one training step">+1 Step</button>
    <button data-action="reset" title="a new run from step 0">↺ Reset</button>
  </div>
  <div class="mg-counters">
    <span>step <b data-out="step">0</b></span>
    <span>epoch <b data-out="epoch">0</b></span>
    <span><b data-out="speed">0</b> steps/s</span>
    <span>train J <b data-out="train">–</b></span>
    <span>test J <b data-out="test">–</b></span>
    <span>accuracy <b data-out="accuracy">–</b></span>
  </div>
</header>
<div class="mg-message" data-out="message" role="alert" hidden></div>
<main class="mg-main">
  <form class="mg-controls" autocomplete="off">
    <fieldset><legend>Data</legend>
      <label>dataset <select name="dataset"></select></label>
      <label>points <input name="points" inputmode="numeric"></label>
      <label>noise <input name="noise" inputmode="decimal"></label>
      <label>test fraction <input name="test_fraction" inputmode="decimal"></label>
      <label class="mg-upload"><span>your data</span><span class="mg-file">upload CSV…</span><input type="file" name="csv" accept=".csv,text/csv"></label>
      <label>click adds <select name="click"><option value="1">● class 1 (blue)</option><option value="0">■ class 0 (orange)</option></select></label>
    </fieldset>
    <fieldset><legend>Network</legend>
      <div class="mg-layers" data-out="layers"></div>
      <div class="mg-row"><button type="button" data-layer="add">+ layer</button><button type="button" data-layer="remove">− layer</button></div>
      <label>initialisation <select name="init"></select></label>
      <label>keep_prob <input name="keep_prob" inputmode="decimal"></label>
    </fieldset>
    <fieldset><legend>Training</legend>
      <label>optimiser <select name="optimizer"></select></label>
      <label>learning rate <input name="lr" inputmode="decimal"></label>
      <label>decay <input name="decay" inputmode="decimal"></label>
      <label>batch size <input name="batch_size" inputmode="numeric" title="0: the whole training set"></label>
      <label>L2 λ <input name="l2" inputmode="decimal"></label>
      <label>seed <input name="seed" inputmode="numeric"></label>
      <label>steps/s <input name="speed" inputmode="numeric"></label>
    </fieldset>
    <div class="mg-row mg-export">
      <a data-export="py" download="playground.py">⤓ script</a>
      <a data-export="npz" download="playground.npz">⤓ weights</a>
    </div>
  </form>
  <section class="mg-plots">
    <div class="mg-title">Decision boundary <small>hollow: test points · click: add a point</small></div>
    <div class="mg-over">
      <canvas class="mg-boundary" data-out="boundary"></canvas>
      <div class="mg-symmetric" data-out="symmetric" hidden></div>
    </div>
    <canvas class="mg-curves" data-out="curves"></canvas>
    <canvas class="mg-norms" data-out="norms"></canvas>
  </section>
  <section class="mg-graph-panel">
    <div class="mg-title">
      <span>Graph <small>click a layer: open it · a node: inspect it</small></span>
      <button type="button" data-backprop="start">Backprop step by step</button>
    </div>
    <div class="mg-stepper" data-out="stepper" hidden>
      <button type="button" data-backprop="previous">◀ previous</button>
      <span data-out="frame"></span>
      <button type="button" data-backprop="next">next ▶</button>
      <button type="button" data-backprop="stop">✕ close</button>
    </div>
    <div class="mg-graph" data-out="graph"></div>
    <div class="mg-caption" data-out="caption" hidden></div>
    <div class="mg-inspector" data-out="inspector"><p class="mg-hint">Click a node of the graph: its value, its gradient and the rules that made it, with the current numbers.</p></div>
  </section>
</main>`;

export function mount(root, api) {
  root.classList.add("mg-playground");
  root.innerHTML = TEMPLATE;
  const $ = (selector) => root.querySelector(selector);
  const out = (name) => root.querySelector(`[data-out="${name}"]`);
  const form = $(".mg-controls");
  const view = {
    settings: api.settings, run: 0, since: -1, rows: [], data: null, dataVersion: "", playing: false,
    step: -1, expanded: new Set(), selected: null, graphStep: -1, graphAt: 0, backprop: null,
    busy: false, stopped: false, graphTicket: 0, nodeTicket: 0,
  };

  // --- messages -----------------------------------------------------------------------------
  function showMessage(text, field) {
    const box = out("message");
    root.querySelectorAll(".mg-invalid").forEach((el) => el.classList.remove("mg-invalid"));
    if (!text) { box.hidden = true; return; }
    box.textContent = text;
    box.hidden = false;
    const input = field && root.querySelector(`[name="${field}"]`);
    // The file input itself is invisible: its "upload CSV…" button is what gets the outline.
    if (input) (input.type === "file" ? input.previousElementSibling : input).classList.add("mg-invalid");
  }
  function failed(error) { showMessage(error.message, error.field); }

  // --- controls -------------------------------------------------------------------------------
  const fill = (name, values) => {
    form.elements[name].innerHTML = values.map((v) => `<option value="${v}">${LABELS[v] || v}</option>`).join("");
  };
  fill("dataset", api.choices.datasets);
  fill("init", api.choices.inits);
  fill("optimizer", api.choices.optimizers);

  function layerRow(layer, index) {
    const options = api.choices.activations
      .map((a) => `<option value="${a}"${a === layer.activation ? " selected" : ""}>${LABELS[a]}</option>`).join("");
    return `<div class="mg-layer"><span>layer ${index + 1}</span>
      <input name="units${index + 1}" value="${layer.units}" inputmode="numeric" title="1 to ${api.choices.max_units}" aria-label="units in layer ${index + 1}"> units
      <select name="activation${index + 1}" aria-label="activation of layer ${index + 1}">${options}</select></div>`;
  }
  function showSettings(settings, keep = "") {
    // `keep`: the field whose refused value stays on show beside its message; every other field
    // shows what the run really uses.
    view.settings = settings;
    for (const name of ["dataset", "points", "noise", "test_fraction", "init", "keep_prob", "optimizer", "lr",
      "decay", "batch_size", "l2", "seed", "speed"]) {
      const element = form.elements[name];
      if (document.activeElement !== element && name !== keep) element.value = settings[name];
    }
    if (/^(units|activation|layers)/.test(keep)) return;
    out("layers").innerHTML = settings.layers.map(layerRow).join("") || '<p class="mg-hint">no hidden layer: logistic regression</p>';
    $("[data-layer=add]").disabled = settings.layers.length >= api.choices.max_layers;
    $("[data-layer=remove]").disabled = settings.layers.length === 0;
  }
  function layersFromForm() {
    return view.settings.layers.map((_, i) => ({
      units: form.elements[`units${i + 1}`].value, activation: form.elements[`activation${i + 1}`].value,
    }));
  }
  async function send(values) {
    try {
      const answer = await api.configure(values);
      showMessage("");
      showSettings(answer.settings);
      refreshGraph(true);
    } catch (error) {
      showSettings(view.settings, error.field);
      failed(error);
    }
  }
  form.addEventListener("change", (event) => {
    const name = event.target.name;
    if (!name || name === "click" || name === "csv") return;
    if (name.startsWith("units") || name.startsWith("activation")) send({ layers: layersFromForm() });
    else send({ [name]: event.target.value });
  });
  root.querySelectorAll("[data-layer]").forEach((button) => button.addEventListener("click", () => {
    const layers = layersFromForm();
    if (button.dataset.layer === "add") layers.push({ units: 4, activation: "tanh" });
    else layers.pop();
    send({ layers });
  }));
  form.elements.csv.addEventListener("change", async () => {
    const file = form.elements.csv.files[0];
    if (!file) return;
    if (file.size > 200000) { showMessage(`${file.name} is ${file.size.toLocaleString()} bytes; the playground takes at most 200,000`, "csv"); return; }
    try {
      await api.csv(file);
      showMessage("");
    } catch (error) {
      failed(error);
    }
    form.elements.csv.value = "";
  });
  root.querySelectorAll("[data-export]").forEach((link) => {
    const url = api.exportUrl(link.dataset.export);
    if (url) link.href = url;
    else link.parentElement.hidden = true; // the notebook widget saves from Python instead
  });

  // --- play, step, reset ------------------------------------------------------------------------
  async function control(action) {
    // The walk shown is that of one step's batch: training on would leave it behind.
    if (action === "play" && view.backprop !== null) closeBackprop();
    try {
      await api.control(action);
      if (action !== "play") showMessage("");
    } catch (error) {
      failed(error);
    }
  }
  root.querySelectorAll("[data-action]").forEach((button) => button.addEventListener("click", () => {
    const action = button.dataset.action;
    control(action === "play" && view.playing ? "pause" : action);
  }));

  const boundary = out("boundary");
  boundary.addEventListener("click", async (event) => {
    if (!view.data) return;
    const [x1, x2] = pixelToData(boundary, view.data, event);
    try {
      await api.point(x1, x2, Number(form.elements.click.value));
      showMessage("");
    } catch (error) {
      failed(error);
    }
  });

  // --- polling -----------------------------------------------------------------------------------
  const number = (v, digits = 4) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
  function showState(state) {
    if (state.reset_curves) view.rows = [];
    view.rows.push(...state.rows);
    if (view.rows.length) view.since = view.rows[view.rows.length - 1].step;
    view.run = state.run;
    if (state.data) { view.data = state.data; view.dataVersion = state.data.version; }
    view.playing = state.playing;
    const play = $(".mg-play");
    play.textContent = state.playing ? "❚❚ Pause" : "▶ Play";
    play.classList.toggle("mg-playing", state.playing);
    out("step").textContent = state.step.toLocaleString();
    out("epoch").textContent = state.epoch.toLocaleString();
    out("speed").textContent = Math.round(state.steps_per_second);
    const last = view.rows[view.rows.length - 1] || {};
    out("train").textContent = number(last.train);
    out("test").textContent = number(last.test);
    out("accuracy").textContent = last.train_accuracy === undefined ? "–"
      : `${(100 * last.train_accuracy).toFixed(1)}%` + (last.test_accuracy === null ? "" : ` / ${(100 * last.test_accuracy).toFixed(1)}%`);
    if (state.message) showMessage(state.message);
    const symmetric = out("symmetric");
    symmetric.hidden = state.symmetric.length === 0;
    symmetric.textContent = state.symmetric.length ? `Symmetry: ${state.symmetric.join("; ")} (zero initialisation never breaks it)` : "";
    if (state.settings && JSON.stringify(state.settings) !== JSON.stringify(view.settings)) showSettings(state.settings);
    drawBoundary(boundary, view.data, state.boundary, state.grid);
    drawCurves(out("curves"), view.rows);
    drawNorms(out("norms"), view.rows, state.layers);
    if (state.step !== view.step) {
      view.step = state.step;
      refreshGraph(false);
    }
  }
  async function poll() {
    if (view.stopped) return;
    if (!view.busy) {
      view.busy = true;
      try {
        showState(await api.state(view.since, view.dataVersion, view.run));
      } catch (error) {
        failed(error);
      } finally {
        view.busy = false;
      }
    }
    setTimeout(poll, POLL_MS);
  }

  // --- the graph and the inspector ------------------------------------------------------------
  async function refreshGraph(force) {
    if (view.backprop !== null) return;
    const now = performance.now();
    if (!force && view.playing && now - view.graphAt < GRAPH_MS) return;
    view.graphAt = now;
    const ticket = ++view.graphTicket;
    try {
      const answer = await api.graph(view.expanded);
      // An older request answering late (a layer was opened meanwhile) must not undo the newer one.
      if (view.backprop !== null || ticket !== view.graphTicket) return;
      showSvg(answer.svg);
      view.boxes = answer.boxes;
      markSelected();
      if (view.selected) inspect(view.selected);
    } catch (error) {
      failed(error);
    }
  }
  function showSvg(text) {
    // Fit the panel, but never below 60 % of Graphviz's size: past that the panel scrolls,
    // so that the numbers in the nodes stay readable on a projector.
    const panel = out("graph");
    panel.innerHTML = text.slice(text.indexOf("<svg"));
    const svg = panel.querySelector("svg");
    const width = (parseFloat(svg.getAttribute("width")) * 4) / 3;
    const height = (parseFloat(svg.getAttribute("height")) * 4) / 3;
    const fit = Math.min(1, (panel.clientWidth - 12) / width, (panel.clientHeight - 12) / height);
    svg.style.width = `${width * Math.max(0.6, fit)}px`;
    svg.style.height = "auto";
  }
  function centre(element) {
    // The node the walk visits, in the middle of the panel (the picture may be larger than it).
    if (!element) return;
    const panel = out("graph");
    const box = element.getBoundingClientRect(), frame = panel.getBoundingClientRect();
    panel.scrollLeft += box.left + box.width / 2 - (frame.left + frame.width / 2);
    panel.scrollTop += box.top + box.height / 2 - (frame.top + frame.height / 2);
  }
  function markSelected() {
    out("graph").querySelectorAll("g.node").forEach((node) => {
      const key = node.querySelector("title").textContent;
      node.classList.toggle("mg-selected", key === view.selected || key === `op_${view.selected}`);
    });
  }
  // On press, not on click: while training, the picture is replaced a few times a second, and a
  // click whose press and release land on two different pictures would never fire.
  out("graph").addEventListener("pointerdown", (event) => {
    if (view.backprop !== null || event.button !== 0) return;
    const node = event.target.closest("g.node");
    const cluster = event.target.closest("g.cluster");
    if (node) {
      const key = node.querySelector("title").textContent;
      if (view.boxes && view.boxes[key]) {
        view.expanded.add(view.boxes[key]);
        refreshGraph(true);
      } else {
        view.selected = key.replace(/^op_/, "");
        markSelected();
        inspect(view.selected);
      }
    } else if (cluster) {
      // An open layer: click its frame to close it again.
      const name = [...cluster.querySelectorAll(":scope > text")].map((t) => t.textContent).join(" ").trim();
      view.expanded.delete(name);
      refreshGraph(true);
    }
  });
  const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  function table(cells) {
    const rows = cells.rows.map((row) => `<tr>${row.map((v) => `<td>${v === null ? "NaN" : Number(v).toPrecision(4)}</td>`).join("")}${cells.truncated ? "<td>…</td>" : ""}</tr>`);
    return `<table>${rows.join("")}</table>`;
  }
  async function inspect(key) {
    const ticket = ++view.nodeTicket;
    try {
      const node = await api.node(key);
      if (ticket !== view.nodeTicket) return;
      const lines = (title, items) => (items.length ? `<h4>${title}</h4>${items.map((l) => `<code>${escape(l)}</code>`).join("")}` : "");
      out("inspector").innerHTML = `
        <h3>${escape(node.name)} <small>${escape(node.kind)} · shape (${node.shape.join(", ")}) · step ${node.step}</small></h3>
        ${node.formula ? `<p class="mg-formula">${escape(node.op)}: <code>${escape(node.formula)}</code></p>` : ""}
        ${node.identical_rows ? `<p class="mg-warning">${escape(node.identical_rows)}</p>` : ""}
        <div class="mg-values">
          <div><h4>value ${escape(node.value_text)}</h4>${table(node.value)}</div>
          ${node.grad ? `<div class="mg-gradient"><h4>gradient d${escape(node.name)} ${escape(node.grad_text)}</h4>${table(node.grad)}</div>` : ""}
        </div>
        ${lines("what it received", node.receives)}
        ${lines("what its op sends its inputs", node.sends)}`;
      out("inspector").dataset.key = node.key;
    } catch (error) {
      failed(error);
    }
  }

  // --- backprop one op at a time ---------------------------------------------------------------
  async function showFrame(index) {
    try {
      const frame = await api.backprop(index);
      const opening = view.backprop === null;
      view.backprop = frame.index;
      // Training has paused for the walk, and the graph stops refreshing while it is open: show
      // the inspected node as of the paused step, not as of the last refresh before it.
      if (opening && view.selected) inspect(view.selected);
      out("stepper").hidden = false;
      out("caption").hidden = false;
      out("frame").textContent = `frame ${frame.index} of ${frame.count - 1}`;
      showSvg(frame.svg);
      centre([...out("graph").querySelectorAll("g.node")].find((node) => node.querySelector("title").textContent === frame.key));
      out("caption").innerHTML = `<h4>${escape(frame.title)}</h4>${frame.lines.map((l) => `<code>${escape(l)}</code>`).join("")}`;
      $("[data-backprop=start]").hidden = true;
    } catch (error) {
      failed(error);
    }
  }
  root.querySelectorAll("[data-backprop]").forEach((button) => button.addEventListener("click", () => {
    const what = button.dataset.backprop;
    if (what === "start") showFrame(0);
    else if (what === "next") showFrame(view.backprop + 1);
    else if (what === "previous") showFrame(view.backprop - 1);
    else closeBackprop();
  }));
  function closeBackprop() {
    view.backprop = null;
    out("stepper").hidden = true;
    out("caption").hidden = true;
    $("[data-backprop=start]").hidden = false;
    refreshGraph(true);
  }
  root.addEventListener("keydown", (event) => {
    if (view.backprop === null || event.target.tagName === "INPUT") return;
    if (event.key === "ArrowRight") showFrame(view.backprop + 1);
    if (event.key === "ArrowLeft") showFrame(view.backprop - 1);
  });

  showSettings(api.settings);
  poll();
  return { stop() { view.stopped = true; } };
}
