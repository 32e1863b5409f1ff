"""scikit-learn estimators saved with joblib, unpickled only after the hash check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from inference.core.runtimes import register
from inference.core.runtimes.base import PROBABILITIES, Runtime


@register
class SklearnRuntime(Runtime):
    """``predict_proba`` for classifiers, ``predict`` for regressors."""

    framework = "sklearn"
    engine = "scikit-learn"
    v2_platform = "sklearn"
    default_scores = PROBABILITIES

    def deserialize(self, path: Path) -> Any:
        import joblib

        model = joblib.load(path)
        if self.is_classifier and not hasattr(model, "predict_proba"):
            raise TypeError(f"{self.file}: a classifier must implement predict_proba")
        return model

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.is_classifier:
            return np.asarray(self.model.predict_proba(x), dtype=np.float64)
        return np.asarray(self.model.predict(x), dtype=np.float64)
