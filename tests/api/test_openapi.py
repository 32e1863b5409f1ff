"""The OpenAPI document and the offline Swagger UI."""

import base64
import re

import numpy as np
import pytest
from openapi_spec_validator import validate

from app import create_app
from tests.typedmodel import typed_repository


def _openapi_path(rule):
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_document_is_valid_openapi_3(client):
    doc = client.get("/openapi.json").get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.")


def test_every_route_is_documented(app, client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "docs.swagger_asset"):
            continue
        path = _openapi_path(rule.rule)
        assert path in paths, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], (method, path)


def test_request_schemas_come_from_the_validating_schemas(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    tabular = schemas["TabularRequest"]
    assert set(tabular["properties"]) == {"features", "inputs"} and tabular["additionalProperties"] is False
    assert schemas["ImageRequest"]["required"] == ["image"]
    assert "securitySchemes" not in client.get("/openapi.json").get_json().get("components", {})


def test_security_scheme_when_a_key_is_configured(make_app):
    secured = make_app(MODELS=["linear"], API_KEY="k", PUBLIC_DOCS=True).test_client()
    doc = secured.get("/openapi.json").get_json()
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert "401" in doc["paths"]["/predict"]["post"]["responses"]
    assert make_app(MODELS=["linear"], API_KEY="k").test_client().get("/openapi.json").status_code == 401


def test_docs_page_loads_every_asset_from_this_server(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'url:\s*"([^"]+)"', html)
    assert urls, html
    for url in urls:
        assert not re.match(r"^[a-z]+:|^//", url), f"{url} leaves the host"
        asset = client.get("/" + url.lstrip("/"))
        assert asset.status_code == 200, url
    assert client.get("/docs/../app.py").status_code == 404
    assert client.get("/docs/index.html").status_code == 404  # only the assets the page uses


# --- Each model's own operations: schema by feature type, golden examples that answer ---------------------


@pytest.fixture(scope="module")
def typed_app(model_dir, tmp_path_factory):
    """The bundled models plus a model with number, string, boolean and integer features."""
    return create_app({"MODEL_DIR": str(typed_repository(model_dir, tmp_path_factory)), "LOG_LEVEL": "WARNING",
                       "LOAD_IN_BACKGROUND": False, "MAX_BATCH_ROWS": 100})


@pytest.fixture(scope="module")
def typed_doc(typed_app):
    return typed_app.test_client().get("/openapi.json").get_json()


def _model_paths(client):
    """(model metadata, path) for every loaded model's latest path and each of its version paths."""
    for meta in client.get("/models").get_json()["models"]:
        yield meta, f"/models/{meta['name']}/predict"
        for version in meta["versions"]:
            yield meta, f"/models/{meta['name']}/versions/{version}/predict"


def test_document_with_a_typed_model_is_valid(typed_doc):
    validate(typed_doc)


def test_every_model_version_has_its_own_path_and_every_example_answers_200(typed_app, typed_doc):
    client = typed_app.test_client()
    checked = set()
    for meta, path in _model_paths(client):
        operation = typed_doc["paths"][path]["post"]
        assert operation["tags"] == [f"model: {meta['name']}"]
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        assert examples, path
        for example in examples.values():
            r = client.post(path, json=example["value"])
            assert r.status_code == 200, (path, example, r.get_json())
            assert r.get_json()["model"] == meta["name"] and r.headers["X-Model-Name"] == meta["name"]
        checked.add(meta["name"])
    assert checked == set(typed_app.extensions["dataplane"].registry.models) and "readmission" in checked


def test_one_row_examples_are_the_golden_rows_and_give_the_golden_outputs(typed_app, typed_doc):
    """The examples are real: the model's answer to each is the output recorded for that golden row."""
    client, registry = typed_app.test_client(), typed_app.extensions["dataplane"].registry
    for name in registry.models:
        manifest = registry.get(name).manifest
        content = typed_doc["paths"][f"/models/{name}/predict"]["post"]["requestBody"]["content"]["application/json"]
        example = next(iter(content["examples"].values()))["value"]
        body = client.post(f"/models/{name}/predict", json=example).get_json()
        expected = manifest.golden["outputs"][0]
        if manifest.labels:
            assert body["prediction"] == manifest.labels[int(np.argmax(expected))], name
            if "probabilities" in body and "image" not in example:
                assert list(body["probabilities"].values()) == pytest.approx(expected, abs=1e-5), name
        else:
            assert body["prediction"] == pytest.approx(expected, rel=1e-5), name
        if "features" in example:
            golden = manifest.golden["inputs"][0]
            values = list(golden.values()) if isinstance(golden, dict) else golden
            assert list(example["features"].values()) == pytest.approx(values), name


def test_typed_model_schema_gives_each_feature_its_type_without_enums(typed_doc):
    schemas = typed_doc["components"]["schemas"]
    request = typed_doc["paths"]["/models/readmission/versions/1/predict"]["post"]["requestBody"]
    assert request["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/readmission.v1.Request"}
    row = schemas["readmission.v1.Row"]
    assert {f: p["type"] for f, p in row["properties"].items()} == {
        "age": "number", "ward": "string", "smoker": "boolean", "visits": "integer"}
    assert row["required"] == ["age", "ward", "smoker", "visits"] and row["additionalProperties"] is False
    ward = row["properties"]["ward"]
    assert "enum" not in ward and "cardio, neuro, ortho" in ward["description"]
    body = schemas["readmission.v1.Request"]
    assert set(body["properties"]) == {"features", "inputs"} and body["maxProperties"] == 1
    assert body["properties"]["inputs"]["maxItems"] == 100  # MAX_BATCH_ROWS
    iris = schemas["iris-rf.v1.Row"]["properties"]
    assert list(iris) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert {p["type"] for p in iris.values()} == {"number"}


def test_image_model_keeps_the_image_body_with_a_golden_picture(typed_doc):
    content = typed_doc["paths"]["/models/digits-cnn/predict"]["post"]["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ImageRequest"}
    assert "multipart/form-data" in content
    picture = base64.b64decode(next(iter(content["application/json"]["examples"].values()))["value"]["image"])
    assert picture.startswith(b"\x89PNG")
    responses = typed_doc["paths"]["/models/digits-cnn/predict"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "oneOf": [{"$ref": "#/components/schemas/ImageResponse"}]}


def test_default_predict_documents_the_default_model(typed_doc):
    body = typed_doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/iris-rf.v1.Request"} and body["examples"]
    generic = typed_doc["paths"]["/models/{name}/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert generic["schema"] == {"oneOf": [{"$ref": "#/components/schemas/TabularRequest"},
                                           {"$ref": "#/components/schemas/ImageRequest"}]}


