"""One learner's playground: data, network, optimiser and the training loop that runs beside the page.

A Session is what one browser tab (or one notebook widget) drives. Training runs in a thread of its
own, never on a request: `play()` starts it, `pause()` stops it, and it stops by itself when the page
has not been heard from for `HEARTBEAT_TIMEOUT` seconds. Every other method holds the session's lock,
so the page reads a consistent state between two steps.

The steps replay (`mg.replay`): recorded once per batch shape, then run as flat numpy calls. The
views that need a recorded graph (the graph, the node inspector, backprop one op at a time) make
their own eager forward and backward pass on the current batch with the current weights, so what they
show is exactly the state the next step starts from.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import itertools
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from microgrid import nn, optim
from microgrid.creation import Seed, generator
from microgrid.modes import enable_grad, no_grad
from microgrid.nn.module import write_npz
from microgrid.playground import points
from microgrid.playground.rules import epoch_batches, split
from microgrid.playground.settings import MAX_POINTS, RESTARTS, RETRAINS, SettingError, Settings, parse
from microgrid.replay import replay
from microgrid.tensor import Tensor
from microgrid.viz import dot, render
from microgrid.viz.graph import Graph, value_lines, value_text
from microgrid.viz.picture import DiagramTooLarge, Picture, collapse_scopes, forward_picture
from microgrid.viz.stepthrough import StepThrough

HEARTBEAT_TIMEOUT = 15.0  # seconds without a request from the page before training stops
RECORD_EVERY = 0.05  # seconds between two points of the cost curves while training runs
MAX_HISTORY = 4000  # points of the cost curves kept; past it every other old point is dropped
GRID = 72  # the decision boundary is sampled on GRID × GRID points
MAX_STEPS_AT_ONCE = 50  # steps taken under the lock in one go, so the page never waits long
INSPECT_CELLS = 64  # arrays up to this many numbers are sent whole to the inspector
ACTIVATION_LAYERS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


def large_random(shape: tuple[int, ...], seed: Seed = None) -> np.ndarray:
    """N(0, 1) · 10: the course's "too large" initialisation (tanh saturates, gradients vanish)."""
    return nn.init.normal(shape, seed, scale=10.0)


INITIALIZERS: dict[str, Any] = {
    "zeros": "zeros",
    "random": "random",
    "large": large_random,
    "xavier": "xavier",
    "he": "he",
}


def build_model(settings: Settings, rng: np.random.Generator) -> nn.Sequential:
    """Dense layers of the settings' sizes, each hidden one with its activation (and dropout)."""
    modules: list[nn.Module] = []
    sizes = settings.sizes()
    for number, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        modules.append(nn.Dense(n_in, n_out, init=INITIALIZERS[settings.init], seed=rng, layer=number))
        if number <= len(settings.layers):
            activation = settings.layers[number - 1].activation
            if activation != "identity":
                modules.append(ACTIVATION_LAYERS[activation](layer=number))
            if settings.keep_prob < 1:
                modules.append(nn.Dropout(keep_prob=settings.keep_prob, seed=rng, layer=number))
    return nn.Sequential(*modules)


def build_optimizer(settings: Settings, params: list[Tensor]) -> optim.Optimizer:
    """The optimiser the settings name, with their learning rate."""
    if settings.optimizer == "momentum":
        return optim.Momentum(params, lr=settings.lr, beta=0.9)
    if settings.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=settings.lr)
    if settings.optimizer == "adam":
        return optim.Adam(params, lr=settings.lr)
    return optim.SGD(params, lr=settings.lr)


@dataclass
class View:
    """The graph of the cost on the current batch with the current weights, and its gradients."""

    key: tuple[int, int]  # (run, step) it was made at
    cost: Tensor
    graph: Graph
    grads: dict[int, Tensor]
    by_key: dict[str, Tensor]


