"""save_model() from a notebook: a scikit-learn pipeline and a torch.nn.Module whose class the
server cannot import, served by a real Gunicorn."""

import numpy as np
import pandas as pd
import pytest
import requests
import torch

from inference import save_model
from inference.testing import GunicornServer
from tests.importing.conftest import clinical_frame, clinical_pipeline, json_rows, serve, served_probabilities


def test_sklearn_pipeline_returns_its_manifest(tmp_path):
    from sklearn.linear_model import LogisticRegression

    df = clinical_frame()
    y = np.where(df.visits > 5, "frequent", "rare")
    model = clinical_pipeline(LogisticRegression()).fit(df, y)
    manifest = save_model(model, "visits", df.head(30), model_dir=tmp_path)
    assert (manifest.name, manifest.version, manifest.framework) == ("visits", 1, "sklearn")
    assert manifest.serialization == "skops" and manifest.compiled["parity"]["passed"]
    assert manifest.labels == ["frequent", "rare"] and manifest.typed
    assert manifest.reference["source"] == "sample" and manifest.reference["rows"] == 30
    assert manifest.reference["features"]["bmi"]["max"] == df.head(30).bmi.max()
    served = served_probabilities(serve(tmp_path), "visits", json_rows(df.iloc[300:340]))
    np.testing.assert_allclose(served, model.predict_proba(df.iloc[300:340]), atol=1e-4)


def test_array_sample_takes_feature_names(tmp_path):
    from sklearn.linear_model import Ridge

    x = np.random.default_rng(0).normal(size=(100, 3))
    model = Ridge().fit(x, x @ [1.0, 2.0, -1.0])
    manifest = save_model(model, "ridge", x[:10], model_dir=tmp_path, features=["a", "b", "c"])
    assert manifest.features == ["a", "b", "c"] and manifest.task == "regression"
    body = serve(tmp_path).post("/models/ridge/predict", json={"features": {"a": 1, "b": 2, "c": 3}}).get_json()
    np.testing.assert_allclose(body["prediction"], model.predict([[1, 2, 3]]), atol=1e-4)


def test_unfitted_estimator_is_refused_and_writes_nothing(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match="not fitted"):
        save_model(LogisticRegression(), "nothing", np.zeros((3, 2)), model_dir=tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.e2e
def test_notebook_torch_module_served_by_gunicorn(tmp_path):
    class Notebook(torch.nn.Module):  # defined here: the server cannot import this class
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(5, 12)
            self.out = torch.nn.Linear(12, 3)

        def forward(self, x):
            return self.out(torch.tanh(self.hidden(x)))

    torch.manual_seed(0)
    net = Notebook().eval()
    rng = np.random.default_rng(1)
    sample = pd.DataFrame(rng.normal(size=(40, 5)), columns=["hr", "sbp", "dbp", "temp", "spo2"])
    manifest = save_model(net, "triage", sample, model_dir=tmp_path, labels=["green", "amber", "red"])
    assert manifest.framework == "onnx" and manifest.source["parity"]["passed"]

    rows = rng.normal(size=(25, 5))
    with torch.no_grad():
        expected = torch.softmax(net(torch.tensor(rows, dtype=torch.float32)), 1).numpy()
    with GunicornServer(tmp_path, workers=2, log_path=tmp_path / "server.log") as server:
        r = requests.post(f"{server.url}/models/triage/predict", json={"inputs": rows.tolist()}, timeout=10)
        assert r.status_code == 200, r.text
        probs = np.array([[p["probabilities"][k] for k in ("green", "amber", "red")]
                          for p in r.json()["predictions"]])
        np.testing.assert_allclose(probs, expected, atol=1e-4)
        assert r.headers["X-Model-Runtime"] == "onnxruntime"
        bad = requests.post(f"{server.url}/models/triage/predict", json={"features": [1, 2, "x", 4, 5]}, timeout=10)
        assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
