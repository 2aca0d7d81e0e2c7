"""The playground's web app (Starlette): the page, its assets, and a JSON API over one Session per tab.

Only the files in static/ are served, looked up by name in a table made at start-up, so no path
can reach another file. Every request that names a session gets a JSON error it can show when
something is wrong: 422 for a refused value (with the field), 404 for a session that has ended,
413 for a body that is too large, 415 for a body of another type, 500 (and the server keeps running)
for a bug.

Only the playground's own page may drive it: a request whose Origin names another site gets 403,
and every POST must carry JSON (the CSV upload: text/csv), which a page elsewhere cannot send
without the browser asking first (a CORS preflight, which this server never grants).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from microgrid.playground import require
from microgrid.playground.points import MAX_CSV_BYTES
from microgrid.playground.session import HEARTBEAT_TIMEOUT, Session
from microgrid.playground.settings import SettingError, choices
from microgrid.viz.render import RendererNotFound

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

MAX_SESSIONS = 32
MAX_JSON_BYTES = 64_000
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page needs nothing from elsewhere: say so to the browser too.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Gone(LookupError):
    """A session id that is not (or no longer) a session."""


class TooLarge(ValueError):
    """A request body over its limit; `field` is the control that sent it ("" for settings)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class WrongType(ValueError):
    """A POST whose body is not of the type its endpoint reads; `field` as for TooLarge."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SameOrigin:
    """ASGI middleware: refuses (403) a request whose Origin header names another site than
    http://HOST:PORT for the allowed host names and the port this server listens on. Requests without
    Origin pass: browsers send it with every POST and every script's request to another site."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = tuple(hosts)

    def allowed(self, scope: Scope) -> set[str]:
        server = scope.get("server")
        if not server or server[1] is None:
            return set()
        port = server[1]
        origins = {f"http://{host}:{port}" for host in self.hosts}
        if port == 80:  # a browser leaves the scheme's own port out of an Origin
            origins |= {f"http://{host}" for host in self.hosts}
        return origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = dict(scope["headers"]).get(b"origin")
            if origin is not None and origin.decode("latin-1") not in self.allowed(scope):
                from starlette.responses import JSONResponse

                message = (
                    f"Requests from {origin.decode('latin-1')[:60]!r} are refused: only the playground's "
                    "own page may use this server"
                )
                await JSONResponse({"error": message, "field": ""}, 403, HEADERS)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Sessions:
    """The live sessions by id; those not heard from for HEARTBEAT_TIMEOUT seconds are ended.
    `replay` is the sessions' way of stepping (False: eager, for the benchmark)."""

    def __init__(
        self, limit: int = MAX_SESSIONS, timeout: float = HEARTBEAT_TIMEOUT, replay: bool = True
    ) -> None:
        self.limit = limit
        self.timeout = timeout
        self.replay = replay
        self.by_id: dict[str, Session] = {}
        self.lock = threading.Lock()

    def create(self) -> Session:
        self.reap()
        with self.lock:
            if len(self.by_id) >= self.limit:
                raise SettingError(
                    "", f"The playground already runs {self.limit} sessions; close a tab and reload"
                )
            session = Session(replay=self.replay)
            self.by_id[session.id] = session
            return session

    def get(self, session_id: str) -> Session:
        session = self.by_id.get(session_id)
        if session is None:
            raise Gone(
                "This session has ended (the page was away too long, or the server restarted): "
                "reload the page"
            )
        session.last_seen = time.monotonic()
        return session

    def close(self, session_id: str) -> None:
        with self.lock:
            session = self.by_id.pop(session_id, None)
        if session is not None:
            session.pause()

    def reap(self) -> None:
        """End the sessions whose page has gone away."""
        now = time.monotonic()
        for session_id, session in list(self.by_id.items()):
            if now - session.last_seen > self.timeout:
                self.close(session_id)

    def close_all(self) -> None:
        for session_id in list(self.by_id):
            self.close(session_id)


