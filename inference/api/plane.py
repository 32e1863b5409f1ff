"""The data plane as a per-app resource (the pattern of Flask's tutorial ``db.py``), and the two
calls every prediction view makes: ``resolve`` a model, ``infer`` with it. Both note on ``g`` what
the access log, the request metrics and the audit log need, so no one reads it back from response
headers. With AUDIT_LOG, each 200 answer's audit line is written before the answer leaves."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from flask import current_app, g

from inference import metrics
from inference.audit import AuditLog, AuditUnavailable
from inference.core.dataplane import DataPlane
from inference.core.prediction import Prediction
from inference.core.registry import LATEST, ModelRegistry
from inference.core.served import ServedModel


def get_plane() -> DataPlane:
    """The current app's data plane."""
    return current_app.extensions["dataplane"]


def get_registry() -> ModelRegistry:
    """The current app's model registry."""
    return get_plane().registry


def resolve(name: str, version: int | str | None = LATEST) -> ServedModel:
    """The model a request names; 404 / 503 otherwise."""
    model = get_plane().model(name, version)
    g.model = model
    return model


def infer(model: ServedModel, rows: np.ndarray | list[dict[str, Any]], field: str = "inputs") -> Prediction:
    """Run ``model`` on tabular rows."""
    prediction = get_plane().infer(model, rows, field)
    ctx = g._get_current_object()
    ctx.rows = prediction.rows
    ctx.prediction = prediction
    return prediction


def infer_images(model: ServedModel, pictures: list[bytes], field: str = "file") -> Prediction:
    """Run an image model on encoded pictures."""
    prediction = get_plane().infer_images(model, pictures, field)
    g.rows = prediction.rows
    g.prediction = prediction
    return prediction


def audit_answer(response):
    """Write the audit line of an answered prediction (status 200 only) before it is sent; when
    the line cannot be written, answer 503 instead of an unaudited prediction."""
    prediction = g.get("prediction")
    if prediction is None or response.status_code != 200:
        return response
    try:
        current_app.extensions["audit"].log(prediction, g.get("request_id"))
    except AuditUnavailable as exc:  # rendered by the error handlers, as any other error
        return current_app.make_response(current_app.handle_user_exception(exc))
    return response


MODEL_HEADERS = ("X-Model-Name", "X-Model-Version", "X-Model-SHA256", "X-Model-Runtime")


@cache  # once per loaded model version (a registry never unloads one), not per request
def answer_headers(model: ServedModel) -> dict[str, str]:
    """Which model produced the answer, for the caller's audit trail."""
    values = (model.name, model.version_label, model.manifest.sha256, model.runtime.engine)
    return dict(zip(MODEL_HEADERS, values, strict=True))


def init_app(app):
    """Create the registry and the data plane, and load the configured models, once per worker process.

    With LOAD_IN_BACKGROUND the worker answers /health at once and /ready says 503 until the
    models are in (a large model then never trips Gunicorn's worker timeout while loading);
    predictions meanwhile wait up to MODEL_LOAD_WAIT seconds for their model.
    """
    config = app.config
    registry = ModelRegistry(config["MODEL_DIR"], config["MODELS"], load_wait=config["MODEL_LOAD_WAIT"],
                             coalesce=config["COALESCE"], use_compiled=config["USE_COMPILED"],
                             observer=metrics.OBSERVER)
    app.extensions["dataplane"] = DataPlane(registry, config["MAX_BATCH_ROWS"], config["MAX_IMAGE_PIXELS"],
                                            drift=config["DRIFT"], warnings=config["WARNINGS"])
    if config["AUDIT_LOG"]:
        # Opened lazily in each worker (after the fork), so that every process has its own descriptor.
        app.extensions["audit"] = AuditLog(config["AUDIT_LOG"], config["AUDIT_INPUTS"])
        # Registered after the access log's hook, so it runs before it (Flask runs them in reverse):
        # a 503 from here is logged and counted as such.
        app.after_request(audit_answer)
    if config["LOAD_IN_BACKGROUND"]:
        registry.load_in_background()
    else:
        registry.load_all()
