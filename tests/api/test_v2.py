"""Open Inference Protocol (KServe V2) over the test client: every endpoint, datatype and error."""

import base64
import json
import struct

import numpy as np
import pytest

from tests.api.test_images import digit_picture

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
