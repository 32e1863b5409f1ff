import pytest

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def secured(make_app):
    return make_app(MODELS=["iris-rf"], API_KEY=KEY).test_client()


def test_probes_need_no_key(secured):
    assert secured.get("/health").status_code == 200
    assert secured.get("/ready").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"},
                                     {"Authorization": f"Basic {KEY}"}, {"Authorization": "Bearer "},
                                     {"X-API-Key": KEY[:-1]}])
def test_missing_or_wrong_key_is_401(secured, headers):
    for r in (secured.get("/models", headers=headers),
              secured.post("/predict", json={"features": [5.1, 3.5, 1.4, 0.2]}, headers=headers),
              secured.get("/no/such/route", headers=headers)):
        assert r.status_code == 401
        assert r.get_json()["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {KEY}"}, {"authorization": f"bearer {KEY}"},
                                     {"X-API-Key": KEY}])
def test_right_key_is_accepted(secured, headers):
    assert secured.get("/models", headers=headers).status_code == 200
    r = secured.post("/predict", json={"features": [5.1, 3.5, 1.4, 0.2]}, headers=headers)
    assert r.status_code == 200 and r.get_json()["prediction"] == "setosa"


def test_no_key_configured_means_open(client):
    assert client.get("/models").status_code == 200


def test_v2_errors_keep_their_headers(make_app):
    """One renderer for both protocols: the V2 shape, with the exception's headers (a 401's challenge)."""
    client = make_app(API_KEY="k", MODELS=["linear"]).test_client()
    r = client.get("/v2/models/linear")
    assert r.status_code == 401 and set(r.get_json()) == {"error"}
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.post("/v2/models/linear/infer", headers={"X-API-Key": "k"}, json={
        "inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}],
        "outputs": [{"name": "nope"}]})
    assert r.status_code == 400 and "nope" in r.get_json()["error"]
