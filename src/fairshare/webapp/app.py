"""The Dash app: built over one bundle, every asset served by the app itself, compressed.

Offline by construction: Dash serves its own JavaScript bundles (``serve_locally=True``), there
are no external stylesheets or scripts, the stylesheet lives in ``assets/``, the maps are drawn
from the bundled boundaries, and plotly.js is never asked for a world topojson or MathJax. The
page works with no network at all, and a test checks that it never tries.

Fast first render: the plotly.js Dash ships is the full 4.8 MB bundle; the app draws only
scatter and bar traces, so it vendors plotly's own *basic* partial bundle (same version, MIT,
``assets/plotly-basic-*.min.js``). Defining ``window.Plotly`` before the graphs mount means Dash
never fetches its full copy. Every text response is compressed (Flask-Compress: zstd, brotli
or gzip, whichever the browser takes).

The server trusts no client: a request body over ``MAX_REQUEST_BYTES`` is refused (413), a
callback body that is not the JSON Dash itself sends is refused with a plain 400, and every
view re-checks the state it is given (see ``callbacks._guard``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import dash
from dash._utils import split_callback_id
from flask import Response, request

from fairshare.errors import FairshareError
from fairshare.inputs.bundle import Bundle, load_data
from fairshare.webapp import figures
from fairshare.webapp.callbacks import register
from fairshare.webapp.engine import Engine
from fairshare.webapp.layout import page

ASSETS = Path(__file__).resolve().parent / "assets"
#: A callback body is a few kilobytes (the state of some twenty controls): 1 MB is ample.
MAX_REQUEST_BYTES = 1_000_000
#: waitress reads a body up to this size before the app answers 413; a larger one is cut off
#: mid-upload (the client may then see a reset, not the 413), so this is well above any body a
#: mistaken client sends, and bounded (waitress spools a large body to a temporary file).
MAX_DRAINED_BYTES = 128 * 1024 * 1024
LOOPBACK_NAMES = {"localhost", "ip6-localhost"}

#: waitress settings against clients that hold connections open: a connection idle for
#: ``channel_timeout`` seconds is closed (checked every ``cleanup_interval``), and enough
#: connections are allowed that a hundred slow ones cannot lock everyone else out.
CONNECTION_SETTINGS = {"channel_timeout": 15, "cleanup_interval": 2, "connection_limit": 1000,
                       "asyncore_use_poll": True}

INDEX = """<!DOCTYPE html>
<html lang="en">
  <head>
    {%metas%}
    <title>{%title%}</title>
    {%favicon%}
    {%css%}
  </head>
  <body>
    <a class="skip" href="#main">Skip to main content</a>
    {%app_entry%}
    <div class="scripts">
      {%config%}
      {%scripts%}
      {%renderer%}
    </div>
  </body>
</html>
"""


class _App(dash.Dash):
    """Dash without its full plotly.js: the basic partial bundle in ``assets/`` replaces it."""

    def _setup_plotlyjs(self) -> None:
        from dash import dcc

        self._plotlyjs_url = ""
        # another app made earlier in this process may have registered the full bundle
        dcc._js_dist[:] = [r for r in dcc._js_dist if r.get("namespace") != "plotly"]


def create_app(bundle: Bundle | None = None, *, engine: Engine | None = None,
               warm: bool = True, hosts: list[str] | tuple[str, ...] = (),
               prefix: str = "/") -> dash.Dash:
    """The web app over ``bundle`` (default: the embedded England data and baseline).

    ``warm`` parses the map boundaries and computes the default view before the first visit,
    so a burst of visitors to a fresh server does not wait on that work. ``hosts`` are the
    names besides loopback a browser may call the server by (``Host`` header): a page from
    another site that points its own name at this machine (DNS rebinding) is refused.
    ``prefix`` is the path the app is mounted at when another app serves it (the shared
    service mounts it at ``/explore/``); the app's own routes stay at ``/``.
    """
    engine = engine or Engine(bundle if bundle is not None else load_data())
    if warm:
        figures.warm()
    app = _App(
        __name__,
        title="fairshare: fair shares of specialty training posts",
        update_title=None,  # type: ignore[arg-type]  # None: keep the title while updating
        assets_folder=str(ASSETS),
        assets_ignore=r".*\.txt$",
        serve_locally=True,
        external_stylesheets=[],
        external_scripts=[],
        include_assets_files=True,
        requests_pathname_prefix=prefix,
        compress=False,  # compressed below, with every algorithm the browser accepts
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
                   {"name": "description",
                    "content": "Fair, needs-based shares of England's specialty training posts"}],
    )
    app.index_string = INDEX
    # Dash's dev tools can ask dash-version.plotly.com for a newer version: never.
    with contextlib.suppress(AttributeError, TypeError):  # a future Dash without it
        app._dev_tools["disable_version_check"] = True
    app.layout = lambda: page(engine)
    register(app, engine)
    server = app.server
    server.config["FAIRSHARE_ENGINE"] = engine
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    server.config["FAIRSHARE_HOSTS"] = {h.lower().strip("[]") for h in hosts}
    _compress(server)
    _refuse_bad_requests(app)
    if warm:
        engine.warm()
    return app


STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")


class _StaticCache:
    """Compressed static files, kept after the first request (they never change while the
    server runs); anything else passes through uncached."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if ";static:" in key:
            with self._lock:
                self._data[key] = value


