"""The protocol-neutral inference path between the HTTP views and the models: resolve a model,
check the batch, run it, and hand back a ``Prediction`` that each protocol encodes its own way.
The native and V2 views only decode their request and encode this answer."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from inference.core.errors import ValidationFailed, check_batch
from inference.core.images import image_to_matrix
from inference.core.prediction import Prediction
from inference.core.registry import LATEST, ModelRegistry
from inference.core.served import ServedModel
from inference.core.tabular import model_input


class DataPlane:
    """Every prediction of every protocol goes through ``infer``."""

    def __init__(self, registry: ModelRegistry, max_batch_rows: int, max_image_pixels: int, drift: bool = True,
                 warnings: bool = True):
        """``drift``: count served rows into the reference bins; ``warnings``: flag values outside
        the training range (both only for versions with reference statistics)."""
        self.registry = registry
        self.max_batch_rows = max_batch_rows
        self.max_image_pixels = max_image_pixels
        self.drift = drift
        self.warnings = warnings

    def model(self, name: str, version: int | str | None = LATEST) -> ServedModel:
        """The loaded model ``name`` at ``version``; 404 / 503 errors when there is none."""
        return self.registry.get(name, version)

    def infer(self, model: ServedModel, rows: np.ndarray | list[dict[str, Any]], field: str = "inputs") -> Prediction:
        """Run ``model`` on a batch of rows (a float matrix, or name->value dicts) in one forward pass."""
        check_batch(len(rows), self.max_batch_rows)
        matrix = model_input(rows, model.manifest, field)
        if not len(matrix):
            raise ValidationFailed("the request holds no rows", {field: ["Must hold at least one row."]})
        started = time.perf_counter()
        outputs = model.predict(matrix)
        prediction = Prediction(model, outputs, time.perf_counter() - started, inputs=matrix)
        model.observer.predicted(model, prediction.rows)
        monitor = model.monitor
        if monitor is not None:  # counted once answered: drift is about the rows actually served
            if self.drift:
                model.observer.observed(model, *monitor.counts(matrix))
            if self.warnings:
                prediction.warnings, tally = monitor.warnings(matrix)
                if tally:
                    model.observer.warned(model, tally)
        return prediction

    def infer_images(self, model: ServedModel, pictures: list[bytes], field: str = "file") -> Prediction:
        """Run an image model on encoded PNG/JPEG pictures, converted the way its training images were made."""
        if not model.manifest.image:
            raise ValidationFailed(f"model {model.name!r} takes features, not images", {field: ["Not an image model."]})
        check_batch(len(pictures), self.max_batch_rows)
        rows = [image_to_matrix(data, model.manifest.image, self.max_image_pixels) for data in pictures]
        matrix = np.vstack(rows) if rows else np.zeros((0, 0))
        return self.infer(model, matrix, field)

    def describe(self, model: ServedModel) -> dict[str, Any]:
        """The public metadata of a loaded model version. ``sha256`` is the weights file's; ``served``
        names the file that computes the answers (the weights, or their verified compiled twin)."""
        m, runtime = model.manifest, model.runtime
        return {
            "name": m.name,
            "version": m.version,
            "versions": self.registry.versions(m.name),
            "framework": m.framework,
            "runtime": runtime.engine,
            "task": m.task,
            "inputs": m.inputs,
            "outputs": m.outputs,
            "sha256": m.sha256,
            "created": m.created,
            "data": m.data,
            "metrics": m.metrics,
            "served": {"file": runtime.file, "sha256": runtime.sha256, "runtime": runtime.engine,
                       "source_file": m.file, "source_sha256": m.sha256,
                       "batch_invariant": model.row_rule is not None, "row_rule": row_rule(model)},
            "reference": reference_summary(m.reference),
        }

    def catalogue(self) -> list[dict[str, Any]]:
        """The metadata of every loaded model's latest version (once a background load is done)."""
        self.registry.settle()
        return [self.describe(model) for model in self.registry.all_latest()]

    @property
    def ready(self) -> bool:
        return self.registry.ready


def row_rule(model: ServedModel) -> str | None:
    """How many rows each forward call is padded to (None: requests are never merged)."""
    rule = model.row_rule
    if rule is None:
        return None
    if rule.block == 1:
        return "as many rows as the batch has"
    return f"a multiple of {rule.block} rows" if rule.multiple else f"at least {rule.block} rows"


def reference_summary(reference: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the metadata says of a version's reference statistics: their source, rows and ranges."""
    if not reference:
        return None
    ranges = {name: ([s["min"], s["max"]] if "min" in s else {"categories": len(s["categories"])})
              for name, s in reference["features"].items()}
    return {"source": reference["source"], "rows": reference["rows"], "features": ranges}
