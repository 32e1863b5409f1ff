"""Open Inference Protocol (KServe V2): decoding request tensors, JSON or with the binary tensor
data extension, the model's tensor metadata, and encoding a ``Prediction`` as output tensors.
No Flask here. docs/api.md's "Open Inference Protocol" section lists what is supported."""

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
FLOATS = ("FP16", "FP32", "FP64")
INTEGERS = ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
FEATURE_TYPES = FLOATS + INTEGERS
# Per-column inputs: the datatype metadata advertises for each feature type, and those it accepts.
COLUMN_DATATYPES = {"number": "FP64", "integer": "INT64", "boolean": "BOOL", "string": "BYTES"}
COLUMN_ACCEPTS = {"number": FEATURE_TYPES, "integer": INTEGERS, "boolean": ("BOOL",), "string": ("BYTES",)}
COLUMN_HINTS = {"number": "a number: send FP16/FP32/FP64 or an INT/UINT datatype",
                "integer": "an integer: send an INT/UINT datatype (INT64 is the usual one)",
                "boolean": "a boolean: send BOOL", "string": "a string: send BYTES (strings in JSON)"}
MATRIX_INPUT = "input"  # a numeric model's single [batch, n_features] tensor
INT64_MAX = np.iinfo(np.int64).max
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
                if dtype.kind == "f" and not np.isfinite(data).all():
                    raise V2Error(f"input {name!r}: values must be finite")
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
    if "outputs" not in header:
        return list(available)
    asked = header["outputs"]  # null is not "all": a client that sends it meant something else
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
    elif m.typed:  # one column per feature, as MLServer's pandas codec takes a DataFrame
        inputs = [{"name": f, "datatype": COLUMN_DATATYPES[m.feature_type(f)["type"]], "shape": [-1, 1]}
                  for f in m.features or ()]
    else:  # one matrix (what Triton clients expect); the per-column form is accepted too
        inputs = [{"name": MATRIX_INPUT, "datatype": "FP32", "shape": [-1, input_width(m)]}]
    if model.is_classifier:
        n = len(model.labels or ())
        outputs = [{"name": "probabilities", "datatype": "FP64", "shape": [-1, n]},
                   {"name": "label", "datatype": "BYTES", "shape": [-1]},
                   {"name": "class_id", "datatype": "INT64", "shape": [-1]}]
    else:
        outputs = [{"name": "output", "datatype": "FP32", "shape": [-1, len(m.outputs["names"])]}]
    return inputs, outputs


CLASSIFIER_OUTPUTS = ["probabilities", "label", "class_id"]
REGRESSOR_OUTPUTS = ["output"]


def output_names(model: ServedModel) -> list[str]:
    """The names of the outputs the model answers with."""
    return CLASSIFIER_OUTPUTS if model.is_classifier else REGRESSOR_OUTPUTS


def model_metadata(model: ServedModel, versions: list[int]) -> dict[str, Any]:
    """``GET /v2/models/<name>``: name, versions, platform, input and output tensors."""
    inputs, outputs = model_io(model)
    return {"name": model.name, "versions": [str(v) for v in versions], "platform": model.runtime.v2_platform,
            "inputs": inputs, "outputs": outputs}


REQUEST_FIELDS = {"id", "parameters", "inputs", "outputs"}


def parse_request(body: bytes, header_length: str | None) -> tuple[dict[str, Any], list[Tensor]]:
    """The request's JSON header and its decoded input tensors."""
    head, binary = split_body(body, header_length)
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise V2Error(f"malformed JSON: {exc}") from None
    if not isinstance(header, dict):
        raise V2Error("the inference request must be a JSON object")
    unknown = sorted(set(header) - REQUEST_FIELDS)
    if unknown:  # as in the native API: a misspelt field is refused, never silently ignored
        raise V2Error(f"unknown field(s) {unknown[:5]}; an inference request holds {sorted(REQUEST_FIELDS)}")
    if not isinstance(header.get("id", ""), str):
        raise V2Error("'id' must be a string")  # it is echoed, and V2 clients read it as one
    if not isinstance(header.get("parameters", {}), dict):
        raise V2Error("'parameters' must be an object")
    return header, decode_inputs(header, binary)


def model_input(model: ServedModel, tensors: list[Tensor]) -> np.ndarray | list[bytes | str] | list[dict[str, Any]]:
    """The rows the data plane takes: a float matrix (numeric models: one ``input`` tensor, or one
    tensor per feature), name->value rows (models with string or boolean features), or the encoded
    pictures (image models)."""
    m = model.manifest
    if m.image:
        if len(tensors) != 1 or tensors[0].name != "image":
            raise V2Error(f"model {model.name!r} takes exactly one input, 'image'; got {[t.name for t in tensors]}")
        tensor = tensors[0]
        if tensor.datatype != "BYTES" or len(tensor.shape) != 1:
            raise V2Error("input 'image' must be BYTES with shape [batch], one encoded PNG or JPEG each")
        return [decode_base64(item) if isinstance(item, str) else item for item in tensor.data]
    if not m.typed and MATRIX_INPUT not in (m.features or ()) and any(t.name == MATRIX_INPUT for t in tensors):
        return _matrix(model, tensors)
    return _columns(model, tensors)