def assets() -> dict[str, tuple[bytes, str]]:
    """Every file of static/ by name, with its content type: the only files the app serves."""
    found = {}
    for entry in resources.files("microgrid.playground").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            found[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return found


async def body(request: Request, limit: int, field: str, media_type: str) -> bytes:
    """The request's body, refused unless it is of `media_type`, and past `limit` bytes without
    reading the rest."""
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent != media_type:
        raise WrongType(field, f"The request must send {media_type}, not {sent[:40] or 'no content type'}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            what = "The CSV file" if field == "csv" else "The request"
            raise TooLarge(field, f"{what} is larger than {limit:,} bytes, the most the playground takes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> Any:
    raw = await body(request, MAX_JSON_BYTES, "", "application/json")
    try:
        return json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise SettingError("", "The request is not valid JSON") from None


def create_app(allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), replay: bool = True) -> Starlette:
    """The playground app; `allowed_hosts` refuses requests for other host names (DNS rebinding);
    replay=False makes every session step eagerly (Session's `replay`)."""
    require("starlette")
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    sessions = Sessions(replay=replay)
    files = assets()

    def api(handler: Callable[..., Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        """A JSON endpoint: the handler's result as JSON, its refusals as JSON errors."""

        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(request)
            except SettingError as error:
                return JSONResponse({"error": str(error), "field": error.field}, 422, HEADERS)
            except Gone as error:
                return JSONResponse({"error": str(error)}, 404, HEADERS)
            except TooLarge as error:
                return JSONResponse({"error": str(error), "field": error.field}, 413, HEADERS)
            except WrongType as error:
                return JSONResponse({"error": str(error), "field": error.field}, 415, HEADERS)
            except RendererNotFound as error:  # no Graphviz: the graphs cannot be drawn, the rest works
                return JSONResponse({"error": str(error), "field": "graph"}, 503, HEADERS)
            except Exception as error:  # a bug: the page says so, and the server keeps serving
                return JSONResponse(
                    {"error": f"Internal error ({type(error).__name__}): {error}"}, 500, HEADERS
                )
            if isinstance(result, Response):
                result.headers.update(HEADERS)
                return result
            return JSONResponse(result, headers=HEADERS)

        return endpoint

    def session_of(request: Request) -> Session:
        return sessions.get(request.path_params["session"])

    async def page(request: Request) -> Response:
        content, kind = files["index.html"]
        return Response(content, media_type=kind, headers=HEADERS)

    async def static(request: Request) -> Response:
        found = files.get(request.path_params["name"])
        if found is None:
            return Response("not found", 404, media_type="text/plain", headers=HEADERS)
        return Response(found[0], media_type=found[1], headers=HEADERS)

    async def create(request: Request) -> Any:
        await json_body(request)
        session = await run_in_threadpool(sessions.create)
        return {
            "id": session.id,
            "settings": session.settings.as_dict(),
            "choices": choices(),
        }

    async def state(request: Request) -> Any:
        session = session_of(request)
        query = request.query_params
        try:
            since, run = int(query.get("since", "-1")), int(query.get("run", "0"))
        except ValueError:
            raise SettingError("", "since and run must be whole numbers") from None
        return await run_in_threadpool(session.state, since, query.get("data", ""), run)

    async def configure(request: Request) -> Any:
        session = session_of(request)
        values = await json_body(request)
        new = await run_in_threadpool(session.configure, values)
        return {"settings": new.as_dict()}

    async def control(request: Request) -> Any:
        session = session_of(request)
        values = await json_body(request)
        action = values.get("action") if isinstance(values, dict) else None
        return await run_in_threadpool(session.control, action)

    async def point(request: Request) -> Any:
        session = session_of(request)
        await run_in_threadpool(session.add_point, await json_body(request))
        return {"points": session.X_all.shape[1]}

    async def csv(request: Request) -> Any:
        session = session_of(request)
        raw = await body(request, MAX_CSV_BYTES, "csv", "text/csv")
        await run_in_threadpool(session.load_csv, raw)
        return {"points": session.X_all.shape[1]}

    async def graph(request: Request) -> Any:
        session = session_of(request)
        expanded = frozenset(name for name in request.query_params.get("expand", "").split(",") if name)
        return await run_in_threadpool(session.graph_svg, expanded)

    async def node(request: Request) -> Any:
        session = session_of(request)
        return await run_in_threadpool(session.inspect, request.path_params["key"])

    async def backprop(request: Request) -> Any:
        session = session_of(request)
        try:
            index = int(request.query_params.get("index", "0"))
        except ValueError:
            raise SettingError("backprop", "index must be a whole number") from None
        return await run_in_threadpool(session.backprop, index)

    async def export_script(request: Request) -> Any:
        text = await run_in_threadpool(session_of(request).script)
        return Response(text, media_type="text/x-python; charset=utf-8", headers=_download("playground.py"))

    async def export_weights(request: Request) -> Any:
        data = await run_in_threadpool(session_of(request).weights_npz)
        return Response(data, media_type="application/octet-stream", headers=_download("playground.npz"))

    async def close(request: Request) -> Any:
        await json_body(request)
        await run_in_threadpool(sessions.close, request.path_params["session"])
        return {"closed": True}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()

        def reaper() -> None:
            while not stop.wait(2.0):
                sessions.reap()

        thread = threading.Thread(target=reaper, name="playground reaper", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            sessions.close_all()

    prefix = "/api/s/{session}"
    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/session", api(create), methods=["POST"]),
        Route(f"{prefix}/state", api(state)),
        Route(f"{prefix}/settings", api(configure), methods=["POST"]),
        Route(f"{prefix}/control", api(control), methods=["POST"]),
        Route(f"{prefix}/point", api(point), methods=["POST"]),
        Route(f"{prefix}/csv", api(csv), methods=["POST"]),
        Route(f"{prefix}/graph", api(graph)),
        Route(f"{prefix}/node/{{key}}", api(node)),
        Route(f"{prefix}/backprop", api(backprop)),
        Route(f"{prefix}/export.py", api(export_script)),
        Route(f"{prefix}/export.npz", api(export_weights)),
        Route(f"{prefix}/close", api(close), methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
            Middleware(SameOrigin, hosts=allowed_hosts),
        ],
        lifespan=lifespan,
    )
    app.state.sessions = sessions
    return app


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
