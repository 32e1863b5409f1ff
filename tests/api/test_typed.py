"""Typed features on the native API: each value must have its feature's type, strictly (an
integer feature takes no 2.5, a boolean no "true" or 1), and a number column stays within float32."""

import pytest

from app import create_app
from tests.typedmodel import NAME, typed_repository

GOOD = {"age": 70.5, "ward": "cardio", "smoker": True, "visits": 3}


@pytest.fixture(scope="module")
def client(model_dir, tmp_path_factory):
    app = create_app({"MODEL_DIR": str(typed_repository(model_dir, tmp_path_factory)), "LOG_LEVEL": "WARNING",
                      "LOAD_IN_BACKGROUND": False})
    return app.test_client()


def test_a_row_of_the_right_types_is_served(client):
    r = client.post(f"/models/{NAME}/predict", json={"features": GOOD})
    assert r.status_code == 200 and r.get_json()["prediction"] in ("home", "readmitted")
    whole = client.post(f"/models/{NAME}/predict", json={"features": {**GOOD, "age": 70}})
    assert whole.status_code == 200  # an integer is a number


@pytest.mark.parametrize("field, value, message", [
    ("visits", 2.5, "Not an integer."),
    ("visits", "3", "Not an integer."),
    ("visits", True, "Not an integer."),
    ("smoker", "true", "Not a boolean: send true or false."),
    ("smoker", 1, "Not a boolean: send true or false."),
    ("smoker", None, "Field may not be null."),
    ("ward", 3, "Not a valid string."),
    ("age", "70", "Not a number."),
])
def test_a_value_of_another_type_is_400_naming_the_field(client, field, value, message):
    r = client.post(f"/models/{NAME}/predict", json={"features": {**GOOD, field: value}})
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["code"] == "validation_error" and body["details"]["features"][field] == [message], body


def test_a_number_beyond_float32_in_a_typed_row_is_refused(client):
    r = client.post(f"/models/{NAME}/predict", json={"inputs": [GOOD, {**GOOD, "age": 1e300}]})
    assert r.status_code == 400 and r.get_json()["code"] == "input_out_of_range"
    assert "row 1, age" in r.get_json()["error"]


@pytest.mark.parametrize("value", ["-9223372036854775809", "9223372036854775808", "-9.3e18"])
def test_an_integer_beyond_64_bits_is_400_even_when_the_parser_rounds_it(client, value):
    """Before: -9223372036854775809 (read as the double -2**63) was served as -2**63 (schemathesis)."""
    body = ('{"features": {"age": 70.5, "ward": "cardio", "smoker": true, "visits": ' + value + "}}").encode()
    r = client.post(f"/models/{NAME}/predict", data=body, content_type="application/json")
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["details"]["features"]["visits"] == ["Out of range for a 64-bit integer."]