def _cache_key(req: Any) -> str:
    """Static files by path alone: a query string does not change a file, and keying on it
    would let anyone grow the cache without bound."""
    if req.method == "GET" and req.path.startswith(STATIC_PREFIXES):
        return f"static:{req.path}"
    return "dynamic"


def _compress(server: Any) -> None:
    """Compress every text response (zstd, brotli or gzip); static files once, then cached."""
    from flask_compress import Compress

    server.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "text/css", "text/plain", "application/json", "application/javascript",
        "text/javascript", "image/svg+xml"])
    server.config["COMPRESS_ALGORITHM"] = ["br", "gzip", "deflate"]
    server.config["COMPRESS_CACHE_KEY"] = _cache_key
    server.config["COMPRESS_CACHE_BACKEND"] = _StaticCache
    server.extensions["fairshare_compress"] = Compress(server)

    @server.after_request  # runs before Compress's hook (Flask runs them in reverse order)
    def _buffer_static(response: Response) -> Response:
        """A static file is streamed from disk; read it whole so it is compressed (and the
        compressed copy cached) like any other response, and close the file."""
        if response.is_streamed and request.path.startswith(STATIC_PREFIXES) \
                and response.status_code == 200:
            body = response.response
            data = b"".join(response.iter_encoded())
            if hasattr(body, "close"):
                body.close()
            response.direct_passthrough = False
            response.set_data(data)
        return response


