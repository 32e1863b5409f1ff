"""Open Inference Protocol (KServe V2) over the test client: every endpoint, datatype and error."""

import base64
import json
import struct

import numpy as np
import pytest

from app import create_app
from tests import typedmodel
from tests.api.test_images import digit_picture
from tests.typedmodel import typed_repository

IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def infer(client, model, inputs, version=None, **extra):
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    return client.post(path, json={"inputs": inputs, **extra})


def tensor(name, shape, datatype, data):
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_server_and_model_metadata(client):
    assert client.get("/v2").get_json()["extensions"] == ["binary_tensor_data"]
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").get_json() == {"ready": True}
    meta = client.get("/v2/models/iris-mlp").get_json()
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert [o["name"] for o in meta["outputs"]] == ["probabilities", "label", "class_id"]
    assert client.get("/v2/models/iris-mlp/versions/1").get_json() == meta
    assert client.get("/v2/models/linear").get_json()["outputs"] == [{"name": "output", "datatype": "FP32",
                                                                        "shape": [-1, 1]}]
    assert client.get("/v2/models/digits-cnn").get_json()["inputs"][0]["datatype"] == "BYTES"
    assert client.get("/v2/models/iris-mlp/ready").get_json() == {"name": "iris-mlp", "ready": True}
    assert client.get("/v2/models/iris-mlp/versions/1/ready").status_code == 200


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT32", "INT64"])
def test_numeric_datatypes(client, datatype):
    data = [[1, 2, 3], [4, 5, 6]]
    r = infer(client, "linear", [tensor("input", [2, 3], datatype, data)])
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["outputs"][0]
    assert out["name"] == "output" and out["shape"] == [2, 1] and out["datatype"] == "FP32"
    assert out["data"] == pytest.approx([0.6, 1.5])


def test_flat_and_nested_data_agree_and_batch_of_several_rows(client):
    flat = infer(client, "iris-mlp", [tensor("input", [2, 4], "FP32", sum(IRIS, []))], id="req-7").get_json()
    nested = infer(client, "iris-mlp", [tensor("input", [2, 4], "FP32", IRIS)], id="req-7").get_json()
    assert flat == nested
    assert flat["id"] == "req-7" and flat["model_name"] == "iris-mlp" and flat["model_version"] == "1"
    outputs = {o["name"]: o for o in flat["outputs"]}
    assert outputs["label"]["data"] == ["setosa", "virginica"]
    assert outputs["class_id"]["data"] == [0, 2]
    probs = np.array(outputs["probabilities"]["data"]).reshape(outputs["probabilities"]["shape"])
    assert np.allclose(probs.sum(1), 1)


def test_requested_outputs_are_honoured(client):
    r = infer(client, "iris-rf", [tensor("input", [1, 4], "FP64", IRIS[0])], outputs=[{"name": "label"}])
    assert [o["name"] for o in r.get_json()["outputs"]] == ["label"]
    r = infer(client, "iris-rf", [tensor("input", [1, 4], "FP64", IRIS[0])], outputs=[{"name": "nope"}])
    assert r.status_code == 400 and "nope" in r.get_json()["error"]


def test_bytes_images_json_base64(client):
    from tests.api.test_images import _split, digits_data

    _, x_test, _, y_test = _split(*digits_data())
    images = [base64.b64encode(digit_picture(x)).decode() for x in x_test[:3]]
    r = infer(client, "digits-cnn", [tensor("image", [3], "BYTES", images)], outputs=[{"name": "label"}])
    assert r.status_code == 200, r.get_json()
    assert len(r.get_json()["outputs"][0]["data"]) == 3


def test_binary_tensor_extension(client):
    header = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32",
                          "parameters": {"binary_data_size": 32}}]}
    head = json.dumps(header).encode()
    body = head + np.array(IRIS, dtype="<f4").tobytes()
    r = client.post("/v2/models/iris-mlp/infer", data=body, headers={"Inference-Header-Content-Length": str(len(head))})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["outputs"][1]["data"] == ["setosa", "virginica"]


