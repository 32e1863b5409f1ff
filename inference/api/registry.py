"""The model registry as a per-app resource (the pattern of Flask's tutorial ``db.py``)."""

from flask import current_app

from inference import metrics
from inference.core.registry import ModelRegistry


def get_registry() -> ModelRegistry:
    """The current app's registry."""
    return current_app.extensions["registry"]


def init_app(app):
    """Create the registry and load the configured models, once per worker process.

    With LOAD_IN_BACKGROUND the worker answers /health at once and /ready says 503 until the
    models are in (a large model then never trips Gunicorn's worker timeout while loading);
    predictions meanwhile wait up to MODEL_LOAD_WAIT seconds for their model.
    """
    registry = ModelRegistry(
        app.config["MODEL_DIR"], app.config["MODELS"], on_load=metrics.mark_loaded,
        load_wait=app.config["MODEL_LOAD_WAIT"], observer=metrics.observe_inference,
        coalesce=app.config["COALESCE"], on_batch=metrics.observe_coalesced, use_compiled=app.config["USE_COMPILED"],
    )
    app.extensions["registry"] = registry
    if app.config["LOAD_IN_BACKGROUND"]:
        registry.load_in_background()
    else:
        registry.load_all()
