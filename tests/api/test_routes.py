"""Health, readiness, metadata and the request-id header."""

import inference


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "version": inference.__version__}


def test_ready_lists_loaded_models(client):
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ready", "models": {"diabetes-risk": [1], "digits-cnn": [1], "iris-mlp": [1],
                                                          "iris-rf": [1], "linear": [1]}}


def test_models_list(client):
    models = client.get("/models").get_json()["models"]
    assert [m["name"] for m in models] == ["diabetes-risk", "digits-cnn", "iris-mlp", "iris-rf", "linear"]
    for m in models:
        assert {"name", "version", "versions", "framework", "task", "inputs", "outputs", "sha256", "created",
                "metrics"} <= set(m)


def test_model_metadata(client):
    m = client.get("/models/iris-rf").get_json()
    assert m["framework"] == "sklearn" and m["task"] == "classification"
    assert m["inputs"]["features"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert m["outputs"]["labels"] == ["setosa", "versicolor", "virginica"]
    assert m["metrics"]["accuracy"] >= 0.9
    assert client.get("/models/iris-rf/versions/1").get_json() == m
    assert client.get("/models/linear").get_json()["outputs"] == {"names": ["y"]}


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health").headers["X-Request-ID"]
    assert len(generated) == 32
    unsafe = client.get("/health", headers={"X-Request-ID": "bad id\tx"}).headers["X-Request-ID"]
    assert unsafe != "bad id\tx" and len(unsafe) == 32
    r = client.post("/predict", data=b"{", content_type="application/json", headers={"X-Request-ID": "e-1"})
    assert r.headers["X-Request-ID"] == "e-1" and r.get_json()["request_id"] == "e-1"


def test_access_log_line_and_its_switch(make_app, capfd):
    import json

    app = make_app(MODELS=["linear"], LOG_LEVEL="INFO")
    app.test_client().post("/models/linear/predict", json={"features": [1, 2, 3]}, headers={"X-Request-ID": "log-1"})
    quiet = make_app(MODELS=["linear"], LOG_LEVEL="INFO", ACCESS_LOG=False)
    quiet.test_client().post("/models/linear/predict", json={"features": [1, 2, 3]}, headers={"X-Request-ID": "log-2"})
    warning = make_app(MODELS=["linear"], LOG_LEVEL="WARNING")
    warning.test_client().post("/models/linear/predict", json={"features": [1, 2, 3]},
                               headers={"X-Request-ID": "log-3"})
    assert quiet.extensions["access_log"] is None and warning.extensions["access_log"] is None
    app.extensions["access_log"].flush()
    err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if '"inference.access"' in line]
    line = next(entry for entry in lines if entry["request_id"] == "log-1")
    assert line["model"] == "linear" and line["version"] == 1 and line["status"] == 200 and line["rows"] == 1
    assert line["route"] == "/models/<name>/predict" and line["latency_ms"] >= 0 and line["time"]
    assert line["logger"] == "inference.access" and line["level"] == "INFO"
    assert "features" not in err  # never the body
    assert not any(entry["request_id"] in ("log-2", "log-3") for entry in lines)
