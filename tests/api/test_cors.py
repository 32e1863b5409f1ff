"""Browser apps on another origin (CORS_ORIGINS): preflight without the API key, headers on
answers and errors, nothing for origins not listed, nothing at all by default."""

import pytest

from inference.config import ConfigError

APP = "https://ward.example.org"
IRIS = {"features": [5.1, 3.5, 1.4, 0.2]}
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type, authorization"}


@pytest.fixture(scope="module")
def browser(make_app):
    return make_app(CORS_ORIGINS=[APP, "http://localhost:3000"], API_KEY="s3cret").test_client()


def test_preflight_is_answered_without_the_api_key(browser):
    r = browser.options("/predict", headers=PREFLIGHT)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert r.headers["X-Request-ID"]


def test_the_call_itself_still_needs_the_key_and_exposes_the_model_headers(browser):
    denied = browser.post("/predict", json=IRIS, headers={"Origin": APP})
    assert denied.status_code == 401 and denied.headers["Access-Control-Allow-Origin"] == APP  # readable error
    r = browser.post("/predict", json=IRIS, headers={"Origin": APP, "Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == APP
    exposed = r.headers["Access-Control-Expose-Headers"]
    assert "X-Model-SHA256" in exposed and "X-Request-ID" in exposed


def test_an_origin_not_listed_gets_no_cors_headers(browser):
    r = browser.options("/predict", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = browser.post("/predict", json=IRIS, headers={"Origin": "https://evil.example", "X-API-Key": "s3cret"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_off_by_default(make_app):
    client = make_app(API_KEY="s3cret").test_client()
    r = client.options("/predict", headers=PREFLIGHT)
    assert r.status_code == 401 and "Access-Control-Allow-Origin" not in r.headers
    r = make_app().test_client().post("/predict", json=IRIS, headers={"Origin": APP})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("origin", ["https://ward.example.org/", "ward.example.org", "https://x.org/app"])
def test_an_origin_that_can_never_match_is_a_config_error(make_app, origin):
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        make_app(CORS_ORIGINS=[origin])


def test_cors_origins_from_the_environment(monkeypatch):
    from inference.config import from_env

    assert from_env({"CORS_ORIGINS": f"{APP}, http://localhost:3000"})["CORS_ORIGINS"] == [APP, "http://localhost:3000"]
