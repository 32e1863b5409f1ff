"""A scikit-learn-style classifier that is slow on purpose: to load, and to predict.

Saved with joblib into a model repository, it lets end-to-end tests hold a request in flight
(graceful shutdown) or keep a worker loading (readiness). The workers import it from this
module by name, as they would any estimator class.
"""

import time

import joblib
import numpy as np

from inference.core.manifest import sha256_file, write_manifest


class SlowClassifier:
    def __init__(self, delay=0.0, load_delay=0.0):
        self.delay = delay
        self.load_delay = load_delay

    def __setstate__(self, state):
        self.__dict__.update(state)
        time.sleep(self.load_delay)

    def predict_proba(self, x):
        time.sleep(self.delay)
        return np.full((len(x), 2), 0.5)


def add_slow_model(model_dir, name="slow", delay=0.0, load_delay=0.0):
    """Write ``<model_dir>/<name>/1`` holding a SlowClassifier; return its folder."""
    folder = model_dir / name / "1"
    folder.mkdir(parents=True)
    joblib.dump(SlowClassifier(delay, load_delay), folder / "model.joblib")
    write_manifest(folder, {
        "name": name, "version": 1, "framework": "sklearn", "task": "classification",
        "file": "model.joblib", "sha256": sha256_file(folder / "model.joblib"),
        "inputs": {"features": ["x"]}, "outputs": {"labels": ["no", "yes"]},
        "data": {"source": "none: a test double"}, "metrics": {},
    })
    return folder
