"""What a client sends cannot grow the metrics without bound, and odd version strings are 404s."""

import re

import pytest

WEIRD_VERSIONS = ["²", "１", "١", "01", "1 ", "+1", "1e0", "٣", "0", "-1", "latest2"]


def _metrics(client, headers=None):
    return client.get("/metrics", headers=headers or {}).get_data(as_text=True)


def _count(text, **labels):
    """The sum of inference_requests_total samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("inference_requests_total{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_invented_methods_and_routes_share_bounded_labels_even_unauthenticated(make_app):
    client = make_app(API_KEY="k", MODELS=["linear"]).test_client()
    key = {"X-API-Key": "k"}
    before = _count(_metrics(client, key), method="other")
    for i in range(50):
        method = f"A{i:03d}"
        assert client.open("/predict", method=method).status_code == 401
        assert client.open(f"/nowhere/{i}", method=method).status_code == 401
    text = _metrics(client, key)
    assert not re.search(r'method="A\d{3}"', text)
    assert "/nowhere/" not in text
    assert _count(text, method="other") - before == 100
    assert _count(text, method="other", route="<unmatched>") >= 50


def test_model_labels_only_for_loaded_models(make_app):
    client = make_app(MODELS=["linear"]).test_client()
    for i in range(20):
        assert client.post(f"/models/ghost-{i}/predict", json={"features": [1, 2, 3]}).status_code == 404
    assert "ghost-" not in _metrics(client)


@pytest.mark.parametrize("version", WEIRD_VERSIONS)
def test_versions_are_ascii_positive_integers_or_latest(client, version):
    for path in (f"/models/linear/versions/{version}/predict", f"/models/linear/versions/{version}"):
        r = client.post(path, json={"features": [1, 2, 3]}) if path.endswith("predict") else client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.get_json()["code"] == "version_not_found"
    r = client.post(f"/v2/models/linear/versions/{version}/infer",
                    json={"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})
    assert r.status_code == 404 and "error" in r.get_json()


def test_empty_or_missing_repository_is_not_ready(make_app, tmp_path, caplog):
    for model_dir in (tmp_path / "missing", tmp_path):
        with caplog.at_level("ERROR", logger="inference"):
            client = make_app(MODEL_DIR=str(model_dir)).test_client()
        r = client.get("/ready")
        assert r.status_code == 503
        assert "no models found" in r.get_json()["details"]["failures"]["MODEL_DIR"]
        assert any("no models found" in rec.getMessage() for rec in caplog.records)
        assert client.get("/v2/health/ready").status_code == 400


def test_a_configured_model_that_is_missing_is_not_ready(make_app):
    r = make_app(MODELS=["linear", "ghost"]).test_client().get("/ready")
    assert r.status_code == 503
    assert "ghost" in r.get_json()["details"]["failures"]


def test_ready_failures_show_no_absolute_paths(make_app, model_copy):
    (model_copy / "linear" / "1" / "model.pt").write_bytes(b"tampered")
    (model_copy / "iris-mlp" / "1" / "model.json").write_text("{not json")
    r = make_app(MODEL_DIR=str(model_copy), MODELS=["linear", "iris-mlp"]).test_client().get("/ready")
    assert r.status_code == 503
    text = r.get_data(as_text=True)
    assert str(model_copy) not in text and "/tmp" not in text
    failures = r.get_json()["details"]["failures"]
    assert "linear/1/model.pt" in failures["linear/1"] and "iris-mlp/1/model.json" in failures["iris-mlp/1"]


@pytest.mark.parametrize("body_of", [lambda row: {"features": row}, lambda row: {"inputs": [row]}])
def test_an_object_with_many_invented_names_is_refused_without_listing_them(client, body_of):
    row = {f"name{i}": 1.0 for i in range(200_000)}
    r = client.post("/models/iris-mlp/predict", json=body_of(row))
    assert r.status_code == 400 and len(r.data) < 2000
    assert "Names 200000 features; the model has 4" in r.get_data(as_text=True)
