"""A real V2 client from PyPI (Triton's tritonclient.http) against a real Gunicorn, unchanged:
no Content-Type, binary tensor data by default, and plain JSON; one matrix for numeric models, one
input per column for a model with typed features."""

import base64

import numpy as np
import pytest
import requests

from inference.testing import GunicornServer
from inference.train import _split, digits_data
from tests import typedmodel
from tests.api.test_images import digit_picture

httpclient = pytest.importorskip("tritonclient.http")
pytestmark = pytest.mark.e2e
IRIS = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    """The bundled models and the typed one, behind a real Gunicorn."""
    repository = typedmodel.typed_repository(model_dir, tmp_path_factory)
    with GunicornServer(repository, workers=2, log_path=tmp_path_factory.mktemp("v2") / "log") as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    triton = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    yield triton
    triton.close()


def test_health_and_metadata(client):
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert client.is_model_ready("iris-mlp") and client.is_model_ready("iris-mlp", "1")
    meta = client.get_model_metadata("iris-mlp")
    assert meta["inputs"][0]["name"] == "input" and meta["versions"] == ["1"]


@pytest.mark.parametrize("binary", [True, False])
def test_infer_classifier(client, binary):
    inp = httpclient.InferInput("input", list(IRIS.shape), "FP32")
    inp.set_data_from_numpy(IRIS, binary_data=binary)
    outputs = [httpclient.InferRequestedOutput(name, binary_data=binary) for name in ("probabilities", "label")]
    result = client.infer("iris-mlp", [inp], outputs=outputs, request_id="r-42")
    assert result.get_response()["id"] == "r-42"
    probs = result.as_numpy("probabilities")
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1)
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("label").tolist()]
    assert labels == ["setosa", "virginica"]


@pytest.mark.parametrize("datatype, dtype", [("FP64", np.float64), ("INT32", np.int32), ("INT64", np.int64)])
def test_infer_regressor_datatypes_with_a_version(client, datatype, dtype):
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=dtype)
    inp = httpclient.InferInput("input", [2, 3], datatype)
    inp.set_data_from_numpy(x, binary_data=True)
    result = client.infer("linear", [inp], model_version="1")
    assert np.allclose(result.as_numpy("output").reshape(-1), [0.6, 1.5], atol=1e-6)


@pytest.mark.parametrize("binary", [True, False])
def test_infer_bytes_images(client, binary):
    _, x_test, _, _ = _split(*digits_data())
    pngs = [digit_picture(x) for x in x_test[:2]]
    items = pngs if binary else [base64.b64encode(p).decode() for p in pngs]
    inp = httpclient.InferInput("image", [2], "BYTES")
    inp.set_data_from_numpy(np.array(items, dtype=np.object_), binary_data=binary)
    result = client.infer("digits-cnn", [inp], outputs=[httpclient.InferRequestedOutput("class_id", binary_data=False)])
    assert result.as_numpy("class_id").shape == (2,)


def test_errors_reach_the_client(client):
    from tritonclient.utils import InferenceServerException

    inp = httpclient.InferInput("input", [1, 2], "FP32")
    inp.set_data_from_numpy(np.ones((1, 2), dtype=np.float32))
    with pytest.raises(InferenceServerException, match="shape"):
        client.infer("linear", [inp])
    with pytest.raises(InferenceServerException, match="not found"):
        client.get_model_metadata("ghost")


@pytest.mark.parametrize("binary", [True, False])
def test_infer_typed_model_one_input_per_column(server, client, binary):
    """Each column as the metadata describes it (FP64, BYTES, BOOL, INT64): the native endpoint's answer."""
    rows = [{"age": 64.6, "ward": "neuro", "smoker": False, "visits": 8},
            {"age": 38.9, "ward": "cardio", "smoker": True, "visits": 4}]
    dtypes = {"FP64": np.float64, "BYTES": np.object_, "BOOL": np.bool_, "INT64": np.int64}
    inputs = []
    for spec in client.get_model_metadata(typedmodel.NAME)["inputs"]:
        values = [row[spec["name"]] for row in rows]
        if spec["datatype"] == "BYTES":
            values = [v.encode() for v in values]
        inp = httpclient.InferInput(spec["name"], [len(rows), 1], spec["datatype"])
        inp.set_data_from_numpy(np.array(values, dtype=dtypes[spec["datatype"]]).reshape(-1, 1), binary_data=binary)
        inputs.append(inp)
    assert [i.name() for i in inputs] == typedmodel.FEATURES
    assert [i.datatype() for i in inputs] == ["FP64", "BYTES", "BOOL", "INT64"]
    outputs = [httpclient.InferRequestedOutput(name, binary_data=binary) for name in ("probabilities", "label")]
    result = client.infer(typedmodel.NAME, inputs, outputs=outputs)
    native = requests.post(f"{server.url}/models/{typedmodel.NAME}/predict", json={"inputs": rows}, timeout=10).json()
    expected = [list(p["probabilities"].values()) for p in native["predictions"]]
    assert result.as_numpy("probabilities") == pytest.approx(np.array(expected), abs=1e-12)
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("label").tolist()]
    assert labels == [p["prediction"] for p in native["predictions"]]


def test_typed_model_column_errors_reach_the_client(client):
    from tritonclient.utils import InferenceServerException

    inp = httpclient.InferInput("ward", [1, 1], "FP64")
    inp.set_data_from_numpy(np.ones((1, 1)))
    with pytest.raises(InferenceServerException, match="missing input"):
        client.infer(typedmodel.NAME, [inp])