def test_binary_bytes_elements(client):
    from tests.api.test_images import _split, digits_data

    _, x_test, _, y_test = _split(*digits_data())
    png = digit_picture(x_test[0])
    raw = struct.pack("<I", len(png)) + png
    header = {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                          "parameters": {"binary_data_size": len(raw)}}]}
    head = json.dumps(header).encode()
    r = client.post("/v2/models/digits-cnn/infer", data=head + raw,
                    headers={"Inference-Header-Content-Length": str(len(head))})
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize(
    "inputs, fragment",
    [
        ([tensor("input", [1, 3], "FP32", [1, 2])], "needs 3 elements"),
        ([tensor("input", [1, 2], "FP32", [1, 2])], "shape [batch, 3]"),
        ([tensor("input", [3], "FP32", [1, 2, 3])], "shape [batch, 3]"),
        ([tensor("input", [1, 3], "FP128", [1, 2, 3])], "unknown datatype"),
        ([tensor("input", [1, 3], "BYTES", ["a", "b", "c"])], "must be numeric"),
        ([tensor("input", [1, 3], "INT32", [1, 2.5, 3])], "only integers"),
        ([tensor("input", [1, 3], "FP32", [1, True, 3])], "only numbers"),
        ([tensor("x", [1, 3], "FP32", [1, 2, 3])], "unexpected input 'x'"),
        ([tensor("input", [1, -3], "FP32", [1, 2, 3])], "non-negative"),
        ([{"name": "input", "shape": [1, 3], "datatype": "FP32"}], "'data' is missing"),
        ([], "non-empty"),
        ([tensor("input", [1, 3], "FP32", [1, 2, 3]), tensor("input", [1, 3], "FP32", [1, 2, 3])], "exactly one"),
    ],
)
def test_bad_requests_are_400_with_an_error(client, inputs, fragment):
    r = infer(client, "linear", inputs)
    assert r.status_code == 400
    body = r.get_json()
    assert set(body) == {"error"} and fragment in body["error"]


def test_unknown_model_and_version_are_404(client):
    good = [tensor("input", [1, 3], "FP32", [1, 2, 3])]
    for r in (infer(client, "ghost", good), infer(client, "linear", good, version=9),
              client.get("/v2/models/ghost"), client.get("/v2/models/linear/versions/9/ready")):
        assert r.status_code == 404 and set(r.get_json()) == {"error"}


