"""Open Inference Protocol (KServe V2), HTTP/JSON form with the binary tensor data extension for
inputs (SPEC 4). Errors here are ``{"error": "..."}``, as V2 clients expect."""

import numpy as np
import orjson
from flask import Blueprint, current_app, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from inference import __version__
from inference.api.models import model_headers
from inference.api.registry import get_registry
from inference.core import v2
from inference.core.errors import InferenceError, check_batch
from inference.core.images import decode_base64, image_to_matrix
from inference.core.registry import LATEST

bp = Blueprint("v2", __name__, url_prefix="/v2")
SERVER_NAME = "flask-inference-server"
PLATFORMS = {"pytorch": "pytorch", "torchscript": "pytorch_libtorch", "onnx": "onnxruntime_onnx",
             "sklearn": "sklearn"}


def _error(status, message):
    response = current_app.json.response({"error": message})
    response.status_code = status
    return response


@bp.errorhandler(InferenceError)
def _inference_error(exc):
    return _error(exc.status, exc.message)


@bp.errorhandler(ValidationError)
def _validation_error(exc):
    return _error(400, f"invalid request: {exc.messages}")


@bp.errorhandler(HTTPException)
def _http_error(exc):
    return _error(exc.code or 500, exc.description or exc.name)


def model_io(predictor):
    """The model's V2 input and output tensor descriptions."""
    m = predictor.manifest
    if m.image:
        inputs = [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    else:
        inputs = [{"name": "input", "datatype": "FP32", "shape": [-1, len(m.features)]}]
    if predictor.is_classifier:
        n = len(m.labels)
        outputs = [{"name": "probabilities", "datatype": "FP64", "shape": [-1, n]},
                   {"name": "label", "datatype": "BYTES", "shape": [-1]},
                   {"name": "class_id", "datatype": "INT64", "shape": [-1]}]
    else:
        outputs = [{"name": "output", "datatype": "FP32", "shape": [-1, len(m.outputs["names"])]}]
    return inputs, outputs


@bp.get("")
def server_metadata():
    return {"name": SERVER_NAME, "version": __version__, "extensions": [v2.BINARY_EXTENSION]}


@bp.get("/health/live")
def live():
    return {"live": True}


@bp.get("/health/ready")
def ready():
    is_ready = get_registry().ready
    return {"ready": is_ready}, 200 if is_ready else 400


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def model_metadata(name, version=LATEST):
    predictor = get_registry().get(name, version)
    inputs, outputs = model_io(predictor)
    return {"name": name, "versions": [str(v) for v in get_registry().versions(name)],
            "platform": PLATFORMS.get(predictor.manifest.framework, predictor.manifest.framework),
            "inputs": inputs, "outputs": outputs}


@bp.get("/models/<name>/ready")
@bp.get("/models/<name>/versions/<version>/ready")
def model_ready(name, version=LATEST):
    get_registry().get(name, version)  # 404 when absent
    return {"name": name, "ready": True}


def _matrix(predictor, tensor):
    """The model's input matrix from the request's one tensor."""
    m = predictor.manifest
    expected, _ = model_io(predictor)
    if tensor.name != expected[0]["name"]:
        raise v2.V2Error(f"unexpected input {tensor.name!r}; model {m.name!r} takes {expected[0]['name']!r}")
    if m.image:
        if tensor.datatype != "BYTES" or len(tensor.shape) != 1:
            raise v2.V2Error("input 'image' must be BYTES with shape [batch], one encoded PNG or JPEG each")
        rows = [image_to_matrix(_image_bytes(item), m.image, current_app.config["MAX_IMAGE_PIXELS"])
                for item in tensor.data]
        return np.vstack(rows) if rows else np.zeros((0, m.image["width"] * m.image["height"]))
    if tensor.datatype not in v2.FEATURE_TYPES:
        raise v2.V2Error(f"input 'input' must be numeric ({', '.join(v2.FEATURE_TYPES)}), not {tensor.datatype}")
    width = len(m.features)
    if len(tensor.shape) != 2 or tensor.shape[1] != width:
        raise v2.V2Error(f"input 'input' must have shape [batch, {width}], got {tensor.shape}")
    return np.asarray(tensor.data, dtype=np.float64).reshape(tensor.shape)


def _image_bytes(item):
    return decode_base64(item) if isinstance(item, str) else item


@bp.post("/models/<name>/infer")
@bp.post("/models/<name>/versions/<version>/infer")
def infer(name, version=LATEST):
    """Run the model on the request's tensor and answer with its outputs, in JSON."""
    predictor = get_registry().get(name, version)
    head, binary = v2.split_body(request.get_data(), request.headers.get(v2.HEADER_LENGTH))
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise v2.V2Error(f"malformed JSON: {exc}") from None
    if not isinstance(header, dict):
        raise v2.V2Error("the inference request must be a JSON object")
    tensors = v2.decode_inputs(header, binary)
    if len(tensors) != 1:
        raise v2.V2Error(f"model {name!r} takes exactly one input tensor, got {len(tensors)}")
    _, outputs_spec = model_io(predictor)
    wanted = v2.requested_outputs(header, [o["name"] for o in outputs_spec])
    matrix = _matrix(predictor, tensors[0])
    check_batch(len(matrix), current_app.config["MAX_BATCH_ROWS"])
    if len(matrix) == 0:
        raise v2.V2Error("the input holds no rows")
    out = predictor.predict(matrix)
    if predictor.is_classifier:
        labels = predictor.manifest.labels
        ids = out.argmax(axis=1)
        values = {"probabilities": v2.output_tensor("probabilities", out, "FP64"),
                  "label": v2.output_tensor("label", [labels[i] for i in ids], "BYTES"),
                  "class_id": v2.output_tensor("class_id", ids.astype(np.int64), "INT64")}
    else:
        values = {"output": v2.output_tensor("output", np.asarray(out, dtype=np.float32), "FP32")}
    body = {"model_name": name, "model_version": str(predictor.version), "outputs": [values[n] for n in wanted]}
    if "id" in header:
        body["id"] = header["id"]
    return body, 200, model_headers(predictor)
