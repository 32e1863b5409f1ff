"""Open Inference Protocol (KServe V2): decoding request tensors, JSON or with the binary tensor
data extension, the model's tensor metadata, and encoding a ``Prediction`` as output tensors.
No Flask here. The README's "Open Inference Protocol" section lists what is supported."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from inference.core.errors import BadRequest
from inference.core.images import decode_base64
from inference.core.prediction import Prediction
from inference.core.served import ServedModel
from inference.core.tabular import input_width

# V2 datatype -> little-endian numpy dtype (BYTES is handled apart).
NUMERIC = {
    "BOOL": np.dtype("?"), "UINT8": np.dtype("<u1"), "UINT16": np.dtype("<u2"), "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"), "INT8": np.dtype("<i1"), "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"), "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
}
FEATURE_TYPES = ("FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
BINARY_EXTENSION = "binary_tensor_data"
HEADER_LENGTH = "Inference-Header-Content-Length"


class V2Error(BadRequest):
    """A request that breaks the protocol (400)."""

    code = "invalid_inference_request"


@dataclass
class Tensor:
    name: str
    shape: list[int]
    datatype: str
    data: Any  # flat: a numpy array (numeric), or a list of bytes (binary BYTES) or str (JSON BYTES)


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """(JSON header bytes, binary tail) of a request; the whole body is JSON without the header."""
    if header_length is None:
        return body, b""
    try:
        n = int(header_length)
    except ValueError:
        raise V2Error(f"{HEADER_LENGTH} must be an integer, got {header_length!r}") from None
    if not 0 <= n <= len(body):
        raise V2Error(f"{HEADER_LENGTH} is {n} but the body has {len(body)} bytes")
    return body[:n], body[n:]


def _count(shape):
    return math.prod(shape)


def _check_shape(name: str, shape: Any) -> list[int]:
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise V2Error(f"input {name!r}: shape must be a list of non-negative integers, got {str(shape)[:80]}")
    return shape


def _flatten(data):
    """Flatten nested JSON lists in row-major order."""
    out = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def _numeric_from_json(name, datatype, values):
    if datatype == "BOOL":
        if not all(type(v) is bool for v in values):
            raise V2Error(f"input {name!r}: BOOL data must be true or false")
        return np.array(values, dtype=bool)
    kinds = set(map(type, values))
    allowed = {int} if datatype.startswith(("INT", "UINT")) else {int, float}
    if not kinds <= allowed:
        raise V2Error(f"input {name!r}: {datatype} data must hold only {'integers' if allowed == {int} else 'numbers'}")
    try:
        array = np.array(values, dtype=NUMERIC[datatype])
    except OverflowError:
        raise V2Error(f"input {name!r}: a value is out of range for {datatype}") from None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise V2Error(f"input {name!r}: values must be finite")
    return array


def _bytes_from_binary(name, raw):
    items, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise V2Error(f"input {name!r}: truncated BYTES element length")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise V2Error(f"input {name!r}: a BYTES element runs past the data")
        items.append(raw[offset:offset + length])
        offset += length
    return items


def decode_inputs(header: dict[str, Any], binary: bytes) -> list[Tensor]:
    """Validate the request's ``inputs`` and return them as Tensors (data flat, in row-major order)."""
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise V2Error("'inputs' must be a non-empty list of tensors")
    tensors, offset = [], 0
    for spec in inputs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise V2Error("every input needs a string 'name'")
        name, datatype = spec["name"], spec.get("datatype")
        shape = _check_shape(name, spec.get("shape"))
        if not isinstance(datatype, str) or (datatype != "BYTES" and datatype not in NUMERIC):
            raise V2Error(f"input {name!r}: unknown datatype {datatype!r}")
        params = spec.get("parameters", {})
        if not isinstance(params, dict):
            raise V2Error(f"input {name!r}: parameters must be an object")
        size = params.get("binary_data_size")
        if size is not None:
            if "data" in spec:
                raise V2Error(f"input {name!r}: give 'data' or binary_data_size, not both")
            if type(size) is not int or size < 0 or offset + size > len(binary):
                raise V2Error(f"input {name!r}: binary_data_size {size!r} does not fit the {len(binary)} binary bytes")
            raw = binary[offset:offset + size]
            offset += size
            if datatype == "BYTES":
                data = _bytes_from_binary(name, raw)
            else:
                dtype = NUMERIC[datatype]
                if size % dtype.itemsize:
                    raise V2Error(f"input {name!r}: {size} bytes is not a whole number of {datatype} values")
                data = np.frombuffer(raw, dtype=dtype)
        else:
            if "data" not in spec:
                raise V2Error(f"input {name!r}: 'data' is missing")
            values = _flatten(spec["data"])
            if datatype == "BYTES":
                if not all(isinstance(v, str) for v in values):
                    raise V2Error(f"input {name!r}: BYTES data in JSON must be strings")
                data = values  # strings: the JSON form (an image is then base64 text)
            else:
                data = _numeric_from_json(name, datatype, values)
        if len(data) != _count(shape):
            raise V2Error(f"input {name!r}: shape {shape} needs {_count(shape)} elements, the data has {len(data)}")
        tensors.append(Tensor(name, shape, datatype, data))
    if offset != len(binary):
        raise V2Error(f"{len(binary) - offset} binary bytes are not claimed by any input")
    return tensors


