"""Added models served by a real Gunicorn: a DataFrame Pipeline from joblib and an MLflow directory."""

import numpy as np
import pytest
import requests

from inference.testing import GunicornServer
from tests.importing.conftest import add, json_rows
from tests.importing.test_add_mlflow import _save

pytestmark = pytest.mark.e2e


def _probabilities(url, name, rows, labels):
    r = requests.post(f"{url}/models/{name}/predict", json={"inputs": rows}, timeout=10)
    assert r.status_code == 200, r.text
    return np.array([[p["probabilities"][k] for k in labels] for p in r.json()["predictions"]])


def test_pipeline_and_mlflow_directory_behind_gunicorn(clinical, tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    from tests.importing.conftest import clinical_frame, clinical_pipeline

    repo = tmp_path / "repo"
    assert add(repo, clinical["path"], "readmission", "--sample", clinical["sample"]) == 0
    df = clinical_frame(seed=3)
    forest = clinical_pipeline(RandomForestClassifier(n_estimators=10, random_state=0)).fit(
        df, np.where(df.bmi > 28, "high", "low"))
    _save(forest, df, tmp_path / "mlmodel", serialization_format="cloudpickle")
    assert add(repo, tmp_path / "mlmodel", "bmi-risk") == 0

    rows = clinical["frame"].iloc[120:170]
    with GunicornServer(repo, workers=2, log_path=tmp_path / "server.log") as server:
        got = _probabilities(server.url, "readmission", json_rows(rows), ["home", "readmitted"])
        np.testing.assert_allclose(got, clinical["model"].predict_proba(rows), atol=1e-4)
        got = _probabilities(server.url, "bmi-risk", json_rows(rows), ["high", "low"])
        np.testing.assert_allclose(got, forest.predict_proba(rows), atol=1e-4)
        bad = requests.post(f"{server.url}/models/bmi-risk/predict",
                            json={"features": {**json_rows(rows.head(1))[0], "sex": 0}}, timeout=10)
        assert bad.status_code == 400 and "sex" in bad.json()["details"]["features"]
        ready = requests.get(f"{server.url}/ready", timeout=10).json()
        assert ready["models"] == {"bmi-risk": [1], "readmission": [1]}
