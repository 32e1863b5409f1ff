"""What a clinician relies on, through the API: out-of-range warnings, drift, the file that ran."""

import json

import pytest

from inference import metrics
from inference.core.manifest import sha256_file

IRIS_IN = [5.1, 3.5, 1.4, 0.2]
IRIS_OUT = [9.1, 3.5, 1.4, 0.01]  # sepal_length above the training range, petal_width below


def test_a_row_in_range_has_no_warnings(client):
    body = client.post("/models/iris-mlp/predict", json={"features": IRIS_IN}).get_json()
    assert "warnings" not in body


def test_out_of_range_row_is_answered_with_warnings(client):
    r = client.post("/models/iris-mlp/predict", json={"features": IRIS_OUT})
    assert r.status_code == 200
    body = r.get_json()
    assert body["prediction"] in ("setosa", "versicolor", "virginica")
    assert body["warnings"] == [
        {"feature": "sepal_length", "value": 9.1, "kind": "above_range", "range": [4.3, 7.7]},
        {"feature": "petal_width", "value": 0.01, "kind": "below_range", "range": [0.1, 2.5]},
    ]


def test_batch_warnings_are_a_list_per_row(client):
    def named(row):
        return dict(zip(["sepal_length", "sepal_width", "petal_length", "petal_width"], row, strict=True))

    body = client.post("/models/iris-rf/predict", json={"inputs": [named(IRIS_IN), named(IRIS_OUT),
                                                                   named(IRIS_IN)]}).get_json()
    assert len(body["predictions"]) == 3
    assert [len(w) for w in body["warnings"]] == [0, 2, 0]
    assert body["warnings"][1][0]["feature"] == "sepal_length"


def test_v2_carries_warnings_as_a_parameter(client):
    request = {"inputs": [{"name": "input", "datatype": "FP64", "shape": [2, 4], "data": IRIS_IN + IRIS_OUT}]}
    body = client.post("/v2/models/iris-mlp/infer", json=request).get_json()
    warnings = json.loads(body["parameters"]["warnings"])
    assert warnings[0] == [] and [w["kind"] for w in warnings[1]] == ["above_range", "below_range"]
    request["inputs"][0].update(shape=[1, 4], data=IRIS_IN)
    assert "parameters" not in client.post("/v2/models/iris-mlp/infer", json=request).get_json()


def test_warnings_switch(make_app):
    client = make_app(WARNINGS=False).test_client()
    assert "warnings" not in client.post("/models/iris-mlp/predict", json={"features": IRIS_OUT}).get_json()


def test_warnings_are_counted(client):
    child = metrics.INPUT_WARNINGS.labels("diabetes-risk", "1", "glucose", "above_range")
    before = child._value.get()
    rows = [[50, 25, 90, 999], [50, 25, 90, 100], [50, 25, 90, 998]]
    client.post("/models/diabetes-risk/predict", json={"inputs": rows})
    assert child._value.get() - before == 2


def _drift_total(model, version="1"):
    return sum(s.value for f in metrics.REGISTRY.collect() if f.name == "inference_drift_rows"
               for s in f.samples if s.name.endswith("_total") and s.labels["model"] == model
               and s.labels["version"] == version)


def test_served_rows_are_counted_once_per_feature(client):
    before = _drift_total("diabetes-risk")
    client.post("/models/diabetes-risk/predict", json={"inputs": [[50, 25, 90, 100]] * 7})
    assert _drift_total("diabetes-risk") - before == 7 * 4


def test_drift_switch(make_app):
    client = make_app(DRIFT=False).test_client()
    before = _drift_total("iris-rf")
    assert client.post("/models/iris-rf/predict", json={"features": IRIS_IN}).status_code == 200
    assert _drift_total("iris-rf") == before


def test_drift_report(client):
    client.post("/models/iris-mlp/predict", json={"inputs": [IRIS_IN] * 5})
    r = client.get("/models/iris-mlp/drift")
    assert r.status_code == 200
    report = r.get_json()
    assert report["reference"] == {"source": "training data", "rows": 120}
    assert report["rows"] >= 5
    feature = report["features"]["sepal_length"]
    assert feature["reading"] in ("stable", "moderate", "major") and feature["psi"] >= 0
    assert len(feature["reference"]) == len(feature["observed"]) == len(feature["edges"]) + 1
    assert client.get("/models/iris-mlp/versions/1/drift").get_json()["features"].keys() == report["features"].keys()


def test_drift_of_a_version_without_reference_and_of_no_model(client):
    report = client.get("/models/digits-cnn/drift").get_json()
    assert report["reference"] is None and report["reading"] == "no reference" and report["features"] == {}
    assert client.get("/models/nope/drift").status_code == 404


def test_metrics_have_the_psi_gauge(client):
    client.post("/models/iris-mlp/predict", json={"features": IRIS_IN})
    text = client.get("/metrics").get_data(as_text=True)
    psi = [line for line in text.splitlines() if line.startswith("inference_drift_psi{")]
    assert any('model="iris-mlp"' in line and 'feature="petal_width"' in line for line in psi)
    assert 'inference_drift_rows_total{bin="0",feature="sepal_length",model="iris-mlp",version="1"}' in text


def test_metadata_names_the_file_that_runs_and_its_source(client, model_dir):
    served = client.get("/models/iris-rf").get_json()["served"]
    folder = model_dir / "iris-rf" / "1"
    assert served["runtime"] == "onnxruntime" and served["file"] == "model.onnx"
    assert served["sha256"] == sha256_file(folder / "model.onnx")
    assert (served["source_file"], served["source_sha256"]) == ("model.joblib", sha256_file(folder / "model.joblib"))
    assert served["batch_invariant"] is True
    mlp = client.get("/models/iris-mlp").get_json()
    assert (mlp["served"]["file"], mlp["served"]["source_file"]) == ("model.onnx", "model.pt")  # its ONNX twin
    assert mlp["reference"]["features"]["sepal_length"] == [4.3, 7.7]


@pytest.mark.parametrize("name", ["iris-mlp", "linear"])
def test_models_without_the_switches_still_answer(make_app, name):
    client = make_app(DRIFT=False, WARNINGS=False).test_client()
    width = 4 if name == "iris-mlp" else 3
    assert client.post(f"/models/{name}/predict", json={"features": [1.0] * width}).status_code == 200