def test_malformed_json_and_bad_binary_lengths(client):
    assert client.post("/v2/models/linear/infer", data=b"{oops").status_code == 400
    r = client.post("/v2/models/linear/infer", data=b"{}", headers={"Inference-Header-Content-Length": "99"})
    assert r.status_code == 400
    header = json.dumps({"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 12}}]}).encode()
    r = client.post("/v2/models/linear/infer", data=header + b"\0" * 8,
                    headers={"Inference-Header-Content-Length": str(len(header))})
    assert r.status_code == 400 and "binary_data_size" in r.get_json()["error"]


def test_batch_over_the_limit_is_413(client):
    r = infer(client, "linear", [tensor("input", [101, 3], "FP32", [[1, 2, 3]] * 101)])
    assert r.status_code == 413 and set(r.get_json()) == {"error"}


def test_malformed_tensor_fields_are_400_not_500(client):
    for bad in ({"name": "input", "shape": [1, 3], "datatype": {}, "data": [1, 2, 3]},
                {"name": "input", "shape": "1,3", "datatype": "FP32", "data": [1, 2, 3]},
                {"name": 5, "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]},
                {"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3], "parameters": []},
                "not an object"):
        r = client.post("/v2/models/linear/infer", json={"inputs": [bad]})
        assert r.status_code == 400, (bad, r.get_json())


# --- One input per column (MLServer's pandas codec form) -------------------------------------------------

ROWS = [{"age": 64.6, "ward": "neuro", "smoker": False, "visits": 8},
        {"age": 38.9, "ward": "cardio", "smoker": True, "visits": 4},
        {"age": 71.0, "ward": "ortho", "smoker": False, "visits": 0}]
TYPED_DATATYPES = {"age": "FP64", "ward": "BYTES", "smoker": "BOOL", "visits": "INT64"}


@pytest.fixture(scope="module")
def typed_client(model_dir, tmp_path_factory):
    """An app serving the typed model (number, string, boolean, integer features) and two bundled ones."""
    app = create_app({"MODEL_DIR": str(typed_repository(model_dir, tmp_path_factory)), "LOG_LEVEL": "WARNING",
                      "LOAD_IN_BACKGROUND": False, "MAX_BATCH_ROWS": 100,
                      "MODELS": [typedmodel.NAME, "iris-rf", "linear"]})
    return app.test_client()


def columns(rows, datatypes, shape=lambda n: [n, 1]):
    """One tensor per feature, from name->value rows."""
    n = len(rows)
    return [tensor(name, shape(n), datatype, [row[name] for row in rows]) for name, datatype in datatypes.items()]


def probabilities(v2_body):
    out = {o["name"]: o for o in v2_body["outputs"]}["probabilities"]
    return np.array(out["data"]).reshape(out["shape"])


def test_typed_model_metadata_has_one_input_per_feature(typed_client):
    meta = typed_client.get(f"/v2/models/{typedmodel.NAME}").get_json()
    assert meta["inputs"] == [{"name": name, "datatype": datatype, "shape": [-1, 1]}
                              for name, datatype in TYPED_DATATYPES.items()]
    assert [o["name"] for o in meta["outputs"]] == ["probabilities", "label", "class_id"]
    # numeric models keep their one matrix, which tritonclient users rely on
    assert typed_client.get("/v2/models/iris-rf").get_json()["inputs"] == [
        {"name": "input", "datatype": "FP32", "shape": [-1, 4]}]


WHOLE_AGES = [{**row, "age": round(row["age"])} for row in ROWS]


@pytest.mark.parametrize("shape, datatypes, rows", [
    (lambda n: [n, 1], TYPED_DATATYPES, ROWS),  # what the metadata advertises
    # shape [n]; any integer datatype for an integer feature, an integer one for a number; any order
    (lambda n: [n], {"visits": "UINT8", "smoker": "BOOL", "age": "INT32", "ward": "BYTES"}, WHOLE_AGES),
], ids=["advertised", "other-datatypes"])
def test_typed_columns_give_the_native_answer(typed_client, shape, datatypes, rows):
    native = typed_client.post(f"/models/{typedmodel.NAME}/predict", json={"inputs": rows}).get_json()
    r = infer(typed_client, typedmodel.NAME, columns(rows, datatypes, shape), id="cols-1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["id"] == "cols-1" and body["model_name"] == typedmodel.NAME
    assert probabilities(body).tolist() == [list(p["probabilities"].values()) for p in native["predictions"]]
    labels = {o["name"]: o for o in body["outputs"]}["label"]["data"]
    assert labels == [p["prediction"] for p in native["predictions"]] and len(set(labels)) == 2


def test_typed_columns_with_the_binary_extension(typed_client):
    words = [row["ward"].encode() for row in ROWS]
    raw = {"age": np.array([r["age"] for r in ROWS], "<f8").tobytes(),
           "ward": b"".join(struct.pack("<I", len(w)) + w for w in words),
           "smoker": np.array([r["smoker"] for r in ROWS], "?").tobytes(),
           "visits": np.array([r["visits"] for r in ROWS], "<i8").tobytes()}
    header = {"inputs": [{"name": name, "shape": [len(ROWS), 1], "datatype": TYPED_DATATYPES[name],
                          "parameters": {"binary_data_size": len(data)}} for name, data in raw.items()]}
    head = json.dumps(header).encode()
    r = typed_client.post(f"/v2/models/{typedmodel.NAME}/infer", data=head + b"".join(raw.values()),
                          headers={"Inference-Header-Content-Length": str(len(head))})
    assert r.status_code == 200, r.get_json()
    json_body = infer(typed_client, typedmodel.NAME, columns(ROWS, TYPED_DATATYPES)).get_json()
    assert probabilities(r.get_json()) == pytest.approx(probabilities(json_body), abs=1e-12)


def test_numeric_model_takes_columns_as_well_as_its_matrix(typed_client):
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    rows = [dict(zip(features, row, strict=True)) for row in IRIS]
    native = typed_client.post("/models/iris-rf/predict", json={"inputs": IRIS}).get_json()
    matrix = infer(typed_client, "iris-rf", [tensor("input", [2, 4], "FP64", IRIS)]).get_json()
    by_column = infer(typed_client, "iris-rf", columns(rows, dict.fromkeys(features, "FP64"))).get_json()
    assert probabilities(by_column).tolist() == probabilities(matrix).tolist()
    assert probabilities(by_column).tolist() == [list(p["probabilities"].values()) for p in native["predictions"]]
    # binary columns, FP32 and INT32 mixed
    data = {"x1": np.array([1, 4], "<f4"), "x2": np.array([2, 5], "<i4"), "x3": np.array([3, 6], "<f4")}
    header = {"inputs": [{"name": n, "shape": [2], "datatype": "FP32" if a.dtype.kind == "f" else "INT32",
                          "parameters": {"binary_data_size": a.nbytes}} for n, a in data.items()]}
    head = json.dumps(header).encode()
    r = typed_client.post("/v2/models/linear/infer", data=head + b"".join(a.tobytes() for a in data.values()),
                          headers={"Inference-Header-Content-Length": str(len(head))})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["outputs"][0]["data"] == pytest.approx([0.6, 1.5])


def _typed(**changes):
    """The typed model's columns with some tensors replaced (None: left out)."""
    tensors = {t["name"]: t for t in columns(ROWS, TYPED_DATATYPES)}
    tensors.update(changes)
    return [t for t in tensors.values() if t is not None]


@pytest.mark.parametrize(
    "inputs, fragment",
    [
        (_typed(visits=None), "missing input(s) 'visits'"),
        (_typed(ward=tensor("ward", [3, 1], "FP64", [1.0, 2.0, 3.0])), "input 'ward': feature 'ward' is a string"),
        (_typed(smoker=tensor("smoker", [3, 1], "INT8", [0, 1, 0])), "input 'smoker': feature 'smoker' is a boolean"),
        (_typed(visits=tensor("visits", [3, 1], "FP64", [1.0, 2.0, 3.0])), "input 'visits': feature 'visits' is an "
                                                                            "integer"),
        (_typed(age=tensor("age", [3, 1], "BYTES", ["1", "2", "3"])), "input 'age': feature 'age' is a number"),
        (_typed(age=tensor("age", [2, 1], "FP64", [1.0, 2.0])), "input 'ward' has 3 rows but input 'age' has 2"),
        (_typed(visits=tensor("visits", [3, 2], "INT64", [1, 2, 3, 4, 5, 6])), "input 'visits': a column has shape"),
        (_typed(visits=tensor("visits", [3, 1], "UINT64", [2**64 - 1, 1, 2])), "input 'visits': a value is out of "
                                                                               "range"),
        (_typed() + [tensor("extra", [3], "FP64", [1.0, 2.0, 3.0])], "unexpected input 'extra'"),
        (_typed() + [tensor("age", [3], "FP64", [1.0, 2.0, 3.0])], "input 'age' is given twice"),
        ([tensor("input", [3, 4], "FP64", [[1.0] * 4] * 3)], "unexpected input 'input'; model 'readmission' takes "
                                                             "one input per feature: age (FP64), ward (BYTES)"),
    ],
    ids=["missing", "string-not-bytes", "bool-not-int", "integer-not-float", "number-not-bytes", "lengths",
         "shape", "uint64-range", "extra", "twice", "matrix-to-typed"],
)
def test_column_errors_are_400_naming_the_input(typed_client, inputs, fragment):
    r = infer(typed_client, typedmodel.NAME, inputs)
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert set(body) == {"error"} and fragment in body["error"], body


def test_numeric_column_errors_are_400(typed_client):
    cases = [
        ([tensor("x1", [1], "FP32", [1]), tensor("x2", [1], "FP32", [2])], "missing input(s) 'x3'"),
        ([tensor("x1", [1], "FP32", [1]), tensor("x2", [1], "FP32", [2]), tensor("x3", [2], "FP32", [3, 4])],
         "every column needs the same number of rows"),
        ([tensor("x1", [1], "BOOL", [True]), tensor("x2", [1], "FP32", [2]), tensor("x3", [1], "FP32", [3])],
         "input 'x1': feature 'x1' is a number"),
        ([tensor("input", [1, 3], "FP32", [1, 2, 3]), tensor("x1", [1], "FP32", [1])],
         "exactly one input tensor 'input' expected, got 2"),
    ]
    for inputs, fragment in cases:
        r = infer(typed_client, "linear", inputs)
        assert r.status_code == 400 and fragment in r.get_json()["error"], (fragment, r.get_json())


def test_binary_column_errors(typed_client):
    def send(model, name, datatype, raw, shape):
        head = json.dumps({"inputs": [{"name": name, "shape": shape, "datatype": datatype,
                                       "parameters": {"binary_data_size": len(raw)}}]}).encode()
        return typed_client.post(f"/v2/models/{model}/infer", data=head + raw,
                                 headers={"Inference-Header-Content-Length": str(len(head))})

    r = send("linear", "input", "FP32", np.array([[1, np.nan, 3]], "<f4").tobytes(), [1, 3])
    assert r.status_code == 400 and "finite" in r.get_json()["error"]
    bad_utf8 = struct.pack("<I", 2) + b"\xff\xfe"
    tensors = [t for t in columns(ROWS[:1], TYPED_DATATYPES) if t["name"] != "ward"]
    head = json.dumps({"inputs": tensors + [{"name": "ward", "shape": [1], "datatype": "BYTES",
                                             "parameters": {"binary_data_size": len(bad_utf8)}}]}).encode()
    r = typed_client.post(f"/v2/models/{typedmodel.NAME}/infer", data=head + bad_utf8,
                          headers={"Inference-Header-Content-Length": str(len(head))})
    assert r.status_code == 400 and "input 'ward': BYTES elements must be UTF-8" in r.get_json()["error"]


def test_column_batch_over_the_limit_is_413(typed_client):
    rows = ROWS * 34  # 102 rows, the limit is 100
    r = infer(typed_client, typedmodel.NAME, columns(rows, TYPED_DATATYPES))
    assert r.status_code == 413 and set(r.get_json()) == {"error"}


def test_id_must_be_a_string(client):
    r = infer(client, "linear", [tensor("input", [1, 3], "FP32", [1, 2, 3])], id={"a": 1})
    assert r.status_code == 400 and "'id' must be a string" in r.get_json()["error"]


@pytest.mark.parametrize("extra, fragment", [
    ({"inptus": []}, "unknown field(s) ['inptus']"),
    ({"outputs": None}, "'outputs' must be a list"),
    ({"parameters": None}, "'parameters' must be an object"),
    ({"parameters": [1]}, "'parameters' must be an object"),
])
def test_request_fields_outside_the_protocol_are_400(client, extra, fragment):
    """Before: a misspelt field was ignored, and ``outputs: null`` meant every output (found by
    schemathesis's negative-data check against the OpenAPI document)."""
    r = infer(client, "linear", [tensor("input", [1, 3], "FP32", [1, 2, 3])], **extra)
    assert r.status_code == 400 and fragment in r.get_json()["error"], r.get_json()
