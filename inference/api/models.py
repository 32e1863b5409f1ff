"""Model metadata and the native predict routes (SPEC 3, 3.1, 3.2)."""

import time

from flask import Blueprint, current_app, g

from inference.api.body import read_image_bytes, read_json_object
from inference.api.registry import get_registry
from inference.api.schemas import TabularRequestSchema
from inference.core import tabular
from inference.core.errors import InvalidBody
from inference.core.images import image_to_matrix
from inference.core.predictors import metadata
from inference.core.registry import LATEST

bp = Blueprint("models", __name__)


def _describe(predictor):
    return metadata(predictor, get_registry().versions(predictor.name))


def model_headers(predictor):
    """Which model produced the answer, for the caller's audit trail."""
    m = predictor.manifest
    return {"X-Model-Name": m.name, "X-Model-Version": str(m.version), "X-Model-SHA256": m.sha256}


@bp.get("/models")
def list_models():
    """Metadata of the latest version of every loaded model."""
    return {"models": [_describe(p) for p in get_registry().all_latest()]}


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def model_metadata(name, version=LATEST):
    """Metadata of one model version (latest by default)."""
    return _describe(get_registry().get(name, version))


@bp.post("/predict")
@bp.post("/models/<name>/predict")
@bp.post("/models/<name>/versions/<version>/predict")
def predict(name=None, version=LATEST):
    """Validate the body, run one forward pass over all its rows, shape the answer."""
    predictor = get_registry().get(name or current_app.config["DEFAULT_MODEL"], version)
    if predictor.manifest.image:
        return predict_image(predictor)
    body = read_json_object(hint="; this model takes features, not images")
    if "image" in body:
        raise InvalidBody(f"model {predictor.name!r} takes features, not an image: send "
                          "{\"features\": [...]} or {\"inputs\": [[...], ...]}")
    request_ = current_app.extensions["tabular_schema"].load(body)
    matrix = tabular.to_matrix(request_.rows, predictor.manifest.features, request_.field)
    g.rows = len(matrix)
    output = predictor.predict(matrix)
    body = tabular.response_body(predictor.name, predictor.version, output, predictor.manifest.labels,
                                 request_.single)
    return body, 200, model_headers(predictor)


def predict_image(predictor):
    """Decode the picture as the training images were made, classify it, answer with the top 5."""
    data = read_image_bytes(predictor.name)
    matrix = image_to_matrix(data, predictor.manifest.image, current_app.config["MAX_IMAGE_PIXELS"])
    g.rows = 1
    started = time.perf_counter()
    probabilities = predictor.predict(matrix)
    elapsed_ms = (time.perf_counter() - started) * 1000
    row = tabular.classification_rows(probabilities, predictor.manifest.labels)[0]
    body = {"model": predictor.name, "version": predictor.version, "prediction": row["prediction"],
            "class_id": row["class_id"], "confidence": row["confidence"],
            "top_5": tabular.top_k(probabilities[0], predictor.manifest.labels, 5),
            "inference_time_ms": round(elapsed_ms, 3)}
    return body, 200, model_headers(predictor)


def init_app(app):
    """One schema instance per app: building a marshmallow schema costs more than using one."""
    app.extensions["tabular_schema"] = TabularRequestSchema(max_rows=app.config["MAX_BATCH_ROWS"])
    app.register_blueprint(bp)
