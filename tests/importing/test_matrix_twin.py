"""A forest fitted on a DataFrame of numbers (an MLflow directory, say) gets an ONNX twin that takes
the rows as one float matrix: skl2onnx gives a bare forest one input only."""

import json
import warnings

import numpy as np
import pytest

from tests.importing.conftest import add, json_rows, serve, served_probabilities

mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
pytest.importorskip("onnxruntime")


def test_numeric_frame_forest_is_served_by_a_matrix_twin(tmp_path):
    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    data = load_breast_cancer(as_frame=True)
    x = data.data
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, data.target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow_sklearn.save_model(model, str(tmp_path / "mlmodel"), input_example=x.head(5),
                                  signature=infer_signature(x.head(), model.predict(x.head())),
                                  serialization_format="cloudpickle")
    repo = tmp_path / "repo"
    assert add(repo, tmp_path / "mlmodel", "bc") == 0
    manifest = json.loads((repo / "bc" / "1" / "model.json").read_text())
    assert manifest["inputs"]["frame"] and manifest["compiled"]["input"] == "matrix"
    assert manifest["compiled"]["parity"]["passed"]
    client = serve(repo)
    assert client.get("/models/bc").get_json()["runtime"] == "onnxruntime"
    rows = x.iloc[100:160]
    np.testing.assert_allclose(served_probabilities(client, "bc", json_rows(rows)), model.predict_proba(rows),
                               atol=1e-5)
