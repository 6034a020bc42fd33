"""fairshare's web app: interactive maps, live what-ifs, run comparison and a printable report.

Start it with ``fairshare serve`` (http://127.0.0.1:8050) or from Python::

    from fairshare.webapp import create_app, serve
    serve()                       # blocks; localhost:8050
    app = create_app()            # a dash.Dash; app.server is the WSGI app (waitress, gunicorn)

See docs/webapp.md. Dash and plotly are imported only when the app is made, so importing the
package (or the CLI) does not need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dash

    from fairshare.inputs.bundle import Bundle

__all__ = ["create_app", "serve"]


def create_app(bundle: Bundle | None = None, **options: Any) -> dash.Dash:
    """The Dash app over ``bundle`` (default: embedded England data, public baseline)."""
    from fairshare.webapp.app import create_app as _create

    return _create(bundle, **options)


def serve(host: str = "127.0.0.1", port: int = 8050, posts: Path | None = None,
          debug: bool = False, threads: int = 8, allow_hosts: tuple[str, ...] = ()) -> None:
    """Start the app on http://host:port (waitress); ``posts`` replaces the public baseline;
    ``allow_hosts`` are extra names browsers may use for the server (``Host`` header)."""
    from fairshare.webapp.app import serve as _serve

    _serve(host=host, port=port, posts=posts, debug=debug, threads=threads,
           allow_hosts=allow_hosts)
