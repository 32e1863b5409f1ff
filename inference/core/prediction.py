"""A model's answer to one request, and its shapes: the native JSON body (one row or a batch),
the image body (top 5). The V2 encoding of the same answer lives in ``inference.core.v2``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from inference.core.served import ServedModel

TOP_K = 5


@dataclass
class Prediction:
    """What ``model`` answered for ``rows`` input rows: probabilities (classifiers) or values."""

    model: ServedModel
    outputs: np.ndarray
    seconds: float  # time spent getting the answer from the model (waiting for its lock included)
    inputs: Any = field(default=None, repr=False)  # what the model got (its matrix or DataFrame)
    warnings: list[list[dict[str, Any]]] | None = None  # per row, values outside the training range

    @property
    def rows(self) -> int:
        return len(self.outputs)

    @cached_property
    def class_ids(self) -> np.ndarray:
        """The most probable class of each row (classifiers)."""
        return self.outputs.argmax(axis=1)

    @cached_property
    def predicted_labels(self) -> list[str]:
        """The label of each row's most probable class (classifiers)."""
        labels = self.model.labels or []
        return [labels[i] for i in self.class_ids.tolist()]

    def classification_rows(self) -> list[dict[str, Any]]:
        """One ``{prediction, class_id, confidence, probabilities}`` dict per row."""
        labels = self.model.labels or []
        return [
            {"prediction": labels[class_id], "class_id": class_id, "confidence": probs[class_id],
             "probabilities": dict(zip(labels, probs, strict=True))}
            for class_id, probs in zip(self.class_ids.tolist(), self.outputs.tolist(), strict=True)
        ]

    def body(self, single: bool) -> dict[str, Any]:
        """The native answer: classifier or regressor, one instance (``single``) or a batch, with
        ``warnings`` when a value lies outside the training range (a list per row for a batch)."""
        body: dict[str, Any] = {"model": self.model.name, "version": self.model.version}
        if self.model.is_classifier:
            rows: list[Any] = self.classification_rows()
            if single:
                body.update(rows[0])
        else:
            rows = list(self.outputs)  # arrays: the JSON provider writes them as lists
            if single:
                body["prediction"] = rows[0]
        if not single:
            body["predictions"] = rows
        if self.warnings is not None:
            body["warnings"] = self.warnings[0] if single else self.warnings
        return body

    def image_body(self) -> dict[str, Any]:
        """The answer for one picture: its class, confidence, the ``TOP_K`` classes and the model time."""
        row = self.classification_rows()[0]
        return {"model": self.model.name, "version": self.model.version, "prediction": row["prediction"],
                "class_id": row["class_id"], "confidence": row["confidence"],
                "top_5": top_k(self.outputs[0], self.model.labels or [], TOP_K),
                "inference_time_ms": round(self.seconds * 1000, 3)}


def top_k(probabilities: np.ndarray, labels: list[str], k: int) -> dict[str, float]:
    """The ``k`` most probable labels of one row, most probable first, as ``{label: p}``."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return {labels[i]: float(probabilities[i]) for i in order}
