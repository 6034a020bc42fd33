"""The Dash app: built over one bundle, every asset served by the app itself.

Offline by construction: Dash serves its own JavaScript bundles (``serve_locally=True``), there
are no external stylesheets or scripts, the stylesheet lives in ``assets/``, the maps are drawn
from the bundled boundaries, and plotly.js is never asked for a world topojson or MathJax. The
page works with no network at all, and a test checks that it never tries.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import dash

from fairshare.inputs.bundle import Bundle, load_data
from fairshare.webapp.callbacks import register
from fairshare.webapp.engine import Engine
from fairshare.webapp.layout import page

ASSETS = Path(__file__).resolve().parent / "assets"

INDEX = """<!DOCTYPE html>
<html lang="en">
  <head>
    {%metas%}
    <title>{%title%}</title>
    {%favicon%}
    {%css%}
  </head>
  <body>
    <a class="skip" href="#controls">Skip to the controls</a>
    {%app_entry%}
    <footer>
      {%config%}
      {%scripts%}
      {%renderer%}
    </footer>
  </body>
</html>
"""


def create_app(bundle: Bundle | None = None, *, engine: Engine | None = None) -> dash.Dash:
    """The web app over ``bundle`` (default: the embedded England data and demo baseline)."""
    engine = engine or Engine(bundle if bundle is not None else load_data())
    app = dash.Dash(
        __name__,
        title="fairshare",
        update_title=None,  # type: ignore[arg-type]  # None: keep the title while updating
        assets_folder=str(ASSETS),
        serve_locally=True,
        external_stylesheets=[],
        external_scripts=[],
        include_assets_files=True,
        compress=False,
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
    app.server.config["FAIRSHARE_ENGINE"] = engine
    return app


def serve(host: str = "127.0.0.1", port: int = 8050, posts: Path | str | None = None,
          debug: bool = False, **run_options: Any) -> None:
    """Start the app on http://host:port (localhost only unless another host is given)."""
    bundle = load_data(posts) if posts is not None else load_data()
    app = create_app(bundle)
    logging.getLogger("fairshare.webapp").info("fairshare web app on http://%s:%s", host, port)
    print(f"fairshare web app: http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    run_options.setdefault("dev_tools_disable_version_check", True)
    app.run(host=host, port=port, debug=debug, **run_options)