def _plain(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


def callback_body_problem(app: dash.Dash, body: Any) -> str | None:
    """Why a callback request body is not one the page could have sent, or None if it is.

    It must name a registered callback and give exactly that callback's inputs and states
    (component id and property), each as ``{"id", "property", "value"}``.
    """
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in app.callback_map:
        return "it names no callback of this app"
    spec = app.callback_map[output]
    if not callable(spec.get("callback")):
        return "that callback runs in the browser, not on the server"
    for part in ("inputs", "state"):
        given = body.get(part, [])
        expected = spec.get(part, [])
        if not isinstance(given, list) or len(given) != len(expected):
            return f"'{part}' must list {len(expected)} item(s)"
        for item, want in zip(given, expected, strict=True):
            if not isinstance(item, dict) or item.get("id") != want.get("id") \
                    or item.get("property") != want.get("property"):
                return f"'{part}' does not match the callback's {part}"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "'changedPropIds' must list the changed properties as text"
    expected_out = split_callback_id(output)
    given_out = body.get("outputs")
    if isinstance(expected_out, dict):
        expected_out, given_out = [expected_out], [given_out]
    if not isinstance(given_out, list) or len(given_out) != len(expected_out) or any(
            not isinstance(g, dict) or g.get("id") != w["id"]
            or g.get("property") != w["property"]
            for g, w in zip(given_out, expected_out, strict=True)):
        return "'outputs' does not match the callback's outputs"
    return None


def _refuse_bad_requests(app: dash.Dash) -> None:
    server = app.server

    @server.before_request
    def _check() -> Response | None:
        if not host_allowed(request.host, server.config["FAIRSHARE_HOSTS"]):
            return _plain(421, "Misdirected request: this server answers only to the names it "
                               "was started with (see `fairshare serve --allow-host`).")
        if request.method == "POST" and request.path.endswith("/_dash-update-component"):
            body = request.get_json(silent=True)
            problem = callback_body_problem(app, body)
            if problem is not None:
                return _plain(400, f"Bad request: not a callback this page sends ({problem}).")
        return None

    @server.errorhandler(413)
    def _too_large(_exc: Any) -> Response:
        return _plain(413, f"Request refused: bodies over {MAX_REQUEST_BYTES:,} bytes are not "
                           "accepted.")

    @server.errorhandler(400)
    def _bad(_exc: Any) -> Response:
        return _plain(400, "Bad request: the body could not be read as the page's JSON.")


def precompress(app: dash.Dash) -> None:
    """Compress every script and stylesheet of the page once, before the first visitor."""
    import re

    client = app.server.test_client()
    page = client.get("/").get_data(as_text=True)
    for ref in re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css)[^"]*)"', page):
        for encoding in ("br", "gzip"):
            client.get(ref, headers={"Accept-Encoding": encoding}).close()


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without port or IPv6 brackets, in lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header[1:]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(header: str, allowed: set[str]) -> bool:
    """Whether a request's ``Host`` is loopback, an IP address (a rebinding page always uses
    a name), or one of the ``allowed`` names (the address the server was started on, and any
    given with ``--allow-host``)."""
    name = host_name(header)
    if not name:
        return False
    if is_loopback(name) or name in allowed:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """What to tell the person starting a server that others can reach (None on loopback)."""
    if is_loopback(host):
        return None
    return (f"WARNING: listening on {host}: anyone who can reach this machine on port {port} "
            "can use the app and download its data. There is no sign-in. Use only on a "
            "trusted network, or put it behind an authenticating proxy.")


def url_for(host: str, port: int) -> str:
    """The address to open in a browser: a wildcard becomes loopback, IPv6 gets brackets."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown.strip('[]')}]"
    return f"http://{shown}:{port}/"


def serve(host: str = "127.0.0.1", port: int = 8050, posts: Path | str | None = None,
          debug: bool = False, threads: int = 8,
          allow_hosts: list[str] | tuple[str, ...] = ()) -> None:
    """Start the app on http://host:port with the production WSGI server (waitress).

    The port is bound before "ready" is printed (and its real number shown, so port 0 picks a
    free one). ``debug`` runs Dash's development server with its interactive debugger instead,
    which executes code typed into the browser: it is refused on any address but loopback.
    """
    if debug and not is_loopback(host):
        raise FairshareError(f"--debug starts an interactive debugger that runs any code sent to "
                             f"it: refused on {host}. Use --host 127.0.0.1 (the default) with "
                             "--debug, or leave --debug off.")
    warning = exposure_warning(host, port)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    print("fairshare web app: starting (loading the data, drawing the default view)…",
          flush=True)
    bundle = load_data(posts) if posts is not None else load_data()
    engine = Engine(bundle)
    engine.start_worker()
    names = [*allow_hosts, *([] if host in ("0.0.0.0", "::", "") else [host])]
    if host in ("0.0.0.0", "::"):
        import socket

        names += [socket.gethostname(), socket.getfqdn()]
    app = create_app(engine=engine, hosts=names)
    precompress(app)
    if debug:
        print(f"fairshare web app: ready on {url_for(host, port)}  (Ctrl+C to stop)", flush=True)
        app.run(host=host, port=port, debug=True, dev_tools_disable_version_check=True)
        return
    import waitress

    with stop_on_signals(engine):  # the workbook workers stop with the server, whatever ends it
        try:
            server = waitress.create_server(app.server, host=host, port=port, threads=threads,
                                            max_request_body_size=MAX_DRAINED_BYTES,
                                            ident="fairshare", **CONNECTION_SETTINGS)
        except OSError as exc:
            raise FairshareError(f"cannot listen on {host} port {port}: {exc.strerror or exc} "
                                 "(another server on that port? try --port 8051)") from None
        bound = int(getattr(server, "effective_port", port))
        logging.getLogger("fairshare.webapp").info("fairshare web app on %s",
                                                   url_for(host, bound))
        print(f"fairshare web app: ready on {url_for(host, bound)}  (Ctrl+C to stop)",
              flush=True)
        server.run()


@contextlib.contextmanager
def stop_on_signals(engine: Engine) -> Iterator[None]:
    """Stop the server whole on SIGTERM or SIGHUP (what a service manager or a closed
    terminal sends), as on Ctrl+C: Python would otherwise end at once without stopping the
    workbook processes, which would run on. The signal ends waitress's loop; the workers are
    then stopped before the process exits."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    wanted = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, stop) for s in wanted}
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        engine.close()
        print("fairshare web app: stopped.", flush=True)
