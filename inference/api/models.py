"""Model metadata and the native predict routes. Each view decodes its request, hands it to the
data plane (``inference.api.plane``) and encodes the answer; the README's API section shows them."""

from flask import Blueprint, current_app

from inference.api.body import read_image_bytes, read_json_object
from inference.api.jsonio import json_response
from inference.api.plane import answer_headers, get_plane, infer, infer_images, resolve
from inference.api.schemas import schema_for
from inference.core.errors import InvalidBody
from inference.core.registry import LATEST

bp = Blueprint("models", __name__)


@bp.get("/models")
def list_models():
    """Metadata of the latest version of every loaded model."""
    return {"models": get_plane().catalogue()}


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def model_metadata(name, version=LATEST):
    """Metadata of one model version (latest by default)."""
    return get_plane().describe(get_plane().model(name, version))


@bp.post("/predict")
@bp.post("/models/<name>/predict")
@bp.post("/models/<name>/versions/<version>/predict")
def predict(name=None, version=LATEST):
    """Predict with one model version: tabular rows in one forward pass, or one picture."""
    model = resolve(name or current_app.config["DEFAULT_MODEL"], version)
    if model.manifest.image:
        prediction = infer_images(model, [read_image_bytes(model.name)])
        return json_response(prediction.image_body(), answer_headers(model))
    body = read_json_object(hint="; this model takes features, not images")
    if "image" in body:
        raise InvalidBody(f"model {model.name!r} takes features, not an image: send "
                          "{\"features\": [...]} or {\"inputs\": [[...], ...]}")
    request_ = schema_for(model, current_app.config["MAX_BATCH_ROWS"]).load(body)
    prediction = infer(model, request_.rows, request_.field)
    return json_response(prediction.body(request_.single), answer_headers(model))


def init_app(app):
    """Register the metadata and predict routes."""
    app.register_blueprint(bp)
