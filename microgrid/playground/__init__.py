"""microgrid playground: train a network live in the browser and watch its graph, values and gradients.

    microgrid playground              # opens http://127.0.0.1:8765/ in the browser
    microgrid playground --port 9000 --no-browser

In a notebook, the same front end as a widget: `microgrid.playground.widget(model, X, Y)`.

    settings.py   every value the page sends, checked, with the message the page shows
    points.py     the datasets, a user's CSV, clicked points
    session.py    one tab's run: data, network, optimiser, the training thread, the views
    rules.py      the test split and the batches, one rule for the session and its script
    export.py     the run as a microgrid script
    app.py        the web app (Starlette): the page, its assets, the JSON API
    server.py     `microgrid playground`: the app on 127.0.0.1 (uvicorn)
    notebook.py   the Jupyter widget (anywidget); not widget.py, whose import would replace `widget()`
    static/       the page: HTML, CSS and plain JavaScript modules, served as they are

The web app needs the extra `playground` (Starlette, uvicorn, anywidget); the modules import without
it and say how to install it when it is needed.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from microgrid.errors import install_extra


class MissingExtra(ImportError):
    """A package of the `playground` extra is not installed."""


def require(*packages: str) -> None:
    """Refuse, naming the extra, unless every package in `packages` can be imported."""
    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(f"the playground needs {', '.join(missing)}: {install_extra('playground')}")


def widget(model: Any = None, X: Any = None, Y: Any = None, **settings: Any) -> Any:
    """The playground as a Jupyter widget, training `model` on (X, Y) (see notebook.py)."""
    from microgrid.playground.notebook import widget as make

    return make(model, X, Y, **settings)


__all__ = ["MissingExtra", "require", "widget"]
