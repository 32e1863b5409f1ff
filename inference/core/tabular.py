"""Tabular rows -> the model's input: a float matrix, or a DataFrame for models with string or
boolean features. The request schemas have already checked every value's type; here is the one
check of what depends on the model: the row width and the feature names; and the one range rule
every model shares: values fit float32, the precision the models compute in."""

from __future__ import annotations

from typing import Any

import numpy as np

from inference.core.errors import OutOfRange, ValidationFailed
from inference.core.manifest import Manifest

# Beyond this a value is infinite in float32 (ONNX Runtime, PyTorch, scikit-learn's trees), and
# a model would answer for infinity or fail deep inside: refused for every model alike.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def input_width(manifest: Manifest) -> int:
    """Values per row: the feature count, or the pixels of an image model."""
    image = manifest.image
    return image["width"] * image["height"] if image else len(manifest.features or ())


def to_matrix(rows: np.ndarray | list[dict[str, Any]], manifest: Manifest, field: str = "inputs") -> np.ndarray:
    """A float64 matrix in the model's feature order.

    ``rows`` is a 2-D float array (positional values) or a list of name->value dicts; ``field``
    names the request field in errors.
    """
    features = manifest.features or []
    if isinstance(rows, np.ndarray):
        width = input_width(manifest)
        if rows.ndim != 2 or rows.shape[1] != width:
            got = rows.shape[1] if rows.ndim == 2 else rows.shape
            names = f" ({', '.join(features)})" if features else ""
            raise ValidationFailed(f"each row needs {width} values{names}, got {got} (shape [batch, {width}] expected)",
                                   {field: [f"Expected {width} values per row, got {got}."]})
        return rows
    check_names(rows, features, field)
    return np.array([[row[name] for name in features] for row in rows], dtype=np.float64)


def check_names(rows: list[dict[str, Any]], features: list[str], field: str) -> None:
    """Every row names exactly the model's features."""
    wanted = set(features)
    for i, row in enumerate(rows):
        if row.keys() != wanted:
            missing = sorted(wanted - row.keys())
            extra = sorted(row.keys() - wanted)
            errors = {name: ["Missing data for required field."] for name in missing}
            errors.update({name: ["Unknown field."] for name in extra})
            where = {field: {str(i): errors}} if field == "inputs" else {field: errors}
            raise ValidationFailed("feature names do not match the model's features", where)


# pandas dtype of each feature type: what an estimator fitted on a DataFrame saw.
FRAME_DTYPES = {"number": "float64", "integer": "int64", "boolean": "bool", "string": "object"}


def to_frame(rows: np.ndarray | list[dict[str, Any]], manifest: Manifest, field: str = "inputs") -> Any:
    """A pandas DataFrame with the model's columns, in the order and the dtypes it was fitted with."""
    import pandas as pd

    features = manifest.features or []
    if isinstance(rows, np.ndarray):
        return pd.DataFrame(to_matrix(rows, manifest, field), columns=features)
    check_names(rows, features, field)
    columns = {name: pd.Series([row[name] for row in rows], dtype=FRAME_DTYPES[manifest.feature_type(name)["type"]])
               for name in features}
    return pd.DataFrame(columns)


def model_input(rows: np.ndarray | list[dict[str, Any]], manifest: Manifest, field: str = "inputs") -> Any:
    """What the model's runtime takes: a DataFrame for models with string or boolean features, else
    a matrix; every number within float32's range."""
    x = to_frame(rows, manifest, field) if manifest.typed else to_matrix(rows, manifest, field)
    check_range(x, manifest, field)
    return x


def check_range(x: Any, manifest: Manifest, field: str) -> None:
    """Refuse a value beyond ±FLOAT32_MAX (``1e300`` is a finite JSON number), naming row and feature."""
    columns = list(x.columns) if hasattr(x, "iloc") else None
    if columns is not None:
        columns = [c for c in columns if x[c].dtype.kind == "f"]
        values = x[columns].to_numpy(dtype=np.float64) if columns else np.zeros((0, 0))
    else:
        values = x
    if not values.size or np.abs(values).max() <= FLOAT32_MAX:  # the values are finite already
        return
    i, j = np.argwhere(np.abs(values) > FLOAT32_MAX)[0].tolist()
    names = columns or manifest.features or []
    name = names[j] if j < len(names) else str(j)
    message = f"row {i}, {name}: {values[i, j]:g} is beyond ±3.4e38, the range the models compute in (float32)"
    raise OutOfRange(message, {field: [message]})
