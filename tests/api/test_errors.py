"""Every status of the README's error table, each as the JSON error body, never a stack trace."""

import pytest


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.mark.parametrize(
    "data, code",
    [
        (b'{"features": [1, 2', "malformed_json"),
        (b'{"features": [NaN, 1, 2, 3]}', "malformed_json"),
        (b'{"features": [Infinity, 1, 2, 3]}', "malformed_json"),
        (b'{"features": [-Infinity, 1, 2, 3]}', "malformed_json"),
        (b'{"features": [1e999, 1, 2, 3]}', "malformed_json"),
        (b"[1, 2, 3, 4]", "invalid_body"),
        (b'"text"', "invalid_body"),
        (b"", "invalid_body"),
    ],
)
def test_400_for_bodies_that_are_not_json_objects(client, data, code):
    r = client.post("/predict", data=data, content_type="application/json")
    assert_error(r, 400, code)


def test_400_validation_names_the_field(client):
    r = client.post("/predict", json={"features": [1, 2, "x", 4]})
    body = assert_error(r, 400, "validation_error")
    assert body["details"] == {"features": {"2": ["Not a number."]}}
    assert "features.2" in body["error"]


def test_400_wrong_feature_count(client):
    body = assert_error(client.post("/predict", json={"features": [1, 2, 3]}), 400, "validation_error")
    assert "features" in body["details"]


def test_400_missing_feature_name(client):
    r = client.post("/models/diabetes-risk/predict", json={"features": {"age": 1, "bmi": 2, "bp": 3}})
    body = assert_error(r, 400, "validation_error")
    assert body["details"] == {"features": {"glucose": ["Missing data for required field."]}}


def test_404_unknown_route_model_and_version(client):
    assert_error(client.get("/nowhere"), 404, "not_found")
    assert_error(client.post("/models/nope/predict", json={"features": [1]}), 404, "model_not_found")
    assert_error(client.get("/models/nope"), 404, "model_not_found")
    assert_error(client.get("/models/linear/versions/9"), 404, "version_not_found")
    assert_error(client.post("/models/linear/versions/9/predict", json={"features": [1, 2, 3]}), 404,
                 "version_not_found")
    assert_error(client.post("/models/linear/versions/one/predict", json={"features": [1, 2, 3]}), 404,
                 "version_not_found")


def test_405_wrong_method(client):
    r = client.get("/predict")
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]
    assert_error(client.delete("/models"), 405, "method_not_allowed")


def test_413_body_over_max_content_length(make_app):
    app = make_app(MODELS=["linear"], MAX_CONTENT_LENGTH=100)
    r = app.test_client().post("/models/linear/predict", json={"inputs": [[1.0, 2.0, 3.0]] * 20})
    assert_error(r, 413, "payload_too_large")


def test_413_batch_over_max_batch_rows(client):
    r = client.post("/models/linear/predict", json={"inputs": [[1, 2, 3]] * 101})
    body = assert_error(r, 413, "batch_too_large")
    assert body["details"] == {"rows": 101, "max_rows": 100}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_415_other_content_types(client, content_type):
    r = client.post("/predict", data=b'{"features": [5.1, 3.5, 1.4, 0.2]}', content_type=content_type)
    assert_error(r, 415, "unsupported_media_type")


def test_json_with_charset_is_accepted(client):
    r = client.post("/predict", data=b'{"features": [5.1, 3.5, 1.4, 0.2]}',
                    content_type="application/json; charset=utf-8")
    assert r.status_code == 200


def test_500_is_json_without_a_stack_trace(make_app, monkeypatch, caplog):
    app = make_app(MODELS=["linear"])
    predictor = app.extensions["dataplane"].registry.get("linear")
    monkeypatch.setattr(predictor, "predict", lambda m: 1 / 0)
    r = app.test_client().post("/models/linear/predict", json={"features": [1, 2, 3]},
                               headers={"X-Request-ID": "req-500"})
    body = assert_error(r, 500, "internal_error")
    assert "ZeroDivisionError" not in r.get_data(as_text=True)
    assert "req-500" in body["error"]
    assert any("req-500" in rec.getMessage() for rec in caplog.records)


def test_503_not_ready(make_app):
    app = make_app(MODELS=["linear", "ghost"], LOG_LEVEL="CRITICAL")
    r = app.test_client().get("/ready")
    body = assert_error(r, 503, "not_ready")
    assert body["details"]["missing"] == ["ghost"]
    assert r.headers["Retry-After"]


def test_server_keeps_serving_after_errors(client):
    for data in (b"{", b"[]", b'{"features": "x"}'):
        client.post("/predict", data=data, content_type="application/json")
    assert client.post("/predict", json={"features": [5.1, 3.5, 1.4, 0.2]}).status_code == 200
