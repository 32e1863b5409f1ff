"""What the OpenAPI document says about each loaded model version: its request schema (every
feature with its JSON type) and real examples taken from its golden rows, so that Swagger UI's
"Try it out" sends a request the model answers. Built with the document, never per request."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from inference.api.schemas import INT64_MAX, INT64_MIN
from inference.core.manifest import Manifest
from inference.core.v2 import COLUMN_DATATYPES, MATRIX_INPUT

JSON_TYPES = {"number": "number", "integer": "integer", "boolean": "boolean", "string": "string"}
MEANINGS = {"number": "a finite number", "integer": "an integral number", "boolean": "true or false",
            "string": "text"}
LISTED_CATEGORIES = 20  # a longer list of training categories is cut short in the description
BATCH_ROWS = 3  # rows in the batch examples


def tag(name: str) -> str:
    """The tag of a model's own operations (a model may be named like a generic tag, "models" say)."""
    return f"model: {name}"


def component_name(manifest: Manifest, what: str) -> str:
    """``iris-rf.v1.Request``: a per-version component name (model names are already URL-safe)."""
    return f"{manifest.name}.v{manifest.version}.{what}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def feature_schema(manifest: Manifest, name: str) -> dict[str, Any]:
    """One feature's JSON Schema. Training categories go into the description, not an ``enum``:
    a category never seen in training is still answered."""
    spec = manifest.feature_type(name)
    description = MEANINGS[spec["type"]]
    categories = spec.get("categories") or []
    if categories:
        shown = ", ".join(categories[:LISTED_CATEGORIES])
        more = f" and {len(categories) - LISTED_CATEGORIES} more" if len(categories) > LISTED_CATEGORIES else ""
        description += f"; categories seen in training: {shown}{more}"
    schema = {"type": JSON_TYPES[spec["type"]], "description": description}
    if spec["type"] == "integer":
        schema.update(minimum=INT64_MIN, maximum=INT64_MAX)
    return schema


def row_schema(manifest: Manifest) -> dict[str, Any]:
    """One row by feature name: every feature, nothing else."""
    features = manifest.features or []
    return {"type": "object", "description": "one row by feature name (every feature, no others)",
            "properties": {name: feature_schema(manifest, name) for name in features},
            "required": list(features), "additionalProperties": False}


def positional_schema(manifest: Manifest) -> dict[str, Any]:
    """One row as a list of values in the model's feature order."""
    features = manifest.features or []
    kinds = list(dict.fromkeys(JSON_TYPES[manifest.feature_type(f)["type"]] for f in features))
    if "number" in kinds and "integer" in kinds:
        kinds.remove("integer")  # every integer is a number: anyOf needs only the wider type
    items = {"type": kinds[0]} if len(kinds) == 1 else {"anyOf": [{"type": k} for k in kinds]}
    return {"type": "array", "description": f"one row, values in feature order: {', '.join(features)}",
            "items": items, "minItems": len(features), "maxItems": len(features)}


def request_schema(manifest: Manifest, max_rows: int) -> dict[str, Any]:
    """Exactly one of ``features`` (one row) or ``inputs`` (a batch), for this model's features."""
    row = {"oneOf": [_ref(component_name(manifest, "Row")), positional_schema(manifest)]}
    return {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
            "description": f"{manifest.key}: exactly one of features (one row) or inputs (a batch of rows)",
            "properties": {"features": {**row, "description": "one row"},
                           "inputs": {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows,
                                      "description": f"a batch of 1 to {max_rows} rows, all objects or all lists"}}}


def _typed(kind: str, value: Any) -> Any:
    """A golden value written as its feature's JSON type (``3`` rather than ``3.0`` for an integer)."""
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def example_rows(manifest: Manifest) -> list[dict[str, Any]]:
    """The version's golden rows by feature name: inputs this very version was checked on at load."""
    features = manifest.features or []
    rows = (manifest.golden or {}).get("inputs") or []
    named = [dict(zip(features, row, strict=True)) if isinstance(row, list) else row for row in rows]
    return [{f: _typed(manifest.feature_type(f)["type"], row[f]) for f in features} for row in named]


def request_examples(manifest: Manifest) -> dict[str, Any]:
    """Request body examples (one row, a batch) in OpenAPI's ``examples`` form; empty without golden rows."""
    if manifest.image:
        image = image_example(manifest)
        return {"one picture": {"summary": f"a golden picture of {manifest.key}", "value": {"image": image}}} \
            if image else {}
    rows = example_rows(manifest)
    if not rows:
        return {}
    return {"one row": {"summary": f"golden row 1 of {manifest.key}", "value": {"features": rows[0]}},
            "batch": {"summary": f"golden rows 1-{len(rows[:BATCH_ROWS])} of {manifest.key}",
                      "value": {"inputs": rows[:BATCH_ROWS]}}}


def image_example(manifest: Manifest) -> str | None:
    """The first golden row of an image model drawn back into a PNG, base64-encoded (None without one)."""
    from PIL import Image

    rows = (manifest.golden or {}).get("inputs") or []
    spec = manifest.image
    if not rows or not spec:
        return None
    ink = np.asarray(rows[0], dtype=np.float64).reshape(spec["height"], spec["width"]) / spec["max_value"]
    # light ink on a dark background is read as it is; "always" inverts every picture, so draw it dark on light
    grey = (1.0 - ink) if spec.get("invert") == "always" else ink
    out = io.BytesIO()
    Image.fromarray((np.clip(grey, 0, 1) * 255).round().astype(np.uint8), "L").save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def v2_examples(manifest: Manifest) -> dict[str, Any]:
    """V2 infer request examples: one input per feature (every tabular model), the ``input`` matrix
    (numeric models), or ``image`` (image models)."""
    key = manifest.name
    if manifest.image:
        image = image_example(manifest)
        return {key: {"summary": f"{manifest.key}: one picture", "value": {"inputs": [
            {"name": "image", "datatype": "BYTES", "shape": [1], "data": [image]}]}}} if image else {}
    rows = example_rows(manifest)[:BATCH_ROWS]
    if not rows:
        return {}
    features = manifest.features or []
    columns = [{"name": f, "datatype": COLUMN_DATATYPES[manifest.feature_type(f)["type"]], "shape": [len(rows), 1],
                "data": [row[f] for row in rows]} for f in features]
    examples = {f"{key} (per column)": {"summary": f"{manifest.key}: one input per feature",
                                        "value": {"inputs": columns}}}
    if not manifest.typed:
        matrix = [[float(row[f]) for f in features] for row in rows]
        examples[key] = {"summary": f"{manifest.key}: one [batch, {len(features)}] input",
                         "value": {"inputs": [{"name": MATRIX_INPUT, "datatype": "FP64",
                                               "shape": [len(rows), len(features)], "data": matrix}]}}
    return examples
