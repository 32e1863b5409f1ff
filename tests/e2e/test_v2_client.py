"""A real V2 client from PyPI (Triton's tritonclient.http) against a real Gunicorn, unchanged:
no Content-Type, binary tensor data by default, and plain JSON."""

import base64

import numpy as np
import pytest

from inference.testing import GunicornServer
from inference.train import _split, digits_data
from tests.api.test_images import digit_picture

httpclient = pytest.importorskip("tritonclient.http")
pytestmark = pytest.mark.e2e
IRIS = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


@pytest.fixture(scope="module")
def client(model_dir, tmp_path_factory):
    with GunicornServer(model_dir, workers=2, log_path=tmp_path_factory.mktemp("v2") / "log") as srv:
        triton = httpclient.InferenceServerClient(url=f"127.0.0.1:{srv.port}")
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
