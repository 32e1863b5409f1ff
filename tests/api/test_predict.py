import pytest

IRIS_SETOSA = [5.1, 3.5, 1.4, 0.2]


def test_default_model_answers_setosa(client):
    r = client.post("/predict", json={"features": IRIS_SETOSA})
    assert r.status_code == 200
    body = r.get_json()
    assert body["model"] == "iris-rf" and body["version"] == 1
    assert body["prediction"] == "setosa" and body["class_id"] == 0
    assert set(body) == {"model", "version", "prediction", "class_id", "confidence", "probabilities"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
    assert body["confidence"] == max(body["probabilities"].values())


def test_prediction_headers_identify_the_model(client, model_dir):
    from inference.core.manifest import sha256_file

    r = client.post("/models/iris-mlp/predict", json={"features": IRIS_SETOSA})
    assert r.headers["X-Model-Name"] == "iris-mlp"
    assert r.headers["X-Model-Version"] == "1"
    assert r.headers["X-Model-SHA256"] == sha256_file(model_dir / "iris-mlp" / "1" / "model.pt")


def test_linear_batch(client):
    r = client.post("/models/linear/predict", json={"inputs": [[1.0, 2.0, 3.0], [0.5, 0.2, 0.1]]})
    assert r.status_code == 200
    body = r.get_json()
    assert body == {"model": "linear", "version": 1, "predictions": [[0.6], [0.08]]}


def test_linear_single(client):
    body = client.post("/models/linear/predict", json={"features": [1.0, 2.0, 3.0]}).get_json()
    assert body == {"model": "linear", "version": 1, "prediction": [0.6]}


@pytest.mark.parametrize("path", ["/models/diabetes-risk/predict", "/models/diabetes-risk/versions/1/predict",
                                  "/models/diabetes-risk/versions/latest/predict"])
def test_diabetes_risk_by_feature_names(client, path):
    r = client.post(path, json={"features": {"glucose": 99, "age": 48, "bp": 94, "bmi": 26.5}})
    assert r.status_code == 200
    body = r.get_json()
    assert body["prediction"] in {"low", "medium", "high"}
    assert list(body["probabilities"]) == ["low", "medium", "high"]


def test_classifier_batch_of_named_rows(client):
    rows = [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
            {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}]
    body = client.post("/models/iris-mlp/predict", json={"inputs": rows}).get_json()
    assert [p["prediction"] for p in body["predictions"]] == ["setosa", "virginica"]
    for p in body["predictions"]:
        assert set(p) == {"prediction", "class_id", "confidence", "probabilities"}


def test_named_and_positional_rows_agree(client):
    named = {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.5, "petal_width": 1.5}
    a = client.post("/models/iris-mlp/predict", json={"features": named}).get_json()
    b = client.post("/models/iris-mlp/predict", json={"features": list(named.values())}).get_json()
    assert a == b


def test_body_without_content_type_is_read_as_json(client):
    r = client.post("/models/linear/predict", data=b'{"features": [1, 2, 3]}')
    assert r.status_code == 200
    assert r.get_json()["prediction"] == [0.6]


def test_every_bundled_model_serves(client):
    for model in client.get("/models").get_json()["models"]:
        if "image" in model["inputs"]:
            continue  # tests/api/test_images.py
        n = len(model["inputs"]["features"])
        r = client.post(f"/models/{model['name']}/predict", json={"inputs": [[1.0] * n] * 3})
        assert r.status_code == 200, r.get_json()
        assert len(r.get_json()["predictions"]) == 3


def test_concurrent_valid_and_invalid_requests_through_the_coalescer(app):
    """Threads hit one model at once: every valid request gets its own rows' answer, every
    invalid one its 400, whatever batch it would have shared."""
    import threading

    assert app.extensions["dataplane"].registry.get("linear").runner.coalescing
    failures = []

    def client(k):
        c = app.test_client()
        for i in range(30):
            if (k + i) % 5 == 0:
                r = c.post("/models/linear/predict", json={"inputs": [[1, 2, "x"]]})
                ok = r.status_code == 400
            else:
                rows = [[k, i, 1.0], [0.5, 0.5, 0.5]]
                r = c.post("/models/linear/predict", json={"inputs": rows})
                want = [round(0.1 * sum(row), 4) for row in rows]
                got = [round(p[0], 4) for p in r.get_json()["predictions"]] if r.status_code == 200 else None
                ok = got == want
            if not ok:
                failures.append((k, i, r.status_code))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []


@pytest.mark.parametrize("model", ["diabetes-risk", "iris-mlp", "linear", "iris-rf"])
def test_values_beyond_float32_are_400_not_nan(client, model):
    width = 3 if model == "linear" else 4
    r = client.post(f"/models/{model}/predict", json={"inputs": [[1.0] * width, [1e300] * width]})
    assert r.status_code == 400 and r.get_json()["code"] == "input_out_of_range"
    assert client.post(f"/models/{model}/predict", json={"inputs": [[1.0] * width]}).status_code == 200


@pytest.mark.parametrize("compiled", [True, False])
def test_a_value_beyond_float32_is_refused_for_every_model_naming_row_and_feature(make_app, compiled):
    """Before: the forest's ONNX twin answered 200 for 1e300 (inf falls on one side of every split),
    and scikit-learn's own forest raised deep inside: 500."""
    client = make_app(USE_COMPILED=compiled).test_client()
    rows = [[5.1, 3.5, 1.4, 0.2], [5.1, -1e39, 1.4, 0.2]]
    r = client.post("/models/iris-rf/predict", json={"inputs": rows})
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["code"] == "input_out_of_range" and "row 1, sepal_width" in body["error"]
    v2 = client.post("/v2/models/iris-rf/infer", json={"inputs": [
        {"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [1e300, 3.5, 1.4, 0.2]}]})
    assert v2.status_code == 400 and "beyond" in v2.get_json()["error"]
    edge = client.post("/models/iris-rf/predict", json={"features": [3.4e38, 3.5, 1.4, 0.2]})
    assert edge.status_code == 200  # the largest float32 values are served
