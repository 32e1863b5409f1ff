"""Liveness and readiness probes."""

from flask import Blueprint

from inference import __version__
from inference.api.plane import get_registry
from inference.core.errors import NotReady

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    """Liveness: the process answers. Never touches a model."""
    return {"status": "ok", "version": __version__}


@bp.get("/ready")
def ready():
    """Readiness: every configured model has loaded."""
    registry = get_registry()
    if not registry.ready:
        missing = [name for name in registry.configured if name not in registry.models]
        raise NotReady(
            "not every configured model is loaded",
            {"loaded": sorted(registry.models), "missing": missing, "failures": registry.failures},
            headers={"Retry-After": "5"},
        )
    return {"status": "ready", "models": {name: registry.versions(name) for name in sorted(registry.models)}}
