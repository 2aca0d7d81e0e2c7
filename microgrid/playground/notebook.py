"""The playground in a Jupyter notebook: the web app's front end as an anywidget, on a Session in the kernel.

    from microgrid import playground
    w = playground.widget(mg.nn.mlp([2, 4, 1], hidden="tanh", seed=0), X, Y)
    w                      # the page: play, step, graph, inspector, backprop one op at a time
    w.train(100)           # or drive it from Python; w.step and w.cost follow

The front end is the web app's own JavaScript (static/), joined into one module for anywidget (which
loads a single file): each file's `import` lines are dropped and its `export`s become plain
definitions. The page's calls go through the widget's messages instead of HTTP, to the same Session
methods the web app calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from microgrid.errors import ShapeError
from microgrid.modes import no_grad
from microgrid.nn.module import Module
from microgrid.playground import points, require
from microgrid.playground.session import Session, generators_kept
from microgrid.playground.settings import SettingError, choices, parse

# In dependency order: each file only uses what the files before it define.
MODULES = ("plots.js", "api.js", "ui.js", "widget.js")


def bundle() -> str:
    """The front end as one ES module: the files of MODULES joined, their imports and exports resolved."""
    static = resources.files("microgrid.playground").joinpath("static")
    parts = []
    for name in MODULES:
        text = static.joinpath(name).read_text(encoding="utf-8")
        text = re.sub(r"^import [^;]*;\n", "", text, flags=re.MULTILINE)
        text = re.sub(r"^export (?!default)", "", text, flags=re.MULTILINE)
        parts.append(f"// --- {name}\n{text}")
    return "\n".join(parts)


def stylesheet() -> str:
    return resources.files("microgrid.playground").joinpath("static/style.css").read_text(encoding="utf-8")


def checked_data(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """X (2, m) of finite numbers and Y (1, m) of 0 and 1, as float64, or a ValueError saying why not."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != 2 or Y.shape != (1, X.shape[1]):
        raise ValueError(
            f"playground.widget: X must be (2, m) and Y (1, m), one example per column; "
            f"got X {X.shape} and Y {Y.shape}"
        )
    if not np.isfinite(X).all():
        raise ValueError("playground.widget: X holds NaN or infinite values")
    if not np.isin(Y, (0.0, 1.0)).all():
        raise ValueError(f"playground.widget: Y must hold the labels 0 and 1, got {np.unique(Y)[:5]}")
    return X, Y


def widget(model: Module | None = None, X: Any = None, Y: Any = None, **settings: Any) -> Any:
    """A playground widget training `model` (logits out, like `mg.nn.mlp`) on (X, Y).

    Without a model, the network comes from the settings (`layers=[{"units": 4, "activation":
    "tanh"}]` …, as the page's controls); without data, the dataset they name (the flower).
    """
    require("anywidget", "traitlets")
    values = parse(settings)
    custom = None if X is None else checked_data(X, Y)
    if model is not None:
        checked_model(model, points.dataset(values)[0] if custom is None else custom[0])
    return _widget_class()(Session(values, custom=custom, model=model))


def checked_model(model: object, X: np.ndarray) -> None:
    """A ValueError saying what is wrong unless `model` is a Module mapping X (2, m) to logits (1, m):
    checked before the Session, whose first steps would fail deep inside the engine."""
    if not isinstance(model, Module):
        raise TypeError(f"playground.widget: model must be a microgrid Module, got {type(model).__name__}")
    wanted = f"the model must map X (2, m) to logits (1, m), one per example; on X {X.shape}"
    try:
        with no_grad(), generators_kept(model):  # a look that leaves the model's dropout draws as they were
            output = model(X)
    except ShapeError as error:
        raise ValueError(f"playground.widget: {wanted} it fails: {error}") from None
    if output.shape != (1, X.shape[1]):
        raise ValueError(f"playground.widget: {wanted} it gives {output.shape}")


_CLASS: Any = None


def _widget_class() -> Any:
    """The anywidget class, made on first use: anywidget is imported only when a widget is made."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    import anywidget
    import traitlets

    class PlaygroundWidget(anywidget.AnyWidget):
        """The playground's page in a notebook; `session` is the run it shows."""

        _esm = bundle()
        _css = stylesheet()
        _settings = traitlets.Dict().tag(sync=True)
        _choices = traitlets.Dict().tag(sync=True)
        step = traitlets.Int(0).tag(sync=True)
        cost = traitlets.Float(float("nan")).tag(sync=True)

        def __init__(self, session: Session) -> None:
            super().__init__()
            self.session = session
            self._settings = session.settings.as_dict()
            self._choices = choices()
            self.on_msg(self._answer)
            self._sync()

        def train(self, steps: int = 1) -> None:
            """Take `steps` training steps now, in the kernel."""
            self.session.train(steps)
            self._sync()

        def save_script(self, path: str | Path) -> Path:
            """The run as a microgrid script (the web app's "script" download)."""
            Path(path).write_text(self.session.script(), encoding="utf-8")
            return Path(path)

        def save_weights(self, path: str | Path) -> Path:
            """The trained weights as an .npz that `Module.load` reads."""
            Path(path).write_bytes(self.session.weights_npz())
            return Path(path)

        def call(self, method: str, args: list[Any]) -> Any:
            """What the front end's `method` returns: the web app's API, as Session calls."""
            session = self.session
            handlers: dict[str, Callable[..., Any]] = {
                "state": lambda since, data, run: session.state(int(since), str(data), int(run)),
                "configure": lambda values: {"settings": session.configure(values).as_dict()},
                "control": session.control,
                "point": lambda x1, x2, label: session.add_point({"x1": x1, "x2": x2, "label": label}),
                "csv": lambda text: session.load_csv(str(text).encode("utf-8")),
                "graph": lambda expanded: session.graph_svg(frozenset(map(str, expanded))),
                "node": lambda key: session.inspect(str(key)),
                "backprop": lambda index: session.backprop(int(index)),
            }
            handler = handlers.get(method)
            if handler is None:
                raise SettingError("", f"Unknown call {str(method)[:20]!r}")
            return handler(*args)

        def _answer(self, _: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
            reply: dict[str, Any] = {"id": content.get("id")}
            try:
                reply["result"] = self.call(str(content.get("method")), list(content.get("args", [])))
            except SettingError as error:
                reply.update(error=str(error), field=error.field)
            except Exception as error:  # a bug: the page says so, the kernel goes on
                reply.update(error=f"Internal error ({type(error).__name__}): {error}", field="")
            self.send(reply)
            self._sync()

        def _sync(self) -> None:
            self.step = self.session.step
            latest = self.session.history[-1]["train"] if self.session.history else None
            self.cost = float("nan") if latest is None else latest

    _CLASS = PlaygroundWidget
    return _CLASS