def requested_outputs(header: dict[str, Any], available: list[str]) -> list[str]:
    """Names of the outputs to return: those asked for (each must exist), else all."""
    asked = header.get("outputs")
    if asked is None:
        return list(available)
    if not isinstance(asked, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in asked):
        raise V2Error("'outputs' must be a list of objects with a 'name'")
    names = [o["name"] for o in asked]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise V2Error(f"unknown output(s) {unknown}; this model has {list(available)}")
    return names


def output_tensor(name: str, values: Any, datatype: str) -> dict[str, Any]:
    """One response output in JSON form."""
    if datatype == "BYTES":
        return {"name": name, "datatype": "BYTES", "shape": [len(values)], "data": list(values)}
    array = np.ascontiguousarray(values)
    # the JSON provider writes numpy arrays natively (float32 in its shortest form: 0.6, not 0.6000000238)
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": array.reshape(-1)}


def model_io(model: ServedModel) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The model's V2 input and output tensor descriptions."""
    m = model.manifest
    if m.image:
        inputs = [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    else:
        inputs = [{"name": "input", "datatype": "FP32", "shape": [-1, input_width(m)]}]
    if model.is_classifier:
        n = len(model.labels or ())
        outputs = [{"name": "probabilities", "datatype": "FP64", "shape": [-1, n]},
                   {"name": "label", "datatype": "BYTES", "shape": [-1]},
                   {"name": "class_id", "datatype": "INT64", "shape": [-1]}]
    else:
        outputs = [{"name": "output", "datatype": "FP32", "shape": [-1, len(m.outputs["names"])]}]
    return inputs, outputs


def model_metadata(model: ServedModel, versions: list[int]) -> dict[str, Any]:
    """``GET /v2/models/<name>``: name, versions, platform, input and output tensors."""
    inputs, outputs = model_io(model)
    return {"name": model.name, "versions": [str(v) for v in versions], "platform": model.runtime.v2_platform,
            "inputs": inputs, "outputs": outputs}


def parse_request(body: bytes, header_length: str | None) -> tuple[dict[str, Any], list[Tensor]]:
    """The request's JSON header and its decoded input tensors."""
    head, binary = split_body(body, header_length)
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise V2Error(f"malformed JSON: {exc}") from None
    if not isinstance(header, dict):
        raise V2Error("the inference request must be a JSON object")
    return header, decode_inputs(header, binary)


def model_input(model: ServedModel, tensors: list[Tensor]) -> np.ndarray | list[bytes | str]:
    """The rows of the model's one input: a matrix (tabular) or the encoded pictures (image models)."""
    if len(tensors) != 1:
        raise V2Error(f"model {model.name!r} takes exactly one input tensor, got {len(tensors)}")
    tensor = tensors[0]
    expected, _ = model_io(model)
    if tensor.name != expected[0]["name"]:
        raise V2Error(f"unexpected input {tensor.name!r}; model {model.name!r} takes {expected[0]['name']!r}")
    if model.manifest.image:
        if tensor.datatype != "BYTES" or len(tensor.shape) != 1:
            raise V2Error("input 'image' must be BYTES with shape [batch], one encoded PNG or JPEG each")
        return [decode_base64(item) if isinstance(item, str) else item for item in tensor.data]
    if tensor.datatype not in FEATURE_TYPES:
        raise V2Error(f"input 'input' must be numeric ({', '.join(FEATURE_TYPES)}), not {tensor.datatype}")
    if len(tensor.shape) != 2:
        raise V2Error(f"input 'input' must have shape [batch, {input_width(model.manifest)}], got {tensor.shape}")
    return np.asarray(tensor.data, dtype=np.float64).reshape(tensor.shape)


def response(prediction: Prediction, header: dict[str, Any]) -> dict[str, Any]:
    """The inference response: the outputs the request asked for (all by default), its id, and
    the out-of-range warnings (``parameters.warnings``, a list per row, as JSON text)."""
    model = prediction.model
    _, spec = model_io(model)
    wanted = requested_outputs(header, [o["name"] for o in spec])
    if model.is_classifier:
        encoders = {"probabilities": lambda: output_tensor("probabilities", prediction.outputs, "FP64"),
                    "label": lambda: output_tensor("label", prediction.predicted_labels, "BYTES"),
                    "class_id": lambda: output_tensor("class_id", prediction.class_ids.astype(np.int64), "INT64")}
    else:
        encoders = {"output": lambda: output_tensor("output", np.asarray(prediction.outputs, np.float32), "FP32")}
    body: dict[str, Any] = {"model_name": model.name, "model_version": model.version_label,
                            "outputs": [encoders[name]() for name in wanted]}
    if "id" in header:
        body["id"] = header["id"]
    if prediction.warnings is not None:
        # V2 parameter values are strings, numbers or booleans: the per-row list goes as JSON text.
        body["parameters"] = {"warnings": orjson.dumps(prediction.warnings).decode()}
    return body
