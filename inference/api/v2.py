"""Open Inference Protocol (KServe V2), HTTP/JSON form with the binary tensor data extension for
inputs. Errors on these routes are ``{"error": "..."}``, as V2 clients expect (rendered by
``inference.api.errors``, like every error)."""

from flask import Blueprint, request

from inference import __version__
from inference.api import plane
from inference.api.plane import answer_headers, get_plane, resolve
from inference.core import v2
from inference.core.registry import LATEST

bp = Blueprint("v2", __name__, url_prefix="/v2")
SERVER_NAME = "flask-inference-server"


@bp.get("")
def server_metadata():
    """Server name, version and the protocol extensions it supports."""
    return {"name": SERVER_NAME, "version": __version__, "extensions": [v2.BINARY_EXTENSION]}


@bp.get("/health/live")
def live():
    """Liveness."""
    return {"live": True}


@bp.get("/health/ready")
def ready():
    """Readiness: 200 when every configured model loaded, else 400 (as Triton answers)."""
    is_ready = get_plane().ready
    return {"ready": is_ready}, 200 if is_ready else 400


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def model_metadata(name, version=LATEST):
    """A model's input and output tensors and its platform."""
    model = get_plane().model(name, version)
    return v2.model_metadata(model, get_plane().registry.versions(name))


@bp.get("/models/<name>/ready")
@bp.get("/models/<name>/versions/<version>/ready")
def model_ready(name, version=LATEST):
    """A loaded model version is ready (404 when absent)."""
    get_plane().model(name, version)  # 404 when absent
    return {"name": name, "ready": True}


@bp.post("/models/<name>/infer")
@bp.post("/models/<name>/versions/<version>/infer")
def infer(name, version=LATEST):
    """Run the model on the request's tensor and answer with its outputs, in JSON."""
    model = resolve(name, version)
    header, tensors = v2.parse_request(request.get_data(), request.headers.get(v2.HEADER_LENGTH))
    v2.requested_outputs(header, v2.output_names(model))  # an unknown output is refused before the model runs
    rows = v2.model_input(model, tensors)
    if model.manifest.image:
        prediction = plane.infer_images(model, rows, field="image")
    else:
        prediction = plane.infer(model, rows, field="input")
    return v2.response(prediction, header), 200, answer_headers(model)
