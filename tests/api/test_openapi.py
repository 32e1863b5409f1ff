"""The OpenAPI document and the offline Swagger UI."""

import re

from openapi_spec_validator import validate


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
