"""Application factory: configuration, JSON provider, model registry, blueprints, error handlers."""

from flask import Flask

from inference import config as settings
from inference.api import body, cors, docs, drift, errors, health, models, monitoring, plane, request_id, security, v2
from inference.api.jsonio import OrjsonProvider
from inference.logs import configure_logging


def create_app(config=None):
    """Build the Flask app. ``config`` overrides the environment, which overrides the defaults."""
    app = Flask(__name__)
    # "/models/x//predict" is no route (JSON 404), not a 308 to a URL built from the client's Host header.
    app.url_map.merge_slashes = False
    app.config.update(settings.load(config))
    configure_logging(app.config["LOG_LEVEL"])
    app.json = OrjsonProvider(app)

    request_id.init_app(app)  # first, so that every later hook and error has an id
    monitoring.init_app(app)  # then timing, so that refused requests are logged and counted too
    cors.init_app(app)  # before the key check: browsers send no key on a preflight
    security.init_app(app)
    body.init_app(app)  # after the key check: an unknown client's chunked body is never buffered
    errors.init_app(app)
    plane.init_app(app)
    app.register_blueprint(health.bp)
    models.init_app(app)
    app.register_blueprint(drift.bp)
    app.register_blueprint(v2.bp)
    app.register_blueprint(docs.bp)
    return app