class Session:
    """A run of the playground: see the module's docstring."""

    def __init__(
        self,
        settings: Settings | None = None,
        custom: tuple[np.ndarray, np.ndarray] | None = None,
        replay: bool = True,
        model: nn.Module | None = None,
    ) -> None:
        self.id = secrets.token_urlsafe(16)
        self._replay = replay
        self.lock = threading.RLock()
        self.last_seen = time.monotonic()
        self.settings = Settings() if settings is None else settings
        if custom is not None:
            self.settings = dataclasses.replace(self.settings, dataset="custom")
        self.custom = custom
        # A network of the caller's (the notebook widget's): reset restores its weights; changing the
        # layers or the initialisation replaces it with one built from the settings.
        self.own_model = model
        self.own_weights = None if model is None else model.state_dict()
        self.playing = False
        self.generation = 0  # counts the training threads started: only the newest may run
        self.thread: threading.Thread | None = None
        self.message: str | None = None  # why training stopped by itself (the cost diverged)
        self.run = 0
        self.rates: deque[tuple[float, int]] = deque(maxlen=64)  # (time, step) to measure steps/s
        self._view: View | None = None
        self._stepper: tuple[tuple[int, int], StepThrough] | None = None
        self._boundary: tuple[tuple[int, int, str], str] | None = None
        self.restart()

    @property
    def replay(self) -> bool:
        """True: the steps replay (`mg.replay`); False: every step eager, as a learner's own loop (the
        benchmark compares). Fixed at construction: the training step is built from it."""
        return self._replay

    # --- building a run --------------------------------------------------------------------------

    def restart(self) -> None:
        """A new run from step 0: data, network and optimiser made again from the settings and seed."""
        with self.lock:
            self.run += 1
            self._load_data()
            self.rng = np.random.default_rng(self.settings.seed)
            if self.own_model is not None and self.own_weights is not None:
                self.model = self.own_model
                self.model.load_state_dict(self.own_weights)
            else:
                self.model = build_model(self.settings, self.rng)
            self.step = 0
            self.epoch = 0
            self.history: list[dict[str, Any]] = []
            self.message = None
            self._prepare_training()
            self._record()

    def _load_data(self) -> None:
        """The data of the settings (or the custom points), split, with the square the plot shows."""
        s = self.settings
        X, Y = self.custom if self.custom is not None else points.dataset(s)
        self.X_train, self.Y_train, self.X_test, self.Y_test = split(X, Y, s.test_fraction, s.seed)
        self.X_all, self.Y_all = X, Y
        low, high = X.min(axis=1), X.max(axis=1)
        centre, half = (low + high) / 2, max(float((high - low).max()) / 2 * 1.15, 0.5)
        self.extent = [
            float(centre[0] - half),
            float(centre[0] + half),
            float(centre[1] - half),
            float(centre[1] + half),
        ]
        self.batches: Iterator[tuple[Tensor, Tensor]] = iter(())
        self.batches_left = 0
        self.last_batch = (Tensor(self.X_train, name="X"), Tensor(self.Y_train, name="Y"))
        self.data_version = secrets.token_hex(4)
        self._forget_views()

    def _prepare_training(self) -> None:
        """The optimiser, the schedule and the (replayed) training step for the current settings."""
        s = self.settings
        self.optimizer = build_optimizer(s, list(self.model.parameters()))
        self.schedule = optim.InverseTimeDecay(self.optimizer, decay_rate=s.decay) if s.decay else None
        self._set_lr()
        optimizer = self.optimizer
        self.batches_left = 0  # a new batch size starts a new pass over the data
        self._forget_views()  # an l2 term changes the cost's graph

        def step(X: Tensor, Y: Tensor) -> Tensor:
            J = self.cost(X, Y)
            optimizer.zero_grad()
            J.backward()
            optimizer.step()
            return J

        self.train_step = replay(step) if self._replay else step

    def _forget_views(self) -> None:
        """The graph, inspector and backprop views were made on other data or another cost: drop them."""
        self._view = None
        self._stepper = None

    def _set_lr(self) -> None:
        """The learning rate of the settings, decayed for the epochs already trained."""
        if self.schedule is None:
            self.optimizer.lr = self.settings.lr
        else:
            self.schedule.initial_lr, self.schedule.count = self.settings.lr, self.epoch
            self.optimizer.lr = self.schedule.lr_at(self.epoch)

    def cost(self, X: Tensor, Y: Tensor) -> Tensor:
        """J = cross-entropy of σ(model(X)) against Y, plus λ/(2m)·Σ‖W[l]‖² when L2 is on."""
        J = nn.sigmoid_cross_entropy(self.model(X), Y)
        if self.settings.l2:
            J = J + nn.l2_penalty(self.model, self.settings.l2, X.shape[1])
            J.name = "J"
        return J

    # --- changing the settings and the data -------------------------------------------------------

    def configure(self, values: dict[str, Any]) -> Settings:
        """Apply the page's changes; those in RESTARTS start a new run, the others keep the weights.
        A change the engine refuses leaves the run as it was: settings, data, network and weights."""
        with self.lock:
            new = parse(values, self.settings)
            old = self.settings
            changed = {
                name for name in RESTARTS + RETRAINS + ("lr",) if getattr(old, name) != getattr(new, name)
            }
            before, weights = dict(vars(self)), self.model.state_dict()
            self.settings = new
            if new.dataset != "custom":
                self.custom = None  # a built-in dataset replaces the user's points, in the run and the export
            if old.layers != new.layers or old.init != new.init:
                self.own_model = None
            try:
                if changed & set(RESTARTS):
                    self.restart()
                elif changed & set(RETRAINS):
                    self._prepare_training()
                elif "lr" in changed:  # the optimiser keeps its moving averages; a replay reads the new rate
                    self._set_lr()
            except (ValueError, TypeError) as error:
                vars(self).update(before)
                self.model.load_state_dict(weights)  # a restart may have reset the widget's own network
                self._set_lr()
                raise SettingError("", str(error)) from None
            return new

    def load_csv(self, raw: bytes) -> None:
        """The user's CSV becomes the dataset: a new run."""
        X, Y = points.parse_csv(raw)
        with self.lock:
            self.custom = (X, Y)
            self.settings = dataclasses.replace(self.settings, dataset="custom")
            self.restart()

    def add_point(self, values: object) -> None:
        """A clicked point joins the data; training goes on with the same weights."""
        x1, x2, label = points.point(values)
        with self.lock:
            X, Y = self.X_all, self.Y_all
            if X.shape[1] >= MAX_POINTS:
                raise SettingError(
                    "point", f"The data already has {X.shape[1]} points, the most the playground takes"
                )
            self.custom = (np.hstack([X, [[x1], [x2]]]), np.hstack([Y, [[label]]]))
            self.settings = dataclasses.replace(self.settings, dataset="custom")
            self._load_data()
            self._record()

    # --- training ----------------------------------------------------------------------------------

    def _next_batch(self) -> tuple[Tensor, Tensor]:
        """The next batch of the epoch (`rules.epoch_batches`); an epoch ends with its last batch."""
        if self.batches_left == 0:
            batches = epoch_batches(self.X_train, self.Y_train, self.settings.batch_size, self.rng)
            self.batches, self.batches_left = iter(batches), len(batches)
        batch = next(self.batches)
        self.batches_left -= 1
        if self.batches_left == 0:
            self._end_epoch()
        return batch

    def _end_epoch(self) -> None:
        self.epoch += 1
        if self.schedule is not None:
            self.schedule.step()

    def train(self, steps: int = 1) -> None:
        """Take `steps` training steps now (the page's "one step", a notebook's loop)."""
        with self.lock:
            for _ in range(steps):
                if not self._step():
                    break
            self._record()

    def _step(self) -> bool:
        """One step on the next batch; False (and training paused) when the cost is not finite."""
        X, Y = self._next_batch()
        # A diverging run overflows on its way to NaN: the page's message says so, not a warning per step.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            J = self.train_step(X, Y)
        self.step += 1
        self.last_batch = (X, Y)
        self.rates.append((time.monotonic(), self.step))
        cost = J.item()
        if not math.isfinite(cost):
            self.playing = False
            self.message = (
                f"The cost became {cost} at step {self.step}: the steps are too large. Lower the learning "
                f"rate ({self.settings.lr:g}) and press reset."
            )
            return False
        return True

    def control(self, action: object) -> dict[str, Any]:
        """The page's buttons: play, pause, step (one step, paused) or reset (a new run, paused)."""
        if action == "play":
            self.play()
        elif action in ("pause", "step", "reset"):
            self.pause()
            if action == "step":
                self.train(1)
            elif action == "reset":
                self.restart()
        else:
            raise SettingError(
                "action", f"Unknown action {str(action)[:20]!r}; use play, pause, step or reset"
            )
        return {"playing": self.playing, "step": self.step}

    def play(self) -> None:
        """Train in a background thread at `settings.speed` steps per second until paused."""
        with self.lock:
            if self.playing or self.message is not None:
                return
            self.playing = True
            self.generation += 1
            self.thread = threading.Thread(
                target=self._loop, args=(self.generation,), name=f"playground {self.id[:6]}", daemon=True
            )
            self.thread.start()

    def pause(self) -> None:
        """Stop training and wait for the thread to finish its last steps."""
        with self.lock:  # as play() reads them: a play() in between would start a thread never joined
            self.playing = False
            thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self.lock:
            self._record()

    def _loop(self, generation: int) -> None:
        """The training thread: steps paced by a budget that grows at `speed` per second. It ends
        at a pause, or when a newer thread has started (a pause and a play in quick succession)."""
        budget, last, recorded = 0.0, time.monotonic(), 0.0
        while self.playing and self.generation == generation:
            now = time.monotonic()
            if now - self.last_seen > HEARTBEAT_TIMEOUT:
                self.playing = False  # the page has gone away
                break
            speed = self.settings.speed
            budget = min(budget + (now - last) * speed, max(1.0, speed / 10))
            last = now
            if budget < 1:
                time.sleep(min(0.02, (1 - budget) / speed))
                continue
            steps = min(int(budget), MAX_STEPS_AT_ONCE)
            budget -= steps
            with self.lock:
                for _ in range(steps):
                    if not self.playing or not self._step():
                        break
                if now - recorded >= RECORD_EVERY:
                    self._record()
                    recorded = now
            time.sleep(0)  # let the server's threads take the lock

    def steps_per_second(self) -> float:
        """The training speed measured over the last steps (0 when paused)."""
        if not self.playing or len(self.rates) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self.rates[0], self.rates[-1]
        if time.monotonic() - t1 > 1:
            return 0.0
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    # --- what the page shows -------------------------------------------------------------------------

    def _evaluate(self, X: np.ndarray, Y: np.ndarray) -> tuple[float | None, float | None]:
        """(cost, accuracy) of the network on X, Y, dropout off; (None, None) for no examples."""
        if X.shape[1] == 0:
            return None, None
        with no_grad():
            self.model.eval()
            try:
                Z = self.model(X)
            finally:
                self.model.train()
            J = nn.sigmoid_cross_entropy(Z, Y).item()
        accuracy = float(np.mean((Z.data > 0) == (Y > 0.5)))
        return (J if math.isfinite(J) else None), accuracy

    def _record(self) -> None:
        """One point of the curves: costs, accuracies and each layer's gradient norm ‖dW[l]‖."""
        if (
            self.history
            and self.history[-1]["step"] == self.step
            and self.history[-1]["data"] == self.data_version
        ):
            return
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            train, train_accuracy = self._evaluate(self.X_train, self.Y_train)
            test, test_accuracy = self._evaluate(self.X_test, self.Y_test)
        norms = [None if W.grad is None else float(np.linalg.norm(W.grad.data)) for W in self.weights()]
        self.history.append(
            {
                "step": self.step,
                "epoch": self.epoch,
                "train": train,
                "test": test,
                "train_accuracy": train_accuracy,
                "test_accuracy": test_accuracy,
                "norms": [n if n is None or math.isfinite(n) else None for n in norms],
                "data": self.data_version,
            }
        )
        if len(self.history) > MAX_HISTORY:
            self.history = self.history[: MAX_HISTORY // 2 : 2] + self.history[MAX_HISTORY // 2 :]

    def weights(self) -> list[Tensor]:
        """W[1] … W[L] in order."""
        return [p for name, p in self.model.named_parameters() if name.endswith(".W")]

    def boundary(self) -> str:
        """σ(model(x)) on a GRID × GRID raster of the plot's square, top row first, as base64 bytes 0–255."""
        key = (self.run, self.step, self.data_version)
        if self._boundary is not None and self._boundary[0] == key:
            return self._boundary[1]
        x0, x1, y0, y1 = self.extent
        xs = np.linspace(x0, x1, GRID)
        ys = np.linspace(y1, y0, GRID)
        grid = np.stack([np.tile(xs, GRID), np.repeat(ys, GRID)])
        with no_grad():
            self.model.eval()
            try:
                z = self.model(grid).data[0]
            finally:
                self.model.train()
        probability = 0.5 * (1 + np.tanh(np.clip(z, -40, 40) / 2))  # σ(z), without overflow warnings
        probability = np.nan_to_num(probability, nan=0.5)
        encoded = base64.b64encode(np.round(probability * 255).astype(np.uint8).tobytes()).decode("ascii")
        self._boundary = (key, encoded)
        return encoded

    def state(self, since_step: int = -1, data_version: str = "", run: int = 0) -> dict[str, Any]:
        """What the page polls: the counters, the new points of the curves, the boundary, and the data
        when the page's copy (`data_version`) is out of date. Counts as a heartbeat."""
        self.last_seen = time.monotonic()
        with self.lock:
            fresh = run != self.run
            rows = [row for row in self.history if fresh or row["step"] > since_step]
            state: dict[str, Any] = {
                "run": self.run,
                "step": self.step,
                "epoch": self.epoch,
                "playing": self.playing,
                "lr": self.optimizer.lr,
                "steps_per_second": self.steps_per_second(),
                "message": self.message,
                "rows": [{k: v for k, v in row.items() if k != "data"} for row in rows],
                "reset_curves": fresh,
                "boundary": self.boundary(),
                "grid": GRID,
                "layers": len(self.weights()),
                "symmetric": self.symmetric_layers(),
                "settings": self.settings.as_dict(),
            }
            if data_version != self.data_version:
                state["data"] = {
                    "version": self.data_version,
                    "extent": self.extent,
                    "train": np.vstack([self.X_train, self.Y_train]).T.round(4).tolist(),
                    "test": np.vstack([self.X_test, self.Y_test]).T.round(4).tolist(),
                }
            return state

    def symmetric_layers(self) -> list[str]:
        """Hidden layers whose units are all identical (same incoming weights and bias): the
        symmetry that zero initialisation never breaks."""
        found = []
        dense = [module for module in self.model.modules() if isinstance(module, nn.Dense)]
        for layer in dense[:-1]:  # the hidden layers: the output layer has its one unit
            rows = np.hstack([layer.W.data, layer.b.data])
            if layer.n_out > 1 and np.all(rows == rows[0]):
                found.append(f"all {layer.n_out} units of layer {layer.layer} are identical")
        return found

    # --- the recorded graph: graph view, inspector, backprop one op at a time ----------------------

    def view(self) -> View:
        """The cost on the current batch, recorded eagerly, with every gradient of the engine's walk."""
        with self.lock:
            key = (self.run, self.step)
            if self._view is not None and self._view.key == key:
                return self._view
            X, Y = self.last_batch
            with enable_grad(), generators_kept(self.model):
                J = self.cost(X, Y)
            graph = Graph(J)
            grads = graph.gradients()
            by_key = {graph.key(t): t for t in graph.tensors}
            self._view = View(key, J, graph, grads, by_key)
            return self._view

    def graph_svg(self, expanded: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The forward graph with each layer collapsed into one box (but those in `expanded`), live
        values and gradient norms in the boxes, rendered to SVG by Graphviz."""
        with self.lock:
            view = self.view()
            picture = forward_picture(view.graph, view.grads)
            # Only layers collapse: another scope (the loss's "cost") is small and stays open.
            others = {
                t.scope[0] for t in view.graph.tensors if t.scope and not t.scope[0].startswith("layer ")
            }
            picture = collapse_except(picture, expanded | others)
            self._annotate(picture, view)
            source = dot.to_digraph(picture, "TB", legend=False).source
        svg = render.pipe(source, "svg").decode("utf-8")
        boxes = {node.key: node.title for node in picture.nodes.values() if node.kind == "scope"}
        return {"svg": svg, "boxes": boxes, "step": view.key[1]}

    def _annotate(self, picture: Picture, view: View) -> None:
        """Each collapsed layer's box gets its gradient norms, its output's values and a symmetry note."""
        by_scope: dict[str, list[Tensor]] = {}
        for t in view.graph.tensors:
            if t.scope:
                by_scope.setdefault(t.scope[0], []).append(t)
        for node in picture.nodes.values():
            if node.kind != "scope":
                continue
            inside = by_scope.get(node.title, [])
            for t in inside:
                gradient = view.grads.get(id(t))
                if t.requires_grad and t.op is None and gradient is not None:
                    norm = float(np.linalg.norm(gradient.data))
                    node.lines.append(f"‖d{view.graph.name(t)}‖ = {norm:.3g}")
            made = [t for t in inside if t.op is not None]
            if made:
                output = made[-1]
                node.lines.append(f"{view.graph.name(output)}: {value_lines(output.data)[0]}")
            node.lines.extend(
                note
                for note in self.symmetric_layers()
                if note.endswith(f" of {node.title} are identical")  # the box of "layer 1"
            )

    def inspect(self, key: str) -> dict[str, Any]:
        """A node of the graph: its value, its gradient, its shape, and the local rules with the
        current numbers (what its op sent its inputs, and what it received)."""
        with self.lock:
            view = self.view()
            t = view.by_key.get(key.removeprefix("op_"))
            if t is None:
                raise SettingError("node", f"The graph has no node {key[:40]!r}; click a node of the picture")
            graph = view.graph
            gradient = view.grads.get(id(t))
            steps = graph.steps()
            own = [graph.sent(step, c) for step in steps if step.tensor is t for c in step.contributions()]
            received = [graph.sent(step, c) for step in steps for c in step.contributions() if c.input is t]
            name = graph.name(t)
            return {
                "key": graph.key(t),
                "name": name,
                "kind": graph.kind(t),
                "shape": list(t.shape),
                "value": _cells(t.data),
                "value_text": value_text(t),
                "grad": None if gradient is None else _cells(gradient.data),
                "grad_text": None if gradient is None else value_text(gradient),
                "op": None if t.op is None else t.op.describe(),
                "formula": None if t.op is None else f"{name} = {graph.formula(t.op)}",
                "sends": own,
                "receives": received,
                "identical_rows": _identical_rows(t.data),
                "step": view.key[1],
            }

    def backprop(self, index: int) -> dict[str, Any]:
        """Frame `index` of backpropagation through the current batch's graph: the engine's own walk,
        one step per frame, as `mg.step_through` shows it. Training pauses."""
        if self.playing:
            self.pause()
        with self.lock:
            view = self.view()
            if self._stepper is None or self._stepper[0] != view.key:
                try:
                    self._stepper = (view.key, StepThrough(view.cost, rankdir="TB"))
                except DiagramTooLarge:
                    raise SettingError(
                        "backprop", "This network's graph is too large to step through; use fewer layers"
                    ) from None
            stepper = self._stepper[1]
            index = max(0, min(index, len(stepper.frames) - 1))
            frame = stepper.frames[index]
            source = stepper.source(index)
        svg = render.pipe(source, "svg").decode("utf-8")
        return {
            "index": index,
            "count": len(stepper.frames),
            "title": frame.title,
            "lines": frame.lines,
            "key": frame.key,  # the node the walk visits (None before the first step)
            "svg": svg,
        }

    # --- export -----------------------------------------------------------------------------------------

    def weights_npz(self) -> bytes:
        """The trained weights as an .npz that `Module.load` reads into the exported script's model."""
        with self.lock:
            out = io.BytesIO()
            write_npz(out, self.model.state_dict())
            return out.getvalue()

    def script(self) -> str:
        """A runnable microgrid script that builds this network and trains it with these settings."""
        from microgrid.playground.export import script

        with self.lock:
            custom = None if self.custom is None else (self.X_all, self.Y_all)
            return script(self.settings, max(self.step, 1), custom)


@contextlib.contextmanager
def generators_kept(model: nn.Module) -> Iterator[None]:
    """Every generator `model`'s dropout draws from is back in its state after the block, so that
    looking at the graph never changes the masks training draws next (same seed, same numbers)."""
    found = [generator()] + [
        module.rng for module in model.modules() if isinstance(module, nn.Dropout) and module.rng is not None
    ]
    states: list[tuple[Any, Any]] = [
        (rng, rng.bit_generator.state if isinstance(rng, np.random.Generator) else rng.get_state())
        for rng in {id(rng): rng for rng in found}.values()
    ]
    try:
        yield
    finally:
        for rng, state in states:
            if isinstance(rng, np.random.Generator):
                rng.bit_generator.state = state
            else:
                rng.set_state(state)


def collapse_except(picture: Picture, expanded: frozenset[str]) -> Picture:
    """`collapse_scopes`, but the layers named in `expanded` keep their ops and tensors.

    collapse_scopes collapses every node with a scope and passes the others through as they are;
    the nodes of an expanded layer go through with their scope hidden, then get it back, so
    that the picture draws them inside their layer's cluster.
    """
    kept = {
        key: node.scope for key, node in picture.nodes.items() if node.scope and node.scope[0] in expanded
    }
    for key in kept:
        picture.nodes[key].scope = ()
    collapsed = collapse_scopes(picture)
    for key, scope in kept.items():
        collapsed.nodes[key].scope = scope
    return collapsed


def _cells(array: np.ndarray) -> dict[str, Any]:
    """An array for the inspector: whole up to INSPECT_CELLS numbers, else its first rows and columns."""
    values = np.asarray(array, dtype=np.float64)
    table = (
        values.reshape(1, 1)
        if values.ndim == 0
        else values.reshape(values.shape[0], -1)
        if values.ndim > 1
        else values.reshape(1, -1)
    )
    rows, columns = (
        min(table.shape[0], 8),
        min(table.shape[1], 8) if values.size > INSPECT_CELLS else table.shape[1],
    )
    shown = table[:rows, :columns] if values.size > INSPECT_CELLS else table
    return {
        "rows": [[v if math.isfinite(v) else None for v in row] for row in shown.tolist()],
        "truncated": values.size > INSPECT_CELLS,
    }


def _identical_rows(array: np.ndarray) -> str | None:
    """ "all 4 rows are identical" for a matrix whose rows (units) are all the same, else None."""
    if array.ndim != 2 or array.shape[0] < 2 or not np.all(array == array[0]):
        return None
    return f"all {array.shape[0]} rows are identical: every unit computes the same thing"


__all__ = ["Session", "build_model", "build_optimizer", "collapse_except", "large_random"]
