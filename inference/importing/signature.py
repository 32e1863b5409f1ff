"""Feature names and types: from a sample (CSV or JSON), a DataFrame, an MLflow signature or an
ONNX graph's inputs; and the sample rows that become golden outputs and parity checks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

NUMBER, INTEGER, BOOLEAN, STRING = "number", "integer", "boolean", "string"
MAX_CATEGORIES = 1000  # a string column with more distinct values is free text: no category list


class SignatureError(ValueError):
    """The features or the sample do not fit the model, or cannot be read."""


def read_sample(path: Path | str) -> Any:
    """A DataFrame from a CSV file with a header row, or a JSON file holding a list of name->value
    objects or pandas' split orient (``{"columns": [...], "data": [[...]]}``)."""
    import pandas as pd

    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            return frame_from_json(data)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SignatureError(f"cannot read the sample {path.name}: {exc}") from None


def frame_from_json(data: Any) -> Any:
    """A DataFrame from JSON rows: a list of objects, a list of lists, or pandas' split orient."""
    import pandas as pd

    if isinstance(data, dict) and "data" in data:
        return pd.DataFrame(data["data"], columns=data.get("columns"))
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return pd.DataFrame(data)
    if isinstance(data, list) and data and all(isinstance(row, list) for row in data):
        return pd.DataFrame(data)
    raise SignatureError("a JSON sample must be a list of objects (or of lists), "
                         "or {\"columns\": [...], \"data\": [...]}")


def feature_type(series: Any) -> dict[str, Any]:
    """The type of one sample column. Integral numbers in a sample are still numbers: a sample
    cannot tell an integer feature from a measurement that happened to be whole."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return {"type": BOOLEAN}
    if pd.api.types.is_numeric_dtype(series):
        return {"type": NUMBER}
    values = series.dropna().astype(str)
    categories = sorted(values.unique().tolist())
    return {"type": STRING, "categories": categories if len(categories) <= MAX_CATEGORIES else None}


def types_from_frame(frame: Any, features: list[str]) -> dict[str, dict[str, Any]]:
    """``{feature: type}`` for the sample's columns, in the model's order."""
    return {name: feature_type(frame[name]) for name in features}


MLFLOW_TYPES = {"double": NUMBER, "float": NUMBER, "long": INTEGER, "integer": INTEGER, "boolean": BOOLEAN,
                "string": STRING}


def types_from_mlflow(colspecs: list[dict[str, Any]]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Feature names and types from an MLflow column signature (``[{"name", "type"}, ...]``)."""
    features, types = [], {}
    for spec in colspecs:
        if "name" not in spec or spec.get("type") not in MLFLOW_TYPES:
            raise SignatureError(f"unsupported MLflow signature column {spec}")
        features.append(spec["name"])
        types[spec["name"]] = {"type": MLFLOW_TYPES[spec["type"]]}
    return features, types


def check_sample(frame: Any, features: list[str]) -> Any:
    """The sample's columns in the model's order; every feature must be there."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise SignatureError(f"the sample lacks the model's features {missing}")
    if frame.empty:
        raise SignatureError("the sample holds no rows")
    return frame[features]


def json_value(value: Any) -> Any:
    """A sample value as plain JSON (numpy scalars to Python, NaN refused)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise SignatureError("the sample holds a missing or non-finite value; give complete rows")
    return value


def rows_of(frame: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """Sample rows as name->value objects, the form a client sends."""
    head = frame if limit is None else frame.head(limit)
    return [{name: json_value(value) for name, value in row.items()} for row in head.to_dict(orient="records")]