def test_v2_infer_examples_keyed_by_model_answer_200(typed_app, typed_doc):
    client = typed_app.test_client()
    examples = typed_doc["paths"]["/v2/models/{name}/infer"]["post"]["requestBody"]["content"]["application/json"][
        "examples"]
    assert {"readmission (per column)", "iris-rf", "iris-rf (per column)", "digits-cnn"} <= set(examples)
    assert "readmission" not in examples  # typed models have no single matrix input
    for key, example in examples.items():
        name = key.split(" ")[0]
        r = client.post(f"/v2/models/{name}/infer", json=example["value"])
        assert r.status_code == 200, (key, r.get_json())


def test_document_is_built_once_per_set_of_loaded_versions(typed_app):
    client = typed_app.test_client()
    first = client.get("/openapi.json").get_json()
    cached = typed_app.extensions["openapi_document"]
    assert client.get("/openapi.json").get_json() == first and typed_app.extensions["openapi_document"] is cached


def test_a_worker_still_loading_documents_and_lists_every_model_once_loaded(model_dir, monkeypatch):
    # a worker that had just started answered /openapi.json and /models with no model in them
    import time

    from inference.core.registry import ModelRegistry

    load_all = ModelRegistry.load_all

    def slow(self):
        time.sleep(0.3)
        return load_all(self)

    monkeypatch.setattr(ModelRegistry, "load_all", slow)
    app = create_app({"MODEL_DIR": str(model_dir), "MODELS": ["linear"], "LOAD_IN_BACKGROUND": True})
    client = app.test_client()
    assert "/models/linear/predict" in client.get("/openapi.json").get_json()["paths"]
    assert [m["name"] for m in client.get("/models").get_json()["models"]] == ["linear"]
