"""``/openapi.json`` and ``/docs``: Swagger UI served from the packaged swagger-ui-bundle files,
so that it works on a network with no way out."""

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from inference.api import openapi
from inference.api.plane import get_registry

bp = Blueprint("docs", __name__)
CACHE = "openapi_document"  # app.extensions key: (loaded versions and settings, the document built for them)
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"}
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>flask-inference-server API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", validatorUrl: null,
                                deepLinking: true, presets: [SwaggerUIBundle.presets.apis]});
  </script>
</body>
</html>
"""


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3 document of this server, built again only when the loaded versions change."""
    config = current_app.config
    registry = get_registry()
    registry.settle()  # a worker still loading would document only part of the models
    loaded = dict(registry.models)  # a copy
    models = {name: {number: served.manifest for number, served in versions.items()}
              for name, versions in loaded.items()}
    key = (tuple(sorted((name, tuple(sorted(versions))) for name, versions in models.items())),
           bool(config.get("API_KEY")), config["DEFAULT_MODEL"], config["MAX_BATCH_ROWS"])
    cached = current_app.extensions.get(CACHE)
    if cached is None or cached[0] != key:
        doc = openapi.build(models, api_key=key[1], default_model=key[2], max_rows=key[3])
        cached = current_app.extensions[CACHE] = (key, doc)
    return cached[1]


@bp.get("/docs")
def swagger_ui():
    """Swagger UI; every asset it loads comes from this server."""
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/docs/<path:filename>")
def swagger_asset(filename):
    """One of Swagger UI's files, from the installed swagger-ui-bundle (nothing else)."""
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(Path(swagger_ui_path), filename, max_age=86400)
