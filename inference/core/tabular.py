"""Tabular rows <-> the model's input matrix and its response rows (SPEC 3.1, 3.2).

The HTTP schemas have already checked that every value is a finite number; here we check
only what depends on the model: feature count and feature names.
"""

import numpy as np

from inference.core.errors import ValidationFailed


def to_matrix(rows, features, field="inputs"):
    """Return a float64 matrix in the model's feature order.

    ``rows`` is a 2-D float array (positional values) or a list of name->value dicts.
    """
    if isinstance(rows, np.ndarray):
        if rows.shape[1] != len(features):
            raise ValidationFailed(
                f"each row needs {len(features)} values ({', '.join(features)}), got {rows.shape[1]}",
                {field: [f"Expected {len(features)} values per row, got {rows.shape[1]}."]},
            )
        return rows
    wanted = set(features)
    for i, row in enumerate(rows):
        if row.keys() != wanted:
            missing = sorted(wanted - row.keys())
            extra = sorted(row.keys() - wanted)
            errors = {name: ["Missing data for required field."] for name in missing}
            errors.update({name: ["Unknown field."] for name in extra})
            where = {field: {str(i): errors}} if field == "inputs" else {field: errors}
            raise ValidationFailed("feature names do not match the model's features", where)
    return np.array([[row[name] for name in features] for row in rows], dtype=np.float64)


def classification_rows(probabilities, labels):
    """Return one ``{prediction, class_id, confidence, probabilities}`` dict per row."""
    class_ids = probabilities.argmax(axis=1).tolist()
    rows = []
    for class_id, probs in zip(class_ids, probabilities.tolist(), strict=False):
        rows.append(
            {
                "prediction": labels[class_id],
                "class_id": class_id,
                "confidence": probs[class_id],
                "probabilities": dict(zip(labels, probs, strict=False)),
            }
        )
    return rows


def regression_rows(outputs):
    """Return one array of output values per row (the JSON provider writes arrays as lists)."""
    return list(outputs)


def response_body(name, version, output, labels, single):
    """The SPEC 3.2 answer: classifier (``labels`` given) or regressor, one row or a batch."""
    rows = classification_rows(output, labels) if labels else regression_rows(output)
    body = {"model": name, "version": version}
    if not single:
        body["predictions"] = rows
    elif labels:
        body.update(rows[0])
    else:
        body["prediction"] = rows[0]
    return body


def top_k(probabilities, labels, k):
    """The ``k`` most probable labels of one row, most probable first, as ``{label: p}``."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return {labels[i]: float(probabilities[i]) for i in order}
