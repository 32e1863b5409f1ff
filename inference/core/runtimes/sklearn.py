"""scikit-learn estimators and pipelines, deserialised only after the hash check: joblib or
pickle files (loading one runs code from it, so only files whose hash the manifest names), or
skops files, which build only the types skops trusts plus those the operator confirmed."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.runtimes import register
from inference.core.runtimes.base import PROBABILITIES, Runtime


def load_estimator(path: Path, serialization: str, trusted_types: list[str]) -> Any:
    """Read an estimator written with joblib, pickle (or cloudpickle) or skops."""
    if serialization == "skops":
        import skops.io

        return skops.io.load(path, trusted=trusted_types)
    if serialization == "pickle":
        with open(path, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - only after the SHA-256 check (see Runtime.load)
    import joblib

    return joblib.load(path)


@register
class SklearnRuntime(Runtime):
    """``predict_proba`` for classifiers, ``predict`` for regressors. An estimator fitted on a
    DataFrame (manifest ``inputs.frame``) gets a DataFrame with the columns it was fitted with."""

    framework = "sklearn"
    engine = "scikit-learn"
    v2_platform = "sklearn"
    default_scores = PROBABILITIES

    def deserialize(self, path: Path) -> Any:
        model = load_estimator(path, self.manifest.serialization or "joblib", self.manifest.trusted_types)
        if self.is_classifier and not hasattr(model, "predict_proba"):
            raise TypeError(f"{self.file}: a classifier must implement predict_proba")
        return model

    def forward(self, x: Any) -> np.ndarray:
        if self.is_classifier:
            return np.asarray(self.model.predict_proba(x), dtype=np.float64)
        return np.asarray(self.model.predict(x), dtype=np.float64)