def _takes(model: ServedModel) -> str:
    """What the model's inputs are, for error messages."""
    m = model.manifest
    columns = ", ".join(f"{f} ({COLUMN_DATATYPES[m.feature_type(f)['type']]})" for f in m.features or ())
    if m.typed:
        return f"model {model.name!r} takes one input per feature: {columns}"
    return (f"model {model.name!r} takes {MATRIX_INPUT!r} [batch, {input_width(m)}], "
            f"or one input per feature: {columns}")


def _matrix(model: ServedModel, tensors: list[Tensor]) -> np.ndarray:
    """A numeric model's single ``input`` tensor as a float64 matrix."""
    if len(tensors) != 1:
        raise V2Error(f"exactly one input tensor {MATRIX_INPUT!r} expected, got {len(tensors)}: {_takes(model)}")
    tensor = tensors[0]
    if tensor.datatype not in FEATURE_TYPES:
        raise V2Error(f"input 'input' must be numeric ({', '.join(FEATURE_TYPES)}), not {tensor.datatype}")
    if len(tensor.shape) != 2:
        raise V2Error(f"input 'input' must have shape [batch, {input_width(model.manifest)}], got {tensor.shape}")
    return np.asarray(tensor.data, dtype=np.float64).reshape(tensor.shape)


def _columns(model: ServedModel, tensors: list[Tensor]) -> np.ndarray | list[dict[str, Any]]:
    """One tensor per feature (shape [n] or [n, 1], the same n), each of its feature's type, as rows."""
    m = model.manifest
    features = list(m.features or ())
    given: dict[str, Tensor] = {}
    for tensor in tensors:
        if tensor.name not in features:
            raise V2Error(f"unexpected input {tensor.name!r}; {_takes(model)}")
        if tensor.name in given:
            raise V2Error(f"input {tensor.name!r} is given twice; {_takes(model)}")
        given[tensor.name] = tensor
    missing = [f for f in features if f not in given]
    if missing:
        raise V2Error(f"missing input(s) {', '.join(map(repr, missing))}; {_takes(model)}")
    columns = {}
    for name in features:
        shape = given[name].shape
        if len(shape) not in (1, 2) or shape[1:] not in ([], [1]):
            raise V2Error(f"input {name!r}: a column has shape [n] or [n, 1], got {shape}")
        if shape[0] != given[features[0]].shape[0]:
            raise V2Error(f"input {name!r} has {shape[0]} rows but input {features[0]!r} has "
                          f"{given[features[0]].shape[0]}; every column needs the same number of rows")
        columns[name] = _column(name, m.feature_type(name)["type"], given[name])
    if not m.typed:
        return np.column_stack([columns[f] for f in features]).reshape(-1, len(features))
    values = [columns[f] if isinstance(columns[f], list) else columns[f].tolist() for f in features]
    return [dict(zip(features, row, strict=True)) for row in zip(*values, strict=True)]


def _column(name: str, kind: str, tensor: Tensor) -> Any:
    """One column's values, checked against its feature's type: a numpy array, or strings."""
    if tensor.datatype not in COLUMN_ACCEPTS[kind]:
        raise V2Error(f"input {name!r}: feature {name!r} is {COLUMN_HINTS[kind]}, not {tensor.datatype}")
    data = tensor.data
    if kind == "string":
        try:
            return [v.decode("utf-8") if isinstance(v, bytes) else v for v in data]
        except UnicodeDecodeError:
            raise V2Error(f"input {name!r}: BYTES elements must be UTF-8 text") from None
    if kind == "boolean":
        return np.asarray(data).view(np.uint8) != 0  # a raw byte other than 0 or 1 is still true
    if kind == "integer":
        if tensor.datatype == "UINT64" and len(data) and data.max() > INT64_MAX:
            raise V2Error(f"input {name!r}: a value is out of range for an integer feature (INT64)")
        return data.astype(np.int64)
    return data.astype(np.float64)


def response(prediction: Prediction, header: dict[str, Any]) -> dict[str, Any]:
    """The inference response: the outputs the request asked for (all by default), its id, and
    the out-of-range warnings (``parameters.warnings``, a list per row, as JSON text)."""
    model = prediction.model
    wanted = requested_outputs(header, output_names(model))
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
