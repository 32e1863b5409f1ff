"""The model registry as a per-app resource (the pattern of Flask's tutorial ``db.py``)."""

from flask import current_app

from inference.core.registry import ModelRegistry


def get_registry() -> ModelRegistry:
    """The current app's registry."""
    return current_app.extensions["registry"]


def init_app(app):
    """Create the registry and load the configured models (once per worker process)."""
    registry = ModelRegistry(app.config["MODEL_DIR"], app.config["MODELS"])
    app.extensions["registry"] = registry
    registry.load_all()
