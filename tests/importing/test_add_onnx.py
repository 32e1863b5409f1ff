"""inference add for ONNX files: skl2onnx with and without ZipMap, and torch.onnx.export."""

import json
import warnings

import numpy as np
import pytest

from tests.importing.conftest import add, serve

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    return x, y


@pytest.mark.parametrize("zipmap", [True, False])
def test_skl2onnx_classifier_with_and_without_zipmap(iris, tmp_path, zipmap):
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = iris
    model = LogisticRegression(max_iter=500).fit(x, y)
    options = None if zipmap else {id(model): {"zipmap": False}}
    path = tmp_path / "iris.onnx"
    path.write_bytes(to_onnx(model, x[:1].astype(np.float32), options=options).SerializeToString())
    repo = tmp_path / "repo"
    assert add(repo, path, "iris-lr", "--features", "sl,sw,pl,pw") == 0
    manifest = json.loads((repo / "iris-lr" / "1" / "model.json").read_text())
    assert manifest["outputs"]["labels"] == ["0", "1", "2"]  # read from the graph
    assert manifest["source"]["zipmap_removed"] is zipmap
    client = serve(repo)
    body = client.post("/models/iris-lr/predict", json={"inputs": x[::9].tolist()}).get_json()
    probs = np.array([[p["probabilities"][k] for k in "012"] for p in body["predictions"]])
    np.testing.assert_allclose(probs, model.predict_proba(x[::9]), atol=1e-4)


def _torch_net():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()


def _export(module, path, width=4):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(2, width),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}}, opset_version=17, dynamo=False)


def test_torch_export_needs_labels_then_serves_softmax(iris, tmp_path, capsys):
    import torch

    x, _ = iris
    net = _torch_net()
    path = tmp_path / "net.onnx"
    _export(net, path)
    repo = tmp_path / "repo"
    assert add(repo, path, "net", "--features", "sl,sw,pl,pw") == 1
    assert "--labels" in capsys.readouterr().err
    assert not repo.exists() or not any(repo.iterdir())
    assert add(repo, path, "net", "--features", "sl,sw,pl,pw", "--labels", "setosa,versicolor,virginica") == 0
    client = serve(repo)
    body = client.post("/models/net/predict", json={"inputs": x[::11].tolist()}).get_json()
    probs = np.array([[p["probabilities"][k] for k in ("setosa", "versicolor", "virginica")]
                      for p in body["predictions"]])
    with torch.no_grad():
        expected = torch.softmax(net(torch.tensor(x[::11], dtype=torch.float32)), 1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-4)


def test_torch_export_as_regressor_and_width_check(tmp_path, capsys):
    import torch

    net = torch.nn.Linear(3, 1).eval()
    path = tmp_path / "reg.onnx"
    _export(net, path, width=3)
    repo = tmp_path / "repo"
    assert add(repo, path, "reg", "--features", "a,b", "--task", "regression") == 1
    assert "takes 3 features" in capsys.readouterr().err
    assert add(repo, path, "reg", "--features", "a,b,c", "--task", "regression") == 0
    rows = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]]
    body = serve(repo).post("/models/reg/predict", json={"inputs": rows}).get_json()
    with torch.no_grad():
        expected = net(torch.tensor(rows)).numpy()
    np.testing.assert_allclose(body["predictions"], expected, atol=1e-5)


def test_not_an_onnx_file(tmp_path, capsys):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"not a model")
    assert add(tmp_path / "repo", path, "junk", "--features", "a") == 1
    assert "not a valid ONNX model" in capsys.readouterr().err
